"""Model bundles: a folder with ``config.json`` and ``model.weights.h5`` (weights only).

Loading a bundle never deserialises code: the network is rebuilt from the JSON config and the
weights are read into it. A name without a path separator resolves to a folder of shipped or
installed bundles (see :func:`resolve`); a path resolves to itself. An optional ``lm/`` folder
holds language models, lexicons and ``decoder.json``, the decoding used by default
(:mod:`recognizer.decoder_config`).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from data_prep.extractors import feature_config_from_dict, make_extractor
from recognizer.alphabet import Alphabet
from recognizer.model import ModelConfig, RecognizerNet, build_model

CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
LM_DIR = "lm"
FORMAT = 1


def search_path() -> list[Path]:
    """Folders searched for a bundle given by name, first match wins.

    ``$RECOGNIZER_MODELS`` (``os.pathsep``-separated), then the repository's ``pretrained/``
    (a source checkout or an editable install), then ``<prefix>/share/recognizer/pretrained``
    (a regular ``pip install``).
    """
    folders = [Path(p) for p in os.environ.get("RECOGNIZER_MODELS", "").split(os.pathsep) if p]
    folders.append(Path(__file__).resolve().parent.parent / "pretrained")
    folders.append(Path(sys.prefix) / "share" / "recognizer" / "pretrained")
    return folders


def resolve(name_or_path: str | os.PathLike) -> Path:
    """The bundle folder for a name (``speech-digits``) or a path; FileNotFoundError if none."""
    text = str(name_or_path)
    candidate = Path(text).expanduser()
    if (candidate / CONFIG).is_file():
        return candidate
    if os.sep in text or (os.altsep and os.altsep in text) or text.startswith("."):
        problem = f"not a model bundle (no {CONFIG})" if candidate.is_dir() else "no such folder"
        raise FileNotFoundError(f"{text}: {problem}")
    for folder in search_path():
        if (folder / text / CONFIG).is_file():
            return folder / text
    available = sorted({p.parent.name for folder in search_path() if folder.is_dir() for p in folder.glob(f"*/{CONFIG}")})
    raise FileNotFoundError(f"{text}: no such model (available: {', '.join(available) or 'none'})")


@dataclass
class Bundle:
    """Everything needed to recognise: features, alphabet, network, and where they came from."""

    features: Any  # LogMelConfig or LineConfig
    alphabet: Alphabet
    model_config: ModelConfig
    model: RecognizerNet
    name: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def modality(self) -> str:
        return make_extractor(self.features).modality

    @property
    def lm_dir(self) -> Path | None:
        """The bundle's ``lm/`` folder, if it has one."""
        if self.path is None or not (self.path / LM_DIR).is_dir():
            return None
        return self.path / LM_DIR

    def decoder_config(self):
        """How this bundle decodes by default: its ``lm/decoder.json``, or greedy decoding."""
        from recognizer.decoder_config import bundle_decoder_config

        return bundle_decoder_config(self.path)

    def config_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "modality": self.modality,
            "features": self.features.to_dict(),
            "alphabet": self.alphabet.to_dict(),
            "model": self.model_config.to_dict(),
            "training": self.training,
            "scores": self.scores,
        }

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the bundle; files are replaced atomically so a crash never leaves half a bundle."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp_weights = folder / f".{WEIGHTS}.tmp.weights.h5"
        self.model.save_weights(tmp_weights)
        write_json_atomic(folder / CONFIG, self.config_dict())
        os.replace(tmp_weights, folder / WEIGHTS)
        self.path = folder
        return folder

    def copy_to(self, folder: str | os.PathLike) -> Path:
        """Copy the saved bundle folder, with any extra files (model card, lm/)."""
        if self.path is None:
            return self.save(folder)
        shutil.copytree(self.path, folder, dirs_exist_ok=True)
        return Path(folder)


def build_bundle(features, alphabet: Alphabet, model_config: ModelConfig, name: str = "",
                 training: dict | None = None, scores: dict | None = None) -> Bundle:
    """A bundle with a freshly initialised network."""
    feature_dim = make_extractor(features).feature_dim
    model = build_model(feature_dim, alphabet.size, model_config)
    return Bundle(features, alphabet, model_config, model, name, training or {}, scores or {})


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    path = Path(folder) / CONFIG
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    if config.get("format", 0) > FORMAT:
        raise ValueError(f"{path}: bundle format {config['format']} is newer than this recognizer ({FORMAT})")
    return config


def load(name_or_path: str | os.PathLike, lstm_impl: str | None = None) -> Bundle:
    """Load a bundle by name or path; ``lstm_impl`` overrides how the LSTM computes (not its weights)."""
    folder = resolve(name_or_path)
    config = read_config(folder)
    model_dict = dict(config["model"])
    if lstm_impl is not None:
        model_dict["lstm_impl"] = lstm_impl
    bundle = build_bundle(
        feature_config_from_dict(config["features"]),
        Alphabet.from_dict(config["alphabet"]),
        ModelConfig.from_dict(model_dict),
        name=config.get("name") or folder.name,
        training=config.get("training", {}),
        scores=config.get("scores", {}),
    )
    bundle.model.load_weights(folder / WEIGHTS)
    bundle.path = folder
    return bundle


def map_weight_arrays(sources: Sequence[str | os.PathLike], dest: str | os.PathLike,
                      array: Callable[[str, list[Any]], Any]) -> None:
    """Write the weights file ``dest``: the first source's groups and attributes, and for each array
    ``array(name, [its value in every source])``. The sources must hold the same arrays (ValueError
    naming the one that does not); ``dest`` is written beside itself and renamed into place, so it
    may be one of the sources."""
    import h5py

    def names(handle) -> list[str]:
        found: list[str] = []
        handle.visititems(lambda name, item: found.append(name) if isinstance(item, h5py.Dataset) else None)
        return found

    tmp = Path(dest).with_name(f".{Path(dest).name}.tmp.weights.h5")
    files = [h5py.File(path, "r") for path in sources]
    try:
        expected = names(files[0])
        for path, handle in zip(sources[1:], files[1:]):
            if names(handle) != expected:
                raise ValueError(f"{path}: holds other arrays than {sources[0]}")
        with h5py.File(tmp, "w") as out:
            out.attrs.update(files[0].attrs)

            def copy(name: str, item) -> None:
                if isinstance(item, h5py.Group):
                    out.require_group(name).attrs.update(item.attrs)
                    return
                data = array(name, [handle[name][()] for handle in files])
                out.create_dataset(name, data=data).attrs.update(item.attrs)

            files[0].visititems(copy)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        for handle in files:
            handle.close()
    os.replace(tmp, dest)


def write_half_precision_weights(source: str | os.PathLike, dest: str | os.PathLike) -> int:
    """Copy a weights file with every float32 array stored as float16; returns the arrays cast.

    For shipping: a bundle's weights take half the space (the network still computes in float32:
    Keras casts on loading), which leaves room in a bundle's size budget for its ``lm/``. The
    rounding (11 significant bits) left handwriting-en's greedy test scores unchanged (see its
    model card). Training checkpoints stay in float32."""
    import numpy as np

    cast = 0

    def half(name: str, values: list[Any]) -> Any:
        nonlocal cast
        data = values[0]
        if isinstance(data, np.ndarray) and data.dtype == np.float32:
            data, cast = data.astype(np.float16), cast + 1
        return data

    map_weight_arrays([source], dest, half)
    return cast


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    os.replace(tmp, path)
