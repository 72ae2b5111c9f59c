#!/usr/bin/env python3
"""Our speech model and an established open-source recognizer, side by side on the same files.

The peer is CMU PocketSphinx 5 (``pip install pocketsphinx``: its US English acoustic model,
70 k-word trigram LM and CMU dictionary come in the wheel; nothing else is downloaded). It runs in
``build/venv-peer-pocketsphinx``, created on first use, as a subprocess fed 16 kHz 16-bit mono
audio that this script decodes and resamples with the package's own loader, so both recognizers
hear the same samples. Ours is the model's ``transcribe`` with the bundle's own decoding (its
shipped language model, if it has one) or, with ``--greedy``, best-path decoding.

Both transcripts are normalised the same way before scoring (lowercase; anything outside
``a-z``, apostrophe and space becomes a space): CER and WER with :mod:`recognizer.metrics`.
Timing: ours from file to text (decoding, features, network, on all CPUs); the peer from the
16 kHz samples to text, one thread, which is how it runs. Real-time factor = seconds / audio seconds.

    python scripts/bench_peer_speech.py                                      # held-out voices, FSDD takes 0-4
    python scripts/bench_peer_speech.py mine=path/to/manifest.tsv --limit 200
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENV = ROOT / "build" / "venv-peer-pocketsphinx"
DEFAULT_SETS = ("heldout_voices=data/speech-en/test.tsv", "fsdd_test=data/fsdd/test.tsv")
PEER_RATE = 16000
PEER_REQUIREMENT = "pocketsphinx==5.1.1"


def pocketsphinx_worker(listing: str) -> None:
    """Decode each raw file named in ``listing`` (runs in the peer's venv; no package imports)."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=PEER_RATE, logfn=os.devnull)
    texts, started = [], time.perf_counter()
    for raw in Path(listing).read_text().splitlines():
        decoder.start_utt()
        decoder.process_raw(Path(raw).read_bytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        texts.append(hyp.hypstr if hyp is not None else "")
    print(json.dumps({"texts": texts, "seconds": time.perf_counter() - started}))


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def run_peer(python: Path, paths: list[str]) -> tuple[list[str], float]:
    import numpy as np

    from data_prep.audio import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        raws = []
        for i, path in enumerate(paths):
            samples = np.clip(load_audio(path, PEER_RATE) * 32767.0, -32768, 32767).astype("<i2")
            raws.append(Path(tmp) / f"{i}.raw")
            raws[-1].write_bytes(samples.tobytes())
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(map(str, raws)))
        done = subprocess.run([str(python), __file__, "--pocketsphinx-worker", str(listing)],
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pocketsphinx worker failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["texts"], result["seconds"]


def main(argv=None) -> int:
    from peer_bench import manifest_sets, our_recognizer, parser, score
    from peer_venv import peer_python

    ap = parser(__doc__, DEFAULT_SETS, "speech-en", "utterances")
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--pocketsphinx-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.pocketsphinx_worker:
        pocketsphinx_worker(args.pocketsphinx_worker)
        return 0
    peer = peer_python(args.venv, PEER_REQUIREMENT)
    model, decoder = our_recognizer(args.model, args.greedy)
    print(f"ours: {args.model}, {decoder} decoding; peer: PocketSphinx 5.1.1 (en-us acoustic model, en-us.lm.bin, cmudict)")
    print(f"{'set':16s} {'utts':>5s} {'minutes':>7s} | {'ours CER':>8s} {'WER':>7s} {'RTF':>6s} | "
          f"{'peer CER':>8s} {'WER':>7s} {'RTF':>6s}")
    rows = []
    for name, manifest, entries in manifest_sets(args.sets, args.limit):
        paths, refs = [e.path for e in entries], [e.text for e in entries]
        audio = sum(e.duration or 0.0 for e in entries)
        started = time.perf_counter()
        ours = [r.text for r in model.transcribe(paths)]
        ours_s = time.perf_counter() - started
        peer_texts, peer_s = run_peer(peer, paths)
        row = {"set": name, "manifest": manifest, "utterances": len(entries), "audio_seconds": audio,
               "ours": {**score(refs, ours, normalise), "rtf": ours_s / audio},
               "peer": {**score(refs, peer_texts, normalise), "rtf": peer_s / audio}}
        rows.append(row)
        o, p = row["ours"], row["peer"]
        print(f"{name:16s} {len(entries):5d} {audio / 60:7.1f} | {o['cer']:8.2%} {o['wer']:7.2%} {o['rtf']:6.3f} | "
              f"{p['cer']:8.2%} {p['wer']:7.2%} {p['rtf']:6.3f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
