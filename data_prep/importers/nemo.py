"""NeMo JSON lines: ``{"audio_filepath", "text", "duration"[, "offset"]}`` per line.

SRC is one manifest. Relative paths are taken from the manifest's folder, as NeMo does. An entry
with an ``offset`` (or a ``duration`` shorter than its file) names a piece of a longer recording:
that piece is cut into its own WAV under the output's media folder, since a manifest row here is
always a whole file.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from data_prep.errors import InputError
from data_prep.importers.common import (
    ImportConfig,
    Job,
    Skip,
    audio_row,
    resolve_path,
    safe_name,
)
from data_prep.importers.segments import cut_segment

HELP = "NeMo JSON-lines manifest (audio_filepath, text, duration, optional offset)"
UNIT = "line"
Config = ImportConfig
TOLERANCE = 0.05  # seconds: a duration this close to the file's own is the whole file


def list_items(src: Path, config: ImportConfig) -> list[tuple[str, int, str]]:
    if not src.is_file():
        raise InputError(src, "expected a NeMo JSON-lines manifest file")
    with open(src, encoding="utf-8") as handle:
        return [(str(src), number, line) for number, line in enumerate(handle, start=1) if line.strip()]


def convert(item: tuple[str, int, str], job: Job) -> Iterator[dict]:
    src, line, raw = item
    where = f"{src}:{line}"
    try:
        entry = json.loads(raw)
    except json.JSONDecodeError:
        raise Skip("not valid JSON", where) from None
    if not isinstance(entry, dict) or not entry.get("audio_filepath"):
        raise Skip("no audio_filepath", where)
    path = resolve_path(str(entry["audio_filepath"]), Path(src).resolve().parent)
    extra = {k: v for k, v in entry.items() if k not in ("audio_filepath", "text", "duration", "offset")
             and isinstance(v, (str, int, float))}
    row = audio_row(path, entry.get("text") or "", **extra)
    offset = float(entry.get("offset") or 0.0)
    duration = entry.get("duration")
    whole = offset <= 0 and (duration is None or abs(float(duration) - row["duration"]) <= TOLERANCE)
    if whole:
        yield row
        return
    end = offset + float(duration) if duration is not None else None
    target = job.media_dir / f"{safe_name(path.stem)}_{line:07d}.wav"
    yield {**row, **cut_segment(path, offset, end, target)}
