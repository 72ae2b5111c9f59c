"""The FSDD composer: split hygiene (one speaker, own split's takes), texts, durations, determinism."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_prep.__main__ import main
from data_prep.compose_fsdd import SPLIT_TAKES, WORDS, FsddConfig, compose, make_samples
from data_prep.manifest import read_manifest
from data_prep.paths import repo_root, shared_data_dir

FSDD = shared_data_dir() / "fsdd"
needs_fsdd = pytest.mark.skipif(not (FSDD / "recordings").is_dir(),
                                reason=f"shared FSDD data not found at {FSDD} (set RECOGNIZER_SHARED_DATA)")
COUNTS = {"train": 8, "dev": 4, "test": 4}
TAKES = (0, 1, 2, 5, 6, 10, 11, 12)  # a subset of the real recordings keeps the tests fast
SUBSET: Path | None = None


@pytest.fixture(scope="module", autouse=True)
def subset(tmp_path_factory):
    global SUBSET
    if (FSDD / "recordings").is_dir():
        SUBSET = tmp_path_factory.mktemp("fsdd_src") / "recordings"
        SUBSET.mkdir()
        for wav in (FSDD / "recordings").glob("*.wav"):
            if int(wav.stem.split("_")[2]) in TAKES:
                (SUBSET / wav.name).symlink_to(wav)


def _config(out: Path, seed: int = 3) -> FsddConfig:
    return FsddConfig(src=SUBSET.parent, out=out, joined=dict(COUNTS), seed=seed, progress=False)


def _parse(source: str) -> tuple[int, str, int]:
    digit, speaker, take = source.split("_")
    return int(digit), speaker, int(take)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fsdd")
    compose(_config(out))
    return out


@needs_fsdd
@pytest.mark.parametrize("split", list(SPLIT_TAKES))
def test_manifest_texts_and_split_hygiene(corpus, split):
    entries = read_manifest(corpus / f"{split}.tsv")  # also checks that every file exists
    joined = [e for e in entries if e.extra["kind"] == "joined"]
    isolated = [e for e in entries if e.extra["kind"] == "isolated"]
    assert len(joined) == COUNTS[split]
    assert len(isolated) == 5 * 10 * len(set(TAKES) & set(SPLIT_TAKES[split]))
    for entry in entries:
        sources = [_parse(s) for s in entry.extra["sources"].split()]
        assert entry.text.split() == [WORDS[d] for d, _, _ in sources]  # one word per take used
        assert {spk for _, spk, _ in sources} == {entry.extra["speaker"]}  # one speaker
        assert all(take in SPLIT_TAKES[split] for _, _, take in sources)  # own split's takes only
    assert all(2 <= len(e.text.split()) <= 7 for e in joined)
    assert all(Path(e.path).is_relative_to(corpus) for e in joined)


@needs_fsdd
@pytest.mark.parametrize("split", list(SPLIT_TAKES))
def test_durations_match_files(corpus, split):
    for entry in read_manifest(corpus / f"{split}.tsv"):
        info = sf.info(entry.path)
        assert info.samplerate == 8000 and info.channels == 1
        assert entry.duration == pytest.approx(info.frames / info.samplerate, abs=1e-3)


@needs_fsdd
def test_joined_audio_is_sane(corpus):
    for entry in read_manifest(corpus / "train.tsv"):
        if entry.extra["kind"] == "joined":
            audio, _ = sf.read(entry.path)
            assert 0.01 < np.abs(audio).max() < 1.0
            assert entry.duration >= 0.05 * (len(entry.text.split()) - 1)  # pauses at least


@needs_fsdd
def test_deterministic_and_rerun_reuses_files(corpus, tmp_path):
    again = compose(_config(tmp_path / "again"))
    for split in SPLIT_TAKES:
        first = (corpus / f"{split}.tsv").read_text()
        assert (tmp_path / "again" / f"{split}.tsv").read_text() == first
        for wav in sorted((corpus / split).glob("*.wav")):
            assert (tmp_path / "again" / split / wav.name).read_bytes() == wav.read_bytes()
    assert all(s["written"] == COUNTS[split] for split, s in again.items())
    rerun = compose(_config(tmp_path / "again"))
    assert all(s["written"] == 0 for s in rerun.values())
    other = compose(_config(tmp_path / "other", seed=4))
    assert all(s["written"] == COUNTS[split] for split, s in other.items())
    assert (tmp_path / "other" / "train.tsv").read_text() != (corpus / "train.tsv").read_text()


@needs_fsdd
def test_changed_seed_in_same_folder_redoes_files(tmp_path):
    compose(_config(tmp_path, seed=1))
    redone = compose(_config(tmp_path, seed=2))
    assert all(s["written"] == COUNTS[split] for split, s in redone.items())


@needs_fsdd
def test_samples_come_from_test_takes(tmp_path):
    rows = make_samples(_config(tmp_path / "unused"), tmp_path / "samples")
    entries = read_manifest(tmp_path / "samples" / "references.tsv")
    assert len(entries) == len(rows) == 6
    singles = [e for e in entries if len(e.text.split()) == 1]
    assert len({_parse(e.extra["sources"])[1] for e in singles}) == 3  # three speakers
    for entry in entries:
        sources = [_parse(s) for s in entry.extra["sources"].split()]
        assert all(take in SPLIT_TAKES["test"] for _, _, take in sources)
        assert len(sources) in (1, 3, 4, 5)


def test_committed_samples_are_test_takes():
    folder = repo_root() / "pretrained" / "samples" / "speech"
    entries = read_manifest(folder / "references.tsv")
    assert len(entries) == 6
    assert sum(f.stat().st_size for f in folder.iterdir()) < 300_000
    for entry in entries:
        assert all(_parse(s)[2] in SPLIT_TAKES["test"] for s in entry.extra["sources"].split())


@needs_fsdd
def test_command_line(tmp_path, capsys):
    code = main(["compose-fsdd", "--src", str(SUBSET.parent), "--out", str(tmp_path),
                 "--joined-train", "1", "--joined-dev", "1", "--joined-test", "1", "--seed", "0"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["train", "dev", "test"]
    assert all(" h -> " in line for line in lines)
