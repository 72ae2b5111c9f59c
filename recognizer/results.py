"""What the inference API returns for each input, and its JSON-lines form.

One :class:`Result` per input, in input order, failed inputs included: a batch never loses its
alignment with the inputs because one file was unreadable. ``to_dict`` gives exactly the
``--format jsonl`` shape of DESIGN.md, so the CLI and library users see the same objects; a
decoder asked for alternatives adds ``"nbest": [{"text", "score"}]`` (best first, natural-log
scores, higher is better).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from recognizer.decoding import Char, Decoded, Hypothesis, Word

_TIME_DIGITS = 3  # 1 ms, or 1/1000 px: finer than any frame step
_CONF_DIGITS = 4
_SCORE_DIGITS = 4
_LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


@dataclass
class Result:
    """Text, confidence and timings of one input (``unit`` "s" or "px"), or its ``error``."""

    path: str
    text: str = ""
    confidence: float = 0.0
    words: list[Word] = field(default_factory=list)
    chars: list[Char] = field(default_factory=list)
    error: str | None = None
    unit: str = "s"
    nbest: list[Hypothesis] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_decoded(cls, path: str | os.PathLike, decoded: Decoded, unit: str = "s") -> Result:
        return cls(
            path=str(path),
            text=decoded.text,
            confidence=decoded.confidence,
            words=list(decoded.words),
            chars=list(decoded.chars),
            unit=unit,
            nbest=list(decoded.nbest),
        )

    @classmethod
    def failed(cls, path: str | os.PathLike, error_message: str) -> Result:
        return cls(path=str(path), error=str(error_message))

    def to_dict(self, include_chars: bool = False) -> dict[str, Any]:
        """The jsonl object: ``{"path", "text", "confidence", "words"}`` or ``{"path", "error"}``.

        Times are rounded to 3 decimals and confidences to 4, so output is stable and readable;
        ``include_chars`` adds ``"chars": [{"char", "start", "end", "confidence"}]``.
        """
        if not self.ok:
            return {"path": self.path, "error": self.error}
        out: dict[str, Any] = {
            "path": self.path,
            "text": self.text,
            "confidence": _conf(self.confidence),
            "words": [_span("word", w.word, w) for w in self.words],
        }
        if self.nbest:
            out["nbest"] = [{"text": h.text, "score": round(float(h.score), _SCORE_DIGITS)} for h in self.nbest]
        if include_chars:
            out["chars"] = [_span("char", c.char, c) for c in self.chars]
        return out

    def to_json(self, include_chars: bool = False) -> str:
        """:meth:`to_dict` as one line of JSON (non-ASCII text kept readable).

        The few non-ASCII characters that ``str.splitlines`` treats as line breaks are escaped,
        so the line stays one line for any reader.
        """
        line = json.dumps(self.to_dict(include_chars), ensure_ascii=False)
        return line.translate(_LINE_BREAKS)


def _span(key: str, label: str, span: Char | Word) -> dict[str, Any]:
    return {key: label, "start": _time(span.start), "end": _time(span.end), "confidence": _conf(span.confidence)}


def _time(x: float) -> float:
    return round(float(x), _TIME_DIGITS)


def _conf(x: float) -> float:
    return round(float(x), _CONF_DIGITS)
