import json

import pytest

from data_prep.augment_audio import AudioAugmentConfig
from data_prep.augment_image import ImageAugmentConfig
from data_prep.line_image import LineConfig
from data_prep.log_mel import LogMelConfig
from recognizer.alphabet import Alphabet
from recognizer.model import ModelConfig
from recognizer.recipe import Recipe
from recognizer.training import TrainConfig


def write(tmp_path, data, name="recipe.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_all_sections_parsed(tmp_path):
    data = {
        "name": "digits",
        "features": {"kind": "columns", "height": 24, "pad": 3},
        "alphabet": {"chars": [" ", "0", "1"], "lowercase": True},
        "model": {"frontend": "none", "conv_channels": [], "conv_strides": [], "lstm_units": 16, "lstm_layers": 2},
        "augment": {"rotate_deg": 0.5},
        "train": {"epochs": 4, "max_batch": 8},
    }
    recipe = Recipe.load(write(tmp_path, data))
    assert recipe.name == "digits"
    assert recipe.features == LineConfig(height=24, pad=3)
    assert recipe.alphabet == Alphabet(" 01", lowercase=True)
    assert recipe.model == ModelConfig(frontend="none", conv_channels=(), conv_strides=(), lstm_units=16, lstm_layers=2)
    assert recipe.train.epochs == 4 and recipe.train.max_batch == 8
    assert recipe.train.learning_rate == TrainConfig().learning_rate
    assert recipe.resolve_augment(recipe.features) == ImageAugmentConfig(rotate_deg=0.5)
    assert recipe.resolve_features("anything.wav") is recipe.features  # explicit features win


def test_empty_recipe_gives_defaults():
    recipe = Recipe.from_dict({})
    assert recipe.name == "" and recipe.features is None and recipe.alphabet is None
    assert recipe.model == ModelConfig() and recipe.train == TrainConfig()
    assert recipe == Recipe()


def test_unknown_section_is_rejected_by_name():
    with pytest.raises(ValueError, match="optimiser") as info:
        Recipe.from_dict({"model": {}, "optimiser": {}})
    assert "train" in str(info.value)  # the message lists what is expected


@pytest.mark.parametrize("section, body", [
    ("model", {"lstm_unitz": 3}),
    ("train", {"epochz": 3}),
    ("features", {"kind": "log_mel", "n_melz": 3}),
    ("features", {"kind": "spectrogram"}),
])
def test_unknown_keys_inside_sections_are_rejected(section, body):
    with pytest.raises(ValueError):
        Recipe.from_dict({section: body})


@pytest.mark.parametrize("example, kind", [
    ("a/b/utt.wav", LogMelConfig), ("x.FLAC", LogMelConfig), ("x.mp3", LogMelConfig), ("x.ogg", LogMelConfig),
    ("line.png", LineConfig), ("line.JPG", LineConfig), ("line.tif", LineConfig),
])
def test_features_default_by_modality_of_the_training_files(example, kind):
    features = Recipe().resolve_features(example)
    assert type(features) is kind and features == kind()


def test_augment_default_follows_the_features():
    recipe = Recipe.from_dict({"augment": "default"})
    assert recipe.resolve_augment(LogMelConfig()) == AudioAugmentConfig()
    assert recipe.resolve_augment(LineConfig()) == ImageAugmentConfig()
    assert Recipe.from_dict({}).resolve_augment(LogMelConfig()) == AudioAugmentConfig()


@pytest.mark.parametrize("off", [None, False])
def test_augment_null_switches_it_off(off):
    recipe = Recipe.from_dict({"augment": off})
    assert recipe.resolve_augment(LogMelConfig()) is None
    assert recipe.resolve_augment(LineConfig()) is None


def test_augment_null_from_a_file(tmp_path):
    recipe = Recipe.load(write(tmp_path, '{"augment": null}'))
    assert recipe.resolve_augment(LogMelConfig()) is None


def test_augment_dict_is_read_for_the_modality():
    recipe = Recipe.from_dict({"augment": {"speeds": [0.9, 1.0], "time_masks": 0}})
    config = recipe.resolve_augment(LogMelConfig())
    assert config == AudioAugmentConfig(speeds=(0.9, 1.0), time_masks=0)
    with pytest.raises(ValueError, match="speeds"):  # audio options make no sense for images
        recipe.resolve_augment(LineConfig())


def test_augment_config_object_must_fit_the_features():
    recipe = Recipe(augment=ImageAugmentConfig())
    assert recipe.resolve_augment(LineConfig()) == ImageAugmentConfig()
    with pytest.raises(ValueError):
        recipe.resolve_augment(LogMelConfig())


def test_bad_json_names_the_file_and_line(tmp_path):
    path = write(tmp_path, '{\n  "model": {"lstm_units": 8,}\n}')
    with pytest.raises(ValueError) as info:
        Recipe.load(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "JSON" in message and "line 2" in message


def test_missing_recipe_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        Recipe.load(tmp_path / "none.json")


@pytest.mark.parametrize("text", ['[1, 2]', '["model"]'])
def test_recipe_that_is_not_an_object_names_the_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        Recipe.load(path)
    assert str(path) in str(info.value)
