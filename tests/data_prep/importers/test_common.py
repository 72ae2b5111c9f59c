"""The shared import loop: text tidying, skips by reason, the dev split."""
from __future__ import annotations

import types
from pathlib import Path

import pytest
from conftest import write_sine

from data_prep.errors import InputError
from data_prep.importers.common import (
    GROUP,
    ImportConfig,
    Skip,
    run_import,
    split_dev,
    tidy_text,
)
from data_prep.manifest import read_manifest


def test_tidy_text_collapses_whitespace_and_keeps_case():
    assert tidy_text("  Hello\t\tWorld \n") == "Hello World"
    assert tidy_text("Cafe\u0301\u00a0Noir", lowercase=True) == "caf\u00e9 noir"  # NFC, NBSP is whitespace


def _fake_module(tmp_path: Path) -> types.ModuleType:
    """An importer whose items are names: 'ok-N' rows, 'skip' skips, 'boom' fails, 'blank' has no text."""
    write_sine(tmp_path / "a.wav")

    def convert(item, job):
        if item == "skip":
            raise Skip("not wanted", item)
        if item == "boom":
            raise RuntimeError("unexpected")
        if item == "bad":
            raise InputError(tmp_path / "bad.wav", "not a readable audio file")
        if item == "mixed":
            yield Skip("half skipped", "mixed/1")
        yield {"path": tmp_path / "a.wav", "text": "" if item == "blank" else f"  {item}  x ", GROUP: item[:4]}

    return types.SimpleNamespace(list_items=lambda src, config: ["ok-1", "skip", "boom", "blank", "bad", "mixed",
                                                                  "ok-2"],
                                 convert=convert, UNIT="item")


def test_run_import_goes_on_after_bad_items_and_counts_reasons(tmp_path):
    out = tmp_path / "out" / "list.tsv"
    summary = run_import("fake", _fake_module(tmp_path), tmp_path, out, ImportConfig(), progress=False)
    entries = read_manifest(out)
    assert [e.text for e in entries] == ["ok-1 x", "mixed x", "ok-2 x"]
    assert summary.imported == 3
    assert dict(summary.skipped) == {"not wanted": 1, "failed (RuntimeError)": 1, "empty transcript": 1,
                                     "unreadable file": 1, "half skipped": 1}
    assert "unexpected" in summary.examples["failed (RuntimeError)"][0]
    assert GROUP not in entries[0].extra
    assert not list(out.parent.glob("*.tmp"))
    text = summary.render()
    assert "3 samples" in text and "not wanted" in text


def test_nothing_imported_is_an_error_and_writes_nothing(tmp_path):
    module = types.SimpleNamespace(list_items=lambda src, config: ["skip"],
                                   convert=lambda item, job: (_ for _ in ()).throw(Skip("not wanted", item)))
    with pytest.raises(InputError, match="not wanted"):
        run_import("fake", module, tmp_path, tmp_path / "list.tsv", ImportConfig(), progress=False)
    assert not (tmp_path / "list.tsv").exists()


def test_split_dev_keeps_groups_whole_and_near_the_fraction():
    rows = [{"path": f"{g}-{i}", "text": "t", GROUP: f"page{g}"} for g in range(20) for i in range(g % 3 + 1)]
    train, dev = split_dev(rows, 0.2, seed=1)
    assert len(train) + len(dev) == len(rows)
    dev_groups, train_groups = {r[GROUP] for r in dev}, {r[GROUP] for r in train}
    assert not dev_groups & train_groups
    assert 0.15 * len(rows) <= len(dev) <= 0.35 * len(rows)
    assert split_dev(rows, 0.2, seed=1) == (train, dev)


def test_split_dev_by_row_when_there_are_few_groups():
    rows = [{"path": f"p{i}", "text": "t", GROUP: "one page"} for i in range(50)]
    train, dev = split_dev(rows, 0.1)
    assert len(dev) == 5 and len(train) == 45
