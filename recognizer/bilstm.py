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

IMPLEMENTATIONS = ("auto", "keras", "fused", "fused_bf16")

# The XLA-compiled recurrence is specialised to the number of time steps; padding it (internally,
# after every sequence's valid steps, so harmlessly) to a multiple of this bounds the recompiles
# that length-bucketed batches cause.
_TIME_QUANTUM = 8


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
# The recurrence, XLA-compiled. Inputs: P (B, T, 8H), the input projections (bias included) of
# the forward direction (P[..., :4H]) and the backward one (P[..., 4H:]) at each step's natural
# position; R (2, H, 4H), the recurrent kernels; lengths (B,); n = max(lengths) (the loops run
# n steps; any later, all-padding steps are left zero). Gate order i, f, c, o (Keras), sigmoid /
# tanh. Inside, both directions run in one loop, in "loop order": step t of the backward
# direction of sequence b is its position lengths[b] - 1 - t.


def _loop_positions(lengths, t, T):
    """(B,) position of loop step t of the backward direction (clamped; padded steps are free)."""
    return tf.clip_by_value(lengths - 1 - t, 0, T - 1)


def _gates_input(P, lengths, t, T, H4):
    pf = P[:, t, :H4]
    pb = tf.gather(P[:, :, H4:], _loop_positions(lengths, t, T), batch_dims=1)
    return tf.stack([pf, pb])  # (2, B, 4H)


def _to_output(hs, lengths, T):
    """hs (T, 2, B, H) in loop order -> (B, T, 2H) at natural positions, zero at padding."""
    hf = tf.transpose(hs[:, 0], [1, 0, 2])
    hb = tf.reverse_sequence(tf.transpose(hs[:, 1], [1, 0, 2]), lengths, seq_axis=1, batch_axis=0)
    mask = tf.sequence_mask(lengths, T, dtype=hs.dtype)[:, :, None]
    return tf.concat([hf, hb], -1) * mask


def _forward_train(P, R, lengths, n):
    B, T, H4 = tf.shape(P)[0], tf.shape(P)[1], tf.shape(P)[2] // 2
    H = H4 // 4
    zeros = tf.zeros(tf.stack([2, B, H]), P.dtype)
    hs = tf.TensorArray(P.dtype, size=T)
    cs = tf.TensorArray(P.dtype, size=T)
    gs = tf.TensorArray(P.dtype, size=T)

    def body(t, h, c, hs, cs, gs):
        z = _gates_input(P, lengths, t, T, H4) + tf.matmul(h, R)
        zi, zf, zg, zo = tf.split(z, 4, axis=-1)
        i = tf.sigmoid(zi)
        f = tf.sigmoid(zf)
        g = tf.tanh(zg)
        o = tf.sigmoid(zo)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return t + 1, h, c, hs.write(t, h), cs.write(t, c), gs.write(t, tf.concat([i, f, g, o], -1))

    _, _, _, hs, cs, gs = tf.while_loop(
        lambda t, *_: t < n, body, (0, zeros, zeros, hs, cs, gs), maximum_iterations=T
    )
    hs = hs.stack()
    return _to_output(hs, lengths, T), hs, cs.stack(), gs.stack()


def _forward_infer(P, R, lengths, n):
    B, T, H4 = tf.shape(P)[0], tf.shape(P)[1], tf.shape(P)[2] // 2
    H = H4 // 4
    zeros = tf.zeros(tf.stack([2, B, H]), P.dtype)
    hs = tf.TensorArray(P.dtype, size=T)

    def body(t, h, c, hs):
        z = _gates_input(P, lengths, t, T, H4) + tf.matmul(h, R)
        zi, zf, zg, zo = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(zf) * c + tf.sigmoid(zi) * tf.tanh(zg)
        h = tf.sigmoid(zo) * tf.tanh(c)
        return t + 1, h, c, hs.write(t, h)

    _, _, _, hs = tf.while_loop(lambda t, *_: t < n, body, (0, zeros, zeros, hs), maximum_iterations=T)
    return _to_output(hs.stack(), lengths, T)


def _backward(dY, hs, cs, gs, R, lengths, n):
    """Back-propagation through time: dP (B, T, 8H) and dR (2, H, 4H) from dY (B, T, 2H)."""
    B, T, H = tf.shape(dY)[0], tf.shape(dY)[1], tf.shape(R)[1]
    mask = tf.sequence_mask(lengths, T, dtype=dY.dtype)[:, :, None]
    dY = dY * mask  # outputs at padded steps are constant zeros
    dhf = dY[:, :, :H]
    dhb = tf.reverse_sequence(dY[:, :, H:], lengths, seq_axis=1, batch_axis=0)
    dhs = tf.transpose(tf.stack([dhf, dhb]), [2, 0, 1, 3])  # (T, 2, B, H) loop order
    RT = tf.transpose(R, [0, 2, 1])  # (2, 4H, H): a plain matmul in the loop is 2-3x faster
    zeros = tf.zeros_like(dhs[0])
    # Everything but the recurrence itself is computed outside the loop, vectorised over time:
    # dz_t = [dc_t, dc_t, dc_t, dh_t] * K_t, dc_t = dc_{t+1} f_{t+1} + dh_t C_t.
    c_prev = tf.concat([zeros[None], cs[:-1]], 0)
    i, f, g, o = tf.split(gs, 4, axis=-1)
    tc = tf.tanh(cs)
    K = tf.concat([g * i * (1.0 - i), c_prev * f * (1.0 - f), i * (1.0 - g * g), tc * o * (1.0 - o)], -1)
    C = o * (1.0 - tc * tc)
    dzs = tf.TensorArray(dY.dtype, size=T)

    def body(t, dh_next, dc_next, dzs):
        s = n - 1 - t
        dh = dhs[s] + dh_next
        dc = dc_next + dh * C[s]
        dz = tf.concat([dc, dc, dc, dh], -1) * K[s]
        return t + 1, tf.matmul(dz, RT), dc * f[s], dzs.write(s, dz)

    _, _, _, dzs = tf.while_loop(
        lambda t, *_: t < n, body, (0, zeros, zeros, dzs), maximum_iterations=T
    )
    dz = dzs.stack()  # (T, 2, B, 4H), loop order; zero beyond n
    h_prev = tf.concat([zeros[None], hs[:-1]], 0)
    dR = tf.einsum("tdbh,tdbg->dhg", h_prev, dz)
    dzf = tf.transpose(dz[:, 0], [1, 0, 2])
    dzb = tf.reverse_sequence(tf.transpose(dz[:, 1], [1, 0, 2]), lengths, seq_axis=1, batch_axis=0)
    # Loop steps past a sequence's length read clamped positions: their dz must not land there.
    dP = tf.concat([dzf, dzb], -1) * mask
    return dP, dR


_forward_train_xla = tf.function(_forward_train, jit_compile=True, reduce_retracing=True)
_forward_infer_xla = tf.function(_forward_infer, jit_compile=True, reduce_retracing=True)
_backward_xla = tf.function(_backward, jit_compile=True, reduce_retracing=True)


def _recurrence(P, R, lengths, training):
    n = tf.reduce_max(lengths)

    @tf.custom_gradient
    def recurrence(P, R):
        # stop_gradient: the tape must not differentiate the compiled loops (grad is below).
        P_, R_ = tf.stop_gradient(P), tf.stop_gradient(R)
        if training:
            y, hs, cs, gs = _forward_train_xla(P_, R_, lengths, n)
        else:
            y = _forward_infer_xla(P_, R_, lengths, n)

        def grad(dy):
            saved = (hs, cs, gs) if training else _forward_train_xla(P_, R_, lengths, n)[1:]
            return _backward_xla(dy, *saved, R_, lengths, n)

        return y, grad

    return recurrence(P, R)


def _t(variable):
    return tf.convert_to_tensor(variable.value)


def fused_bilstm_layer(x, lengths, fw, bw, training=False, bf16=False):
    """One bidirectional layer: x (B, T, F) -> (B, T, 2H), zero at padded steps.

    ``fw`` / ``bw`` are the stock ``LSTMCell``s whose variables are used.
    """
    B, T, F = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    H = fw.units
    # One large matmul for the input projection of every step of both directions.
    W = tf.concat([_t(fw.kernel), _t(bw.kernel)], axis=1)
    b = tf.concat([_t(fw.bias), _t(bw.bias)], axis=0)
    x2 = tf.reshape(x, tf.stack([B * T, F]))
    if bf16:  # bfloat16 operands, float32 accumulation and result (and so its gradients)
        P = tf.cast(tf.matmul(tf.cast(x2, tf.bfloat16), tf.cast(W, tf.bfloat16)), x.dtype)
    else:
        P = tf.matmul(x2, W)
    P = tf.reshape(P + b, tf.stack([B, T, 8 * H]))
    R = tf.stack([_t(fw.recurrent_kernel), _t(bw.recurrent_kernel)])
    return _recurrence(P, R, lengths, training)


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
        self.supports_masking = True  # outputs are per step: the input mask still applies
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
        impl = resolve_implementation(self.implementation)
        if impl.startswith("fused"):
            return self._call_fused(inputs, mask, training, bf16=impl == "fused_bf16")
        x = inputs
        for i, layer in enumerate(self.layers_):
            x = layer(x, mask=mask, training=training)
            if self.drop is not None and i < self.num_layers - 1:
                x = self.drop(x, training=training)
        return x

    def _call_fused(self, inputs, mask, training, bf16=False):
        x = tf.convert_to_tensor(inputs)
        B, T = tf.shape(x)[0], tf.shape(x)[1]
        if mask is None:
            lengths = tf.fill(tf.reshape(B, [1]), T)
        else:
            lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        # Pad time (after every sequence's valid steps) to a multiple of _TIME_QUANTUM.
        Tp = (T + _TIME_QUANTUM - 1) // _TIME_QUANTUM * _TIME_QUANTUM
        x = tf.pad(x, tf.stack([[0, 0], tf.stack([0, Tp - T]), [0, 0]]))
        for i, layer in enumerate(self.layers_):
            x = fused_bilstm_layer(x, lengths, layer.forward_layer.cell, layer.backward_layer.cell, training, bf16)
            if self.drop is not None and i < self.num_layers - 1:
                x = self.drop(x, training=training)
        return x[:, :T]

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
