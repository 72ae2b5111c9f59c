"""Handwriting augmentation: on the gray line image (dark ink on light) before normalisation, or
on the normalised line (ink 1 on 0, fixed height) after it; ``ImageAugmentConfig.stage`` says which.

One affine warp (stretch, slant, rotation, vertical shift) imitates other writers and imprecise
line segmentation, an optional elastic distortion (a smooth random displacement field) the
wobble of a hand; stroke width, ink darkness, blur and noise imitate other pens and scanners.
All randomness comes from the ``np.random.Generator`` passed in.

Why two stages. Before normalisation (``"image"``, the original behaviour) every augmented line
goes through the whole normaliser again, whose core-zone estimate reacts to small changes: on
250 lines of the handwriting-en training mix the normalised width of an augmented line was
0.54-2.97x the clean one's (1st-99th percentile; 7% over 1.6x, extremes 0.03x and 7.5x), so
length-grouped batches were about half padding, and redoing the normalisation cost 15 ms per
line per epoch. After it (``"normalised"``) the clean line is normalised once and cached, the
perturbations act in the frame the network reads, the width changes only by the drawn
horizontal scale (and a shear's few columns), and a line costs well under a millisecond.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from data_prep.config import JsonConfig

_RANGES = ("scale_y", "scale_x", "blur_radius", "contrast", "elastic_amount")
STAGES = ("image", "normalised")


@dataclass
class ImageAugmentConfig(JsonConfig):
    """What :func:`augment_image` does; ranges are (min, max) drawn uniformly. JSON-serialisable."""

    rotate_deg: float = 1.5  # rotation in [-r, r] degrees
    shear: float = 0.3  # slant in [-s, s]: x shift per unit y
    scale_y: tuple[float, float] = (0.85, 1.15)
    scale_x: tuple[float, float] = (0.85, 1.15)
    translate_y: float = 0.05  # vertical shift in [-t, t] of the height
    noise_std: float = 0.05  # Gaussian noise, std drawn in [0, noise_std] of 255
    blur_prob: float = 0.3
    blur_radius: tuple[float, float] = (0.3, 1.2)  # Gaussian blur radius in pixels
    erode_dilate_prob: float = 0.2  # thinner or thicker strokes (3x3 max / min filter)
    contrast: tuple[float, float] = (0.6, 1.0)  # ink darkness: 1.0 keeps it, 0.6 makes it paler
    # elastic distortion; off by default, so configs that predate it augment exactly as before
    elastic_prob: float = 0.0
    elastic_amount: tuple[float, float] = (0.005, 0.02)  # displacement std, of the image height
    elastic_cell: float = 0.2  # the displacement varies over this share of the image height
    # "image": before normalisation (augment_image); "normalised": on the normalised line
    # (augment_normalised). The default keeps configs that predate the choice as they were.
    stage: str = "image"

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {self.stage!r}")
        for name in _RANGES:
            pair = tuple(float(v) for v in getattr(self, name))
            if len(pair) != 2 or pair[0] > pair[1]:
                raise ValueError(f"{name} must be (min, max), got {pair}")
            setattr(self, name, pair)
        if min(self.scale_x[0], self.scale_y[0]) <= 0:
            raise ValueError("scales must be positive")
        if not all(0 <= p <= 1 for p in (self.blur_prob, self.erode_dilate_prob, self.elastic_prob)):
            raise ValueError("probabilities must be in [0, 1]")


def _draw_affine(rng: np.random.Generator, c: ImageAugmentConfig, height: int) -> tuple[np.ndarray, float]:
    """``forward`` = rotate @ shear @ scale (on coordinates relative to the image centre) and a
    vertical shift in pixels, drawn in a fixed order so that a seed gives the same warp."""
    sx, sy = rng.uniform(*c.scale_x), rng.uniform(*c.scale_y)
    shear = rng.uniform(-c.shear, c.shear)
    angle = math.radians(rng.uniform(-c.rotate_deg, c.rotate_deg))
    shift = rng.uniform(-c.translate_y, c.translate_y) * height
    cos, sin = math.cos(angle), math.sin(angle)
    return np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy]), shift


def _corners(w: int, h: int) -> np.ndarray:
    """The image's corners relative to its centre, as columns."""
    return np.array([[-w, -h], [w, -h], [-w, h], [w, h]], dtype=np.float64).T / 2


def _warp(img: Image.Image, rng: np.random.Generator, c: ImageAugmentConfig) -> Image.Image:
    """Stretch, slant and rotate about the centre, then shift vertically.

    The canvas grows to hold the whole warped image (and keeps at least the original line box),
    so no ink is cut; its width therefore changes. The new area is paper of the image's own tone
    (its median): white on toned paper is an edge the normaliser reads as ink, and a mere
    vertical shift then moved the estimated core zone to the border (widths up to 21x).
    """
    w, h = img.size
    forward, shift = _draw_affine(rng, c, h)
    warped = forward @ _corners(w, h)
    x_lo, x_hi = warped[0].min(), warped[0].max()
    y_lo, y_hi = min(-h / 2, warped[1].min() + shift), max(h / 2, warped[1].max() + shift)
    size = (max(1, math.ceil(x_hi - x_lo)), max(1, math.ceil(y_hi - y_lo)))
    # Pillow wants output -> input: p_in = inverse @ (p_out + origin - (0, shift)) + centre
    inverse = np.linalg.inv(forward)
    tx, ty = inverse @ np.array([x_lo, y_lo - shift]) + np.array([w / 2, h / 2])
    data = (inverse[0, 0], inverse[0, 1], tx, inverse[1, 0], inverse[1, 1], ty)
    paper = int(np.median(np.asarray(img)))
    return img.transform(size, Image.Transform.AFFINE, data, Image.Resampling.BILINEAR, fillcolor=paper)


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Zero-mean, unit-std random field over ``shape`` that varies over about ``cell`` pixels."""
    coarse = (max(2, math.ceil(shape[0] / cell) + 1), max(2, math.ceil(shape[1] / cell) + 1))
    field = ndimage.zoom(rng.standard_normal(coarse), (shape[0] / coarse[0], shape[1] / coarse[1]), order=3,
                         grid_mode=True, mode="nearest")[:shape[0], :shape[1]]
    field = np.pad(field, ((0, shape[0] - field.shape[0]), (0, shape[1] - field.shape[1])), mode="edge")
    return (field - field.mean()) / (field.std() + 1e-6)


def elastic(gray: np.ndarray, rng: np.random.Generator, amount: float, cell: float) -> np.ndarray:
    """Move every pixel by a smooth random displacement of std ``amount`` pixels (edges replicated)."""
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    coords = [yy + amount * smooth_field(rng, (h, w), cell), xx + amount * smooth_field(rng, (h, w), cell)]
    return ndimage.map_coordinates(np.asarray(gray, dtype=np.float32), coords, order=1, mode="nearest")


def augment_image(gray: np.ndarray, rng: np.random.Generator, config: ImageAugmentConfig) -> np.ndarray:
    """A randomly perturbed copy of a uint8 ``(H, W)`` line image; the width may change."""
    c = config
    img = _warp(Image.fromarray(np.asarray(gray, dtype=np.uint8)), rng, c)
    if c.elastic_prob > 0 and rng.random() < c.elastic_prob:  # no draw when off: old streams unchanged
        h = img.size[1]
        moved = elastic(np.asarray(img), rng, rng.uniform(*c.elastic_amount) * h, max(2.0, c.elastic_cell * h))
        img = Image.fromarray(np.clip(np.round(moved), 0, 255).astype(np.uint8))
    if rng.random() < c.erode_dilate_prob:
        # Dark ink: a min filter thickens strokes, a max filter thins them.
        img = img.filter(ImageFilter.MinFilter(3) if rng.random() < 0.5 else ImageFilter.MaxFilter(3))
    if rng.random() < c.blur_prob:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(*c.blur_radius)))
    out = np.asarray(img, dtype=np.float32)
    out = 255.0 - (255.0 - out) * np.float32(rng.uniform(*c.contrast))
    sigma = rng.uniform(0.0, c.noise_std) * 255.0
    if sigma > 0:
        out = out + rng.normal(0.0, sigma, size=out.shape).astype(np.float32)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _warp_normalised(line: np.ndarray, rng: np.random.Generator, c: ImageAugmentConfig) -> np.ndarray:
    """:func:`_warp`'s stretch, slant, rotation and shift on a normalised line: the height stays
    (ink leaving the rows is cut, as a mis-placed line would be), the width becomes the
    stretched width plus the columns a slant or rotation pushes the corners out by."""
    h, w = line.shape
    forward, shift = _draw_affine(rng, c, h)
    corners = forward @ _corners(w, h)
    x_lo = corners[0].min()
    width = max(1, math.ceil(corners[0].max() - x_lo))
    inverse = np.linalg.inv(forward)
    tx, ty = inverse @ np.array([x_lo, -h / 2 - shift]) + np.array([w / 2, h / 2])
    data = (inverse[0, 0], inverse[0, 1], tx, inverse[1, 0], inverse[1, 1], ty)
    image = Image.fromarray(np.asarray(line, dtype=np.float32), mode="F")
    return np.asarray(image.transform((width, h), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR,
                                      fillcolor=0.0), dtype=np.float32)


def augment_normalised(line: np.ndarray, rng: np.random.Generator, config: ImageAugmentConfig) -> np.ndarray:
    """A randomly perturbed copy of a normalised ``(H, W)`` float32 line (ink 1.0 on 0.0).

    The same perturbations as :func:`augment_image`, in the network's frame: the height is
    kept, the width changes by the drawn horizontal scale and a slant's or rotation's overhang.
    Strokes of a normalised line are only 1-3 pixels wide, so thicker or thinner strokes come
    from a 2x2 max (min) filter, which moves one edge by a pixel, blended in at a random
    strength (a 3x3 filter, as on the full-size image, erases a 2-pixel stroke).
    """
    c = config
    out = _warp_normalised(line, rng, c)
    h = out.shape[0]
    if c.elastic_prob > 0 and rng.random() < c.elastic_prob:
        out = elastic(out, rng, rng.uniform(*c.elastic_amount) * h, max(2.0, c.elastic_cell * h))
    if rng.random() < c.erode_dilate_prob:
        # bright ink: a max filter thickens strokes, a min filter thins them
        filtered = (ndimage.maximum_filter if rng.random() < 0.5 else ndimage.minimum_filter)(out, size=2)
        out = out + np.float32(rng.uniform(0.5, 1.0)) * (filtered - out)
    if rng.random() < c.blur_prob:
        out = ndimage.gaussian_filter(out, rng.uniform(*c.blur_radius), mode="constant")
    out = out * np.float32(rng.uniform(*c.contrast))
    sigma = rng.uniform(0.0, c.noise_std)
    if sigma > 0:
        out = out + rng.normal(0.0, sigma, size=out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
