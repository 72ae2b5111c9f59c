"""What every feature extractor returns, and how a feature config is chosen from its JSON.

A modality is a feature extractor: audio and line images both become a sequence of frames
``(T, F)``. :class:`FeatureSeq` also says where each frame lies in the source (seconds for audio,
pixels of the original image for lines), so decoders can report timings in the user's units.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


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


class Extractor(Protocol):
    """Loading and feature extraction for one modality.

    ``load`` reads a file into the raw signal (mono waveform or gray image) and raises
    :class:`data_prep.errors.InputError` on a bad file; ``extract`` turns the raw signal into
    frames. Augmentation works on the raw signal between the two.
    """

    modality: str  # "audio" or "image"
    feature_dim: int

    def load(self, path: str) -> np.ndarray: ...

    def extract(self, raw: np.ndarray) -> FeatureSeq: ...

    def __call__(self, path: str) -> FeatureSeq: ...


def feature_config_from_dict(data: dict[str, Any]):
    """Rebuild a feature config from its JSON form, dispatching on ``kind``."""
    from data_prep.line_image import LineConfig
    from data_prep.log_mel import LogMelConfig

    kinds = {LogMelConfig.kind: LogMelConfig, LineConfig.kind: LineConfig}
    kind = data.get("kind")
    if kind not in kinds:
        raise ValueError(f"unknown feature kind {kind!r}; expected one of {sorted(kinds)}")
    return kinds[kind].from_dict(data)


def make_extractor(config) -> Extractor:
    """The extractor for a feature config (a ``LogMelConfig`` or a ``LineConfig``)."""
    from data_prep.line_image import ColumnExtractor, LineConfig
    from data_prep.log_mel import LogMelConfig, LogMelExtractor

    if isinstance(config, LogMelConfig):
        return LogMelExtractor(config)
    if isinstance(config, LineConfig):
        return ColumnExtractor(config)
    raise TypeError(f"no extractor for {type(config).__name__}")
