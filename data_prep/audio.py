"""Reading and writing audio: any common format, rate and channel count in, mono float32 out.

Everything downstream (log-mel, augmentation, the CLI) sees one kind of signal: a float32 mono
waveform in [-1, 1] at the rate the feature config asks for. Bad files raise
:class:`~data_prep.errors.InputError` with a short problem so a batch can report and skip them.
"""
from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from data_prep.errors import InputError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def _check_file(path: str) -> None:
    if not os.path.isfile(path):
        raise InputError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise InputError(path, "empty file")


def _wav_shortfall(path: str) -> tuple[int, int] | None:
    """(bytes promised, bytes present) of a RIFF/WAVE data chunk cut short, else None.

    libsndfile quietly reads what is there; a recording cut off mid-write is still a damaged
    file, and the user should hear about it rather than get a transcript of part of it.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        if handle.read(4) != b"RIFF" or handle.seek(8) != 8 or handle.read(4) != b"WAVE":
            return None
        while True:
            header = handle.read(8)
            if len(header) < 8:
                return None
            chunk, length = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"data":
                present = size - handle.tell()
                # 0 and 0xFFFFFFFF mark streamed files whose writer never filled the size in
                return (length, present) if 0 < length < 0xFFFFFFFF and present < length else None
            handle.seek(length + (length & 1), os.SEEK_CUR)


def check_audio_file(path: str) -> None:
    """Raise :class:`InputError` for a missing, empty or truncated (WAV) file; cheap, no decoding."""
    _check_file(path)
    shortfall = _wav_shortfall(path) if path.lower().endswith((".wav", ".wave")) else None
    if shortfall:
        promised, present = shortfall
        raise InputError(path, f"truncated wav (header promises {promised} bytes of audio, file holds {present})")


def _reason(error: Exception) -> str:
    """A short reason, without the path that libsndfile repeats in its messages."""
    text = getattr(error, "error_string", None) or str(error) or type(error).__name__
    return text.strip().rstrip(".").splitlines()[0]


def _read_any(path: str) -> tuple[np.ndarray, int]:
    """(samples, channels) float32 and the file's rate: soundfile first, librosa as a fallback."""
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        return data, int(rate)
    except Exception as sf_error:  # libsndfile raises several types for bad files
        first = sf_error
    try:  # librosa may still decode it through audioread (e.g. with ffmpeg installed)
        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data, rate = librosa.load(path, sr=None, mono=False, dtype=np.float32)
        data = np.atleast_2d(data).T  # librosa gives (channels, samples)
        return np.ascontiguousarray(data), int(rate)
    except Exception:
        raise InputError(path, f"not a readable audio file ({_reason(first)})") from first


def resample(waveform: np.ndarray, orig_sr: float, target_sr: float) -> np.ndarray:
    """Band-limited resampling (soxr, high quality); a no-op when the rates agree."""
    if orig_sr == target_sr:
        return waveform
    import librosa

    out = librosa.resample(waveform, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq")
    return out.astype(np.float32, copy=False)


def load_audio(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Mono float32 waveform in [-1, 1] at ``sample_rate``; channels are averaged.

    A WAV file whose header promises more audio than it holds is an error ("truncated").
    """
    path = os.fspath(path)
    check_audio_file(path)
    data, rate = _read_any(path)
    if data.size == 0:
        raise InputError(path, "no audio samples")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    mono = np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0)
    mono = resample(mono, rate, sample_rate)
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


def audio_duration(path: str | os.PathLike) -> float:
    """Duration in seconds from the header alone (cheap: no decoding)."""
    path = os.fspath(path)
    _check_file(path)
    try:
        info = sf.info(path)
    except Exception as error:
        raise InputError(path, f"not a readable audio file ({_reason(error)})") from error
    return float(info.frames) / float(info.samplerate)


def save_audio(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int) -> None:
    """Write a mono (or (samples, channels)) waveform; the format follows the extension.

    WAV is written as 16-bit PCM (what most tools expect); other formats use soundfile's default.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.clip(np.asarray(waveform, dtype=np.float32), -1.0, 1.0)
    subtype = "PCM_16" if path.suffix.lower() == ".wav" else None
    sf.write(str(path), data, int(sample_rate), subtype=subtype)
