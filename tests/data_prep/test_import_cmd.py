"""``python -m data_prep import``: options from each format's config, dev split, summary, errors."""
from __future__ import annotations

import argparse
import json

import pytest
from conftest import write_sine

from data_prep.__main__ import main
from data_prep.import_cmd import add_arguments
from data_prep.manifest import read_manifest


def test_options_come_from_the_format_configs():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["common-voice", "src", "--out", "o.tsv", "--min-votes", "2", "--lowercase"])
    assert args.min_votes == 2 and args.lowercase is True and args.split == "train"
    args = parser.parse_args(["iam", "src", "--out", "o.tsv"])
    assert args.keep_err is False and args.images == ""
    with pytest.raises(SystemExit):
        parser.parse_args(["iam", "src", "--out", "o.tsv", "--dev-fraction", "1.5"])


def test_import_command_writes_dev_manifest_and_summary(tmp_path, capsys):
    for i in range(30):
        write_sine(tmp_path / "corpus" / f"spk{i % 10}" / f"u{i}.wav", 0.2, 300 + 10 * i)
        (tmp_path / "corpus" / f"spk{i % 10}" / f"u{i}.txt").write_text(f"utterance {i}\n")
    out, dev, summary = tmp_path / "m" / "train.tsv", tmp_path / "m" / "dev.tsv", tmp_path / "summary.json"
    code = main(["import", "audio-folder", str(tmp_path / "corpus"), "--out", str(out), "--dev-out", str(dev),
                 "--dev-fraction", "0.2", "--summary", str(summary), "--no-progress", "--speaker-from-folder"])
    assert code == 0
    train_entries, dev_entries = read_manifest(out), read_manifest(dev)
    assert len(train_entries) + len(dev_entries) == 30
    assert {e.extra["speaker"] for e in train_entries}.isdisjoint({e.extra["speaker"] for e in dev_entries})
    assert json.loads(summary.read_text())["imported"] == 30
    assert "30 samples" in capsys.readouterr().err


def test_import_command_bad_source_is_one_line(tmp_path, capsys):
    assert main(["import", "kaldi", str(tmp_path), "--out", str(tmp_path / "x.tsv")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "wav.scp" in err
