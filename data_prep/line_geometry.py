"""Where a text line lies in its image, and the one affine map that straightens it.

Skew, slant, the line's own ink (not its neighbours'), its core (x-height) zone. Estimates work
on ink *points* (the centres of ink pixels), never on warped images: a shear of points is one
multiply-add, so a search over many angles costs one histogram per angle. The result is a
:class:`LineGeometry`; :func:`render_line` then samples the image once through it.

Conventions (image coordinates, y down, pixel ``x`` covering ``[x, x + 1)``):

* skew ``t = tan(angle)``: the line runs along ``y = y_c + (x - x_c) * t`` (positive: it descends
  to the right). It is undone by the vertical shear ``y1 = y - (x - x_c) * t``, which keeps every
  ``x``. For a true rotation of up to 10 degrees that leaves a horizontal shear (absorbed by the
  slant correction) and a vertical stretch of ``1 / cos`` (at most 1.5%).
* slant ``s = tan(angle)``: strokes lean right by ``s`` pixels per pixel of height (their tops
  lie to the right). It is undone by the horizontal shear ``x2 = x + (y1 - y_c) * s``, which
  keeps the centre line ``y1 = y_c`` in place.

Both are found by the projection-profile criterion: the shear that makes the row profile (skew)
or the column profile (slant) most peaked, i.e. maximises the sum of its squares (text rows line
up; vertical strokes stack into single columns). Profiles use linear binning so the criterion is
smooth in the angle, and the search is coarse then fine, on at most ``MAX_POINTS`` points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy import ndimage

if TYPE_CHECKING:
    from data_prep.line_image import LineConfig

INK_THRESHOLD = 0.5  # a pixel is ink for cropping once it is half way from paper to full ink
MARGIN = 0.05  # crop margin, as a fraction of the ink height (at least one pixel)

MAX_POINTS = 6000  # ink points used by the angle searches (a regular subsample beyond that)
MIN_POINTS = 30  # fewer ink points: no estimate (angle 0)
CORE_LEVEL = 0.5  # core rows: row profile at least this fraction of its peak
CAP_RATIO = 1.6  # digits / capitals only: their height is taken as CAP_RATIO x-heights
CORE_SHARE = 0.75  # a "core" this large a share of the ink height means there is no x-height zone
ZONE = 1.5  # ascender / descender zone: this many core heights above and below the core
SMALL = 0.5  # components smaller than this many core heights: dots (or specks, when far out)


def _subsample(*arrays: np.ndarray, limit: int = MAX_POINTS) -> tuple[np.ndarray, ...]:
    step = max(1, math.ceil(arrays[0].size / limit))
    return tuple(a[::step] for a in arrays)


def _extent(v: np.ndarray) -> float:
    """Extent of coordinates ``v`` from their 2nd to 98th percentile: a stray speck far out
    does not make a word look tall or a line look long."""
    lo, hi = np.percentile(_subsample(v)[0], (2, 98))
    return float(hi - lo) + 1.0


def _profile_energy(base: np.ndarray, lever: np.ndarray, factors: np.ndarray,
                    bin_px: float) -> np.ndarray:
    """Sum of squared histogram of ``base + lever * f`` for each ``f`` in ``factors``: (A,)."""
    v = (base[None, :] + lever[None, :] * factors[:, None]) / bin_px
    v -= v.min(axis=1, keepdims=True)
    lo = np.floor(v)
    frac = v - lo
    bins = lo.astype(np.int64)
    width = int(bins.max()) + 2
    bins += (np.arange(len(factors)) * width)[:, None]
    total = len(factors) * width
    hist = (np.bincount(bins.ravel(), weights=(1.0 - frac).ravel(), minlength=total)
            + np.bincount(bins.ravel() + 1, weights=frac.ravel(), minlength=total))
    hist = hist.reshape(len(factors), width)
    return np.einsum("ij,ij->i", hist, hist)


def _best_angle(score, max_deg: float, coarse: float, fine: float) -> float:
    """Angle in ``[-max_deg, max_deg]`` maximising ``score(tangents)``: a coarse grid, a fine grid
    around its best, then a parabola through the best three. 0 unless something beats it."""
    n = max(1, math.ceil(max_deg / coarse))
    grid = np.linspace(-max_deg, max_deg, 2 * n + 1)  # contains 0
    s = score(np.tan(np.radians(grid)))
    best = float(grid[np.argmax(s)])
    if s.max() <= s[n] * (1 + 1e-4):  # flat criterion (a dot, a blob): no evidence of an angle
        best = 0.0
    step = grid[1] - grid[0] if len(grid) > 1 else coarse
    m = max(1, math.ceil(step / fine))
    local = np.clip(best + np.linspace(-step, step, 2 * m + 1), -max_deg, max_deg)
    s = score(np.tan(np.radians(local)))
    j = int(np.argmax(s))
    if 0 < j < len(local) - 1:
        curve = s[j - 1] - 2 * s[j] + s[j + 1]
        if curve < 0:
            shift = 0.5 * (s[j - 1] - s[j + 1]) / curve
            return float(np.clip(local[j] + shift * (local[1] - local[0]), -max_deg, max_deg))
    return float(local[j])


def estimate_skew(y: np.ndarray, x: np.ndarray, max_deg: float, bin_px: float = 1.0) -> float:
    """Line angle in degrees (positive: descends to the right) within ``+-max_deg``.

    Needs a line clearly wider than tall: a word or a character has no reliable baseline, so
    ink less than three times as wide as high gives 0.
    """
    if y.size < MIN_POINTS or max_deg <= 0 or _extent(x) < 3 * _extent(y):
        return 0.0
    y, x = _subsample(y, x)
    lever = x - x.mean()
    return _best_angle(lambda t: _profile_energy(y, lever, -t, bin_px), max_deg, 1.0, 0.1)


def estimate_slant(y: np.ndarray, x: np.ndarray, max_deg: float, bin_px: float = 1.0) -> float:
    """Stroke slant in degrees (positive: tops lean right) within ``+-max_deg``; ``y`` deskewed.

    Ink narrower than high (a character or two) gives 0: its own shape is all the evidence, and
    a wrong shear would distort it.
    """
    if y.size < MIN_POINTS or max_deg <= 0 or _extent(x) < _extent(y):
        return 0.0
    y, x = _subsample(y, x)
    lever = y - y.mean()
    return _best_angle(lambda s: _profile_energy(x, lever, s, bin_px), max_deg, 3.0, 0.5)


def _dense_rows(y: np.ndarray, smooth: float) -> tuple[np.ndarray, int]:
    """Row profile of points ``y`` (one bin per pixel row), smoothed; and the row of bin 0."""
    first = math.floor(y.min())
    profile = np.bincount((np.floor(y) - first).astype(np.int64)).astype(np.float64)
    if smooth > 0:
        profile = ndimage.gaussian_filter1d(profile, smooth, mode="constant")
    return profile, first


def dense_band(y: np.ndarray, centre: float | None = None) -> tuple[float, float]:
    """``(top, bottom)`` of the rows where the profile of deskewed points ``y`` stays above
    ``CORE_LEVEL`` of its peak: ascenders and descenders are a few strokes per row, the
    x-height zone is crossed by every letter. With ``centre`` (while other lines' ink may still
    be there) only one run of dense rows: the heaviest, discounted by its distance from
    ``centre`` (a crop is centred on its own line, neighbours show at its edges). Without it,
    the first to the last dense row (the core of cursive writing can thin out in its middle)."""
    profile, first = _dense_rows(y, smooth=max(0.5, 0.03 * _extent(y)))
    dense = profile >= CORE_LEVEL * profile.max()
    if centre is None:
        rows = np.flatnonzero(dense)
    else:
        labels, count = ndimage.label(dense)
        index = np.arange(1, count + 1)
        mass = ndimage.sum_labels(profile, labels, index)
        middle = first + np.asarray(ndimage.center_of_mass(profile, labels, index))[:, 0] + 0.5
        spread = 0.25 * _extent(y)
        best = index[np.argmax(mass / (1 + ((middle - centre) / spread) ** 2))]
        rows = np.flatnonzero(labels == best)
    return float(first + rows[0]), float(first + rows[-1] + 1)


def core_zone(y: np.ndarray, centre: float | None = None, strokes: np.ndarray | None = None) -> tuple[float, float]:
    """``(top, bottom)`` rows of the core (x-height) zone of deskewed ink points ``y``.

    The dense band (see :func:`dense_band`) of ``y``, or of ``strokes`` where given: the rows of
    the first point of every ink run along a row, so that a row counts the strokes crossing it
    rather than its ink (thin and thick pens agree; a bar, underline or ruled line counts once
    per row, not once per pixel). Ink with no x-height zone (digits, capitals: the
    dense rows cover most of the ink) is read as cap height instead: the core is the lowest
    ``1 / CAP_RATIO`` of it, so digits sit on the baseline and reach into the ascender zone as
    they do among lowercase letters.
    """
    top, bottom = dense_band(y if strokes is None or strokes.size == 0 else strokes, centre)
    lo, hi = (float(v) for v in np.percentile(_subsample(y)[0], (1, 99)))
    height = hi - lo + 1
    if bottom - top > CORE_SHARE * height:
        bottom = min(bottom, hi + 1)
        top = bottom - height / CAP_RATIO
    return top, bottom


def main_band(labels: np.ndarray, count: int, y: np.ndarray, core: tuple[float, float]) -> np.ndarray:
    """Which connected ink components belong to this line: bool per label (index 0: background).

    ``labels`` is the component image; ``y`` the points' deskewed rows in the order of
    ``np.nonzero(labels)``; ``core`` the line's dense band of rows. A component is the line's
    own if it crosses the core rows; else if it lies within ``ZONE`` core heights of them and
    clear of the image's top and bottom edges (dots, accents, quotes, detached strokes). Pieces
    touching those edges are other lines' descenders and ascenders cut by the crop (a crop's
    own top and bottom are usually its ascenders and descenders, which cross the core; a lone
    dot of its own touching the edge is lost), anything farther out is a speck. Small
    components more than two core heights left or right of the text are specks too (they would
    stretch the crop).
    """
    c0, c1 = core
    ch = max(1.0, c1 - c0)
    lab = labels[labels > 0]
    ymin, ymax = np.full(count + 1, np.inf), np.full(count + 1, -np.inf)
    np.minimum.at(ymin, lab, y - 0.5)
    np.maximum.at(ymax, lab, y + 0.5)
    boxes = np.array([(0, 0, 0, 0)] + [(b[0].start, b[0].stop, b[1].start, b[1].stop)
                                        for b in ndimage.find_objects(labels, count)], float)
    r0, r1, x0, x1 = boxes.T
    small = np.maximum(r1 - r0, x1 - x0) < SMALL * ch
    crosses = (ymax > c0) & (ymin < c1)
    at_edge = (r0 == 0) | (r1 == labels.shape[0])
    near = (ymin >= c0 - ZONE * ch) & (ymax <= c1 + ZONE * ch)
    keep = crosses | (near & ~at_edge)
    big = keep & ~small
    if big.any():
        left, right = x0[big].min() - 2 * ch, x1[big].max() + 2 * ch
        keep &= ~(small & ((x1 < left) | (x0 > right)))
    keep[0] = False
    return keep


def _bin_px(y: np.ndarray, per_line: int) -> float:
    """Profile bin for an angle search: ``per_line`` bins per line height. Measured on synthetic
    lines in 7 handwriting-like fonts: 48 rows per line for skew, 16 columns for slant (finer
    slant bins let single diagonal strokes win: the worst error doubles)."""
    return max(1.0, _extent(y) / per_line)


@dataclass(frozen=True)
class LineGeometry:
    """How the original image maps to the output, in continuous pixel coordinates.

    Frames: original ``(x, y)``; deskewed ``(x, y1)``, ``y1 = y - (x - pivot) * tan(skew)``;
    deslanted ``(x2, y1)``, ``x2 = x + (y1 - centre) * tan(slant)``. The output (before padding)
    is the deslanted frame shifted by ``(left, top)`` and scaled by ``(scale_x, scale_y)``. On
    the centre line ``y1 = centre``, ``x2`` is the original ``x``: output column ``u`` shows
    original column ``left + u / scale_x`` there, and ink ``d`` rows off the centre line comes
    from ``d * tan(slant)`` further along its stroke.
    """

    skew: float  # degrees; positive: the line descends to the right
    slant: float  # degrees; positive: strokes lean right (their tops lie to the right)
    pivot: float  # column about which the skew is undone
    centre: float  # deskewed row of the centre line (core middle, or ink box middle)
    core: tuple[float, float] | None  # deskewed rows of the core zone, when scaled by it
    left: float  # deslanted x of the output's left edge
    top: float  # deskewed row of the output's top edge
    scale_x: float
    scale_y: float
    width: int  # output columns (before padding)

    def centre_row(self, x: float) -> float:
        """Original row of the centre line at original column ``x``."""
        return self.centre + (x - self.pivot) * math.tan(math.radians(self.skew))

    def affine(self) -> tuple[float, float, float, float, float, float]:
        """Output ``(u, v)`` -> original ``(a u + b v + c, d u + e v + f)``."""
        t, s = math.tan(math.radians(self.skew)), math.tan(math.radians(self.slant))
        a, b = 1 / self.scale_x, -s / self.scale_y
        c = self.left - (self.top - self.centre) * s
        return a, b, c, t * a, 1 / self.scale_y + t * b, self.top + t * (c - self.pivot)


def place_line(norm: np.ndarray, config: LineConfig) -> tuple[LineGeometry, np.ndarray] | None:
    """The geometry for ``norm`` (ink 1 on 0) under ``config``'s warping options, and ``norm``
    with other lines' ink erased (``main_band``); None if there is no ink.

    Order: skew on all ink (the line's own dominates), its own ink (needs the deskewed rows),
    core zone or ink box (vertical scale and centre line; the dense rows of both are rows dense
    in ink, or with ``core_profile="strokes"`` rows crossed by many strokes), slant (about that centre line),
    horizontal extent. Vertical placement: the core zone's middle at ``core_center`` of the
    height and the core ``core_height`` of it tall; or, with ``core_height`` 0, the ink box plus
    a margin filling the height (without ``crop``: the whole deskewed image).
    """
    h, w = norm.shape
    mask = norm > INK_THRESHOLD
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    y, x = rows + 0.5, cols + 0.5
    pivot = w / 2
    skew = estimate_skew(y, x, config.deskew, _bin_px(y, 48))
    y1 = y - (x - pivot) * math.tan(math.radians(skew))
    # stroke profile: dense rows counted on the first pixel of every ink run along a row, one per
    # stroke crossing whatever its width (the ink profile counts every ink pixel)
    run_start = None
    if config.core_profile == "strokes":
        run_start = (mask & ~np.pad(mask, ((0, 0), (1, 0)))[:, :-1])[rows, cols]
    if config.main_band:
        labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
        keep = main_band(labels, count, y1, dense_band(y1 if run_start is None else y1[run_start], centre=h / 2))
        own = keep[labels[rows, cols]]
        if not own.all():  # erase the rest, with its antialiased rim, so it cannot show
            norm = np.where(ndimage.binary_dilation(mask & ~keep[labels]), 0.0, norm)
            x, y1 = x[own], y1[own]
            run_start = None if run_start is None else run_start[own]
    core = None
    if config.core_height > 0:
        core = core_zone(y1, None if config.main_band else h / 2, None if run_start is None else y1[run_start])
        scale_y = config.core_height * config.height / (core[1] - core[0])
        centre = (core[0] + core[1]) / 2
        top = centre - config.core_center * config.height / scale_y
    else:
        y0, y_end = (float(y1.min()) - 0.5, float(y1.max()) + 0.5) if config.crop else (0.0, float(h))
        margin = max(1.0, MARGIN * (y_end - y0)) if config.crop else 0.0
        top, scale_y = y0 - margin, config.height / (y_end - y0 + 2 * margin)
        centre = (y0 + y_end) / 2
    slant = estimate_slant(y1, x, config.deslant, _bin_px(y1, 16))
    if config.crop:
        x2 = x + (y1 - centre) * math.tan(math.radians(slant))
        margin = max(1.0, MARGIN * config.height) / scale_y
        left, right = float(x2.min()) - 0.5 - margin, float(x2.max()) + 0.5 + margin
    else:
        left, right = 0.0, float(w)
    width = min(config.max_width - 2 * config.pad, max(1, round((right - left) * scale_y)))
    geometry = LineGeometry(skew, slant, pivot, centre, core, left, top,
                            width / (right - left), scale_y, width)
    return geometry, norm


def render_line(norm: np.ndarray, geometry: LineGeometry, height: int) -> np.ndarray:
    """Sample ``norm`` through ``geometry`` into ``(height, geometry.width)`` float32 in [0, 1].

    Where the map shrinks, the part of the source it covers is first resized by the scale, with
    Pillow's antialiasing filter, so thin strokes are averaged rather than point-sampled away.
    """
    a, b, c, d, e, f = geometry.affine()
    width = geometry.width
    us, vs = np.array([0, width, 0, width]), np.array([0, 0, height, height])
    xs, ys = a * us + b * vs + c, d * us + e * vs + f
    h, w = norm.shape
    x0, x1 = max(0, math.floor(xs.min()) - 2), min(w, math.ceil(xs.max()) + 2)
    y0, y1 = max(0, math.floor(ys.min()) - 2), min(h, math.ceil(ys.max()) + 2)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((height, width), np.float32)
    region = np.pad(norm[y0:y1, x0:x1], 1)  # zero border: ink fades out at the image's edge
    x0, y0 = x0 - 1, y0 - 1
    image = Image.fromarray(region.astype(np.float32, copy=False), mode="F")
    rw = max(1, round(region.shape[1] * min(1.0, geometry.scale_x)))
    rh = max(1, round(region.shape[0] * min(1.0, geometry.scale_y)))
    if (rw, rh) != image.size:
        image = image.resize((rw, rh), Image.Resampling.BILINEAR)
    rx, ry = rw / region.shape[1], rh / region.shape[0]
    data = (a * rx, b * rx, (c - x0) * rx, d * ry, e * ry, (f - y0) * ry)
    out = image.transform((width, height), Image.Transform.AFFINE, data,
                          resample=Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)
