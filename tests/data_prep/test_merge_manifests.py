"""Merging manifests: rebased paths, random subsets, a source column."""
from __future__ import annotations

from data_prep.__main__ import main
from data_prep.manifest import read_manifest, write_manifest
from data_prep.merge_manifests import parse_input


def _manifest(folder, name, count):
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        (folder / f"{name}{i}.wav").write_bytes(b"")
        rows.append({"path": str(folder / f"{name}{i}.wav"), "text": f"{name} {i}", "speaker": name})
    write_manifest(folder / "list.tsv", rows)
    return folder / "list.tsv"


def test_merge_rebases_paths_and_takes_subsets(tmp_path):
    a = _manifest(tmp_path / "a", "alpha", 5)
    b = _manifest(tmp_path / "b", "beta", 10)
    out = tmp_path / "mix" / "train.tsv"
    assert main(["merge", str(a), f"{b}@4", "--out", str(out)]) == 0
    entries = read_manifest(out)  # checks that every rebased path exists
    assert len(entries) == 9
    sources = [e.extra["source"] for e in entries]
    assert sum("a" in s.split("/")[-2:] for s in sources) == 5
    assert len({e.text for e in entries if e.extra["speaker"] == "beta"}) == 4
    again = tmp_path / "again.tsv"
    main(["merge", str(a), f"{b}@4", "--out", str(again)])
    assert [e.text for e in read_manifest(again)] == [e.text for e in entries]  # seeded


def test_parse_input_keeps_paths_that_contain_an_at_sign(tmp_path):
    odd = tmp_path / "x@3"
    odd.write_text("")
    assert parse_input(str(odd)) == (str(odd), None)
    assert parse_input("data/a.tsv@300") == ("data/a.tsv", 300)
