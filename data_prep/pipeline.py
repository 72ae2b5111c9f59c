"""The training and evaluation input pipeline: features computed once, batches bucketed by length.

:class:`FeatureDataset` reads a manifest's files once through an extractor and keeps what is
expensive to recompute: features (for audio, one copy per speed-perturbation factor; for line
images augmented after normalisation, the normalised line), or the raw signals where augmentation
must act before feature extraction: gray line images augmented at the ``"image"`` stage, which are
distorted and re-normalised each epoch, and waveforms when waveform augmentation (room, noise,
channel, ...) is on. Waveforms are kept once, as int16, and speed-perturbed on the fly in the same
resampling as pitch and tempo: 20 hours of 16 kHz speech then take 2.3 GB, against 14 GB as
float32 for three speed variants.
Babble mixes in other utterances of the same dataset (:meth:`FeatureDataset.other_speech`).
Inputs that cannot be read are skipped with a one-line warning each and counted; they never stop
a run.

Batches are built from length-sorted runs of the data so that little of each batch is padding,
under a budget of padded frames per batch (``max_frames``), then shuffled as whole batches.
"""
from __future__ import annotations

import math
import os
import sys
from collections import deque
from dataclasses import dataclass, replace
from multiprocessing import get_context
from typing import Callable, Iterator, Sequence

import numpy as np
from tqdm import tqdm

from data_prep.augment_audio import (
    AudioAugmentConfig,
    OtherSpeech,
    augment_frames,
    augment_waveform,
    mel_band_hz,
    speed_perturb,
)
from data_prep.augment_image import ImageAugmentConfig, augment_image, augment_normalised
from data_prep.errors import InputError
from data_prep.features import Extractor, FeatureSeq
from data_prep.manifest import Entry


@dataclass
class Batch:
    """Padded arrays for one step; ``indices`` point back into the dataset."""

    features: np.ndarray  # (B, T, F) float32, zero padded
    lengths: np.ndarray  # (B,) int32
    labels: np.ndarray  # (B, L) int32, zero padded
    label_lengths: np.ndarray  # (B,) int32
    indices: np.ndarray  # (B,) int64


@dataclass
class _Item:
    entry: Entry
    labels: np.ndarray
    variants: list  # per speed factor: FeatureSeq; or [raw signal] when augmenting before extraction
    length: int  # frames of the unperturbed features
    shortest: int  # frames the CTC feasibility check uses (see FeatureDataset.drop_if)


class FeatureDataset:
    """A manifest's samples as cached features plus encoded labels.

    ``encode`` turns a transcript into label ids (the alphabet's job; data_prep knows no model) and
    raises ``ValueError`` for a transcript it cannot encode: such samples are skipped and reported.
    """

    def __init__(self, entries: Sequence[Entry], extractor: Extractor, encode: Callable[[str], list[int]],
                 augment: AudioAugmentConfig | ImageAugmentConfig | None = None, progress: bool = True,
                 desc: str = "features", log: Callable[[str], None] | None = None, workers: int | None = None):
        self.extractor = extractor
        self.augment = augment
        self.items: list[_Item] = []
        self.skipped: list[str] = []
        log = log or (lambda message: print(message, file=sys.stderr))
        self._encode = encode
        self._keep_images = isinstance(augment, ImageAugmentConfig) and augment.stage == "image"
        self._keep_waves = isinstance(augment, AudioAugmentConfig) and augment.on_waveform
        # raw signals are kept where augmentation must act before feature extraction
        self._raw = self._keep_images or self._keep_waves
        self._band_hz = None
        self._without_babble = replace(augment, babble_prob=0.0) if isinstance(augment, AudioAugmentConfig) else None
        if isinstance(augment, AudioAugmentConfig) and augment.vtlp_prob > 0:
            c = extractor.config
            self._band_hz = mel_band_hz(c.n_mels, c.fmin, c.nyquist_fmax)
        for loaded in self._map(self._load, entries, workers, desc, progress):
            if isinstance(loaded, str):
                self.skipped.append(loaded)
                log(f"skipped {loaded}")
            else:
                self.items.append(loaded)
        self._log = log

    def _load(self, entry: Entry) -> "_Item | str":
        """One sample read, encoded and measured; or the one-line reason it cannot be used."""
        augment, extractor = self.augment, self.extractor
        try:
            labels = np.asarray(self._encode(entry.text), dtype=np.int32)
            raw = extractor.load(entry.path)
            if self._keep_images:
                variants, lengths = [raw], [len(extractor.extract(raw))]
            elif self._keep_waves:
                # one int16 copy; speed, pitch and tempo are applied on the fly, so lengths
                # other than the original scale with duration (exact to within a frame)
                length = len(extractor.extract(raw))
                variants, lengths = [to_int16(raw)], [length, int(length * augment.duration_factors()[0])]
            else:
                speeds = augment.speeds if isinstance(augment, AudioAugmentConfig) else (1.0,)
                signals = [raw if speed == 1.0 else speed_perturb(raw, speed, extractor.config.sample_rate)
                           for speed in speeds]
                seqs = [extractor.extract(signal) for signal in signals]
                variants, lengths = (signals if self._raw else seqs), [len(seq) for seq in seqs]
        except (InputError, ValueError) as error:
            return str(error) if isinstance(error, InputError) else f"{entry.path}: {error}"
        return _Item(entry, labels, variants, lengths[0 if self._raw else self._base_variant()], min(lengths))

    def _map(self, function: Callable, items: Sequence, workers: int | None, desc: str, progress: bool) -> list:
        """``function`` over ``items`` in order, in forked workers for large inputs (reading and
        featurising thousands of files is minutes of CPU that one core would do alone)."""
        workers = (os.cpu_count() or 1) if workers is None else workers
        bar = tqdm(total=len(items), desc=desc, unit="file", disable=not progress, file=sys.stderr, leave=False)
        if workers <= 1 or len(items) < 64:
            results = []
            for item in items:
                results.append(function(item))
                bar.update()
        else:
            global _WORKER_CALL
            _WORKER_CALL = function
            with get_context("fork").Pool(workers) as pool:
                results = []
                for result in pool.imap(_worker_call, items, chunksize=16):
                    results.append(result)
                    bar.update()
            _WORKER_CALL = None
        bar.close()
        return results

    def drop_if(self, reason: Callable[[int, np.ndarray], str | None]) -> int:
        """Remove samples for which ``reason(frames, labels)`` names a problem; count them.

        Training uses it to drop transcripts too long for their input under CTC. ``frames`` is the
        shortest cached speed variant for audio, which is exact, or for waveforms augmented on the
        fly the unperturbed length scaled by the fastest speed and tempo (within a frame); for
        images it is the unaugmented width, since a distorted line's width is only known once
        drawn: the rare augmented line that comes out too short gets an infinite loss that the
        training step leaves out.
        """
        kept = []
        for item in self.items:
            problem = reason(item.shortest, item.labels)
            if problem:
                message = f"{item.entry.path}: {problem}"
                self.skipped.append(message)
                self._log(f"skipped {message}")
            else:
                kept.append(item)
        dropped = len(self.items) - len(kept)
        self.items = kept
        return dropped

    def __len__(self) -> int:
        return len(self.items)

    @property
    def feature_dim(self) -> int:
        return self.extractor.feature_dim

    def entry(self, index: int) -> Entry:
        return self.items[index].entry

    def sequence(self, index: int) -> FeatureSeq:
        """The unaugmented features of one sample, with their mapping to source positions."""
        item = self.items[index]
        if not self._raw:
            return item.variants[self._base_variant()]
        return self.extractor.extract(self._signal(item))

    def features(self, index: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Frames of one sample: augmented when ``rng`` is given and augmentation is configured."""
        item = self.items[index]
        if rng is not None and isinstance(self.augment, ImageAugmentConfig):
            if self._keep_images:
                return self.extractor.extract(augment_image(item.variants[0], rng, self.augment)).frames
            return np.ascontiguousarray(augment_normalised(item.variants[0].frames.T, rng, self.augment).T)
        if rng is not None and isinstance(self.augment, AudioAugmentConfig):
            speeds = self.augment.speeds
            choice = int(rng.integers(len(speeds)))
            if self._raw:
                # a clip with nothing to transcribe gets no babble: it would be speech left unwritten
                config = self.augment if len(item.labels) else self._without_babble
                waveform = augment_waveform(self._signal(item), rng, config,
                                            sample_rate=self.extractor.config.sample_rate, speed=speeds[choice],
                                            others=self.other_speech(index))
                frames = self.extractor.extract(waveform).frames
            else:
                frames = item.variants[choice].frames
            return augment_frames(frames, rng, self.augment, self._band_hz)
        return self.sequence(index).frames

    def other_speech(self, index: int) -> OtherSpeech:
        """Babble source for sample ``index``: a function of the generator returning the waveform
        of a random other sample (the sample itself only when it is alone in the dataset)."""

        def draw(rng: np.random.Generator) -> np.ndarray:
            if len(self.items) == 1:
                return self._signal(self.items[index])
            other = int(rng.integers(len(self.items) - 1))  # any index but ``index``
            return self._signal(self.items[other + 1 if other >= index else other])

        return draw

    def _signal(self, item: _Item) -> np.ndarray:
        """The raw signal of a sample kept for augmentation (a waveform as float32)."""
        raw = item.variants[0]
        return from_int16(raw) if raw.dtype == np.int16 else raw

    def _base_variant(self) -> int:
        speeds = self.augment.speeds if isinstance(self.augment, AudioAugmentConfig) else (1.0,)
        return speeds.index(1.0) if 1.0 in speeds else 0

    def lengths(self) -> np.ndarray:
        return np.array([item.length for item in self.items], dtype=np.int64)

    def batch_indices(self, max_frames: int, max_batch: int, shuffle: bool,
                      rng: np.random.Generator | None = None) -> list[np.ndarray]:
        """Group samples of similar length under a padded-frame budget.

        With ``shuffle`` the lengths get multiplicative noise before sorting, so batches differ
        from epoch to epoch while staying nearly homogeneous in length, and batch order is random.
        """
        lengths = self.lengths().astype(np.float64)
        if shuffle:
            rng = rng or np.random.default_rng()
            lengths = lengths * rng.uniform(0.9, 1.1, size=len(lengths))
        order = np.argsort(lengths, kind="stable")
        # speed perturbation lengthens a sample by up to 1/min(speed), a take's silences by a fixed
        # time: budget for the longest variant
        padded = np.ceil(self.lengths() * self._stretch()).astype(np.int64) + self._added_frames()
        batches = [np.array(group) for group in group_by_length(order, padded, max_frames, max_batch)]
        if shuffle:
            rng.shuffle(batches)
        return batches

    def _stretch(self) -> float:
        """How much longer than its cached length an augmented sample can be."""
        if isinstance(self.augment, AudioAugmentConfig):
            return self.augment.duration_factors()[1]
        if isinstance(self.augment, ImageAugmentConfig) and not self._keep_images:
            return self.augment.scale_x[1]  # and a slant's overhang of a few columns
        if isinstance(self.augment, ImageAugmentConfig):
            # wider strokes, and a line squashed in height is widened again by height normalisation;
            # 10% more for shear and rotation, which widen the ink's bounding box
            return self.augment.scale_x[1] / self.augment.scale_y[0] * 1.1
        return 1.0

    def _added_frames(self) -> int:
        """Frames an augmented sample can gain whatever its length (audio: the take's silences)."""
        if isinstance(self.augment, AudioAugmentConfig):
            return math.ceil(self.augment.max_padding / self.extractor.config.frame_step)
        return 0

    def make_batch(self, indices: np.ndarray, rng: np.random.Generator | None = None) -> Batch:
        frames = [self.features(int(i), rng) for i in indices]
        labels = [self.items[int(i)].labels for i in indices]
        return collate(frames, labels, indices)

    def batches(self, max_frames: int = 6400, max_batch: int = 32, shuffle: bool = False,
                seed=None, augment: bool = False, indices: list[np.ndarray] | None = None,
                workers: int | None = None) -> Iterator[Batch]:
        """One epoch of batches; ``augment`` applies the configured augmentation.

        ``indices`` (from :meth:`batch_indices`) fixes the batches, so a caller can count them
        beforehand; otherwise they are made here from the budget and ``seed``.

        Augmented batches are made by ``workers`` forked processes (default: one per core), a few
        batches ahead: augmentation and feature extraction cost as much CPU as the training step
        itself, and one Python thread would leave the other cores waiting. Each batch draws from
        its own seed, so the epoch is the same for any number of workers.
        """
        rng = np.random.default_rng(seed)
        if indices is None:
            indices = self.batch_indices(max_frames, max_batch, shuffle, rng)
        if not augment:
            yield from (self.make_batch(batch_indices) for batch_indices in indices)
            return
        seeds = rng.integers(0, 2**63 - 1, size=len(indices))
        workers = (os.cpu_count() or 1) if workers is None else workers
        if workers <= 1 or len(indices) < 2:
            for batch_indices, batch_seed in zip(indices, seeds):
                yield self.make_batch(batch_indices, np.random.default_rng(batch_seed))
            return
        yield from self._parallel_batches(list(zip(indices, seeds)), workers)

    def _parallel_batches(self, jobs: list, workers: int) -> Iterator[Batch]:
        """Batches from a pool of forked workers, in order, at most ``2 * workers`` in flight."""
        global _WORKER_DATASET
        _WORKER_DATASET = self  # inherited by the forked workers: nothing is pickled but the indices
        with get_context("fork").Pool(workers) as pool:
            pending: deque = deque()
            for job in jobs:
                pending.append(pool.apply_async(_worker_batch, (job,)))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
        _WORKER_DATASET = None

    def tf_dataset(self, max_frames: int = 6400, max_batch: int = 32, shuffle: bool = False,
                   seed=None, augment: bool = False, indices: list[np.ndarray] | None = None,
                   prefetch: int = 2, workers: int | None = None):
        """The same epoch as a ``tf.data.Dataset``, prefetched so that reading, augmenting and
        padding the next batches overlaps the training step.

        Elements are ``(features, lengths, labels, label_lengths)``; a ``tf.distribute`` strategy
        can split them across devices with ``experimental_distribute_dataset``.
        """
        import tensorflow as tf

        def generate():
            for batch in self.batches(max_frames, max_batch, shuffle, seed, augment, indices, workers):
                yield batch.features, batch.lengths, batch.labels, batch.label_lengths

        signature = (
            tf.TensorSpec([None, None, self.feature_dim], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.int32),
        )
        return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(prefetch)


_WORKER_DATASET: FeatureDataset | None = None
_WORKER_CALL: Callable | None = None


def _worker_call(item):
    return _WORKER_CALL(item)


def _worker_batch(job: tuple[np.ndarray, int]) -> Batch:
    indices, seed = job
    return _WORKER_DATASET.make_batch(indices, np.random.default_rng(seed))


def group_by_length(order: Sequence[int], lengths: Sequence[int], max_frames: int, max_batch: int) -> list[list[int]]:
    """Cut keys, already in length order, into consecutive groups under the padded-frame budget.

    A group holds at most ``max_batch`` keys and at most ``max_frames`` frames once padded to its
    longest member; a single key longer than the budget still forms its own group.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for key in order:
        length = int(lengths[key])
        if current and (len(current) >= max_batch or max(longest, length) * (len(current) + 1) > max_frames):
            groups.append(current)
            current, longest = [], 0
        current.append(key)
        longest = max(longest, length)
    if current:
        groups.append(current)
    return groups


def to_int16(waveform: np.ndarray) -> np.ndarray:
    """A [-1, 1] waveform as 16-bit PCM: half the memory of float32, and lossless for 16-bit sources."""
    return np.clip(np.round(np.asarray(waveform, dtype=np.float32) * 32768.0), -32768, 32767).astype(np.int16)


def from_int16(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32) / np.float32(32768.0)


def collate(frames: Sequence[np.ndarray], labels: Sequence[np.ndarray], indices=None) -> Batch:
    """Zero-pad frames and labels into one batch, keeping their true lengths."""
    count = len(frames)
    lengths = np.array([len(f) for f in frames], dtype=np.int32)
    label_lengths = np.array([len(l) for l in labels], dtype=np.int32)
    dim = frames[0].shape[1]
    features = np.zeros((count, max(int(lengths.max()), 1), dim), dtype=np.float32)
    padded_labels = np.zeros((count, max(int(label_lengths.max()) if count else 0, 1)), dtype=np.int32)
    for row, (f, l) in enumerate(zip(frames, labels)):
        features[row, : len(f)] = f
        padded_labels[row, : len(l)] = l
    indices = np.arange(count) if indices is None else np.asarray(indices)
    return Batch(features, lengths, padded_labels, label_lengths, indices)
