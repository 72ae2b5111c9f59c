"""DeepSpeech CSV: ``wav_filename,wav_filesize,transcript``, paths absolute or relative to the CSV.

SRC is one CSV file. ``wav_filesize`` is only a cross-check: a file whose size differs was
re-encoded or damaged since the list was made, and is imported anyway (its header decides).
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from data_prep.errors import InputError
from data_prep.importers.common import ImportConfig, Job, Skip, audio_row, resolve_path

HELP = "DeepSpeech CSV (wav_filename, wav_filesize, transcript)"
UNIT = "row"
COLUMNS = ("wav_filename", "transcript")
Config = ImportConfig


def list_items(src: Path, config: ImportConfig) -> list[tuple[str, int, dict]]:
    """(csv file, line number, row) for every data row; the header must name the columns."""
    if not src.is_file():
        raise InputError(src, "expected a DeepSpeech CSV file")
    with open(src, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            have = ", ".join(reader.fieldnames or [])
            raise InputError(src, f"header lacks {', '.join(missing)} (has: {have})", line=1)
        return [(str(src), reader.line_num, row) for row in reader]


def convert(item: tuple[str, int, dict], job: Job) -> Iterator[dict]:
    src, line, row = item
    name = (row.get("wav_filename") or "").strip()
    if not name:
        raise Skip("no wav_filename", f"{src}:{line}")
    path = resolve_path(name, Path(src).resolve().parent)
    yield audio_row(path, row.get("transcript") or "")
