"""What every feature extractor returns, and how a feature config is chosen from its JSON.

A modality is a feature extractor: audio and line images both become a sequence of frames
``(T, F)``. :class:`FeatureSeq` also says where each frame lies in the source (seconds for audio,
pixels of the original image for lines), so decoders can report timings in the user's units.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from data_prep.errors import InputError


@dataclass
class FeatureSeq:
    """Frames of one input and the mapping from frame index to source position.

    Frame ``i`` starts at ``offset + i * step`` in ``unit`` ("s" or "px").
    """

    frames: np.ndarray  # (T, F) float32
    step: float
    offset: float = 0.0
    unit: str = "s"

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def position(self, frame: float) -> float:
        """Source position (seconds or pixels) of a possibly fractional frame index."""
        return self.offset + frame * self.step


class Extractor(ABC):
    """Loading and feature extraction for one modality.

    ``load`` reads a file into the raw signal (mono waveform or gray image) and raises
    :class:`~data_prep.errors.InputError` on a bad file; ``extract`` turns the raw signal into
    frames and raises ``ValueError`` for a signal it cannot use. Augmentation works on the raw
    signal between the two. Calling the extractor on a path does both, and names the file in
    any error.
    """

    modality: str  # "audio" or "image"
    feature_dim: int

    @abstractmethod
    def load(self, path: str | os.PathLike) -> np.ndarray: ...

    @abstractmethod
    def extract(self, raw: np.ndarray) -> FeatureSeq: ...

    def __call__(self, path: str | os.PathLike) -> FeatureSeq:
        raw = self.load(path)
        try:
            return self.extract(raw)
        except ValueError as error:
            raise InputError(path, str(error)) from error
