"""DeepSpeech CSV import: relative and absolute paths, missing and unreadable audio."""
from __future__ import annotations

from conftest import write_sine

from data_prep.__main__ import main
from data_prep.manifest import read_manifest


def test_deepspeech_csv(tmp_path, capsys):
    data = tmp_path / "ds"
    write_sine(data / "clips" / "a.wav", 0.5)
    write_sine(tmp_path / "elsewhere" / "b.wav", 0.25)
    (data / "clips" / "broken.wav").write_text("not audio")
    (data / "train.csv").write_text(
        "wav_filename,wav_filesize,transcript\n"
        "clips/a.wav,8044,hello  world\n"
        f"{tmp_path / 'elsewhere' / 'b.wav'},4044,\"second, with comma\"\n"
        "clips/missing.wav,100,gone\n"
        "clips/broken.wav,9,broken\n")
    out = tmp_path / "out.tsv"
    assert main(["import", "deepspeech", str(data / "train.csv"), "--out", str(out), "--no-progress"]) == 0
    entries = read_manifest(out)
    assert [e.text for e in entries] == ["hello world", "second, with comma"]
    assert [round(e.duration, 2) for e in entries] == [0.5, 0.25]
    err = capsys.readouterr().err
    assert "missing audio" in err and "missing.wav" in err
    assert "unreadable audio" in err and "broken.wav" in err


def test_deepspeech_header_must_name_columns(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("file,text\na.wav,x\n")
    assert main(["import", "deepspeech", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o.tsv")]) == 2
    assert "wav_filename" in capsys.readouterr().err
