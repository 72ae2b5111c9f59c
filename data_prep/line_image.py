"""Text-line normalisation: the handwriting front end.

A line image becomes ``height`` x ``W'`` floats with ink 1.0 on background 0.0, and each column is
one frame of ``height`` features. The steps, in order: polarity (ink made bright), large-scale
background removal and contrast stretch, crop to the ink, scale to ``height`` keeping the aspect
ratio, pad.

Real scans (see :mod:`data_prep.line_geometry`) turn on more, each a :class:`LineConfig` field:
``invert="local"`` and ``background="flatten"`` for shaded, dim or dark paper; ``main_band`` drops
other lines' ascenders and descenders and stray specks; ``deskew`` and ``deslant`` undo the
line's rotation and the writing's slant; ``core_height`` scales by the x-height instead of the
ink box, so one tall letter does not shrink the rest. With any of the last four, crop, shears
and scale are one affine map, sampled once. The defaults are the original behaviour, which the
shipped bundles were trained with.

Position mapping. Coordinates are continuous with pixel ``x`` covering ``[x, x + 1)``, both in the
original image and in the output. Original ``x`` lands at output column ``(x - x_offset) * scale``
(the padding is folded into ``x_offset``), so the left edge of output column ``i`` is original
``x_offset + i / scale``: that is the :class:`~data_prep.features.FeatureSeq` ``offset`` and
``step``. ``scale`` is the horizontal scale; it equals the vertical one except for lines wider
than ``max_width``, which are squeezed horizontally to fit. With deskew and deslant the mapping
is exact on the line's centre line (the middle of the core zone, or of the ink box, followed
along the skew): deskewing moves pixels only vertically, and deslanting moves a pixel
``d`` rows from the centre line ``d * tan(slant)`` sideways, so ink off the centre line maps to
where its stroke, followed along the slant, crosses the centre line.

Errors. :func:`normalise_line` and :meth:`ColumnExtractor.extract` get arrays, not files, so they
raise ``ValueError`` (e.g. ``image too small (1x1)``); :meth:`ColumnExtractor.__call__` turns that
into :class:`~data_prep.errors.InputError` naming the file.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PIL import Image
from scipy import ndimage

from data_prep.config import JsonConfig
from data_prep.features import Extractor, FeatureSeq
from data_prep.image import load_image
from data_prep.line_geometry import (
    INK_THRESHOLD,
    MARGIN,
    LineGeometry,
    place_line,
    render_line,
)

INVERT = ("auto", "never", "always", "local")
BACKGROUND = ("opening", "flatten")
CORE_PROFILE = ("ink", "strokes")
COARSE = 8  # background estimates run on a copy downsampled to about this many pixels per window


@dataclass
class LineConfig(JsonConfig):
    """How a line image becomes frames; travels as JSON inside a model bundle."""

    kind: ClassVar[str] = "columns"

    height: int = 32  # normalised line height in pixels = feature_dim
    pad: int = 2  # blank columns added on each side after scaling
    crop: bool = True  # crop to the ink bounding box (plus a small margin)
    # Polarity of the *stored* image: "never": dark ink on light paper, as scanned;
    # "always": light ink on dark; "auto": per image, the background is the majority;
    # "local": per image, ink is what departs most from the local background (shaded paper).
    invert: str = "auto"
    max_width: int = 4000  # wider results are squeezed horizontally to this many columns
    min_width: int = 8  # narrower results get blank columns on the right
    # "opening": subtract a grey opening, stretch by the maximum; "flatten": divide out the
    # paper's shading too, stretch by a robust ink level (a dark speck does not dim the line).
    background: str = "opening"
    main_band: bool = False  # keep only this line's ink (drop other lines' pieces, specks)
    deskew: float = 0.0  # undo the line's rotation, searched within +-deskew degrees; 0: off
    deslant: float = 0.0  # undo the writing's slant, searched within +-deslant degrees; 0: off
    # > 0: scale so the core (x-height) zone spans this fraction of height, its middle at
    # core_center (fraction of height from the top); ascenders and descenders beyond are cut.
    # 0: scale the ink box to height.
    core_height: float = 0.0
    core_center: float = 0.5
    # what the core zone is found in: "ink", the rows dense in ink pixels; "strokes", the rows
    # crossed by the most strokes (ink runs along the row), blind to stroke width and to long
    # horizontal strokes (bars, underlines, ruled lines). "ink" keeps earlier bundles' features.
    core_profile: str = "ink"

    def __post_init__(self) -> None:
        if self.invert not in INVERT:
            raise ValueError(f"invert must be one of {INVERT}, not {self.invert!r}")
        if self.core_profile not in CORE_PROFILE:
            raise ValueError(f"core_profile must be one of {CORE_PROFILE}, not {self.core_profile!r}")
        if self.background not in BACKGROUND:
            raise ValueError(f"background must be one of {BACKGROUND}, not {self.background!r}")
        if self.height < 2 or self.pad < 0 or self.min_width < 1:
            raise ValueError("need height >= 2, pad >= 0 and min_width >= 1")
        if self.max_width < max(self.min_width, 2 * self.pad + 1):
            raise ValueError("max_width must leave room for min_width and the padding")
        for name in ("deskew", "deslant", "core_height", "core_center"):
            setattr(self, name, float(getattr(self, name)))
        if not (0 <= self.deskew <= 30 and 0 <= self.deslant <= 60):
            raise ValueError("need 0 <= deskew <= 30 and 0 <= deslant <= 60 (degrees)")
        if not (0 <= self.core_height <= 1 and 0 < self.core_center < 1):
            raise ValueError("need 0 <= core_height <= 1 and 0 < core_center < 1")

    @property
    def warps(self) -> bool:
        """Whether the geometry goes through the affine path (any geometric option on)."""
        return self.main_band or self.deskew > 0 or self.deslant > 0 or self.core_height > 0

    @property
    def feature_dim(self) -> int:
        return self.height


def _coarse(values: np.ndarray, window: int, how: str) -> np.ndarray:
    """A large-scale estimate of ``values`` (float32, same shape), computed on a copy reduced by
    ``d = window // COARSE`` and interpolated back: background shapes change slowly, and the
    reduced copy makes a window of hundreds of pixels cost as little as one of ``COARSE``.

    "opening": block minimum, grey opening and mean over the window: the level under bright
    strokes. "mean": the mean over the window, pulled towards the ink only by its coverage.
    """
    h, w = values.shape
    d = max(1, window // COARSE)
    k = max(3, math.ceil(window / d)) | 1
    padded = np.pad(values, ((0, -h % d), (0, -w % d)), mode="edge")
    op = np.minimum if how == "opening" else np.add  # block min or block sum, slice by slice
    cols = op.reduce([padded[:, i::d] for i in range(d)])
    small = op.reduce([cols[i::d] for i in range(d)])
    if how == "opening":
        small = ndimage.grey_opening(small, size=(k, k), mode="nearest")
    else:
        small = small / (d * d)
    small = ndimage.uniform_filter(small, size=k, mode="nearest")
    full = Image.fromarray(small.astype(np.float32), mode="F").resize(
        (padded.shape[1], padded.shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(full, dtype=np.float32)[:h, :w]


def _window(shape: tuple[int, int]) -> int:
    """Background window: a third of the smaller side, larger than strokes and letters."""
    return max(3, min(shape) // 3)


def _sample(values: np.ndarray, limit: int = 20000) -> np.ndarray:
    """A regular subsample for statistics: percentiles of 20k values are as good as of all."""
    flat = values.ravel()
    return flat[:: max(1, flat.size // limit)]


def _ink_is_dark(g: np.ndarray) -> bool:
    """Whether ink is darker than the paper around it: the residual from the local mean reaches
    further down than up (ink covers less than half of any window, so the mean stays nearer the
    paper). Unlike a global median, this holds on shaded paper whose dark end is darker than
    the ink on its light end."""
    low, high = np.percentile(_sample(g - _coarse(g, _window(g.shape), "mean")), (0.2, 99.8))
    return bool(-low >= high)


def _ink_bright(gray: np.ndarray, invert: str) -> np.ndarray:
    """Float image with ink high. In "auto" the median is background: text is the minority."""
    g = gray.astype(np.float32)
    if invert == "always":
        return g
    if invert == "auto":
        lo, hi = np.percentile(g, (1, 99))
        if np.median(g) < (lo + hi) / 2:  # dark background: already ink-bright
            return g
    if invert == "local" and not _ink_is_dark(g):
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


def _flatten(ink: np.ndarray) -> np.ndarray:
    """Background removal for real scans: ``[0, 1]``, paper 0, ink about 1.

    The paper level (a grey opening on a reduced copy) is subtracted, then the paper's noise
    (its median residual plus three robust deviations: scanner noise adds the same grey levels
    everywhere), and the remainder is divided by the paper's brightness, so a shadow that dims
    paper and ink alike leaves the same ink contrast. The stretch takes the 90th percentile of
    clearly inked pixels to 1: a single dark speck, or a dim scan, does not change how dark the
    line comes out.
    """
    background = _coarse(ink, _window(ink.shape), "opening")
    residual = np.clip(ink - background, 0.0, None)
    values = _sample(residual)
    floor = float(np.median(values))
    floor += 3 * 1.4826 * float(np.median(np.abs(values - floor)))
    paper = np.maximum(255.0 - background, 38.0)  # brightness of the paper in a dark-ink scan
    contrast = np.clip(residual - floor, 0.0, None) / paper
    peak = float(contrast.max())
    if peak < 0.03:  # no ink, only paper texture
        return np.zeros_like(contrast)
    values = _sample(contrast)
    clear = values[values > 0.1 * peak]
    top = float(np.percentile(clear, 90)) if clear.size else peak
    return np.clip(contrast / top, 0.0, 1.0).astype(np.float32)


def _crop_box(norm: np.ndarray) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) around the ink plus a margin; may extend past the image (padded later)."""
    mask = norm > INK_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0, norm.shape[0], 0, norm.shape[1]
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    m = max(1, round(MARGIN * (y1 - y0)))
    return int(y0 - m), int(y1 + m), int(x0 - m), int(x1 + m)


def _pad(out: np.ndarray, config: LineConfig) -> np.ndarray:
    """Padding columns on both sides, and blank columns on the right up to ``min_width``."""
    right = config.pad + max(0, config.min_width - out.shape[1] - 2 * config.pad)
    return np.ascontiguousarray(np.pad(out, ((0, 0), (config.pad, right))), dtype=np.float32)


def _crop_and_scale(norm: np.ndarray, config: LineConfig) -> tuple[np.ndarray, float, float]:
    """The plain geometry: crop to the ink box, scale it to ``height``, pad."""
    h, w = norm.shape
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
    x_offset = x0 - config.pad / scale
    return _pad(out, config), float(x_offset), float(scale)


def _normalised_ink(gray: np.ndarray, config: LineConfig) -> np.ndarray:
    """Checked gray image -> ink 1.0 on paper 0.0, same shape (polarity and background)."""
    gray = np.asarray(gray)
    if gray.ndim != 2:
        raise ValueError(f"expected a 2-D gray image, got shape {gray.shape}")
    h, w = gray.shape
    if h < 2 or w < 2:
        raise ValueError(f"image too small ({w}x{h})")
    ink = _ink_bright(gray, config.invert)
    return _flatten(ink) if config.background == "flatten" else _remove_background(ink)


def measure_line(gray: np.ndarray, config: LineConfig) -> LineGeometry | None:
    """The geometry :func:`normalise_line` uses for ``gray``: estimated skew, slant, core zone and
    the exact map. None where it takes the plain path (no warping option on, or no ink)."""
    if not config.warps:
        return None
    placed = place_line(_normalised_ink(gray, config), config)
    return placed[0] if placed else None


def normalise_line(gray: np.ndarray, config: LineConfig) -> tuple[np.ndarray, float, float]:
    """Gray line image -> ``(array (height, W') float32, x_offset, scale)``, ink 1.0 on 0.0.

    Original ``x`` maps to column ``(x - x_offset) * scale`` (see the module docstring).
    """
    norm = _normalised_ink(gray, config)
    placed = place_line(norm, config) if config.warps else None
    if placed is None:
        return _crop_and_scale(norm, config)
    geometry, norm = placed
    out = render_line(norm, geometry, config.height)
    return _pad(out, config), geometry.left - config.pad / geometry.scale_x, geometry.scale_x


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
