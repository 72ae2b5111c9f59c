import json
import os
import shutil

import numpy as np
import pytest
from conftest import tiny_audio_features, tiny_image_features, tiny_model_config

from recognizer import bundle as bundle_mod
from recognizer.alphabet import Alphabet
from recognizer.bundle import (
    CONFIG,
    FORMAT,
    WEIGHTS,
    build_bundle,
    load,
    read_config,
    resolve,
    write_half_precision_weights,
)


def outputs(b, length=19):
    x = np.random.default_rng(0).standard_normal((2, length, b.model.feature_dim)).astype(np.float32)
    log_probs, lengths = b.model(x, np.array([length, length - 6], np.int32))
    return log_probs.numpy(), lengths.numpy()


@pytest.mark.parametrize("kind", ["audio", "image"])
def test_save_load_round_trip(tmp_path, kind):
    if kind == "audio":
        features, alphabet, config = tiny_audio_features(), Alphabet(" abc"), tiny_model_config("conv1d")
    else:
        features, alphabet, config = tiny_image_features(), Alphabet("xyz", lowercase=True), tiny_model_config("conv2d")
    original = build_bundle(features, alphabet, config, name=f"tiny-{kind}",
                            training={"epochs": 3}, scores={"dev_cer": 0.5})
    folder = original.save(tmp_path / "b")
    assert original.path == folder
    assert (folder / CONFIG).is_file() and (folder / WEIGHTS).is_file()

    loaded = load(folder)
    assert loaded.modality == kind
    assert loaded.features == features and loaded.alphabet == alphabet
    assert loaded.model_config == config
    assert (loaded.name, loaded.training, loaded.scores) == (f"tiny-{kind}", {"epochs": 3}, {"dev_cer": 0.5})
    assert loaded.config_dict() == original.config_dict()
    assert loaded.path == folder
    a, b = outputs(original), outputs(loaded)
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0], b[0])  # same weights, same graph: bit-identical


def test_half_precision_weights_load_into_the_float32_network(tmp_path):
    import h5py

    original = build_bundle(tiny_image_features(), Alphabet("xyz"), tiny_model_config("conv2d"))
    folder = original.save(tmp_path / "b")

    def arrays():
        found = []
        with h5py.File(folder / WEIGHTS) as f:
            f.visititems(lambda name, item: found.append((item.dtype, item.nbytes)) if isinstance(item, h5py.Dataset) else None)
        return found

    full = sum(size for _, size in arrays())
    cast = write_half_precision_weights(folder / WEIGHTS, folder / WEIGHTS)
    assert cast == len(original.model.weights)
    assert {dtype for dtype, _ in arrays()} == {np.dtype(np.float16)}
    assert sum(size for _, size in arrays()) == full // 2
    loaded = load(folder)
    assert {w.dtype for w in loaded.model.weights} == {"float32"}
    for a, b in zip(original.model.weights, loaded.model.weights, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=2**-11, atol=1e-7)
    np.testing.assert_allclose(outputs(loaded)[0], outputs(original)[0], atol=0.02)
    assert not list(folder.glob(".*tmp*"))


def test_config_json_contents(tmp_path):
    b = build_bundle(tiny_audio_features(), Alphabet("ab"), tiny_model_config("none"), name="x")
    data = json.loads((b.save(tmp_path / "x") / CONFIG).read_text(encoding="utf-8"))
    assert data["format"] == FORMAT and data["modality"] == "audio"
    assert data["features"]["kind"] == "log_mel" and data["alphabet"]["chars"] == ["a", "b"]
    assert data["model"]["lstm_units"] == 8


def test_fresh_bundles_differ_until_loaded(tmp_path):
    a = build_bundle(tiny_audio_features(), Alphabet("ab"), tiny_model_config("conv1d"))
    b = build_bundle(tiny_audio_features(), Alphabet("ab"), tiny_model_config("conv1d"))
    assert not np.allclose(outputs(a)[0], outputs(b)[0])  # weights really are loaded, not rebuilt
    a.save(tmp_path / "a")
    np.testing.assert_array_equal(outputs(load(tmp_path / "a"))[0], outputs(a)[0])


def test_load_overrides_lstm_impl_only(tmp_path, audio_bundle_dir):
    fused = load(audio_bundle_dir, lstm_impl="fused")
    stock = load(audio_bundle_dir, lstm_impl="keras")
    assert fused.model_config.lstm_impl == "fused" and stock.model_config.lstm_impl == "keras"
    assert read_config(audio_bundle_dir)["model"]["lstm_impl"] == "auto"
    np.testing.assert_allclose(outputs(fused)[0], outputs(stock)[0], atol=1e-5)


def test_name_resolves_through_environment(tmp_path, monkeypatch, audio_bundle_dir):
    first, second = tmp_path / "first", tmp_path / "second"
    shutil.copytree(audio_bundle_dir, second / "my-model")
    first.mkdir()
    monkeypatch.setenv("RECOGNIZER_MODELS", os.pathsep.join([str(first), str(second)]))
    monkeypatch.chdir(tmp_path)
    assert resolve("my-model") == second / "my-model"
    shutil.copytree(audio_bundle_dir, first / "my-model")  # the first folder wins
    assert resolve("my-model") == first / "my-model"
    assert load("my-model").name == "tiny-audio"


def test_path_resolves_to_itself(tmp_path, monkeypatch, audio_bundle_dir):
    assert resolve(audio_bundle_dir) == audio_bundle_dir
    assert resolve(str(audio_bundle_dir)) == audio_bundle_dir
    shutil.copytree(audio_bundle_dir, tmp_path / "here")
    monkeypatch.chdir(tmp_path)
    assert resolve("./here").resolve() == (tmp_path / "here").resolve()
    # a path is never looked up by name, even when a bundle of that name exists elsewhere
    monkeypatch.setenv("RECOGNIZER_MODELS", str(tmp_path))
    with pytest.raises(FileNotFoundError):
        resolve(os.path.join("nowhere", "here"))


def test_unknown_name_lists_available(tmp_path, monkeypatch, audio_bundle_dir):
    shutil.copytree(audio_bundle_dir, tmp_path / "alpha")
    shutil.copytree(audio_bundle_dir, tmp_path / "beta")
    (tmp_path / "not-a-bundle").mkdir()
    monkeypatch.setenv("RECOGNIZER_MODELS", str(tmp_path))
    monkeypatch.chdir(tmp_path / "not-a-bundle")
    with pytest.raises(FileNotFoundError) as info:
        resolve("gamma")
    message = str(info.value)
    assert message.startswith("gamma: ")
    assert "alpha" in message and "beta" in message and "not-a-bundle" not in message
    assert "\n" not in message


def test_folder_without_config_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / WEIGHTS).write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=CONFIG) as info:
        load(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(info.value)


def test_newer_format_is_refused(tmp_path, audio_bundle_dir):
    folder = tmp_path / "future"
    shutil.copytree(audio_bundle_dir, folder)
    data = json.loads((folder / CONFIG).read_text())
    data["format"] = FORMAT + 1
    (folder / CONFIG).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="newer") as info:
        load(folder)
    assert str(folder / CONFIG) in str(info.value)
    data["format"] = FORMAT
    (folder / CONFIG).write_text(json.dumps(data))
    assert load(folder).name == "tiny-audio"


def test_saving_replaces_files_atomically(tmp_path, monkeypatch):
    folder = tmp_path / "b"
    first = build_bundle(tiny_audio_features(), Alphabet("ab"), tiny_model_config("none"), name="one")
    first.save(folder)
    (folder / "MODEL_CARD.md").write_text("card")
    second = build_bundle(tiny_audio_features(), Alphabet("ab"), tiny_model_config("none"), name="two")

    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(bundle_mod.os, "replace", lambda a, b: (replaced.append((str(a), str(b))), real_replace(a, b))[1])
    second.save(folder)
    assert {os.path.basename(b) for _, b in replaced} == {CONFIG, WEIGHTS}
    assert all(os.path.dirname(a) == str(folder) for a, _ in replaced)  # same folder: a rename
    assert sorted(p.name for p in folder.iterdir()) == sorted(["MODEL_CARD.md", CONFIG, WEIGHTS])
    loaded = load(folder)
    assert loaded.name == "two"
    np.testing.assert_array_equal(outputs(loaded)[0], outputs(second)[0])


def test_copy_to_keeps_extra_files(tmp_path, audio_bundle_dir):
    shutil.copytree(audio_bundle_dir, tmp_path / "src")
    (tmp_path / "src" / "lm").mkdir()
    (tmp_path / "src" / "lm" / "words.txt").write_text("a\n")
    b = load(tmp_path / "src")
    b.copy_to(tmp_path / "dst")
    assert (tmp_path / "dst" / "lm" / "words.txt").read_text() == "a\n"
    assert load(tmp_path / "dst").config_dict() == b.config_dict()
