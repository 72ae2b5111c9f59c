"""A manifest's recordings inside longer takes: room tone before, under and after the speech.

Synthetic utterances and the FSDD digits are cut tight around the speech; a real take is not, and
a model that never heard a pause writes letters into it. ``python -m data_prep pad-takes
data/fsdd/test.tsv --out data/fsdd-padded`` writes every recording with 1.5 s of pink noise before
and after it and the same noise under it, 30 dB under the speech's own power, at 16 kHz, plus a
manifest of the same rows and columns (``data/fsdd-padded/test.tsv``; a ``duration`` column is
updated). Scoring a model on both manifests shows what it makes of the pauses; the speech-en model
card reports both.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_prep.audio import load_audio, save_audio
from data_prep.augment_audio import coloured_noise, snr_gain
from data_prep.errors import InputError
from data_prep.manifest import read_manifest, write_manifest

HELP = "copies of a manifest's recordings with room tone before, under and after the speech"

SAMPLE_RATE = 16000


def pad_take(speech: np.ndarray, rng: np.random.Generator, seconds: float, snr_db: float,
             colour: str = "pink", sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``speech`` with ``seconds`` of silence on each side, all of it under noise ``snr_db`` below
    the speech's power (measured on the speech alone, so the silences do not lower the noise)."""
    pad = round(seconds * sample_rate)
    take = np.pad(np.asarray(speech, dtype=np.float32), pad)
    tone = coloured_noise(rng, len(take), colour)
    return take + np.float32(snr_gain(speech, tone, snr_db)) * tone


def pad_manifest(manifest: str | Path, out: str | Path, seconds: float = 1.5, snr_db: float = 30.0,
                 seed: int = 0, progress: bool = True) -> int:
    """Write the padded copies and ``out/<manifest's name>``; returns the rows written.

    Each row's noise comes from ``(seed, row)``, so a rerun writes the same files."""
    entries, out = read_manifest(manifest), Path(out)
    rows = []
    for index, entry in enumerate(tqdm(entries, desc="pad-takes", unit="file", disable=not progress)):
        try:
            speech = load_audio(entry.path, SAMPLE_RATE)
        except InputError as error:  # one bad recording costs its row, not the others
            print(f"skipped {error}", file=sys.stderr)
            continue
        target = out / "wavs" / f"{index:06d}.wav"
        take = pad_take(speech, np.random.default_rng([seed, index]), seconds, snr_db)
        save_audio(target, take, SAMPLE_RATE)
        row = {**entry.extra, "path": str(target), "text": entry.text}
        if "duration" in row:  # the manifest's own column, now of the longer take
            row["duration"] = round(len(take) / SAMPLE_RATE, 3)
        rows.append(row)
    return write_manifest(out / Path(manifest).name, rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", help="manifest of audio files")
    parser.add_argument("--out", type=Path, required=True, help="output folder (wavs/ and the manifest)")
    parser.add_argument("--seconds", type=float, default=1.5, help="room tone before and after (default: %(default)s)")
    parser.add_argument("--snr", type=float, default=30.0,
                        help="dB between the speech's power and the room tone's (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the noise (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    if args.seconds < 0:
        print(f"data_prep pad-takes: --seconds must be >= 0, not {args.seconds}", file=sys.stderr)
        return 2
    count = pad_manifest(args.manifest, args.out, args.seconds, args.snr, args.seed)
    print(f"pad-takes: {count} recordings with {args.seconds:g} s of room tone at {args.snr:g} dB SNR "
          f"-> {args.out / Path(args.manifest).name}", file=sys.stderr)
    return 0
