"""A training recipe: features, alphabet, network, augmentation and loop options in one JSON file.

Every section is optional. Without ``features`` the modality is taken from the training files
(audio -> default log-mel, images -> default columns); without ``alphabet`` it is collected from
the training transcripts; ``augment`` defaults to the modality's standard augmentation,
may name a preset (``"speech-robust"``, see data_prep/augment_audio.py), and
``"augment": null`` switches it off.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_prep.audio import AUDIO_EXTENSIONS
from data_prep.augment_audio import PRESETS as AUDIO_PRESETS
from data_prep.augment_audio import AudioAugmentConfig
from data_prep.augment_image import ImageAugmentConfig
from data_prep.extractors import feature_config_from_dict
from data_prep.line_image import LineConfig
from data_prep.log_mel import LogMelConfig
from recognizer.alphabet import Alphabet
from recognizer.model import ModelConfig
from recognizer.training import TrainConfig

SECTIONS = ("name", "features", "alphabet", "model", "augment", "train")
DEFAULT = "default"


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file's content; invalid JSON becomes one ValueError line naming the file and line."""
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None


@dataclass
class Recipe:
    name: str = ""
    features: LogMelConfig | LineConfig | None = None
    alphabet: Alphabet | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AudioAugmentConfig | ImageAugmentConfig | str | None = DEFAULT
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Recipe":
        if not isinstance(data, dict):
            raise ValueError("a recipe must be a JSON object")
        unknown = set(data) - set(SECTIONS)
        if unknown:
            raise ValueError(f"unknown recipe section(s): {', '.join(sorted(unknown))}; expected {', '.join(SECTIONS)}")
        recipe = cls(name=data.get("name", ""))
        if data.get("features"):
            recipe.features = feature_config_from_dict(data["features"])
        if data.get("alphabet"):
            recipe.alphabet = Alphabet.from_dict(data["alphabet"])
        if "model" in data:
            recipe.model = ModelConfig.from_dict(data["model"])
        if "train" in data:
            recipe.train = TrainConfig.from_dict(data["train"])
        if "augment" in data:
            recipe.augment = data["augment"] if data["augment"] in (None, DEFAULT) else data["augment"]
        return recipe

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Recipe":
        data = read_json(path)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a recipe must be a JSON object with sections {', '.join(SECTIONS)}")
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from None

    def resolve_features(self, example_path: str) -> LogMelConfig | LineConfig:
        """The feature config, defaulting by the modality of a training file."""
        if self.features is not None:
            return self.features
        return LogMelConfig() if Path(example_path).suffix.lower() in AUDIO_EXTENSIONS else LineConfig()

    def resolve_augment(self, features) -> AudioAugmentConfig | ImageAugmentConfig | None:
        """The augmentation config matching the features' modality (or None when switched off)."""
        kind = AudioAugmentConfig if isinstance(features, LogMelConfig) else ImageAugmentConfig
        if self.augment is None or self.augment is False:
            return None
        if self.augment == DEFAULT:
            return kind()
        if isinstance(self.augment, str):  # a named preset, e.g. "speech-robust"
            if kind is AudioAugmentConfig and self.augment in AUDIO_PRESETS:
                return kind.from_dict(AUDIO_PRESETS[self.augment])
            raise ValueError(f"unknown augment preset {self.augment!r} for {type(features).__name__} features")
        if isinstance(self.augment, dict):
            return kind.from_dict(self.augment)
        if not isinstance(self.augment, kind):
            raise ValueError(f"{type(self.augment).__name__} does not fit {type(features).__name__} features")
        return self.augment
