"""Kaldi data folders: ``wav.scp`` + ``text``, with ``segments`` and ``utt2spk`` when present.

``wav.scp`` maps a recording id to a file, or to a shell pipeline ending in ``|`` (``sox x.sph -t
wav - |``). Pipelines are never run: importing a dataset must not execute commands written in it;
such recordings are skipped with that reason (convert them to files first). Entries that point
into archives (``foo.ark:1234``) are skipped too. With ``segments`` (``UTT REC START END``, END -1
meaning the end), each utterance is cut from its recording into a WAV under the output's media
folder. Relative paths in ``wav.scp`` are relative to the recipe folder Kaldi ran in: ``--root``,
else the first of the data folder, its parent and its grandparent (``s5/data/train``) that holds
the file.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.errors import InputError
from data_prep.importers.common import (
    GROUP,
    ImportConfig,
    Job,
    Skip,
    audio_row,
    safe_name,
)
from data_prep.importers.segments import cut_segment

HELP = "Kaldi data folder (wav.scp + text, optional segments and utt2spk)"
UNIT = "utterance"


@dataclass
class Config(ImportConfig):
    root: str = field(default="", metadata={"help": "folder that relative wav.scp paths start from"})


@dataclass
class _Utterance:
    utt: str
    text: str
    recording: str | None  # None: not in wav.scp / segments
    start: float = 0.0
    end: float | None = None  # None: the whole recording
    speaker: str = ""
    segmented: bool = False


def _table(path: Path, fields: int = 1) -> dict[str, list[str]]:
    """``KEY VALUE...`` lines -> {key: [value parts]} (``fields`` parts split off after the key)."""
    table = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.strip().split(maxsplit=fields)
            if parts:
                table[parts[0]] = parts[1:]
    return table


def list_items(src: Path, config: Config) -> list[tuple[_Utterance, dict[str, str]]]:
    if not (src / "wav.scp").is_file() or not (src / "text").is_file():
        raise InputError(src, "not a Kaldi data folder (needs wav.scp and text)")
    wavs = {key: (value[0] if value else "") for key, value in _table(src / "wav.scp").items()}
    texts = _table(src / "text")
    speakers = {k: v[0] for k, v in _table(src / "utt2spk").items() if v} if (src / "utt2spk").is_file() else {}
    segments = _table(src / "segments", 3) if (src / "segments").is_file() else None
    items = []
    for utt, words in texts.items():
        u = _Utterance(utt, words[0] if words else "", utt, speaker=speakers.get(utt, ""))
        if segments is not None:
            seg = segments.get(utt)
            u.segmented = True
            if seg is None or len(seg) != 3:
                u.recording = None
            else:
                try:
                    u.recording, u.start, u.end = seg[0], float(seg[1]), float(seg[2])
                except ValueError:
                    u.recording = None
        items.append((u, wavs))
    return items


def _recording_path(spec: str, src: Path, root: str) -> Path:
    if spec.endswith("|"):
        raise Skip("wav.scp entry is a command (not run)")
    if ".ark:" in spec or spec.endswith(".ark") or ".scp:" in spec:
        raise Skip("wav.scp entry points into an archive")
    path = Path(spec)
    if path.is_absolute():
        return path
    bases = [Path(root)] if root else [src, src.parent, src.parent.parent]
    return next((base / path for base in bases if (base / path).is_file()), bases[0] / path)


def convert(item: tuple[_Utterance, dict[str, str]], job: Job) -> Iterator[dict]:
    u, wavs = item
    config: Config = job.config  # type: ignore[assignment]
    if u.recording is None:
        raise Skip("no segment for the utterance" if u.segmented else "no recording", u.utt)
    spec = wavs.get(u.recording)
    if spec is None:
        raise Skip("recording not in wav.scp", f"{u.utt} ({u.recording})")
    # wav.scp values may hold spaces (commands); _table kept the whole rest of the line
    try:
        path = _recording_path(spec, job.src, config.root)
    except Skip as skip:
        raise Skip(skip.reason, f"{u.recording}: {spec[:80]}") from None
    extra = {"utt": u.utt, GROUP: u.recording}
    if u.speaker:
        extra["speaker"] = u.speaker
    row = audio_row(path, u.text, **extra)
    if not u.segmented:
        yield row
        return
    target = job.media_dir / f"{safe_name(u.utt)}.wav"
    yield {**row, **cut_segment(path, u.start, u.end, target), "recording": u.recording}
