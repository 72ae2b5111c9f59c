"""What the side-by-side benchmarks share: their command line, our recognizer, the test sets, scoring.

``bench_peer_speech.py`` and ``bench_peer_handwriting.py`` differ in their peer and in how a
transcript is normalised before scoring; everything else about running ours is here, so both
measure it the same way.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package and data_prep, for both benchmarks and what they import later


def parser(doc: str, default_sets: Sequence[str], model: str, unit: str) -> argparse.ArgumentParser:
    """The options every benchmark takes; the caller adds its peer's."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sets", nargs="*", default=list(default_sets), metavar="NAME=MANIFEST")
    ap.add_argument("--model", default=model)
    ap.add_argument("--greedy", action="store_true", help="decode ours greedily, without its language model")
    ap.add_argument("--limit", type=int, help=f"only the first N {unit} of each manifest")
    ap.add_argument("--json", type=Path, help="also write the results here")
    return ap


def our_recognizer(model: str, greedy: bool):
    """``(Recognizer, decoder name)``: the bundle's own decoding, or best path with ``greedy``."""
    from recognizer.bundle import load as load_bundle
    from recognizer.inference import Recognizer

    bundle = load_bundle(model)
    decoding = bundle.decoder_config().override(decoder="greedy" if greedy else None)
    return Recognizer(bundle, decoder=decoding), decoding.decoder


def manifest_sets(items: Sequence[str], limit: int | None):
    """``(name, manifest, entries)`` for each ``NAME=MANIFEST`` (relative to the repository)."""
    from data_prep.manifest import read_manifest

    for item in items:
        name, manifest = item.split("=", 1)
        yield name, manifest, read_manifest(ROOT / manifest)[:limit]


def score(references: Sequence[str], hypotheses: Sequence[str], normalise: Callable[[str], str]) -> dict:
    """CER and WER after ``normalise`` on both sides."""
    from recognizer.metrics import cer, wer

    refs, hyps = [normalise(r) for r in references], [normalise(h) for h in hypotheses]
    return {"cer": cer(refs, hyps).rate, "wer": wer(refs, hyps).rate}
