"""What every importer shares: its options, the skip signal, the summary, and the run loop.

An importer module lists *work items* cheaply (rows of a CSV, audio files, XML pages) and converts
one item at a time into manifest rows. A bad item never stops an import: it is skipped with a
short *reason* (counted, with a few examples) so the user learns what was left out and why.
:func:`run_import` owns the loop, the progress bar, text tidying and the atomic write.
"""
from __future__ import annotations

import math
import os
import re
import sys
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from data_prep.audio import audio_duration
from data_prep.config import JsonConfig
from data_prep.errors import InputError
from data_prep.manifest import write_manifest

GROUP = "_group"  # a row's split unit (page, chapter, recording); never written to the manifest
MIN_GROUPS = 10


@dataclass
class ImportConfig(JsonConfig):
    """Options every importer has; a format's own config subclasses this."""

    lowercase: bool = field(default=False, metadata={"help": "lowercase every transcript"})


class Skip(Exception):
    """One item (or one line of it) left out: ``reason`` is short and counted, ``where`` names it."""

    def __init__(self, reason: str, where: str | os.PathLike = ""):
        self.reason = reason
        self.where = str(where)
        super().__init__(f"{self.where}: {reason}" if self.where else reason)


@dataclass
class Job:
    """What a converter needs besides its item: the options and where new files go."""

    config: ImportConfig
    src: Path
    media_dir: Path  # cut audio and cropped line images are written under here


@dataclass
class Summary:
    """Counts of imported and skipped items, with the first few examples of each skip reason."""

    format: str
    out: str = ""
    imported: int = 0
    dev: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    keep_examples: int = 3

    def skip(self, reason: str, where: str = "") -> None:
        self.skipped[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if where and len(examples) < self.keep_examples:
            examples.append(where)

    def render(self) -> str:
        """A readable multi-line summary (for stderr)."""
        split = f" ({self.imported - self.dev} train, {self.dev} dev)" if self.dev else ""
        lines = [f"import {self.format}: {self.imported} samples{split} -> {self.out}"]
        if self.skipped:
            lines.append(f"skipped {sum(self.skipped.values())}:")
            for reason, count in self.skipped.most_common():
                examples = self.examples.get(reason) or []
                lines.append(f"  {count:6d}  {reason}" + (f"  (e.g. {'; '.join(examples)})" if examples else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "out": self.out, "imported": self.imported, "dev": self.dev,
                "skipped": dict(self.skipped), "examples": self.examples}


def tidy_text(text: str, lowercase: bool = False) -> str:
    """Unicode NFC, every whitespace run one space, stripped; case kept unless ``lowercase``."""
    if lowercase:
        text = text.lower()
    return " ".join(unicodedata.normalize("NFC", text).split())


def resolve_path(path: str, base: Path) -> Path:
    """A path from a dataset's own list: absolute as it is, relative to ``base`` otherwise."""
    path = path.strip()
    return Path(path) if os.path.isabs(path) else base / path


def audio_row(path: Path, text: str, what: str = "audio", **extra: Any) -> dict[str, Any]:
    """A row for an audio file that exists and whose header reads, with its duration.

    Reading the header is cheap and catches empty and non-audio files at import time, while
    the user still knows where they came from.
    """
    if not path.is_file():
        raise Skip(f"missing {what}", path)
    try:
        duration = audio_duration(path)
    except InputError as error:
        raise Skip(f"unreadable {what}", f"{path} ({error.problem})") from None
    if duration <= 0:
        raise Skip(f"empty {what}", path)
    return {"path": str(path), "text": text, "duration": round(duration, 4), **extra}


def image_row(path: Path, text: str, **extra: Any) -> dict[str, Any]:
    """A row for an image file that exists and whose header reads (no decoding: cheap)."""
    if not path.is_file():
        raise Skip("missing image", path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                width, height = img.size
    except Exception as error:  # noqa: BLE001 - Pillow raises many types for bad files
        raise Skip("unreadable image", f"{path} ({type(error).__name__})") from None
    if width < 2 or height < 2:
        raise Skip("image too small", f"{path} ({width}x{height})")
    return {"path": str(path), "text": text, **extra}


def safe_name(name: str) -> str:
    """A file-name-safe version of an utterance or line id (ids may hold slashes or spaces)."""
    cleaned = re.sub(r"[^\w.\-]+", "_", name).strip("._")
    return cleaned or "item"


def split_dev(rows: list[dict[str, Any]], fraction: float, seed: int = 0) -> tuple[list, list]:
    """(train, dev) with about ``fraction`` of the rows in dev, whole groups at a time.

    A group (a page, a chapter, a recording) never straddles the split: lines of one page
    look alike, and a dev set that shares pages with training flatters the model. With fewer
    than ``MIN_GROUPS`` groups the split is by row, since whole groups would overshoot.
    """
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(str(row.get(GROUP, row["path"])), []).append(i)
    if len(groups) < MIN_GROUPS:  # a few big groups cannot make a dev set of the asked size
        groups = {str(i): [i] for i in range(len(rows))}
    names = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(names))
    target = math.ceil(fraction * len(rows)) if fraction > 0 else 0
    dev_ids: set[int] = set()
    for k in order:
        if len(dev_ids) >= target or len(dev_ids) + len(groups[names[k]]) >= len(rows):
            continue
        dev_ids.update(groups[names[k]])
    return ([r for i, r in enumerate(rows) if i not in dev_ids], [r for i, r in enumerate(rows) if i in dev_ids])


def run_import(name: str, module: ModuleType, src: str | os.PathLike, out: str | os.PathLike,
               config: ImportConfig, dev_out: str | os.PathLike | None = None, dev_fraction: float = 0.0,
               seed: int = 0, progress: bool = True, keep_examples: int = 3) -> Summary:
    """Import ``src`` with ``module`` into the manifest ``out``; returns the summary.

    With ``dev_out`` about ``dev_fraction`` of the samples (whole groups) go to a second manifest.
    Raises :class:`InputError` when ``src`` cannot be listed or nothing at all could be imported.
    """
    src, out = Path(src), Path(out)
    if not src.exists():
        raise InputError(src, "not found")
    summary = Summary(format=name, out=str(out), keep_examples=keep_examples)
    job = Job(config=config, src=src, media_dir=out.parent / out.stem)
    items: Sequence[Any] = module.list_items(src, config)
    rows: list[dict[str, Any]] = []
    bar = tqdm(items, desc=f"import {name}", unit=getattr(module, "UNIT", "item"), file=sys.stderr,
               disable=not progress, leave=False)
    for item in bar:
        try:
            for result in module.convert(item, job):
                if isinstance(result, Skip):
                    summary.skip(result.reason, result.where)
                    continue
                row = _finish(result, config)
                rows.append(row)
        except Skip as skip:
            summary.skip(skip.reason, skip.where)
        except InputError as error:
            summary.skip("unreadable file", str(error))
        except Exception as error:  # noqa: BLE001 - one bad item must not end an import of thousands
            summary.skip(f"failed ({type(error).__name__})", f"{_describe(item)}: {error}")
    bar.close()
    kept = []
    for row in rows:
        if not row["text"]:
            summary.skip("empty transcript", row["path"])
        else:
            kept.append(row)
    if not kept:
        raise InputError(src, f"nothing imported ({_reasons(summary) or 'no items found'})")
    train, dev = split_dev(kept, dev_fraction, seed) if dev_out else (kept, [])
    strip = [{k: v for k, v in row.items() if k != GROUP} for row in train]
    write_manifest(out, strip)
    if dev_out:
        write_manifest(dev_out, [{k: v for k, v in row.items() if k != GROUP} for row in dev])
    summary.imported, summary.dev = len(kept), len(dev)
    return summary


def _finish(row: dict[str, Any], config: ImportConfig) -> dict[str, Any]:
    row = dict(row)
    row["path"] = str(row["path"])
    row["text"] = tidy_text(str(row.get("text") or ""), config.lowercase)
    return row


def _describe(item: Any) -> str:
    return str(item[0] if isinstance(item, tuple) and item else item)[:200]


def _reasons(summary: Summary) -> str:
    return ", ".join(f"{reason} x{count}" for reason, count in summary.skipped.most_common())


def iter_files(root: Path, suffixes: Iterable[str]) -> list[Path]:
    """Files under ``root`` (or ``root`` itself) whose names end with one of ``suffixes``, sorted."""
    suffixes = tuple(s.lower() for s in suffixes)
    if root.is_file():
        return [root] if root.name.lower().endswith(suffixes) else []
    found = []
    for folder, _, names in os.walk(root):
        found += [Path(folder) / n for n in names if n.lower().endswith(suffixes)]
    return sorted(found)
