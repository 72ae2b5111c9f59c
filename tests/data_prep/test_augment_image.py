import json

import numpy as np
import pytest

from data_prep.augment_image import ImageAugmentConfig, augment_image, elastic

IDENTITY = dict(rotate_deg=0.0, shear=0.0, scale_y=(1, 1), scale_x=(1, 1), translate_y=0.0, noise_std=0.0,
                blur_prob=0.0, erode_dilate_prob=0.0, contrast=(1, 1))


def line(height=32, width=200) -> np.ndarray:
    """Dark strokes on white, including strokes touching the left and right edges."""
    g = np.full((height, width), 255, np.uint8)
    g[6:26, 0:3] = 0
    g[6:26, width - 3:] = 0
    for x in range(15, width - 15, 12):
        g[8:24, x:x + 2] = 0
        g[15:17, x:x + 8] = 40
    return g


def test_config_round_trip_and_json():
    config = ImageAugmentConfig(rotate_deg=2.0, scale_x=(0.9, 1.2), contrast=(0.5, 0.9))
    assert ImageAugmentConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert ImageAugmentConfig.from_dict(json.loads(json.dumps(ImageAugmentConfig().to_dict()))) == ImageAugmentConfig()
    with pytest.raises(ValueError, match="unknown ImageAugmentConfig keys: elastic"):
        ImageAugmentConfig.from_dict({"elastic": 1})
    with pytest.raises(ValueError, match="blur_radius"):
        ImageAugmentConfig(blur_radius=(2.0, 1.0))


def test_seeded_dtype_and_range():
    gray, config = line(), ImageAugmentConfig()
    a = augment_image(gray, np.random.default_rng(5), config)
    np.testing.assert_array_equal(a, augment_image(gray, np.random.default_rng(5), config))
    outs = [augment_image(gray, np.random.default_rng(s), config) for s in range(10)]
    assert len({o.tobytes() for o in outs}) == 10
    for out in outs:
        assert out.dtype == np.uint8 and out.ndim == 2
        assert 28 <= out.shape[0] <= 48 and 160 <= out.shape[1] <= 260
        assert out.min() < 100 and np.median(out) > 200  # still dark ink on light paper
    np.testing.assert_array_equal(gray, line())  # input untouched


def test_identity_config_changes_nothing():
    gray = line()
    out = augment_image(gray, np.random.default_rng(0), ImageAugmentConfig(**IDENTITY))
    np.testing.assert_array_equal(out, gray)


def test_shear_widens_the_canvas_and_cuts_no_ink():
    gray = line()
    config = ImageAugmentConfig(**{**IDENTITY, "shear": 0.3})
    for seed in range(5):
        out = augment_image(gray, np.random.default_rng(seed), config)
        assert out.shape[0] == 32 and out.shape[1] >= 200
        ink_in = (255.0 - gray).sum()
        assert (255.0 - out.astype(np.float64)).sum() == pytest.approx(ink_in, rel=0.03)
    big = ImageAugmentConfig(**{**IDENTITY, "rotate_deg": 10.0, "scale_y": (1.3, 1.3), "translate_y": 0.2})
    out = augment_image(gray, np.random.default_rng(1), big)
    assert out.shape[0] > 32
    assert (255.0 - out.astype(np.float64)).sum() == pytest.approx(1.3 * ink_in, rel=0.05)


def test_contrast_noise_blur_and_strokes():
    gray = line()
    pale = augment_image(gray, np.random.default_rng(0), ImageAugmentConfig(**{**IDENTITY, "contrast": (0.5, 0.5)}))
    assert pale.min() in (127, 128) and pale.max() == 255
    noisy = augment_image(gray, np.random.default_rng(0), ImageAugmentConfig(**{**IDENTITY, "noise_std": 0.05}))
    paper = noisy[gray == 255].astype(np.float64)
    assert 0 < paper.std() and (255 - paper).mean() <= 0.05 * 255
    blurred = augment_image(gray, np.random.default_rng(0), ImageAugmentConfig(**{**IDENTITY, "blur_prob": 1.0}))
    assert ((blurred > 0) & (blurred < 255)).sum() > ((gray > 0) & (gray < 255)).sum()
    counts = set()
    for seed in range(12):
        config = ImageAugmentConfig(**{**IDENTITY, "erode_dilate_prob": 1.0})
        counts.add(int((augment_image(gray, np.random.default_rng(seed), config) < 128).sum()))
    base = int((gray < 128).sum())
    assert min(counts) < base < max(counts)  # both thinner and thicker strokes occur




def test_elastic_is_off_by_default_and_draws_nothing_then():
    gray = line()
    default = augment_image(gray, np.random.default_rng(9), ImageAugmentConfig())
    tuned = augment_image(gray, np.random.default_rng(9), ImageAugmentConfig(elastic_amount=(0.5, 0.9)))
    np.testing.assert_array_equal(default, tuned)  # same random stream as before elastic existed


def test_elastic_moves_ink_smoothly_and_keeps_it():
    gray = line()
    config = ImageAugmentConfig(**{**IDENTITY, "elastic_prob": 1.0, "elastic_amount": (0.03, 0.03)})
    out = augment_image(gray, np.random.default_rng(4), config)
    np.testing.assert_array_equal(out, augment_image(gray, np.random.default_rng(4), config))
    assert out.shape == gray.shape and not np.array_equal(out, gray)
    ink_in, ink_out = (gray < 128).sum(), (out < 128).sum()
    assert 0.7 < ink_out / ink_in < 1.3
    assert (out[:, 40:160] < 128).any(axis=0).sum() >= 0.9 * (gray[:, 40:160] < 128).any(axis=0).sum()
    np.testing.assert_array_equal(np.round(elastic(gray, np.random.default_rng(0), 0.0, 8.0)), gray)


def test_elastic_config_is_checked():
    with pytest.raises(ValueError, match="probabilities"):
        ImageAugmentConfig(elastic_prob=1.5)
    with pytest.raises(ValueError, match="elastic_amount"):
        ImageAugmentConfig(elastic_amount=(0.2, 0.1))
