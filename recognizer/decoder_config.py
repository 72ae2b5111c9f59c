"""Which decoder turns network outputs into text, with which language model, lexicon and hotwords.

A :class:`DecoderConfig` is what the command line's decoder options and a bundle's
``lm/decoder.json`` say; :func:`make_decoder` builds the decoder from it. A bundle with an
``lm/`` folder decodes with what ``lm/decoder.json`` names by default (paths in it are relative
to ``lm/``); options given by the user replace single fields of it, and asking for anything only
a beam can do (an LM, a lexicon, hotwords, an n-best list, a beam width) chooses the beam.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from data_prep.config import JsonConfig
from recognizer.alphabet import Alphabet

DECODERS = ("greedy", "beam")
LM_DIR = "lm"  # as recognizer.bundle.LM_DIR (not imported: that would load TensorFlow)
DECODER_FILE = "decoder.json"
NONE = "none"  # --lm none / --lexicon none: switch off what the bundle would use


@dataclass
class DecoderConfig(JsonConfig):
    """Decoder options (see :class:`recognizer.beam_search.BeamDecoder` for their meaning)."""

    decoder: str = "greedy"
    beam_width: int = 64
    lm: str | None = None  # an ARPA file
    lm_unit: str | None = None  # "char" or "word"; None: guessed from the LM's vocabulary
    alpha: float = 0.5
    beta: float = 1.0
    lexicon: str | None = None  # a word list
    hotwords: list[str] = field(default_factory=list)  # "WORD" or "WORD:WEIGHT"
    nbest: int = 1
    token_min_logp: float = -10.0
    beam_prune_logp: float = -20.0

    def __post_init__(self):
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {self.decoder!r}")
        if self.beam_width < 1:
            raise ValueError(f"beam width must be at least 1, got {self.beam_width}")
        if self.nbest < 1:
            raise ValueError(f"nbest must be at least 1, got {self.nbest}")
        if self.lm_unit not in (None, "char", "word"):
            raise ValueError(f"lm_unit must be 'char' or 'word', got {self.lm_unit!r}")

    def relative_to(self, folder: str | os.PathLike) -> DecoderConfig:
        """The config with relative LM and lexicon paths taken relative to ``folder``."""
        def absolute(path: str | None) -> str | None:
            return None if path is None else str(Path(folder) / path)

        return replace(self, lm=absolute(self.lm), lexicon=absolute(self.lexicon))

    def override(self, **options: Any) -> DecoderConfig:
        """This config with the given options replaced (None means: not given).

        ``lm`` or ``lexicon`` set to ``"none"`` remove them; ``hotwords`` are added to these.
        Asking for LM, lexicon, hotwords, n-best or a beam width without naming a decoder
        chooses the beam.
        """
        given = {k: v for k, v in options.items() if v is not None}
        if given.pop("hotwords", None):
            given["hotwords"] = list(self.hotwords) + list(options["hotwords"])
        for key in ("lm", "lexicon"):
            if given.get(key) == NONE:
                given[key] = None
        beam_only = {"lm", "lexicon", "hotwords", "nbest", "beam_width"}
        if "decoder" not in given and beam_only & {k for k, v in given.items() if v}:
            given["decoder"] = "beam"
        return replace(self, **given)


def bundle_decoder_config(bundle_path: str | os.PathLike | None) -> DecoderConfig:
    """The bundle's default decoding: its ``lm/decoder.json``, or greedy decoding."""
    if bundle_path is None:
        return DecoderConfig()
    path = Path(bundle_path) / LM_DIR / DECODER_FILE
    if not path.is_file():
        return DecoderConfig()
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return DecoderConfig.from_dict(data).relative_to(path.parent)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: {str(error).splitlines()[0]}") from None


def make_decoder(config: DecoderConfig, alphabet: Alphabet):
    """The greedy decoder, or a beam decoder with the config's LM, lexicon and hotwords loaded."""
    if config.decoder == "greedy":
        from recognizer.decoding import GreedyDecoder

        return GreedyDecoder(alphabet)
    from recognizer.beam_search import BeamDecoder
    from recognizer.hotwords import parse_hotword
    from recognizer.lm.lexicon import read_lexicon

    lm = load_lm(config.lm) if config.lm else None
    lexicon = read_lexicon(config.lexicon) if config.lexicon else None
    hotwords = [parse_hotword(spec) for spec in config.hotwords]
    return BeamDecoder(alphabet, width=config.beam_width, lm=lm, alpha=config.alpha, beta=config.beta,
                       lexicon=lexicon, hotwords=hotwords, nbest=config.nbest, lm_unit=config.lm_unit,
                       token_min_logp=config.token_min_logp, beam_prune_logp=config.beam_prune_logp)


_LOADED: dict[tuple[str, float], Any] = {}


def load_lm(path: str | os.PathLike):
    """An ARPA model, loaded once per process (per path and modification time)."""
    from recognizer.lm.ngram import NgramModel

    resolved = Path(path).resolve()
    try:
        key = (str(resolved), resolved.stat().st_mtime)
    except OSError:
        return NgramModel.load(path)  # reports the problem with the path as given
    if key not in _LOADED:
        _LOADED.clear()  # one model at a time: they can be large
        _LOADED[key] = NgramModel.load(path)
    return _LOADED[key]
