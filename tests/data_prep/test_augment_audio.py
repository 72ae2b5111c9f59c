import json

import numpy as np
import pytest

from data_prep.augment_audio import (
    AudioAugmentConfig,
    augment_waveform,
    mask_frames,
    speed_perturb,
)

SR = 16000


def tone(freq=440.0, seconds=1.0):
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(y):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.argmax(spectrum) * SR / len(y)


def test_config_round_trip_and_json():
    for config in (AudioAugmentConfig(), AudioAugmentConfig(speeds=(1.0,), noise_snr_db=(10, 30))):
        data = json.loads(json.dumps(config.to_dict()))
        assert AudioAugmentConfig.from_dict(data) == config
    with pytest.raises(ValueError, match="unknown AudioAugmentConfig keys: reverb"):
        AudioAugmentConfig.from_dict({"reverb": 0.3})
    with pytest.raises(ValueError, match="gain_db"):
        AudioAugmentConfig(gain_db=(6, -6))


@pytest.mark.parametrize("factor", [0.9, 1.0, 1.1])
def test_speed_perturb_scales_duration_and_pitch(factor):
    y = speed_perturb(tone(), factor, SR)
    assert y.dtype == np.float32
    assert abs(len(y) - SR / factor) <= 2
    assert peak_hz(y) == pytest.approx(440 * factor, abs=2)


def test_augment_waveform_is_seeded():
    x = tone()
    config = AudioAugmentConfig(noise_snr_db=(5, 20))
    a = augment_waveform(x, np.random.default_rng(7), config)
    np.testing.assert_array_equal(a, augment_waveform(x, np.random.default_rng(7), config))
    others = [augment_waveform(x, np.random.default_rng(s), config) for s in range(10, 18)]
    assert len({o.tobytes() for o in others + [a]}) == 9
    for y in others:
        assert y.dtype == np.float32 and y.shape == x.shape and np.abs(y).max() <= 1.0
    np.testing.assert_array_equal(x, tone())  # input untouched


def test_waveform_augmentation_is_off_unless_asked_for():
    x = tone()
    assert not AudioAugmentConfig().on_waveform
    np.testing.assert_array_equal(augment_waveform(x, np.random.default_rng(0), AudioAugmentConfig()), x)
    assert AudioAugmentConfig(gain_db=(-3, 3)).on_waveform and AudioAugmentConfig(noise_snr_db=(5, 9)).on_waveform


def test_gain_and_noise_levels():
    x = tone()
    loud = augment_waveform(x, np.random.default_rng(0), AudioAugmentConfig(gain_db=(6, 6)))
    np.testing.assert_allclose(loud, x * 10 ** (6 / 20), rtol=1e-5)
    config = AudioAugmentConfig(gain_db=(0, 0), noise_snr_db=(20, 20))
    noisy = augment_waveform(x, np.random.default_rng(0), config)
    snr = 10 * np.log10(np.mean(x**2) / np.mean((noisy - x) ** 2))
    assert snr == pytest.approx(20, abs=0.5)
    clipped = augment_waveform(x * 3, np.random.default_rng(0), AudioAugmentConfig(gain_db=(6, 6)))
    assert np.abs(clipped).max() <= 1.0
    config = AudioAugmentConfig(gain_db=(-6, 6))
    gains = [np.abs(augment_waveform(x, np.random.default_rng(s), config)).max() / 0.3 for s in range(50)]
    assert 10 ** (-6 / 20) - 1e-4 <= min(gains) < 0.7 and 1.4 < max(gains) <= 10 ** (6 / 20) + 1e-4


def runs_of_zero(mask_1d):
    """Lengths of the runs of True."""
    padded = np.concatenate([[False], mask_1d, [False]]).astype(int)
    edges = np.flatnonzero(np.diff(padded))
    return list(edges[1::2] - edges[::2])


def test_masks_have_the_configured_widths():
    frames = np.ones((400, 80), np.float32)
    config = AudioAugmentConfig(time_masks=1, freq_masks=1, time_mask_frac=0.05, freq_mask_width=8)
    time_widths, freq_widths = set(), set()
    for seed in range(200):
        out = mask_frames(frames, np.random.default_rng(seed), config)
        assert out.dtype == np.float32 and set(np.unique(out)) <= {0.0, 1.0}
        (t_run,) = runs_of_zero(np.all(out == 0.0, axis=1))
        (f_run,) = runs_of_zero(np.all(out == 0.0, axis=0))
        time_widths.add(t_run)
        freq_widths.add(f_run)
    assert time_widths == set(range(1, 21))  # 5 % of 400 frames
    assert freq_widths == set(range(1, 9))
    np.testing.assert_array_equal(frames, 1.0)  # input untouched


def test_masks_count_seed_and_edge_cases():
    frames = np.random.default_rng(0).standard_normal((100, 40)).astype(np.float32)
    config = AudioAugmentConfig()
    a = mask_frames(frames, np.random.default_rng(3), config)
    np.testing.assert_array_equal(a, mask_frames(frames, np.random.default_rng(3), config))
    assert not np.array_equal(a, mask_frames(frames, np.random.default_rng(4), config))
    masked_rows = np.all(a == 0, axis=1).sum()
    masked_cols = np.all(a == 0, axis=0).sum()
    assert 1 <= masked_rows <= 2 * 5 and 1 <= masked_cols <= 2 * 8
    tiny = mask_frames(np.ones((3, 4), np.float32), np.random.default_rng(0), config)  # 1-frame masks
    assert np.all(tiny == 0.0, axis=1).sum() >= 1
    assert mask_frames(np.zeros((0, 80), np.float32), np.random.default_rng(0), config).shape == (0, 80)
    none = AudioAugmentConfig(time_masks=0, freq_masks=0)
    np.testing.assert_array_equal(mask_frames(frames, np.random.default_rng(0), none), frames)
