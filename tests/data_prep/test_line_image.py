import dataclasses
import hashlib
import json
import math

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from data_prep.errors import InputError
from data_prep.extractors import feature_config_from_dict, make_extractor
from data_prep.line_image import (
    MARGIN,
    ColumnExtractor,
    LineConfig,
    measure_line,
    normalise_line,
)


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


def test_scan_options_round_trip_and_checks():
    config = LineConfig(height=48, invert="local", background="flatten", main_band=True,
                        deskew=10, deslant=45, core_height=0.3, core_center=0.55)
    data = json.loads(json.dumps(config.to_dict()))
    assert LineConfig.from_dict(data) == config == feature_config_from_dict(data)
    assert isinstance(config.deskew, float) and config.warps and not LineConfig().warps
    for bad in ({"background": "blur"}, {"deskew": -1}, {"deskew": 40}, {"deslant": 70},
                {"core_height": 1.5}, {"core_center": 0.0}):
        with pytest.raises(ValueError):
            LineConfig(**bad)


LEGACY = {  # sha256 of (output, x_offset, scale) from the normalisation before scan options
    "default": "9a250b1c6e849cfc", "noisy_gray": "4d0706ca13a92d25", "shaded": "d8ddcaced29cfd1f",
    "dark_paper": "a69a20572a299432", "no_crop": "ef76821e80230b44", "squeezed": "ff5d1a159dfe53c2",
    "tiny": "2d50d5e7880530fc", "blank": "537291a79156aaf8",
}


def legacy_cases():
    rng = np.random.default_rng(7)
    noisy = scribble(seed=3).astype(float) * 0.6 + 60 + rng.normal(0, 12, (60, 300))
    shade = scribble(seed=4) - np.linspace(0, 120, 300)[None, :]
    bars = np.full((160, 2000), 255, np.uint8)
    bars[50:110, 300:303] = 0
    bars[40:120, 1234:1236] = 0
    return {
        "default": (scribble(), LineConfig()),
        "noisy_gray": (np.clip(noisy, 0, 255).astype(np.uint8), LineConfig()),
        "shaded": (np.clip(shade, 0, 255).astype(np.uint8), LineConfig(height=48, pad=5)),
        "dark_paper": (255 - scribble(seed=5), LineConfig(invert="always")),
        "no_crop": (scribble(seed=6), LineConfig(crop=False, invert="never")),
        "squeezed": (bars, LineConfig(max_width=300)),
        "tiny": (np.array([[0, 255], [255, 255]], np.uint8), LineConfig(min_width=12)),
        "blank": (np.full((40, 100), 200, np.uint8), LineConfig()),
    }


@pytest.mark.parametrize("name", sorted(LEGACY))
def test_defaults_are_bit_identical_to_before(name):
    """Shipped bundles were trained with this normalisation: old configs must not change."""
    gray, config = legacy_cases()[name]
    out, x_offset, scale = normalise_line(gray, LineConfig.from_dict(config.to_dict()))
    digest = hashlib.sha256(np.ascontiguousarray(out, dtype=np.float32).tobytes())
    digest.update(np.array([x_offset, scale], np.float64).tobytes())
    assert digest.hexdigest()[:16] == LEGACY[name]


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


# ---- real scans: polarity, paper, other lines, skew, slant, core zone ----------------------

SCAN = LineConfig(height=48, invert="local", background="flatten", main_band=True,
                  deskew=10, deslant=45, core_height=0.3, core_center=0.55)
CORE_ROWS = (0.55 * 48 - 0.15 * 48, 0.55 * 48 + 0.15 * 48)  # where SCAN puts the x-height zone


def text_image(text="Jumping quickly, the lazy dog", size=40, margin=None):
    """Dark text in Pillow's built-in font (upright sans) on white paper."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    margin = size if margin is None else margin
    img = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 255)
    ImageDraw.Draw(img).text((margin - left, margin - top), text, font=font, fill=0)
    return np.array(img)


def skewed(gray, shear=0.0, rotate_deg=0.0):
    """Slant by ``shear`` (tops to the right), then rotate clockwise (descending to the right)."""
    img = Image.fromarray(gray)
    w, h = img.size
    if shear:
        extra = int(abs(shear) * h) + 2
        img = img.transform((w + extra, h), Image.Transform.AFFINE,
                            (1, shear, -shear * h / 2 - extra / 2, 0, 1, 0),
                            resample=Image.Resampling.BILINEAR, fillcolor=255)
    if rotate_deg:
        img = img.rotate(-rotate_deg, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    return np.asarray(img)


def shaded(gray, darkest=40.0, ink=0.0, noise=0.0, seed=0):
    """Paper lit from the top left, falling to ``darkest`` at the bottom right; ink reflects
    ``ink`` times what the paper does (0: black; 0.45: pale pencil)."""
    h, w = gray.shape
    light = 250 - (250 - darkest) * (0.75 * np.linspace(0, 1, w)[None, :]
                                     + 0.25 * np.linspace(0, 1, h)[:, None])
    g = gray / 255.0
    out = light * (ink + (1 - ink) * g) + np.random.default_rng(seed).normal(0, noise, g.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def close(a, b, width_slack=2):
    """Mean absolute difference of two normalised lines, compared over their common width."""
    assert abs(a.shape[1] - b.shape[1]) <= width_slack, (a.shape, b.shape)
    n = min(a.shape[1], b.shape[1])
    return float(np.mean(np.abs(a[:, :n] - b[:, :n])))


def test_shaded_pale_and_dark_scans_look_like_clean_ones():
    clean = text_image()
    ref, _, _ = normalise_line(clean, SCAN)
    cases = {
        "shade, pale ink": shaded(clean, darkest=40, ink=0.45, noise=3),
        "shade, black ink": shaded(clean, darkest=50, noise=5, seed=1),
        "dark scan": np.round(clean * (70 / 255) + 20).astype(np.uint8),  # paper 90, ink 20
        "light ink on shaded dark paper": 255 - shaded(clean, darkest=120, ink=0.3, seed=2),
    }
    for name, gray in cases.items():
        out, _, _ = normalise_line(gray, SCAN)
        assert close(out, ref) < 0.04, name
        assert np.mean(out > 0.5) == pytest.approx(np.mean(ref > 0.5), rel=0.15), name


def test_shaded_paper_flattens_to_blank():
    word = text_image("words", 40, margin=0)  # about 100 x 30
    clean = np.full((120, 900), 255, np.uint8)
    clean[40:40 + word.shape[0], 30:30 + word.shape[1]] = word  # on the bright side
    config = LineConfig(invert="local", background="flatten", crop=False)
    out, _, _ = normalise_line(shaded(clean, darkest=30, noise=4), config)
    ref, _, _ = normalise_line(clean, config)
    left = round(200 * out.shape[0] / clean.shape[0])
    paper = out[:, left:]  # 700 px of shaded paper, no ink
    assert paper.mean() < 0.005 and paper.max() < 0.25  # at most faint noise in the dark end
    assert np.abs(out[:, :left] - ref[:, :left]).mean() < 0.02  # the word as on clean paper


def test_local_polarity_holds_where_the_global_one_flips():
    """Pale ink on paper shaded past the ink's own grey: the majority rule ("auto") reads the
    image as light ink on dark; "local" compares ink with the paper around it."""
    gray = shaded(text_image(), darkest=40, ink=0.5)
    clean, _, _ = normalise_line(text_image(), LineConfig(background="flatten"))
    local, _, _ = normalise_line(gray, LineConfig(invert="local", background="flatten"))
    flipped, _, _ = normalise_line(gray, LineConfig(invert="auto", background="flatten"))
    assert close(local, clean) < 0.03
    assert abs(flipped.shape[1] - clean.shape[1]) > 100  # "auto" loses the line
    inverse, _, _ = normalise_line(255 - gray, LineConfig(invert="local", background="flatten"))
    assert close(inverse, local) < 0.01


def test_flatten_ignores_a_dark_speck():
    """A stretch by the maximum lets one black speck dim a pale line; the robust one does not."""
    pale = np.round(255 - (255 - text_image()) * 0.4).astype(np.uint8)  # ink at 153
    speck = pale.copy()
    speck[60:64, 300:304] = 0
    clean, _, _ = normalise_line(pale, LineConfig(background="flatten"))
    out, _, _ = normalise_line(speck, LineConfig(background="flatten"))
    ink = clean > 0.5
    assert np.median(out[ink]) > 0.9 and close(out, clean) < 0.02
    dimmed, _, _ = normalise_line(speck, LineConfig())
    assert dimmed.shape[1] < 0.2 * clean.shape[1]  # the old stretch: only the speck is ink


def paragraph(middle_only=False, size=36):
    """Three lines of text cropped around the middle one: the line above shows its descenders,
    the one below its ascenders (as in a line segmented from a page). ``middle_only`` blanks
    the neighbours, keeping everything else."""
    font = ImageFont.load_default(size=size)
    lines = ["gypsy jumping quickly, yes", "Handwriting is my game", "the bold kid had that hat"]
    img = Image.new("L", (700, 4 * size), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        if not middle_only or i == 1:
            draw.text((20, 25 + i * int(1.1 * size)), line, font=font, fill=0, anchor="ls")
    baseline = 25 + int(1.1 * size)
    return np.array(img)[baseline - int(1.0 * size): baseline + int(0.45 * size)]


def test_other_lines_at_the_edges_are_dropped():
    crop, alone = paragraph(), paragraph(middle_only=True)
    assert (crop[:4] < 128).any() and (crop[-4:] < 128).any()  # the neighbours do show
    a, xa, sa = normalise_line(crop, SCAN)
    b, xb, sb = normalise_line(alone, SCAN)
    assert close(a, b) < 0.01
    assert xa == pytest.approx(xb, abs=1) and sa == pytest.approx(sb, rel=0.02)
    kept, _, _ = normalise_line(crop, LineConfig.from_dict({**SCAN.to_dict(), "main_band": False}))
    assert close(kept, b, width_slack=10) > 0.03  # without main_band the pieces come along


def test_specks_do_not_stretch_the_crop():
    gray = text_image(margin=200)
    dusty = gray.copy()
    dusty[150:153, 20:23] = 0  # far left, in the text's rows
    dusty[5:8, 400:403] = 0  # far above
    a, xa, _ = normalise_line(gray, SCAN)
    b, xb, _ = normalise_line(dusty, SCAN)
    assert a.shape == b.shape and xa == pytest.approx(xb, abs=0.5) and close(a, b) < 0.01
    _, x_old, s_old = normalise_line(dusty, LineConfig())
    assert x_old + LineConfig().pad / s_old < 25 < xb  # the plain crop reaches out to the speck


@pytest.mark.parametrize("shear, rotate", [(0.0, 0.0), (0.4, 0.0), (-0.3, 5.0), (0.2, -8.0), (0.0, 3.0)])
def test_skew_and_slant_are_estimated(shear, rotate):
    """Within 0.5 degrees of skew and 3 of slant. A rotation by ``a`` also slants by about ``a``:
    deskewing by a vertical shear (which keeps columns) leaves that for the slant correction."""
    upright = measure_line(text_image(), SCAN)
    geometry = measure_line(skewed(text_image(), shear, rotate), SCAN)
    assert geometry.skew == pytest.approx(rotate, abs=0.5)
    a = math.radians(rotate)
    total = (math.tan(math.radians(upright.slant)) + shear) * math.cos(a) ** 2 + math.sin(a) * math.cos(a)
    assert geometry.slant == pytest.approx(math.degrees(math.atan(total)), abs=3.0)
    assert abs(upright.slant) < 3 and abs(upright.skew) < 0.5


def test_deskew_and_deslant_restore_the_upright_line():
    ref, _, _ = normalise_line(text_image(), SCAN)
    for shear, rotate in [(0.35, 4.0), (-0.25, -6.0)]:
        out, _, _ = normalise_line(skewed(text_image(), shear, rotate), SCAN)
        assert close(out, ref, width_slack=6) < 0.08
        assert dense_rows(out) == pytest.approx(CORE_ROWS, abs=1.5)


def dense_rows(out):
    profile = out.sum(axis=1)
    rows = np.flatnonzero(profile >= 0.5 * profile.max())
    return rows[0], rows[-1] + 1


def test_core_zone_lands_on_the_same_rows_at_any_size():
    text = "minimum vexing ham by the hour"
    rows = [dense_rows(normalise_line(text_image(text, size), SCAN)[0]) for size in (18, 40, 90)]
    for top, bottom in rows:
        assert top == pytest.approx(CORE_ROWS[0], abs=1.5)
        assert bottom == pytest.approx(CORE_ROWS[1], abs=1.5)
    # one tall stroke shrinks the whole ink box, but not the core zone
    tall = text_image(text, 40, margin=80)
    tall[5:-5, -60:-56] = 0
    assert dense_rows(normalise_line(tall, SCAN)[0]) == pytest.approx(rows[1], abs=1)
    old = [dense_rows(normalise_line(g, LineConfig(height=48))[0]) for g in (text_image(text, 40), tall)]
    assert old[1][1] - old[1][0] < 0.6 * (old[0][1] - old[0][0])


def test_stroke_profile_ignores_ruled_lines_and_pen_width():
    """A ruled line under the text is the densest ink row: the ink profile takes it for the core
    zone and the line comes out several times too wide; counting strokes per row does not."""
    from data_prep.line_image import measure_line

    text = "minimum vexing ham by the hour"
    strokes = dataclasses.replace(SCAN, core_profile="strokes")
    clean = text_image(text, 40)
    ruled = clean.copy()
    baseline = int(np.flatnonzero((clean < 128).sum(axis=1) > 0)[-1]) + 3
    ruled[baseline:baseline + 3, 10:-10] = 60
    thick = np.asarray(Image.fromarray(clean).filter(ImageFilter.MinFilter(5)))

    def core_height(gray, config):
        core = measure_line(gray, config).core
        return core[1] - core[0]

    reference = core_height(clean, strokes)
    assert reference == pytest.approx(core_height(clean, SCAN), rel=0.15)  # both see the x-height
    assert core_height(ruled, strokes) == pytest.approx(reference, rel=0.15)
    assert core_height(thick, strokes) == pytest.approx(reference + 4, abs=2)  # the pen grew 2 px each way
    assert core_height(ruled, SCAN) < 0.5 * core_height(clean, SCAN)  # the ink profile's failure
    with pytest.raises(ValueError, match="core_profile"):
        LineConfig(core_profile="runs")


def slanted_bars(skew_deg, slant_deg, n=28, spacing=45.0, half=25.0):
    """Bars on a line at ``skew_deg``, leaning by ``slant_deg``: (image, their centres (x, y))."""
    t, s = math.tan(math.radians(skew_deg)), math.tan(math.radians(slant_deg))
    img = Image.new("L", (int(n * spacing + 200), 260), 255)
    draw = ImageDraw.Draw(img)
    centres = []
    for k in range(n):
        x, y = 100 + k * spacing, 130 + k * spacing * t
        top, bottom = (x + half * s, y - half), (x - half * s, y + half)
        draw.polygon([(top[0] - 1.5, top[1]), (top[0] + 1.5, top[1]),
                      (bottom[0] + 1.5, bottom[1]), (bottom[0] - 1.5, bottom[1])], fill=0)
        centres.append((x, y))
    return np.asarray(img), centres


@pytest.mark.parametrize("core_height", [0.0, 0.3])
def test_columns_map_back_through_skew_and_slant(core_height):
    """Mapping bound: a column shows original ``x`` on the centre line; a stroke crossing it is
    found where it crosses (within a pixel); so ink ``d`` rows off the centre line is off by at
    most ``d * tan(slant)`` from its own original ``x``."""
    skew, slant = 5.0, 25.0
    gray, centres = slanted_bars(skew, slant)
    config = LineConfig.from_dict({**SCAN.to_dict(), "core_height": core_height})
    geometry = measure_line(gray, config)
    assert geometry.skew == pytest.approx(skew, abs=0.3) and geometry.slant == pytest.approx(slant, abs=1.0)
    seq = ColumnExtractor(config).extract(gray)
    profile = seq.frames.sum(axis=1)
    runs = np.flatnonzero(np.diff(np.r_[0, profile > 0.3 * profile.max(), 0]))
    found = [centroid_position(seq, lo, hi) for lo, hi in zip(runs[::2], runs[1::2])]
    assert len(found) == len(centres)
    s = math.tan(math.radians(slant))
    for (x, y), position in zip(centres, found):
        # where the bar's axis x = x0 - (y' - y) s meets the estimated centre line
        crossing = (x - (geometry.centre_row(0.0) - y) * s) / (1 + geometry.centre_row(1.0) * s
                                                            - geometry.centre_row(0.0) * s)
        assert position == pytest.approx(crossing, abs=1.0 + 0.5 * seq.step)
        off = abs(geometry.centre_row(x) - y)
        assert abs(position - x) <= off * s + 1.0 + 0.5 * seq.step
    if core_height == 0:  # the centre line is the ink box's middle: the bars' own centres
        assert max(abs(p - x) for (x, _), p in zip(centres, found)) < 1.5


def test_very_long_and_very_short_lines():
    long = np.tile(text_image("the quick brown fox jumps over the lazy dog,", 40, margin=0), (1, 9))
    long = skewed(np.pad(long, 30, constant_values=255), 0.2, 1.0)
    assert long.shape[1] > 7000
    seq = ColumnExtractor(SCAN).extract(long)
    out, scale = seq.frames.T, 1 / seq.step
    assert out.shape[0] == 48 and 2500 < out.shape[1] <= SCAN.max_width
    assert dense_rows(out) == pytest.approx(CORE_ROWS, abs=2)
    cols = np.flatnonzero((long < 128).any(axis=0))
    inked = np.flatnonzero(out.max(axis=0) > 0.5)
    slack = 0.2 * 60 + 2  # the shear times half the ink height, plus a pixel or two
    assert seq.position(inked[0]) == pytest.approx(cols[0], abs=slack)
    assert seq.position(inked[-1] + 1) == pytest.approx(cols[-1] + 1, abs=slack)
    squeezed, _, scale_x = normalise_line(long, LineConfig.from_dict({**SCAN.to_dict(), "max_width": 1000}))
    assert squeezed.shape == (48, 1000) and scale_x < scale
    for gray in (text_image("a", 30), text_image(".", 30), np.array([[0, 255], [255, 255]], np.uint8)):
        out, _, _ = normalise_line(gray, SCAN)
        assert out.shape[0] == 48 and out.shape[1] >= SCAN.min_width and np.isfinite(out).all()
        assert out.max() > 0.5


def test_scan_options_without_ink_or_crop():
    blank = np.full((40, 100), 200, np.uint8)
    np.testing.assert_array_equal(normalise_line(blank, SCAN)[0],
                                  normalise_line(blank, LineConfig(height=48))[0])
    assert measure_line(blank, SCAN) is None and measure_line(text_image(), LineConfig()) is None
    gray = text_image(margin=60)
    config = LineConfig.from_dict({**SCAN.to_dict(), "crop": False})
    seq = ColumnExtractor(config).extract(gray)
    assert seq.position(config.pad) == pytest.approx(0.0, abs=1e-6)
    assert seq.position(len(seq) - config.pad) == pytest.approx(gray.shape[1], rel=0.01)
