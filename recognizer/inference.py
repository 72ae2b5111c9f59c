"""The inference API: files in, :class:`~recognizer.results.Result` objects out, in input order.

Inputs are read and featurised in chunks, sorted by length and run through the network in
batches under a padded-frame budget, so many short files run fast and long ones do not exhaust
memory. Audio longer than ``segment_seconds`` is read and featurised piece by piece, cut at
pauses (:mod:`recognizer.long_audio`), so an hour-long file never sits in memory as one waveform.
A file that cannot be read becomes a failed Result with a one-line error; the others
still run.
"""
from __future__ import annotations

import os
import sys
from typing import Hashable, Iterable, Sequence

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from data_prep.audio import audio_duration
from data_prep.errors import InputError
from data_prep.extractors import make_extractor
from data_prep.features import FeatureSeq
from data_prep.pipeline import collate, group_by_length
from recognizer.bundle import Bundle
from recognizer.decoder_config import DecoderConfig, make_decoder
from recognizer.decoding import Decoded
from recognizer.long_audio import featurise_pieces, join_decoded
from recognizer.results import Result


def read_error(path: str, error: Exception) -> str:
    """One line for a file that could not be featurised, whatever raised."""
    if isinstance(error, InputError):
        return str(error)
    return f"{path}: {type(error).__name__}: {error}".splitlines()[0]


class Recognizer:
    """A loaded bundle ready to recognise audio files or line images.

    ``max_frames`` bounds the padded input frames of one forward batch (memory), ``max_batch``
    the number of inputs in it; ``chunk`` how many files are featurised before they are batched;
    ``decoder`` how outputs become text (default: the bundle's, see :mod:`recognizer.decoder_config`);
    ``segment_seconds`` the longest piece of audio featurised at once.
    """

    def __init__(self, bundle: Bundle, max_frames: int = 64000, max_batch: int = 32, chunk: int = 128,
                 segment_seconds: float = 30.0, decoder: DecoderConfig | None = None):
        self.bundle = bundle
        self.decoder_config = decoder if decoder is not None else bundle.decoder_config()
        self.decoder = make_decoder(self.decoder_config, bundle.alphabet)
        self.extractor = make_extractor(bundle.features)
        self.max_frames = max_frames
        self.max_batch = max_batch
        self.chunk = chunk
        self.segment_seconds = segment_seconds
        model = bundle.model
        signature = [tf.TensorSpec([None, None, self.extractor.feature_dim], tf.float32),
                     tf.TensorSpec([None], tf.int32)]
        self._forward = tf.function(lambda f, l: model(f, l, training=False), input_signature=signature)

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def modality(self) -> str:
        return self.extractor.modality

    @property
    def alphabet(self):
        return self.bundle.alphabet

    def transcribe(self, paths: Iterable[str | os.PathLike], progress: bool = False) -> list[Result]:
        """Recognise audio files (any rate, any channel count)."""
        self._expect("audio", "transcribe", "read")
        return self.recognize(paths, progress)

    def read(self, paths: Iterable[str | os.PathLike], progress: bool = False) -> list[Result]:
        """Recognise text-line images (any mode, any size)."""
        self._expect("image", "read", "transcribe")
        return self.recognize(paths, progress)

    def _expect(self, modality: str, verb: str, other: str) -> None:
        if self.modality != modality:
            raise ValueError(f"model {self.name!r} reads {self.modality} input; use {other}() instead of {verb}()")

    def recognize(self, paths: Iterable[str | os.PathLike], progress: bool = False) -> list[Result]:
        """Recognise inputs of this model's modality, returning one Result per path, in order."""
        paths = [str(p) for p in paths]
        results: list[Result] = []
        bar = tqdm(total=len(paths), unit="file", disable=not progress, file=sys.stderr, leave=False)
        for start in range(0, len(paths), self.chunk):
            results.extend(self._recognize_chunk(paths[start:start + self.chunk], bar))
        bar.close()
        return results

    def featurise(self, path: str) -> FeatureSeq:
        seq = self.extractor(path)
        if len(seq) == 0:
            raise InputError(path, "no frames to recognise")
        return seq

    def featurise_pieces(self, path: str) -> list[FeatureSeq]:
        """Features of one input: one sequence, or several pieces for long audio."""
        if self.modality == "audio" and audio_duration(path) > self.segment_seconds:
            try:
                pieces = featurise_pieces(self.extractor, path, self.segment_seconds)
            except InputError:  # not streamable (a format only librosa decodes): read it whole
                pieces = [self.featurise(path)]
            if not pieces:
                raise InputError(path, "no frames to recognise")
            return pieces
        return [self.featurise(path)]

    def _recognize_chunk(self, paths: Sequence[str], bar) -> list[Result]:
        results: list[Result | None] = [None] * len(paths)
        pieces: dict[tuple[int, int], FeatureSeq] = {}
        for i, path in enumerate(paths):
            try:
                pieces.update(((i, j), seq) for j, seq in enumerate(self.featurise_pieces(path)))
            except Exception as error:  # any unreadable input becomes its own failed Result
                results[i] = Result.failed(path, read_error(path, error))
                bar.update(1)
        decoded = self.decode_features(pieces)
        for i in sorted({i for i, _ in pieces}):
            keys = sorted(key for key in pieces if key[0] == i)
            parts = [decoded[key] for key in keys]
            joined = parts[0] if len(parts) == 1 else join_decoded(
                parts, [len(pieces[key]) * pieces[key].step for key in keys])
            results[i] = Result.from_decoded(paths[i], joined, unit=pieces[keys[0]].unit)
            bar.update(1)
        return results  # type: ignore[return-value]

    def log_probs(self, seqs: dict[Hashable, FeatureSeq]) -> dict[Hashable, np.ndarray]:
        """Network outputs ``(T', V)`` per input, cut to each input's valid length."""
        out: dict[Hashable, np.ndarray] = {}
        for keys, (log_probs, lengths) in self._forward_batches(seqs):
            for row, key in enumerate(keys):
                out[key] = log_probs[row, : lengths[row]]
        return out

    def decode_features(self, seqs: dict[Hashable, FeatureSeq]) -> dict[Hashable, Decoded]:
        """Decoding of featurised inputs (by ``self.decoder``), timings in each input's own unit."""
        subsampling = self.bundle.model_config.subsampling
        decoded: dict[Hashable, Decoded] = {}
        for keys, (log_probs, lengths) in self._forward_batches(seqs):
            steps = [seqs[k].step * subsampling for k in keys]
            offsets = [seqs[k].offset for k in keys]
            for key, item in zip(keys, self.decoder.decode_batch(log_probs, lengths, steps, offsets)):
                decoded[key] = item
        return decoded

    def _forward_batches(self, seqs: dict[Hashable, FeatureSeq]):
        for keys in self._batches(seqs):
            batch = collate([seqs[k].frames for k in keys], [np.zeros(0, np.int32)] * len(keys))
            log_probs, lengths = self._forward(batch.features, batch.lengths)
            yield keys, (log_probs.numpy(), lengths.numpy())

    def _batches(self, seqs: dict[Hashable, FeatureSeq]) -> list[list[Hashable]]:
        order = sorted(seqs, key=lambda k: len(seqs[k]))
        lengths = {k: len(seqs[k]) for k in seqs}
        return group_by_length(order, lengths, self.max_frames, self.max_batch)
