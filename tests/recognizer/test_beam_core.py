import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recognizer.beam_core import force_align


def collapse(path):
    return tuple(label for label, _ in itertools.groupby(path) if label != 0)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6).flatmap(lambda t: arrays(np.float64, (t, 3), elements=st.floats(-6, 0))),
       st.lists(st.integers(1, 2), max_size=4))
def test_force_align_is_the_best_path_of_the_labels(log_probs, labels):
    t = log_probs.shape[0]
    best, best_path = -np.inf, None
    for path in itertools.product(range(3), repeat=t):
        if collapse(path) == tuple(labels):
            lp = log_probs[np.arange(t), path].sum()
            if lp > best:
                best, best_path = lp, path
    total, starts, ends, conf = force_align(log_probs, np.array(labels, np.int32))
    if best_path is None:
        assert total == -np.inf
        return
    assert total == pytest.approx(best)
    # the spans are those of a best path: contiguous, in order, each on frames of its label
    assert list(starts) == sorted(starts) and all(s < e for s, e in zip(starts, ends))
    assert all(e <= s2 for e, s2 in zip(ends[:-1], starts[1:]))
    path_lp = 0.0
    for k, label in enumerate(labels):
        frames = range(starts[k], ends[k])
        path_lp += log_probs[list(frames), label].sum()
        assert conf[k] == pytest.approx(np.exp(log_probs[list(frames), label]).mean())
    blanks = set(range(t)) - {f for s, e in zip(starts, ends) for f in range(s, e)}
    path_lp += sum(log_probs[f, 0] for f in blanks)
    assert path_lp == pytest.approx(best)


def test_force_align_of_nothing():
    total, starts, *_ = force_align(np.zeros((0, 3)), np.zeros(0, np.int32))
    assert total == 0.0 and len(starts) == 0
    total, *_ = force_align(np.log(np.full((2, 3), 1 / 3)), np.array([1, 1], np.int32))  # needs 3 frames
    assert total == -np.inf
