"""Common Voice import: the split's TSV, mp3 clips, literal quotes, client_id as speaker."""
from __future__ import annotations

import numpy as np
import soundfile as sf

from data_prep.__main__ import main
from data_prep.manifest import read_manifest

HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment\n"


def _mp3(path, seconds=0.5):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * 16000)) / 16000
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)


def test_common_voice_split(tmp_path, capsys):
    lang = tmp_path / "cv-corpus" / "en"
    _mp3(lang / "clips" / "common_voice_en_1.mp3")
    _mp3(lang / "clips" / "common_voice_en_2.mp3", 0.8)
    (lang / "clips" / "common_voice_en_3.mp3").write_bytes(b"")
    (lang / "train.tsv").write_text(
        HEADER
        + 'abc\tcommon_voice_en_1.mp3\tShe said "hello".\t2\t0\t\t\t\ten\t\n'
        + "def\tcommon_voice_en_2.mp3\tSecond   sentence\t3\t1\ttwenties\tfemale\t\ten\t\n"
        + "ghi\tcommon_voice_en_3.mp3\tEmpty file\t2\t0\t\t\t\ten\t\n"
        + "ghi\tcommon_voice_en_4.mp3\tNo file\t2\t0\t\t\t\ten\t\n")
    (lang / "validated.tsv").write_text(HEADER + "x\tcommon_voice_en_1.mp3\tonly validated\t2\t0\t\t\t\ten\t\n")
    out = tmp_path / "cv.tsv"
    assert main(["import", "common-voice", str(lang), "--out", str(out), "--no-progress"]) == 0
    entries = read_manifest(out)
    assert [e.text for e in entries] == ['She said "hello".', "Second sentence"]
    assert [e.extra["speaker"] for e in entries] == ["abc", "def"]
    assert entries[1].extra["gender"] == "female"
    assert abs(entries[1].duration - 0.8) < 0.05
    err = capsys.readouterr().err
    assert "unreadable clip" in err and "missing clip" in err
    assert main(["import", "common-voice", str(lang), "--split", "validated", "--out", str(out), "--no-progress"]) == 0
    assert [e.text for e in read_manifest(out)] == ["only validated"]


def test_common_voice_unknown_split_names_the_tsvs(tmp_path, capsys):
    (tmp_path / "train.tsv").write_text(HEADER)
    assert main(["import", "common-voice", str(tmp_path), "--split", "other", "--out", str(tmp_path / "x.tsv")]) == 2
    assert "train" in capsys.readouterr().err
