import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from data_prep.line_geometry import (
    CAP_RATIO,
    LineGeometry,
    core_zone,
    dense_band,
    estimate_skew,
    estimate_slant,
    main_band,
    render_line,
)


def bars(n=40, height=30, skew_deg=0.0, slant_deg=0.0, spacing=25.0, seed=0):
    """Ink points of ``n`` vertical bars of ``height`` rows (one point per pixel of a 2 px wide
    stroke), centred on a line at ``skew_deg`` and leaning by ``slant_deg``."""
    rng = np.random.default_rng(seed)
    t, s = math.tan(math.radians(skew_deg)), math.tan(math.radians(slant_deg))
    ys, xs = [], []
    for k in range(n):
        xk = 50 + k * spacing + rng.uniform(-5, 5)
        yc = 100 + (xk - 50) * t
        v = np.arange(-height / 2, height / 2) + 0.5
        for dx in (0.0, 1.0):
            ys.append(yc + v)
            xs.append(xk + dx - v * s)  # tops (v < 0) to the right for s > 0
    return np.concatenate(ys), np.concatenate(xs)


@pytest.mark.parametrize("skew", [-9.0, -4.0, 0.0, 2.5, 8.0])
def test_skew_is_found(skew):
    y, x = bars(skew_deg=skew, slant_deg=10.0)
    assert estimate_skew(y, x, max_deg=10.0) == pytest.approx(skew, abs=0.2)


@pytest.mark.parametrize("slant", [-40.0, -15.0, 0.0, 7.0, 30.0])
def test_slant_is_found(slant):
    y, x = bars(slant_deg=slant)
    assert estimate_slant(y, x, max_deg=45.0) == pytest.approx(slant, abs=1.0)


def test_no_estimate_without_evidence():
    y, x = bars(n=2, skew_deg=5.0, slant_deg=20.0)  # narrower than three heights: a word
    assert estimate_skew(y, x, 10.0) == 0.0
    y, x = bars(n=1, slant_deg=20.0)  # narrower than high: a character
    assert estimate_slant(y, x, 45.0) == 0.0
    y, x = bars(n=40, slant_deg=20.0)
    assert estimate_slant(y[:20], x[:20], 45.0) == 0.0  # too few points
    assert estimate_skew(y, x, 0.0) == 0.0 and estimate_slant(y, x, 0.0) == 0.0
    # a flat criterion (a uniform blob) gives 0, not the edge of the search range
    yy, xx = np.mgrid[0:20, 0:200] + 0.5
    assert estimate_skew(yy.ravel(), xx.ravel(), 10.0) == pytest.approx(0.0, abs=0.1)


def lowercase_rows(core=(40, 60), ascender=20, descender=15, seed=0):
    """Rows of ink points of a fake line: a dense core, sparse ascenders and descenders."""
    rng = np.random.default_rng(seed)
    c0, c1 = core
    dense = rng.uniform(c0, c1, 6000)
    up = rng.uniform(c0 - ascender, c0, 700)
    down = rng.uniform(c1, c1 + descender, 500)
    return np.concatenate([dense, up, down])


def test_core_zone_of_lowercase_text():
    top, bottom = core_zone(lowercase_rows())
    assert top == pytest.approx(40, abs=1.5) and bottom == pytest.approx(60, abs=1.5)
    # with a second line as dense, below: the run nearer the crop's centre, even if lighter
    other = lowercase_rows(core=(130, 150), seed=1)
    y = np.concatenate([lowercase_rows(), other, other[:2000] + 0.01])
    assert dense_band(y, centre=50) == pytest.approx((40, 60), abs=1.5)
    assert dense_band(y, centre=140) == pytest.approx((130, 150), abs=1.5)
    assert dense_band(y) == pytest.approx((40, 150), abs=1.5)  # no centre: all dense rows


def test_digits_are_read_as_cap_height():
    y = np.random.default_rng(0).uniform(20, 52, 5000)  # uniform rows: no x-height zone
    top, bottom = core_zone(y)
    assert bottom == pytest.approx(52, abs=1)
    assert bottom - top == pytest.approx(32 / CAP_RATIO, abs=1)


def test_main_band_keeps_the_line_and_drops_the_rest():
    img = np.zeros((85, 400), bool)
    img[40:60, 50:300] = True  # the line's core: component 1
    img[25:45, 100:104] = True  # an ascender touching the core: joins component 1
    img[30:33, 150:153] = True  # an i-dot above the core
    img[0:12, 200:240] = True  # a descender of the line above, touching the top edge
    img[80:85, 120:123] = True  # the tip of an ascender from below, touching the bottom edge
    img[2:5, 60:62] = True  # a speck far above the core
    img[48:51, 380:383] = True  # a speck right of the text, more than 2 core heights away
    img[55:58, 310:313] = True  # a full stop just after the text
    labels, count = ndimage.label(img, structure=np.ones((3, 3)))
    rows, _ = np.nonzero(labels)
    keep = main_band(labels, count, rows + 0.5, (40.0, 60.0))
    name = {labels[50, 60]: "core", labels[31, 151]: "dot", labels[5, 210]: "fragment",
            labels[82, 121]: "tip", labels[3, 61]: "speck above", labels[49, 381]: "far speck",
            labels[56, 311]: "stop"}
    kept = {name[i] for i in range(1, count + 1) if keep[i]}
    assert kept == {"core", "dot", "stop"} and not keep[0]


def test_geometry_affine_inverts_the_forward_map():
    g = LineGeometry(skew=4.0, slant=-20.0, pivot=300.0, centre=55.0, core=(48.0, 62.0),
                     left=12.5, top=30.0, scale_x=0.6, scale_y=0.65, width=400)
    a, b, c, d, e, f = g.affine()
    rng = np.random.default_rng(1)
    u, v = rng.uniform(0, 400, 50), rng.uniform(0, 48, 50)
    x, y = a * u + b * v + c, d * u + e * v + f
    t, s = math.tan(math.radians(4.0)), math.tan(math.radians(-20.0))
    y1 = y - (x - 300.0) * t
    x2 = x + (y1 - 55.0) * s
    np.testing.assert_allclose((x2 - 12.5) * 0.6, u, atol=1e-9)
    np.testing.assert_allclose((y1 - 30.0) * 0.65, v, atol=1e-9)
    # on the centre line, output column u is original column left + u / scale_x
    v_centre = (55.0 - 30.0) * 0.65
    np.testing.assert_allclose(a * u + b * v_centre + c, 12.5 + u / 0.6, atol=1e-9)
    assert g.centre_row(300.0) == 55.0 and g.centre_row(400.0) == pytest.approx(55 + 100 * t)


def test_render_identity_and_antialiased_shrink():
    norm = np.zeros((40, 120), np.float32)
    norm[10:30, 20:22] = 1.0
    norm[18:20, 40:100] = 1.0
    same = LineGeometry(0.0, 0.0, 60.0, 20.0, None, 0.0, 0.0, 1.0, 1.0, 120)
    np.testing.assert_allclose(render_line(norm, same, 40), norm, atol=1e-6)
    # a 1 px line shrunk 4x keeps its ink (about a quarter of its sum), not dropped or doubled
    thin = np.zeros((40, 400), np.float32)
    thin[:, 201] = 1.0
    quarter = LineGeometry(0.0, 0.0, 200.0, 20.0, None, 0.0, 0.0, 0.25, 0.25, 100)
    out = render_line(thin, quarter, 10)
    assert out.sum() == pytest.approx(thin.sum() / 16, rel=0.1)
    assert out.max() < 0.5  # averaged over 4 columns, not point-sampled


def test_render_follows_the_affine():
    """A point of ink lands where the geometry says, through shears and scale."""
    norm = np.zeros((120, 600), np.float32)
    norm[70:72, 400:402] = 1.0  # centre (401, 71)
    g = LineGeometry(skew=5.0, slant=25.0, pivot=300.0, centre=60.0, core=None,
                     left=50.0, top=20.0, scale_x=0.8, scale_y=0.8, width=450)
    out = render_line(norm, g, 80)
    t, s = math.tan(math.radians(5.0)), math.tan(math.radians(25.0))
    y1 = 71 - (401 - 300) * t
    u, v = (401 + (y1 - 60) * s - 50) * 0.8, (y1 - 20) * 0.8
    rows, cols = np.nonzero(out > 0)
    w = out[rows, cols]
    assert np.average(cols + 0.5, weights=w) == pytest.approx(u, abs=0.3)
    assert np.average(rows + 0.5, weights=w) == pytest.approx(v, abs=0.3)


def test_render_outside_the_image_is_blank():
    norm = np.ones((20, 20), np.float32)
    far = LineGeometry(0.0, 0.0, 10.0, 10.0, None, 500.0, 0.0, 1.0, 1.0, 30)
    out = render_line(norm, far, 20)
    assert out.shape == (20, 30) and not out.any()
    # the image's own edge fades out instead of smearing its border pixels outwards
    edge = LineGeometry(0.0, 0.0, 10.0, 10.0, None, -10.0, 0.0, 1.0, 1.0, 40)
    out = render_line(norm, edge, 20)
    assert not out[:, :9].any() and not out[:, 31:].any() and out[:, 10:30].min() == 1.0
    Image.fromarray(out)  # a plain float32 array
