"""Speech augmentation: speed perturbation, gain and noise on the waveform; SpecAugment masks on
the frames. Speed changes the frame count, so it is a separate step (see :func:`augment_waveform`).

Every random choice comes from the ``np.random.Generator`` passed in, never the global RNG, so a
seed reproduces an epoch exactly and parallel workers can get independent streams.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_prep.audio import resample
from data_prep.config import JsonConfig


@dataclass
class AudioAugmentConfig(JsonConfig):
    """What :func:`augment_waveform` and :func:`mask_frames` do; JSON-serialisable."""

    speeds: tuple[float, ...] = (0.9, 1.0, 1.1)  # speed_perturb variants; one is used per epoch
    time_masks: int = 2
    time_mask_frac: float = 0.05  # widest time mask, as a fraction of T (at least 1 frame)
    freq_masks: int = 2
    freq_mask_width: int = 8  # widest frequency mask, in bins
    noise_snr_db: tuple[float, float] | None = None  # (min, max) white-noise SNR; None: no noise
    # (min, max) uniform gain; off by default: per-utterance normalisation of the log-mel features
    # cancels a gain change except where it clips or nears the log floor
    gain_db: tuple[float, float] | None = None

    @property
    def on_waveform(self) -> bool:
        """Whether :func:`augment_waveform` has anything to do (then features are redrawn each epoch)."""
        return self.gain_db is not None or self.noise_snr_db is not None

    def __post_init__(self) -> None:
        self.speeds = tuple(float(s) for s in self.speeds)
        if self.gain_db is not None:
            self.gain_db = tuple(float(g) for g in self.gain_db)
        if self.noise_snr_db is not None:
            self.noise_snr_db = tuple(float(s) for s in self.noise_snr_db)
        if not self.speeds or min(self.speeds) <= 0:
            raise ValueError("speeds must be a non-empty tuple of positive factors")
        for name in ("gain_db", "noise_snr_db"):
            pair = getattr(self, name)
            if pair is not None and (len(pair) != 2 or pair[0] > pair[1]):
                raise ValueError(f"{name} must be (min, max), got {pair}")
        if min(self.time_masks, self.freq_masks, self.freq_mask_width) < 0 or self.time_mask_frac < 0:
            raise ValueError("mask counts and widths must be >= 0")


def speed_perturb(waveform: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Kaldi-style speed change: duration scales by ``1/factor`` and pitch by ``factor``.

    The signal is treated as if recorded at ``sample_rate * factor`` and resampled back to
    ``sample_rate`` (like ``sox speed``), so speaking rate and pitch change together.
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    if factor == 1.0 or waveform.size == 0:
        return waveform.copy()
    return resample(waveform, sample_rate * factor, sample_rate)


def augment_waveform(waveform: np.ndarray, rng: np.random.Generator, config: AudioAugmentConfig) -> np.ndarray:
    """A randomly perturbed copy: gain, then white noise at a random SNR.

    Speed is not applied here: it changes the number of frames, so callers make one variant per
    factor in ``config.speeds`` with :func:`speed_perturb` (cacheable) and pick one per epoch.
    The result stays float32 in [-1, 1] (clipped, as a real recording would be).
    """
    y = np.asarray(waveform, dtype=np.float32)
    if config.gain_db is not None:
        y = y * np.float32(10.0 ** (rng.uniform(*config.gain_db) / 20.0))
    if config.noise_snr_db is not None and y.size:
        power = float(np.mean(y.astype(np.float64) ** 2))
        if power > 0:
            snr_db = rng.uniform(*config.noise_snr_db)
            sigma = np.sqrt(power / 10.0 ** (snr_db / 10.0))
            y = y + rng.normal(0.0, sigma, size=y.shape).astype(np.float32)
    return np.clip(y, -1.0, 1.0).astype(np.float32, copy=False)


def mask_frames(frames: np.ndarray, rng: np.random.Generator, config: AudioAugmentConfig) -> np.ndarray:
    """SpecAugment: a copy with time and frequency bands set to 0.0 (the normalised mean).

    Each mask is 1..max wide: ``max(1, int(time_mask_frac * T))`` frames, ``freq_mask_width``
    bins (capped at F). Masks may overlap.
    """
    out = np.array(frames, dtype=np.float32, copy=True)
    t, f = out.shape
    if t == 0 or f == 0:
        return out
    widest_t = min(t, max(1, int(config.time_mask_frac * t)))
    for _ in range(config.time_masks):
        width = int(rng.integers(1, widest_t + 1))
        start = int(rng.integers(0, t - width + 1))
        out[start:start + width, :] = 0.0
    widest_f = min(f, config.freq_mask_width)
    for _ in range(config.freq_masks if widest_f > 0 else 0):
        width = int(rng.integers(1, widest_f + 1))
        start = int(rng.integers(0, f - width + 1))
        out[:, start:start + width] = 0.0
    return out
