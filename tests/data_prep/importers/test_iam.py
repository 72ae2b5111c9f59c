"""IAM lines.txt import: | between words, err lines skipped unless asked, images by id."""
from __future__ import annotations

from conftest import draw_line

from data_prep.__main__ import main
from data_prep.manifest import read_manifest

LINES = """#--- lines.txt ---------------------------------------------------------------#
#
# format: a01-000u-00 ok 154 19 408 746 1663 91 A|MOVE|to|stop|Mr.|Gaitskell|from
#
a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from
a01-000u-01 err 156 19 395 932 1850 105 nominating|any|more|Labour|life|Peers
a01-000u-02 ok 157 16 408 1106 1986 64 is|to|be|made|at|a|meeting|of|Labour
a01-000x-00 ok 157 16 408 1106 1986 64 no|image
broken line
"""


def _iam(tmp_path):
    root = tmp_path / "iam"
    (root / "ascii").mkdir(parents=True)
    (root / "ascii" / "lines.txt").write_text(LINES)
    for n in range(3):
        draw_line(root / "lines" / "a01" / "a01-000u" / f"a01-000u-0{n}.png", "ab ab", seed=n)
    return root


def test_iam_lines(tmp_path, capsys):
    root = _iam(tmp_path)
    out = tmp_path / "iam.tsv"
    assert main(["import", "iam", str(root), "--out", str(out), "--no-progress"]) == 0
    entries = read_manifest(out)
    assert [e.text for e in entries] == ["A MOVE to stop Mr. Gaitskell from", "is to be made at a meeting of Labour"]
    assert entries[0].extra["id"] == "a01-000u-00"
    err = capsys.readouterr().err
    for reason in ("segmentation marked err", "missing image", "malformed line"):
        assert reason in err


def test_iam_keep_err(tmp_path):
    root = _iam(tmp_path)
    out = tmp_path / "iam.tsv"
    assert main(["import", "iam", str(root / "ascii" / "lines.txt"), "--keep-err", "--images", str(root / "lines"),
                 "--out", str(out), "--no-progress"]) == 0
    entries = read_manifest(out)
    assert len(entries) == 3 and entries[1].extra["segmentation"] == "err"
