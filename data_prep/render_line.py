"""Draw one text line in a font so that it looks written and scanned, not typeset.

Character by character, so that spacing, size and baseline can wander as a hand does: each line
gets its own x-height, letter spacing, word spacing, baseline tilt and wave, and each character a
small size and position jitter and (where the style asks) a shape of its own: turned, sheared and
stretched a little about its centre, as no hand writes a letter the same way twice; where the
style asks, some digits are real handwritten ones (MNIST) standing in for the font's. The ink is then
given another pen (stroke width set relative to the x-height, fading pressure), the line is
slanted, rotated and elastically distorted, and laid on paper (tone, shading, grain) with ink of
its own tone, then blurred, and saved through JPEG now and then. Fragments of the lines above and
below (in the same hand) may reach into the crop or touch the line, as they do in lines cut from a
scanned page.

Geometry that augmentation redraws each epoch (:mod:`data_prep.augment_image`) is also drawn
here, more mildly, so that held-out test lines, which are never augmented, are not cleaner than
what the model is trained on. Everything random comes from the ``np.random.Generator`` passed in.
"""
from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage, special

from data_prep.augment_image import smooth_field
from data_prep.fonts import FontInfo, stroke_width

FILLER_LETTERS = "etaoinshrdlucmfwypvbgkjqxz"  # neighbouring lines: letters by English frequency

# real handwritten digits by character ("0"-"9"): ink-bright uint8 crops, cut to their ink
DigitShapes = Mapping[str, Sequence[np.ndarray]]


@dataclass
class RenderStyle:
    """Ranges (min, max) drawn uniformly per line; lengths in x-heights unless named otherwise."""

    x_height: tuple[float, float] = (11.0, 24.0)  # pixels
    size_jitter: float = 0.04  # each character's size in [1 - j, 1 + j] of the line's
    tracking: tuple[float, float] = (-0.03, 0.10)  # extra advance per character, em, per line
    char_jitter: float = 0.025  # extra advance per character in [-j, j] em
    word_space: tuple[float, float] = (0.7, 1.8)  # of the font's space
    tilt: float = 0.02  # baseline slope in [-t, t]
    wave: tuple[float, float] = (0.0, 0.25)  # baseline wave amplitude
    wave_length: tuple[float, float] = (8.0, 40.0)
    bounce: float = 0.06  # per-character baseline jitter (std)
    glyph_rotate: float = 0.0  # each character turned by up to this many degrees (0: drawn as the font has it)
    glyph_shear: float = 0.0  # ... and sheared by up to this (x per unit y)
    glyph_stretch: float = 0.0  # ... and its width scaled by [1 - s, 1 + s]
    real_digits: float = 0.0  # share of the lines whose digits a real hand writes (needs a digit source)
    stroke: tuple[float, float] = (0.08, 0.2)  # stroke width
    min_stroke: float = 1.6  # pixels: thinner pens do not survive scanning at these sizes
    fade_prob: float = 0.3
    fade: tuple[float, float] = (0.1, 0.5)  # ink fading where the pen pressed lightly
    slant: float = 0.3  # shear in [-s, s] (x per unit y)
    rotate_deg: float = 1.5
    elastic_prob: float = 0.5
    elastic: tuple[float, float] = (0.03, 0.12)  # displacement std
    elastic_scale: float = 0.7  # smoothness of the displacement field
    neighbour_prob: float = 0.35  # lines above / below reach into the crop
    pitch: tuple[float, float] = (2.6, 4.0)  # distance between baselines
    margin_x: tuple[float, float] = (0.2, 2.5)
    margin_y: tuple[float, float] = (0.1, 1.0)
    paper: tuple[int, int] = (175, 255)
    ink: tuple[int, int] = (0, 110)
    min_contrast: int = 70  # paper - ink, gray levels
    shading: float = 30.0  # paper unevenness, gray levels
    grain: tuple[float, float] = (0.0, 6.0)  # paper noise std, gray levels
    blur_prob: float = 0.3
    blur: tuple[float, float] = (0.3, 1.0)  # radius, pixels
    jpeg_prob: float = 0.3
    jpeg_quality: tuple[int, int] = (25, 90)


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _u(rng: np.random.Generator, pair) -> float:
    return float(rng.uniform(pair[0], pair[1]))


def _varies_glyphs(style: RenderStyle) -> bool:
    return bool(style.glyph_rotate or style.glyph_shear or style.glyph_stretch)


def _draw_glyph(canvas: Image.Image, char: str, glyph: ImageFont.FreeTypeFont, x: float, y: float,
                rng: np.random.Generator, style: RenderStyle) -> float:
    """Draw ``char`` with its baseline origin at (x, y), in a shape of its own; returns its advance.

    The glyph is drawn on a tile of its own, mapped by a random rotation, shear and stretch about
    its ink's centre, and laid on the canvas where it is lighter (ink is 255), so that neighbours
    that touch keep each other's strokes.
    """
    angle = math.radians(float(rng.uniform(-style.glyph_rotate, style.glyph_rotate)))
    shear = float(rng.uniform(-style.glyph_shear, style.glyph_shear))
    stretch = 1.0 + float(rng.uniform(-style.glyph_stretch, style.glyph_stretch))
    left, top, right, bottom = glyph.getbbox(char, anchor="ls")
    pad = 2 + (bottom - top) // 2  # room for what the mapping moves
    origin = (pad - left, pad - top)  # the baseline origin, in tile pixels
    tile = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(tile).text(origin, char, font=glyph, fill=255, anchor="ls")
    cos, sin = math.cos(angle), math.sin(angle)
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[stretch, shear], [0.0, 1.0]])  # acts on (x, y)
    inverse = np.linalg.inv(forward)
    cx, cy = tile.width / 2, tile.height / 2
    # output pixel p maps back to inverse @ (p - centre) + centre in the tile
    offset = np.array([cx, cy]) - inverse @ np.array([cx, cy])
    tile = tile.transform(tile.size, Image.Transform.AFFINE,
                          (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1]),
                          resample=Image.Resampling.BILINEAR)
    # the stretch moves the glyph's right side: shift the tile so its ink starts where the plain glyph's did
    box = (round(x - origin[0] + (stretch - 1) * (cx - pad)), round(y - origin[1]))
    box = box + (box[0] + tile.width, box[1] + tile.height)
    canvas.paste(ImageChops.lighter(canvas.crop(box), tile), box)
    return glyph.getlength(char) * stretch


def _draw_real_digit(canvas: Image.Image, char: str, shape: np.ndarray, glyph: ImageFont.FreeTypeFont,
                     stroke: float, x: float, y: float, rng: np.random.Generator) -> float:
    """Draw a real handwritten digit where the font's ``char`` would stand; returns its advance.

    It takes the font digit's height (x0.9-1.15), side bearings and stroke width (``stroke``
    pixels), so that it sits in the line as a digit of this writer would, and is laid on the
    canvas as :func:`_draw_glyph` lays tiles.
    """
    left, top, right, bottom = glyph.getbbox(char, anchor="ls")
    height = max(4, round((bottom - top) * float(rng.uniform(0.9, 1.15))))
    width = max(2, round(height * shape.shape[1] / shape.shape[0] * float(rng.uniform(0.9, 1.1))))
    alpha = np.pad(np.asarray(Image.fromarray(shape).resize((width, height), Image.Resampling.BILINEAR),
                              dtype=np.float32) / 255.0, 3)  # room to thicken
    alpha = _set_stroke(alpha, stroke_width([alpha > 0.5]), stroke)
    tile = Image.fromarray(np.rint(alpha * 255).astype(np.uint8))
    box = (round(x + left) - 3, round(y + bottom) - height - 3)  # the padded tile's corner
    box = box + (box[0] + tile.width, box[1] + tile.height)
    canvas.paste(ImageChops.lighter(canvas.crop(box), tile), box)
    return width + glyph.getlength(char) - (right - left)


def _draw_text(canvas: Image.Image, text: str, font: FontInfo, size: float, x: float, base: float,
               rng: np.random.Generator, style: RenderStyle, digits: DigitShapes | None = None) -> float:
    """Draw ``text`` with its baseline starting at (x, base); returns the x where it ends.

    With ``digits``, in a share ``style.real_digits`` of the lines every digit is a real handwritten
    one, as one writer's would be. The random stream is drawn from only for lines with digits, so
    lines without any render as before.
    """
    draw = ImageDraw.Draw(canvas)
    xh = font.x_height * size
    tracking = _u(rng, style.tracking) * size
    space = _font(font.path, max(4, round(size))).getlength(" ") * _u(rng, style.word_space)
    tilt = float(rng.uniform(-style.tilt, style.tilt))
    wave, period = _u(rng, style.wave) * xh, _u(rng, style.wave_length) * xh
    phase = float(rng.uniform(0, 2 * math.pi))
    x0 = x
    real = digits is not None and any(c in digits for c in text) and rng.random() < style.real_digits
    for char in text:
        if char == " ":
            x += space * float(rng.uniform(0.85, 1.15))
            continue
        glyph = _font(font.path, max(4, round(size * (1 + rng.uniform(-style.size_jitter, style.size_jitter)))))
        y = base + tilt * (x - x0) + wave * math.sin(2 * math.pi * (x - x0) / period + phase)
        y += float(rng.normal(0, style.bounce)) * xh
        if real and char in digits:
            shapes = digits[char]
            advance = _draw_real_digit(canvas, char, shapes[int(rng.integers(len(shapes)))], glyph,
                                       font.stroke * glyph.size, x, y, rng)
        elif _varies_glyphs(style):
            advance = _draw_glyph(canvas, char, glyph, x, y, rng, style)
        else:
            draw.text((x, y), char, font=glyph, fill=255, anchor="ls")
            advance = glyph.getlength(char)
        x += advance + tracking + float(rng.uniform(-style.char_jitter, style.char_jitter)) * size
    return x


def _filler(rng: np.random.Generator, width_chars: int) -> str:
    p = np.linspace(2.0, 0.2, len(FILLER_LETTERS))
    words = []
    while sum(len(w) + 1 for w in words) < width_chars:
        n = int(rng.integers(1, 9))
        words.append("".join(rng.choice(list(FILLER_LETTERS), size=n, p=p / p.sum())))
    return " ".join(words)


def _ink_box(alpha: np.ndarray, level: float = 0.25) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero((alpha > level).any(axis=1)), np.flatnonzero((alpha > level).any(axis=0))
    if not rows.size:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _set_stroke(alpha: np.ndarray, current: float, target: float) -> np.ndarray:
    """Thicken or thin strokes from ``current`` to about ``target`` pixels wide.

    Whole pixels by grey dilation, the rest by re-thresholding a blurred copy: an edge blurred by
    a Gaussian of std ``sigma`` crosses level ``ndtr(-d / sigma)`` at ``d`` pixels from where it
    crossed 0.5. Thinning stops at 70% of the width, and sigma stays under a third of the width,
    so no stroke is blurred below the threshold and lost; hairlines are kept as drawn.
    """
    per_side = float(np.clip((target - current) / 2, -0.15 * current, 3.0))
    whole = max(0, round(per_side))
    if whole:
        alpha = ndimage.grey_dilation(alpha, size=(2 * whole + 1, 2 * whole + 1))
    sigma = float(np.clip((current + 2 * whole) / 3, 0.4, 1.0))
    level = float(special.ndtr(-np.clip(per_side - whole, -1.2 * sigma, 1.2 * sigma) / sigma))
    ramp = min(0.15, level, 1.0 - level)  # half-width of the soft threshold; paper must stay 0
    soft = ndimage.gaussian_filter(alpha, sigma)
    out = np.clip((soft - level) / (2 * ramp) + 0.5, 0.0, 1.0)
    # hairlines (thinner than a pixel, drawn faint) fall under any threshold: keep them as drawn
    return np.maximum(out, alpha * (1.0 if per_side >= 0 else 0.7)).astype(np.float32)


def _warp(layers: list[np.ndarray], rng: np.random.Generator, style: RenderStyle, xh: float) -> list[np.ndarray]:
    """Shear (slant), rotate and elastically distort, all layers alike, about the centre."""
    h, w = layers[0].shape
    shear = float(rng.uniform(-style.slant, style.slant))
    angle = math.radians(float(rng.uniform(-style.rotate_deg, style.rotate_deg)))
    cos, sin = math.cos(angle), math.sin(angle)
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]])  # acts on (x, y)
    inverse = np.linalg.inv(forward)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xx - w / 2, yy - h / 2
    src_x = inverse[0, 0] * dx + inverse[0, 1] * dy + w / 2
    src_y = inverse[1, 0] * dx + inverse[1, 1] * dy + h / 2
    if rng.random() < style.elastic_prob:
        amount, cell = _u(rng, style.elastic) * xh, max(4.0, style.elastic_scale * xh)
        src_x += amount * smooth_field(rng, (h, w), cell)
        src_y += amount * smooth_field(rng, (h, w), cell)
    return [ndimage.map_coordinates(layer, [src_y, src_x], order=1, mode="constant", cval=0.0) for layer in layers]


def render_line(text: str, font: FontInfo, rng: np.random.Generator, style: RenderStyle | None = None,
                digits: DigitShapes | None = None) -> np.ndarray:
    """``text`` written in ``font`` as a gray uint8 line image (dark ink on light paper).

    ``digits`` (real handwritten digits by character) is needed when ``style.real_digits`` > 0.
    """
    s = style or RenderStyle()
    if s.real_digits > 0 and digits is None:
        raise ValueError("real_digits needs real digit shapes (digits=...)")
    xh = _u(rng, s.x_height)
    size = xh / font.x_height
    ascent, descent = _font(font.path, max(4, round(size))).getmetrics()
    pitch = _u(rng, s.pitch) * xh
    neighbours = rng.random() < s.neighbour_prob
    top = ascent + (pitch + descent if neighbours else 0) + 2 * xh
    height = int(top + descent + (pitch + ascent if neighbours else 0) + 2 * xh)
    width = int(size * (len(text) + 4) * 1.2 + 8 * xh)
    start = 4 * xh
    main = Image.new("L", (width, height), 0)
    end = _draw_text(main, text, font, size, start, top, rng, s, digits if s.real_digits > 0 else None)
    if end > width - 2 * xh:  # the canvas is sized generously; never let a glyph be cut silently
        raise ValueError(f"{font.key}: {text!r} is too wide for its canvas")
    main_ink = np.asarray(main, dtype=np.float32) / 255.0
    others = Image.new("L", (width, height), 0)
    if neighbours:
        chars = int(len(text) * 1.5) + 8
        for sign in (-1, 1):
            if rng.random() < 0.7:
                x = start - _u(rng, (0, 6)) * xh
                _draw_text(others, _filler(rng, chars), font, size, x, top + sign * pitch, rng, s)
    box = _ink_box(main_ink)
    if box is None:
        raise ValueError(f"{font.key} drew no ink for {text!r}")
    # work on the line's neighbourhood only: room for margins and for what the warp moves
    y0, y1, x0, x1 = box
    slack = int(s.margin_y[1] * xh + s.slant * (y1 - y0) / 2 + 2 * xh)
    y0, y1 = max(0, y0 - slack), min(height, y1 + slack)
    x0, x1 = max(0, x0 - int(s.margin_x[1] * xh + slack)), min(width, max(x1, int(end)) + int(s.margin_x[1] * xh + slack))
    layers = [main_ink[y0:y1, x0:x1], np.asarray(others, dtype=np.float32)[y0:y1, x0:x1] / 255.0]
    stroke_now, stroke_wanted = font.stroke * size, max(s.min_stroke, _u(rng, s.stroke) * xh)
    layers = [_set_stroke(layer, stroke_now, stroke_wanted) if layer.any() else layer for layer in layers]
    main_ink, other_ink = _warp(layers, rng, s, xh)

    box = _ink_box(main_ink)
    if box is None:
        raise ValueError(f"{font.key}: the line left the image")
    by0, by1, bx0, bx1 = box
    my0, my1 = (round(_u(rng, s.margin_y) * xh) for _ in range(2))
    mx0, mx1 = (round(_u(rng, s.margin_x) * xh) for _ in range(2))
    crop = (slice(max(0, by0 - my0), by1 + my1), slice(max(0, bx0 - mx0), bx1 + mx1))
    alpha = np.maximum(main_ink[crop], other_ink[crop])
    shape = alpha.shape
    if rng.random() < s.fade_prob:
        alpha = alpha * (1.0 - _u(rng, s.fade) * np.clip(smooth_field(rng, shape, 3 * xh) * 0.5 + 0.5, 0, 1))

    paper_tone = float(rng.integers(s.paper[0], s.paper[1] + 1))
    ink_tone = float(min(rng.integers(s.ink[0], s.ink[1] + 1), paper_tone - s.min_contrast))
    ramp = np.linspace(-0.5, 0.5, shape[1], dtype=np.float32)[None, :] * float(rng.uniform(-1, 1))
    paper = paper_tone + s.shading * rng.uniform(0, 1) * (ramp + 0.25 * smooth_field(rng, shape, 6 * xh))
    paper = np.minimum(paper, 255.0)
    image = paper + (ink_tone - paper) * alpha
    img = Image.fromarray(np.clip(np.rint(image), 0, 255).astype(np.uint8))
    if rng.random() < s.blur_prob:
        img = img.filter(ImageFilter.GaussianBlur(_u(rng, s.blur)))
    out = np.asarray(img, dtype=np.float32)
    grain = _u(rng, s.grain)
    if grain > 0:
        out = out + rng.normal(0.0, grain, out.shape)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if rng.random() < s.jpeg_prob:
        buffer = io.BytesIO()
        Image.fromarray(out).save(buffer, format="JPEG", quality=int(rng.integers(s.jpeg_quality[0], s.jpeg_quality[1] + 1)))
        out = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
    return out
