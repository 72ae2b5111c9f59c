"""Spoken-digit corpus from the Free Spoken Digit Dataset: isolated takes plus joined digit strings.

FSDD has one word per file, which would teach a recogniser that every utterance is one word. So
each split also gets *joined* strings ("three one four"): 2..7 takes of ONE speaker from that
split only, silence-trimmed, loudness-matched and separated by short low-level-noise pauses. Splits
follow the dataset's own convention by take (0-4 test) so no recording is shared across splits.

Every string is planned from its own random stream ``(seed, split, index)``: the plan is cheap to
recompute, so a rerun reuses finished wavs, and raising a count only adds strings. Isolated takes
are referenced by absolute path instead of copied.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from data_prep.manifest import write_manifest

HELP = "compose the FSDD spoken-digit corpus (isolated takes + joined digit strings)"

SAMPLE_RATE = 8000
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: takes per split, by the dataset's convention (takes 0-4 of every speaker are its test split)
SPLIT_TAKES = {"train": range(10, 50), "dev": range(5, 10), "test": range(0, 5)}
_SPLIT_CODE = {"train": 0, "dev": 1, "test": 2}
_SAMPLES_CODE = 99


@dataclass(frozen=True)
class Take:
    """One FSDD recording: ``{digit}_{speaker}_{take}.wav``."""

    path: str
    digit: int
    speaker: str
    take: int

    @property
    def name(self) -> str:
        return f"{self.digit}_{self.speaker}_{self.take}"


@dataclass
class JoinConfig:
    """How a joined string is built; everything here changes the audio (it is stamped in the output)."""

    min_digits: int = 2
    max_digits: int = 7
    pause: tuple[float, float] = (0.05, 0.4)  # seconds between takes
    edge: tuple[float, float] = (0.0, 0.2)  # seconds of lead and of tail
    noise_below_db: tuple[float, float] = (35.0, 50.0)  # pause noise level under the speech RMS
    top_db: float = 30.0  # trim threshold under the take's peak
    trim_margin: float = 0.015  # seconds kept around the trimmed take (soft onsets such as /s/)
    fade: float = 0.005  # seconds of fade at each take's cut edges, against clicks


@dataclass
class FsddConfig:
    src: Path
    out: Path
    joined: dict[str, int] = field(default_factory=lambda: {"train": 3000, "dev": 200, "test": 250})
    seed: int = 0
    join: JoinConfig = field(default_factory=JoinConfig)
    progress: bool = True


@dataclass
class Plan:
    """What one joined string is made of; drawn before any audio is touched."""

    speaker: str
    takes: list[Take]
    pauses: list[float]
    lead: float
    tail: float
    noise_below_db: float

    @property
    def text(self) -> str:
        return " ".join(WORDS[t.digit] for t in self.takes)

    @property
    def sources(self) -> str:
        return " ".join(t.name for t in self.takes)


def scan_recordings(src: Path) -> list[Take]:
    """All ``recordings/*.wav`` of an FSDD folder (``src`` may also be the recordings folder)."""
    folder = src / "recordings" if (src / "recordings").is_dir() else src
    takes = []
    for path in sorted(folder.glob("*.wav")):
        parts = path.stem.split("_")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
            continue
        takes.append(Take(str(path.resolve()), int(parts[0]), parts[1], int(parts[2])))
    if not takes:
        raise FileNotFoundError(f"no FSDD recordings ({{digit}}_{{speaker}}_{{take}}.wav) under {folder}")
    return takes


def split_of(take: Take) -> str | None:
    for split, takes in SPLIT_TAKES.items():
        if take.take in takes:
            return split
    return None


def plan_string(rng: np.random.Generator, takes: list[Take], join: JoinConfig,
                speaker: str | None = None, digits: tuple[int, int] | None = None) -> Plan:
    """Draw one joined string from ``takes`` (already restricted to one split)."""
    by_speaker: dict[str, dict[int, list[Take]]] = {}
    for take in takes:
        by_speaker.setdefault(take.speaker, {}).setdefault(take.digit, []).append(take)
    speakers = sorted(by_speaker)
    if speaker is None:
        speaker = speakers[int(rng.integers(len(speakers)))]
    pool = by_speaker[speaker]
    lo, hi = digits or (join.min_digits, join.max_digits)
    count = int(rng.integers(lo, hi + 1))
    available = sorted(pool)
    chosen: list[Take] = []
    for _ in range(count):
        digit = available[int(rng.integers(len(available)))]
        options = [t for t in pool[digit] if t not in chosen] or pool[digit]  # avoid repeating a recording
        chosen.append(options[int(rng.integers(len(options)))])
    pauses = [float(rng.uniform(*join.pause)) for _ in range(count - 1)]
    lead, tail = (float(rng.uniform(*join.edge)) for _ in range(2))
    return Plan(speaker, chosen, pauses, lead, tail, float(rng.uniform(*join.noise_below_db)))


class _Trimmed:
    """Trimmed takes, loaded once: a split reuses each recording many times."""

    def __init__(self, join: JoinConfig):
        self.join = join
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, take: Take) -> np.ndarray:
        if take.path not in self.cache:
            import librosa  # imported here so that `--help` and the isolated-only paths stay quick

            audio, rate = sf.read(take.path, dtype="float32", always_2d=True)
            audio = audio.mean(axis=1)
            if rate != SAMPLE_RATE:
                audio = librosa.resample(audio, orig_sr=rate, target_sr=SAMPLE_RATE)
            _, (start, end) = librosa.effects.trim(audio, top_db=self.join.top_db, frame_length=256, hop_length=64)
            margin = int(self.join.trim_margin * SAMPLE_RATE)
            audio = audio[max(0, start - margin): min(len(audio), end + margin)].astype(np.float64)
            fade = min(int(self.join.fade * SAMPLE_RATE), len(audio) // 4)
            if fade > 0:
                ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))
                audio[:fade] *= ramp
                audio[-fade:] *= ramp[::-1]
            self.cache[take.path] = audio
        return self.cache[take.path]


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio ** 2))) if len(audio) else 0.0


def render(plan: Plan, trimmed: _Trimmed, rng: np.random.Generator) -> np.ndarray:
    """The waveform of a plan: takes scaled to their median RMS, noise pauses between them."""
    pieces = [trimmed(t) for t in plan.takes]
    levels = [_rms(p) for p in pieces]
    target = float(np.median([lv for lv in levels if lv > 0] or [0.05]))
    noise_rms = target * 10 ** (-plan.noise_below_db / 20)

    def gap(seconds: float) -> np.ndarray:
        return rng.normal(0.0, noise_rms, int(round(seconds * SAMPLE_RATE)))

    out = [gap(plan.lead)]
    for i, (piece, level) in enumerate(zip(pieces, levels)):
        out.append(piece * (target / level) if level > 0 else piece)
        if i < len(plan.pauses):
            out.append(gap(plan.pauses[i]))
    out.append(gap(plan.tail))
    audio = np.concatenate(out)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 0.98:  # matching a quiet take up to a loud one may clip; lower the whole string
        audio *= 0.98 / peak
    return audio.astype(np.float32)


def _write_wav(path: Path, audio: np.ndarray) -> None:
    """Write atomically, so an existing file is always a finished one (what reruns rely on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sf.write(tmp, audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    os.replace(tmp, path)


def _duration(path: str) -> float:
    info = sf.info(path)
    return round(info.frames / info.samplerate, 4)


def _stamp(cfg: FsddConfig) -> dict:
    stamp = {"seed": cfg.seed, "join": asdict(cfg.join), "src": str(Path(cfg.src).resolve())}
    return json.loads(json.dumps(stamp))  # tuples as lists, as they read back from the file


def compose(cfg: FsddConfig) -> dict[str, dict]:
    """Write ``{out}/{split}.tsv`` and ``{out}/{split}/joined_*.wav`` for all splits; return a summary.

    Files made by an earlier run with the same seed and join settings are reused; if those
    differ, the joined wavs are redone.
    """
    from tqdm import tqdm

    takes = scan_recordings(Path(cfg.src))
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp_path = out / "compose_fsdd.json"
    stamp = _stamp(cfg)
    reuse = stamp_path.is_file() and json.loads(stamp_path.read_text())["stamp"] == stamp
    trimmed = _Trimmed(cfg.join)
    summary: dict[str, dict] = {}
    for split in SPLIT_TAKES:
        own = [t for t in takes if split_of(t) == split]
        rows = [{"path": t.path, "text": WORDS[t.digit], "duration": _duration(t.path),
                 "speaker": t.speaker, "sources": t.name, "kind": "isolated"} for t in own]
        count = cfg.joined.get(split, 0)
        made = 0
        for index in tqdm(range(count), desc=f"fsdd {split}", unit="string", disable=not cfg.progress,
                          file=sys.stderr, leave=False):
            plan = plan_string(np.random.default_rng([cfg.seed, _SPLIT_CODE[split], index, 0]), own, cfg.join)
            path = out / split / f"joined_{index:05d}.wav"
            if not (reuse and path.is_file()):
                noise_rng = np.random.default_rng([cfg.seed, _SPLIT_CODE[split], index, 1])
                _write_wav(path, render(plan, trimmed, noise_rng))
                made += 1
            rows.append({"path": str(path), "text": plan.text, "duration": _duration(str(path)),
                         "speaker": plan.speaker, "sources": plan.sources, "kind": "joined"})
        write_manifest(out / f"{split}.tsv", rows)
        hours = sum(r["duration"] for r in rows) / 3600
        summary[split] = {"isolated": len(own), "joined": count, "written": made, "hours": hours}
    stamp_path.write_text(json.dumps({"stamp": stamp, "summary": summary}, indent=2) + "\n")
    return summary


def make_samples(cfg: FsddConfig, folder: Path, isolated: int = 3, joined: int = 3) -> list[dict]:
    """A few demo wavs from the test takes only: isolated takes of different speakers + short strings."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    test = [t for t in scan_recordings(Path(cfg.src)) if split_of(t) == "test"]
    rng = np.random.default_rng([cfg.seed, _SAMPLES_CODE])
    speakers = sorted({t.speaker for t in test})
    order = [speakers[i] for i in rng.permutation(len(speakers))]
    rows = []
    for speaker in order[:isolated]:
        mine = [t for t in test if t.speaker == speaker]
        take = mine[int(rng.integers(len(mine)))]
        target = folder / f"{take.name}.wav"
        shutil.copyfile(take.path, target)
        rows.append({"path": str(target), "text": WORDS[take.digit], "sources": take.name})
    trimmed = _Trimmed(cfg.join)
    for i in range(joined):
        speaker = order[(isolated + i) % len(order)]
        plan = plan_string(rng, test, cfg.join, speaker=speaker, digits=(3, 5))
        target = folder / f"joined_{i + 1}_{speaker}.wav"
        _write_wav(target, render(plan, trimmed, rng))
        rows.append({"path": str(target), "text": plan.text, "sources": plan.sources})
    write_manifest(folder / "references.tsv", rows)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--src", type=Path, default=None,
                        help="FSDD folder (default: $RECOGNIZER_SHARED_DATA/fsdd, else <repo>/../shared/data/fsdd)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/data/fsdd)")
    parser.add_argument("--joined-train", type=int, default=3000, help="joined strings in train (default: %(default)s)")
    parser.add_argument("--joined-dev", type=int, default=200, help="joined strings in dev (default: %(default)s)")
    parser.add_argument("--joined-test", type=int, default=250, help="joined strings in test (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--samples", type=Path, default=None, metavar="DIR",
                        help="write only the 6 demo samples (from test takes) into DIR, not the corpus")


def run(args: argparse.Namespace) -> int:
    """``args.shared_data`` and ``args.repo`` are set by the command line's entry point."""
    cfg = FsddConfig(src=args.src or args.shared_data / "fsdd", out=args.out or args.repo / "data" / "fsdd",
                     seed=args.seed, joined={"train": args.joined_train, "dev": args.joined_dev, "test": args.joined_test})
    if args.samples is not None:
        rows = make_samples(cfg, args.samples)
        print(f"samples: {len(rows)} wavs in {args.samples}")
        return 0
    for split, s in compose(cfg).items():
        print(f"{split}: {s['isolated'] + s['joined']} utterances ({s['isolated']} isolated, {s['joined']} joined,"
              f" {s['written']} newly written), {s['hours']:.2f} h -> {Path(cfg.out) / (split + '.tsv')}")
    return 0
