"""Text-line normalisation: the handwriting front end.

A line image becomes ``height`` x ``W'`` floats with ink 1.0 on background 0.0, and each column is
one frame of ``height`` features. The steps, in order: polarity (ink made bright), large-scale
background removal and contrast stretch, crop to the ink, scale to ``height`` keeping the aspect
ratio, pad. (Slant and skew correction would go between crop and scale.)

Position mapping. Coordinates are continuous with pixel ``x`` covering ``[x, x + 1)``, both in the
original image and in the output. Original ``x`` lands at output column ``(x - x_offset) * scale``
(the padding is folded into ``x_offset``), so the left edge of output column ``i`` is original
``x_offset + i / scale``: that is the :class:`~data_prep.features.FeatureSeq` ``offset`` and
``step``. ``scale`` is the horizontal scale; it equals the vertical one except for lines wider
than ``max_width``, which are squeezed horizontally to fit.

Errors. :func:`normalise_line` and :meth:`ColumnExtractor.extract` get arrays, not files, so they
raise ``ValueError`` (e.g. ``image too small (1x1)``); :meth:`ColumnExtractor.__call__` turns that
into :class:`~data_prep.errors.InputError` naming the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image
from scipy import ndimage

from data_prep.config import JsonConfig
from data_prep.features import Extractor, FeatureSeq
from data_prep.image import load_image

INVERT = ("auto", "never", "always")
INK_THRESHOLD = 0.5  # a pixel is ink for cropping once it is half way from paper to full ink
MARGIN = 0.05  # crop margin, as a fraction of the ink height (at least one pixel)


@dataclass
class LineConfig(JsonConfig):
    """How a line image becomes frames; travels as JSON inside a model bundle."""

    kind: ClassVar[str] = "columns"

    height: int = 32  # normalised line height in pixels = feature_dim
    pad: int = 2  # blank columns added on each side after scaling
    crop: bool = True  # crop to the ink bounding box (plus a small margin)
    # Polarity of the *stored* image: "never": dark ink on light paper, as scanned;
    # "always": light ink on dark; "auto": per image, the background is the majority.
    invert: str = "auto"
    max_width: int = 4000  # wider results are squeezed horizontally to this many columns
    min_width: int = 8  # narrower results get blank columns on the right

    def __post_init__(self) -> None:
        if self.invert not in INVERT:
            raise ValueError(f"invert must be one of {INVERT}, not {self.invert!r}")
        if self.height < 2 or self.pad < 0 or self.min_width < 1:
            raise ValueError("need height >= 2, pad >= 0 and min_width >= 1")
        if self.max_width < max(self.min_width, 2 * self.pad + 1):
            raise ValueError("max_width must leave room for min_width and the padding")

    @property
    def feature_dim(self) -> int:
        return self.height


def _ink_bright(gray: np.ndarray, invert: str) -> np.ndarray:
    """Float image with ink high. In "auto" the median is background: text is the minority."""
    g = gray.astype(np.float32)
    if invert == "always":
        return g
    if invert == "auto":
        lo, hi = np.percentile(g, (1, 99))
        if np.median(g) < (lo + hi) / 2:  # dark background: already ink-bright
            return g
    return 255.0 - g


def _remove_background(ink: np.ndarray) -> np.ndarray:
    """Subtract a large-scale background and stretch to [0, 1].

    A grey opening with a window larger than a stroke removes the ink and keeps the paper, so
    shading and uneven illumination are subtracted, not just a global level.
    """
    h, w = ink.shape
    k = max(3, min(h, w) // 3) | 1
    background = ndimage.grey_opening(ink, size=(k, k), mode="nearest")
    background = ndimage.uniform_filter(background, size=k, mode="nearest")
    residual = np.clip(ink - background, 0.0, None)
    top = float(residual.max())
    if top < 8.0:  # under ~3% of full scale: noise, no ink
        return np.zeros_like(residual)
    return np.clip(residual / top, 0.0, 1.0)


def _crop_box(norm: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) around the ink plus a margin; may extend past the image (padded later)."""
    mask = norm > INK_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0, norm.shape[0], 0, norm.shape[1]
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    m = max(1, round(MARGIN * (y1 - y0)))
    return int(y0 - m), int(y1 + m), int(x0 - m), int(x1 + m)


def normalise_line(gray: np.ndarray, config: LineConfig) -> tuple[np.ndarray, float, float]:
    """Gray line image -> ``(array (height, W') float32, x_offset, scale)``, ink 1.0 on 0.0.

    Original ``x`` maps to column ``(x - x_offset) * scale`` (see the module docstring).
    """
    gray = np.asarray(gray)
    if gray.ndim != 2:
        raise ValueError(f"expected a 2-D gray image, got shape {gray.shape}")
    h, w = gray.shape
    if h < 2 or w < 2:
        raise ValueError(f"image too small ({w}x{h})")
    norm = _remove_background(_ink_bright(gray, config.invert))
    if config.crop:
        y0, y1, x0, x1 = _crop_box(norm)
        # Margins past the border are background: pad, so extra white margins change nothing.
        top, left = max(0, -y0), max(0, -x0)
        padded = np.pad(norm, ((top, max(0, y1 - h)), (left, max(0, x1 - w))))
        norm = padded[y0 + top: y1 + top, x0 + left: x1 + left]
    else:
        x0 = 0
    ch, cw = norm.shape
    inner_max = config.max_width - 2 * config.pad
    new_w = min(inner_max, max(1, round(cw * config.height / ch)))
    scale = new_w / cw  # exact horizontal scale of the resize, used for the mapping
    resized = Image.fromarray(norm.astype(np.float32), mode="F").resize(
        (new_w, config.height), Image.Resampling.BILINEAR
    )
    out = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    right = config.pad + max(0, config.min_width - new_w - 2 * config.pad)
    out = np.pad(out, ((0, 0), (config.pad, right)))
    x_offset = x0 - config.pad / scale
    return np.ascontiguousarray(out, dtype=np.float32), float(x_offset), float(scale)


class ColumnExtractor(Extractor):
    """Line image file or gray array -> columns ``(W', height)`` float32, positions in pixels."""

    modality = "image"

    def __init__(self, config: LineConfig | None = None):
        self.config = config or LineConfig()
        self.feature_dim = self.config.height

    def load(self, path: str | os.PathLike) -> np.ndarray:
        return load_image(path)

    def extract(self, gray: np.ndarray) -> FeatureSeq:
        """Raises ``ValueError`` for an unusable array (see the module docstring)."""
        array, x_offset, scale = normalise_line(gray, self.config)
        frames = np.ascontiguousarray(array.T, dtype=np.float32)
        return FeatureSeq(frames=frames, step=1.0 / scale, offset=x_offset, unit="px")
