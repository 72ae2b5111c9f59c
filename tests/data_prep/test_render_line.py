"""Drawing one line: seeded, dark ink on light paper, sized by x-height, neighbours only when asked.

Rendered with the font that ships inside Pillow, so no installed font is needed.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from data_prep.fonts import inspect_font, stroke_width
from data_prep.line_texts import LINE_CHARS
from data_prep.render_line import RenderStyle, _draw_glyph, _draw_real_digit, _set_stroke, render_line
from tests.data_prep.test_fonts import pillow_font_file

QUIET = RenderStyle(neighbour_prob=0.0, fade_prob=0.0, elastic_prob=0.0, blur_prob=0.0, jpeg_prob=0.0,
                    grain=(0.0, 0.0), shading=0.0, slant=0.0, rotate_deg=0.0, tilt=0.0, wave=(0.0, 0.0), bounce=0.0)


@pytest.fixture(scope="module")
def font(tmp_path_factory):
    return inspect_font(pillow_font_file(tmp_path_factory.mktemp("fonts")), LINE_CHARS)


def _ink(image: np.ndarray) -> np.ndarray:
    return image < (int(image.max()) + int(image.min())) / 2


def test_seeded_and_varied(font):
    a = render_line("Hello, World 42!", font, np.random.default_rng([1, 2]))
    np.testing.assert_array_equal(a, render_line("Hello, World 42!", font, np.random.default_rng([1, 2])))
    others = [render_line("Hello, World 42!", font, np.random.default_rng(s)) for s in range(8)]
    assert len({(o.shape, o.tobytes()) for o in others}) == 8
    for image in others + [a]:
        assert image.dtype == np.uint8 and image.ndim == 2
        assert image.min() < 130 and np.median(image) > 150  # dark ink on light paper
        assert image.shape[1] > 2 * image.shape[0]  # a line, not a block


def test_size_follows_the_x_height(font):
    small = render_line("summer canon", font, np.random.default_rng(0), replace(QUIET, x_height=(10, 10)))
    large = render_line("summer canon", font, np.random.default_rng(0), replace(QUIET, x_height=(20, 20)))
    ink_rows = lambda image: int(_ink(image).any(axis=1).sum())
    assert 9 <= ink_rows(small) <= 14 and 19 <= ink_rows(large) <= 25  # x-height letters, strokes thickened
    assert 1.7 < large.shape[1] / small.shape[1] < 2.3


def test_margins_are_paper_without_neighbours(font):
    for seed in range(5):
        image = render_line("Quietly", font, np.random.default_rng(seed), replace(QUIET, margin_y=(0.5, 0.5),
                                                                                  margin_x=(1.0, 1.0)))
        ink = _ink(image)
        assert not ink[0].any() and not ink[-1].any() and not ink[:, 0].any() and not ink[:, -1].any()


def test_neighbouring_lines_reach_into_the_crop(font):
    def touched(neighbour_prob: float) -> int:
        style = replace(QUIET, neighbour_prob=neighbour_prob, pitch=(2.4, 2.4), margin_y=(1.5, 1.5))
        images = [render_line("some words here", font, np.random.default_rng(seed), style) for seed in range(8)]
        return sum(bool(_ink(image)[0].any() or _ink(image)[-1].any()) for image in images)

    assert touched(1.0) >= 4 and touched(0.0) == 0


def test_each_character_can_get_a_shape_of_its_own(font):
    glyph = ImageFont.truetype(font.path, 60)

    def drawn(style, seed=0):
        canvas = Image.new("L", (120, 120), 0)
        advance = _draw_glyph(canvas, "k", glyph, 30, 90, np.random.default_rng(seed), style)
        return np.asarray(canvas) > 127, advance

    reference = Image.new("L", (120, 120), 0)
    ImageDraw.Draw(reference).text((30, 90), "k", font=glyph, fill=255, anchor="ls")
    plain, advance = drawn(QUIET)  # no variation: the font's own glyph, where draw.text puts it
    np.testing.assert_array_equal(plain, np.asarray(reference) > 127)
    assert advance == glyph.getlength("k")
    varied = replace(QUIET, glyph_rotate=10.0, glyph_shear=0.3, glyph_stretch=0.2)
    shapes = [drawn(varied, seed) for seed in range(4)]
    assert len({ink.tobytes() for ink, _ in shapes}) == 4
    centre = lambda ink: np.argwhere(ink).mean(axis=0)
    for ink, advance in shapes:  # the same letter, turned and stretched in place: similar ink, near the same spot
        assert 0.7 < ink.sum() / plain.sum() < 1.3
        assert np.abs(centre(ink) - centre(plain)).max() < 4
        assert 0.8 * glyph.getlength("k") <= advance <= 1.2 * glyph.getlength("k")


def _box_digit(height: int = 20, width: int = 14, stroke: int = 3) -> np.ndarray:
    """A made-up handwritten digit, ink-bright as MNIST's: an ink frame, like none of the font's glyphs."""
    shape = np.full((height, width), 255, np.uint8)
    shape[stroke:-stroke, stroke:-stroke] = 0
    return shape


def test_real_digits_stand_in_for_the_fonts_only_where_asked(font):
    digits = {"7": [_box_digit()]}
    real = replace(QUIET, real_digits=1.0)
    draw = lambda text, style, shapes=None: render_line(text, font, np.random.default_rng(4), style, shapes)
    np.testing.assert_array_equal(draw("call 7 now", QUIET, digits), draw("call 7 now", QUIET))  # share 0: unused
    assert not np.array_equal(draw("call 7 now", real, digits), draw("call 7 now", QUIET))
    # lines without digits draw nothing more from the random stream: they come out as before
    np.testing.assert_array_equal(draw("no digits here", real, digits), draw("no digits here", QUIET))
    with pytest.raises(ValueError, match="real digit shapes"):
        draw("call 7 now", real)


def test_a_real_digit_takes_the_fonts_height_place_and_stroke(font):
    glyph = ImageFont.truetype(font.path, 60)
    left, top, right, bottom = glyph.getbbox("7", anchor="ls")

    def drawn(stroke: float):
        canvas = Image.new("L", (200, 200), 0)
        advance = _draw_real_digit(canvas, "7", _box_digit(stroke=2), glyph, stroke, 40, 150, np.random.default_rng(0))
        return np.asarray(canvas, dtype=np.float32) / 255, advance

    thin, advance = drawn(3.0)
    thick, _ = drawn(8.0)
    rows, cols = np.flatnonzero((thin > 0.5).any(axis=1)), np.flatnonzero((thin > 0.5).any(axis=0))
    assert abs(rows[-1] + 1 - (150 + bottom)) <= 2  # stands where the font's 7 stands
    assert 0.85 <= (rows[-1] + 1 - rows[0]) / (bottom - top) <= 1.2
    assert abs(cols[0] - (40 + left)) <= 2
    assert advance == pytest.approx(cols[-1] + 1 - cols[0] + glyph.getlength("7") - (right - left), abs=3)
    assert stroke_width([thin > 0.5]) < 5 and stroke_width([thick > 0.5]) > 7  # the frame's ~4.3 px, matched


def test_longer_text_longer_line(font):
    short = render_line("word", font, np.random.default_rng(3), QUIET)
    long = render_line("word " * 8, font, np.random.default_rng(3), QUIET)
    assert long.shape[1] > 4 * short.shape[1]


def test_set_stroke_thickens_and_thins_and_keeps_paper_blank():
    alpha = np.zeros((40, 60), np.float32)
    alpha[10:30, 20:24] = 1.0  # a 4 px wide stroke
    for target in (3.0, 5.0, 5.9, 8.0, 11.0):
        out = _set_stroke(alpha, 4.0, target)
        assert out[0].max() == 0 and out[:, :8].max() == 0  # paper stays paper
        width = (out[20] > 0.5).sum()
        assert abs(width - target) <= 1.0 if target >= 4 else width <= 4
    hairline = np.zeros((40, 60), np.float32)
    hairline[10:30, 30] = 0.4  # thinner than a pixel, drawn faint
    assert _set_stroke(hairline, 0.5, 1.6)[20, 30] >= 0.4  # not lost
