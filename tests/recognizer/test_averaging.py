"""Weight averaging: weighted means of every weight, checks of lineage, checkpoints as sources,
precision, provenance, and the command line's one-line errors."""
from __future__ import annotations

import json
import shutil
import warnings

import h5py
import keras
import numpy as np
import pytest

from recognizer.alphabet import Alphabet
from recognizer.averaging import average, open_source
from recognizer.bundle import CONFIG, WEIGHTS, build_bundle, load, read_config, write_half_precision_weights
from recognizer.cli import main
from conftest import tiny_image_features, tiny_model_config


def _bundle(folder, seed: int, chars: str = " ab", units: int = 8):
    keras.utils.set_random_seed(seed)
    bundle = build_bundle(tiny_image_features(), Alphabet(chars), tiny_model_config("none", lstm_units=units),
                          name=f"tiny-{seed}", scores={"dev": {"cer": 0.1 * seed, "epoch": seed}})
    bundle.save(folder)
    return bundle


def _weights(folder) -> dict[str, np.ndarray]:
    arrays = {}
    with h5py.File(folder / WEIGHTS, "r") as handle:
        handle.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                          else None)
    return arrays


def test_every_weight_is_the_weighted_mean_and_the_result_loads(tmp_path):
    _bundle(tmp_path / "a", 1)
    _bundle(tmp_path / "b", 2)
    (tmp_path / "a" / "lm").mkdir()
    (tmp_path / "a" / "lm" / "decoder.json").write_text("{}")
    out = average([tmp_path / "a", tmp_path / "b"], tmp_path / "mean", weights=[1, 3])

    a, b, mean = _weights(tmp_path / "a"), _weights(tmp_path / "b"), _weights(out)
    assert a.keys() == mean.keys() and len(mean) >= 4
    floats = [name for name in mean if np.issubdtype(mean[name].dtype, np.floating)]
    assert floats and all(mean[name].dtype == np.float32 for name in floats)
    for name in floats:
        np.testing.assert_allclose(mean[name], 0.25 * a[name] + 0.75 * b[name], rtol=1e-6, atol=1e-7)
    assert any(not np.allclose(a[name], b[name]) for name in floats)  # the two really differ

    config = read_config(out)
    assert [part["weight"] for part in config["training"]["averaged_from"]] == [0.25, 0.75]
    assert [part["dev"]["cer"] for part in config["training"]["averaged_from"]] == [pytest.approx(0.1),
                                                                                      pytest.approx(0.2)]
    assert [part["epoch"] for part in config["training"]["averaged_from"]] == [1, 2]
    assert config["scores"] == {} and config["name"] == "tiny-1"
    assert (out / "lm" / "decoder.json").is_file()
    bundle = load(out)
    x = np.random.default_rng(0).normal(size=(1, 20, 16)).astype(np.float32)
    assert np.isfinite(np.asarray(bundle.model(x, np.array([20]))[0])).all()


def test_a_model_averaged_with_itself_predicts_as_before(tmp_path):
    original = _bundle(tmp_path / "a", 3)
    shutil.copytree(tmp_path / "a", tmp_path / "a2")
    averaged = load(average([tmp_path / "a", tmp_path / "a2"], tmp_path / "mean"))
    x = np.random.default_rng(1).normal(size=(2, 30, 16)).astype(np.float32)
    lengths = np.array([30, 25])
    np.testing.assert_allclose(averaged.model(x, lengths)[0], original.model(x, lengths)[0], rtol=1e-5, atol=1e-6)


def test_half_precision_sources_are_averaged_in_float32(tmp_path):
    _bundle(tmp_path / "a", 4)
    _bundle(tmp_path / "b", 5)
    write_half_precision_weights(tmp_path / "b" / WEIGHTS, tmp_path / "b" / WEIGHTS)
    out = average([tmp_path / "a", tmp_path / "b"], tmp_path / "mean")
    a, b, mean = _weights(tmp_path / "a"), _weights(tmp_path / "b"), _weights(out)
    name = next(n for n in mean if b[n].dtype == np.float16)
    assert mean[name].dtype == np.float32
    np.testing.assert_allclose(mean[name], (a[name] + b[name].astype(np.float32)) / 2, rtol=1e-6, atol=1e-7)


def test_a_training_checkpoint_is_a_source(tmp_path):
    bundle = _bundle(tmp_path / "run", 6)
    checkpoint = tmp_path / "run" / "checkpoints" / "epoch-0003"
    checkpoint.mkdir(parents=True)
    shutil.copyfile(tmp_path / "run" / WEIGHTS, checkpoint / WEIGHTS)
    (checkpoint / "bundle.json").write_text(json.dumps(bundle.config_dict()))  # the run's best scores so far
    (checkpoint / "state.json").write_text(json.dumps({"epoch": 3, "best_epoch": 6}))
    assert open_source(checkpoint).folder == checkpoint
    out = average([tmp_path / "run", checkpoint], tmp_path / "mean")
    run, epoch_3 = read_config(out)["training"]["averaged_from"]
    assert (run["model"], run["epoch"], run["dev"]["epoch"]) == (str(tmp_path / "run"), 6, 6)
    assert (epoch_3["model"], epoch_3["epoch"]) == (str(checkpoint), 3) and "dev" not in epoch_3


@pytest.mark.parametrize("other", [{"chars": " abc"}, {"units": 4}])
def test_models_of_another_lineage_are_refused_by_name(tmp_path, other):
    _bundle(tmp_path / "a", 7)
    _bundle(tmp_path / "b", 8, **other)
    with pytest.raises(ValueError, match=f"{tmp_path / 'b'}: its (alphabet|network) differs"):
        average([tmp_path / "a", tmp_path / "b"], tmp_path / "mean")
    assert not (tmp_path / "mean").exists()


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    _bundle(tmp_path / "a", 9)
    _bundle(tmp_path / "b", 10)
    _bundle(tmp_path / "wider", 11, units=4)
    shutil.copyfile(tmp_path / "wider" / WEIGHTS, tmp_path / "b" / WEIGHTS)  # config says 8 units, weights 4
    with pytest.raises(ValueError, match="has shape"):
        average([tmp_path / "a", tmp_path / "b"], tmp_path / "mean")
    assert not (tmp_path / "mean").exists()


def run(capsys, *argv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    return code, *capsys.readouterr()


def test_command_line(capsys, tmp_path):
    _bundle(tmp_path / "a", 12)
    _bundle(tmp_path / "b", 13)
    code, out, err = run(capsys, "average", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "mean",
                         "--weights", "3,1", "--name", "soup")
    assert code == 0, err
    assert "x0.75" in err and "x0.25" in err
    assert read_config(tmp_path / "mean")["name"] == "soup" and (tmp_path / "mean" / CONFIG).is_file()

    for argv, problem in [((tmp_path / "a",), "at least two models"),
                          ((tmp_path / "a", tmp_path / "b", "--weights", "1"), "1 weights for 2 models"),
                          ((tmp_path / "a", tmp_path / "b", "--weights", "1,0"), "not positive"),
                          ((tmp_path / "a", tmp_path / "nowhere"), "no such folder"),
                          ((tmp_path / "a", tmp_path / "b", "--out", tmp_path / "a"), "one of the models")]:
        if "--out" not in argv:
            argv = (*argv, "--out", tmp_path / "other")
        code, out, err = run(capsys, "average", *argv)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and problem in lines[0] and "Traceback" not in err, err
