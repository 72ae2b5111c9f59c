"""The written-line text mix: every text is in the handwriting-en alphabet, splits share no text."""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from data_prep.english_text import FORTUNES_DIR, WORDS_FILE, Vocabulary
from data_prep.line_texts import (
    DEFAULT_MIX,
    LINE_CHARS,
    LineTextSampler,
    chunks,
    encodable,
    line_texts,
    ordinal_suffix,
    prose_pools,
)
from data_prep.paths import repo_root

needs_text = pytest.mark.skipif(not (Path(FORTUNES_DIR).is_dir() and Path(WORDS_FILE).is_file()),
                                reason="Debian's fortunes and wamerican are not installed")

RECORDS = [f"Sentence number {i} is here, and it goes on for a while." for i in range(300)]
VOCAB = Vocabulary(words=["the", "a", "cat", "sat", "on", "mat", "quickly", "house", "river", "green"] * 5,
                   names=["Alice", "Bob", "Carol", "Dave", "Erin", "Mallory"])


def test_alphabet_matches_the_recipe():
    recipe = json.loads((repo_root() / "scripts" / "recipes" / "handwriting_en.json").read_text())
    assert recipe["alphabet"]["chars"] == LINE_CHARS and recipe["alphabet"]["lowercase"] is False
    assert len(set(LINE_CHARS)) == len(LINE_CHARS)


def test_chunks_cover_the_sentence_in_order():
    rng = np.random.default_rng(0)
    sentence = " ".join(f"w{i}" for i in range(40))
    pieces = chunks(sentence, rng)
    assert " ".join(pieces) == sentence
    assert all(1 <= len(p.split()) <= 11 for p in pieces)


def test_ordinal_suffix():
    assert [ordinal_suffix(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


def test_encodable():
    assert encodable('He said: "50% off, $3.99 (ok?)" - A&B #1 x=2+3*4 a@b.c; it\'s!')
    assert not encodable("caf\u00e9") and not encodable("a_b") and not encodable("two  spaces") and not encodable(" ")


@pytest.mark.parametrize("kind", list(DEFAULT_MIX))
def test_every_kind_draws_encodable_texts(kind):
    sampler = LineTextSampler(["a line of prose", "another bit"], VOCAB, np.random.default_rng(3))
    texts = [sampler.draw(kind) for _ in range(60)]
    made = [t for t in texts if t is not None]
    assert len(made) >= 50
    assert all(encodable(t) for t in made)
    if kind in ("date", "money", "time", "number"):
        assert sum(bool(re.search(r"\d", t)) for t in made) >= 0.9 * len(made)
    if kind == "capitals":
        assert all(t == t.upper() for t in made)


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown text kind"):
        LineTextSampler([], VOCAB, np.random.default_rng(0)).draw("poem")


def test_splits_are_disjoint_deterministic_and_mixed():
    counts = {"train": 300, "dev": 40, "test": 60}
    a = line_texts(counts, seed=4, records=RECORDS, vocabulary=VOCAB)
    assert a == line_texts(counts, seed=4, records=RECORDS, vocabulary=VOCAB)
    assert a != line_texts(counts, seed=5, records=RECORDS, vocabulary=VOCAB)
    assert {split: len(rows) for split, rows in a.items()} == counts
    texts = {split: {t for _, t in rows} for split, rows in a.items()}
    assert sum(map(len, texts.values())) == sum(counts.values())  # distinct within and across splits
    kinds = Counter(k for k, _ in a["train"])
    assert set(kinds) == set(DEFAULT_MIX) and kinds["prose"] > kinds["time"]
    assert all(encodable(t) for rows in a.values() for _, t in rows)


def test_test_prose_comes_from_its_own_sentences():
    train_pool, test_pool = prose_pools(0, RECORDS)
    assert train_pool and test_pool
    numbers = lambda pool: {n for chunk in pool for n in re.findall(r"\d+", chunk)}
    assert not numbers(train_pool) & numbers(test_pool)  # each sentence has its own number


@needs_text
def test_real_sources_give_a_full_corpus():
    out = line_texts({"train": 2000, "dev": 100, "test": 200}, seed=0)
    assert [len(out[s]) for s in ("train", "dev", "test")] == [2000, 100, 200]
    assert all(encodable(t) for rows in out.values() for _, t in rows)
    lengths = [len(t.split()) for k, t in out["train"] if k == "prose"]
    assert 4 <= np.mean(lengths) <= 9
