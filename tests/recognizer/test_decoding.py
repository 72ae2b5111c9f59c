import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recognizer.alphabet import Alphabet
from recognizer.decoding import Char, Decoded, Word, greedy_decode, greedy_decode_batch

ALPHA = Alphabet(" ab")  # blank 0, " " 1, "a" 2, "b" 3
_ = 0  # blank in paths below


def frames(path, probs=None, v=4):
    """Log-probs whose argmax is ``path``; the winning label gets ``probs[t]`` (default 0.9)."""
    probs = [0.9] * len(path) if probs is None else probs
    out = np.empty((len(path), v))
    for t, (label, p) in enumerate(zip(path, probs)):
        out[t] = (1 - p) / (v - 1)
        out[t, label] = p
    return np.log(out)


def ids(text):
    return [ALPHA.index(c) for c in text]


def test_repeats_collapse_unless_separated_by_blank():
    assert greedy_decode(frames([2, 2, 2, 3, 3]), ALPHA).text == "ab"
    assert greedy_decode(frames([2, _, 2, 3, _, _, 3]), ALPHA).text == "aabb"
    assert greedy_decode(frames([_, 2, 2, _, 2, _]), ALPHA).text == "aa"


def test_spans_and_confidences_exact():
    probs = [0.6, 0.8, 0.9, 0.7, 0.5, 0.9]
    d = greedy_decode(frames([2, 2, _, 3, 1, 3], probs), ALPHA, step=0.5, offset=1.0)
    assert d.text == "ab b"
    expected = [
        Char("a", 1.0, 2.0, 0.7),
        Char("b", 2.5, 3.0, 0.7),
        Char(" ", 3.0, 3.5, 0.5),
        Char("b", 3.5, 4.0, 0.9),
    ]
    assert len(d.chars) == len(expected)
    for got, want in zip(d.chars, expected):
        assert got.char == want.char
        assert (got.start, got.end) == pytest.approx((want.start, want.end))
        assert got.confidence == pytest.approx(want.confidence)
    assert d.confidence == pytest.approx(math.prod(probs) ** (1 / 6))


def test_words_timings_and_min_confidence():
    probs = [0.6, 0.8, 0.9, 0.7, 0.5, 0.9]
    d = greedy_decode(frames([2, 2, _, 3, 1, 3], probs), ALPHA, step=0.5, offset=1.0)
    assert [w.word for w in d.words] == ["ab", "b"]
    assert (d.words[0].start, d.words[0].end) == pytest.approx((1.0, 3.0))
    assert (d.words[1].start, d.words[1].end) == pytest.approx((3.5, 4.0))
    assert d.words[0].confidence == pytest.approx(0.7)  # min of 0.7 and 0.7
    assert d.words[1].confidence == pytest.approx(0.9)
    low = greedy_decode(frames([2, 3, 3], [0.9, 0.4, 0.6]), ALPHA)
    assert low.words == [Word("ab", 0.0, 3.0, pytest.approx(0.5))]


def test_edge_and_double_spaces_make_no_empty_words():
    path = [1, _, 1, 2, 1, _, 1, 1, _, 3, 1, _, 1]
    d = greedy_decode(frames(path), ALPHA)
    assert d.text == "a b"
    assert [c.char for c in d.chars] == ["a", " ", "b"]
    assert [w.word for w in d.words] == ["a", "b"]
    assert (d.chars[1].start, d.chars[1].end) == (4.0, 5.0)  # the first space is kept
    assert greedy_decode(frames([1, _, 1]), ALPHA).words == []


def test_empty_output():
    d = greedy_decode(frames([_, _, _], [0.5, 0.8, 0.99]), ALPHA)
    assert (d.text, d.chars, d.words) == ("", [], [])
    assert d.confidence == pytest.approx((0.5 * 0.8 * 0.99) ** (1 / 3))
    assert greedy_decode(np.zeros((0, 4)), ALPHA) == Decoded("", 1.0, [], [])


def test_shape_checks():
    with pytest.raises(ValueError, match="classes"):
        greedy_decode(np.zeros((3, 5)), ALPHA)
    with pytest.raises(ValueError):
        greedy_decode(np.zeros((2, 3, 4)), ALPHA)
    with pytest.raises(ValueError):
        greedy_decode_batch(np.zeros((2, 3, 4)), [1, 4], ALPHA)
    with pytest.raises(ValueError):
        greedy_decode_batch(np.zeros((2, 3, 4)), [1], ALPHA)


def test_batch_with_per_item_steps_and_offsets():
    a, b = frames([2, _, 3, 1, 2]), frames([3, 3])
    batch = np.zeros((2, 5, 4))
    batch[0], batch[1, :2] = a, b
    got = greedy_decode_batch(batch, [5, 2], ALPHA, steps=[0.1, 2.0], offsets=[0.0, 10.0])
    assert got == [greedy_decode(a, ALPHA, 0.1, 0.0), greedy_decode(b, ALPHA, 2.0, 10.0)]
    assert got[1].chars == [Char("b", 10.0, 14.0, pytest.approx(0.9))]


def reference_text(log_probs, alphabet):
    """Best path decoding written plainly: argmax, collapse repeats, drop blanks, tidy spaces."""
    path = [max(range(len(row)), key=lambda v: row[v]) for row in log_probs.tolist()]
    labels = [label for label, _run in itertools.groupby(path) if label != 0]
    return " ".join("".join(alphabet.chars[i - 1] for i in labels).split())


@st.composite
def batches(draw):
    b, t = draw(st.integers(1, 3)), draw(st.integers(0, 12))
    logits = draw(arrays(np.float64, (b, t, 4), elements=st.floats(-4, 4)))
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    lengths = draw(st.lists(st.integers(0, t), min_size=b, max_size=b))
    return log_probs, lengths


@settings(max_examples=150, deadline=None)
@given(batches(), st.floats(0.01, 10), st.floats(0, 100))
def test_batch_equals_per_item_and_plain_reference(batch, step, offset):
    log_probs, lengths = batch
    decoded = greedy_decode_batch(log_probs, lengths, ALPHA, step, offset)
    for item, n, d in zip(log_probs, lengths, decoded):
        assert d == greedy_decode(item[:n], ALPHA, step, offset)
        assert d.text == reference_text(item[:n], ALPHA)
        assert "".join(c.char for c in d.chars) == d.text
        assert " ".join(w.word for w in d.words) == d.text
        assert all(c.start < c.end and 0 < c.confidence <= 1 for c in d.chars)
        assert all(w.word and w.start < w.end for w in d.words)
        assert 0 < d.confidence <= 1
