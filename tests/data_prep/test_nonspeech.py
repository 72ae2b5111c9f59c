"""Non-speech clips: every kind at its length and level, reproducible, empty transcripts, split apart."""
from __future__ import annotations

import numpy as np
import pytest

from data_prep.__main__ import main
from data_prep.audio import load_audio
from data_prep.manifest import read_manifest
from data_prep.nonspeech import KINDS, PEAK_DBFS, SAMPLE_RATE, make_clip


def _peak_dbfs(clip: np.ndarray) -> float:
    return 20 * np.log10(np.abs(clip).max())


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_has_its_length_and_level_and_repeats_per_seed(kind):
    for seed in range(3):
        clip = make_clip(np.random.default_rng(seed), kind, 1.3)
        assert clip.dtype == np.float32 and len(clip) == round(1.3 * SAMPLE_RATE)
        low, high = (-90.0, -70.0) if kind == "silence" else PEAK_DBFS
        assert low - 0.01 <= _peak_dbfs(clip) <= high + 0.01
        np.testing.assert_array_equal(clip, make_clip(np.random.default_rng(seed), kind, 1.3))
    assert not np.array_equal(make_clip(np.random.default_rng(0), kind, 1.3),
                              make_clip(np.random.default_rng(1), kind, 1.3))


def test_kinds_sound_different():
    """Hum is mostly its mains frequency, beeps have gaps, clicks are bursts over hiss."""
    spectrum = np.abs(np.fft.rfft(make_clip(np.random.default_rng(0), "hum", 2.0)))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / (2 * (len(spectrum) - 1))
    assert min(abs(peak_hz - base * k) for base in (50, 60) for k in range(1, 9)) < 1.0
    beeps = np.abs(make_clip(np.random.default_rng(0), "beeps", 4.0))
    windows = beeps[: len(beeps) // 160 * 160].reshape(-1, 160).max(axis=1)  # 10 ms
    assert (windows < 1e-6).mean() > 0.05 and (windows > 0.1 * beeps.max()).mean() > 0.05
    clicks = np.abs(make_clip(np.random.default_rng(0), "clicks", 4.0))
    assert np.percentile(clicks, 99.9) > 10 * np.median(clicks)


def test_command_writes_splits_with_empty_transcripts(tmp_path, capsys):
    out = tmp_path / "ns"
    assert main(["nonspeech", "--out", str(out), "--train", "13", "--dev", "2", "--test", "6"]) == 0
    assert "13 train, 2 dev, 6 test clips" in capsys.readouterr().err
    splits = {split: read_manifest(out / f"{split}.tsv") for split in ("train", "dev", "test")}
    assert [len(entries) for entries in splits.values()] == [13, 2, 6]
    train = splits["train"]
    assert all(e.text == "" for entries in splits.values() for e in entries)
    assert [e.extra["kind"] for e in train] == [list(KINDS)[i % len(KINDS)] for i in range(13)]
    for e in train[:4]:
        audio = load_audio(e.path, SAMPLE_RATE)
        assert len(audio) / SAMPLE_RATE == pytest.approx(float(e.extra["duration"]), abs=1e-3)
        assert 0.5 <= len(audio) / SAMPLE_RATE <= 8.0
    # the splits never share a clip, and a rerun writes the same ones
    first = {split: [load_audio(e.path, SAMPLE_RATE) for e in entries] for split, entries in splits.items()}
    assert not any(np.array_equal(a, b) for a in first["train"] for b in first["test"] if len(a) == len(b))
    assert main(["nonspeech", "--out", str(out), "--train", "13", "--dev", "2", "--test", "6"]) == 0
    for split, entries in splits.items():
        for clip, e in zip(first[split], read_manifest(out / f"{split}.tsv")):
            np.testing.assert_array_equal(clip, load_audio(e.path, SAMPLE_RATE))


def test_negative_counts_are_refused(tmp_path, capsys):
    assert main(["nonspeech", "--out", str(tmp_path), "--test", "-1"]) == 2
    assert "clip counts must be >= 0" in capsys.readouterr().err
