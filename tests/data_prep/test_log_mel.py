import json
import warnings

import librosa
import numpy as np
import pytest
import soundfile as sf

from data_prep.errors import InputError
from data_prep.extractors import feature_config_from_dict, make_extractor
from data_prep.log_mel import LogMelConfig, LogMelExtractor


@pytest.fixture(scope="module")
def extractor():
    return LogMelExtractor(LogMelConfig())


def signal(rate: int, seconds: float = 1.0) -> np.ndarray:
    """Band-limited (< 3 kHz) tones with a slow envelope, the same at any sampling rate."""
    t = np.arange(int(round(rate * seconds))) / rate
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 2 * t)
    y = sum(a * np.sin(2 * np.pi * f * t) for a, f in [(0.2, 250), (0.15, 600), (0.1, 1200), (0.05, 2500)])
    return (env * y).astype(np.float32)


def test_config_round_trip_and_json():
    config = LogMelConfig(n_mels=40, fmax=7600.0, normalise="none")
    data = json.loads(json.dumps(config.to_dict()))
    assert data["kind"] == "log_mel"
    assert LogMelConfig.from_dict(data) == config
    assert feature_config_from_dict(data) == config
    assert config.feature_dim == 40
    assert config.frame_step == pytest.approx(0.01)
    assert isinstance(make_extractor(config), LogMelExtractor)


def test_config_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown LogMelConfig keys: n_mfcc"):
        LogMelConfig.from_dict({"kind": "log_mel", "n_mfcc": 13})
    with pytest.raises(ValueError, match="kind"):
        LogMelConfig.from_dict({"kind": "columns"})
    with pytest.raises(ValueError, match="normalise"):
        LogMelConfig(normalise="global")
    with pytest.raises(ValueError, match="win_length"):
        LogMelConfig(win_length=1024)


@pytest.mark.parametrize("n", [0, 1, 3, 159, 160, 161, 511, 512, 16000, 16159])
def test_frame_count_and_short_inputs(extractor, n):
    y = np.random.default_rng(n).uniform(-0.5, 0.5, n).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seq = extractor.extract(y)
    assert seq.frames.shape == (1 + n // 160, 80)
    assert seq.frames.dtype == np.float32 and np.isfinite(seq.frames).all()
    assert (seq.step, seq.offset, seq.unit) == (0.01, 0.0, "s")


def test_matches_librosa_melspectrogram():
    config = LogMelConfig(preemphasis=0.0, normalise="none")
    y = signal(16000)
    ours = LogMelExtractor(config).extract(y).frames
    ref = librosa.feature.melspectrogram(
        y=y, sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=80, fmin=20.0, fmax=8000.0,
        center=True, pad_mode="constant", power=2.0,
    )
    np.testing.assert_allclose(ours, np.log(np.maximum(ref, 1e-6)).T, atol=1e-4)


def test_frame_i_is_centred_on_sample_i_times_hop():
    y = np.zeros(16000, np.float32)
    y[50 * 160] = 1.0
    frames = LogMelExtractor(LogMelConfig(normalise="none", preemphasis=0.0)).extract(y).frames
    assert int(np.argmax(frames.sum(axis=1))) == 50


def test_normalisation(extractor):
    frames = extractor.extract(signal(16000) + 0.01 * np.random.default_rng(0).standard_normal(16000)).frames
    np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(frames.std(axis=0), 1.0, atol=1e-3)
    silent = LogMelExtractor(LogMelConfig(normalise="none", log_floor=1e-4)).extract(np.zeros(1600, np.float32))
    np.testing.assert_allclose(silent.frames, np.log(1e-4), rtol=1e-6)
    np.testing.assert_allclose(extractor.extract(np.zeros(1600, np.float32)).frames, 0.0, atol=1e-6)


def test_deterministic(extractor):
    y = signal(16000)
    np.testing.assert_array_equal(extractor.extract(y).frames, extractor.extract(y.copy()).frames)


def test_8k_mono_and_44k_stereo_agree(tmp_path):
    low, high = tmp_path / "low.wav", tmp_path / "high.wav"
    sf.write(str(low), signal(8000), 8000, subtype="PCM_16")
    s = signal(44100)
    sf.write(str(high), np.stack([1.1 * s, 0.9 * s], axis=1), 44100, subtype="PCM_16")
    config = LogMelConfig(normalise="none")
    extractor = LogMelExtractor(config)
    a, b = extractor(low), extractor(high)
    assert len(a) == len(b) == 101
    centres = librosa.mel_frequencies(n_mels=82, fmin=20.0, fmax=8000.0)[1:-1]
    bands = centres < 3000  # the 8 kHz file holds nothing above 4 kHz
    core = slice(3, -3)  # resampler edge effects
    diff = np.abs(a.frames[core][:, bands] - b.frames[core][:, bands])
    assert diff.mean() < 0.01 and diff.max() < 0.1


def test_call_and_errors(tmp_path, extractor):
    path = tmp_path / "a.flac"
    sf.write(str(path), signal(16000, 0.3), 16000)
    seq = extractor(path)
    assert seq.frames.shape == (1 + 4800 // 160, 80)
    assert extractor.modality == "audio" and extractor.feature_dim == 80
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"ID3 nonsense" * 10)
    with pytest.raises(InputError) as caught:
        extractor(bad)
    assert str(caught.value).startswith(f"{bad}: not a readable audio file")


