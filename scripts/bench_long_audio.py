#!/usr/bin/env python
"""Peak memory and speed of transcribing one long file, as a user runs it (a fresh process).

Builds a recording of ``--minutes`` minutes at 44.1 kHz stereo (the worst common case for memory:
the decoded file alone is ~0.2 GB per 10 minutes as float32) from the bundled speech samples with
pauses between them, then runs ``recognizer transcribe`` on it in a child process and prints the
child's peak resident memory, wall time and real-time factor. ``--whole`` also runs with
segmentation switched off, for comparison.

    python scripts/bench_long_audio.py --model speech-en --minutes 10
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_prep.audio import load_audio  # noqa: E402
from data_prep.manifest import read_manifest  # noqa: E402

RATE = 44100


def build(path: Path, minutes: float, seed: int = 0) -> float:
    """Write the test recording block by block (this process never holds it whole)."""
    entries = read_manifest(ROOT / "pretrained" / "samples" / "speech" / "references.tsv")
    clips = [load_audio(entry.path, RATE) for entry in entries]
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * RATE)
    written = 0
    with sf.SoundFile(str(path), "w", RATE, 2, subtype="PCM_16") as out:
        while written < total:
            clip = clips[int(rng.integers(len(clips)))]
            pause = 0.003 * rng.standard_normal(int(RATE * rng.uniform(0.3, 1.5)))
            block = np.concatenate([clip, pause]).astype(np.float32)[: total - written]
            out.write(np.stack([block, 0.9 * block], axis=1))
            written += len(block)
    return total / RATE


def run(model: str, path: Path, segment_seconds: float | None) -> tuple[float, float, str]:
    """(peak RSS in GB, wall seconds, first words) of one transcribe run in a child process."""
    code = ("import resource, sys, recognizer; r = recognizer.load(sys.argv[1]);"
            + (f"r.segment_seconds = {segment_seconds};" if segment_seconds else "")
            + "text = r.transcribe([sys.argv[2]])[0].text[:60];"
            + "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); print(text)")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, model, str(path)], capture_output=True, text=True,
                            cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"transcribe failed: {result.stderr.strip().splitlines()[-1]}")
    peak_kb, text = result.stdout.split("\n", 1)
    return int(peak_kb) / 1024 / 1024, wall, text.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="speech-digits")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--whole", action="store_true", help="also run with segmentation off")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        seconds = build(path, args.minutes)
        print(f"{args.minutes:g} min, 44.1 kHz stereo, {path.stat().st_size / 1e6:.0f} MB, model {args.model}")
        modes = [("pieces of <= 30 s", None)] + ([("whole file", 1e9)] if args.whole else [])
        for name, segment in modes:
            peak, wall, text = run(args.model, path, segment)
            print(f"{name:18s} peak RSS {peak:.2f} GB  wall {wall:.1f} s  RTF {wall / seconds:.4f}  text: {text!r}")


if __name__ == "__main__":
    main()
