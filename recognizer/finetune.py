"""Fine-tuning: adapt a trained bundle to new data (a speaker, a writer, new characters).

The run starts from the bundle's weights and keeps its feature configuration and network, so
the new bundle reads its inputs exactly as the old one did. When the training transcripts use
another alphabet than the model's, the output layer is rebuilt for the data's alphabet with the
trained weights of every shared character carried over (:mod:`recognizer.warmstart`); with
``keep_alphabet`` the model's characters that the data lacks stay too (the union), so the model
can still write them. The run logs what changed.

Everything else is the ordinary training loop (:class:`recognizer.training.Trainer`): the same
checkpoints, ``resume``, early stopping and skipping of unusable samples, with two differences.
The starting weights are scored on the dev set first and count as epoch 0, so the bundle written
is never worse on dev than the start. Lower layers can be frozen (``freeze``): with few data,
training only the upper layers keeps the general features the base model learned from many.
The base's decoder (its ``lm/``) comes along when its LM covers every character the new model
writes, so the new bundle decodes as the old one did (:func:`carry_lm`).
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import tensorflow as tf

from data_prep.config import JsonConfig
from recognizer.alphabet import Alphabet
from recognizer.bundle import LM_DIR, Bundle
from recognizer.bundle import load as load_bundle
from recognizer.model import RecognizerNet
from recognizer.recipe import DEFAULT, Recipe, read_json
from recognizer.training import CHECKPOINTS, TrainConfig, Trainer, record_run, saved_run_config, scan_manifests
from recognizer.warmstart import AlphabetChange, warm_start

#: Fine-tuning's own schedule, over the base model's loop options (batch budget, clipping,
#: ``keep_empty``): a schedule belongs to a run, not to the weights. A bundle published from a
#: continued run or a later recipe stage records the rate that run ended at (speech-en: 3.6e-5,
#: annealed by 0.88 per epoch); handing handwriting-en's on (2e-4, x0.85) left a new writer's 22
#: new characters at 89.6% test CER after 20 epochs, where 1e-3 had them at 3.7%
#: (docs/finetuning.md). New characters start from nothing: at 3e-4 instead of 1e-3 they were
#: learned two to three times slower, so the rate is 1e-3 without per-epoch decay, halved after 2
#: epochs without a dev gain; the epoch-0 baseline keeps a run that shakes the trained weights
#: from ending worse than it started. Fewer epochs and earlier stopping: a small data set is
#: learned, then overfitted, quickly. No warm-up unless asked for: a small set's whole run can be
#: a few hundred steps.
FINETUNE_TRAIN: dict[str, Any] = {"epochs": 20, "patience": 5, "lr_patience": 2, "warmup_steps": 0,
                                  "learning_rate": 1e-3, "lr_decay": 1.0}


@dataclass
class FinetuneConfig(JsonConfig):
    """What a fine-tuning run changes in the model; stored in the new bundle's provenance."""

    freeze: str = "none"  # "none", "frontend", or "lstm:N": the front-end and the lowest N BiLSTM layers
    keep_alphabet: bool = False  # keep the model's characters that the data lacks (the union)


def parse_freeze(spec: str, model_config) -> tuple[bool, int]:
    """``(freeze the front-end, number of lowest BiLSTM layers to freeze)`` for a ``freeze`` value."""
    spec = spec.strip().lower()
    if spec == "none":
        return False, 0
    if spec == "frontend":
        if model_config.frontend == "none":
            raise ValueError("--freeze frontend: this model has no front-end")
        return True, 0
    if spec.startswith("lstm:") and spec[5:].isdigit():
        layers = int(spec[5:])
        if not 1 <= layers <= model_config.lstm_layers:
            raise ValueError(f"--freeze {spec}: the model has {model_config.lstm_layers} BiLSTM layer(s)")
        return model_config.frontend != "none", layers
    raise ValueError(f"--freeze must be none, frontend or lstm:N, not {spec!r}")


def freeze_layers(model: RecognizerNet, spec: str) -> list[str]:
    """Make the layers that ``spec`` names untrainable (before an optimizer is built); their names."""
    frontend, lstm_layers = parse_freeze(spec, model.config)
    frozen = [*(model.blocks if frontend else []), *model.lstm.layers_[:lstm_layers]]
    for layer in frozen:
        layer.trainable = False
    return [layer.name for layer in frozen]


def finetune_train_config(base: Bundle, options: dict[str, Any] | None = None) -> TrainConfig:
    """The base model's loop options, with :data:`FINETUNE_TRAIN`'s schedule, then ``options``, on top."""
    own = dict(base.training.get("train_config") or {})
    return TrainConfig.from_dict({**own, **FINETUNE_TRAIN, **(options or {})})


def finetune_augment(base: Bundle, augment: Any = DEFAULT) -> Any:
    """``augment``, where it is ``"default"`` the base model's own (a fine-tune that perturbs
    differently from the training the weights came from changes two things at once)."""
    if augment == DEFAULT and base.training.get("augment"):
        return base.training["augment"]
    return augment


def read_options(path: str | os.PathLike) -> tuple[dict[str, Any], Any]:
    """``(train options, augment)`` from a recipe-style JSON file with only ``train`` and ``augment``.

    Features, alphabet and network come from the model being fine-tuned, so a file that sets
    them is refused rather than silently half-applied.
    """
    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object with train and/or augment sections")
    other = sorted(set(data) - {"train", "augment"})
    if other:
        raise ValueError(f"{path}: fine-tuning keeps the model's {', '.join(other)}; only train and augment can be set")
    train = data.get("train") or {}
    try:
        TrainConfig.from_dict(train)  # unknown keys fail here, before any work is done
        Recipe.from_dict({"augment": data.get("augment", DEFAULT)})
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None
    return dict(train), data.get("augment", DEFAULT)


def carry_lm(base: Bundle, out: str | os.PathLike, change: AlphabetChange, log: Callable[[str], None]) -> bool:
    """Copy the base bundle's ``lm/`` (LMs, lexicon, decoder settings) into ``out``; say what was done.

    Without it a fine-tuned speech-en would fall back to greedy decoding and read worse than its
    base. It stays behind when characters were added: the LM has never seen them and would score
    each as unknown, holding back exactly what the run was for; a new LM is then built from text
    that has them (``recognizer lm build``). Removed characters do no harm (they are never proposed).
    """
    if base.lm_dir is None:
        return False
    if change.added:
        log(f"{base.name}'s lm/ is not copied: its LM has never seen the added characters; decoding is greedy "
            "until you build one from text that has them (`recognizer lm build`, then `recognizer lm tune`)")
        return False
    target = Path(out) / LM_DIR
    if not target.exists():
        shutil.copytree(base.lm_dir, target)
    log(f"decoding as {base.name} does: its lm/ is copied into {out} (it covers every character the model writes)")
    return True


def finetune(base: str | os.PathLike | Bundle, train_manifest: str | os.PathLike, dev_manifest: str | os.PathLike,
             out: str | os.PathLike, config: FinetuneConfig | None = None, train_options: dict[str, Any] | None = None,
             augment: Any = DEFAULT, name: str = "", resume: bool = False, progress: bool = True,
             log: Callable[[str], None] | None = None, strategy: tf.distribute.Strategy | None = None) -> Bundle:
    """Fine-tune ``base`` (a bundle, or its name or folder) on two manifests; returns the best bundle.

    ``train_options`` override loop options (:class:`~recognizer.training.TrainConfig` keys, e.g.
    ``epochs``, ``learning_rate``); ``augment`` is as in a recipe (``"default"``: the augmentation
    the base model was trained with, or the modality's standard one for a bundle that does not
    record it; ``None``: none; a preset name, a dict or a config). With ``resume``
    the run continues from ``out``'s last checkpoint with the alphabet and frozen layers it was
    started with.
    """
    log = log or (lambda message: print(message, file=sys.stderr))
    strategy = strategy or tf.distribute.get_strategy()
    config = config or FinetuneConfig()
    if not resume and (Path(out) / CHECKPOINTS / "latest").is_file():
        raise FileExistsError(f"{out}: holds a training run already; resume it or choose another --out")
    base = base if isinstance(base, Bundle) else load_bundle(base)
    parse_freeze(config.freeze, base.model_config)  # a wrong value fails now, not after reading the data
    train_entries, dev_entries, problems = scan_manifests(train_manifest, dev_manifest, log)
    train_config = finetune_train_config(base, train_options)
    augment_config = Recipe(augment=finetune_augment(base, augment)).resolve_augment(base.features)
    saved = saved_run_config(out) if resume else None
    if saved:
        provenance = saved.get("training") or {}
        if "finetune" not in provenance:
            raise ValueError(f"{out}: holds a run of `recognizer train`, not of `recognizer finetune`")
        started_with = FinetuneConfig.from_dict(provenance["finetune"])
        if started_with != config:
            log(f"resuming with the run's own settings {started_with.to_dict()} (not {config.to_dict()})")
        config, alphabet = started_with, Alphabet.from_dict(saved["alphabet"])
        # what this session trains with, as `recognizer train` records it on resuming
        provenance = {**provenance, "train_config": train_config.to_dict(),
                      "augment": augment_config.to_dict() if augment_config else None}
    else:
        alphabet = base.alphabet.adapted_to([e.text for e in train_entries], keep=config.keep_alphabet)
        provenance = {
            "finetuned_from": {"name": base.name, "path": str(base.path) if base.path else None,
                               "scores": base.scores},
            "finetune": config.to_dict(),
            "alphabet_change": AlphabetChange(base.alphabet, alphabet).to_dict(),
            "train_manifest": str(train_manifest), "dev_manifest": str(dev_manifest),
            "train_config": train_config.to_dict(),
            "augment": augment_config.to_dict() if augment_config else None,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "tensorflow": tf.__version__,
        }
    with strategy.scope():
        bundle, change = warm_start(base, alphabet, seed=train_config.seed, name=name or Path(out).name,
                                    training=provenance)
    log(f"fine-tuning {base.name}: {change.describe()}")
    if change.removed and not config.keep_alphabet:
        log("the removed characters can no longer be written; --keep-alphabet keeps them")
    carry_lm(base, out, change, log)
    frozen = freeze_layers(bundle.model, config.freeze)
    trainable = sum(int(tf.size(v)) for v in bundle.model.trainable_variables)
    log(f"frozen: {', '.join(frozen) or 'nothing'}; training {trainable:,} of {bundle.model.count_params():,} "
        f"parameters, learning rate {train_config.learning_rate:g}, up to {train_config.epochs} epochs")
    trainer = Trainer(bundle, train_entries, dev_entries, out, train_config, augment=augment_config,
                      progress=progress, log=log, strategy=strategy)
    if not saved:
        trainer.baseline()
    state = trainer.fit(resume=resume)
    return record_run(trainer, state, problems)
