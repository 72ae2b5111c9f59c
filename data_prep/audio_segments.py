"""Long recordings in bounded memory: cut at pauses, read one piece at a time.

An hour of 44.1 kHz stereo audio is over a gigabyte as float32 before resampling, and a
recogniser needs none of it at once. :func:`pause_segments` streams the file once in blocks to
measure short-time energy (100 values per second), then cuts it into pieces of at most
``max_seconds``, each cut placed at the quietest stretch of the last ``search_seconds`` before
the limit, so cuts fall between words whenever the speaker pauses at all. :func:`read_span` reads
one piece by seeking, so memory is bounded by the piece, not the file. Positions are seconds in
the original file, which is what keeps word timings right across the cuts.
"""
from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from data_prep.audio import check_audio_file, resample
from data_prep.errors import InputError

ENERGY_STEP = 0.01  # seconds per energy value
QUIET_WINDOW = 0.2  # seconds over which a pause's energy is averaged


def _info(path: str) -> sf._SoundFileInfo:
    check_audio_file(path)
    try:
        return sf.info(path)
    except Exception as error:  # libsndfile cannot stream it: the caller reads it whole
        raise InputError(path, f"cannot stream this audio file ({error})".splitlines()[0]) from error


def frame_energy(path: str, block_seconds: float = 10.0) -> np.ndarray:
    """Log mean-square energy per :data:`ENERGY_STEP` of the (channel-averaged) signal."""
    info = _info(path)
    hop = max(1, int(round(info.samplerate * ENERGY_STEP)))
    block = hop * max(1, int(block_seconds / ENERGY_STEP))
    values = []
    for data in sf.blocks(path, blocksize=block, dtype="float32", always_2d=True):
        mono = data.mean(axis=1)
        usable = len(mono) - len(mono) % hop
        if usable:
            values.append((mono[:usable].reshape(-1, hop) ** 2).mean(axis=1))
        if usable < len(mono):
            values.append(np.array([(mono[usable:] ** 2).mean()]))
    energy = np.concatenate(values) if values else np.zeros(0)
    return np.log(energy + 1e-10)


def pause_segments(path: str | os.PathLike, max_seconds: float = 30.0,
                   search_seconds: float = 6.0) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of consecutive pieces covering the whole file, each at most
    ``max_seconds`` long, cut in the quietest ``QUIET_WINDOW`` of the last ``search_seconds``."""
    if not 0 < search_seconds < max_seconds:
        raise ValueError("need 0 < search_seconds < max_seconds")
    path = os.fspath(path)
    energy = frame_energy(path)
    info = sf.info(path)
    total = info.frames / info.samplerate
    width = max(1, int(QUIET_WINDOW / ENERGY_STEP))
    smooth = np.convolve(energy, np.ones(width) / width, mode="same") if len(energy) else energy
    limit, search = int(max_seconds / ENERGY_STEP), int(search_seconds / ENERGY_STEP)
    cuts, start = [], 0
    while len(energy) - start > limit:
        window = smooth[start + limit - search:start + limit]
        cut = start + limit - search + int(np.argmin(window))
        cuts.append(cut)
        start = cut
    bounds = [0.0] + [c * ENERGY_STEP for c in cuts] + [total]
    return list(zip(bounds[:-1], bounds[1:]))


def read_span(path: str | os.PathLike, start: float, end: float, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of ``[start, end)`` seconds, resampled to ``sample_rate``."""
    path = os.fspath(path)
    info = _info(path)
    first = int(round(start * info.samplerate))
    count = max(0, int(round(end * info.samplerate)) - first)
    with sf.SoundFile(path) as handle:
        handle.seek(first)
        data = handle.read(count, dtype="float32", always_2d=True)
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    mono = np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(resample(mono, info.samplerate, sample_rate), -1.0, 1.0).astype(np.float32, copy=False)
