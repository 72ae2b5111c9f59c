import itertools

import numpy as np
import pytest
import tensorflow as tf

from recognizer.ctc import ctc_loss, sparse_labels


def log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def collapse(path):
    out, previous = [], None
    for label in path:
        if label != previous and label != 0:
            out.append(label)
        previous = label
    return out


def brute_force_nll(log_probs, labels):
    """-log of the summed probability of every length-T path that collapses to ``labels``."""
    t, v = log_probs.shape
    total = 0.0
    for path in itertools.product(range(v), repeat=t):
        if collapse(path) == list(labels):
            total += np.exp(sum(log_probs[i, s] for i, s in enumerate(path)))
    return -np.log(total)


def test_sparse_labels_keeps_only_valid_ids():
    labels = tf.constant([[3, 1, 2, 9], [2, 9, 9, 9], [9, 9, 9, 9]], tf.int32)  # 9: padding junk
    sparse = sparse_labels(labels, tf.constant([3, 1, 0]))
    assert sparse.indices.numpy().tolist() == [[0, 0], [0, 1], [0, 2], [1, 0]]
    assert sparse.values.numpy().tolist() == [3, 1, 2, 2]
    assert sparse.dense_shape.numpy().tolist() == [3, 4]
    assert sparse.values.dtype == tf.int32


def test_sparse_labels_keeps_zero_valued_ids_inside_the_length():
    # A label id 0 inside the valid length is data, not padding: it must not be dropped silently.
    sparse = sparse_labels(tf.constant([[1, 0, 2]]), tf.constant([3]))
    assert sparse.values.numpy().tolist() == [1, 0, 2]


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    log_probs = log_softmax(rng.standard_normal((3, 4, 3)) * 2).astype(np.float32)  # B=3, T=4, V=3
    labels = np.array([[1, 2], [1, 1], [2, 0]], np.int32)  # "ab", "aa" (needs a blank between), "b"
    label_lengths = np.array([2, 2, 1], np.int32)
    return log_probs, labels, label_lengths


def test_ctc_loss_equals_brute_force_sum_over_alignments(tiny):
    log_probs, labels, label_lengths = tiny
    loss = ctc_loss(log_probs, np.array([4, 4, 4]), labels, label_lengths).numpy()
    expected = [brute_force_nll(log_probs[b].astype(np.float64), labels[b, : label_lengths[b]]) for b in range(3)]
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_ctc_loss_respects_logit_lengths(tiny):
    log_probs, labels, label_lengths = tiny
    lengths = np.array([3, 4, 2])
    junk = log_probs.copy()
    junk[0, 3] = log_softmax(np.array([9.0, -9.0, 0.0]))
    junk[2, 2:] = log_softmax(np.array([[-5.0, 5.0, 0.0], [5.0, 0.0, -5.0]]))
    loss = ctc_loss(junk, lengths, labels, label_lengths).numpy()
    expected = [brute_force_nll(log_probs[b, : lengths[b]].astype(np.float64), labels[b, : label_lengths[b]])
                for b in range(3)]
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_ctc_loss_matches_dense_label_tf_ctc_loss(tiny):
    log_probs, labels, label_lengths = tiny
    lengths = np.array([4, 3, 4], np.int32)
    ours = ctc_loss(log_probs, lengths, labels, label_lengths).numpy()
    dense = tf.nn.ctc_loss(labels=tf.constant(labels), logits=tf.constant(log_probs),
                           label_length=tf.constant(label_lengths), logit_length=tf.constant(lengths),
                           logits_time_major=False, blank_index=0).numpy()
    np.testing.assert_allclose(ours, dense, rtol=1e-5)


def test_impossible_alignment_gives_infinite_loss():
    # "aa" needs at least 3 frames (a, blank, a): with 2 it has no alignment
    log_probs = log_softmax(np.zeros((1, 2, 3))).astype(np.float32)
    loss = ctc_loss(log_probs, [2], np.array([[1, 1]]), [2]).numpy()
    assert np.isinf(loss[0]) or loss[0] > 1e4


def test_gradient_is_finite_and_sums_to_zero_per_frame():
    rng = np.random.default_rng(1)
    logits = tf.Variable(rng.standard_normal((2, 6, 4)).astype(np.float32))
    labels = tf.constant([[1, 2, 3], [3, 3, 0]])
    with tf.GradientTape() as tape:
        log_probs = tf.nn.log_softmax(logits)
        loss = tf.reduce_sum(ctc_loss(log_probs, tf.constant([6, 5]), labels, tf.constant([3, 2])))
    grad = tape.gradient(loss, logits).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0
    # through the softmax, the gradient of a log-likelihood sums to zero over the vocabulary
    np.testing.assert_allclose(grad.sum(-1), 0.0, atol=1e-5)
    assert not grad[1, 5:].any()  # frames past the logit length get no gradient


def test_labels_that_cannot_fit_their_input_get_infinite_loss_and_no_gradient():
    """TF's op raises for a label longer than the input; ours must not end a training run."""
    x = tf.Variable(tf.random.normal([3, 4, 5], seed=1))
    labels = tf.constant([[1, 2, 3, 4, 1, 2], [1, 2, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]])
    with tf.GradientTape() as tape:
        losses = ctc_loss(tf.nn.log_softmax(x), tf.constant([4, 4, 4]), labels, tf.constant([6, 2, 3]))
        loss = tf.reduce_sum(tf.where(tf.math.is_finite(losses), losses, 0.0))
    grad = tape.gradient(loss, x).numpy()
    assert np.isinf(losses[0]) and np.isinf(losses[2])  # 6 labels in 4 frames; 1,1,1 needs 5 frames
    assert np.isfinite(losses[1])
    assert np.all(np.isfinite(grad))
    assert np.abs(grad[0]).sum() == 0 and np.abs(grad[2]).sum() == 0 and np.abs(grad[1]).sum() > 0


def test_an_empty_label_costs_the_all_blank_path_and_trains_towards_blank():
    """TF's op raises for an empty label; a clip with nothing to transcribe must train instead."""
    rng = np.random.default_rng(2)
    x = tf.Variable(rng.standard_normal((3, 5, 4)).astype(np.float32))
    labels = tf.constant([[0, 0], [2, 3], [0, 0]])
    lengths = tf.constant([5, 5, 3])
    with tf.GradientTape() as tape:
        log_probs = tf.nn.log_softmax(x)
        losses = ctc_loss(log_probs, lengths, labels, tf.constant([0, 2, 0]))
        loss = tf.reduce_sum(losses)
    lp = log_probs.numpy().astype(np.float64)
    expected_empty = [brute_force_nll(lp[b, : int(lengths[b])], []) for b in (0, 2)]
    np.testing.assert_allclose(losses.numpy()[[0, 2]], expected_empty, rtol=1e-5)
    np.testing.assert_allclose(losses.numpy()[1], brute_force_nll(lp[1], [2, 3]), rtol=1e-5)
    grad = tape.gradient(loss, x).numpy()
    assert np.all(np.isfinite(grad))
    assert np.all(grad[0, :, 0] < 0) and np.all(grad[0, :, 1:] > 0)  # descent raises blank, lowers the rest
    assert not grad[2, 3:].any()  # frames past the input's length get no gradient
