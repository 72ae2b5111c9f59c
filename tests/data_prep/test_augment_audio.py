import json

import numpy as np
import pytest
from scipy import signal

from data_prep.augment_audio import (
    NOISE_COLOURS,
    PRESETS,
    AudioAugmentConfig,
    augment_frames,
    augment_waveform,
    coloured_noise,
    mask_frames,
    mel_band_hz,
    mu_law,
    random_eq_sections,
    reverberate,
    room_impulse_response,
    speed_perturb,
    telephone,
    time_stretch,
    warp_frequency,
)

SR = 16000
PROBS = ("pitch_prob", "tempo_prob", "pad_prob", "vtlp_prob", "reverb_prob", "babble_prob", "eq_prob", "telephone_prob",
         "clip_prob")


def tone(freq=440.0, seconds=1.0, rate=SR):
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds=2.0, seed=0, scale=0.1):
    return (scale * np.random.default_rng(seed).standard_normal(int(SR * seconds))).astype(np.float32)


def peak_hz(y, rate=SR):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.argmax(spectrum) * rate / len(y)


def purity(y, freq, width=10.0):
    """Share of the power within ``width`` Hz of ``freq``."""
    power = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    hz = np.fft.rfftfreq(len(y), 1 / SR)
    return power[np.abs(hz - freq) < width].sum() / power.sum()


def psd(y, rate=SR):
    return signal.welch(y, fs=rate, nperseg=1024)


def snr_db(clean, mixed):
    return 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean((mixed - clean).astype(np.float64) ** 2))


def only(**options):
    """A config with nothing but ``options`` on (no speed variants, no masks)."""
    return AudioAugmentConfig(speeds=(1.0,), time_masks=0, freq_masks=0, **options)


def run(x, config, seed=0, **kwargs):
    return augment_waveform(x, np.random.default_rng(seed), config, sample_rate=kwargs.pop("rate", SR), **kwargs)


def all_on():
    probs = {name: 1.0 for name in PROBS}
    return AudioAugmentConfig.from_dict({**PRESETS["speech-robust"], **probs, "noise_prob": 1.0, "mulaw_prob": 1.0})


# -- config ----------------------------------------------------------------------------------------


def test_config_round_trip_and_json():
    for config in (AudioAugmentConfig(), AudioAugmentConfig(speeds=(1.0,), noise_snr_db=(10, 30)), all_on()):
        data = json.loads(json.dumps(config.to_dict()))
        assert AudioAugmentConfig.from_dict(data) == config
    with pytest.raises(ValueError, match="unknown AudioAugmentConfig keys: reverb"):
        AudioAugmentConfig.from_dict({"reverb": 0.3})
    with pytest.raises(ValueError, match="gain_db"):
        AudioAugmentConfig(gain_db=(6, -6))
    with pytest.raises(ValueError, match="reverb_prob"):
        AudioAugmentConfig(reverb_prob=1.5)
    with pytest.raises(ValueError, match="noise_colours"):
        AudioAugmentConfig(noise_colours=("violet",))
    with pytest.raises(ValueError, match="telephone_band"):
        AudioAugmentConfig(telephone_band=(300, 5000))
    with pytest.raises(ValueError, match="tempo"):
        AudioAugmentConfig(tempo=(0.0, 1.1))


def test_presets_are_valid_configs():
    config = AudioAugmentConfig.from_dict(PRESETS["speech-robust"])
    assert config.on_waveform
    assert AudioAugmentConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.duration_factors() == pytest.approx((1 / (1.1 * 1.15), 1 / (0.9 * 0.85)))


def test_duration_factors():
    assert AudioAugmentConfig().duration_factors() == pytest.approx((1 / 1.1, 1 / 0.9))
    assert AudioAugmentConfig(tempo=(0.5, 2.0)).duration_factors() == pytest.approx((1 / 1.1, 1 / 0.9))  # tempo off
    assert only(tempo_prob=0.5, tempo=(0.8, 1.25)).duration_factors() == pytest.approx((0.8, 1.25))


def test_max_padding():
    assert AudioAugmentConfig().max_padding == 0.0  # off by default
    assert AudioAugmentConfig(pad_seconds=(0.5, 3.0)).max_padding == 0.0
    assert only(pad_prob=0.5, pad_seconds=(0.2, 1.2)).max_padding == pytest.approx(2.4)
    with pytest.raises(ValueError, match="pad_seconds"):
        AudioAugmentConfig(pad_seconds=(-0.1, 1.0))


# -- defaults and seeding --------------------------------------------------------------------------


def test_waveform_augmentation_is_off_unless_asked_for():
    x = tone()
    assert not AudioAugmentConfig().on_waveform
    np.testing.assert_array_equal(run(x, AudioAugmentConfig()), x)
    assert AudioAugmentConfig(gain_db=(-3, 3)).on_waveform and AudioAugmentConfig(noise_snr_db=(5, 9)).on_waveform
    assert not AudioAugmentConfig(noise_snr_db=(5, 9), noise_prob=0.0).on_waveform
    for name in PROBS:
        assert AudioAugmentConfig(**{name: 0.5}).on_waveform == (name != "vtlp_prob")  # VTLP acts on frames


def test_defaults_draw_no_random_numbers():
    """Everything off consumes the generator as before the new effects existed, so the old
    speech-digits recipe draws the same speed variants and masks."""
    rng = np.random.default_rng(5)
    run_rng = np.random.default_rng(5)
    augment_waveform(tone(), run_rng, AudioAugmentConfig(), sample_rate=SR)
    assert run_rng.random() == rng.random()
    frames = np.random.default_rng(0).standard_normal((50, 20)).astype(np.float32)
    config = AudioAugmentConfig()
    np.testing.assert_array_equal(augment_frames(frames, np.random.default_rng(3), config),
                                  mask_frames(frames, np.random.default_rng(3), config))


def test_augment_waveform_is_seeded():
    x = tone()
    config = AudioAugmentConfig(noise_snr_db=(5, 20))
    a = run(x, config, seed=7)
    np.testing.assert_array_equal(a, run(x, config, seed=7))
    others = [run(x, config, seed=s) for s in range(10, 18)]
    assert len({o.tobytes() for o in others + [a]}) == 9
    for y in others:
        assert y.dtype == np.float32 and y.shape == x.shape and np.abs(y).max() <= 1.0
    np.testing.assert_array_equal(x, tone())  # input untouched


def test_everything_on_is_seeded_and_bounded():
    x, config = noise(1.5), all_on()

    def others(rng):
        return noise(0.7, seed=int(rng.integers(100, 200)))

    first = [run(x, config, seed=s, speed=1.1, others=others) for s in range(6)]
    again = [run(x, config, seed=s, speed=1.1, others=others) for s in range(6)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32 and np.all(np.isfinite(a)) and np.abs(a).max() <= 1.0
    assert len({a.tobytes() for a in first}) == len(first)
    # length follows speed and tempo, 1 / (speed * tempo), plus the take's silences
    for y in first:
        assert len(x) / (1.1 * 1.15) - 2 <= len(y) <= len(x) / (1.1 * 0.85) + config.max_padding * SR + 2
    frames = np.random.default_rng(0).standard_normal((120, 80)).astype(np.float32)
    band = mel_band_hz(80, 20.0, 8000.0)
    warped = [augment_frames(frames, np.random.default_rng(s), config, band) for s in (1, 1, 2)]
    np.testing.assert_array_equal(warped[0], warped[1])
    assert not np.array_equal(warped[0], warped[2])


# -- take ------------------------------------------------------------------------------------------


def test_take_surrounds_the_speech_with_silence():
    x = 0.1 + 0.2 * tone(seconds=0.5)  # no sample is zero, so the first nonzero one starts it
    config = only(pad_prob=1.0, pad_seconds=(0.1, 0.6))
    leads, trails = set(), set()
    for seed in range(8):
        y = run(x, config, seed=seed)
        lead = int(np.flatnonzero(y)[0])
        trail = len(y) - len(x) - lead
        assert 0.1 * SR <= lead <= 0.6 * SR and 0.1 * SR <= trail <= 0.6 * SR
        np.testing.assert_array_equal(y[lead:lead + len(x)], x)  # the speech itself is untouched
        assert not y[:lead].any() and not y[lead + len(x):].any()
        leads.add(lead), trails.add(trail)
    assert len(leads) > 4 and len(trails) > 4 and leads != trails  # drawn per side, per utterance


def test_noise_and_room_fill_the_silences():
    x = tone(seconds=0.5)
    config = only(pad_prob=1.0, pad_seconds=(0.3, 0.3), reverb_prob=1.0, noise_snr_db=(20.0, 20.0))
    y = run(x, config)
    pad = int(0.3 * SR)
    assert len(y) == len(x) + 2 * pad
    # a real take's pauses hold room tone and the echo of the speech, not digital zeros
    assert np.all(np.abs(y[:pad]) > 0) and np.mean(y[-pad:] ** 2) > np.mean(y[:pad] ** 2)


# -- speaker ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [0.9, 1.0, 1.1])
def test_speed_perturb_scales_duration_and_pitch(factor):
    y = speed_perturb(tone(), factor, SR)
    assert y.dtype == np.float32
    assert abs(len(y) - SR / factor) <= 2
    assert peak_hz(y) == pytest.approx(440 * factor, abs=2)


def test_speed_argument_is_speed_perturbation():
    x = noise(1.0)
    np.testing.assert_array_equal(run(x, AudioAugmentConfig(gain_db=(0, 0)), speed=0.9), speed_perturb(x, 0.9, SR))


@pytest.mark.parametrize("rate", [0.85, 0.9, 1.1, 1.15])
def test_time_stretch_changes_tempo_not_pitch(rate):
    x = tone(seconds=2.0)
    y = time_stretch(x, rate, SR)
    assert y.dtype == np.float32 and len(y) == round(len(x) / rate)
    assert peak_hz(y) == pytest.approx(440, abs=1.5)
    # windows are aligned in phase: a plain overlap-add of unaligned windows cancels the tone
    assert purity(y, 440) > 0.99
    np.testing.assert_array_equal(time_stretch(x, 1.0, SR), x)


def test_tempo_and_pitch_through_the_config():
    x = tone(seconds=2.0)
    faster = run(x, only(tempo_prob=1.0, tempo=(1.2, 1.2)))
    assert len(faster) == pytest.approx(len(x) / 1.2, abs=2) and peak_hz(faster) == pytest.approx(440, abs=1.5)
    higher = run(x, only(pitch_prob=1.0, pitch_semitones=(3, 3)))
    assert len(higher) == pytest.approx(len(x), abs=2)
    assert peak_hz(higher) == pytest.approx(440 * 2 ** (3 / 12), abs=1.5) and purity(higher, 440 * 2 ** 0.25) > 0.99
    lower = run(x, only(pitch_prob=1.0, pitch_semitones=(-2, -2), tempo_prob=1.0, tempo=(0.9, 0.9)), speed=1.1)
    assert len(lower) == pytest.approx(len(x) / (1.1 * 0.9), abs=3)
    assert peak_hz(lower) == pytest.approx(440 * 1.1 * 2 ** (-2 / 12), abs=1.5)  # speed raises pitch too
    drawn = {round(peak_hz(run(x, only(pitch_prob=0.5), seed=s))) for s in range(12)}
    assert 440 in drawn and len(drawn) > 3  # half the time untouched, otherwise within +-2 semitones
    assert min(drawn) >= 440 * 2 ** (-2 / 12) - 2 and max(drawn) <= 440 * 2 ** (2 / 12) + 2


def test_vtlp_moves_a_tone_along_the_mel_axis():
    from data_prep.log_mel import LogMelConfig, LogMelExtractor

    config = LogMelConfig(normalise="none")
    frames = LogMelExtractor(config).extract(tone(1000.0)).frames
    band = mel_band_hz(config.n_mels, config.fmin, config.nyquist_fmax)
    peak = int(np.argmax(frames.mean(axis=0)))
    assert band[peak] == pytest.approx(1000, abs=40)
    for alpha in (0.9, 1.1):
        moved = int(np.argmax(warp_frequency(frames, alpha, band).mean(axis=0)))
        assert band[moved] == pytest.approx(1000 * alpha, abs=40)
        assert (moved - peak) * (alpha - 1) > 0
    ramp = np.tile(np.arange(80, dtype=np.float32), (3, 1))
    for alpha in (0.9, 1.1):  # the top band stays; bands read from lower (alpha > 1) or higher ones
        warped = warp_frequency(ramp, alpha, band)
        assert warped[0, -1] == pytest.approx(79) and np.all(np.diff(warped[0]) > 0)
        assert np.all((warped[0, 1:-1] - ramp[0, 1:-1]) * (alpha - 1) < 0)
    np.testing.assert_array_equal(warp_frequency(frames, 1.0, band), frames)
    with pytest.raises(ValueError, match="band_hz"):
        augment_frames(frames, np.random.default_rng(0), only(vtlp_prob=1.0))


# -- room ------------------------------------------------------------------------------------------


def schroeder_rt60(rir):
    """RT60 from the slope of the backward-integrated energy between -5 and -25 dB (T20)."""
    energy = np.cumsum(rir[1:].astype(np.float64)[::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(energy / energy[0])
    t = np.arange(len(decay_db)) / SR
    fit = (decay_db < -5) & (decay_db > -25)
    return -60 / np.polyfit(t[fit], decay_db[fit], 1)[0]


@pytest.mark.parametrize("rt60, drr", [(0.15, 10.0), (0.4, 0.0), (0.8, -3.0)])
def test_room_impulse_response_has_its_rt60_and_drr(rt60, drr):
    for seed in range(3):
        rir = room_impulse_response(np.random.default_rng(seed), SR, rt60, drr)
        assert rir.dtype == np.float32 and rir[0] == 1.0 and len(rir) == int(rt60 * SR)
        assert 10 * np.log10(1.0 / np.sum(rir[1:].astype(np.float64) ** 2)) == pytest.approx(drr, abs=0.01)
        # broadband T20: the faster-decaying highs make it a little shorter than the nominal value
        assert 0.75 * rt60 <= schroeder_rt60(rir) <= 1.05 * rt60


def test_reverb_lengthens_the_energy_decay():
    burst = np.concatenate([noise(0.3), np.zeros(int(0.7 * SR), np.float32)])
    end = int(0.3 * SR)

    def tail_db(y):  # energy 50-250 ms after the burst ends, relative to the burst
        return 10 * np.log10(np.mean(y[end + 800: end + 4000] ** 2) / np.mean(y[:end] ** 2) + 1e-12)

    tails = {}
    for rt60 in (0.2, 0.8):
        rir = room_impulse_response(np.random.default_rng(0), SR, rt60, 0.0)
        wet = reverberate(burst, rir)
        assert len(wet) == len(burst)
        assert np.mean(wet**2) == pytest.approx(np.mean(burst**2), rel=1e-3)  # level kept
        tails[rt60] = tail_db(wet)
    assert tail_db(burst) < -100 < tails[0.2] < tails[0.8] and tails[0.8] > -20
    config = only(reverb_prob=1.0, reverb_rt60=(0.5, 0.8), reverb_drr_db=(0.0, 3.0))
    assert all(tail_db(run(burst, config, seed=s)) > -25 for s in range(3))


# -- noise -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("colour, slope", [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_noise_colours_have_their_spectral_slope(colour, slope):
    hz, power = psd(coloured_noise(np.random.default_rng(0), 10 * SR, colour))
    band = (hz >= 100) & (hz <= 4000)
    fitted = np.polyfit(np.log10(hz[band]), np.log10(power[band]), 1)[0]
    assert fitted == pytest.approx(slope, abs=0.15)


@pytest.mark.parametrize("colour", NOISE_COLOURS)
def test_noise_snr_is_within_the_range(colour):
    x = tone()
    config = only(noise_snr_db=(5.0, 20.0), noise_colours=(colour,))
    measured = [snr_db(x, run(x, config, seed=s)) for s in range(30)]
    assert 5.0 - 0.01 <= min(measured) < 8.0 and 17.0 < max(measured) <= 20.0 + 0.01
    half = [np.array_equal(run(x, only(noise_snr_db=(5, 5), noise_prob=0.5), seed=s), x) for s in range(30)]
    assert 5 < sum(half) < 25


def test_gain_and_noise_levels():
    x = tone()
    loud = run(x, AudioAugmentConfig(gain_db=(6, 6)))
    np.testing.assert_allclose(loud, x * 10 ** (6 / 20), rtol=1e-5)
    config = AudioAugmentConfig(gain_db=(0, 0), noise_snr_db=(20, 20))
    assert snr_db(x, run(x, config)) == pytest.approx(20, abs=0.01)
    clipped = run(x * 3, AudioAugmentConfig(gain_db=(6, 6)))
    assert np.abs(clipped).max() <= 1.0
    config = AudioAugmentConfig(gain_db=(-6, 6))
    gains = [np.abs(run(x, config, seed=s)).max() / 0.3 for s in range(50)]
    assert 10 ** (-6 / 20) - 1e-4 <= min(gains) < 0.7 and 1.4 < max(gains) <= 10 ** (6 / 20) + 1e-4


class Talkers:
    """Other utterances: tones at 1-2 kHz, one per call; counts the calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, rng):
        self.calls += 1
        return tone(float(rng.integers(1000, 2000)), seconds=float(rng.uniform(0.3, 2.0)))


def test_babble_mixes_other_talkers_at_the_snr():
    x = tone(300.0, seconds=1.5)
    config = only(babble_prob=1.0, babble_snr_db=(5.0, 15.0), babble_talkers=(1, 3))
    measured, calls = [], set()
    for seed in range(30):
        talkers = Talkers()
        y = run(x, config, seed=seed, others=talkers)
        measured.append(snr_db(x, y))
        calls.add(talkers.calls)
        assert 1000 <= peak_hz(y - x) < 2000  # what was added is the other talkers
    assert 5.0 - 0.01 <= min(measured) < 7.0 and 13.0 < max(measured) <= 15.0 + 0.01
    assert calls == {1, 2, 3}
    with pytest.raises(ValueError, match="others"):
        run(x, config)


# -- channel ---------------------------------------------------------------------------------------


def share_between(y, low, high, rate=SR):
    hz, power = psd(y, rate)
    return power[(hz >= low) & (hz < high)].sum() / power.sum()


@pytest.mark.parametrize("companding", [False, True])
def test_telephone_keeps_only_the_phone_band(companding):
    x = noise(2.0)
    y = telephone(x, SR, companding=companding)
    assert y.dtype == np.float32 and len(y) == len(x)
    assert share_between(y, 3600, SR / 2) < 0.01
    assert share_between(y, 0, 200) < 0.02
    assert share_between(y, 400, 3200) > 0.9
    narrow = telephone(noise(2.0)[: 2 * 8000], 8000)  # at 8 kHz: band-pass only
    assert len(narrow) == 2 * 8000 and share_between(narrow, 3600, 4000, 8000) < 0.02


def test_telephone_filters_the_noise_too():
    """The channel comes after the noise: noise added in the room is band-limited as well."""
    x = tone(1000.0, seconds=2.0)
    config = only(noise_snr_db=(0.0, 0.0), telephone_prob=1.0, mulaw_prob=0.0)
    assert share_between(run(x, config), 3600, SR / 2) < 0.01
    assert share_between(run(x, only(noise_snr_db=(0.0, 0.0))), 3600, SR / 2) > 0.2


def test_mu_law_is_8_bit_and_finer_near_zero():
    ramp = np.linspace(-1, 1, 100_001).astype(np.float32)
    out = mu_law(ramp)
    assert out.dtype == np.float32 and len(np.unique(out)) <= 256
    error = np.abs(out - ramp)
    assert error[np.abs(ramp) < 0.01].max() < 0.001 < error[np.abs(ramp) > 0.9].max() < 0.05


def test_random_eq_colours_the_spectrum_within_its_gains():
    x = noise(4.0)
    hz, clean = psd(x)
    octaves = [(f, 2 * f) for f in (125, 250, 500, 1000, 2000, 4000)]
    spreads = []
    for seed in range(10):
        sections = random_eq_sections(np.random.default_rng(seed), only(eq_prob=1.0), SR)
        assert sections.shape == (5, 6)
        y = run(x, only(eq_prob=1.0), seed=seed)
        assert np.all(np.isfinite(y)) and len(y) == len(x)
        _, power = psd(y)
        ratios = [10 * np.log10(power[(hz >= lo) & (hz < hi)].sum() / clean[(hz >= lo) & (hz < hi)].sum())
                  for lo, hi in octaves]
        assert max(abs(r) for r in ratios) <= 5 * 8
        spreads.append(max(ratios) - min(ratios))
    assert np.median(spreads) > 3.0
    np.testing.assert_array_equal(run(x, only(eq_prob=1.0), seed=3), run(x, only(eq_prob=1.0), seed=3))


def test_clipping_flattens_the_peaks():
    x = tone()
    y = run(x, only(clip_prob=1.0, clip_fraction=(0.5, 0.5)))
    assert np.abs(y).max() == pytest.approx(0.15, rel=1e-4)
    assert np.mean(np.abs(y) >= 0.15 * 0.9999) > 0.2  # flat tops
    loud = run(x, only(gain_db=(20, 20), clip_prob=1.0, clip_fraction=(0.9, 0.9)))
    assert np.abs(loud).max() <= 1.0  # gain before clipping, the converter's range last


# -- frames ----------------------------------------------------------------------------------------


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


def test_empty_waveform_survives_the_chain():
    y = run(np.zeros(0, np.float32), all_on(), others=lambda rng: noise(0.5))
    assert y.dtype == np.float32 and y.size <= 1
