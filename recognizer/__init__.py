"""recognizer: speech and handwritten text-line recognition with bidirectional LSTMs and CTC.

>>> import recognizer
>>> m = recognizer.load("speech-digits")
>>> [r.text for r in m.transcribe(["three_one_four.wav"])]
['three one four']

TensorFlow is imported on first use, so ``recognizer.alphabet`` or ``recognizer.metrics`` stay
light for tools that only need them.
"""
from __future__ import annotations

import os

from recognizer import runtime_env

runtime_env.configure()  # before TensorFlow's first import: quiet logs, oneDNN off

__version__ = "0.1.0"
__all__ = ["load", "__version__"]


def load(model: str | os.PathLike, **options):
    """Load a bundle by name (``speech-digits``) or folder and return a ready :class:`Recognizer`.

    ``options`` go to :class:`recognizer.inference.Recognizer` (``max_frames``, ``max_batch``).
    """
    from recognizer.bundle import load as load_bundle
    from recognizer.inference import Recognizer

    return Recognizer(load_bundle(model), **options)
