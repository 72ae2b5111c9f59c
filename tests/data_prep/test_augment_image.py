import json

import numpy as np
import pytest

from data_prep.augment_image import ImageAugmentConfig, augment_image, augment_normalised, elastic

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


def test_a_grown_canvas_takes_the_paper_tone():
    toned = np.where(line() == 255, 190, line()).astype(np.uint8)
    config = ImageAugmentConfig(**{**IDENTITY, "rotate_deg": 5.0, "translate_y": 0.2})
    out = augment_image(toned, np.random.default_rng(1), config)
    assert out.shape[0] > toned.shape[0]
    assert out.max() <= 191  # no white band for the normaliser to take for ink


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


def normalised_line() -> np.ndarray:
    """:func:`line` as a normaliser leaves it: ink 1.0 on 0.0, float32."""
    return ((255.0 - line()) / 255.0).astype(np.float32)


def test_stage_defaults_to_image_and_is_checked():
    assert ImageAugmentConfig().stage == "image"  # configs that predate the choice augment as before
    assert ImageAugmentConfig.from_dict({"stage": "normalised"}).stage == "normalised"
    with pytest.raises(ValueError, match="stage must be one of image, normalised"):
        ImageAugmentConfig(stage="columns")


def test_normalised_identity_changes_nothing():
    ink = normalised_line()
    out = augment_normalised(ink, np.random.default_rng(0), ImageAugmentConfig(**IDENTITY))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ink, atol=1e-6)


def test_normalised_keeps_the_height_and_scales_the_width_by_the_draw():
    ink, config = normalised_line(), ImageAugmentConfig(stage="normalised", elastic_prob=0.5)
    outs = [augment_normalised(ink, np.random.default_rng(s), config) for s in range(20)]
    np.testing.assert_array_equal(outs[3], augment_normalised(ink, np.random.default_rng(3), config))
    assert len({o.tobytes() for o in outs}) == 20
    # width: the stretch (0.85-1.15) plus a slant's overhang of at most shear x height
    overhang = config.shear * config.scale_y[1] * ink.shape[0] + 2
    for out in outs:
        assert out.shape[0] == ink.shape[0] and 0.0 <= out.min() and out.max() <= 1.0
        assert 0.85 * 200 - 1 <= out.shape[1] <= 1.15 * 200 + overhang
        # ink neither lost nor made: paler (contrast 0.6-1) and thinner or thicker strokes at most
        assert 0.4 < out.sum() / (ink.sum() * out.shape[1] / 200) < 1.6
    stretched = augment_normalised(ink, np.random.default_rng(0), ImageAugmentConfig(**{**IDENTITY, "scale_x": (1.5, 1.5)}))
    assert stretched.shape == (32, 300)
    assert stretched.sum() == pytest.approx(1.5 * ink.sum(), rel=0.02)


def test_normalised_strokes_contrast_and_noise():
    ink = normalised_line()
    pale = augment_normalised(ink, np.random.default_rng(0), ImageAugmentConfig(**{**IDENTITY, "contrast": (0.5, 0.5)}))
    assert pale.max() == pytest.approx(0.5)
    noisy = augment_normalised(ink, np.random.default_rng(0), ImageAugmentConfig(**{**IDENTITY, "noise_std": 0.05}))
    paper = noisy[ink == 0]
    assert 0 < paper.std() and paper.mean() <= 0.05
    sums = {float(augment_normalised(ink, np.random.default_rng(seed),
                                     ImageAugmentConfig(**{**IDENTITY, "erode_dilate_prob": 1.0})).sum())
            for seed in range(12)}
    assert min(sums) < ink.sum() < max(sums)  # both thinner and thicker strokes occur
