"""Scoring a model on a manifest: corpus CER and WER, failures, the worst samples, and the scores
broken down by any manifest column (speaker, voice, font, kind of text)."""
from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from data_prep.errors import InputError
from data_prep.manifest import REQUIRED, scan_manifest
from recognizer.inference import Recognizer
from recognizer.metrics import ErrorRate, cer, sample_errors, wer


@dataclass
class Report:
    """Scores of one evaluation; ``samples`` keep each reference, hypothesis and its edit counts."""

    manifest: str
    model: str
    cer: ErrorRate
    wer: ErrorRate
    samples: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unknown_chars: dict[str, int] = field(default_factory=dict)
    decoder: str = "greedy"  # a one-line description of how outputs were decoded
    columns: tuple[str, ...] = ()  # manifest columns each sample keeps under "fields", for ``by``

    def worst(self, count: int = 10) -> list[dict[str, Any]]:
        return sorted(self.samples, key=lambda s: (-s["cer_errors"], s["path"]))[:count]

    def to_dict(self, worst: int = 20) -> dict[str, Any]:
        return {
            "manifest": self.manifest, "model": self.model, "decoder": self.decoder,
            "cer": _json_rate(self.cer), "cer_errors": self.cer.errors, "cer_length": self.cer.length,
            "wer": _json_rate(self.wer), "wer_errors": self.wer.errors, "wer_length": self.wer.length,
            "samples": len(self.samples), "failed": self.failed, "unknown_chars": self.unknown_chars,
            "by": {column: {value: {"samples": count, "cer": _json_rate(c), "cer_errors": c.errors,
                                    "cer_length": c.length, "wer": _json_rate(w),
                                    "wer_errors": w.errors, "wer_length": w.length}
                            for value, (count, c, w) in self.by(column).items()}
                   for column in self.columns},
            "worst": self.worst(worst), "all": self.samples,
        }

    def by(self, column: str) -> dict[str, tuple[int, ErrorRate, ErrorRate]]:
        """Samples, CER and WER per value of ``column`` (one of ``columns``), in value order.

        Each group's rates are total over total within it, like the corpus rates, so the groups'
        error counts add up to the corpus's. Samples without a value form the group ``""``.
        """
        groups: dict[str, list] = {}
        for s in self.samples:
            group = groups.setdefault(s["fields"][column], [0, ErrorRate(0, 0), ErrorRate(0, 0)])
            group[0] += 1
            group[1] += ErrorRate(s["cer_errors"], s["cer_length"])
            group[2] += ErrorRate(s["wer_errors"], s["wer_length"])
        return {value: tuple(groups[value]) for value in sorted(groups)}


def _json_rate(rate: ErrorRate) -> float | None:
    """The rate for a JSON report: null where it is undefined (errors over no reference, e.g.
    words written into non-speech), which JSON cannot write as infinity; the counts stay."""
    return round(rate.rate, 6) if math.isfinite(rate.rate) else None


def evaluate(recognizer: Recognizer, manifest: str | os.PathLike, progress: bool = False,
             by: Sequence[str] = ()) -> Report:
    """Recognise every file of ``manifest`` and score against its transcripts.

    References are normalised like the model's alphabet normalises (case, whitespace), so a
    lowercase model is not charged for capitals it was never meant to produce. Files that cannot
    be read are listed in ``failed`` and left out of the scores. Each column named in ``by`` is
    kept with every sample so that :meth:`Report.by` can break the scores down by it; a column
    that no row of the manifest has is an :class:`InputError`, raised before any decoding.
    """
    entries, problems = scan_manifest(manifest)
    _check_columns(manifest, entries, by)
    failed = [str(p) for p in problems]
    results = recognizer.recognize([e.path for e in entries], progress=progress)
    alphabet = recognizer.alphabet
    refs, hyps, kept = [], [], []
    for entry, result in zip(entries, results):
        if not result.ok:
            failed.append(result.error)
            continue
        refs.append(alphabet.normalise(entry.text))
        hyps.append(result.text)
        kept.append((entry, result))
    samples = []
    for (entry, result), ref, hyp, errors in zip(kept, refs, hyps, sample_errors(refs, hyps)):
        samples.append({"path": entry.path, "reference": ref, "hypothesis": hyp,
                        "confidence": round(result.confidence, 4),
                        "cer_errors": errors.cer_errors, "cer_length": errors.cer_len,
                        "wer_errors": errors.wer_errors, "wer_length": errors.wer_len})
        if by:
            samples[-1]["fields"] = {column: _field(entry.extra.get(column)) for column in by}
    unknown = Counter({ch: n for ch, n in alphabet.unknown_chars(refs).items()})
    return Report(str(manifest), recognizer.name, cer(refs, hyps), wer(refs, hyps), samples, failed,
                  dict(unknown.most_common()), describe(recognizer.decoder_config), tuple(by))


def _field(value: Any) -> str:
    """A manifest value as a group name; JSON lines may hold numbers (take 0 is a group, not none)."""
    return "" if value is None else str(value)


def _check_columns(manifest, entries, columns: Sequence[str]) -> None:
    present = {key for entry in entries for key in entry.extra}
    for column in columns:
        if column in REQUIRED or column not in present:
            known = ", ".join(sorted(present)) or "none besides path and text"
            raise InputError(manifest, f"no column {column!r} to break the scores down by (columns: {known})")


def describe(config) -> str:
    """``greedy``, or ``beam (width 64, LM word.arpa alpha 0.5 beta 1.0, lexicon words.txt)``."""
    if config.decoder == "greedy":
        return "greedy"
    parts = [f"width {config.beam_width}"]
    if config.lm:
        parts.append(f"LM {os.path.basename(config.lm)} alpha {config.alpha:g} beta {config.beta:g}")
    if config.lexicon:
        parts.append(f"lexicon {os.path.basename(config.lexicon)}")
    if config.hotwords:
        parts.append(f"hotwords {' '.join(config.hotwords)}")
    return f"beam ({', '.join(parts)})"
