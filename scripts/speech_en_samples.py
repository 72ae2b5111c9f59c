#!/usr/bin/env python3
"""Write the speech-en demo samples from the test split of ``synth-speech`` (voices held out of training).

Chosen by a rule fixed before any score was seen: walking the test manifest in order, the first
sentence of each held-out voice family (flite, festival, the Scottish espeak-ng accent, the ``+m4``
espeak-ng variant), then the first number and the first spelled string. They are stored in the
formats and rates users bring, not as rendered (16 kHz mono): 44.1 kHz stereo flac, 48 kHz ogg,
22.05 kHz mp3, 8 kHz wav, 16 kHz wav, so the demo exercises every reader and resampler.

    python scripts/speech_en_samples.py data/speech-en/test.tsv pretrained/samples/speech-en
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data_prep.audio import load_audio  # noqa: E402
from data_prep.manifest import read_manifest  # noqa: E402

# tests (kind of text, voice) -> does an entry qualify, in picking order
PICKS = [
    lambda kind, voice: kind == "sentence" and voice.startswith("flite:"),
    lambda kind, voice: kind == "sentence" and voice.startswith("festival:"),
    lambda kind, voice: kind == "sentence" and "scotland" in voice,
    lambda kind, voice: kind == "sentence" and voice.endswith("+m4"),
    lambda kind, voice: kind == "number",
    lambda kind, voice: kind == "spelled",
]
# (suffix, sample rate, channels, soundfile subtype) for the picks in order
FORMATS = [("flac", 44100, 2, "PCM_16"), ("ogg", 48000, 1, "VORBIS"), ("mp3", 22050, 1, "MPEG_LAYER_III"),
           ("wav", 16000, 1, "PCM_16"), ("wav", 8000, 1, "PCM_16"), ("wav", 16000, 1, "PCM_16")]


def main(manifest: str, out: str) -> int:
    entries = read_manifest(manifest)
    chosen: list = []
    for qualifies in PICKS:
        chosen.append(next(e for e in entries if e not in chosen
                           and qualifies(e.extra["kind"], e.extra["speaker"])))
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["path\ttext\tsources"]
    for number, (entry, (suffix, rate, channels, subtype)) in enumerate(zip(chosen, FORMATS), start=1):
        audio = load_audio(entry.path, rate)
        if channels == 2:  # a stereo take: the right channel a little quieter, as two microphones would be
            audio = np.stack([audio, 0.8 * audio], axis=1)
        name = f"{entry.extra['kind']}_{number}.{suffix}"
        sf.write(folder / name, audio, rate, subtype=subtype)
        rows.append(f"{name}\t{entry.text}\t{Path(manifest).name}:{Path(entry.path).name} {entry.extra['speaker']}")
    (folder / "references.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {len(chosen)} samples to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
