"""Log-mel filterbank features: the speech front end.

Frame convention: the STFT is centred (librosa ``center=True``, zero padding), so frame ``i`` is
centred on sample ``i * hop_length``, i.e. at time ``i * hop_length / sample_rate`` seconds. The
:class:`~data_prep.features.FeatureSeq` therefore has ``offset=0.0`` and ``step=hop/sample_rate``,
and ``position(i)`` is the *centre* of frame ``i``. A waveform of ``N`` samples gives
``1 + N // hop_length`` frames, whatever its length (short ones are zero padded).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from data_prep.audio import load_audio
from data_prep.config import JsonConfig
from data_prep.features import Extractor, FeatureSeq

NORMALISE = ("utterance", "none")


@dataclass
class LogMelConfig(JsonConfig):
    """How speech becomes frames; travels as JSON inside a model bundle."""

    kind: ClassVar[str] = "log_mel"

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 80
    fmin: float = 20.0
    fmax: float | None = None  # None: the Nyquist frequency, sample_rate / 2
    preemphasis: float = 0.97  # 0 disables; flattens the spectral tilt of voiced speech
    normalise: str = "utterance"  # per-mel-band mean/variance over the utterance, or "none"
    log_floor: float = 1e-6  # mel power below this is clamped before the log (silence, zeros)

    def __post_init__(self) -> None:
        if self.normalise not in NORMALISE:
            raise ValueError(f"normalise must be one of {NORMALISE}, not {self.normalise!r}")
        if not 0 < self.win_length <= self.n_fft:
            raise ValueError(f"win_length must be in 1..n_fft ({self.n_fft}), not {self.win_length}")
        if self.hop_length <= 0 or self.n_mels <= 0 or self.sample_rate <= 0:
            raise ValueError("sample_rate, hop_length and n_mels must be positive")
        if not 0 <= self.fmin < self.nyquist_fmax:
            raise ValueError(f"need 0 <= fmin < fmax, got fmin={self.fmin}, fmax={self.nyquist_fmax}")
        if self.log_floor <= 0:
            raise ValueError("log_floor must be positive")

    @property
    def nyquist_fmax(self) -> float:
        return float(self.fmax) if self.fmax is not None else self.sample_rate / 2

    @property
    def feature_dim(self) -> int:
        return self.n_mels

    @property
    def frame_step(self) -> float:
        """Seconds between frame centres."""
        return self.hop_length / self.sample_rate


class LogMelExtractor(Extractor):
    """Audio file or waveform -> normalised log-mel frames ``(T, n_mels)`` float32."""

    modality = "audio"

    def __init__(self, config: LogMelConfig | None = None):
        import librosa  # deferred: importing librosa costs about a second

        self.config = config or LogMelConfig()
        c = self.config
        self.feature_dim = c.n_mels
        self._librosa = librosa
        # The filterbank depends only on the config: build it once, not per utterance.
        self._mel_basis = librosa.filters.mel(
            sr=c.sample_rate, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.fmin, fmax=c.nyquist_fmax
        ).astype(np.float32)

    def load(self, path: str | os.PathLike) -> np.ndarray:
        return load_audio(path, self.config.sample_rate)

    def extract(self, waveform: np.ndarray) -> FeatureSeq:
        c = self.config
        y = np.asarray(waveform, dtype=np.float32).reshape(-1)
        n_frames = 1 + len(y) // c.hop_length
        if c.preemphasis:
            y = np.concatenate([y[:1], y[1:] - c.preemphasis * y[:-1]])
        if len(y) < c.n_fft:
            # Zero padding equals the centred STFT's own padding, so frames are unchanged.
            y = np.pad(y, (0, c.n_fft - len(y)))
        # Same as librosa.feature.melspectrogram(power=2), with the filterbank cached.
        spec = self._librosa.stft(
            y, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
            window="hann", center=True, pad_mode="constant",
        )[:, :n_frames]
        power = spec.real**2 + spec.imag**2
        logmel = np.log(np.maximum(self._mel_basis @ power, c.log_floor)).T  # (T, n_mels)
        if c.normalise == "utterance":
            # Removes channel and loudness differences; near-constant bands are only centred.
            # float64: float32 rounding of the mean would be blown up in near-constant bands.
            logmel = logmel.astype(np.float64)
            logmel = (logmel - logmel.mean(axis=0)) / np.maximum(logmel.std(axis=0), 1e-3)
        frames = np.ascontiguousarray(logmel, dtype=np.float32)
        return FeatureSeq(frames=frames, step=c.frame_step, offset=0.0, unit="s")
