#!/usr/bin/env python3
"""Our handwriting model and an established open-source OCR engine, side by side on the same images.

The peer is Tesseract 5 with its LSTM line recogniser and English model, from Debian's packages
(``apt-get install tesseract-ocr tesseract-ocr-eng``; nothing is downloaded at run time). Each
image file goes to ``tesseract FILE stdout --psm 7`` (the page is one text line) untouched: the
peer binarises and deskews as it would a scan, ours normalises as it always does. Ours is the
model's ``read`` with the bundle's own decoding (its shipped language model) or, with ``--greedy``,
best path; Tesseract always uses its own dictionary.

Scoring is case-sensitive, as on the model card. The peer writes typographic quotes and dashes
where the references (and our alphabet) have ASCII ones, so those are mapped first; runs of
whitespace collapse in both transcripts. CER and WER with :mod:`recognizer.metrics`.
Timing: lines per second from file to text on all CPUs, model loading excluded: ours in batches,
the peer one single-threaded process per line (``OMP_THREAD_LIMIT=1``), as many at a time as
there are CPUs.

    python scripts/bench_peer_handwriting.py                 # held-out fonts, held-out MNIST digit lines
    python scripts/bench_peer_handwriting.py mine=path/to/manifest.tsv --limit 200
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

DEFAULT_SETS = ("heldout_fonts=data/lines-en/test.tsv", "mnist_test=data/mnist/test.tsv")
# The peer's typographic punctuation, as the ASCII characters the references use.
TYPOGRAPHIC = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2013": "-", "\u2014": "-", "\u2212": "-"})


def normalise(text: str) -> str:
    """ASCII quotes and dashes, single spaces: the only normalisation either transcript gets."""
    return " ".join(text.translate(TYPOGRAPHIC).split())


def tesseract_version(binary: str) -> str:
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return (done.stdout or done.stderr).splitlines()[0].strip()


def read_with_tesseract(binary: str, paths: list[str], jobs: int) -> tuple[list[str], float]:
    """The peer's text of each file, and the wall-clock seconds of the whole set."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(path: str) -> str:
        done = subprocess.run([binary, path, "stdout", "--psm", "7"], capture_output=True, text=True, env=env)
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            print(f"tesseract: {path}: {why} (scored as an empty line)", file=sys.stderr)
            return ""
        return done.stdout

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        texts = list(pool.map(one, paths))
    return texts, time.perf_counter() - started


def main(argv=None) -> int:
    from peer_bench import manifest_sets, our_recognizer, parser, score

    ap = parser(__doc__, DEFAULT_SETS, "handwriting-en", "lines")
    ap.add_argument("--tesseract", default="tesseract", help="the peer's executable")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="peer processes at a time")
    args = ap.parse_args(argv)
    binary = shutil.which(args.tesseract)
    if binary is None:
        print(f"error: {args.tesseract}: not found (apt-get install tesseract-ocr tesseract-ocr-eng)", file=sys.stderr)
        return 2
    model, decoder = our_recognizer(args.model, args.greedy)
    print(f"ours: {args.model}, {decoder} decoding; peer: {tesseract_version(binary)} (eng, --psm 7)")
    print(f"{'set':16s} {'lines':>5s} | {'ours CER':>8s} {'WER':>7s} {'line/s':>6s} | "
          f"{'peer CER':>8s} {'WER':>7s} {'line/s':>6s}")
    rows = []
    for name, manifest, entries in manifest_sets(args.sets, args.limit):
        paths, refs = [e.path for e in entries], [e.text for e in entries]
        started = time.perf_counter()
        ours = [r.text for r in model.read(paths)]
        ours_s = time.perf_counter() - started
        peer_texts, peer_s = read_with_tesseract(binary, paths, args.jobs)
        row = {"set": name, "manifest": manifest, "lines": len(entries),
               "ours": {**score(refs, ours, normalise), "lines_per_second": len(entries) / ours_s},
               "peer": {**score(refs, peer_texts, normalise), "lines_per_second": len(entries) / peer_s}}
        rows.append(row)
        o, p = row["ours"], row["peer"]
        print(f"{name:16s} {len(entries):5d} | {o['cer']:8.2%} {o['wer']:7.2%} {o['lines_per_second']:6.1f} | "
              f"{p['cer']:8.2%} {p['wer']:7.2%} {p['lines_per_second']:6.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
