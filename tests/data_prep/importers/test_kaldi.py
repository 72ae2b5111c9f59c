"""Kaldi data folders: wav.scp + text, segments cut to new files, pipes and archives refused."""
from __future__ import annotations

import numpy as np
import soundfile as sf
from conftest import write_sine

from data_prep.__main__ import main
from data_prep.manifest import read_manifest


def _data_dir(tmp_path):
    recipe = tmp_path / "s5"
    data = recipe / "data" / "train"
    data.mkdir(parents=True)
    write_sine(recipe / "wav" / "rec1.wav", 3.0, 300.0)
    write_sine(tmp_path / "abs" / "rec2.wav", 1.0, 400.0)
    (data / "wav.scp").write_text(
        "rec1 wav/rec1.wav\n"
        f"rec2 {tmp_path / 'abs' / 'rec2.wav'}\n"
        "rec3 sox /corpus/rec3.sph -t wav - |\n"
        "rec4 /corpus/feats.ark:1234\n")
    (data / "utt2spk").write_text("spkA-1 spkA\nspkA-2 spkA\nspkB-1 spkB\n")
    return data


def test_kaldi_without_segments(tmp_path, capsys):
    data = _data_dir(tmp_path)
    (data / "text").write_text("rec1 the first recording\nrec2 the second\nrec3 piped\nrec4 archived\nrec5 nowhere\n")
    out = tmp_path / "k.tsv"
    assert main(["import", "kaldi", str(data), "--out", str(out), "--no-progress"]) == 0
    entries = read_manifest(out)
    assert [e.text for e in entries] == ["the first recording", "the second"]
    assert abs(entries[0].duration - 3.0) < 1e-3
    err = capsys.readouterr().err
    for reason in ("wav.scp entry is a command (not run)", "wav.scp entry points into an archive",
                   "recording not in wav.scp"):
        assert reason in err


def test_kaldi_segments_are_cut(tmp_path, capsys):
    data = _data_dir(tmp_path)
    (data / "segments").write_text(
        "spkA-1 rec1 0.50 1.25\nspkA-2 rec1 2.00 -1\nspkB-1 rec2 0.0 0.5\nspkB-2 rec3 0 1\nspkB-3 rec1 9.0 10.0\n")
    (data / "text").write_text("spkA-1 one\nspkA-2 two\nspkB-1 three\nspkB-2 four\nspkB-3 five\nspkC-1 six\n")
    out = tmp_path / "out" / "train.tsv"
    assert main(["import", "kaldi", str(data), "--out", str(out), "--no-progress"]) == 0
    entries = {e.text: e for e in read_manifest(out)}
    assert sorted(entries) == ["one", "three", "two"]
    assert entries["one"].extra["speaker"] == "spkA" and entries["one"].extra["recording"] == "rec1"
    assert entries["one"].path == str(tmp_path / "out" / "train" / "spkA-1.wav")
    assert abs(entries["one"].duration - 0.75) < 1e-3
    assert abs(entries["two"].duration - 1.0) < 1e-3  # end -1: to the end of the 3 s recording
    original, rate = sf.read(tmp_path / "s5" / "wav" / "rec1.wav", dtype="float32")
    cut, _ = sf.read(entries["one"].path, dtype="float32")
    assert np.allclose(cut, original[round(0.5 * rate): round(1.25 * rate)], atol=1e-4)
    err = capsys.readouterr().err
    for reason in ("wav.scp entry is a command", "segment outside its recording", "no segment for the utterance"):
        assert reason in err
