"""Audio files with .txt or .lab transcripts beside them."""
from __future__ import annotations

from conftest import write_sine

from data_prep.__main__ import main
from data_prep.manifest import read_manifest


def test_audio_folder_txt_and_lab(tmp_path, capsys):
    src = tmp_path / "corpus"
    write_sine(src / "a.wav")
    (src / "a.txt").write_text("first one\n")
    write_sine(src / "sub" / "b.wav")
    (src / "sub" / "b.lab").write_text("second\tone")
    write_sine(src / "c.wav")
    (src / "notes.txt").write_text("no audio")
    out = tmp_path / "m.jsonl"
    assert main(["import", "audio-folder", str(src), "--out", str(out), "--no-progress"]) == 0
    assert sorted(e.text for e in read_manifest(out)) == ["first one", "second one"]
    err = capsys.readouterr().err
    assert "no transcript file" in err and "c.wav" in err
    assert main(["import", "audio-folder", str(src), "--transcript", "lab", "--out", str(out), "--no-progress"]) == 0
    assert [e.text for e in read_manifest(out)] == ["second one"]
