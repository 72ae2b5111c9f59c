"""Shared fixtures: generated audio and line images, tiny random model bundles.

Everything is generated under pytest's temporary folders; nothing depends on the network. The
bundles are untrained (random weights): the tests that use them check plumbing and invariants
(order, batching, padding, error handling), never recognition quality.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from data_prep.paths import shared_data_dir

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FSDD = shared_data_dir() / "fsdd" / "recordings"

SAMPLE_RATE = 8000


def write_sine(path, seconds: float = 0.5, freq: float = 440.0, rate: int = SAMPLE_RATE, channels: int = 1) -> Path:
    """A sine tone (with a little noise so utterance normalisation has variance) as 16-bit WAV."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = max(1, int(round(seconds * rate)))
    t = np.arange(n) / rate
    rng = np.random.default_rng(int(freq * 1000 + n))
    y = 0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(n)
    if channels > 1:
        y = np.stack([y] * channels, axis=1)
    sf.write(str(path), y.astype(np.float32), rate, subtype="PCM_16")
    return path


def draw_line(path, text: str = "ab ba", height: int = 40, char_width: int = 18, seed: int = 0) -> Path:
    """A fake handwritten line: dark strokes on light paper, one blob of strokes per character."""
    from PIL import Image, ImageDraw

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width = 10 + char_width * max(1, len(text)) + 10
    img = Image.new("L", (width, height), 245)
    draw = ImageDraw.Draw(img)
    x = 10
    for ch in text:
        if ch != " ":
            for _ in range(3):
                x0, x1 = x + rng.integers(0, 6), x + rng.integers(8, char_width - 2)
                y0, y1 = rng.integers(8, 16), rng.integers(height - 16, height - 8)
                draw.line([(int(x0), int(y0)), (int(x1), int(y1))], fill=20, width=3)
        x += char_width
    img.save(str(path))
    return path


def tiny_model_config(frontend: str = "conv1d", **overrides):
    from recognizer.model import ModelConfig

    options = dict(frontend=frontend, conv_channels=(8,), conv_kernel=3, conv_strides=(2,),
                   lstm_units=8, lstm_layers=1, dropout=0.0)
    if frontend == "none":
        options.update(conv_channels=(), conv_strides=())
    options.update(overrides)
    return ModelConfig(**options)


def tiny_audio_features():
    from data_prep.log_mel import LogMelConfig

    return LogMelConfig(sample_rate=SAMPLE_RATE, n_fft=256, win_length=200, hop_length=80, n_mels=16)


def tiny_image_features():
    from data_prep.line_image import LineConfig

    return LineConfig(height=16)


def _saved_bundle(tmp_path_factory, seed: int, features, chars: str, model, name: str) -> Path:
    import keras

    from recognizer.alphabet import Alphabet
    from recognizer.bundle import build_bundle

    keras.utils.set_random_seed(seed)
    bundle = build_bundle(features, Alphabet(chars), model, name=name)
    return bundle.save(tmp_path_factory.mktemp("bundles") / name)


@pytest.fixture(scope="session")
def audio_bundle_dir(tmp_path_factory) -> Path:
    """A saved, untrained audio bundle (log-mel, conv1d with subsampling 2, BiLSTM 8 units)."""
    return _saved_bundle(tmp_path_factory, 1, tiny_audio_features(), " abc", tiny_model_config("conv1d"), "tiny-audio")


@pytest.fixture(scope="session")
def image_bundle_dir(tmp_path_factory) -> Path:
    """A saved, untrained line-image bundle (columns, no front-end, BiLSTM 8 units)."""
    return _saved_bundle(tmp_path_factory, 2, tiny_image_features(), " ab", tiny_model_config("none"), "tiny-image")


@pytest.fixture(scope="session")
def audio_recognizer(audio_bundle_dir):
    import recognizer

    return recognizer.load(audio_bundle_dir)


@pytest.fixture(scope="session")
def image_recognizer(image_bundle_dir):
    import recognizer

    return recognizer.load(image_bundle_dir)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """Generated wavs (several lengths, rates, stereo) and line PNGs, plus unreadable inputs."""
    root = tmp_path_factory.mktemp("media")
    write_sine(root / "short.wav", 0.2, 300.0)
    write_sine(root / "medium.wav", 0.6, 500.0)
    write_sine(root / "long.wav", 1.3, 700.0)
    write_sine(root / "stereo16k.wav", 0.45, 400.0, rate=16000, channels=2)
    draw_line(root / "line_short.png", "ab", seed=1)
    draw_line(root / "line_medium.png", "ab ba", seed=2)
    draw_line(root / "line_long.png", "abba baab ab", seed=3)
    (root / "empty.wav").write_bytes(b"")
    (root / "text.wav").write_text("this is not audio\n")
    (root / "empty.png").write_bytes(b"")
    from PIL import Image

    Image.new("L", (1, 1), 0).save(root / "tiny.png")
    good = (root / "line_short.png").read_bytes()
    (root / "corrupt.png").write_bytes(good[: len(good) // 2])
    return root


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    if not FSDD.is_dir() or not any(FSDD.glob("*.wav")):
        pytest.skip(f"FSDD recordings not found at {FSDD}")
    return FSDD
