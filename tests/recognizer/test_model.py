import json
import math

import keras
import numpy as np
import pytest

from recognizer.model import ModelConfig, build_model

FEATURES = 7  # odd on purpose: conv2d halves the feature axis with symmetric padding
VOCAB = 5
FRONTENDS = ("conv1d", "conv2d", "none")
LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 31, 64, 101)


def config_for(frontend, **overrides):
    options = dict(frontend=frontend, conv_channels=(4, 6), conv_kernel=3, conv_strides=(2, 3),
                   lstm_units=8, lstm_layers=1, dropout=0.0)
    if frontend == "none":
        options.update(conv_channels=(), conv_strides=())
    options.update(overrides)
    return ModelConfig(**options)


@pytest.fixture(scope="module", params=FRONTENDS)
def net(request):
    keras.utils.set_random_seed(0)
    config = config_for(request.param)
    return config, build_model(FEATURES, VOCAB, config)


def run(model, x, lengths):
    log_probs, out_lengths = model(np.asarray(x, np.float32), np.asarray(lengths, np.int32))
    return log_probs.numpy(), out_lengths.numpy()


def test_subsampling_and_output_length_formula():
    assert config_for("conv1d").subsampling == 6
    assert config_for("conv2d", conv_strides=(1, 2)).subsampling == 2
    assert config_for("none").subsampling == 1
    for frontend in FRONTENDS:
        config = config_for(frontend)
        for length in range(1, 40):
            assert config.output_length(length) == math.ceil(length / config.subsampling)


def test_output_lengths_agree_with_the_network(net):
    config, model = net
    rng = np.random.default_rng(1)
    longest = max(LENGTHS)
    x = rng.standard_normal((len(LENGTHS), longest, FEATURES))
    log_probs, lengths = run(model, x, LENGTHS)
    assert log_probs.shape == (len(LENGTHS), config.output_length(longest), VOCAB)
    assert lengths.tolist() == [config.output_length(n) for n in LENGTHS]
    # alone, unpadded: the time axis is exactly output_length
    for n in (1, 2, 3, 8, 13):
        alone, alone_lengths = run(model, x[:1, :n], [n])
        assert alone.shape == (1, config.output_length(n), VOCAB)
        assert alone_lengths.tolist() == [config.output_length(n)]


def test_log_probs_are_normalised_per_frame(net):
    _, model = net
    x = np.random.default_rng(2).standard_normal((3, 20, FEATURES)) * 3
    log_probs, _ = run(model, x, [20, 11, 4])
    assert np.all(log_probs <= 0) and np.all(np.isfinite(log_probs))
    np.testing.assert_allclose(np.exp(log_probs.astype(np.float64)).sum(-1), 1.0, atol=1e-5)


# The same numbers are computed along a different path (other batch size and padded length, so
# other matmul shapes and reduction orders in float32); real differences of masking would be of
# the order of the activations (~0.1-1), float32 round-off of these tiny nets stays near 1e-6.
TOL = 1e-5


def _padding_check(model, rng, lengths):
    longest = max(lengths)
    x = rng.standard_normal((len(lengths), longest, FEATURES)).astype(np.float32)
    garbage = x.copy()
    for row, n in enumerate(lengths):
        garbage[row, n:] = rng.uniform(-50, 50, size=(longest - n, FEATURES))  # loud, unlike zeros
    batch, batch_lengths = run(model, garbage, lengths)
    zero_padded = x.copy()
    for row, n in enumerate(lengths):
        zero_padded[row, n:] = 0
    batch_zero, _ = run(model, zero_padded, lengths)
    for row, n in enumerate(lengths):
        alone, alone_lengths = run(model, x[row: row + 1, :n], [n])
        valid = int(alone_lengths[0])
        assert batch_lengths[row] == valid
        np.testing.assert_allclose(batch[row, :valid], alone[0], atol=TOL, rtol=0,
                                   err_msg=f"row {row} (length {n}) changed by padding")
        np.testing.assert_allclose(batch_zero[row, :valid], batch[row, :valid], atol=TOL, rtol=0)


def test_padding_does_not_change_results(net):
    _, model = net
    # mixed lengths, odd and even, some not multiples of the subsampling, one much shorter
    _padding_check(model, np.random.default_rng(3), [23, 1, 8, 17, 6, 3])


def test_padding_does_not_change_results_with_stock_keras_lstm():
    keras.utils.set_random_seed(4)
    for frontend in ("conv1d", "none"):
        model = build_model(FEATURES, VOCAB, config_for(frontend, lstm_impl="keras"))
        _padding_check(model, np.random.default_rng(5), [19, 2, 10, 7])


def test_two_layer_conv2d_padding_with_odd_kernel_five():
    keras.utils.set_random_seed(6)
    model = build_model(FEATURES, VOCAB, config_for("conv2d", conv_kernel=5, lstm_layers=2))
    _padding_check(model, np.random.default_rng(7), [21, 5, 12])


def test_inference_is_deterministic_with_dropout():
    keras.utils.set_random_seed(8)
    model = build_model(FEATURES, VOCAB, config_for("conv1d", dropout=0.5))
    x = np.random.default_rng(9).standard_normal((2, 15, FEATURES))
    a, _ = run(model, x, [15, 9])
    b, _ = run(model, x, [15, 9])
    np.testing.assert_array_equal(a, b)
    trained, _ = model(x.astype(np.float32), np.array([15, 9], np.int32), training=True)
    assert not np.allclose(trained.numpy(), a)


def test_config_round_trip_through_json():
    config = ModelConfig(frontend="conv2d", conv_channels=(3, 5, 7), conv_kernel=7, conv_strides=(1, 2, 2),
                         lstm_units=12, lstm_layers=2, dropout=0.25, lstm_impl="keras")
    data = json.loads(json.dumps(config.to_dict()))
    assert data["conv_channels"] == [3, 5, 7]
    again = ModelConfig.from_dict(data)
    assert again == config
    assert isinstance(again.conv_channels, tuple) and isinstance(again.conv_strides, tuple)
    assert ModelConfig.from_dict({}) == ModelConfig()


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="lstm_unitz"):
        ModelConfig.from_dict({**ModelConfig().to_dict(), "lstm_unitz": 3})


@pytest.mark.parametrize("bad", [
    {"conv_kernel": 4},
    {"conv_kernel": 0},
    {"frontend": "conv3d"},
    {"conv_channels": [8, 8], "conv_strides": [2]},
])
def test_config_rejects_invalid_values(bad):
    with pytest.raises(ValueError):
        ModelConfig.from_dict(bad)


def test_weights_count_depends_on_config_only():
    keras.utils.set_random_seed(10)
    a = build_model(FEATURES, VOCAB, config_for("conv1d"))
    b = build_model(FEATURES, VOCAB, config_for("conv1d"))
    assert [w.shape for w in a.weights] == [w.shape for w in b.weights]
    assert a.count_params() == b.count_params() > 0
    head = [w for w in a.weights if "head" in w.path]
    assert head and head[0].shape[-1] == VOCAB


def test_bucket_sizes_bound_padding_and_the_number_of_shapes():
    import tensorflow as tf

    from recognizer.model import bucket_size

    sizes = [bucket_size(n) for n in range(1, 2049)]
    assert all(n <= b <= max(n, 1.25 * n) for n, b in zip(range(1, 2049), sizes))
    assert sizes == sorted(sizes)
    assert len(set(sizes[1024:])) == 4  # 1025..2048: four sizes per octave
    assert [int(bucket_size(tf.constant(n))) for n in (1, 7, 9, 17, 100, 401, 1000)] == \
        [bucket_size(n) for n in (1, 7, 9, 17, 100, 401, 1000)]


def test_fused_network_pads_to_buckets_without_changing_outputs():
    """Odd batch and time sizes are padded to a bucket before the fused stack and cut back after."""
    import numpy as np
    import tensorflow as tf

    from recognizer.model import ModelConfig, build_model

    config = ModelConfig(frontend="conv1d", conv_channels=(8,), conv_kernel=3, conv_strides=(2,), lstm_units=8,
                         lstm_layers=2, dropout=0.0, lstm_impl="fused")
    fused = build_model(6, 5, config)
    stock = build_model(6, 5, ModelConfig(**{**config.to_dict(), "lstm_impl": "keras"}))
    stock.set_weights(fused.get_weights())
    x = tf.random.normal([3, 37, 6], seed=1)
    lengths = tf.constant([37, 20, 9])
    a, la = fused(x, lengths)
    b, lb = stock(x, lengths)
    assert a.shape == b.shape == (3, 19, 5)
    mask = np.arange(19)[None, :] < lb.numpy()[:, None]
    np.testing.assert_allclose(a.numpy()[mask], b.numpy()[mask], atol=1e-5)
