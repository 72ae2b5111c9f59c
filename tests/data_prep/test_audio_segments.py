"""Cutting long audio at pauses and reading pieces by seeking."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from data_prep.audio import load_audio
from data_prep.audio_segments import frame_energy, pause_segments, read_span
from data_prep.errors import InputError

RATE = 16000


def _bursts(path, pauses, rate=RATE, channels=1):
    """Tone bursts of 4 s separated by silences at the given times (seconds): returns the pause centres."""
    rng = np.random.default_rng(0)
    pieces, centres, t = [], [], 0.0
    for pause in pauses:
        n = 4 * rate
        pieces.append(0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / rate) + 0.01 * rng.standard_normal(n))
        t += 4.0
        pieces.append(0.0005 * rng.standard_normal(int(pause * rate)))
        centres.append(t + pause / 2)
        t += pause
    y = np.concatenate(pieces).astype(np.float32)
    sf.write(path, np.stack([y] * channels, axis=1) if channels > 1 else y, rate, subtype="PCM_16")
    return centres, len(y) / rate


def test_cuts_fall_in_pauses_and_cover_the_file(tmp_path):
    path = str(tmp_path / "long.wav")
    centres, total = _bursts(path, [0.5] * 12)
    segments = pause_segments(path, max_seconds=10.0, search_seconds=5.0)
    assert segments[0][0] == 0.0 and segments[-1][1] == pytest.approx(total)
    assert all(a[1] == b[0] for a, b in zip(segments, segments[1:]))  # contiguous, no overlap
    assert all(end - start <= 10.0 + 1e-9 for start, end in segments)
    for _, cut in segments[:-1]:
        assert min(abs(cut - c) for c in centres) < 0.25  # inside a 0.5 s pause


def test_short_file_is_one_segment(tmp_path):
    path = str(tmp_path / "short.wav")
    _, total = _bursts(path, [0.3])
    assert pause_segments(path, max_seconds=30.0) == [(0.0, pytest.approx(total))]


def test_read_span_equals_the_same_span_of_the_whole_file(tmp_path):
    path = str(tmp_path / "stereo.wav")
    _bursts(path, [0.4, 0.4], rate=44100, channels=2)
    whole = load_audio(path, 16000)
    piece = read_span(path, 2.0, 5.0, 16000)
    assert len(piece) == 3 * 16000
    # resampling a piece on its own differs from the whole only within a few ms of its edges
    np.testing.assert_allclose(piece[200:-200], whole[32000 + 200:80000 - 200], atol=2e-3)


def test_energy_has_one_value_per_10_ms(tmp_path):
    path = str(tmp_path / "e.wav")
    _, total = _bursts(path, [1.0])
    energy = frame_energy(path, block_seconds=0.37)  # block edges must not matter
    assert len(energy) == int(np.ceil(total / 0.01))
    assert energy[100] > energy[450] + 5  # tone vs pause, in log units


def test_bad_files_raise_input_error(tmp_path):
    truncated = tmp_path / "cut.wav"
    _bursts(str(truncated), [0.5])
    truncated.write_bytes(truncated.read_bytes()[:20000])
    with pytest.raises(InputError, match="truncated"):
        pause_segments(str(truncated))
    with pytest.raises(InputError, match="file not found"):
        read_span(str(tmp_path / "missing.wav"), 0, 1, RATE)
