"""Greedy (best path) CTC decoding, with character and word timings and confidences.

Input is one sequence of natural-log probabilities ``(T, V)`` (log-softmax over the alphabet,
blank = id 0), already cut to its valid length. Output frame ``t`` covers the source positions
``[offset + t * step, offset + (t + 1) * step)``, in seconds for audio or pixels for lines, so
timings come out in the user's units.

Best path: the argmax label of every frame; repeats collapse, blanks separate and vanish. A
character spans its run of frames, and its confidence is the mean probability of its label over
that run. Whitespace in the best path is tidied like any text (no empty words, no edge or double
spaces), and ``"".join(c.char for c in decoded.chars) == decoded.text`` always holds.

The types here (:class:`Decoded`, its characters, words and n-best list) are what every decoder
returns, and :func:`decoded_from_spans` is how each builds them, so results, JSON lines and
subtitles do not depend on the decoder. A decoder is any object with
``decode_batch(log_probs, lengths, steps, offsets)``: :class:`GreedyDecoder` here,
:class:`~recognizer.beam_search.BeamDecoder` for beam search.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recognizer.alphabet import BLANK, Alphabet


@dataclass
class Char:
    char: str
    start: float
    end: float
    confidence: float


@dataclass
class Word:
    word: str
    start: float
    end: float
    confidence: float


@dataclass
class Hypothesis:
    """One entry of an n-best list: its text, its total score (natural log: acoustic plus
    language model terms) and its acoustic log probability (summed over all its CTC paths)."""

    text: str
    score: float
    acoustic: float


@dataclass
class Decoded:
    """The decoded text of one input.

    ``confidence`` is the chosen path's probability normalised per frame,
    ``exp(mean_t log_probs[t, path[t]])`` (for greedy decoding the path is the best path): the
    raw path probability shrinks with every frame, so only the per-frame (geometric mean) form
    can be compared across inputs of different lengths and thresholded. It is 1.0 for an empty
    input (nothing was uncertain). ``nbest`` is filled by decoders asked for alternatives, best
    first, the text itself included.
    """

    text: str
    confidence: float
    chars: list[Char] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    nbest: list[Hypothesis] = field(default_factory=list)


def greedy_decode(
    log_probs: np.ndarray, alphabet: Alphabet, step: float = 1.0, offset: float = 0.0
) -> Decoded:
    """Best-path decoding of one ``(T, V)`` log-probability matrix; ``V == alphabet.size``."""
    log_probs = check_matrix(log_probs, alphabet)
    best = log_probs.argmax(axis=1)
    best_lp = np.take_along_axis(log_probs, best[:, None], axis=1)[:, 0]
    return _decode_path(best, best_lp, alphabet, float(step), float(offset))


def greedy_decode_batch(
    log_probs: np.ndarray,
    lengths: Sequence[int] | np.ndarray,
    alphabet: Alphabet,
    steps: float | Sequence[float] = 1.0,
    offsets: float | Sequence[float] = 0.0,
) -> list[Decoded]:
    """:func:`greedy_decode` of each item of a padded ``(B, T, V)`` batch, one argmax for all.

    ``lengths[b]`` is the number of valid frames of item ``b``; ``steps`` and ``offsets`` are one
    value for the whole batch or one per item.
    """
    log_probs, lengths, steps, offsets = check_batch(log_probs, lengths, alphabet, steps, offsets)
    best = log_probs.argmax(axis=2)
    best_lp = np.take_along_axis(log_probs, best[:, :, None], axis=2)[:, :, 0]
    return [
        _decode_path(best[i, :n], best_lp[i, :n], alphabet, float(steps[i]), float(offsets[i]))
        for i, n in enumerate(lengths.tolist())
    ]


class GreedyDecoder:
    """Best-path decoding behind the decoder interface the inference API uses
    (``decode_batch(log_probs, lengths, steps, offsets)``)."""

    def __init__(self, alphabet: Alphabet):
        self.alphabet = alphabet

    def decode(self, log_probs: np.ndarray, step: float = 1.0, offset: float = 0.0) -> Decoded:
        return greedy_decode(log_probs, self.alphabet, step, offset)

    def decode_batch(self, log_probs, lengths, steps=1.0, offsets=0.0) -> list[Decoded]:
        return greedy_decode_batch(log_probs, lengths, self.alphabet, steps, offsets)


def check_batch(log_probs: np.ndarray, lengths, alphabet: Alphabet, steps, offsets):
    """Validated ``(B, T, V)`` batch, lengths, and per-item steps and offsets."""
    log_probs = np.asarray(log_probs)
    if log_probs.ndim != 3:
        raise ValueError(f"log_probs must be (B, T, V), got shape {log_probs.shape}")
    b, t, v = log_probs.shape
    _check_width(v, alphabet)
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if lengths.shape != (b,):
        raise ValueError(f"{lengths.size} lengths for a batch of {b}")
    if np.any(lengths < 0) or np.any(lengths > t):
        raise ValueError(f"lengths must lie in [0, {t}], got {lengths.tolist()}")
    steps = np.broadcast_to(np.asarray(steps, dtype=np.float64), (b,))
    offsets = np.broadcast_to(np.asarray(offsets, dtype=np.float64), (b,))
    return log_probs, lengths, steps, offsets


def check_matrix(log_probs: np.ndarray, alphabet: Alphabet) -> np.ndarray:
    log_probs = np.asarray(log_probs)
    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must be (T, V), got shape {log_probs.shape}")
    _check_width(log_probs.shape[1], alphabet)
    return log_probs


def _check_width(width: int, alphabet: Alphabet) -> None:
    if width != alphabet.size:
        raise ValueError(
            f"log_probs have {width} classes but the alphabet needs {alphabet.size} "
            f"({len(alphabet)} characters + blank)"
        )


def _decode_path(
    best: np.ndarray, best_lp: np.ndarray, alphabet: Alphabet, step: float, offset: float
) -> Decoded:
    """Runs of the best path -> characters, words and confidences."""
    n = best.shape[0]
    if n == 0:
        return Decoded("", 1.0, [], [])
    confidence = float(np.exp(best_lp.astype(np.float64).mean()))

    # Runs of equal labels: [starts[k], ends[k]) has label labels[k].
    starts = np.flatnonzero(np.concatenate(([True], best[1:] != best[:-1])))
    ends = np.append(starts[1:], n)
    labels = best[starts]
    # The label of a run is the argmax of each of its frames, so its probability there is
    # exp(best_lp): the run's confidence is the mean of exp(best_lp) over the run.
    run_conf = np.add.reduceat(np.exp(best_lp.astype(np.float64)), starts) / (ends - starts)
    keep = labels != BLANK
    return decoded_from_spans(labels[keep], starts[keep], ends[keep], run_conf[keep], confidence,
                              alphabet, step, offset)


def decoded_from_spans(
    labels: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    confidences: np.ndarray,
    confidence: float,
    alphabet: Alphabet,
    step: float,
    offset: float,
) -> Decoded:
    """Emitted labels (no blanks) with their frame spans ``[start, end)`` and confidences ->
    characters and words, whitespace tidied; shared by every decoder so they all agree."""
    table = alphabet.chars
    chars: list[Char] = []
    for lab, s, e, c in zip(labels.tolist(), starts.tolist(), ends.tolist(), confidences.tolist()):
        ch = table[lab - 1]
        # Tidy whitespace as normalise_text would: no leading, trailing or repeated space.
        if ch == " " and (not chars or chars[-1].char == " "):
            continue
        chars.append(Char(ch, offset + s * step, offset + e * step, c))
    if chars and chars[-1].char == " ":
        chars.pop()

    words: list[Word] = []
    word: list[Char] = []
    for ch in chars + [Char(" ", 0.0, 0.0, 1.0)]:  # a sentinel space closes the last word
        if ch.char != " ":
            word.append(ch)
        elif word:
            words.append(
                Word(
                    "".join(x.char for x in word),
                    word[0].start,
                    word[-1].end,
                    min(x.confidence for x in word),
                )
            )
            word = []
    return Decoded("".join(c.char for c in chars), confidence, chars, words)
