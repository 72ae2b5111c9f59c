"""Synthetic English speech: general English text rendered by every installed offline voice.

``python -m data_prep synth-speech --out data/speech-en --count 14000`` plans the whole corpus
from the seed (texts from :mod:`data_prep.english_text`, a voice and a prosody per text), then renders
what is not on disk yet, with a progress bar, so a stopped run resumes where it stopped and a rerun
with the same arguments changes nothing. Output is 16 kHz 16-bit mono WAV plus manifests.

Splits are disjoint in text *and* in voice where it matters for the model card:

* ``train.tsv`` and ``dev.tsv``: texts rendered by the training voices;
* ``test.tsv``: other texts rendered only by the *held-out* voices (``--holdout``, glob patterns
  over ``engine:name`` keys), so its scores measure new voices saying new sentences.

Engines are weighted (``--engine-weight``) rather than voices, so espeak-ng's hundreds of accent x
variant combinations do not drown the few natural-sounding voices.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from data_prep.audio import audio_duration, load_audio, save_audio
from data_prep.english_text import speech_texts
from data_prep.manifest import write_manifest
from data_prep.tts import Engine, Prosody, Voice, installed_engines, render_to

HELP = "render English text with every installed offline TTS voice (resumable) and write manifests"

SAMPLE_RATE = 16000
DEFAULT_HOLDOUT = ("flite:rms", "festival:ked_diphone", "espeak-ng:en-gb-scotland*", "espeak-ng:*+f4",
                   "espeak-ng:*+m4")
DEFAULT_ENGINE_WEIGHTS = {"piper": 0.3, "espeak-ng": 0.35, "flite": 0.2, "festival": 0.15}


@dataclass(frozen=True)
class Job:
    """One utterance to render; everything needed is here so a worker needs no other state."""

    split: str
    index: int
    kind: str
    text: str
    voice: str  # engine:name
    rate: float
    pitch: float

    @property
    def relpath(self) -> str:
        return f"wavs/{self.split}/{self.index:06d}.wav"


@dataclass
class SynthPlan:
    """The corpus as planned from its arguments; ``fingerprint`` guards a resumed run."""

    jobs: list[Job]
    train_voices: list[str]
    holdout_voices: list[str]

    def fingerprint(self) -> str:
        digest = hashlib.sha256(json.dumps([asdict(job) for job in self.jobs]).encode())
        return digest.hexdigest()[:16]


def split_voices(voices: list[str], holdout: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Voices matching any ``holdout`` pattern, and the rest."""
    held = [v for v in voices if any(fnmatch.fnmatchcase(v, pattern) for pattern in holdout)]
    return [v for v in voices if v not in held], held


def _pick_voice(voices: list[str], weights: dict[str, float], rng: np.random.Generator) -> str:
    by_engine: dict[str, list[str]] = {}
    for voice in voices:
        by_engine.setdefault(Voice.parse(voice).engine, []).append(voice)
    engines = sorted(by_engine)
    p = np.array([weights.get(engine, 0.1) for engine in engines], dtype=np.float64)
    engine = engines[int(rng.choice(len(engines), p=p / p.sum()))]
    pool = by_engine[engine]
    return pool[int(rng.integers(len(pool)))]


def plan(count: int, dev: int, test: int, voices: list[str], holdout: tuple[str, ...], seed: int,
         engine_weights: dict[str, float], rate: tuple[float, float] = (0.8, 1.3),
         pitch: tuple[float, float] = (-4.0, 4.0), texts: list[tuple[str, str]] | None = None) -> SynthPlan:
    """Assign texts to splits and each text a voice and prosody, all from ``seed``."""
    train_voices, holdout_voices = split_voices(voices, holdout)
    if not train_voices:
        raise ValueError("every installed voice is held out: nothing to train on")
    if test and not holdout_voices:
        raise ValueError(f"no installed voice matches the held-out patterns {list(holdout)}")
    texts = texts if texts is not None else speech_texts(count + dev + test, seed=seed)
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(texts))
    sizes = {"test": test, "dev": dev, "train": len(texts) - dev - test}
    jobs: list[Job] = []
    start = 0
    for split in ("test", "dev", "train"):
        pool = holdout_voices if split == "test" else train_voices
        for index, text_index in enumerate(order[start:start + sizes[split]]):
            kind, text = texts[int(text_index)]
            jobs.append(Job(split, index, kind, text, _pick_voice(pool, engine_weights, rng),
                            round(float(rng.uniform(*rate)), 3), round(float(rng.uniform(*pitch)), 2)))
        start += sizes[split]
    return SynthPlan(jobs, train_voices, holdout_voices)


_engines: dict[str, Engine] = {}


def _render(args: tuple[Job, str]) -> tuple[Job, str | None]:
    """Render one job into ``out`` (atomically); returns an error line instead of raising."""
    job, out = args
    target = os.path.join(out, job.relpath)
    if os.path.exists(target):
        return job, None
    voice = Voice.parse(job.voice)
    engine = _engines.get(voice.engine)
    if engine is None:
        engine = _engines[voice.engine] = installed_engines()[voice.engine]
    try:
        raw = render_to(engine, voice.name, job.text, Prosody(job.rate, job.pitch), os.path.dirname(target))
        try:
            waveform = load_audio(raw, SAMPLE_RATE)
        finally:
            os.unlink(raw)
        if waveform.size < SAMPLE_RATE // 10:
            raise RuntimeError("engine produced under 0.1 s of audio")
        partial = target + ".partial.wav"
        save_audio(partial, waveform, SAMPLE_RATE)
        os.replace(partial, target)
    except Exception as error:  # noqa: BLE001 - one bad render must not stop the corpus
        return job, f"{job.relpath} ({job.voice}, {job.text!r}): {error}".splitlines()[0]
    return job, None


def render_all(synth_plan: SynthPlan, out: str, workers: int, progress: bool = True) -> list[str]:
    """Render every missing job; returns one error line per job that failed."""
    for split in {job.split for job in synth_plan.jobs}:
        os.makedirs(os.path.join(out, "wavs", split), exist_ok=True)
    todo = [job for job in synth_plan.jobs if not os.path.exists(os.path.join(out, job.relpath))]
    errors: list[str] = []
    bar = tqdm(total=len(synth_plan.jobs), initial=len(synth_plan.jobs) - len(todo), desc="synth-speech",
               unit="utt", disable=not progress, file=sys.stderr)
    work = [(job, out) for job in todo]
    if workers > 1 and work:
        with get_context("fork").Pool(workers) as pool:
            results = pool.imap_unordered(_render, work, chunksize=8)
            for _, error in results:
                errors += [error] if error else []
                bar.update()
    else:
        for item in work:
            errors += [error] if (error := _render(item)[1]) else []
            bar.update()
    bar.close()
    for engine in _engines.values():
        engine.close()
    return errors


def write_manifests(synth_plan: SynthPlan, out: str) -> dict[str, int]:
    """One manifest per split listing the jobs whose audio exists; returns rows per split."""
    counts = {}
    for split in ("train", "dev", "test"):
        rows = []
        for job in synth_plan.jobs:
            path = os.path.join(out, job.relpath)
            if job.split == split and os.path.exists(path):
                rows.append({"path": path, "text": job.text, "speaker": job.voice, "kind": job.kind,
                             "duration": round(audio_duration(path), 3)})
        counts[split] = write_manifest(os.path.join(out, f"{split}.tsv"), rows)
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder (wavs/ and train/dev/test.tsv)")
    parser.add_argument("--count", type=int, default=14000, help="training utterances")
    parser.add_argument("--dev", type=int, default=600, help="dev utterances (training voices, other texts)")
    parser.add_argument("--test", type=int, default=600, help="test utterances (held-out voices, other texts)")
    parser.add_argument("--holdout", nargs="*", default=list(DEFAULT_HOLDOUT),
                        help="glob patterns of voices kept out of train/dev (default: %(default)s)")
    parser.add_argument("--engines", nargs="*", default=None, help="only these engines (default: all installed)")
    parser.add_argument("--engine-weight", action="append", default=[], metavar="ENGINE=W",
                        help=f"share of utterances per engine (default: {DEFAULT_ENGINE_WEIGHTS})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--list-voices", action="store_true", help="print the installed voices and exit")


def run(args: argparse.Namespace) -> int:
    engines = installed_engines()
    if args.engines is not None:
        unknown = set(args.engines) - set(engines)
        if unknown:
            raise ValueError(f"engines not installed: {sorted(unknown)} (installed: {sorted(engines)})")
        engines = {name: engines[name] for name in args.engines}
    if not engines:
        print("synth-speech: no TTS engine installed (scripts/install_synth_tools installs them)", file=sys.stderr)
        return 2
    voices = [f"{name}:{voice}" for name, engine in engines.items() for voice in engine.voice_names()]
    if args.list_voices:
        print("\n".join(voices))
        return 0
    weights = dict(DEFAULT_ENGINE_WEIGHTS)
    for item in args.engine_weight:
        engine, _, weight = item.partition("=")
        weights[engine] = float(weight)
    try:
        synth_plan = plan(args.count, args.dev, args.test, voices, tuple(args.holdout), args.seed, weights)
    except ValueError as error:
        print(f"synth-speech: {error}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    stamp = Path(args.out, "plan.json")
    fingerprint = synth_plan.fingerprint()
    if stamp.exists() and json.loads(stamp.read_text()).get("fingerprint") != fingerprint:
        print(f"synth-speech: {args.out} holds a corpus planned with other arguments or voices; "
              "use a new --out or delete it", file=sys.stderr)
        return 2
    stamp.write_text(json.dumps({"fingerprint": fingerprint, "seed": args.seed, "count": args.count,
                                 "dev": args.dev, "test": args.test, "holdout": args.holdout, "weights": weights,
                                 "train_voices": synth_plan.train_voices,
                                 "holdout_voices": synth_plan.holdout_voices}, indent=1) + "\n")
    errors = render_all(synth_plan, args.out, args.workers)
    for error in errors[:20]:
        print(f"synth-speech: failed {error}", file=sys.stderr)
    counts = write_manifests(synth_plan, args.out)
    used = Counter(Voice.parse(job.voice).engine for job in synth_plan.jobs)
    print(f"synth-speech: {counts} utterances in {args.out}; engines {dict(used)}; "
          f"{len(synth_plan.holdout_voices)} held-out voices; {len(errors)} failed", file=sys.stderr)
    return 1 if errors else 0
