"""Padded takes: silences of the asked length, room tone at the asked SNR, bad files skipped."""
from __future__ import annotations

import numpy as np
import pytest

from data_prep.__main__ import main
from data_prep.audio import audio_duration, load_audio, save_audio
from data_prep.manifest import read_manifest, write_manifest
from data_prep.pad_takes import SAMPLE_RATE, pad_take


def _tone(seconds: float, rate: int = SAMPLE_RATE, freq: float = 300.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _power(y: np.ndarray) -> float:
    return float(np.mean(np.square(y, dtype=np.float64)))


@pytest.mark.parametrize("snr_db", [10.0, 30.0])
def test_pad_take_has_its_silences_and_snr(snr_db):
    speech = _tone(0.8)
    take = pad_take(speech, np.random.default_rng(0), seconds=0.5, snr_db=snr_db)
    pad = SAMPLE_RATE // 2
    assert take.dtype == np.float32 and len(take) == len(speech) + 2 * pad
    noise = take.copy()
    noise[pad:pad + len(speech)] -= speech
    assert 10 * np.log10(_power(speech) / _power(noise)) == pytest.approx(snr_db, abs=0.01)
    # the same tone before, under and after: the silences are as loud as the noise in the speech
    levels = [_power(part) for part in (noise[:pad], noise[pad:pad + len(speech)], noise[-pad:])]
    assert max(levels) / min(levels) < 2.0
    again = pad_take(speech, np.random.default_rng(0), seconds=0.5, snr_db=snr_db)
    np.testing.assert_array_equal(take, again)


def test_digital_silence_gets_no_noise():
    take = pad_take(np.zeros(100, np.float32), np.random.default_rng(0), seconds=0.01, snr_db=30.0)
    assert len(take) == 100 + 2 * 160 and not take.any()


def test_command_pads_a_manifest_and_skips_a_bad_file(tmp_path, capsys):
    save_audio(tmp_path / "a.wav", _tone(0.5), SAMPLE_RATE)
    stereo = np.stack([_tone(0.7, 8000), _tone(0.7, 8000, 500.0)], axis=1)
    save_audio(tmp_path / "b.wav", stereo, 8000)  # another rate, two channels
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    rows = [{"path": str(tmp_path / name), "text": text, "speaker": who, "duration": 0.5}
            for name, text, who in [("a.wav", "one", "x"), ("broken.wav", "two", "y"), ("b.wav", "three", "z")]]
    write_manifest(tmp_path / "test.tsv", rows)
    out = tmp_path / "padded"
    assert main(["pad-takes", str(tmp_path / "test.tsv"), "--out", str(out), "--seconds", "1"]) == 0
    err = capsys.readouterr().err
    assert f"skipped {tmp_path / 'broken.wav'}: " in err and "2 recordings" in err
    entries = read_manifest(out / "test.tsv")
    assert [(e.text, e.extra["speaker"]) for e in entries] == [("one", "x"), ("three", "z")]
    assert [audio_duration(e.path) for e in entries] == pytest.approx([2.5, 2.7], abs=1e-3)
    assert [float(e.extra["duration"]) for e in entries] == pytest.approx([2.5, 2.7], abs=1e-3)
    first = [load_audio(e.path, SAMPLE_RATE) for e in entries]
    assert main(["pad-takes", str(tmp_path / "test.tsv"), "--out", str(out), "--seconds", "1"]) == 0
    for path, before in zip((e.path for e in read_manifest(out / "test.tsv")), first):
        np.testing.assert_array_equal(load_audio(path, SAMPLE_RATE), before)  # seeded per row
    assert main(["pad-takes", str(tmp_path / "test.tsv"), "--out", str(out), "--seconds", "-1"]) == 2
