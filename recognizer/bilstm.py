"""The bidirectional LSTM stack that reads every modality's frames.

The weights always live in stock Keras ``Bidirectional(LSTM)`` sub-layers, so a bundle's
``model.weights.h5`` has the standard layout whichever implementation computed with them.

Two implementations compute with those same variables:

* ``"keras"``: the stock layers (cuDNN on a GPU, a generic ``while_loop`` on a CPU).
* ``"fused"``: a CPU path built for training speed. Per layer it

  - works time-major and turns the backward direction into a forward one with
    ``reverse_sequence`` over each sequence's own valid length, so in both directions the valid
    steps come first and padding trails: no masking is needed inside the recurrence, the
    backward direction starts at each sequence's last valid step, and padded steps can never
    reach a valid one;
  - computes the input projection of all time steps and both directions as one large matmul;
  - runs both directions in one loop (a batched ``(2, B, H) x (2, H, 4H)`` matmul per step) with
    the gate math fused, compiled with XLA (only the recurrence: the loss stays outside);
  - has a hand-written backward pass (back-propagation through time with the activated gates
    saved by the forward loop): the loop only carries ``dz_t R^T``; the gradients of the
    recurrent kernel, the input kernel, the bias and the inputs are each one large matmul
    outside the loop.

  Outputs at padded steps are zero (as in the stock layer), so their gradients are dropped.

``"auto"`` picks the stock layers when TensorFlow sees a GPU (cuDNN is fastest there) and the
fused path otherwise. Switching implementation never touches the weights.
"""
from __future__ import annotations

import keras
import tensorflow as tf

IMPLEMENTATIONS = ("auto", "keras", "fused")

# The XLA-compiled recurrence is specialised to the number of time steps; padding it (internally,
# after every sequence's valid steps, so harmlessly) to a multiple of this bounds the recompiles
# that length-bucketed batches cause.
_TIME_QUANTUM = 16


def _gpu_visible() -> bool:
    try:
        return bool(tf.config.list_logical_devices("GPU"))
    except Exception:  # pragma: no cover - a broken device listing means no GPU to use
        return False


def resolve_implementation(implementation: str) -> str:
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, not {implementation!r}")
    if implementation == "auto":
        return "keras" if _gpu_visible() else "fused"
    return implementation


# ----------------------------------------------------------------------------------------------
# The recurrence: xp (T, 2, B, 4H) input projections (bias included) of both directions,
# time-major, R (2, H, 4H) recurrent kernels. Gate order i, f, c, o (Keras); sigmoid / tanh.


def _forward_loop(xp, R):
    T = tf.shape(xp)[0]
    D, B, H = tf.shape(xp)[1], tf.shape(xp)[2], tf.shape(R)[1]
    zeros = tf.zeros(tf.stack([D, B, H]), xp.dtype)
    hs = tf.TensorArray(xp.dtype, size=T, element_shape=None)
    cs = tf.TensorArray(xp.dtype, size=T)
    gs = tf.TensorArray(xp.dtype, size=T)

    def body(t, h, c, hs, cs, gs):
        z = xp[t] + tf.matmul(h, R)
        zi, zf, zg, zo = tf.split(z, 4, axis=-1)
        i = tf.sigmoid(zi)
        f = tf.sigmoid(zf)
        g = tf.tanh(zg)
        o = tf.sigmoid(zo)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return t + 1, h, c, hs.write(t, h), cs.write(t, c), gs.write(t, tf.concat([i, f, g, o], -1))

    _, _, _, hs, cs, gs = tf.while_loop(
        lambda t, *_: t < T, body, (0, zeros, zeros, hs, cs, gs), maximum_iterations=T
    )
    return hs.stack(), cs.stack(), gs.stack()


def _inference_loop(xp, R):
    T = tf.shape(xp)[0]
    D, B, H = tf.shape(xp)[1], tf.shape(xp)[2], tf.shape(R)[1]
    zeros = tf.zeros(tf.stack([D, B, H]), xp.dtype)
    hs = tf.TensorArray(xp.dtype, size=T)

    def body(t, h, c, hs):
        z = xp[t] + tf.matmul(h, R)
        zi, zf, zg, zo = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(zf) * c + tf.sigmoid(zi) * tf.tanh(zg)
        h = tf.sigmoid(zo) * tf.tanh(c)
        return t + 1, h, c, hs.write(t, h)

    _, _, _, hs = tf.while_loop(lambda t, *_: t < T, body, (0, zeros, zeros, hs), maximum_iterations=T)
    return hs.stack()


def _backward_loop(dhs, hs, cs, gs, R):
    """dz (T, 2, B, 4H), the gradient w.r.t. the gate pre-activations, and dR (2, H, 4H)."""
    T = tf.shape(dhs)[0]
    zeros = tf.zeros_like(dhs[0])
    dzs = tf.TensorArray(dhs.dtype, size=T)
    c_prev_all = tf.concat([zeros[None], cs[:-1]], 0)

    def body(t, dh_next, dc_next, dzs):
        s = T - 1 - t
        i, f, g, o = tf.split(gs[s], 4, axis=-1)
        tc = tf.tanh(cs[s])
        dh = dhs[s] + dh_next
        dc = dc_next + dh * o * (1.0 - tc * tc)
        dzi = dc * g * i * (1.0 - i)
        dzf = dc * c_prev_all[s] * f * (1.0 - f)
        dzg = dc * i * (1.0 - g * g)
        dzo = dh * tc * o * (1.0 - o)
        dz = tf.concat([dzi, dzf, dzg, dzo], -1)
        dh_next = tf.matmul(dz, R, transpose_b=True)
        return t + 1, dh_next, dc * f, dzs.write(s, dz)

    _, _, _, dzs = tf.while_loop(
        lambda t, *_: t < T, body, (0, zeros, zeros, dzs), maximum_iterations=T
    )
    dz = dzs.stack()
    h_prev = tf.concat([zeros[None], hs[:-1]], 0)  # (T, 2, B, H)
    dR = tf.einsum("tdbh,tdbg->dhg", h_prev, dz)
    return dz, dR


_forward_xla = tf.function(_forward_loop, jit_compile=True, reduce_retracing=True)
_inference_xla = tf.function(_inference_loop, jit_compile=True, reduce_retracing=True)
_backward_xla = tf.function(_backward_loop, jit_compile=True, reduce_retracing=True)


@tf.custom_gradient
def _recurrence(xp, R):
    # stop_gradient: the tape must not differentiate the compiled loop itself (grad is below).
    hs, cs, gs = _forward_xla(tf.stop_gradient(xp), tf.stop_gradient(R))

    def grad(dhs):
        dz, dR = _backward_xla(dhs, hs, cs, gs, R)
        return dz, dR

    return hs, grad


def _t(variable):
    return tf.convert_to_tensor(variable.value)


def fused_bilstm_layer(x, lengths, mask, fw, bw, training=False):
    """One bidirectional layer, time-major: x (T, B, F) -> (T, B, 2H).

    ``fw`` / ``bw`` are the stock ``LSTMCell``s whose variables are used; ``mask`` (T, B, 1) float.
    """
    T, B = tf.shape(x)[0], tf.shape(x)[1]
    H = fw.units
    x_rev = tf.reverse_sequence(x, lengths, seq_axis=0, batch_axis=1)
    feat = tf.shape(x)[2]
    # One large matmul for the input projection of every step of both directions.
    xf = tf.reshape(x, tf.stack([T * B, feat]))
    xb = tf.reshape(x_rev, tf.stack([T * B, feat]))
    xp = tf.stack(
        [
            tf.reshape(tf.matmul(xf, _t(fw.kernel)) + _t(fw.bias), tf.stack([T, B, 4 * H])),
            tf.reshape(tf.matmul(xb, _t(bw.kernel)) + _t(bw.bias), tf.stack([T, B, 4 * H])),
        ],
        axis=1,
    )  # (T, 2, B, 4H)
    R = tf.stack([_t(fw.recurrent_kernel), _t(bw.recurrent_kernel)])
    if training or True:
        hs = _recurrence(xp, R)
    y = tf.concat(
        [hs[:, 0], tf.reverse_sequence(hs[:, 1], lengths, seq_axis=0, batch_axis=1)], axis=-1
    )
    return y * mask


@keras.saving.register_keras_serializable(package="recognizer")
class BiLSTMStack(keras.layers.Layer):
    """``num_layers`` bidirectional LSTMs of ``units`` per direction, outputs concatenated.

    Call with ``(inputs (B, T, F), mask (B, T) bool)``; padded steps (mask False) never influence
    valid steps, in either direction, so a padded input gives the same output as the unpadded one.
    The mask must be a padding mask (each row: valid steps, then padding). Outputs at padded steps
    are zero.

    ``implementation``: ``"keras"`` (stock layers), ``"fused"`` (the fast CPU path above) or
    ``"auto"`` (stock when a GPU is visible, fused otherwise).
    """

    def __init__(self, units: int, num_layers: int, dropout: float = 0.0, implementation: str = "auto", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.num_layers = num_layers
        self.dropout = dropout
        resolve_implementation(implementation)  # validate early
        self.implementation = implementation
        self.layers_ = [
            keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True), name=f"bilstm_{i}")
            for i in range(num_layers)
        ]
        self.drop = keras.layers.Dropout(dropout) if dropout > 0 else None

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers_:
            layer.build(shape)
            shape = shape[:-1] + (2 * self.units,)
        self.built = True

    def call(self, inputs, mask=None, training=False):
        if resolve_implementation(self.implementation) == "fused":
            return self._call_fused(inputs, mask, training)
        x = inputs
        for i, layer in enumerate(self.layers_):
            x = layer(x, mask=mask, training=training)
            if self.drop is not None and i < self.num_layers - 1:
                x = self.drop(x, training=training)
        return x

    def _call_fused(self, inputs, mask, training):
        x = tf.transpose(tf.convert_to_tensor(inputs), [1, 0, 2])  # (T, B, F)
        T, B = tf.shape(x)[0], tf.shape(x)[1]
        if mask is None:
            lengths = tf.fill(tf.reshape(B, [1]), T)
        else:
            lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        # Pad time (after every sequence's valid steps) to a multiple of _TIME_QUANTUM.
        Tp = (T + _TIME_QUANTUM - 1) // _TIME_QUANTUM * _TIME_QUANTUM
        x = tf.pad(x, tf.stack([tf.stack([0, Tp - T]), [0, 0], [0, 0]]))
        m = tf.cast(tf.sequence_mask(lengths, Tp), x.dtype)
        m = tf.transpose(m)[:, :, None]  # (Tp, B, 1)
        for i, layer in enumerate(self.layers_):
            x = fused_bilstm_layer(
                x, lengths, m, layer.forward_layer.cell, layer.backward_layer.cell, training=training
            )
            if self.drop is not None and i < self.num_layers - 1:
                x = self.drop(x, training=training)
        return tf.transpose(x[:T], [1, 0, 2])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2 * self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "implementation": self.implementation,
        }
