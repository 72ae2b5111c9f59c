"""Recordings with nothing to transcribe: noise, hum, beeps, clicks, chords and near silence.

A model that only ever heard speech writes words into whatever it hears. The speech-en model of
recipe epoch 16 wrote 20 words into 8 s of pink noise ("the time to the time to see ..."): each
utterance's features are normalised to unit variance, so loud noise looks like loud speech.
``python -m data_prep nonspeech --out data/nonspeech`` writes clips of the sounds a recording holds
between and around speech, each with an empty transcript, as ``train.tsv``, ``dev.tsv`` and
``test.tsv`` (columns path, text, duration, kind). Training learns from them only when asked
(``TrainConfig.keep_empty``: an empty transcript in a real dataset is more often a labelling slip);
scoring a model on ``test.tsv`` counts the words it invents (every one an insertion).

Every clip comes from ``(seed, split, row)``, so a rerun writes the same files, and the splits
never share a clip.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage
from tqdm import tqdm

from data_prep.audio import save_audio
from data_prep.augment_audio import coloured_noise
from data_prep.manifest import write_manifest

HELP = "clips with nothing to transcribe (noise, hum, beeps, clicks, chords, near silence)"

SAMPLE_RATE = 16000
SPLITS = ("train", "dev", "test")
SECONDS = (0.5, 8.0)  # clip length, drawn uniformly
PEAK_DBFS = (-40.0, -3.0)  # loudness: the clip's peak, drawn uniformly (near silence has its own)

Sound = Callable[[np.random.Generator, int], np.ndarray]


def _envelope(rng: np.random.Generator, n: int, depth: float) -> np.ndarray:
    """A slowly wandering gain in [1 - depth, 1] (gusts, passing traffic)."""
    knots = rng.uniform(1.0 - depth, 1.0, size=max(2, n // (SAMPLE_RATE // 4) + 2))
    return np.interp(np.arange(n), np.linspace(0, n, len(knots)), knots).astype(np.float32)


def noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White, pink or brown noise (fans, rain, tape hiss, wind), its level wandering at random."""
    colour = ("white", "pink", "brown")[int(rng.integers(3))]
    return coloured_noise(rng, n, colour) * _envelope(rng, n, rng.uniform(0.0, 0.8))


def hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum at 50 or 60 Hz with falling harmonics, over faint hiss."""
    t = np.arange(n) / SAMPLE_RATE
    base = (50.0, 60.0)[int(rng.integers(2))]
    tone = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi))
               for k in range(1, int(rng.integers(2, 9))))
    return (tone + 0.02 * coloured_noise(rng, n, "white")).astype(np.float32)


def beeps(rng: np.random.Generator, n: int) -> np.ndarray:
    """Tones of 0.05-0.6 s (phones, alarms, dial tones), one or two frequencies at a time, with gaps."""
    out = np.zeros(n, np.float32)
    start = int(rng.integers(0, max(1, SAMPLE_RATE // 2)))
    while start < n:
        length = min(n - start, int(rng.uniform(0.05, 0.6) * SAMPLE_RATE))
        t = np.arange(length) / SAMPLE_RATE
        freqs = rng.uniform(300.0, 3000.0, size=int(rng.integers(1, 3)))
        ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)  # 5 ms fades: no clicks at the edges
        out[start:start + length] = ramp * sum(np.sin(2 * np.pi * f * t) for f in freqs)
        start += length + int(rng.uniform(0.05, 1.0) * SAMPLE_RATE)
    return out


def clicks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Short decaying bursts at random times (typing, tapping, a handled microphone) over faint hiss."""
    out = 0.01 * coloured_noise(rng, n, "pink")
    for _ in range(int(rng.integers(1, 4 + 4 * n // SAMPLE_RATE))):
        at = int(rng.integers(n))
        length = min(n - at, int(rng.uniform(0.005, 0.05) * SAMPLE_RATE))
        decay = np.exp(-np.arange(length) / max(1.0, length / 5.0))
        out[at:at + length] += rng.uniform(0.2, 1.0) * decay * rng.standard_normal(length)
    return out.astype(np.float32)


def chords(rng: np.random.Generator, n: int) -> np.ndarray:
    """Instrumental music: chords of harmonic notes (MIDI 36-84) changing every 0.2-1 s."""
    out = np.zeros(n, np.float32)
    start = 0
    while start < n:
        length = min(n - start, int(rng.uniform(0.2, 1.0) * SAMPLE_RATE))
        t = np.arange(length) / SAMPLE_RATE
        attack = np.exp(-t / rng.uniform(0.1, 1.0))  # plucked or struck, then fading
        for note in rng.integers(36, 85, size=int(rng.integers(1, 5))):
            f0 = 440.0 * 2.0 ** ((note - 69) / 12)
            partials = [k for k in range(1, 9) if k * f0 < SAMPLE_RATE / 2]
            out[start:start + length] += attack * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in partials)
        start += length
    return ndimage.uniform_filter1d(out, 8)  # a duller timbre than pure partials


def near_silence(rng: np.random.Generator, n: int) -> np.ndarray:
    """A quiet room through a quiet preamp: noise 70-90 dB under full scale (set by :func:`make_clip`)."""
    return coloured_noise(rng, n, ("white", "pink")[int(rng.integers(2))])


KINDS: dict[str, Sound] = {"noise": noise, "hum": hum, "beeps": beeps, "clicks": clicks, "chords": chords,
                           "silence": near_silence}


def make_clip(rng: np.random.Generator, kind: str, seconds: float) -> np.ndarray:
    """One clip of ``kind`` lasting ``seconds``, its peak at a random level (far lower for silence)."""
    n = max(1, round(seconds * SAMPLE_RATE))
    clip = KINDS[kind](rng, n)
    peak_dbfs = rng.uniform(-90.0, -70.0) if kind == "silence" else rng.uniform(*PEAK_DBFS)
    peak = float(np.abs(clip).max())
    return (clip * np.float32(10.0 ** (peak_dbfs / 20.0) / peak) if peak > 0 else clip).astype(np.float32)


def write_split(out: Path, split: str, count: int, seed: int = 0, progress: bool = True) -> int:
    """``count`` clips, the kinds in turn, into ``out/wavs/<split>/`` and ``out/<split>.tsv``."""
    kinds = list(KINDS)
    rows = []
    for index in tqdm(range(count), desc=f"nonspeech {split}", unit="clip", disable=not progress):
        rng = np.random.default_rng([seed, SPLITS.index(split), index])
        kind = kinds[index % len(kinds)]
        clip = make_clip(rng, kind, rng.uniform(*SECONDS))
        path = out / "wavs" / split / f"{index:06d}.wav"
        save_audio(path, clip, SAMPLE_RATE)
        rows.append({"path": str(path), "text": "", "duration": round(len(clip) / SAMPLE_RATE, 3), "kind": kind})
    return write_manifest(out / f"{split}.tsv", rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="output folder (wavs/ and the manifests)")
    for split, default in zip(SPLITS, (1200, 60, 300)):
        parser.add_argument(f"--{split}", type=int, default=default, metavar="N",
                            help=f"clips in {split}.tsv (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")


def run(args: argparse.Namespace) -> int:
    counts = {split: getattr(args, split) for split in SPLITS}
    if min(counts.values()) < 0:
        print(f"data_prep nonspeech: clip counts must be >= 0, not {counts}", file=sys.stderr)
        return 2
    for split, count in counts.items():
        write_split(args.out, split, count, args.seed)
    print(f"nonspeech: {', '.join(f'{n} {s}' for s, n in counts.items())} clips "
          f"({', '.join(KINDS)}) -> {args.out}", file=sys.stderr)
    return 0
