"""The bidirectional LSTM stack that reads every modality's frames.

The weights always live in stock Keras ``Bidirectional(LSTM)`` sub-layers, so a bundle's
``model.weights.h5`` has the standard layout whichever implementation computed with them.

Implementations that compute with those same variables:

* ``"keras"``: the stock layers (cuDNN on a GPU, a generic ``while_loop`` on a CPU).
* ``"fused"``: a CPU path built for speed, float32 throughout. In training, per layer it

  - computes the input projection of every time step and both directions as ONE large matmul
    ``x (B*T, F) @ [W_fw | W_bw] (F, 8H)`` (and so its gradients as two large matmuls);
  - runs each direction's recurrence as an XLA-compiled ``while_loop`` (only the recurrence is
    compiled: the CTC loss stays outside) whose step is one ``(B, H) @ (H, 4H)`` matmul plus the
    fused gate math; the two directions are independent calls, which the executor may overlap;
  - reads the backward direction in "loop order": its step t of sequence b is position
    ``lengths[b] - 1 - t`` (a per-step gather), so it starts at each sequence's own last valid
    step and padded steps never reach a valid one; no masking is needed inside the loop;
  - has a hand-written backward pass (back-propagation through time from the activated gates and
    cell states saved by the forward loop): everything that does not depend on the running
    gradient is vectorised over time outside the loop, the loop carries only ``dz_t R^T`` and
    the cell gradient, and the recurrent-kernel gradient is one matmul over all steps.

  In inference (``training=False``) nothing is saved for a backward pass, and each direction of
  each layer is ONE compiled function (its input projection, then its loop, two steps per
  iteration), time-major, so both directions run side by side and layers hand over without
  transposes (see ``infer_bilstm_stack``). A gradient asked for in inference (rare) is that of
  the training computation, recomputed.

  Outputs at padded steps are zero (as in the stock layer), so their gradients are dropped.
  The mask must be a padding mask (valid steps, then padding), which is what the model builds.

* ``"fused_bf16"``: the same with bfloat16 matmul operands, float32 accumulation, and float32
  state and gate math. Training: the input-projection matmuls (forward and gradients). Inference:
  the input projections and the recurrent matmul, both inside the compiled functions (XLA's
  bfloat16 dot: 1.6-1.8x the float32 speed on AVX-512 BF16 here, whether or not TensorFlow's
  oneDNN kernels are on; the package turns them off). Outputs differ from float32 by ~1e-2
  (log-probabilities of the shipped bundles: at most 0.04 over 300 recordings, no greedy
  transcript changed; ``tests/recognizer/test_bilstm.py`` holds the bound).

``"auto"`` picks the stock layers when TensorFlow sees a GPU (cuDNN is fastest there) and the
fused path otherwise: ``"fused"`` for training, ``"fused_bf16"`` for inference when the CPU has
native bfloat16 (``"fused"`` when it has not). Switching implementation never touches the weights.
"""
from __future__ import annotations

import functools

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


@functools.cache
def _cpu_has_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (elsewhere bfloat16 is emulated, and slower)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:  # not Linux: stay with float32
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_implementation(implementation: str, training: bool = True) -> str:
    """The implementation that computes: ``"auto"`` resolved for this machine and phase."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, not {implementation!r}")
    if implementation == "auto":
        if _gpu_visible():
            return "keras"
        return "fused" if training or not _cpu_has_bf16() else "fused_bf16"
    return implementation


# ----------------------------------------------------------------------------------------------
# The recurrence, XLA-compiled. Inputs: P (B, T, 8H), the input projections (bias included) of
# the forward direction (P[..., :4H]) and the backward one (P[..., 4H:]) at each step's natural
# position; R (H, 4H), one direction's recurrent kernel; lengths (B,); n = max(lengths) (the
# loops run n steps; later, all-padding steps are left zero). Gate order i, f, c, o (Keras),
# sigmoid / tanh. d = 0 is the forward direction, d = 1 the backward one, run in "loop order".


def _gate_scale(H4, dtype):
    """0.5 on the sigmoid gates (i, f, o), 1 on the candidate (c): see _activate."""
    H = H4 // 4
    half, one = tf.fill(tf.reshape(H, [1]), tf.constant(0.5, dtype)), tf.ones(tf.reshape(H, [1]), dtype)
    return tf.concat([half, half, one, half], 0)


def _activate(z, scale):
    """Keras gate activations of z (..., 4H): sigmoid(x) = 0.5 tanh(x / 2) + 0.5, so one vectorised
    tanh over all four gates (cheaper than XLA's logistic in an isolated loop; same results to
    float32 rounding)."""
    a = tf.tanh(z * scale)
    ti, tf_, g, to = tf.split(a, 4, axis=-1)
    return 0.5 * ti + 0.5, 0.5 * tf_ + 0.5, g, 0.5 * to + 0.5


def _loop_positions(lengths, t, T):
    """(B,) position of loop step t of the backward direction (clamped; padded steps are free)."""
    return tf.clip_by_value(lengths - 1 - t, 0, T - 1)


def _dir_input(P, lengths, t, T, H4, d):
    if d == 0:
        return P[:, t, :H4]
    return tf.gather(P[:, :, H4:], _loop_positions(lengths, t, T), batch_dims=1)


def _dir_output(hs, lengths, T, d):
    """hs (T, B, H) in loop order -> (B, T, H) at natural positions, zero at padding."""
    h = tf.transpose(hs, [1, 0, 2])
    if d == 1:
        h = tf.reverse_sequence(h, lengths, seq_axis=1, batch_axis=0)
    return h * tf.sequence_mask(lengths, T, dtype=hs.dtype)[:, :, None]


def _forward_train_dir(P, R, lengths, d):
    B, T, H4 = tf.shape(P)[0], tf.shape(P)[1], tf.shape(P)[2] // 2
    n = tf.reduce_max(lengths)
    zeros = tf.zeros(tf.stack([B, H4 // 4]), P.dtype)
    scale = _gate_scale(H4, P.dtype)
    hs = tf.TensorArray(P.dtype, size=T)
    cs = tf.TensorArray(P.dtype, size=T)
    gs = tf.TensorArray(P.dtype, size=T)

    def body(t, h, c, hs, cs, gs):
        z = _dir_input(P, lengths, t, T, H4, d) + tf.matmul(h, R)
        i, f, g, o = _activate(z, scale)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return t + 1, h, c, hs.write(t, h), cs.write(t, c), gs.write(t, tf.concat([i, f, g, o], -1))

    _, _, _, hs, cs, gs = tf.while_loop(
        lambda t, *_: t < n, body, (0, zeros, zeros, hs, cs, gs), maximum_iterations=T
    )
    hs = hs.stack()
    return _dir_output(hs, lengths, T, d), hs, cs.stack(), gs.stack()


def _backward_dir(dY, hs, cs, gs, R, lengths, d):
    """One direction's BPTT: dP (B, T, 4H) and dR (H, 4H) from its dY (B, T, H)."""
    T = tf.shape(dY)[1]
    n = tf.reduce_max(lengths)
    mask = tf.sequence_mask(lengths, T, dtype=dY.dtype)[:, :, None]
    dY = dY * mask  # outputs at padded steps are constant zeros
    if d == 1:
        dY = tf.reverse_sequence(dY, lengths, seq_axis=1, batch_axis=0)
    dhs = tf.transpose(dY, [1, 0, 2])  # (T, B, H) loop order
    RT = tf.transpose(R)  # (4H, H): a plain matmul in the loop is 2-3x faster than transpose_b
    zeros = tf.zeros_like(dhs[0])
    # Everything but the recurrence itself is vectorised over time, outside the loop:
    # dz_t = [dc_t, dc_t, dc_t, dh_t] * K_t, dc_t = dc_{t+1} f_{t+1} + dh_t C_t.
    c_prev = tf.concat([zeros[None], cs[:-1]], 0)
    i, f, g, o = tf.split(gs, 4, axis=-1)
    tc = tf.tanh(cs)
    K = tf.concat([g * i * (1.0 - i), c_prev * f * (1.0 - f), i * (1.0 - g * g), tc * o * (1.0 - o)], -1)
    C = o * (1.0 - tc * tc)
    dzs = tf.TensorArray(dY.dtype, size=T)

    # s runs n-1 .. 0 as a loop variable: an index computed from n (and so from ``lengths``)
    # would make XLA treat ``lengths`` as a compile-time constant and compile once per batch
    def body(s, dh_next, dc_next, dzs):
        dh = dhs[s] + dh_next
        dc = dc_next + dh * C[s]
        dz = tf.concat([dc, dc, dc, dh], -1) * K[s]
        return s - 1, tf.matmul(dz, RT), dc * f[s], dzs.write(s, dz)

    _, _, _, dzs = tf.while_loop(
        lambda s, *_: s >= 0, body, (n - 1, zeros, zeros, dzs), maximum_iterations=T
    )
    dz = dzs.stack()  # (T, B, 4H), loop order; zero beyond n
    h_prev = tf.concat([zeros[None], hs[:-1]], 0)
    H4 = tf.shape(dz)[2]
    # The recurrent-kernel gradient: one matmul over all steps.
    dR = tf.matmul(
        tf.reshape(h_prev, tf.stack([-1, H4 // 4])), tf.reshape(dz, tf.stack([-1, H4])), transpose_a=True
    )
    dz = tf.transpose(dz, [1, 0, 2])
    if d == 1:
        dz = tf.reverse_sequence(dz, lengths, seq_axis=1, batch_axis=0)
    return dz * mask, dR


_forward_train_dir_xla = tf.function(_forward_train_dir, jit_compile=True, reduce_retracing=True)
_backward_dir_xla = tf.function(_backward_dir, jit_compile=True, reduce_retracing=True)


def _recurrence(P, Rf, Rb, lengths):
    """(B, T, 2H) outputs of both directions from the projections P and recurrent kernels."""
    H = tf.shape(Rf)[0]

    @tf.custom_gradient
    def recurrence(P, Rf, Rb):
        # stop_gradient: the tape must not differentiate the compiled loops (grad is below).
        P, R = tf.stop_gradient(P), (tf.stop_gradient(Rf), tf.stop_gradient(Rb))
        saved = [_forward_train_dir_xla(P, R[d], lengths, d) for d in (0, 1)]
        y = tf.concat([saved[0][0], saved[1][0]], -1)

        def grad(dy):
            dys = (dy[:, :, :H], dy[:, :, H:])
            (dPf, dRf), (dPb, dRb) = [
                _backward_dir_xla(dys[d], *saved[d][1:], R[d], lengths, d) for d in (0, 1)
            ]
            return tf.concat([dPf, dPb], -1), dRf, dRb

        return y, grad

    return recurrence(P, Rf, Rb)


def _t(variable):
    # float32 whatever the dtype policy: the fused path keeps its arithmetic and state in float32.
    return tf.cast(tf.convert_to_tensor(variable.value), tf.float32)


def _cell_weights(fw, bw):
    """(kernel, recurrent kernel, bias) of each direction's stock ``LSTMCell``, float32 tensors."""
    return tuple(_t(v) for cell in (fw, bw) for v in (cell.kernel, cell.recurrent_kernel, cell.bias))


def fused_bilstm_layer(x, lengths, weights, bf16=False):
    """One bidirectional layer for training: x (B, T, F) -> (B, T, 2H), zero at padded steps.

    ``weights``: ``_cell_weights`` of the layer's stock cells.
    """
    Wf, Rf, bf, Wb, Rb, bb = weights
    B, T, F = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    H = tf.shape(Rf)[0]
    # One large matmul for the input projection of every step of both directions.
    W = tf.concat([Wf, Wb], axis=1)
    x2 = tf.reshape(x, tf.stack([B * T, F]))
    if bf16:  # bfloat16 operands, float32 accumulation (and so its gradients)
        P = tf.cast(tf.matmul(tf.cast(x2, tf.bfloat16), tf.cast(W, tf.bfloat16)), x.dtype)
    else:
        P = tf.matmul(x2, W)
    P = tf.reshape(P + tf.concat([bf, bb], axis=0), tf.stack([B, T, 8 * H]))
    return _recurrence(P, Rf, Rb, lengths)


# ----------------------------------------------------------------------------------------------
# Inference (no state kept for a backward pass): per layer and direction ONE XLA-compiled function
# computes the input projection of all steps and runs the recurrence, so the two directions are
# two independent launches that the executor runs side by side. Time-major throughout: a loop
# step reads and writes contiguous rows and layers hand over without transposes. The bias is
# added inside the loop, to the step being computed, instead of in a pass over all projections.
# Padded steps are left as they come (they never reach a valid step: the forward loop meets them
# after a sequence's valid steps, the backward loop never reads them) and are zeroed once, at the
# stack's output.


def _bf16_matmul(a, b):
    """a @ b on bfloat16 operands with a float32 result (XLA accumulates in float32)."""
    return tf.raw_ops.BatchMatMulV3(x=tf.cast(a, tf.bfloat16), y=tf.cast(b, tf.bfloat16), Tout=tf.float32)


def _infer_dir(x, W, R, b, lengths, d, bf16):
    """One direction of one layer: x (T, B, F) -> h (T, B, H) at natural positions (not zeroed
    at padded ones). ``bf16``: both matmuls on bfloat16 operands (state and gates stay float32)."""
    T, B, F = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    n = tf.reduce_max(lengths)
    H4 = tf.shape(R)[1]
    H = H4 // 4
    matmul = _bf16_matmul if bf16 else tf.matmul
    P = tf.reshape(matmul(tf.reshape(x, tf.stack([T * B, F])), W), tf.stack([T, B, H4]))
    R = tf.cast(R, tf.bfloat16) if bf16 else R  # once, not per step
    scale = _gate_scale(H4, tf.float32)
    rows = tf.range(B)

    def step(t, h, c):
        if d == 0:
            p = P[t]
        else:  # loop order: step t of sequence b is position lengths[b] - 1 - t
            p = tf.gather_nd(P, tf.stack([_loop_positions(lengths, t, T), rows], 1))
        rec = tf.raw_ops.BatchMatMulV3(x=tf.cast(h, tf.bfloat16), y=R, Tout=tf.float32) if bf16 else tf.matmul(h, R)
        i, f, g, o = _activate(p + b + rec, scale)
        c = f * c + i * g
        return o * tf.tanh(c), c

    def body(t, h, c, hs):
        # Two steps per iteration (less loop overhead). An odd n runs one step more, a padded one:
        # T is a multiple of _TIME_QUANTUM, so it exists.
        for k in range(2):
            h, c = step(t + k, h, c)
            hs = hs.write(t + k, h)
        return t + 2, h, c, hs

    zeros = tf.zeros(tf.stack([B, H]), tf.float32)
    hs = tf.TensorArray(tf.float32, size=T)
    _, _, _, hs = tf.while_loop(lambda t, *_: t < n, body, (0, zeros, zeros, hs), maximum_iterations=T // 2)
    hs = hs.stack()
    if d == 1:
        hs = tf.reverse_sequence(hs, lengths, seq_axis=0, batch_axis=1)
    return hs


_infer_dir_xla = tf.function(_infer_dir, jit_compile=True, reduce_retracing=True)


def infer_bilstm_stack(x, lengths, weights, bf16=False):
    """Forward-only stack: x (B, T, F) -> (B, T, 2H), zero at padded steps. ``weights``: each
    layer's ``_cell_weights``; T must be a multiple of ``_TIME_QUANTUM``."""
    x = tf.transpose(x, [1, 0, 2])  # (T, B, F)
    for Wf, Rf, bf, Wb, Rb, bb in weights:
        x = tf.concat([_infer_dir_xla(x, Wf, Rf, bf, lengths, 0, bf16),
                       _infer_dir_xla(x, Wb, Rb, bb, lengths, 1, bf16)], -1)
    mask = tf.sequence_mask(lengths, tf.shape(x)[0], dtype=x.dtype)
    return tf.transpose(x, [1, 0, 2]) * mask[:, :, None]


@keras.saving.register_keras_serializable(package="recognizer")
class BiLSTMStack(keras.layers.Layer):
    """``num_layers`` bidirectional LSTMs of ``units`` per direction, outputs concatenated.

    Call with ``(inputs (B, T, F), mask (B, T) bool)``; padded steps (mask False) never influence
    valid steps, in either direction, so a padded input gives the same output as the unpadded one.
    The mask must be a padding mask (each row: valid steps, then padding). Outputs at padded steps
    are zero.

    ``implementation``: ``"keras"`` (stock layers), ``"fused"`` (the fast CPU path above),
    ``"fused_bf16"`` (bfloat16 matmuls) or ``"auto"`` (stock when a GPU is visible; otherwise
    fused, with bfloat16 in inference on CPUs that have it). Weights are the same variables
    whichever is chosen.
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
        impl = resolve_implementation(self.implementation, training=bool(training))
        if impl.startswith("fused"):
            return self._call_fused(inputs, mask, training, bf16=impl == "fused_bf16")
        x = inputs
        for i, layer in enumerate(self.layers_):
            x = layer(x, mask=mask, training=training)
            if self.drop is not None and i < self.num_layers - 1:
                x = self.drop(x, training=training)
        return x

    def _call_fused(self, inputs, mask, training, bf16=False):
        x = tf.cast(inputs, tf.float32)
        B, T = tf.shape(x)[0], tf.shape(x)[1]
        if mask is None:
            lengths = tf.fill(tf.reshape(B, [1]), T)
        else:
            lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        # Pad time (after every sequence's valid steps) to a multiple of _TIME_QUANTUM.
        Tp = (T + _TIME_QUANTUM - 1) // _TIME_QUANTUM * _TIME_QUANTUM
        x = tf.pad(x, tf.stack([[0, 0], tf.stack([0, Tp - T]), [0, 0]]))
        weights = [_cell_weights(layer.forward_layer.cell, layer.backward_layer.cell) for layer in self.layers_]
        if training:
            y = self._train_stack(x, lengths, weights, bf16)
        else:
            y = self._infer_stack(x, lengths, weights, bf16)
        return tf.cast(y[:, :T], inputs.dtype)

    def _train_stack(self, x, lengths, weights, bf16, dropout=True):
        for i, layer in enumerate(weights):
            x = fused_bilstm_layer(x, lengths, layer, bf16)
            if dropout and self.drop is not None and i < self.num_layers - 1:
                x = self.drop(x, training=True)
        return x

    def _infer_stack(self, x, lengths, weights, bf16):
        flat = [w for layer in weights for w in layer]

        @tf.custom_gradient
        def infer(x, *flat):
            layers = [flat[i : i + 6] for i in range(0, len(flat), 6)]
            # stop_gradient: the tape must not differentiate the compiled loops (grad is below).
            frozen = [[tf.stop_gradient(w) for w in layer] for layer in layers]
            y = infer_bilstm_stack(tf.stop_gradient(x), lengths, frozen, bf16)

            def grad(dy):
                # Rarely wanted in inference: recompute through the training path (float32,
                # no dropout) and differentiate that.
                with tf.GradientTape() as tape:
                    tape.watch([x, *flat])
                    y_ref = self._train_stack(x, lengths, layers, False, dropout=False)
                return tape.gradient(y_ref, [x, *flat], output_gradients=dy)

            return y, grad

        return infer(x, *flat)

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
