"""The MNIST line composer: the test pool is never seen in training, lines read as a scan would."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_prep.__main__ import main
from data_prep.compose_mnist import (
    Digits,
    LineStyle,
    MnistConfig,
    compose,
    compose_line,
    digit_shapes,
    make_samples,
    split_pools,
)
from data_prep.manifest import read_manifest
from data_prep.paths import repo_root, shared_data_dir

MNIST = shared_data_dir() / "mnist" / "digits.npz"
pytestmark = pytest.mark.skipif(not MNIST.is_file(),
                                reason=f"shared MNIST digits not found at {MNIST} (set RECOGNIZER_SHARED_DATA)")
COUNTS = {"train": 40, "dev": 10, "test": 20}
SPLITS = ("train", "dev", "test")


def _config(out: Path, seed: int = 5) -> MnistConfig:
    return MnistConfig(src=MNIST, out=out, lines=dict(COUNTS), seed=seed, progress=False)


@pytest.fixture(scope="module")
def digits() -> Digits:
    return Digits.load(MNIST)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mnist")
    compose(_config(out))
    return out


def test_split_pools_are_disjoint_and_recorded(corpus, digits):
    split = json.loads((corpus / "split.json").read_text())
    pools = {name: set(split[name]) for name in SPLITS}
    assert not pools["test"] & (pools["train"] | pools["dev"])
    assert not pools["dev"] & pools["train"]
    assert set().union(*pools.values()) == set(range(len(digits.labels)))
    for label in range(10):  # about 15% of every class is held out for test
        members = np.flatnonzero(digits.labels == label)
        share = len(pools["test"] & set(members.tolist())) / len(members)
        assert 0.14 < share < 0.16


def test_digit_shapes_are_their_splits_pool_by_character(digits):
    pools = split_pools(digits.labels)
    for split in SPLITS:
        shapes = digit_shapes(MNIST, split)
        assert sum(len(crops) for crops in shapes.values()) == len(pools[split])
        expected = {str(d): sorted(digits.crops[i].tobytes() for i in pools[split] if digits.labels[i] == d)
                    for d in range(10)}
        assert {char: sorted(c.tobytes() for c in crops) for char, crops in shapes.items()} == expected


def test_pools_do_not_depend_on_the_seed(corpus, tmp_path):
    compose(MnistConfig(src=MNIST, out=tmp_path, lines={"test": 1}, seed=99, progress=False))
    assert (tmp_path / "split.json").read_text() == (corpus / "split.json").read_text()


@pytest.mark.parametrize("split", SPLITS)
def test_lines_use_only_their_pool_and_texts_match(corpus, digits, split):
    pool = set(json.loads((corpus / "split.json").read_text())[split])
    entries = read_manifest(corpus / f"{split}.tsv")  # also checks that every file exists
    assert len(entries) == COUNTS[split]
    for entry in entries:
        sources = [int(i) for i in entry.extra["sources"].split()]
        assert set(sources) <= pool
        assert entry.text.replace(" ", "") == "".join(str(digits.labels[i]) for i in sources)
        assert 3 <= len(sources) <= 12
        assert entry.text == entry.text.strip() and "  " not in entry.text


@pytest.mark.parametrize("split", SPLITS)
def test_images_are_gray_dark_ink_on_light_paper(corpus, split):
    for entry in read_manifest(corpus / f"{split}.tsv"):
        with Image.open(entry.path) as image:
            assert image.mode == "L"
            pixels = np.asarray(image, dtype=np.float32)
        assert 32 <= pixels.shape[0] <= 48
        assert pixels.shape[1] > pixels.shape[0]
        paper, ink = np.median(pixels), np.percentile(pixels, 1)
        assert paper >= 185 and paper - ink > 80


def test_about_half_the_lines_have_spaces(digits):
    pool = split_pools(digits.labels)["train"]
    texts = [compose_line(np.random.default_rng([1, i]), digits, pool, LineStyle())[1] for i in range(200)]
    assert 0.35 < np.mean([" " in t for t in texts]) < 0.65


def test_deterministic_and_rerun_reuses_files(corpus, tmp_path):
    again = compose(_config(tmp_path / "again"))
    for split in SPLITS:
        assert (tmp_path / "again" / f"{split}.tsv").read_text() == (corpus / f"{split}.tsv").read_text()
        for png in sorted((corpus / split).glob("*.png")):
            assert (tmp_path / "again" / split / png.name).read_bytes() == png.read_bytes()
    assert all(s["written"] == COUNTS[split] for split, s in again.items())
    assert all(s["written"] == 0 for s in compose(_config(tmp_path / "again")).values())
    redone = compose(_config(tmp_path / "again", seed=6))  # other seed, same folder: nothing stale kept
    assert all(s["written"] == COUNTS[split] for split, s in redone.items())
    assert (tmp_path / "again" / "train.tsv").read_text() != (corpus / "train.tsv").read_text()


def test_samples_come_from_the_test_pool(digits, tmp_path):
    make_samples(_config(tmp_path / "unused"), tmp_path / "samples")
    test_pool = set(split_pools(digits.labels)["test"].tolist())
    entries = read_manifest(tmp_path / "samples" / "references.tsv")
    assert len(entries) == 6
    assert all({int(i) for i in e.extra["sources"].split()} <= test_pool for e in entries)


def test_committed_samples_come_from_the_test_pool(digits):
    folder = repo_root() / "pretrained" / "samples" / "handwriting"
    test_pool = set(split_pools(digits.labels)["test"].tolist())
    entries = read_manifest(folder / "references.tsv")
    assert len(entries) == 6
    for entry in entries:
        sources = [int(i) for i in entry.extra["sources"].split()]
        assert set(sources) <= test_pool
        assert entry.text.replace(" ", "") == "".join(str(digits.labels[i]) for i in sources)


def test_command_line(tmp_path, capsys):
    code = main(["compose-mnist", "--src", str(MNIST), "--out", str(tmp_path),
                 "--train", "2", "--dev", "1", "--test", "1"])
    assert code == 0
    assert [line.split(":")[0] for line in capsys.readouterr().out.strip().splitlines()] == list(SPLITS)
