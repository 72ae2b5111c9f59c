"""LibriSpeech: ``SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt`` lines ``ID TEXT``, audio ``ID.flac``.

SRC is a split folder (``LibriSpeech/train-clean-100``) or any folder above one; every
``*.trans.txt`` below it is read. The speaker is the first part of the id; a chapter is the
split unit for ``--dev-fraction``. Transcripts are upper case: ``--lowercase`` if the model is.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from data_prep.errors import InputError
from data_prep.importers.common import (
    GROUP,
    ImportConfig,
    Job,
    Skip,
    audio_row,
    iter_files,
)

HELP = "LibriSpeech folders (*.trans.txt per chapter, flac audio)"
UNIT = "utterance"
Config = ImportConfig
AUDIO_SUFFIXES = (".flac", ".wav")  # some mirrors ship the audio converted to wav


def list_items(src: Path, config: ImportConfig) -> list[tuple[Path, int, str]]:
    """(transcript file, line number, line) for every utterance."""
    files = iter_files(src, (".trans.txt",))
    if not files:
        raise InputError(src, "no *.trans.txt files found (expected LibriSpeech's SPEAKER/CHAPTER folders)")
    items = []
    for path in files:
        with open(path, encoding="utf-8") as handle:
            items += [(path, n, line) for n, line in enumerate(handle, start=1) if line.strip()]
    return items


def convert(item: tuple[Path, int, str], job: Job) -> Iterator[dict]:
    trans, line, text = item
    utt, _, transcript = text.strip().partition(" ")
    if not transcript.strip():
        raise Skip("no transcript on the line", f"{trans}:{line}")
    audio = next((p for p in (trans.parent / f"{utt}{s}" for s in AUDIO_SUFFIXES) if p.is_file()),
                 trans.parent / f"{utt}.flac")
    yield audio_row(audio, transcript, speaker=utt.split("-")[0], **{GROUP: str(trans.parent)})
