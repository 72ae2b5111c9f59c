"""Merge manifests into one, e.g. synthetic speech plus real recordings for one training run.

``python -m data_prep merge synth/train.tsv fsdd/train.tsv@3000 --out mix/train.tsv``: each input
may name ``@N`` to take a random N of its rows (seeded), the paths are rebased so the merged manifest
works from its own folder, every column is kept, and a ``source`` column names the input a row came
from (for per-source scores later).
"""
from __future__ import annotations

import argparse
import os
import re
import sys

import numpy as np

from data_prep.manifest import read_manifest, write_manifest

HELP = "merge manifests (optionally a random N rows of each) into one, rebasing paths"

_TAKE = re.compile(r"^(?P<path>.+?)@(?P<count>\d+)$")


def parse_input(spec: str) -> tuple[str, int | None]:
    """``PATH`` or ``PATH@N``."""
    match = _TAKE.match(spec)
    if match and not os.path.exists(spec):
        return match["path"], int(match["count"])
    return spec, None


def merge(specs: list[str], out: str, seed: int = 0) -> dict[str, int]:
    """Write the merged manifest; returns rows taken per input."""
    rng = np.random.default_rng(seed)
    rows, taken = [], {}
    for spec in specs:
        path, count = parse_input(spec)
        entries = read_manifest(path)
        if count is not None and count < len(entries):
            keep = np.sort(rng.choice(len(entries), size=count, replace=False))
            entries = [entries[int(i)] for i in keep]
        source = os.path.splitext(os.path.relpath(path))[0]
        rows += [{**entry.extra, "path": entry.path, "text": entry.text, "source": source} for entry in entries]
        taken[path] = len(entries)
    write_manifest(out, rows)
    return taken


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="MANIFEST[@N]", help="manifests; @N takes a random N rows")
    parser.add_argument("--out", required=True, help="merged manifest (.tsv, .csv or .jsonl)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    taken = merge(args.inputs, args.out, args.seed)
    print(f"merge: {sum(taken.values())} rows into {args.out} ({', '.join(f'{k}: {v}' for k, v in taken.items())})",
          file=sys.stderr)
    return 0
