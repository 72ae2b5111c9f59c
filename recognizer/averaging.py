"""Weight averaging: one bundle whose every weight is the weighted mean of several bundles' weights.

Averaging the last epochs of a run (as ESPnet and fairseq do with their checkpoints) smooths out
the noise of the final updates; averaging a model with a fine-tuned descendant of it interpolates
between them (Wortsman et al., 2022, "WiSE-FT"), which can keep most of what the fine-tuning gained
on its own data while losing less on data neither saw. Both only make sense for networks of one
lineage, with the same features, alphabet and architecture, so everything else is checked first.

A source is a bundle (name or folder) or a training checkpoint (``OUT/checkpoints/epoch-NNNN``,
whose configuration is ``bundle.json`` and whose epoch is in ``state.json``). The result is a
bundle: the first source's configuration and ``lm/``, float32 weights, and under
``training.averaged_from`` what went into it (each source's share, epoch and, for a bundle, its dev
scores; a checkpoint's ``bundle.json`` holds the run's best scores so far, not its own, so none are
copied). Its scores are left empty: they belong to no single source, so measure them again.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from recognizer.bundle import CONFIG, LM_DIR, WEIGHTS, map_weight_arrays, read_config, resolve, write_json_atomic
from recognizer.recipe import read_json

CHECKPOINT_CONFIG = "bundle.json"
CHECKPOINT_STATE = "state.json"
#: what must be equal in every source's configuration, and what the error calls it
MUST_MATCH = {"features": "features differ", "alphabet": "alphabet differs", "model": "network differs"}


@dataclass(frozen=True)
class Source:
    """A folder of weights to average, with its configuration and the share it gets."""

    folder: Path
    config: dict[str, Any]
    weight: float
    epoch: int | None = None
    dev: dict[str, Any] | None = None  # a bundle's own dev scores

    def provenance(self, total: float) -> dict[str, Any]:
        record = {"model": str(self.folder), "weight": round(self.weight / total, 6), "epoch": self.epoch}
        return record | ({"dev": self.dev} if self.dev is not None else {})


def open_source(name_or_path: str | os.PathLike, weight: float = 1.0) -> Source:
    """A bundle (by name or folder) or a training checkpoint folder."""
    folder = Path(name_or_path)
    if (folder / CHECKPOINT_CONFIG).is_file() and not (folder / CONFIG).is_file():
        config = read_json(folder / CHECKPOINT_CONFIG)
        state = folder / CHECKPOINT_STATE
        epoch, dev = (read_json(state).get("epoch") if state.is_file() else None), None
    else:
        folder = resolve(name_or_path)
        config = read_config(folder)
        dev = config.get("scores", {}).get("dev", {})
        epoch = dev.get("epoch")
    if not (folder / WEIGHTS).is_file():
        raise FileNotFoundError(f"{folder}: no {WEIGHTS}")
    if not weight > 0:
        raise ValueError(f"{folder}: weight {weight} is not positive")
    return Source(folder, config, float(weight), epoch, dev)


def check_compatible(sources: Sequence[Source]) -> None:
    """ValueError naming the first source whose features, alphabet or network differ from the first's."""
    if len(sources) < 2:
        raise ValueError("averaging needs at least two models")
    first = sources[0]
    for other in sources[1:]:
        for key, difference in MUST_MATCH.items():
            if other.config.get(key) != first.config.get(key):
                raise ValueError(f"{other.folder}: its {difference} from {first.folder}'s; only models of one "
                                 "lineage (same features, alphabet and network) can be averaged")


def average_weight_files(sources: Sequence[Source], dest: str | os.PathLike) -> int:
    """Write the weighted mean of the sources' weight files to ``dest``; returns the arrays averaged.

    Float arrays are summed in float64 and stored in float32 whatever the sources' precision
    (float16 bundles included); any other array (an integer counter) must be equal in every source
    and is copied. The files must hold the same arrays in the same shapes."""
    import numpy as np

    total = sum(source.weight for source in sources)
    averaged = 0

    def mean(name: str, values: list[Any]) -> np.ndarray:
        nonlocal averaged
        arrays = [np.asarray(value) for value in values]
        for source, array in zip(sources[1:], arrays[1:]):
            if array.shape != arrays[0].shape:
                raise ValueError(f"{source.folder / WEIGHTS}: {name} has shape {array.shape}, not {arrays[0].shape}")
        if not np.issubdtype(arrays[0].dtype, np.floating):
            for source, array in zip(sources[1:], arrays[1:]):
                if not np.array_equal(array, arrays[0]):
                    raise ValueError(f"{source.folder / WEIGHTS}: {name} differs and cannot be averaged")
            return arrays[0]
        averaged += 1
        weighted = sum(source.weight * array.astype(np.float64) for source, array in zip(sources, arrays))
        return (weighted / total).astype(np.float32)

    map_weight_arrays([source.folder / WEIGHTS for source in sources], dest, mean)
    return averaged


def average(models: Sequence[str | os.PathLike], out: str | os.PathLike,
            weights: Sequence[float] | None = None, name: str = "") -> Path:
    """Average ``models`` (equal shares unless ``weights``) into the bundle folder ``out``."""
    if weights is not None and len(weights) != len(models):
        raise ValueError(f"{len(weights)} weights for {len(models)} models")
    sources = [open_source(model, weight) for model, weight in zip(models, weights or [1.0] * len(models))]
    check_compatible(sources)
    out = Path(out)
    if any(out.resolve() == source.folder.resolve() for source in sources):
        raise FileExistsError(f"{out}: is one of the models being averaged; choose another --out")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        average_weight_files(sources, out / WEIGHTS)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    total = sum(source.weight for source in sources)
    config = dict(sources[0].config)
    config["name"] = name or config.get("name") or out.name
    config["training"] = dict(config.get("training", {}))
    config["training"]["averaged_from"] = [source.provenance(total) for source in sources]
    config["scores"] = {}
    write_json_atomic(out / CONFIG, config)
    lm = sources[0].folder / LM_DIR
    if lm.is_dir():
        shutil.copytree(lm, out / LM_DIR, dirs_exist_ok=True)
    return out
