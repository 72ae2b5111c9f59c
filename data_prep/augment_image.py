"""Handwriting augmentation on the gray line image (dark ink on light), before normalisation.

One affine warp (stretch, slant, rotation, vertical shift) imitates other writers and imprecise
line segmentation, an optional elastic distortion (a smooth random displacement field) the
wobble of a hand; stroke width, ink darkness, blur and noise imitate other pens and scanners.
All randomness comes from the ``np.random.Generator`` passed in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

from data_prep.config import JsonConfig

_RANGES = ("scale_y", "scale_x", "blur_radius", "contrast", "elastic_amount")


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

    def __post_init__(self) -> None:
        for name in _RANGES:
            pair = tuple(float(v) for v in getattr(self, name))
            if len(pair) != 2 or pair[0] > pair[1]:
                raise ValueError(f"{name} must be (min, max), got {pair}")
            setattr(self, name, pair)
        if min(self.scale_x[0], self.scale_y[0]) <= 0:
            raise ValueError("scales must be positive")
        if not all(0 <= p <= 1 for p in (self.blur_prob, self.erode_dilate_prob, self.elastic_prob)):
            raise ValueError("probabilities must be in [0, 1]")


def _warp(img: Image.Image, rng: np.random.Generator, c: ImageAugmentConfig) -> Image.Image:
    """Stretch, slant and rotate about the centre, then shift vertically.

    The canvas grows to hold the whole warped image (and keeps at least the original line box),
    so no ink is cut; its width therefore changes.
    """
    w, h = img.size
    sx, sy = rng.uniform(*c.scale_x), rng.uniform(*c.scale_y)
    shear = rng.uniform(-c.shear, c.shear)
    angle = math.radians(rng.uniform(-c.rotate_deg, c.rotate_deg))
    shift = rng.uniform(-c.translate_y, c.translate_y) * h
    cos, sin = math.cos(angle), math.sin(angle)
    # forward = rotate @ shear @ scale, on coordinates relative to the image centre
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    corners = np.array([[-w, -h], [w, -h], [-w, h], [w, h]], dtype=np.float64).T / 2
    warped = forward @ corners
    x_lo, x_hi = warped[0].min(), warped[0].max()
    y_lo, y_hi = min(-h / 2, warped[1].min() + shift), max(h / 2, warped[1].max() + shift)
    size = (max(1, math.ceil(x_hi - x_lo)), max(1, math.ceil(y_hi - y_lo)))
    # Pillow wants output -> input: p_in = inverse @ (p_out + origin - (0, shift)) + centre
    inverse = np.linalg.inv(forward)
    tx, ty = inverse @ np.array([x_lo, y_lo - shift]) + np.array([w / 2, h / 2])
    data = (inverse[0, 0], inverse[0, 1], tx, inverse[1, 0], inverse[1, 1], ty)
    return img.transform(size, Image.Transform.AFFINE, data, Image.Resampling.BILINEAR, fillcolor=255)


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
