"""Mozilla Common Voice: ``train.tsv`` / ``validated.tsv`` with ``path`` and ``sentence``, audio in ``clips/``.

SRC is the language folder (``cv-corpus-*/en``) with ``--split`` naming the TSV, or a TSV file
itself. ``train.tsv`` is the default: ``validated.tsv`` holds the dev and test speakers too. Cells
are literal (Common Voice writes quotes as text). ``client_id`` becomes the speaker and the split
unit; other columns (``up_votes``, ``accents``, ...) are kept.
"""
from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.errors import InputError
from data_prep.importers.common import GROUP, ImportConfig, Job, Skip, audio_row

HELP = "Common Voice TSV (path, sentence; clips/ folder of mp3)"
UNIT = "clip"
KEEP = ("up_votes", "down_votes", "age", "gender", "accents", "locale", "segment", "sentence_id")


@dataclass
class Config(ImportConfig):
    split: str = field(default="train", metadata={"help": "which TSV of a language folder: train, dev, test, "
                                                          "validated, ... (default: train)"})
    clips: str = field(default="", metadata={"help": "folder of the audio clips (default: clips/ beside the TSV)"})
    min_votes: int = field(default=0, metadata={"help": "skip clips with fewer up_votes than down_votes + this"})


def _tsv(src: Path, split: str) -> Path:
    if src.is_file():
        return src
    path = src / f"{split}.tsv"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in src.glob("*.tsv"))) or "none"
        raise InputError(path, f"not found (TSVs here: {have})")
    return path


def list_items(src: Path, config: Config) -> list[tuple[Path, int, dict]]:
    tsv = _tsv(src, config.split)
    csv.field_size_limit(sys.maxsize)
    with open(tsv, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in ("path", "sentence") if c not in (reader.fieldnames or [])]
        if missing:
            have = ", ".join(reader.fieldnames or [])
            raise InputError(tsv, f"header lacks {', '.join(missing)} (has: {have})", line=1)
        return [(tsv, reader.line_num, row) for row in reader]


def convert(item: tuple[Path, int, dict], job: Job) -> Iterator[dict]:
    tsv, line, row = item
    config: Config = job.config  # type: ignore[assignment]
    name = (row.get("path") or "").strip()
    if not name:
        raise Skip("no path", f"{tsv}:{line}")
    if config.min_votes and _votes(row) < config.min_votes:
        raise Skip("too few votes", f"{tsv}:{line}")
    clips = Path(config.clips) if config.clips else tsv.parent / "clips"
    speaker = (row.get("client_id") or "").strip()
    extra = {k: row[k] for k in KEEP if row.get(k) not in (None, "")}
    if speaker:
        extra["speaker"] = speaker
    yield audio_row(clips / name, row.get("sentence") or "", what="clip", **extra, **{GROUP: speaker or name})


def _votes(row: dict) -> int:
    try:
        return int(row.get("up_votes") or 0) - int(row.get("down_votes") or 0)
    except ValueError:
        return 0
