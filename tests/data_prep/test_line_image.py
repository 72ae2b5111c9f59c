import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from data_prep.errors import InputError
from data_prep.extractors import feature_config_from_dict, make_extractor
from data_prep.line_image import MARGIN, ColumnExtractor, LineConfig, normalise_line


def scribble(width=300, height=60, seed=0, box=(40, 15, 260, 45)) -> np.ndarray:
    """Dark pen strokes on white paper inside ``box`` (x0, y0, x1, y1): a stand-in for a word."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    xs = np.linspace(x0, x1, 40)
    ys = rng.uniform(y0, y1, 40)
    ys[0], ys[1] = y0, y1  # the strokes reach the box edges
    draw.line(list(zip(xs, ys)), fill=0, width=3)
    return np.asarray(img)


def test_config_round_trip_and_json():
    config = LineConfig(height=48, pad=4, crop=False, invert="never", max_width=2000, min_width=16)
    data = json.loads(json.dumps(config.to_dict()))
    assert data["kind"] == "columns"
    assert LineConfig.from_dict(data) == config == feature_config_from_dict(data)
    assert config.feature_dim == 48
    assert isinstance(make_extractor(config), ColumnExtractor)
    with pytest.raises(ValueError, match="unknown LineConfig keys: slant"):
        LineConfig.from_dict({"slant": True})
    with pytest.raises(ValueError, match="invert"):
        LineConfig(invert="sometimes")


def test_output_shape_range_and_aspect():
    config = LineConfig()
    out, x_offset, scale = normalise_line(scribble(), config)
    assert out.dtype == np.float32 and out.shape[0] == 32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0, abs=0.05)
    assert np.median(out) == 0.0
    np.testing.assert_array_equal(out[:, :2], 0.0)  # pad columns
    np.testing.assert_array_equal(out[:, -2:], 0.0)
    # aspect ratio kept: the ink box plus the crop margin, scaled to 32 rows
    rows, cols = np.nonzero(scribble() < 128)
    margin = max(1, round(MARGIN * (rows.max() + 1 - rows.min())))
    box_h = rows.max() + 1 - rows.min() + 2 * margin
    box_w = cols.max() + 1 - cols.min() + 2 * margin
    assert out.shape[1] - 2 * config.pad == round(box_w * 32 / box_h)
    assert scale == pytest.approx(32 / box_h, rel=0.01)
    assert x_offset == pytest.approx(cols.min() - margin - config.pad / scale)


def test_polarity_invariance():
    gray = scribble()
    a, xa, sa = normalise_line(gray, LineConfig())
    b, xb, sb = normalise_line(255 - gray, LineConfig())
    c, _, _ = normalise_line(255 - gray, LineConfig(invert="always"))
    d, _, _ = normalise_line(gray, LineConfig(invert="never"))
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-5)
    np.testing.assert_allclose(a, d, atol=1e-5)
    assert (xa, sa) == (xb, sb)


def test_uniform_gray_background_invariance():
    gray = scribble()
    dull = np.round(gray * 0.55 + 90).astype(np.uint8)  # paper 230, ink 90
    a, xa, sa = normalise_line(gray, LineConfig())
    b, xb, sb = normalise_line(dull, LineConfig())
    assert (xa, sa) == (xb, sb)
    assert np.abs(a - b).max() < 0.03


def test_uneven_paper_is_flattened():
    gray = scribble()
    shade = np.linspace(0, 120, gray.shape[1])[None, :]  # paper from white to mid gray
    shaded = np.clip(gray.astype(np.float64) - shade, 0, 255).astype(np.uint8)
    a, xa, sa = normalise_line(gray, LineConfig())
    b, xb, sb = normalise_line(shaded, LineConfig())
    assert (xa, sa) == (xb, sb)  # the shading is not taken for ink
    assert np.mean(np.abs(a - b)) < 0.03


def test_white_margins_change_nothing():
    gray = scribble()
    a, xa, sa = normalise_line(gray, LineConfig())
    bigger = np.pad(gray, ((30, 7), (50, 120)), constant_values=255)
    b, xb, sb = normalise_line(bigger, LineConfig())
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert sb == sa and xb == pytest.approx(xa + 50)
    # ink touching the border: the margin is padded, not clipped, so still the same
    tight = gray[15 - 1:45 + 2, 40 - 1:260 + 2]
    c, xc, sc = normalise_line(tight, LineConfig())
    np.testing.assert_allclose(a, c, atol=1e-6)
    assert sc == sa and xc == pytest.approx(xa - 39)


def centroid_position(seq, lo, hi):
    """Original x of the ink centroid of frames lo..hi (column centres are at index + 0.5)."""
    mass = seq.frames[lo:hi].sum(axis=1)
    return seq.position(float(np.sum((np.arange(lo, hi) + 0.5) * mass) / mass.sum()))


@pytest.mark.parametrize("config", [
    LineConfig(), LineConfig(crop=False), LineConfig(height=48, pad=5), LineConfig(max_width=300),
])
def test_columns_map_back_to_original_pixels(config):
    gray = np.full((160, 2000), 255, np.uint8)
    for x in (300, 1800):
        gray[50:110, x:x + 3] = 0
    bar = 1234
    gray[40:120, bar:bar + 2] = 0  # covers [1234, 1236): centre 1235
    seq = ColumnExtractor(config).extract(gray)
    assert seq.unit == "px" and seq.frames.shape[1] == config.height
    if config.max_width == 300:
        assert len(seq) == 300
    profile = seq.frames.sum(axis=1)
    j = int(np.argmax(profile * (np.abs([seq.position(i + 0.5) - 1235 for i in range(len(seq))]) < 200)))
    assert abs(seq.position(j + 0.5) - (bar + 1)) <= 0.5 * seq.step + 1
    assert abs(centroid_position(seq, j - 3, j + 4) - (bar + 1)) <= 1.0
    left = int(np.argmax(profile[: j - 3]))
    assert abs(centroid_position(seq, max(0, left - 3), left + 4) - 301.5) <= 1.0


def test_no_ink_keeps_the_whole_image():
    out, x_offset, scale = normalise_line(np.full((40, 100), 200, np.uint8), LineConfig())
    assert out.shape == (32, 80 + 4) and np.all(out == 0.0)
    assert scale == pytest.approx(0.8) and x_offset == pytest.approx(-2 / 0.8)


def test_min_and_max_width():
    dot = np.full((20, 20), 255, np.uint8)
    dot[8:12, 8:12] = 0
    out, _, _ = normalise_line(dot, LineConfig(height=16, pad=0, min_width=12))
    assert out.shape == (16, 16)
    bar = np.full((20, 6), 255, np.uint8)
    bar[2:18, 2:4] = 0  # crop 18 x 4 -> 4 columns + 2 pad, then blank columns up to 12
    out, _, _ = normalise_line(bar, LineConfig(height=16, pad=1, min_width=12))
    assert out.shape == (16, 12) and np.all(out[:, 5:] == 0.0) and out[:, 1:5].max() > 0.5
    long = np.tile(scribble(), (1, 30))
    out, _, scale = normalise_line(long, LineConfig(max_width=1000))
    assert out.shape == (32, 1000) and scale < 32 / 60


def test_extractor_and_errors(tmp_path):
    extractor = ColumnExtractor(LineConfig())
    assert extractor.modality == "image" and extractor.feature_dim == 32
    path = tmp_path / "line.png"
    Image.fromarray(scribble()).save(path)
    seq = extractor(path)
    out, x_offset, scale = normalise_line(scribble(), LineConfig())
    np.testing.assert_array_equal(seq.frames, out.T)
    assert seq.frames.flags["C_CONTIGUOUS"] and seq.frames.dtype == np.float32
    assert seq.step == pytest.approx(1 / scale) and seq.offset == pytest.approx(x_offset)

    Image.new("L", (1, 1), 0).save(tmp_path / "one.png")
    with pytest.raises(ValueError, match=r"image too small \(1x1\)"):
        extractor.extract(np.zeros((1, 1), np.uint8))
    with pytest.raises(InputError) as caught:
        extractor(tmp_path / "one.png")
    assert str(caught.value) == f"{tmp_path / 'one.png'}: image too small (1x1)"
    assert extractor.extract(np.array([[0, 255], [255, 255]], np.uint8)).frames.shape[1] == 32
    with pytest.raises(InputError, match="file not found"):
        extractor(tmp_path / "missing.png")
