from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    draw_line,
    tiny_audio_features,
    tiny_image_features,
    write_sine,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from data_prep.augment_audio import AudioAugmentConfig
from data_prep.augment_image import ImageAugmentConfig
from data_prep.errors import InputError
from data_prep.extractors import make_extractor
from data_prep.features import FeatureSeq
from data_prep.manifest import Entry
from data_prep.pipeline import FeatureDataset, collate, group_by_length

DIM = 3


@dataclass
class _FakeConfig:
    sample_rate: int = 100


class FakeExtractor:
    """No audio needed: a file holds a number N; the "signal" is N samples, one frame each.

    A file holding ``bad`` is unreadable (InputError); ``0`` gives a signal that ``extract``
    rejects with ValueError, like an image too small to normalise.
    """

    modality = "audio"
    feature_dim = DIM

    def __init__(self):
        self.config = _FakeConfig()
        self.loaded: list[str] = []

    def load(self, path):
        self.loaded.append(str(path))
        text = Path(path).read_text().strip()
        if text == "bad":
            raise InputError(path, "unreadable")
        return np.arange(int(text), dtype=np.float32)

    def extract(self, raw):
        if len(raw) == 0:
            raise ValueError("nothing to extract")
        frames = np.repeat(np.asarray(raw, np.float32)[:, None], DIM, axis=1) + np.arange(DIM, dtype=np.float32)
        return FeatureSeq(frames, step=0.01)

    def __call__(self, path):
        return self.extract(self.load(path))


def encode(text):
    if "?" in text:
        raise ValueError(f"cannot encode {text!r}")
    return [ord(c) - ord("a") + 1 for c in text]


def fake_entries(tmp_path, sizes, texts=None):
    entries = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}.txt"
        path.write_text(str(size))
        entries.append(Entry(str(path), texts[i] if texts else "ab"[: 1 + i % 2], line=i + 2))
    return entries


@pytest.fixture
def fake_ds(tmp_path):
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 60, size=40).tolist()
    messages = []
    ds = FeatureDataset(fake_entries(tmp_path, sizes), FakeExtractor(), encode, progress=False, log=messages.append)
    return ds, sizes, messages


def test_features_labels_and_lengths(fake_ds):
    ds, sizes, messages = fake_ds
    assert len(ds) == len(sizes) and ds.feature_dim == DIM
    assert ds.lengths().tolist() == sizes
    assert messages == [] and ds.skipped == []
    for i in (0, 7, 39):
        frames = ds.features(i)
        assert frames.shape == (sizes[i], DIM)
        np.testing.assert_array_equal(frames[:, 0], np.arange(sizes[i]))
        assert ds.items[i].labels.tolist() == encode(ds.entry(i).text)
        assert ds.items[i].labels.dtype == np.int32


def test_bad_files_and_encode_errors_are_skipped_with_a_message(tmp_path):
    contents = ["5", "bad", "0", "7", "4"]
    texts = ["ab", "ab", "ab", "a?b", "ba"]
    entries = fake_entries(tmp_path, contents, texts)
    messages = []
    ds = FeatureDataset(entries, FakeExtractor(), encode, progress=False, log=messages.append)
    assert [e.path for e in (ds.entry(i) for i in range(len(ds)))] == [entries[0].path, entries[4].path]
    assert len(ds.skipped) == 3 and len(messages) == 3
    for message, bad in zip(ds.skipped, (entries[1], entries[2], entries[3])):
        assert message.startswith(bad.path + ": ")
        assert "\n" not in message
    assert "unreadable" in ds.skipped[0]
    assert "nothing to extract" in ds.skipped[1]
    assert "cannot encode" in ds.skipped[2]
    assert messages == [f"skipped {m}" for m in ds.skipped]


def test_default_log_goes_to_stderr(tmp_path, capsys):
    FeatureDataset(fake_entries(tmp_path, ["bad"]), FakeExtractor(), encode, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and "skipped" in captured.err and "unreadable" in captured.err


def test_drop_if(fake_ds):
    ds, sizes, messages = fake_ds
    seen = []

    def too_short(frames, labels):
        seen.append((frames, labels.tolist()))
        return f"{len(labels)} labels but {frames} frames" if frames < 2 * len(labels) + 5 else None

    expected = [i for i, n in enumerate(sizes) if n >= 2 * len(ds.items[i].labels) + 5]
    paths = [ds.entry(i).path for i in expected]
    dropped = ds.drop_if(too_short)
    assert dropped == len(sizes) - len(expected) > 0
    assert [ds.entry(i).path for i in range(len(ds))] == paths
    assert sorted(f for f, _ in seen) == sorted(sizes)
    assert len(ds.skipped) == dropped and len(messages) == dropped
    assert all("labels but" in m and m.startswith("skipped ") for m in messages)
    assert ds.drop_if(lambda frames, labels: None) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 200), min_size=0, max_size=60), st.integers(1, 1000), st.integers(1, 10))
def test_group_by_length_budget_order_and_greed(lengths, max_frames, max_batch):
    order = list(np.argsort(lengths, kind="stable"))
    groups = group_by_length(order, lengths, max_frames, max_batch)
    assert [k for g in groups for k in g] == order  # every key once, order kept
    for i, group in enumerate(groups):
        assert 1 <= len(group) <= max_batch
        padded = max(lengths[k] for k in group) * len(group)
        assert padded <= max_frames or len(group) == 1
        if i + 1 < len(groups):  # greedy: the next key would not have fitted
            grown = group + [groups[i + 1][0]]
            assert len(grown) > max_batch or max(lengths[k] for k in grown) * len(grown) > max_frames


def test_group_by_length_accepts_a_mapping():
    lengths = {"x": 5, "y": 3, "z": 9}
    assert group_by_length(["y", "x", "z"], lengths, 10, 8) == [["y", "x"], ["z"]]


@pytest.mark.parametrize("shuffle", [False, True])
def test_batch_indices_cover_every_index_once(fake_ds, shuffle):
    ds, sizes, _ = fake_ds
    for seed in range(3):
        batches = ds.batch_indices(120, 6, shuffle, np.random.default_rng(seed))
        flat = np.concatenate(batches)
        assert sorted(flat.tolist()) == list(range(len(sizes)))
        for b in batches:
            assert len(b) <= 6
            assert len(b) == 1 or max(sizes[i] for i in b) * len(b) <= 120


def test_batch_indices_without_shuffle_are_length_sorted(fake_ds):
    ds, sizes, _ = fake_ds
    flat = np.concatenate(ds.batch_indices(120, 6, False)).tolist()
    assert [sizes[i] for i in flat] == sorted(sizes)


def test_shuffling_depends_on_the_rng(fake_ds):
    ds, _, _ = fake_ds

    def epoch(seed):
        return [b.tolist() for b in ds.batch_indices(120, 6, True, np.random.default_rng(seed))]

    assert epoch(1) == epoch(1)
    assert epoch(1) != epoch(2)
    assert epoch(1) != [b.tolist() for b in ds.batch_indices(120, 6, False)]


def test_collate_pads_and_keeps_lengths():
    frames = [np.full((3, 2), 1.0), np.full((5, 2), 2.0), np.full((1, 2), 3.0)]
    labels = [np.array([1, 2]), np.array([], np.int32), np.array([3, 4, 5])]
    batch = collate(frames, labels, indices=[7, 8, 9])
    assert batch.features.shape == (3, 5, 2) and batch.features.dtype == np.float32
    assert batch.lengths.tolist() == [3, 5, 1] and batch.lengths.dtype == np.int32
    assert batch.label_lengths.tolist() == [2, 0, 3]
    assert batch.labels.shape == (3, 3) and batch.labels.dtype == np.int32
    assert batch.indices.tolist() == [7, 8, 9]
    for row, (f, l) in enumerate(zip(frames, labels)):
        np.testing.assert_array_equal(batch.features[row, : len(f)], f)
        assert not batch.features[row, len(f):].any()
        assert batch.labels[row, : len(l)].tolist() == l.tolist()
        assert not batch.labels[row, len(l):].any()


def test_collate_with_only_empty_labels_keeps_a_label_column():
    batch = collate([np.ones((2, 4))], [np.zeros(0, np.int32)])
    assert batch.labels.shape == (1, 1) and batch.label_lengths.tolist() == [0]
    assert batch.indices.tolist() == [0]


def test_batches_hold_the_right_samples(fake_ds):
    ds, sizes, _ = fake_ds
    seen = []
    for batch in ds.batches(max_frames=120, max_batch=6, shuffle=True, seed=3):
        seen.extend(batch.indices.tolist())
        for row, index in enumerate(batch.indices):
            n = sizes[index]
            assert batch.lengths[row] == n
            np.testing.assert_array_equal(batch.features[row, :n], ds.features(int(index)))
            assert batch.labels[row, : batch.label_lengths[row]].tolist() == ds.items[index].labels.tolist()
    assert sorted(seen) == list(range(len(sizes)))


def test_tf_dataset_yields_the_same_batches(fake_ds):
    ds, _, _ = fake_ds
    expected = list(ds.batches(max_frames=150, max_batch=5, shuffle=True, seed=11))
    got = list(ds.tf_dataset(max_frames=150, max_batch=5, shuffle=True, seed=11).as_numpy_iterator())
    assert len(got) == len(expected)
    for (features, lengths, labels, label_lengths), batch in zip(got, expected):
        np.testing.assert_array_equal(features, batch.features)
        np.testing.assert_array_equal(lengths, batch.lengths)
        np.testing.assert_array_equal(labels, batch.labels)
        np.testing.assert_array_equal(label_lengths, batch.label_lengths)


# --- real extractors ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wav_entries(tmp_path_factory):
    root = tmp_path_factory.mktemp("wavs")
    entries = [Entry(str(write_sine(root / f"{i}.wav", s, 200.0 + 100 * i)), "ab", line=i + 2)
               for i, s in enumerate([0.25, 0.4, 0.55, 0.7, 0.9])]
    (root / "broken.wav").write_text("not audio")
    return entries, Entry(str(root / "broken.wav"), "ab", line=99)


def test_real_audio_features_and_a_broken_file(wav_entries):
    entries, broken = wav_entries
    extractor = make_extractor(tiny_audio_features())
    messages = []
    ds = FeatureDataset(entries[:2] + [broken] + entries[2:], extractor, encode, progress=False,
                        log=messages.append)
    assert len(ds) == len(entries)
    assert len(ds.skipped) == 1 and ds.skipped[0].startswith(broken.path + ": ")
    hop = tiny_audio_features().hop_length
    for i, entry in enumerate(entries):
        samples = len(extractor.load(entry.path))
        assert ds.lengths()[i] == 1 + samples // hop
        np.testing.assert_array_equal(ds.features(i), extractor(entry.path).frames)
    assert ds.lengths().tolist() == sorted(ds.lengths().tolist())


def test_audio_speed_perturbation_gives_variant_lengths(wav_entries):
    entries, _ = wav_entries
    extractor = make_extractor(tiny_audio_features())
    config = AudioAugmentConfig(speeds=(0.8, 1.0, 1.25), time_masks=1, freq_masks=1, freq_mask_width=2)
    ds = FeatureDataset(entries, extractor, encode, augment=config, progress=False)
    plain = FeatureDataset(entries, extractor, encode, progress=False)
    np.testing.assert_array_equal(ds.lengths(), plain.lengths())  # lengths() are unperturbed
    rng = np.random.default_rng(0)
    for i in range(len(ds)):
        item = ds.items[i]
        variant_lengths = sorted(len(v) for v in item.variants)
        assert len(set(variant_lengths)) == 3  # slower is longer, faster is shorter
        assert item.shortest == variant_lengths[0] < item.length < variant_lengths[-1]
        np.testing.assert_array_equal(ds.features(i), plain.features(i))  # no rng: no augmentation
        drawn = {len(ds.features(i, rng)) for _ in range(40)}
        assert drawn <= set(variant_lengths) and len(drawn) > 1
    # the padded budget accounts for the slowest variant, so augmented batches stay under it
    budget = 4 * int(ds.lengths().max())
    for epoch in range(3):
        for batch in ds.batches(max_frames=budget, max_batch=8, shuffle=True, seed=epoch, augment=True):
            assert len(batch.indices) == 1 or batch.features.shape[0] * batch.features.shape[1] <= budget


def test_take_silences_lengthen_samples_within_the_budget(wav_entries):
    entries, _ = wav_entries
    extractor = make_extractor(tiny_audio_features())
    config = AudioAugmentConfig(speeds=(1.0,), time_masks=0, freq_masks=0, pad_prob=1.0, pad_seconds=(0.25, 0.25))
    ds = FeatureDataset(entries, extractor, encode, augment=config, progress=False)
    added = round(0.5 / extractor.config.frame_step)
    assert ds._added_frames() == added
    rng = np.random.default_rng(0)
    for i in range(len(ds)):
        assert len(ds.features(i, rng)) == ds.items[i].length + added
    # budget: two of the longest with their silences fit exactly, so batches are pairs at most
    budget = 2 * (int(ds.lengths().max()) + added)
    sizes = []
    for batch in ds.batches(max_frames=budget, max_batch=8, shuffle=True, seed=1, augment=True):
        assert batch.features.shape[0] * batch.features.shape[1] <= budget
        sizes.append(len(batch.indices))
    assert max(sizes) == 2


def test_spec_augment_masks_only_when_augmenting(wav_entries):
    entries, _ = wav_entries
    config = AudioAugmentConfig(speeds=(1.0,), time_masks=2, freq_masks=2, freq_mask_width=4)
    ds = FeatureDataset(entries, make_extractor(tiny_audio_features()), encode, augment=config, progress=False)
    first = list(ds.batches(max_frames=10_000, max_batch=8, seed=0, augment=True))
    clean = list(ds.batches(max_frames=10_000, max_batch=8, seed=0, augment=False))
    for a, c in zip(first, clean):
        np.testing.assert_array_equal(a.lengths, c.lengths)
        # SpecAugment sets bands to zero: augmented frames equal clean ones or are zero
        same = a.features == c.features
        assert np.all(same | (a.features == 0))
        assert not same.all()


@pytest.fixture(scope="module")
def png_entries(tmp_path_factory):
    root = tmp_path_factory.mktemp("lines")
    return [Entry(str(draw_line(root / f"{i}.png", text, seed=i)), "ab", line=i + 2)
            for i, text in enumerate(["ab", "ab ba", "abba b", "a"])]


def test_real_image_features(png_entries):
    extractor = make_extractor(tiny_image_features())
    ds = FeatureDataset(png_entries, extractor, encode, progress=False)
    assert len(ds) == len(png_entries) and ds.feature_dim == 16
    for i, entry in enumerate(png_entries):
        np.testing.assert_array_equal(ds.features(i), extractor(entry.path).frames)


def test_image_augmentation_reextracts_each_epoch(png_entries):
    extractor = make_extractor(tiny_image_features())
    ds = FeatureDataset(png_entries, extractor, encode, augment=ImageAugmentConfig(), progress=False)
    for i, entry in enumerate(png_entries):
        assert ds.items[i].variants[0].dtype == np.uint8  # the gray image is kept, not features
        np.testing.assert_array_equal(ds.features(i), extractor(entry.path).frames)
    epochs = [list(ds.batches(max_frames=10_000, max_batch=8, seed=seed, augment=True)) for seed in (0, 1)]
    again = list(ds.batches(max_frames=10_000, max_batch=8, seed=0, augment=True))
    for a, b in zip(epochs[0], again):  # the same seed reproduces the epoch
        np.testing.assert_array_equal(a.features, b.features)
    assert any(a.features.shape != b.features.shape or not np.array_equal(a.features, b.features)
               for a, b in zip(*epochs))


def test_image_feasibility_length_is_the_unaugmented_width(png_entries):
    """For images drop_if sees the unaugmented width; distorted lines vary around it, and the
    rare one too short for its label is left out by the loss (tests/recognizer/test_ctc.py)."""
    extractor = make_extractor(tiny_image_features())
    ds = FeatureDataset(png_entries, extractor, encode, augment=ImageAugmentConfig(), progress=False)
    rng = np.random.default_rng(0)
    for i in range(len(ds)):
        assert ds.items[i].shortest == len(ds.features(i)) == ds.items[i].length
        augmented = [len(ds.features(i, rng)) for _ in range(25)]
        assert min(augmented) < ds.items[i].length < max(augmented)


def test_augmented_image_batches_stay_within_budget(png_entries):
    extractor = make_extractor(tiny_image_features())
    ds = FeatureDataset(png_entries * 3, extractor, encode, augment=ImageAugmentConfig(), progress=False)
    budget = 3 * int(ds.lengths().max())
    for seed in range(4):
        for batch in ds.batches(max_frames=budget, max_batch=8, shuffle=True, seed=seed, augment=True):
            assert len(batch.indices) == 1 or batch.features.shape[0] * batch.features.shape[1] <= budget


def test_normalised_stage_caches_features_and_bounds_widths(png_entries):
    """At the "normalised" stage the clean features are cached (not the images) and an augmented
    line's width stays within the drawn horizontal scale (plus a slant's few columns)."""
    extractor = make_extractor(tiny_image_features())
    config = ImageAugmentConfig(stage="normalised", scale_x=(0.8, 1.2))
    ds = FeatureDataset(png_entries, extractor, encode, augment=config, progress=False)
    assert ds._stretch() == 1.2
    rng = np.random.default_rng(0)
    for i, entry in enumerate(png_entries):
        assert ds.items[i].variants[0].frames.dtype == np.float32  # features kept, not the gray image
        np.testing.assert_array_equal(ds.features(i), extractor(entry.path).frames)
        widths = [len(ds.features(i, rng)) for _ in range(25)]
        overhang = config.shear * config.scale_y[1] * ds.feature_dim + 2
        assert 0.8 * ds.items[i].length - 1 <= min(widths) < max(widths) <= 1.2 * ds.items[i].length + overhang
    epochs = [list(ds.batches(max_frames=10_000, max_batch=8, seed=seed, augment=True)) for seed in (0, 0, 1)]
    for a, b in zip(epochs[0], epochs[1]):
        np.testing.assert_array_equal(a.features, b.features)
    assert any(a.features.shape != b.features.shape or not np.array_equal(a.features, b.features)
               for a, b in zip(epochs[0], epochs[2]))


def test_waveform_augmentation_redraws_features_each_epoch(tmp_path):
    """Noise must be added to the waveform, before the log-mel features: with it on, the dataset
    keeps waveforms and two epochs see different features; without augmentation it does not."""
    from data_prep.audio import save_audio
    from data_prep.log_mel import LogMelConfig

    rate = 8000
    t = np.arange(rate) / rate
    save_audio(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * t), rate)
    entries = [Entry(path=str(tmp_path / "tone.wav"), text="a")]
    extractor = make_extractor(LogMelConfig(sample_rate=rate, n_fft=256, win_length=200, hop_length=80, n_mels=20))
    config = AudioAugmentConfig(speeds=(1.0,), time_masks=0, freq_masks=0, noise_snr_db=(5.0, 10.0))
    noisy = FeatureDataset(entries, extractor, lambda text: [1], augment=config, progress=False)
    plain = FeatureDataset(entries, extractor, lambda text: [1], progress=False)
    np.testing.assert_array_equal(noisy.sequence(0).frames, plain.sequence(0).frames)
    first, second = (noisy.features(0, np.random.default_rng(seed)) for seed in (1, 2))
    assert first.shape == second.shape == plain.sequence(0).frames.shape
    assert not np.allclose(first, second) and not np.allclose(first, plain.sequence(0).frames)


# --- audio augmentation: the old cached path, waveforms on the fly, babble ------------------------


def test_default_audio_augmentation_draws_as_before(wav_entries):
    """The speech-digits recipe ("augment": "default") must train on the same draws as before the
    waveform effects existed: a cached speed variant, then SpecAugment, from one generator."""
    from data_prep.augment_audio import mask_frames

    entries, _ = wav_entries
    config = AudioAugmentConfig()
    ds = FeatureDataset(entries, make_extractor(tiny_audio_features()), encode, augment=config, progress=False)
    assert not ds._raw and all(len(item.variants) == 3 for item in ds.items)
    for seed in range(5):
        got, old = np.random.default_rng(seed), np.random.default_rng(seed)
        for i in range(len(ds)):
            expected = mask_frames(ds.items[i].variants[old.integers(3)].frames, old, config)
            np.testing.assert_array_equal(ds.features(i, got), expected)


def test_waveforms_are_kept_once_as_int16_and_sped_up_on_the_fly(wav_entries):
    from data_prep.augment_audio import speed_perturb

    entries, _ = wav_entries
    extractor = make_extractor(tiny_audio_features())
    config = AudioAugmentConfig(speeds=(0.8, 1.0, 1.25), gain_db=(0.0, 0.0), time_masks=0, freq_masks=0)
    ds = FeatureDataset(entries, extractor, encode, augment=config, progress=False)
    rng = np.random.default_rng(0)
    for i, entry in enumerate(entries):
        item = ds.items[i]
        assert len(item.variants) == 1 and item.variants[0].dtype == np.int16
        raw = extractor.load(entry.path)
        np.testing.assert_array_equal(ds.sequence(i).frames, extractor(entry.path).frames)  # 16-bit wav: lossless
        assert item.length == len(ds.sequence(i))
        lengths = {len(extractor.extract(speed_perturb(raw, s, 8000))) for s in config.speeds}
        drawn = {len(ds.features(i, rng)) for _ in range(30)}
        assert drawn == lengths  # the same speed perturbation as the cached variants
        assert min(lengths) - 1 <= item.shortest <= min(lengths)


def test_other_speech_is_another_sample(tmp_path):
    entries = [Entry(str(write_sine(tmp_path / f"{i}.wav", 0.3, 300.0 + 200 * i)), "ab") for i in range(4)]
    extractor = make_extractor(tiny_audio_features())
    ds = FeatureDataset(entries, extractor, encode, augment=AudioAugmentConfig(babble_prob=1.0), progress=False)
    rng = np.random.default_rng(0)
    for i in range(len(ds)):
        draw = ds.other_speech(i)
        seen = set()
        for _ in range(40):
            waveform = draw(rng)
            assert waveform.dtype == np.float32
            matches = [j for j in range(len(ds)) if np.array_equal(waveform, extractor.load(entries[j].path))]
            assert len(matches) == 1 and matches[0] != i
            seen.add(matches[0])
        assert seen == set(range(len(ds))) - {i}
    alone = FeatureDataset(entries[:1], extractor, encode, augment=AudioAugmentConfig(babble_prob=1.0), progress=False)
    np.testing.assert_array_equal(alone.other_speech(0)(rng), extractor.load(entries[0].path))


def test_babble_on_gives_batches_that_differ_from_clean(tmp_path):
    entries = [Entry(str(write_sine(tmp_path / f"{i}.wav", 0.4 + 0.1 * i, 300.0 + 150 * i)), "ab")
               for i in range(6)]
    extractor = make_extractor(tiny_audio_features())
    config = AudioAugmentConfig(speeds=(1.0,), time_masks=0, freq_masks=0, babble_prob=1.0, babble_snr_db=(0, 5))
    ds = FeatureDataset(entries, extractor, encode, augment=config, progress=False)
    plain = FeatureDataset(entries, extractor, encode, progress=False)
    epoch = list(ds.batches(max_frames=10_000, max_batch=4, seed=1, augment=True))
    again = list(ds.batches(max_frames=10_000, max_batch=4, seed=1, augment=True))
    assert sorted(np.concatenate([b.indices for b in epoch]).tolist()) == list(range(len(entries)))
    for batch, same in zip(epoch, again):
        np.testing.assert_array_equal(batch.features, same.features)
        for row, index in enumerate(batch.indices):
            n = batch.lengths[row]
            clean = plain.features(int(index))
            assert n == len(clean)  # babble keeps the length
            assert np.abs(batch.features[row, :n] - clean).mean() > 0.1


def test_a_clip_with_nothing_to_transcribe_gets_no_babble(tmp_path):
    """Babble over an empty transcript would teach the model to leave speech unwritten."""
    entries = [Entry(str(write_sine(tmp_path / f"{i}.wav", 0.5, 300.0 + 150 * i)), text)
               for i, text in enumerate(["", "ab", "ba"])]
    extractor = make_extractor(tiny_audio_features())
    config = AudioAugmentConfig(speeds=(1.0,), time_masks=0, freq_masks=0, babble_prob=1.0, babble_snr_db=(0, 5))
    ds = FeatureDataset(entries, extractor, encode, augment=config, progress=False)
    assert ds._raw and ds.augment.babble_prob == 1.0
    rng = np.random.default_rng(0)
    for i in range(len(ds)):
        change = np.abs(ds.features(i, rng) - ds.sequence(i).frames).mean()
        assert (change == 0.0) if i == 0 else (change > 0.1), (i, change)


def test_robust_preset_batches(wav_entries):
    from data_prep.augment_audio import PRESETS

    entries, _ = wav_entries
    config = AudioAugmentConfig.from_dict(PRESETS["speech-robust"])
    ds = FeatureDataset(entries * 3, make_extractor(tiny_audio_features()), encode, augment=config, progress=False)
    assert ds._band_hz is not None and len(ds._band_hz) == 16
    budget = 4 * int(ds.lengths().max())
    lengths = set()
    for seed in range(4):
        for batch in ds.batches(max_frames=budget, max_batch=8, shuffle=True, seed=seed, augment=True):
            assert batch.features.dtype == np.float32 and np.all(np.isfinite(batch.features))
            assert batch.features.shape[2] == 16
            assert len(batch.indices) == 1 or batch.features.shape[0] * batch.features.shape[1] <= budget
            lengths.update(zip(batch.indices.tolist(), batch.lengths.tolist()))
    low, high = config.duration_factors()
    added = ds._added_frames()  # the take's silences, beside tempo and speed within their factors
    for index, item in enumerate(ds.items):
        drawn = [n for i, n in lengths if i == index]
        assert item.length * low - 2 <= min(drawn) and max(drawn) <= item.length * high + added + 2
        assert item.shortest <= min(drawn) + 1  # what drop_if sees is a lower bound, within a frame
    first = [b.features for b in ds.batches(max_frames=budget, max_batch=8, seed=9, augment=True)]
    second = [b.features for b in ds.batches(max_frames=budget, max_batch=8, seed=9, augment=True)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_augmented_epoch_is_the_same_for_any_number_of_workers(tmp_path):
    """Parallel batch making (forked workers) must give exactly the serial epoch, in order."""
    import soundfile as sf

    from data_prep.augment_audio import AudioAugmentConfig
    from data_prep.log_mel import LogMelConfig, LogMelExtractor

    rng = np.random.default_rng(0)
    entries = []
    for i in range(12):
        path = tmp_path / f"{i}.wav"
        n = int(8000 * rng.uniform(0.3, 0.9))
        sf.write(path, (0.3 * np.sin(np.arange(n) * (0.05 + 0.01 * i)) + 0.01 * rng.standard_normal(n)).astype(
            np.float32), 8000)
        entries.append(Entry(path=str(path), text="ab"))
    config = AudioAugmentConfig(noise_snr_db=(10.0, 30.0), reverb_prob=0.5)
    dataset = FeatureDataset(entries, LogMelExtractor(LogMelConfig(sample_rate=8000, n_fft=256, win_length=200,
                                                                    hop_length=80, n_mels=16)),
                             lambda text: [1, 2], augment=config, progress=False)
    indices = dataset.batch_indices(max_frames=300, max_batch=4, shuffle=True, rng=np.random.default_rng(1))
    serial = list(dataset.batches(indices=indices, seed=5, augment=True, workers=1))
    parallel = list(dataset.batches(indices=indices, seed=5, augment=True, workers=2))
    assert len(serial) == len(parallel) == len(indices) > 2
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.features, b.features)
    other = list(dataset.batches(indices=indices, seed=6, augment=True, workers=2))
    assert any(not np.array_equal(a.features, b.features) for a, b in zip(serial, other))
