"""The network: optional convolutional front-end with time subsampling, a BiLSTM stack, and a
dense layer over the alphabet plus blank, returning log-probabilities.

Padding never changes results: every convolution pads time symmetrically itself (so frame ``j``
always sees the same neighbourhood, whatever the batch's padded length) and padded frames are
zeroed after each block, so a padded input gives the same output as the unpadded one.

That same property lets the network pad for speed. The fused LSTM runs XLA-compiled loops, and
XLA compiles once per input *shape*: with length-bucketed batches nearly every batch has a new
(batch, time) shape, and a compile (5-10 s for the speech model) costs as much as ten training
steps. So before a fused stack the batch and time sizes are rounded up to a short ladder
(:func:`bucket_size`, four sizes per octave: at most 25% padding, about 10% on average), which
bounds the number of compiled shapes over a whole training run to a few dozen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import tensorflow as tf

from data_prep.config import JsonConfig
from recognizer.bilstm import BiLSTMStack, resolve_implementation


@dataclass
class ModelConfig(JsonConfig):
    """Hyper-parameters of the network; stored in the bundle's ``config.json``."""

    frontend: str = "conv1d"  # "conv1d", "conv2d" or "none"
    conv_channels: tuple[int, ...] = (256, 256)
    conv_kernel: int = 5  # odd, so padding is symmetric
    conv_strides: tuple[int, ...] = (2, 2)  # time subsampling per conv block
    lstm_units: int = 256
    lstm_layers: int = 3
    dropout: float = 0.1
    lstm_impl: str = "auto"  # "auto", "keras" or "fused" (see recognizer.bilstm)

    def __post_init__(self):
        self.conv_channels = tuple(int(c) for c in self.conv_channels)
        self.conv_strides = tuple(int(s) for s in self.conv_strides)
        if self.frontend not in ("conv1d", "conv2d", "none"):
            raise ValueError(f"frontend must be conv1d, conv2d or none, not {self.frontend!r}")
        if self.frontend != "none" and len(self.conv_channels) != len(self.conv_strides):
            raise ValueError("conv_channels and conv_strides need one entry per conv block")
        if self.conv_kernel % 2 != 1:
            raise ValueError("conv_kernel must be odd")

    @property
    def subsampling(self) -> int:
        """How many input frames make one output frame."""
        return math.prod(self.conv_strides) if self.frontend != "none" else 1

    def output_length(self, length: int) -> int:
        """Output frames for an input of ``length`` frames."""
        if self.frontend == "none":
            return length
        for stride in self.conv_strides:
            length = -(-length // stride)
        return length


def _mask(lengths, max_len):
    return tf.sequence_mask(lengths, max_len)


def bucket_size(n, per_octave: int = 4):
    """``n`` rounded up to the ladder 1..2p, then 2p+2, ..., 4p, 4p+4, ... (``p`` per octave).

    Works on Python ints and on scalar int32 tensors (inside a traced function).
    """
    if isinstance(n, int):
        step = 2 ** max(0, n.bit_length() - 1 - int(math.log2(per_octave)))
        return -(-n // step) * step
    log2 = tf.math.floor(tf.math.log(tf.cast(tf.maximum(n, 1), tf.float32)) / math.log(2.0) + 1e-6)
    step = tf.cast(2.0 ** tf.maximum(0.0, log2 - math.log2(per_octave)), tf.int32)
    return (n + step - 1) // step * step


def _pad_to_buckets(x, mask):
    """Zero-pad batch and time of ``x`` (and ``mask`` with False) up to their bucket sizes."""
    shape = tf.shape(x)
    batch, time = shape[0], shape[1]
    extra_b, extra_t = bucket_size(batch) - batch, bucket_size(time) - time
    x = tf.pad(x, [[0, extra_b], [0, extra_t], [0, 0]])
    mask = tf.pad(mask, [[0, extra_b], [0, extra_t]])
    return x, mask, batch, time


class _ConvBlock(keras.layers.Layer):
    """Conv (1-D over time, or 2-D over time x features) + layer norm + ReLU, padding-safe."""

    def __init__(self, channels: int, kernel: int, stride: int, two_d: bool, **kwargs):
        super().__init__(**kwargs)
        self.stride = stride
        self.two_d = two_d
        self.pad = kernel // 2
        if two_d:
            self.conv = keras.layers.Conv2D(channels, kernel, strides=(stride, 2), padding="valid")
        else:
            self.conv = keras.layers.Conv1D(channels, kernel, strides=stride, padding="valid")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5)

    def call(self, x, lengths):
        p = self.pad
        if self.two_d:
            x = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
        else:
            x = tf.pad(x, [[0, 0], [p, p], [0, 0]])
        x = tf.nn.relu(self.norm(self.conv(x)))
        lengths = (lengths + self.stride - 1) // self.stride
        mask = tf.cast(_mask(lengths, tf.shape(x)[1]), x.dtype)
        mask = mask[:, :, None, None] if self.two_d else mask[:, :, None]
        return x * mask, lengths


class RecognizerNet(keras.Model):
    """``(features (B, T, F), lengths (B,)) -> (log_probs (B, T', V), lengths' (B,))``."""

    def __init__(self, feature_dim: int, vocab_size: int, config: ModelConfig, **kwargs):
        super().__init__(**kwargs)
        self.feature_dim = feature_dim
        self.vocab_size = vocab_size
        self.config = config
        two_d = config.frontend == "conv2d"
        self.blocks = [] if config.frontend == "none" else [
            _ConvBlock(c, config.conv_kernel, s, two_d, name=f"conv_{i}")
            for i, (c, s) in enumerate(zip(config.conv_channels, config.conv_strides))
        ]
        self.lstm = BiLSTMStack(config.lstm_units, config.lstm_layers, dropout=config.dropout,
                                implementation=config.lstm_impl, name="bilstm")
        self.drop = keras.layers.Dropout(config.dropout) if config.dropout > 0 else None
        self.head = keras.layers.Dense(vocab_size, name="head")

    def call(self, features, lengths, training=False):
        lengths = tf.cast(lengths, tf.int32)
        mask = tf.cast(_mask(lengths, tf.shape(features)[1]), features.dtype)
        x = features * mask[:, :, None]
        if self.config.frontend == "conv2d":
            x = x[..., None]
        for block in self.blocks:
            x, lengths = block(x, lengths)
        if self.config.frontend == "conv2d":
            shape = tf.shape(x)
            x = tf.reshape(x, [shape[0], shape[1], x.shape[2] * x.shape[3]])
        mask = _mask(lengths, tf.shape(x)[1])
        if resolve_implementation(self.lstm.implementation).startswith("fused"):  # XLA: one compile per shape
            x, mask, batch, time = _pad_to_buckets(x, mask)
            x = self.lstm(x, mask=mask, training=training)[:batch, :time]
        else:
            x = self.lstm(x, mask=mask, training=training)
        if self.drop is not None:
            x = self.drop(x, training=training)
        return tf.nn.log_softmax(self.head(x), axis=-1), lengths


def build_model(feature_dim: int, vocab_size: int, config: ModelConfig) -> RecognizerNet:
    """Build the network and create its weights (so they can be loaded or counted at once)."""
    model = RecognizerNet(feature_dim, vocab_size, config)
    model(tf.zeros([1, 8, feature_dim]), tf.constant([8]))
    return model
