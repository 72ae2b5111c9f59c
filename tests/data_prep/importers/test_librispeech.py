"""LibriSpeech import: trans.txt per chapter, flac audio, speaker from the id."""
from __future__ import annotations

import numpy as np
import soundfile as sf

from data_prep.__main__ import main
from data_prep.manifest import read_manifest


def _flac(path, seconds):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 16000)) / 16000
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, format="FLAC")


def test_librispeech_chapters(tmp_path, capsys):
    root = tmp_path / "LibriSpeech" / "dev-clean"
    chapter = root / "84" / "121123"
    _flac(chapter / "84-121123-0000.flac", 0.4)
    _flac(chapter / "84-121123-0001.flac", 0.3)
    (chapter / "84-121123.trans.txt").write_text(
        "84-121123-0000 GO DO YOU HEAR\n84-121123-0001 BUT IN LESS THAN FIVE MINUTES\n84-121123-0002 LOST\n")
    other = root / "174" / "50561"
    _flac(other / "174-50561-0000.flac", 0.2)
    (other / "174-50561.trans.txt").write_text("174-50561-0000 FORGOTTEN TOO\n")
    out = tmp_path / "ls.tsv"
    assert main(["import", "librispeech", str(tmp_path / "LibriSpeech"), "--out", str(out), "--no-progress"]) == 0
    entries = sorted(read_manifest(out), key=lambda e: e.path)
    assert [e.text for e in entries] == ["FORGOTTEN TOO", "GO DO YOU HEAR", "BUT IN LESS THAN FIVE MINUTES"]
    assert [e.extra["speaker"] for e in entries] == ["174", "84", "84"]
    assert abs(entries[1].duration - 0.4) < 1e-3
    err = capsys.readouterr().err
    assert "missing audio" in err and "84-121123-0002" in err


def test_librispeech_without_transcripts_is_an_error(tmp_path, capsys):
    assert main(["import", "librispeech", str(tmp_path), "--out", str(tmp_path / "x.tsv")]) == 2
    assert "trans.txt" in capsys.readouterr().err
