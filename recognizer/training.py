"""CTC training: epochs over length-bucketed batches, dev CER/WER, checkpoints, resume.

One run writes into ``out``:

- ``config.json`` + ``model.weights.h5``: the bundle with the best dev CER so far (what
  ``transcribe``/``read`` load);
- ``checkpoints/epoch-NNNN/``: weights, optimizer state and loop state after each epoch, each
  written to a temporary folder and renamed, and ``checkpoints/latest`` naming the newest, so a run
  killed at any moment resumes from its last complete epoch with ``resume=True``;
- ``logs/``: TensorBoard scalars (loss, dev CER/WER, learning rate).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from recognizer import runtime_env

runtime_env.configure_training()  # before XLA's first compile: fewer memory mappings per shape

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tqdm import tqdm

from data_prep.config import JsonConfig
from data_prep.extractors import make_extractor
from data_prep.manifest import Entry
from data_prep.pipeline import FeatureDataset
from recognizer.bundle import Bundle, build_bundle, write_json_atomic
from recognizer.bundle import load as load_bundle
from recognizer.ctc import ctc_loss
from recognizer.inference import Recognizer
from recognizer.metrics import cer, wer

CHECKPOINTS = "checkpoints"


@dataclass
class TrainConfig(JsonConfig):
    """Options of the training loop; stored in the bundle's provenance."""

    epochs: int = 30
    max_frames: int = 6400  # padded input frames per batch (16 x 400 for speech)
    max_batch: int = 32
    learning_rate: float = 1e-3
    clip_norm: float = 5.0  # global gradient norm
    patience: int = 8  # early stop after this many epochs without dev CER improvement
    lr_patience: int = 3  # halve (lr_factor) the learning rate after this many
    lr_factor: float = 0.5
    # multiply the learning rate by this after every epoch (exponential annealing, as in
    # Deep Speech 2); 1.0 leaves it to the plateau rule alone. A constant rate keeps a large
    # model improving slowly for many epochs when dev CER never quite plateaus.
    lr_decay: float = 1.0
    min_lr: float = 1e-5
    # over a run's first warmup_steps steps the learning rate rises linearly to its value.
    # Trained weights with fresh Adam moments (a fine-tune, a continued recipe) otherwise take
    # full-rate steps in every direction at once: Adam's first update is lr x sign(gradient).
    warmup_steps: int = 0
    min_delta: float = 1e-4  # a dev CER improvement smaller than this does not count
    # train on rows whose transcript is empty, as examples of nothing to write (non-speech clips,
    # `python -m data_prep nonspeech`); off, they are skipped: in a real dataset an empty
    # transcript is more often a labelling slip than a statement that nothing was said
    keep_empty: bool = False
    keep_checkpoints: int = 2
    seed: int = 0
    log_every: int = 20  # steps between TensorBoard loss points


@dataclass
class LoopState:
    """What a resumed run needs besides weights: where it was and how it was doing."""

    epoch: int = 0  # epochs completed
    step: int = 0
    learning_rate: float = 1e-3
    best_cer: float = math.inf
    best_epoch: int = 0
    bad_epochs: int = 0  # since the best epoch
    lr_bad_epochs: int = 0  # since the last improvement or learning-rate cut
    history: list[dict[str, Any]] = field(default_factory=list)


def warmup_fraction(step: int, warmup_steps: int) -> float:
    """Share of the learning rate that step ``step`` (0-based) of a run trains with."""
    return min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0


def ctc_frames_needed(labels: np.ndarray) -> int:
    """Fewest output frames that can carry ``labels``: one each, plus a blank between repeats."""
    return int(len(labels) + np.count_nonzero(labels[1:] == labels[:-1])) if len(labels) else 0


class Trainer:
    """Trains ``bundle.model`` on a training set, selecting on a dev set, writing into ``out``."""

    def __init__(self, bundle: Bundle, train: list[Entry], dev: list[Entry], out: str | os.PathLike,
                 config: TrainConfig, augment=None, progress: bool = True,
                 log: Callable[[str], None] | None = None, strategy: tf.distribute.Strategy | None = None):
        self.bundle = bundle
        self.strategy = strategy or tf.distribute.get_strategy()
        self.config = config
        self.out = Path(out)
        self.progress = progress
        self.log = log or (lambda message: print(message, file=sys.stderr))
        extractor = make_extractor(bundle.features)

        def encode(text: str) -> list[int]:
            ids = bundle.alphabet.encode(text)
            if not ids and not config.keep_empty:  # (characters outside the alphabet raise in encode)
                raise ValueError("empty transcript (train.keep_empty is off)")
            return ids

        self.train_set = FeatureDataset(train, extractor, encode, augment=augment, progress=progress,
                                        desc="train features", log=self.log)
        self.dev_set = FeatureDataset(dev, extractor, encode, progress=progress, desc="dev features", log=self.log)
        def too_long(frames: int, labels: np.ndarray) -> str | None:
            needed, available = ctc_frames_needed(labels), bundle.model_config.output_length(frames)
            return f"transcript needs {needed} output frames, input gives {available}" if needed > available else None

        for dataset in (self.train_set, self.dev_set):
            dataset.drop_if(too_long)
        if not len(self.train_set):
            raise ValueError("no usable training samples")
        if not len(self.dev_set):
            raise ValueError("no usable dev samples")
        self.log(f"training on {len(self.train_set)} samples ({len(self.train_set.skipped)} skipped), "
                 f"dev {len(self.dev_set)} ({len(self.dev_set.skipped)} skipped)")
        self.state = LoopState(learning_rate=config.learning_rate)
        with self.strategy.scope():
            self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate, global_clipnorm=config.clip_norm)
            self.optimizer.build(bundle.model.trainable_variables)
        self._step = self._make_step()
        self.recognizer = Recognizer(bundle)

    # -- the step ---------------------------------------------------------------------------
    def _make_step(self):
        """The training step, run on every replica of the strategy; returns (mean loss, all ok)."""
        model, optimizer, strategy = self.bundle.model, self.optimizer, self.strategy
        replicas = strategy.num_replicas_in_sync
        feature_dim = make_extractor(self.bundle.features).feature_dim
        signature = [tf.TensorSpec([None, None, feature_dim], tf.float32), tf.TensorSpec([None], tf.int32),
                     tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)]

        def replica_step(features, lengths, labels, label_lengths):
            with tf.GradientTape() as tape:
                log_probs, out_lengths = model(features, lengths, training=True)
                losses = ctc_loss(log_probs, out_lengths, labels, label_lengths)
                finite = tf.math.is_finite(losses)  # a label that cannot fit its input: left out
                loss = tf.reduce_sum(tf.where(finite, losses, 0.0)) / tf.maximum(
                    tf.reduce_sum(tf.cast(finite, tf.float32)), 1.0)
                # the optimizer sums gradients over replicas: scale so that they average
                scaled = loss / replicas
            variables = model.trainable_variables
            grads = tape.gradient(scaled, variables)
            ok = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
            # a non-finite gradient must never reach the weights: skip its update instead
            grads = [tf.where(ok, g, tf.zeros_like(g)) for g in grads]
            optimizer.apply_gradients(zip(grads, variables))
            return loss, tf.cast(ok, tf.float32)

        # one trace for every batch shape on one device; distributed batches come as per-replica values
        @tf.function(input_signature=signature if replicas == 1 else None, reduce_retracing=True)
        def step(features, lengths, labels, label_lengths):
            loss, ok = strategy.run(replica_step, args=(features, lengths, labels, label_lengths))
            mean = tf.distribute.ReduceOp.MEAN  # of ok: 1.0 only when every replica's update was applied
            return strategy.reduce(mean, loss, axis=None), strategy.reduce(mean, ok, axis=None)

        return step

    # -- the loop ---------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> LoopState:
        if resume and self._latest_checkpoint():
            self._restore()
            self.log(f"resumed after epoch {self.state.epoch} (best dev CER {self.state.best_cer:.4f} "
                     f"at epoch {self.state.best_epoch})")
        elif self._latest_checkpoint():
            raise FileExistsError(f"{self.out}: holds a training run already; resume it or choose another --out")
        self.out.mkdir(parents=True, exist_ok=True)
        writer = tf.summary.create_file_writer(str(self.out / "logs"))
        config = self.config
        while self.state.epoch < config.epochs and self.state.bad_epochs < config.patience:
            epoch = self.state.epoch + 1
            train_loss, seconds, frames = self._train_epoch(epoch, writer)
            scores = self.evaluate_dev()
            self._after_epoch(epoch, train_loss, seconds, frames, scores, writer)
        if self.state.bad_epochs >= config.patience:
            self.log(f"early stop: no dev CER improvement for {config.patience} epochs")
        self.log(f"best dev CER {self.state.best_cer:.4f} at epoch {self.state.best_epoch}; bundle in {self.out}")
        return self.state

    def _train_epoch(self, epoch: int, writer) -> tuple[float, float, int]:
        config = self.config
        indices = self.train_set.batch_indices(config.max_frames, config.max_batch, shuffle=True,
                                               rng=np.random.default_rng([config.seed, epoch]))
        dataset = self.train_set.tf_dataset(indices=indices, seed=[config.seed, epoch, 1], augment=True)
        if self.strategy.num_replicas_in_sync > 1:
            dataset = self.strategy.experimental_distribute_dataset(dataset)
        bar = tqdm(total=len(indices), desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                   disable=not self.progress, file=sys.stderr, dynamic_ncols=True)
        total, count, frames, skipped = 0.0, 0, 0, 0
        start = time.perf_counter()
        for features, lengths, labels, label_lengths in dataset:
            if self.state.step < config.warmup_steps:
                fraction = warmup_fraction(self.state.step, config.warmup_steps)
                self.optimizer.learning_rate.assign(self.state.learning_rate * fraction)
            loss, ok = self._step(features, lengths, labels, label_lengths)
            bar.update(1)
            if float(ok) < 1.0:
                skipped += 1
                continue
            loss = float(loss)
            total, count = total + loss, count + 1
            frames += sum(int(tf.reduce_sum(part)) for part in self.strategy.experimental_local_results(lengths))
            self.state.step += 1
            bar.set_postfix(loss=f"{total / count:.3f}", fps=f"{frames / max(time.perf_counter() - start, 1e-9):.0f}")
            if self.state.step % config.log_every == 0:
                with writer.as_default():
                    tf.summary.scalar("train/loss", loss, step=self.state.step)
        bar.close()
        if skipped:
            self.log(f"epoch {epoch}: skipped {skipped} batch(es) with a non-finite gradient")
        return total / max(count, 1), time.perf_counter() - start, frames

    def baseline(self) -> dict[str, float]:
        """Score the starting weights on dev and keep them as the best so far (epoch 0).

        For a run that starts from trained weights (fine-tuning): if no epoch beats the start,
        the bundle in ``out`` is the start, never a worse epoch. Call it before :meth:`fit`.
        """
        scores = self.evaluate_dev()
        self.state.best_cer = scores["cer"]
        self.state.history.append({"epoch": 0, "dev_cer": round(scores["cer"], 5), "dev_wer": round(scores["wer"], 5)})
        self.bundle.scores = {"dev": {**scores, "epoch": 0}}
        self.bundle.save(self.out)
        self.log(f"before training: dev CER {scores['cer']:.2%}, WER {scores['wer']:.2%}")
        return scores

    def evaluate_dev(self) -> dict[str, float]:
        """Greedy dev CER and WER with the current weights."""
        decoded = self.recognizer.decode_features({i: self.dev_set.sequence(i) for i in range(len(self.dev_set))})
        refs = [self.dev_set.entry(i).text for i in range(len(self.dev_set))]
        hyps = [decoded[i].text for i in range(len(self.dev_set))]
        refs = [self.bundle.alphabet.normalise(r) for r in refs]
        return {"cer": cer(refs, hyps).rate, "wer": wer(refs, hyps).rate}

    def _after_epoch(self, epoch, train_loss, seconds, frames, scores, writer) -> None:
        state, config = self.state, self.config
        state.epoch = epoch
        rate_used = state.learning_rate
        improved = scores["cer"] < state.best_cer - config.min_delta
        record = {"epoch": epoch, "train_loss": round(train_loss, 4), "dev_cer": round(scores["cer"], 5),
                  "dev_wer": round(scores["wer"], 5), "learning_rate": rate_used,
                  "seconds": round(seconds, 1), "frames_per_second": round(frames / max(seconds, 1e-9))}
        state.history.append(record)
        if improved:
            state.best_cer, state.best_epoch, state.bad_epochs, state.lr_bad_epochs = scores["cer"], epoch, 0, 0
            self.bundle.scores = {"dev": {**scores, "epoch": epoch}}
            # the history so far travels with the best bundle, so a run stopped between epochs
            # (the usual end of a long one) still publishes its provenance
            self.bundle.training.update({"epochs": epoch, "best_epoch": epoch, "history": list(state.history)})
            self.bundle.save(self.out)
        else:
            state.bad_epochs += 1
            state.lr_bad_epochs += 1
            if state.lr_bad_epochs >= config.lr_patience and state.learning_rate > config.min_lr:
                state.learning_rate = max(state.learning_rate * config.lr_factor, config.min_lr)
                self.optimizer.learning_rate.assign(state.learning_rate)
                state.lr_bad_epochs = 0
                self.log(f"learning rate reduced to {state.learning_rate:.2e}")
        if config.lr_decay != 1.0:
            state.learning_rate = max(state.learning_rate * config.lr_decay, config.min_lr)
            self.optimizer.learning_rate.assign(state.learning_rate)
        with writer.as_default():
            tf.summary.scalar("dev/cer", scores["cer"], step=epoch)
            tf.summary.scalar("dev/wer", scores["wer"], step=epoch)
            tf.summary.scalar("train/epoch_loss", train_loss, step=epoch)
            tf.summary.scalar("train/learning_rate", state.learning_rate, step=epoch)
        writer.flush()
        self.log(f"epoch {epoch}: loss {train_loss:.3f}, dev CER {scores['cer']:.2%}, WER {scores['wer']:.2%}"
                 f"{' (best)' if improved else ''}, {record['frames_per_second']} frames/s")
        self._checkpoint()

    # -- checkpoints ------------------------------------------------------------------------
    def _checkpoint(self) -> None:
        folder = self.out / CHECKPOINTS
        folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{self.state.epoch:04d}"
        tmp = folder / f".{name}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self.bundle.model.save_weights(tmp / "model.weights.h5")
        np.savez(tmp / "optimizer.npz", *[v.numpy() for v in self.optimizer.variables])
        write_json_atomic(tmp / "state.json", asdict(self.state))
        write_json_atomic(tmp / "bundle.json", self.bundle.config_dict())
        shutil.rmtree(folder / name, ignore_errors=True)
        os.replace(tmp, folder / name)
        (folder / ".latest.tmp").write_text(name + "\n")
        os.replace(folder / ".latest.tmp", folder / "latest")
        finished = sorted(p for p in folder.glob("epoch-*") if p.is_dir())
        for old in finished[: -self.config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)

    def _latest_checkpoint(self) -> Path | None:
        pointer = self.out / CHECKPOINTS / "latest"
        if not pointer.is_file():
            return None
        folder = self.out / CHECKPOINTS / pointer.read_text().strip()
        return folder if folder.is_dir() else None

    def _restore(self) -> None:
        folder = self._latest_checkpoint()
        self.bundle.model.load_weights(folder / "model.weights.h5")
        with np.load(folder / "optimizer.npz") as saved:
            values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        if len(values) != len(self.optimizer.variables):
            raise ValueError(f"{folder}: optimizer state does not match this model")
        for variable, value in zip(self.optimizer.variables, values):
            variable.assign(value)
        with open(folder / "state.json", encoding="utf-8") as handle:
            self.state = LoopState(**json.load(handle))
        self.optimizer.learning_rate.assign(self.state.learning_rate)
        if self.state.best_epoch:
            self.bundle.scores = {"dev": {"cer": self.state.best_cer, "epoch": self.state.best_epoch}}


def saved_run_config(out: str | os.PathLike) -> dict[str, Any] | None:
    """The bundle config a run in ``out`` was started with, so ``--resume`` rebuilds the same model."""
    pointer = Path(out) / CHECKPOINTS / "latest"
    if not pointer.is_file():
        return None
    path = Path(out) / CHECKPOINTS / pointer.read_text().strip() / "bundle.json"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def train(recipe, train_manifest: str | os.PathLike, dev_manifest: str | os.PathLike, out: str | os.PathLike,
          resume: bool = False, progress: bool = True, log: Callable[[str], None] | None = None,
          strategy: tf.distribute.Strategy | None = None) -> Bundle:
    """Train a bundle from a :class:`~recognizer.recipe.Recipe` and two manifests; returns the best.

    With ``resume`` the run continues from ``out``'s last checkpoint, rebuilding exactly the
    features, alphabet and network it was started with. The network is built and trained inside
    ``strategy`` (default: TensorFlow's current one), so several GPUs or workers are a matter of
    passing a ``MirroredStrategy`` or ``MultiWorkerMirroredStrategy``.
    """
    strategy = strategy or tf.distribute.get_strategy()
    from data_prep.extractors import feature_config_from_dict
    from recognizer.alphabet import Alphabet
    from recognizer.model import ModelConfig

    log = log or (lambda message: print(message, file=sys.stderr))
    warning = runtime_env.map_limit_warning()
    if warning:
        log(warning)
    train_entries, dev_entries, problems = scan_manifests(train_manifest, dev_manifest, log)
    saved = saved_run_config(out) if resume else None
    if saved:
        features = feature_config_from_dict(saved["features"])
        alphabet = Alphabet.from_dict(saved["alphabet"])
        model_config = ModelConfig.from_dict(saved["model"])
    else:
        features = recipe.resolve_features(train_entries[0].path)
        alphabet = recipe.alphabet or Alphabet.from_texts([e.text for e in train_entries])
        model_config = recipe.model
    augment = recipe.resolve_augment(features)
    provenance = {
        "train_manifest": str(train_manifest), "dev_manifest": str(dev_manifest),
        "train_config": recipe.train.to_dict(),
        "augment": augment.to_dict() if augment else None,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "tensorflow": tf.__version__,
    }
    if saved and saved.get("training", {}).get("started"):  # a resumed run keeps its first start
        provenance["started"] = saved["training"]["started"]
    with strategy.scope():
        bundle = build_bundle(features, alphabet, model_config, name=recipe.name or Path(out).name,
                              training=provenance)
    log(f"model: {bundle.model.count_params():,} parameters, alphabet of {len(alphabet)} characters, "
        f"subsampling x{model_config.subsampling}")
    trainer = Trainer(bundle, train_entries, dev_entries, out, recipe.train, augment=augment,
                      progress=progress, log=log, strategy=strategy)
    state = trainer.fit(resume=resume)
    return record_run(trainer, state, problems)


def scan_manifests(train_manifest: str | os.PathLike, dev_manifest: str | os.PathLike,
                   log: Callable[[str], None]) -> tuple[list[Entry], list[Entry], int]:
    """Usable entries of both manifests, and how many lines were not (each one logged)."""
    from data_prep.manifest import scan_manifest

    train_entries, train_problems = scan_manifest(train_manifest)
    dev_entries, dev_problems = scan_manifest(dev_manifest)
    for problem in train_problems + dev_problems:
        log(f"skipped {problem}")
    if not train_entries:
        raise ValueError(f"{train_manifest}: no usable entries")
    return train_entries, dev_entries, len(train_problems) + len(dev_problems)


def record_run(trainer: Trainer, state: LoopState, manifest_problems: int) -> Bundle:
    """Write the run's history and sample counts into the best bundle's provenance; load it."""
    bundle, out = trainer.bundle, trainer.out
    skipped = manifest_problems + len(trainer.train_set.skipped) + len(trainer.dev_set.skipped)
    bundle.training.update({"epochs": state.epoch, "best_epoch": state.best_epoch, "history": state.history,
                            "train_samples": len(trainer.train_set), "dev_samples": len(trainer.dev_set),
                            "skipped_samples": skipped})
    config = json.loads((Path(out) / "config.json").read_text(encoding="utf-8"))
    config["training"] = bundle.training
    write_json_atomic(Path(out) / "config.json", config)
    return load_bundle(out)
