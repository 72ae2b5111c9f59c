"""Cutting a time span of a recording into its own WAV file (Kaldi segments, NeMo offsets).

Only the span is read (a seek, then ``end - start`` samples), so cutting thousands of segments
from hour-long recordings costs what the segments weigh, not the recordings. The rate and the
channels stay as recorded; the features' loader resamples and mixes down later.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import soundfile as sf

from data_prep.audio import save_audio
from data_prep.importers.common import Skip

MIN_SECONDS = 0.01


def cut_segment(path: Path, start: float, end: float | None, target: Path) -> dict[str, Any]:
    """Write ``path``'s span ``[start, end)`` seconds (``end`` None or < 0: to the end) to ``target``.

    Returns the row fields ``path`` and ``duration``; raises :class:`Skip` for a span that lies
    outside the recording or is empty.
    """
    try:
        with sf.SoundFile(str(path)) as audio:
            rate, frames = audio.samplerate, audio.frames
            first = round(start * rate)
            last = frames if end is None or end < 0 else round(end * rate)
            if start < 0 or first >= frames:
                raise Skip("segment outside its recording", f"{path} [{start:.2f}, {end}] s")
            last = min(last, frames)
            if (last - first) / rate < MIN_SECONDS:
                raise Skip("empty segment", f"{path} [{start:.2f}, {end}] s")
            audio.seek(first)
            data = audio.read(last - first, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        raise Skip("unreadable audio", f"{path} ({error})") from None
    save_audio(target, data if data.shape[1] > 1 else data[:, 0], rate)
    return {"path": str(target), "duration": round(len(data) / rate, 4)}
