"""The synthesis command: split hygiene (held-out voices only in test), resume, manifests, errors.

A fake engine writes tones, so these tests need no TTS program; tests/data_prep/test_tts.py renders
with the real engines where they are installed.
"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from data_prep import synth_speech
from data_prep.__main__ import main
from data_prep.manifest import read_manifest
from data_prep.tts import Engine, Prosody

TEXTS = [("sentence", f"sentence number {i}") for i in range(40)]


class ToneEngine(Engine):
    """Writes a tone whose length follows the text and the rate; fails on the word 'broken'."""

    name = "tone"
    calls = 0

    def available(self) -> bool:
        return True

    def voice_names(self) -> list[str]:
        return ["low", "mid", "high", "odd"]

    def render(self, voice: str, text: str, prosody: Prosody, path: str) -> None:
        ToneEngine.calls += 1
        if "broken" in text:
            raise RuntimeError("engine crashed")
        rate = 22050
        n = int(0.05 * len(text) / prosody.rate * rate)
        freq = {"low": 120, "mid": 200, "high": 300, "odd": 450}[voice]
        sf.write(path, 0.3 * np.sin(2 * np.pi * freq * np.arange(n) / rate), rate, subtype="PCM_16")


@pytest.fixture
def tone(monkeypatch):
    monkeypatch.setattr(synth_speech, "installed_engines", lambda: {"tone": ToneEngine()})
    monkeypatch.setattr(synth_speech, "speech_texts", lambda count, seed: TEXTS[:count])
    ToneEngine.calls = 0


def _plan(**kwargs):
    options = dict(count=30, dev=5, test=5, voices=["tone:low", "tone:mid", "tone:high", "tone:odd"],
                   holdout=("tone:odd",), seed=1, engine_weights={}, texts=TEXTS)
    return synth_speech.plan(**{**options, **kwargs})


def test_plan_keeps_held_out_voices_and_test_texts_apart():
    jobs = _plan().jobs
    by_split = {split: [job for job in jobs if job.split == split] for split in ("train", "dev", "test")}
    assert {split: len(items) for split, items in by_split.items()} == {"train": 30, "dev": 5, "test": 5}
    assert {job.voice for job in by_split["test"]} == {"tone:odd"}
    assert "tone:odd" not in {job.voice for job in by_split["train"] + by_split["dev"]}
    texts = {split: {job.text for job in items} for split, items in by_split.items()}
    assert not texts["test"] & (texts["train"] | texts["dev"]) and not texts["dev"] & texts["train"]
    assert all(0.8 <= job.rate <= 1.3 for job in jobs)
    assert _plan().fingerprint() == _plan().fingerprint() != _plan(seed=2).fingerprint()


def test_plan_refuses_impossible_hold_outs():
    with pytest.raises(ValueError, match="every installed voice is held out"):
        _plan(holdout=("tone:*",))
    with pytest.raises(ValueError, match="no installed voice matches"):
        _plan(holdout=("espeak-ng:*",))


def test_command_renders_resumes_and_writes_manifests(tone, tmp_path):
    out = tmp_path / "corpus"
    args = ["synth-speech", "--out", str(out), "--count", "20", "--dev", "4", "--test", "4",
            "--holdout", "tone:odd", "--workers", "1"]
    assert main(args) == 0
    rendered = ToneEngine.calls
    assert rendered == 28
    train = read_manifest(out / "train.tsv")
    test = read_manifest(out / "test.tsv")
    assert len(train) == 20 and len(test) == 4
    assert {e.extra["speaker"] for e in test} == {"tone:odd"}
    audio, rate = sf.read(train[0].path)
    assert rate == synth_speech.SAMPLE_RATE and audio.ndim == 1
    assert float(train[0].extra["duration"]) == pytest.approx(len(audio) / rate, abs=1e-3)
    (out / "wavs" / "train" / "000003.wav").unlink()  # an interrupted run: one file missing
    assert main(args) == 0
    assert ToneEngine.calls == rendered + 1  # only the missing file is rendered again
    assert main(args[:-4] + ["--seed", "9", "--workers", "1"]) == 2  # other plan, same folder: refused


def test_failed_renders_are_reported_and_left_out(tone, monkeypatch, tmp_path, capsys):
    texts = TEXTS[:10] + [("sentence", "a broken one")]
    monkeypatch.setattr(synth_speech, "speech_texts", lambda count, seed: texts[:count])
    out = tmp_path / "corpus"
    code = main(["synth-speech", "--out", str(out), "--count", "11", "--dev", "0", "--test", "0",
                 "--holdout", "--workers", "1"])
    assert code == 1
    assert "engine crashed" in capsys.readouterr().err
    assert len(read_manifest(out / "train.tsv")) == 10


def test_list_voices(tone, capsys):
    assert main(["synth-speech", "--out", "unused", "--list-voices"]) == 0
    assert capsys.readouterr().out.split() == ["tone:low", "tone:mid", "tone:high", "tone:odd"]
