"""Line images with .gt.txt transcripts (ocropy, kraken, Calamari)."""
from __future__ import annotations

from conftest import draw_line

from data_prep.__main__ import main
from data_prep.manifest import read_manifest


def test_gt_txt_pairs(tmp_path, capsys):
    book = tmp_path / "book" / "0001"
    draw_line(book / "010001.bin.png", seed=1)
    draw_line(book / "010001.nrm.png", seed=2)
    (book / "010001.gt.txt").write_text("ocropy  line\n")
    draw_line(tmp_path / "book" / "kraken.jpg", seed=3)
    (tmp_path / "book" / "kraken.gt.txt").write_text("\ufeffkraken line")
    (tmp_path / "book" / "orphan.gt.txt").write_text("no image")
    (tmp_path / "book" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    (tmp_path / "book" / "bad.gt.txt").write_text("broken image")
    out = tmp_path / "gt.tsv"
    assert main(["import", "gt-txt", str(tmp_path / "book"), "--out", str(out), "--no-progress"]) == 0
    entries = {e.text: e.path for e in read_manifest(out)}
    assert entries == {"ocropy line": str(book / "010001.bin.png"),
                       "kraken line": str(tmp_path / "book" / "kraken.jpg")}
    err = capsys.readouterr().err
    assert "no image for the transcript" in err and "unreadable image" in err
    assert main(["import", "gt-txt", str(tmp_path / "book"), "--image-suffix", ".nrm.png", "--out", str(out),
                 "--no-progress"]) == 0
    assert [e.path for e in read_manifest(out)] == [str(book / "010001.nrm.png")]
