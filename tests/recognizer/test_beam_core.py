import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recognizer.beam_core import force_align

SPACE = 1  # labels: blank 0, space 1, "a" 2, "b" 3


def collapse(path):
    return tuple(label for label, _ in itertools.groupby(path) if label != 0)


def tidy(labels):
    """Drop leading, trailing and repeated spaces (as text tidying does)."""
    out = []
    for label in labels:
        if label == SPACE and (not out or out[-1] == SPACE):
            continue
        out.append(label)
    while out and out[-1] == SPACE:
        out.pop()
    return tuple(out)


@st.composite
def cases(draw):
    t = draw(st.integers(1, 6))
    log_probs = draw(arrays(np.float64, (t, 4), elements=st.floats(-6, 0)))
    labels = tidy(draw(st.lists(st.integers(1, 3), max_size=4)))
    return log_probs, labels, draw(st.sampled_from([-1, SPACE]))


@settings(max_examples=150, deadline=None)
@given(cases())
def test_force_align_is_the_best_path_of_the_text(case):
    log_probs, labels, space = case
    t = log_probs.shape[0]
    reads = (lambda path: tidy(collapse(path))) if space >= 0 else collapse
    best, best_path = -np.inf, None
    for path in itertools.product(range(4), repeat=t):
        if reads(path) == labels:
            lp = log_probs[np.arange(t), path].sum()
            if lp > best:
                best, best_path = lp, path
    total, starts, ends, conf = force_align(log_probs, np.array(labels, np.int32), space)
    if best_path is None:
        assert total == -np.inf
        return
    assert total == pytest.approx(best)
    # spans: in order, disjoint, each on frames that emit its label, confidence its mean posterior
    assert list(starts) == sorted(starts) and all(s < e for s, e in zip(starts, ends))
    assert all(e <= s2 for e, s2 in zip(ends[:-1], starts[1:]))
    for k, label in enumerate(labels):
        frames = np.arange(starts[k], ends[k])
        assert conf[k] == pytest.approx(np.exp(log_probs[frames, label]).mean())


def test_a_doubled_space_spans_its_first_run():
    # path: a, space, blank, space, b  -> text "a b"; the space spans frame 1 only
    path = [2, 1, 0, 1, 3]
    lp = np.log(np.full((5, 4), 0.02))
    lp[np.arange(5), path] = np.log(0.94)
    total, starts, ends, _ = force_align(lp, np.array([2, 1, 3], np.int32), SPACE)
    assert total == pytest.approx(5 * np.log(0.94))
    assert list(zip(starts, ends)) == [(0, 1), (1, 2), (4, 5)]


def test_force_align_of_nothing():
    total, starts, *_ = force_align(np.zeros((0, 4)), np.zeros(0, np.int32), SPACE)
    assert total == 0.0 and len(starts) == 0
    total, *_ = force_align(np.log(np.full((2, 4), 1 / 4)), np.array([2, 2], np.int32), SPACE)  # needs 3 frames
    assert total == -np.inf
