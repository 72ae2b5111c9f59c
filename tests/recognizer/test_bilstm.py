"""The fused BiLSTM stack computes what the stock Keras layers compute, from the same weights.

Tolerance (float32): an element of a result may differ from the stock layer's by at most
``2e-5 * (1 + max |stock result|)``. Both compute the same function in float32 but sum in a
different order (the input projection is one matmul over all steps, separate from the recurrent
one; the recurrent-kernel gradient is one matmul over all steps instead of a sum of per-step
ones; oneDNN / Eigen / XLA block their dot products differently). Each step's rounding error is a
few ulps of the dot products (K = features + units terms) and it is carried through up to T steps
of recurrence and back-propagation, so the differences seen are ~1e-7 relative (2e-6 absolute on
gradients of magnitude ~10): the bound leaves a 10x margin while a real error (a wrong gate, a
missed mask, an off-by-one step) shows up at 1e-2 or more.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

from recognizer import bilstm
from recognizer.bilstm import BiLSTMStack, resolve_implementation

F, H = 6, 5


def _close(actual, expected, scale=2e-5, what=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    bound = scale * (1.0 + np.abs(expected).max())
    err = np.abs(actual - expected).max()
    assert err <= bound, f"{what}: max |diff| {err:.3g} > {bound:.3g}"


def _pair(layers, dropout=0.0, seed=0, feat=F):
    keras.utils.set_random_seed(seed)
    stock = BiLSTMStack(H, layers, dropout=dropout, implementation="keras")
    stock.build((None, None, feat))
    fused = BiLSTMStack(H, layers, dropout=dropout, implementation="fused")
    fused.build((None, None, feat))
    rng = np.random.default_rng(seed)
    for s, f in zip(stock.weights, fused.weights):
        # Random (not just initial) weights, biases included, so every gate matters.
        value = rng.normal(0.0, 0.5, s.shape).astype("float32")
        s.assign(value)
        f.assign(value)
    return stock, fused


def _run(layer, x, mask, upstream, training):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, mask=None if mask is None else tf.constant(mask), training=training)
        m = 1.0 if mask is None else tf.cast(mask, tf.float32)[:, :, None]
        loss = tf.reduce_sum(y * upstream * m)  # the model masks padded outputs
    grads = tape.gradient(loss, [x] + layer.trainable_weights)
    return y.numpy(), [g.numpy() for g in grads]


def _data(lengths, T, seed=1, feat=F):
    rng = np.random.default_rng(seed)
    B = len(lengths)
    x = rng.normal(size=(B, T, feat)).astype("float32")
    mask = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    x[~mask] = rng.normal(size=x[~mask].shape) * 100  # padding content must not matter
    upstream = rng.normal(size=(B, T, 2 * H)).astype("float32")
    return x, mask, upstream


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_fused_matches_stock_outputs_and_gradients(layers, padded, training):
    stock, fused = _pair(layers)
    lengths = [11, 1, 7, 10] if padded else [11] * 4
    x, mask, up = _data(lengths, 11)
    mask = mask if padded else None
    ys, gs = _run(stock, x, mask, up, training)
    yf, gf = _run(fused, x, mask, up, training)
    m = np.ones(ys.shape[:2], bool) if mask is None else mask
    _close(yf[m], ys[m], what="outputs at valid steps")
    assert np.isfinite(yf).all()
    names = ["inputs"] + [w.path for w in stock.trainable_weights]
    assert len(gf) == len(gs) == 1 + 6 * layers
    for name, a, b in zip(names, gf, gs):
        _close(a, b, what=f"gradient of {name}")


@pytest.mark.parametrize("training", [True, False])
def test_padding_never_reaches_valid_steps(training):
    """Training and inference are separate code paths (inference zeroes padding only at the end)."""
    _, fused = _pair(3)
    lengths = [9, 1, 4]
    x, mask, up = _data(lengths, 9)
    y_batch, g_batch = _run(fused, x, mask, up, training)
    assert np.abs(y_batch[~mask]).max() == 0.0  # padded outputs are zero (as stock), finite
    assert np.abs(g_batch[0][~mask]).max() == 0.0  # and nothing flows back into padded inputs
    for b, n in enumerate(lengths):
        # The same sequence alone, unpadded: the backward direction starts at its own last step.
        y_one, g_one = _run(fused, x[b : b + 1, :n], None, up[b : b + 1, :n], training)
        _close(y_batch[b, :n], y_one[0], what=f"outputs of sequence {b}")
        _close(g_batch[0][b, :n], g_one[0][0], what=f"input gradient of sequence {b}")


def test_sub_layers_keep_the_stock_weight_layout_and_round_trip(tmp_path):
    def model(impl):
        keras.utils.set_random_seed(3)
        inputs = keras.Input((None, F))
        return keras.Model(inputs, BiLSTMStack(H, 2, implementation=impl, name="stack")(inputs))

    fused, stock = model("fused"), model("keras")
    rng = np.random.default_rng(3)
    for w in fused.weights:
        w.assign(rng.normal(0.0, 0.5, w.shape).astype("float32"))
    # The same stock sub-layers in both: Bidirectional(LSTM) x 2, kernel / recurrent / bias each.
    assert [w.shape for w in fused.weights] == [w.shape for w in stock.weights]
    assert len(fused.weights) == 12
    assert any("bilstm_1/backward_lstm" in w.path and w.path.endswith("recurrent_kernel") for w in fused.weights)
    fused.save_weights(tmp_path / "fused.weights.h5")
    stock.load_weights(tmp_path / "fused.weights.h5")
    x = np.random.default_rng(4).normal(size=(2, 7, F)).astype("float32")
    _close(fused(x).numpy(), stock(x).numpy(), what="fused-trained weights in the stock layers")
    stock.save_weights(tmp_path / "stock.weights.h5")
    again = model("fused")
    again.load_weights(tmp_path / "stock.weights.h5")
    _close(again(x).numpy(), stock(x).numpy(), what="stock weights in the fused layer")


def test_config_and_auto(monkeypatch):
    stack = BiLSTMStack(H, 2, dropout=0.1, implementation="fused")
    config = stack.get_config()
    assert config["implementation"] == "fused"
    clone = BiLSTMStack.from_config(config)
    assert (clone.units, clone.num_layers, clone.dropout, clone.implementation) == (H, 2, 0.1, "fused")
    assert BiLSTMStack(H, 1).implementation == "auto"
    gpu = bool(tf.config.list_logical_devices("GPU"))
    assert resolve_implementation("auto") == ("keras" if gpu else "fused")  # training: float32
    for native in (True, False):  # inference: bfloat16 where the CPU has it
        monkeypatch.setattr(bilstm, "_cpu_has_bf16", lambda native=native: native)
        expected = "keras" if gpu else ("fused_bf16" if native else "fused")
        assert resolve_implementation("auto", training=False) == expected
    assert resolve_implementation("fused", training=False) == "fused"
    with pytest.raises(ValueError):
        BiLSTMStack(H, 1, implementation="cudnn")


def test_dropout_between_layers_trains():
    _, fused = _pair(2, dropout=0.5)
    x, mask, up = _data([6, 3], 6)
    y_train, grads = _run(fused, x, mask, up, True)
    y_eval, _ = _run(fused, x, mask, up, False)
    assert np.isfinite(y_train).all() and all(np.isfinite(g).all() for g in grads)
    assert not np.allclose(y_train, y_eval)  # dropout is active in training only


@pytest.mark.parametrize("training", [True, False])
def test_bf16_is_close(training):
    """``fused_bf16`` rounds matmul operands to bfloat16 (8 significant bits: relative error
    2^-9 per operand) and accumulates in float32; state and gates stay float32. Training rounds
    the input projections, inference the recurrent matmul too. A dot product of K terms then errs
    by ~2^-9 * sqrt(K) * typical term relative to its scale, carried through the recurrence: we
    allow 3e-2 of the largest magnitude; sign errors or a wrong gate would be O(1). (Inference
    gradients are those of the float32 training computation.)"""
    stock, _ = _pair(2)
    bf16 = BiLSTMStack(H, 2, implementation="fused_bf16")
    bf16.build((None, None, F))
    for s, b in zip(stock.weights, bf16.weights):
        b.assign(s)
    x, mask, up = _data([8, 5, 2], 8)
    ys, gs = _run(stock, x, mask, up, training)
    yb, gb = _run(bf16, x, mask, up, training)
    _close(yb[mask], ys[mask], scale=3e-2, what="bf16 outputs")
    assert np.abs(yb[~mask]).max() == 0.0
    for a, b in zip(gb, gs):
        _close(a, b, scale=3e-2, what="bf16 gradients")


@pytest.mark.parametrize("name", ["speech-digits", "handwriting-digits"])
def test_bf16_inference_keeps_what_a_trained_model_says(name, request):
    """The shipped bundles (trained weights, real inputs) under bfloat16 inference vs float32.

    Bound on log-probabilities: 0.15 absolute. Each pre-activation sums K <= 384 bfloat16 products
    (operands rounded by <= 2^-9 relative, errors of random sign: a few 1e-3 of its scale); gates
    pass that on with slope <= 1 and the recurrence mixes rather than amplifies it. Measured on 300
    FSDD recordings: at most 0.04, median 0.013 (handwriting samples: at most 0.03), and not one
    greedy transcript changed. 0.15 leaves ~4x margin, while a real error (a swapped or transposed
    kernel, a missed mask, a direction off by a step) moves log-probabilities by O(1) and changes
    transcripts. Greedy transcripts must all agree."""
    from data_prep.paths import repo_root
    from recognizer.bundle import load
    from recognizer.inference import Recognizer

    if name == "speech-digits":  # 50 recordings: every digit, every speaker
        paths = sorted(request.getfixturevalue("fsdd_dir").glob("*.wav"))[::50]
    else:
        paths = sorted((repo_root() / "pretrained" / "samples" / "handwriting").glob("*.png"))
    assert len(paths) >= 6
    fp32 = Recognizer(load(name, lstm_impl="fused"))
    bf16 = Recognizer(load(name, lstm_impl="fused_bf16"))
    seqs = {i: fp32.featurise(str(p)) for i, p in enumerate(paths)}
    a, b = fp32.log_probs(seqs), bf16.log_probs(seqs)
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in seqs)
    assert worst <= 0.15, f"max |log p(bf16) - log p(float32)| = {worst:.3f}"
    ta = {k: d.text for k, d in fp32.decode_features(seqs).items()}
    tb = {k: d.text for k, d in bf16.decode_features(seqs).items()}
    assert ta == tb
    assert any(ta.values())  # a model that says nothing would agree trivially


def test_fused_under_a_mixed_precision_policy():
    """Float32 arithmetic inside whatever the policy; output in the layer's compute dtype."""
    stock, _ = _pair(1)
    x, mask, _ = _data([7, 4], 7)
    ref = stock(tf.constant(x), mask=tf.constant(mask)).numpy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = BiLSTMStack(H, 1, implementation="fused")
        mixed.build((None, None, F))
        for s, m in zip(stock.weights, mixed.weights):
            m.assign(s)
        y = mixed(tf.constant(x, tf.bfloat16), mask=tf.constant(mask))
    finally:
        keras.config.set_dtype_policy("float32")
    assert y.dtype == tf.bfloat16
    _close(tf.cast(y, tf.float32).numpy()[mask], ref[mask], scale=3e-2, what="mixed-precision outputs")


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="counts the process's memory mappings (Linux)")
def test_a_new_longest_length_in_a_known_shape_compiles_nothing():
    """XLA loads each compiled kernel as new memory mappings, so their count shows compiles: a
    batch of a known (batch, time) shape must reuse the compiled loops whatever its lengths.
    (Once the backward loop indexed time from ``max(lengths)``, every new longest length
    recompiled it: hundreds of 2-5 s compiles per training run, and a crash at the map limit.)"""
    def mappings():
        with open("/proc/self/maps") as handle:
            return sum(1 for _ in handle)

    layer = BiLSTMStack(16, 2, implementation="fused")
    x = tf.random.normal((3, 24, 8))

    def step(longest):
        mask = tf.sequence_mask(tf.constant([longest, 9, 5]), 24)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, mask=mask, training=True))
        tape.gradient(loss, layer.trainable_weights)
        layer(x, mask=mask, training=False)

    step(24)  # compiles this shape's loops
    before = mappings()
    for longest in (20, 17, 13):
        step(longest)
    assert mappings() - before < 12, "a known shape was compiled again"
