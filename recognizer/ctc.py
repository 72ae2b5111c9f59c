"""CTC loss on the network's log-probabilities, with sparse labels.

Labels go to ``tf.nn.ctc_loss`` as a SparseTensor built from the label lengths: with dense labels
TensorFlow takes a pure-TF path that is 7-25x slower on CPU. Blank is id 0, characters 1..C.
"""
from __future__ import annotations

import tensorflow as tf


def sparse_labels(labels: tf.Tensor, label_lengths: tf.Tensor) -> tf.SparseTensor:
    """Zero-padded ``(B, L)`` labels -> SparseTensor holding only each row's first ``length`` ids."""
    mask = tf.sequence_mask(label_lengths, tf.shape(labels)[1])
    indices = tf.where(mask)
    values = tf.gather_nd(labels, indices)
    return tf.SparseTensor(indices, tf.cast(values, tf.int32), tf.shape(labels, out_type=tf.int64))


def ctc_loss(log_probs: tf.Tensor, lengths: tf.Tensor, labels: tf.Tensor, label_lengths: tf.Tensor) -> tf.Tensor:
    """Per-sample negative log-likelihood ``(B,)`` of the labels under the CTC alignment model.

    An empty label (a clip with nothing to transcribe) has the likelihood of blank in every frame.

    A sample whose label cannot fit its input has an infinite loss (and no gradient) rather than
    an error: TensorFlow's op raises for labels longer than the input, which would end a training
    run because one augmented sample came out a few frames too short.
    """
    lengths = tf.cast(lengths, tf.int32)
    label_lengths = tf.cast(label_lengths, tf.int32)
    too_long = label_lengths > lengths
    empty = label_lengths == 0
    # stand-ins that fit, for the rows whose loss is set below: one label, and for an empty row
    # a real character (its padding is the blank id, which is no label)
    stand_in = tf.where(tf.expand_dims(empty, 1), tf.ones_like(labels), labels)
    losses = tf.nn.ctc_loss(
        labels=sparse_labels(stand_in, tf.where(too_long | empty, 1, label_lengths)),
        logits=log_probs,
        label_length=None,
        logit_length=lengths,
        logits_time_major=False,
        blank_index=0,
    )
    # TensorFlow's op refuses an empty label ("Labels length is zero"); its one alignment is the
    # blank in every frame of the input
    frames = tf.sequence_mask(lengths, tf.shape(log_probs)[1], dtype=log_probs.dtype)
    all_blank = -tf.reduce_sum(tf.nn.log_softmax(log_probs)[:, :, 0] * frames, axis=1)
    losses = tf.where(empty, tf.cast(all_blank, losses.dtype), losses)
    return tf.where(too_long, tf.constant(float("inf"), losses.dtype), losses)
