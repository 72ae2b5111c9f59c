"""Cutting a span of a recording: exact samples, channels kept, spans past the end refused."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from conftest import write_sine

from data_prep.importers.common import Skip
from data_prep.importers.segments import cut_segment


def test_cut_keeps_samples_rate_and_channels(tmp_path):
    src = write_sine(tmp_path / "stereo.wav", 1.0, 300.0, rate=16000, channels=2)
    row = cut_segment(src, 0.25, None, tmp_path / "out" / "piece.wav")
    cut, rate = sf.read(row["path"], dtype="float32", always_2d=True)
    original, _ = sf.read(src, dtype="float32", always_2d=True)
    assert rate == 16000 and cut.shape == (12000, 2) and row["duration"] == 0.75
    assert np.array_equal(cut, original[4000:])


def test_spans_outside_or_empty_are_skipped(tmp_path):
    src = write_sine(tmp_path / "a.wav", 0.5)
    with pytest.raises(Skip, match="outside"):
        cut_segment(src, 0.6, 0.8, tmp_path / "x.wav")
    with pytest.raises(Skip, match="empty segment"):
        cut_segment(src, 0.2, 0.2, tmp_path / "x.wav")
    with pytest.raises(Skip, match="unreadable"):
        (tmp_path / "bad.wav").write_text("no")
        cut_segment(tmp_path / "bad.wav", 0, 1, tmp_path / "x.wav")
