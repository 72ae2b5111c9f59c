"""``recognizer doctor MANIFEST``: what a training or fine-tuning run could not use, before it runs.

A run skips what it cannot use (missing and unreadable files, empty transcripts, transcripts too
long for their input under CTC) one warning line at a time, after minutes of feature extraction.
The doctor says the same up front, counted and with examples, plus what a run would not notice:
files listed twice, the same recording under two transcripts, samples shared with the dev set,
characters the model has never written. The last line is a verdict; the exit status is 0 when
every sample is usable, 1 when something is wrong, 2 when the manifest itself cannot be read.

It is fast because it reads headers, not signals: audio durations and rates from the header, so
the frame count follows from the hop (the frame convention of :mod:`data_prep.log_mel`), image
sizes from Pillow's header. Only line images are featurised, and only with ``--model``: their
frame count depends on the normalised width, which needs the ink. With ``--model`` the CTC rule
is the training loop's own (:func:`recognizer.training.ctc_frames_needed`, the model's
subsampling), at the shortest input the default augmentation makes (speed perturbation), since
that is the length a fine-tuning run checks.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import unicodedata
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from PIL import Image
from tqdm import tqdm

from data_prep.audio import AUDIO_EXTENSIONS, check_audio_file
from data_prep.errors import InputError
from data_prep.image import IMAGE_EXTENSIONS
from data_prep.manifest import Entry, scan_manifest
from recognizer.alphabet import normalise_text

SKIP, PROBLEM, WARNING = "skip", "problem", "warning"  # skip: a run leaves the sample out
#: Defaults of a fresh ``recognizer train`` (log-mel hop 10 ms, subsampling 4), for the rough
#: CTC check without ``--model``: at most this many characters per second of audio (repeats,
#: which cost a frame each, are left out of an estimate that only has to catch gross mismatches).
DEFAULT_LABELS_PER_SECOND = 25.0
SHORT_AUDIO, LONG_AUDIO = 0.1, 60.0  # seconds: below, hardly a word; above, a memory-hungry batch
TALL_IMAGE = 300  # pixels: a line image this tall and taller than wide is more likely a page
SHOWN_CHARS = 12


@dataclass
class Issue:
    """One kind of finding: how many samples it concerns, and the first few of them."""

    title: str
    severity: str
    short: str = ""  # the name in the verdict line, where the title is too long
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str, limit: int) -> None:
        self.count += 1
        if len(self.examples) < limit:
            self.examples.append(example)


@dataclass
class ModelInfo:
    """What the doctor needs of a bundle: its configs, not its weights."""

    name: str
    features: Any
    alphabet: Any
    model_config: Any
    augment: Any = None  # the augmentation a fine-tuning run uses by default (its shortest input counts)

    @classmethod
    def load(cls, name_or_path: str) -> ModelInfo:
        from data_prep.extractors import feature_config_from_dict
        from recognizer.alphabet import Alphabet
        from recognizer.bundle import read_config, resolve
        from recognizer.model import ModelConfig
        from recognizer.recipe import Recipe

        folder = resolve(name_or_path)
        config = read_config(folder)
        features = feature_config_from_dict(config["features"])
        return cls(config.get("name") or folder.name, features, Alphabet.from_dict(config["alphabet"]),
                   ModelConfig.from_dict(config["model"]), Recipe().resolve_augment(features))

    @property
    def speeds(self) -> tuple[float, ...]:
        return tuple(getattr(self.augment, "speeds", (1.0,)))

    @property
    def modality(self) -> str:
        return "audio" if hasattr(self.features, "hop_length") else "image"

    def describe(self) -> str:
        f, m = self.features, self.model_config
        front = (f"log-mel {f.sample_rate} Hz, hop {1000 * f.hop_length / f.sample_rate:g} ms"
                 if self.modality == "audio" else f"line images, height {f.height}")
        return f"{self.name} ({front}, subsampling x{m.subsampling}, {len(self.alphabet)} characters)"


@dataclass
class Sample:
    """What was measured of one manifest entry."""

    entry: Entry
    text: str  # normalised as the model (or a model) would see it
    modality: str = ""
    seconds: float | None = None
    rate: int | None = None
    size: tuple[int, int] | None = None  # images: (width, height)
    frames: int | None = None  # input frames after the front end's extractor (audio: at the shortest speed)
    size_bytes: int = 0
    skipped: str = ""  # the first reason a run would skip it


@dataclass
class Report:
    """Everything the doctor found; :meth:`render` is the readable form, :meth:`to_dict` the JSON."""

    manifest: str
    model: str = ""
    dev: str = ""
    total: int = 0  # manifest rows, bad ones included
    usable: int = 0
    issues: dict[str, Issue] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    unknown_chars: Counter = field(default_factory=Counter)
    characters: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    skipped_samples: list[dict[str, Any]] = field(default_factory=list)  # line, path, reason: all of them
    examples: int = 3

    def issue(self, key: str, title: str, severity: str, short: str = "") -> Issue:
        return self.issues.setdefault(key, Issue(title, severity, short or title))

    def found(self, severity: str) -> dict[str, Issue]:
        return {k: i for k, i in self.issues.items() if i.severity == severity and i.count}

    @property
    def skipped(self) -> int:
        return self.total - self.usable

    @property
    def exit_status(self) -> int:
        return 1 if self.found(SKIP) or self.found(PROBLEM) or not self.usable else 0

    @property
    def verdict(self) -> str:
        bad = {**self.found(SKIP), **self.found(PROBLEM)}
        parts = [f"{i.count} {i.short}" for i in bad.values()]
        if not self.usable:
            return f"PROBLEMS: {', '.join(parts) or 'no samples'} — no usable samples"
        new = ""
        if self.unknown_chars:
            listed = ", ".join(f"{_show(c)}\u00d7{n}" for c, n in self.unknown_chars.most_common(SHOWN_CHARS))
            listed += ", ..." if len(self.unknown_chars) > SHOWN_CHARS else ""
            new = f"; {len(self.unknown_chars)} new characters ({listed}) will be added to the alphabet"
        if parts:
            return f"PROBLEMS: {', '.join(parts)} — a run will skip {self.skipped} of {self.total} samples{new}"
        warned = sum(i.count for i in self.found(WARNING).values())
        return f"OK: {self.usable} usable samples{new}" + (f" ({warned} warnings above)" if warned else "")

    def render(self) -> str:
        lines = [f"manifest {self.manifest}: {self.total} samples"]
        lines.append(f"model {self.model}" if self.model else "no model given: alphabet and CTC checks "
                     "use no model (--model NAME|DIR for the exact ones)")
        if self.dev:
            lines.append(f"dev {self.dev}")
        lines += [f"  {note}" for note in self.notes]
        for title, value in self.stats.items():
            lines.append(f"{title}: {value}")
        if self.characters and not self.model:
            common = " ".join(f"{_show(c)}\u00d7{n}" for c, n in self.characters.most_common())
            lines.append(f"characters ({len(self.characters)}): {common}")
        for severity, heading in ((SKIP, "skipped by a run"), (PROBLEM, "problems"), (WARNING, "warnings")):
            found = self.found(severity)
            if found:
                lines.append(f"{heading}:")
                for issue in found.values():
                    lines.append(f"  {issue.count:6d}  {issue.title}")
                    lines += [f"          {example}" for example in issue.examples]
        lines.append(self.verdict)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"manifest": self.manifest, "model": self.model, "dev": self.dev, "total": self.total,
                "usable": self.usable, "skipped": self.skipped, "verdict": self.verdict,
                "exit_status": self.exit_status, "stats": self.stats, "notes": self.notes,
                "skipped_samples": self.skipped_samples,
                "unknown_chars": dict(self.unknown_chars.most_common()),
                "characters": dict(self.characters.most_common()),
                "issues": {k: {"title": i.title, "severity": i.severity, "count": i.count, "examples": i.examples}
                           for k, i in self.issues.items() if i.count}}


    def save(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_dict` as JSON, atomically (a temporary file renamed into place)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def _show(char: str) -> str:
    """A character as a reader can see it: spaces, controls and marks by their code point."""
    if char == " ":
        return "' '"
    if unicodedata.category(char)[0] in "CZM":
        return f"U+{ord(char):04X}"
    return char


def _modality(path: str, model: ModelInfo | None) -> str:
    if model is not None:
        return model.modality
    suffix = os.path.splitext(path)[1].lower()
    return "audio" if suffix in AUDIO_EXTENSIONS else "image" if suffix in IMAGE_EXTENSIONS else ""


def _measure(sample: Sample, model: ModelInfo | None, extractor) -> None:
    """Fill in the sample's header facts and frames; raises InputError for an unusable file."""
    path = sample.entry.path
    sample.size_bytes = os.path.getsize(path)
    if sample.modality in ("audio", ""):
        try:
            check_audio_file(path)
            info = sf.info(path)
        except (InputError, RuntimeError, sf.LibsndfileError) as error:
            if sample.modality == "audio":
                reason = (getattr(error, "error_string", None) or type(error).__name__).strip().rstrip(".")
                raise InputError(path, getattr(error, "problem", None) or f"not a readable audio file ({reason})") from None
        else:
            if info.frames <= 0:
                raise InputError(path, "no audio samples")
            sample.modality, sample.rate = "audio", int(info.samplerate)
            sample.seconds = info.frames / info.samplerate
            if model is not None:
                sample.frames = audio_frames(info.frames, info.samplerate, model)
            return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                sample.size = img.size
    except Exception as error:  # noqa: BLE001 - Pillow raises many types for bad files
        raise InputError(path, f"not a readable {'image' if sample.modality else 'audio or image'} file "
                               f"({type(error).__name__})") from None
    sample.modality = "image"
    if min(sample.size) < 2:
        raise InputError(path, f"image too small ({sample.size[0]}x{sample.size[1]})")
    if extractor is not None:
        sample.frames = len(extractor(path))  # decodes and normalises: the one costly check


def _resampled(n: int, orig: float, target: float) -> int:
    """Samples after :func:`data_prep.audio.resample` (librosa's ``ceil(n * target / orig)``)."""
    return n if orig == target else int(np.ceil(n * (float(target) / orig)))


def audio_frames(n: int, rate: int, model: ModelInfo) -> int:
    """Input frames a run checks for ``n`` samples at ``rate``: the shortest augmented variant,
    computed as :class:`data_prep.pipeline.FeatureDataset` makes it (log-mel: ``1 + N // hop``)."""
    f = model.features
    n = _resampled(n, rate, f.sample_rate)
    base = 1 + n // f.hop_length
    augment = model.augment
    if augment is None or not hasattr(augment, "speeds"):
        return base
    if augment.on_waveform:  # speed and tempo on the fly: the pipeline scales the frame count
        return min(base, int(base * augment.duration_factors()[0]))
    return min(1 + _resampled(n, f.sample_rate * speed, f.sample_rate) // f.hop_length for speed in augment.speeds)


def _digest(path: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _digests(samples: list[Sample], cache: dict[str, str], others: dict[int, list[str]] | None = None) -> dict[str, str]:
    """Content digests of the files whose size another file shares (only those can be equal)."""
    by_size: dict[int, list[str]] = defaultdict(list)
    for s in samples:
        by_size[s.size_bytes].append(s.entry.path)
    for size, paths in (others or {}).items():
        by_size[size] += paths
    digests = {}
    for paths in by_size.values():
        unique = sorted(set(paths))
        if len(unique) > 1:
            for path in unique:
                try:
                    digests[path] = cache[path] if path in cache else cache.setdefault(path, _digest(path))
                except OSError:
                    continue
    return digests


def diagnose(manifest: str | os.PathLike, model: str | None = None, dev: str | os.PathLike | None = None,
             progress: bool = False, examples: int = 3) -> Report:
    """Check every sample of ``manifest``; see the module docstring. Raises InputError for an
    unreadable manifest (or dev manifest)."""
    entries, bad_lines = scan_manifest(manifest, check_files=False)
    info = ModelInfo.load(model) if model else None
    report = Report(str(manifest), model=info.describe() if info else "", dev=str(dev or ""), examples=examples)
    report.total = len(entries) + len(bad_lines)
    if not report.total:
        raise InputError(manifest, "no samples in the manifest")
    extractor = None
    if info is not None and info.modality == "image":
        from data_prep.extractors import make_extractor

        extractor = make_extractor(info.features)
    lines = report.issue("lines", "unusable manifest lines", SKIP, "bad manifest lines")
    for problem in bad_lines:
        lines.add(str(problem), examples)
    samples = _check_samples(entries, info, extractor, report, progress)
    report.usable = sum(not s.skipped for s in samples)
    report.skipped_samples = [{"line": p.line, "path": None, "reason": "lines"} for p in bad_lines]
    report.skipped_samples += [{"line": s.entry.line, "path": s.entry.path, "reason": s.skipped}
                               for s in samples if s.skipped]
    _check_texts(samples, info, report)
    cache: dict[str, str] = {}
    _check_duplicates(samples, report, cache)
    report.stats = _stats(samples)
    if dev:
        _check_dev(samples, dev, info, report, cache)
    return report


def _check_samples(entries: list[Entry], info: ModelInfo | None, extractor, report: Report,
                   progress: bool) -> list[Sample]:
    n = report.examples
    missing = report.issue("missing", "missing files", SKIP)
    unreadable = report.issue("unreadable", "unreadable files", SKIP)
    empty = report.issue("empty", "empty transcripts (kept only with train.keep_empty)", SKIP)
    too_long = report.issue("ctc", "transcripts too long for their input under CTC", SKIP, "too long for CTC")
    maybe_long = report.issue("ctc_estimate", f"transcripts over {DEFAULT_LABELS_PER_SECOND:g} characters per "
                              "second (too long for CTC with the default recipe)", WARNING)
    short = report.issue("short", f"audio shorter than {SHORT_AUDIO:g} s", WARNING)
    long = report.issue("long", f"audio longer than {LONG_AUDIO:g} s (one such sample fills a batch)", WARNING)
    tall = report.issue("tall", f"images taller than wide and than {TALL_IMAGE} px (a page, not a line?)", WARNING)
    if info is None:
        report.notes.append("CTC check: audio only, estimated for the default recipe (10 ms hop, subsampling x4)")
    elif info.modality == "audio" and max(info.speeds) > 1.0:
        report.notes.append(f"CTC check at the fastest speed perturbation (x{max(info.speeds):g}), as a "
                            "fine-tuning run with its default augmentation checks it")
    if info is not None:
        from recognizer.training import ctc_frames_needed  # the training loop's own rule (imports TensorFlow)

    samples = []
    lowercase = info.alphabet.lowercase if info else False
    bar = tqdm(entries, desc="doctor", unit="sample", file=sys.stderr, disable=not progress, leave=False)
    for entry in bar:
        s = Sample(entry, normalise_text(entry.text, lowercase), _modality(entry.path, info))
        samples.append(s)
        where = f"line {entry.line}: {entry.path}"
        if not os.path.isfile(entry.path):
            s.skipped = "missing"
            missing.add(where, n)
            continue
        try:
            _measure(s, info, extractor)
        except (InputError, OSError, ValueError) as error:
            s.skipped = "unreadable"
            unreadable.add(f"line {entry.line}: {error}", n)
            continue
        if not s.text:
            s.skipped = "empty"
            empty.add(where, n)
            continue
        if info is not None and s.frames is not None:
            needed = ctc_frames_needed(np.frombuffer(s.text.encode("utf-32-le"), dtype=np.uint32))
            available = info.model_config.output_length(s.frames)
            if needed > available:
                s.skipped = "ctc"
                too_long.add(f"{where}: needs {needed} output frames, the input gives {available} "
                             f"({len(s.text)} characters)", n)
                continue
        elif info is None and s.seconds is not None and len(s.text) > DEFAULT_LABELS_PER_SECOND * s.seconds:
            maybe_long.add(f"{where}: {len(s.text)} characters in {s.seconds:.2f} s", n)
        if s.seconds is not None and s.seconds < SHORT_AUDIO:
            short.add(f"{where}: {s.seconds:.3f} s", n)
        if s.seconds is not None and s.seconds > LONG_AUDIO:
            long.add(f"{where}: {s.seconds:.1f} s", n)
        if s.size is not None and s.size[1] > max(s.size[0], TALL_IMAGE):
            tall.add(f"{where}: {s.size[0]}x{s.size[1]}", n)
    bar.close()
    return samples


def _check_texts(samples: list[Sample], info: ModelInfo | None, report: Report) -> None:
    usable = [s for s in samples if not s.skipped]
    report.characters = Counter(c for s in usable for c in s.text)
    odd = report.issue("odd_chars", "transcripts with control, format or private-use characters", WARNING)
    for s in usable:
        strange = sorted({c for c in s.text if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cn")})
        if strange:
            odd.add(f"line {s.entry.line}: {s.text[:60]!r} ({' '.join(_show(c) for c in strange)})", report.examples)
    if info is None:
        return
    report.unknown_chars = Counter(c for s in usable for c in s.text if c not in info.alphabet)
    if report.unknown_chars:
        rare = [c for c, k in report.unknown_chars.items() if k < 10]
        new = report.issue("new_chars", "samples with characters outside the model's alphabet (fine-tuning "
                           "adds them; `recognizer train` with this alphabet skips them)", WARNING)
        for s in usable:
            chars = sorted({c for c in s.text if c not in info.alphabet})
            if chars:
                new.add(f"line {s.entry.line}: {s.text[:60]!r} (new: {' '.join(_show(c) for c in chars)})",
                        report.examples)
        if rare:
            report.notes.append(f"new characters seen fewer than 10 times are hard to learn: "
                                f"{' '.join(_show(c) for c in rare)}")


def _check_duplicates(samples: list[Sample], report: Report, cache: dict[str, str]) -> None:
    found = [s for s in samples if not s.skipped]  # what a run skips cannot clash with anything
    digests = _digests(found, cache)
    first: dict[str, Sample] = {}
    twice = report.issue("duplicates", "samples whose file appears earlier in the manifest", WARNING)
    conflict = report.issue("conflicts", "samples whose file appears earlier with another transcript", PROBLEM,
                            "files with conflicting transcripts")
    for s in found:
        key = digests.get(s.entry.path, s.entry.path)
        earlier = first.setdefault(key, s)
        if earlier is s:
            continue
        how = "same path" if earlier.entry.path == s.entry.path else f"same content as {earlier.entry.path}"
        if earlier.text != s.text:
            conflict.add(f"line {s.entry.line}: {s.entry.path} ({how}, line {earlier.entry.line}): "
                         f"{s.text[:40]!r} vs {earlier.text[:40]!r}", report.examples)
        else:
            twice.add(f"line {s.entry.line}: {s.entry.path} ({how}, line {earlier.entry.line})", report.examples)


def _check_dev(samples: list[Sample], dev: str | os.PathLike, info: ModelInfo | None, report: Report,
               cache: dict[str, str]) -> None:
    dev_entries, _ = scan_manifest(dev, check_files=False)
    dev_paths = {os.path.realpath(e.path) for e in dev_entries}
    dev_sizes: dict[int, list[str]] = defaultdict(list)
    for e in dev_entries:
        if os.path.isfile(e.path):
            dev_sizes[os.path.getsize(e.path)].append(e.path)
    found = [s for s in samples if not s.skipped]  # what a run skips cannot clash with anything
    train_sizes = {s.size_bytes for s in found}
    digests = _digests(found, cache, {k: v for k, v in dev_sizes.items() if k in train_sizes})
    dev_digests = {digests[p] for paths in dev_sizes.values() for p in paths if p in digests}
    lowercase = info.alphabet.lowercase if info else False
    dev_texts = {normalise_text(e.text, lowercase) for e in dev_entries}
    overlap = report.issue("dev_overlap", "samples also in the dev set (same file or same content)", PROBLEM,
                           "samples also in dev")
    same_text = report.issue("dev_text", "samples whose transcript is also in the dev set (a different "
                             "recording: fine for a closed vocabulary)", WARNING)
    for s in found:
        where = f"line {s.entry.line}: {s.entry.path}"
        if os.path.realpath(s.entry.path) in dev_paths:
            overlap.add(f"{where} (same path)", report.examples)
        elif s.entry.path in digests and digests[s.entry.path] in dev_digests:
            overlap.add(f"{where} (same content)", report.examples)
        elif s.text and s.text in dev_texts:
            same_text.add(f"{where}: {s.text[:60]!r}", report.examples)
    train_chars = set(report.characters)
    lacking = report.issue("dev_chars", "dev samples with characters the training transcripts never use "
                           "(fine-tuning leaves them out of dev unless --keep-alphabet and the model has them)",
                           WARNING)
    for e in dev_entries:
        chars = sorted(set(normalise_text(e.text, lowercase)) - train_chars)
        if chars:
            lacking.add(f"dev line {e.line}: {' '.join(_show(c) for c in chars)}", report.examples)
    report.stats["dev samples"] = len(dev_entries)


def _spread(values: list[float], unit: str, digits: int = 2) -> str:
    a = np.asarray(values, dtype=np.float64)
    return (f"min {a.min():.{digits}f}{unit}, median {np.median(a):.{digits}f}{unit}, "
            f"max {a.max():.{digits}f}{unit}")


def _stats(samples: list[Sample]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    usable = [s for s in samples if not s.skipped]
    audio = [s for s in samples if s.seconds is not None]
    images = [s for s in samples if s.size is not None]
    if audio:
        total = sum(s.seconds for s in audio)
        rates = Counter(s.rate for s in audio)
        stats["audio"] = (f"{len(audio)} files, {total / 3600:.2f} h; duration {_spread([s.seconds for s in audio], ' s')}; "
                          f"rates {', '.join(f'{r} Hz x{k}' for r, k in rates.most_common())}")
    if images:
        stats["images"] = (f"{len(images)} files; width {_spread([s.size[0] for s in images], ' px', 0)}; "
                           f"height {_spread([s.size[1] for s in images], ' px', 0)}")
    if usable:
        stats["transcripts"] = f"length {_spread([len(s.text) for s in usable], ' chars', 0)}"
    with_frames = [s for s in usable if s.frames]
    if with_frames:
        stats["input frames"] = _spread([s.frames for s in with_frames], "", 0)
    return stats
