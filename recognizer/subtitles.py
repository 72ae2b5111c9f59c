"""Subtitles (SubRip ``.srt`` and WebVTT ``.vtt``) from the word timings of a transcript.

Words are grouped into cues that a viewer can read: a cue ends at a pause longer than
``max_gap`` seconds, before it would last longer than ``max_seconds`` or hold more than
``max_chars`` characters, and its text is broken into two lines when it is longer than
``line_chars``. Every decoder gives word timings the same way, so greedy and beam transcripts
make subtitles alike.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recognizer.decoding import Word

FORMATS = ("srt", "vtt")


@dataclass
class Cue:
    start: float
    end: float
    text: str


def make_cues(words: Sequence[Word], max_chars: int = 84, line_chars: int = 42, max_seconds: float = 6.0,
              max_gap: float = 1.0) -> list[Cue]:
    cues: list[Cue] = []
    group: list[Word] = []

    def close():
        if group:
            cues.append(Cue(group[0].start, group[-1].end, _lines(" ".join(w.word for w in group), line_chars)))
            group.clear()

    for word in words:
        if group:
            text_len = sum(len(w.word) + 1 for w in group) + len(word.word)
            if (word.start - group[-1].end > max_gap or word.end - group[0].start > max_seconds
                    or text_len > max_chars):
                close()
        group.append(word)
    close()
    return cues


def _lines(text: str, line_chars: int) -> str:
    """Two lines, broken at the space nearest the middle, when the text is longer than one line."""
    if len(text) <= line_chars or " " not in text:
        return text
    middle = len(text) // 2
    spaces = [i for i, c in enumerate(text) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - middle))
    return text[:cut] + "\n" + text[cut + 1:]


def timestamp(seconds: float, separator: str) -> str:
    """``HH:MM:SS,mmm`` (SRT, separator ``,``) or ``HH:MM:SS.mmm`` (WebVTT, ``.``)."""
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _span(cue: Cue, separator: str) -> str:
    start, end = timestamp(cue.start, separator), timestamp(cue.end, separator)
    if end <= start:  # a cue must last: at least 1 ms
        end = timestamp(cue.start + 0.001, separator)
    return f"{start} --> {end}"


def to_srt(cues: Sequence[Cue]) -> str:
    return "".join(f"{i}\n{_span(cue, ',')}\n{cue.text}\n\n" for i, cue in enumerate(cues, start=1))


def to_vtt(cues: Sequence[Cue]) -> str:
    return "WEBVTT\n\n" + "".join(f"{_span(cue, '.')}\n{cue.text}\n\n" for cue in cues)


def subtitles(words: Sequence[Word], fmt: str) -> str:
    """The subtitle file text for a transcript's words in ``fmt`` (``srt`` or ``vtt``)."""
    if fmt not in FORMATS:
        raise ValueError(f"subtitle format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    cues = make_cues(words)
    return to_srt(cues) if fmt == "srt" else to_vtt(cues)
