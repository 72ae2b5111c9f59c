"""A folder of audio files, each with its transcript beside it: ``a.wav`` + ``a.txt`` (or ``a.lab``).

The layout of many small corpora and of aligners' inputs (Montreal Forced Aligner's ``.lab``).
Every audio file below SRC is one sample; one with no transcript next to it is skipped with that
reason. The first folder level below SRC becomes the speaker with ``--speaker-from-folder``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.audio import AUDIO_EXTENSIONS
from data_prep.errors import InputError
from data_prep.importers.common import (
    GROUP,
    ImportConfig,
    Job,
    Skip,
    audio_row,
    iter_files,
)

HELP = "folders of audio files with .txt or .lab transcripts beside them"
UNIT = "file"


@dataclass
class Config(ImportConfig):
    transcript: str = field(default=".txt,.lab", metadata={
        "help": "transcript extensions tried in order (default: .txt,.lab)"})
    speaker_from_folder: bool = field(default=False, metadata={
        "help": "the first folder below SRC names the speaker"})


def list_items(src: Path, config: Config) -> list[Path]:
    if not src.is_dir():
        raise InputError(src, "expected a folder of audio files")
    return iter_files(src, AUDIO_EXTENSIONS)


def convert(audio: Path, job: Job) -> Iterator[dict]:
    config: Config = job.config  # type: ignore[assignment]
    suffixes = ["." + s.strip().lstrip(".") for s in config.transcript.split(",") if s.strip()]
    transcript = next((p for p in (audio.with_suffix(s) for s in suffixes) if p.is_file()), None)
    if transcript is None:
        raise Skip("no transcript file", audio)
    try:
        text = transcript.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise Skip("transcript not UTF-8", transcript) from None
    extra = {GROUP: str(audio.parent)}
    if config.speaker_from_folder:
        rel = audio.relative_to(job.src).parts
        if len(rel) > 1:
            extra["speaker"] = extra[GROUP] = rel[0]
    yield audio_row(audio, text, **extra)
