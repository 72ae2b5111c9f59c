"""CTC prefix beam search with optional character or word n-gram LM, lexicon and hotwords.

:class:`BeamDecoder` has the greedy decoder's interface and output: a :class:`Decoded` with
text, confidence, and character and word spans, plus an n-best list. The search itself is the
compiled kernel of :mod:`recognizer.beam_core`. Timings and confidences come from the best CTC
path of the chosen text (forced alignment), so they mean what greedy decoding's mean: a
character spans the frames that emit it, its confidence is its mean posterior over them, and
``confidence`` is the path's per-frame geometric mean probability. With width 1 and no
language model the search *is* best-path decoding, and so is everything it returns.

Scores are natural logs. ``alpha`` weighs the language model and ``beta`` is a bonus per LM token
(per word for a word LM, per character for a character LM), which offsets the LM's preference for
short outputs.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recognizer.alphabet import BLANK, Alphabet
from recognizer.beam_core import (
    CHAR_LM,
    NO_LM,
    WORD_LM,
    Scorer,
    force_align,
    prefix_beam_search,
)
from recognizer.decoding import (
    Decoded,
    Hypothesis,
    check_batch,
    check_matrix,
    decoded_from_spans,
)
from recognizer.hotwords import Hotword, hotword_trie
from recognizer.lm.ngram import NgramModel, NgramTables
from recognizer.lm.tokens import BOS, EOS, char_of_token, is_letter
from recognizer.lm.trie import Trie, empty_trie

DEFAULT_WIDTH = 64
DEFAULT_TOKEN_MIN_LOGP = -10.0
DEFAULT_BEAM_PRUNE_LOGP = -20.0


@dataclass
class Beam:
    """A raw search result: the label sequence (CTC-collapsed, no blanks) and its scores."""

    labels: tuple[int, ...]
    score: float
    acoustic: float


class BeamDecoder:
    """Prefix beam search over one alphabet; the LM, lexicon and hotwords are fixed at creation.

    ``lm`` is a character or word model (``lm.unit``, or ``lm_unit`` to override); ``lexicon``
    restricts words to a list (digits and punctuation stay allowed between words); ``hotwords``
    are boosted. ``token_min_logp`` skips labels less likely than that in a frame (the best one
    is always tried); ``beam_prune_logp`` drops states that far below the best.
    """

    def __init__(
        self,
        alphabet: Alphabet,
        width: int = DEFAULT_WIDTH,
        lm: NgramModel | None = None,
        alpha: float = 0.5,
        beta: float = 1.0,
        lexicon: Sequence[str] | None = None,
        hotwords: Sequence[Hotword] = (),
        nbest: int = 1,
        token_min_logp: float = DEFAULT_TOKEN_MIN_LOGP,
        beam_prune_logp: float = DEFAULT_BEAM_PRUNE_LOGP,
        lm_unit: str | None = None,
    ):
        if width < 1:
            raise ValueError(f"beam width must be at least 1, got {width}")
        if nbest < 1:
            raise ValueError(f"nbest must be at least 1, got {nbest}")
        self.alphabet = alphabet
        self.width = int(width)
        self.nbest = int(nbest)
        self.token_min_logp = float(token_min_logp)
        self.beam_prune_logp = float(beam_prune_logp)
        self.lm = lm
        self.lm_unit = None if lm is None else (lm_unit or lm.unit)
        if self.lm_unit not in (None, "char", "word"):
            raise ValueError(f"lm_unit must be 'char' or 'word', got {lm_unit!r}")
        self.lexicon = None if lexicon is None else list(lexicon)
        self.hotwords = list(hotwords)
        self.scorer = self._scorer(float(alpha), float(beta))

    def with_weights(self, alpha: float, beta: float) -> BeamDecoder:
        """The same decoder with other LM weights, sharing the loaded LM and tries (for tuning)."""
        other = copy.copy(self)
        other.scorer = self.scorer._replace(alpha=float(alpha), beta=float(beta))
        return other

    @property
    def alpha(self) -> float:
        return self.scorer.alpha

    @property
    def beta(self) -> float:
        return self.scorer.beta

    # --- building the scorer ---------------------------------------------------------------

    def _scorer(self, alpha: float, beta: float) -> Scorer:
        alphabet, lm = self.alphabet, self.lm
        size = alphabet.size
        chars = alphabet.chars
        letters = np.array([False] + [is_letter(c) for c in chars])
        space = alphabet.index(" ") if " " in alphabet else -1
        char_token = np.full(size, -1, np.int32)
        kind, tables, bos_state, eos, unk = NO_LM, _NO_TABLES, 0, -1, -1
        if lm is not None:
            kind = CHAR_LM if self.lm_unit == "char" else WORD_LM
            tables, bos_state, eos, unk = lm.tables, lm.bos_state, lm.token_id(EOS), lm.unk_id
            if kind == CHAR_LM:
                by_char = {char_of_token(t): i for i, t in enumerate(lm.vocab) if t not in (BOS, EOS)}
                for label, ch in enumerate(chars, start=1):
                    char_token[label] = by_char.get(ch, unk)
        hot = hotword_trie(self.hotwords, alphabet)
        trie, strict = self._word_trie(kind, hot_words=[w for h in self.hotwords for w in h.text.split()])
        use_trie = trie is not None
        return Scorer(kind, alpha, beta, tables, int(bos_state), int(eos), int(unk), char_token,
                      use_trie, strict, trie if use_trie else _EMPTY_TRIE,
                      bool(self.hotwords), hot.trie, hot.partial, hot.complete, hot.fail, letters, int(space))

    def _word_trie(self, kind: int, hot_words: list[str]) -> tuple[Trie | None, bool]:
        """The trie of the lexicon (strict) or of the word LM's vocabulary, if any."""
        if self.lexicon is not None:
            from recognizer.lm.lexicon import lexicon_trie

            lm = self.lm if kind == WORD_LM else None
            return lexicon_trie(self.lexicon + hot_words, self.alphabet, lm), True
        if kind == WORD_LM:
            from recognizer.lm.lexicon import vocabulary_trie

            return vocabulary_trie(self.lm, self.alphabet), False
        return None, False

    # --- decoding ----------------------------------------------------------------------------

    def search(self, log_probs: np.ndarray, nbest: int | None = None) -> list[Beam]:
        """The best label sequences of one ``(T, V)`` matrix of log posteriors, best first."""
        log_probs = check_matrix(log_probs, self.alphabet)
        if np.isnan(log_probs).any() or (log_probs == np.inf).any():
            raise ValueError("log_probs hold NaN or +inf")
        parent, label, nodes, totals, acoustic = prefix_beam_search(
            np.ascontiguousarray(log_probs, np.float64), self.width, self.token_min_logp, self.beam_prune_logp,
            self.scorer, nbest or self.nbest)
        beams = []
        for node, total, ac in zip(nodes.tolist(), totals.tolist(), acoustic.tolist()):
            labels = []
            while node > 0:
                labels.append(int(label[node]))
                node = parent[node]
            beams.append(Beam(tuple(reversed(labels)), total, ac))
        return beams

    def decode(self, log_probs: np.ndarray, step: float = 1.0, offset: float = 0.0) -> Decoded:
        """Best text with timings (``step``/``offset`` as in :func:`greedy_decode`) and n-best."""
        log_probs = check_matrix(log_probs, self.alphabet)
        n = log_probs.shape[0]
        if n == 0:
            return Decoded("", 1.0, [], [], [Hypothesis("", 0.0, 0.0)] if self.nbest > 1 else [])
        # all final prefixes: those differing only in spaces collapse to one text in the n-best
        beams = self.search(log_probs, nbest=2 * self.width if self.nbest > 1 else 1)
        best = np.asarray(beams[0].labels if beams else (), np.int32)
        path_logp, starts, ends, conf = force_align(np.ascontiguousarray(log_probs, np.float64), best,
                                                    self.scorer.space)
        confidence = float(np.exp(path_logp / n))
        decoded = decoded_from_spans(best, starts, ends, conf, confidence, self.alphabet, float(step), float(offset))
        if self.nbest > 1:
            decoded.nbest = self._nbest(beams)
        return decoded

    def _nbest(self, beams: list[Beam]) -> list[Hypothesis]:
        """Distinct texts, best first (label sequences differing only in spaces read the same)."""
        seen: set[str] = set()
        out = []
        for beam in beams:
            text = " ".join(w for w in self.alphabet.decode(beam.labels).split(" ") if w)
            if text not in seen:
                seen.add(text)
                out.append(Hypothesis(text, beam.score, beam.acoustic))
        return out[: self.nbest]

    def decode_batch(self, log_probs, lengths, steps=1.0, offsets=0.0) -> list[Decoded]:
        """:meth:`decode` of each item of a padded ``(B, T, V)`` batch."""
        log_probs, lengths, steps, offsets = check_batch(log_probs, lengths, self.alphabet, steps, offsets)
        return [self.decode(log_probs[i, :n], float(steps[i]), float(offsets[i]))
                for i, n in enumerate(lengths.tolist())]


def _no_tables() -> NgramTables:
    from recognizer.lm.ngram import NgramOrder

    return NgramModel(["<unk>"], [NgramOrder(np.zeros((1, 1)), np.zeros(1), np.zeros(1))]).tables


_NO_TABLES = _no_tables()
_EMPTY_TRIE = empty_trie()
assert BLANK == 0  # the kernels assume it
