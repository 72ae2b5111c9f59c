import json
import os
from pathlib import Path

import pytest

from data_prep.errors import InputError
from data_prep.manifest import Entry, read_manifest, scan_manifest, write_manifest


@pytest.fixture
def data(tmp_path):
    """A dataset folder with three files (one in a sub-folder) and one file outside it."""
    folder = tmp_path / "set"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.wav", "b.wav", "sub/c.wav"):
        (folder / name).write_bytes(b"x")
    outside = tmp_path / "elsewhere" / "d.wav"
    outside.parent.mkdir()
    outside.write_bytes(b"x")
    return folder, outside


def test_tsv_relative_and_absolute_paths_and_extra_columns(data):
    folder, outside = data
    (folder / "m.tsv").write_text(
        "path\ttext\tspeaker\tduration\n"
        "a.wav\thello world\tann\t1.5\n"
        f"{outside}\tfar away\tbob\t\n"
        "sub/c.wav\tnested\tcy\t0.25\n", encoding="utf-8")
    entries = read_manifest(folder / "m.tsv")
    assert [Path(e.path) for e in entries] == [
        (folder / "a.wav").resolve(), outside, (folder / "sub/c.wav").resolve()]
    assert all(os.path.isabs(e.path) for e in entries)
    assert [e.text for e in entries] == ["hello world", "far away", "nested"]
    assert [e.line for e in entries] == [2, 3, 4]
    assert entries[0].extra == {"speaker": "ann", "duration": "1.5"}
    assert [e.duration for e in entries] == [1.5, None, 0.25]


def test_csv_with_quoted_commas(data):
    folder, _ = data
    (folder / "m.csv").write_text('path,text,speaker\na.wav,"one, two",x\nb.wav,three,y\n', encoding="utf-8")
    entries = read_manifest(folder / "m.csv")
    assert [e.text for e in entries] == ["one, two", "three"]
    assert entries[1].extra == {"speaker": "y"}


def test_relative_paths_resolve_against_manifest_folder_not_cwd(data, tmp_path, monkeypatch):
    folder, _ = data
    (folder / "m.tsv").write_text("path\ttext\na.wav\thi\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a.wav does not exist here
    entry, = read_manifest(Path("set") / "m.tsv")
    assert Path(entry.path) == (folder / "a.wav").resolve()


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".ndjson"])
def test_json_lines_with_blank_lines_and_extra_keys(data, suffix):
    folder, _ = data
    lines = [json.dumps({"path": "a.wav", "text": "héllo", "duration": 2, "tags": ["x"]}, ensure_ascii=False),
             "",
             json.dumps({"path": "b.wav", "text": "bye"})]
    (folder / f"m{suffix}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    entries = read_manifest(folder / f"m{suffix}")
    assert [e.text for e in entries] == ["héllo", "bye"]
    assert [e.line for e in entries] == [1, 3]
    assert entries[0].extra == {"duration": 2, "tags": ["x"]}
    assert entries[0].duration == 2.0


def test_json_text_that_is_a_number_becomes_a_string(data):
    folder, _ = data
    (folder / "m.jsonl").write_text(json.dumps({"path": "a.wav", "text": 42}) + "\n")
    assert read_manifest(folder / "m.jsonl")[0].text == "42"


def _error(path, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        read_manifest(path, **kwargs)
    return info.value


def test_header_missing_column_names_file_line_and_column(data):
    folder, _ = data
    (folder / "m.tsv").write_text("path\ttranscript\na.wav\thi\n")
    error = _error(folder / "m.tsv")
    assert error.line == 1
    assert str(error).startswith(f"{folder / 'm.tsv'}:1: ")
    assert "text" in error.problem and "transcript" in error.problem
    assert "\n" not in str(error)


def test_empty_manifest_file_reports_missing_header(data):
    folder, _ = data
    (folder / "m.csv").write_text("")
    error = _error(folder / "m.csv")
    assert error.line == 1 and "path" in error.problem and "text" in error.problem


def test_missing_file_names_manifest_line_and_file(data):
    folder, _ = data
    (folder / "m.tsv").write_text("path\ttext\na.wav\tok\nnope.wav\tgone\n")
    error = _error(folder / "m.tsv")
    assert (error.path, error.line) == (str(folder / "m.tsv"), 3)
    assert "nope.wav" in error.problem
    # without the file check the entry is kept
    assert len(read_manifest(folder / "m.tsv", check_files=False)) == 2


def test_bad_json_line_names_file_and_line(data):
    folder, _ = data
    (folder / "m.jsonl").write_text('{"path": "a.wav", "text": "x"}\n{"path": "b.wav", "text": \n')
    error = _error(folder / "m.jsonl")
    assert error.line == 2 and "JSON" in error.problem
    assert str(error).startswith(f"{folder / 'm.jsonl'}:2: ")


def test_json_line_that_is_not_an_object(data):
    folder, _ = data
    (folder / "m.jsonl").write_text('["a.wav", "x"]\n')
    assert _error(folder / "m.jsonl").line == 1


def test_row_with_too_many_cells(data):
    folder, _ = data
    (folder / "m.tsv").write_text("path\ttext\na.wav\tok\nb.wav\tone\ttwo\n")
    error = _error(folder / "m.tsv")
    assert error.line == 3
    assert "3 cells" in error.problem and "2 columns" in error.problem


def test_row_with_too_few_cells_is_missing_text(data):
    folder, _ = data
    (folder / "m.tsv").write_text("path\ttext\na.wav\n")
    error = _error(folder / "m.tsv")
    assert error.line == 2 and "text" in error.problem


@pytest.mark.parametrize("fmt", ["tsv", "jsonl"])
def test_empty_path(data, fmt):
    folder, _ = data
    if fmt == "tsv":
        (folder / "m.tsv").write_text("path\ttext\n  \tsilence\n")
    else:
        (folder / "m.jsonl").write_text(json.dumps({"path": "", "text": "silence"}) + "\n")
    error = _error(folder / f"m.{fmt}", check_files=False)
    assert error.line == (2 if fmt == "tsv" else 1) and "empty path" in error.problem


def test_line_numbers_count_physical_lines_with_multiline_cells(data):
    folder, _ = data
    # a quoted cell spanning two lines: the next row starts on physical line 4
    (folder / "m.csv").write_text('path,text\na.wav,"two\nlines"\nmissing.wav,x\n')
    error = _error(folder / "m.csv")
    assert error.line == 4


def test_missing_manifest(tmp_path):
    error = _error(tmp_path / "none.tsv")
    assert error.path == str(tmp_path / "none.tsv") and "not found" in error.problem


def test_scan_collects_all_problems_and_keeps_good_entries(data):
    folder, _ = data
    (folder / "m.jsonl").write_text("\n".join([
        json.dumps({"path": "a.wav", "text": "good one"}),
        json.dumps({"path": "gone.wav", "text": "missing file"}),
        json.dumps({"path": "b.wav"}),
        json.dumps({"path": " ", "text": "empty path"}),
        json.dumps({"path": "sub/c.wav", "text": "good two"}),
    ]) + "\n")
    entries, problems = scan_manifest(folder / "m.jsonl")
    assert [e.text for e in entries] == ["good one", "good two"]
    assert [p.line for p in problems] == [2, 3, 4]
    assert all(p.path == str(folder / "m.jsonl") for p in problems)
    assert "gone.wav" in problems[0].problem
    assert "text" in problems[1].problem
    assert "empty path" in problems[2].problem
    # read_manifest stops at (raises) the first of them
    assert _error(folder / "m.jsonl").line == 2


@pytest.mark.parametrize("name", ["out.csv", "out.jsonl"])
def test_tabs_round_trip_where_the_format_can_hold_them(data, name):
    folder, _ = data
    write_manifest(folder / name, [{"path": str(folder / "a.wav"), "text": "tab\there"}])
    assert read_manifest(folder / name)[0].text == "tab\there"


def test_tsv_refuses_a_cell_it_cannot_hold(data):
    folder, _ = data
    with pytest.raises(ValueError, match="tab or a line break"):
        write_manifest(folder / "out.tsv", [{"path": str(folder / "a.wav"), "text": "tab\there"}])
    assert not (folder / "out.tsv").exists()


@pytest.mark.parametrize("name", ["out.tsv", "out.csv", "out.jsonl"])
def test_write_read_round_trip(data, name):
    folder, outside = data
    rows = [
        {"path": str(folder / "a.wav"), "text": "comma, \"quote\" 'apostrophe'", "speaker": "ann"},
        {"path": str(folder / "sub" / "c.wav"), "text": "ünïcode", "speaker": "bob"},
        {"path": str(outside), "text": "outside", "speaker": "cy"},
    ]
    target = folder / name
    assert write_manifest(target, rows) == 3
    entries = read_manifest(target)
    assert [Path(e.path) for e in entries] == [Path(r["path"]).resolve() for r in rows]
    assert [e.text for e in entries] == [r["text"] for r in rows]
    assert [e.extra["speaker"] for e in entries] == ["ann", "bob", "cy"]
    assert not list(folder.glob("*.tmp"))


def test_write_uses_relative_paths_under_manifest_folder(data, tmp_path):
    folder, outside = data
    rows = [{"path": str(folder / "sub" / "c.wav"), "text": "in"}, {"path": str(outside), "text": "out"}]
    write_manifest(folder / "m.jsonl", rows)
    written = [json.loads(line) for line in (folder / "m.jsonl").read_text().splitlines()]
    assert written[0]["path"] == os.path.join("sub", "c.wav")
    assert written[1]["path"] == str(outside.resolve())
    # the dataset folder can move: relative entries still resolve
    moved = tmp_path / "moved"
    folder.rename(moved)
    entry = read_manifest(moved / "m.jsonl", check_files=False)[0]
    assert Path(entry.path) == (moved / "sub" / "c.wav").resolve()


def test_write_does_not_modify_callers_rows(data):
    folder, _ = data
    rows = [{"path": str(folder / "a.wav"), "text": "x"}]
    write_manifest(folder / "m.tsv", rows)
    assert rows[0]["path"] == str(folder / "a.wav")


def test_write_reads_back_rows_from_entries(data):
    folder, _ = data
    (folder / "m.tsv").write_text("path\ttext\tspeaker\na.wav\thi\tann\n")
    entries = read_manifest(folder / "m.tsv")
    write_manifest(folder / "copy.tsv", [{"path": e.path, "text": e.text, **e.extra} for e in entries])
    assert read_manifest(folder / "copy.tsv") == [
        Entry(path=entries[0].path, text="hi", line=2, extra={"speaker": "ann"})]


def test_tsv_cells_are_literal(data):
    folder, _ = data
    (folder / "m.tsv").write_text('path\ttext\na.wav\t"Hi," she said\n', encoding="utf-8")
    assert read_manifest(folder / "m.tsv")[0].text == '"Hi," she said'
