"""Reading and writing line images: any Pillow mode in, 8-bit grayscale out.

The gray image keeps the stored polarity (usually dark ink on light paper); deciding what is ink
is the line normaliser's job, because it needs the whole image to judge. Bad files raise
:class:`~data_prep.errors.InputError`.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from data_prep.errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

_WIDE_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def _stretch_to_uint8(values: np.ndarray) -> np.ndarray:
    """16/32-bit or float pixels -> 0..255 by the image's own range (scanners rarely use the full
    16-bit range, so scaling by the type's range would give a nearly black or flat image)."""
    values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:  # flat: no ink either way; call it paper
        return np.full(values.shape, 255, dtype=np.uint8)
    return np.round((values - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def _to_gray(img: Image.Image) -> np.ndarray:
    if img.mode in _WIDE_MODES:
        return _stretch_to_uint8(np.asarray(img))
    if img.mode in ("LA", "PA", "RGBA", "RGBa", "La") or "transparency" in img.info:
        # Transparent pixels are paper: composite on white, as a viewer would show them.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("L"))
    if img.mode == "L":
        return np.asarray(img)
    if img.mode not in ("1", "RGB", "P"):  # CMYK, YCbCr, LAB, HSV, ...: through RGB
        img = img.convert("RGB")
    return np.asarray(img.convert("L"))


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Grayscale uint8 ``(H, W)`` as stored: first page of a multi-page TIFF, EXIF rotation applied."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise InputError(path, "empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # palette/transparency and EXIF chatter
            with Image.open(path) as img:
                img.seek(0)
                img.load()  # decode now: truncated data fails here, not later
                img = ImageOps.exif_transpose(img)
                gray = _to_gray(img)
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, ...
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        reason = reason.replace(repr(path), "").replace(path, "").strip(" :")
        raise InputError(path, f"not a readable image ({reason or type(error).__name__})") from error
    if gray.size == 0:
        raise InputError(path, "empty image (0 pixels)")
    return np.ascontiguousarray(gray, dtype=np.uint8)


def save_image(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 gray ``(H, W)`` (or RGB ``(H, W, 3)``) array; the format follows the extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.asarray(array)
    if array.dtype != np.uint8:
        array = np.clip(np.round(array), 0, 255).astype(np.uint8)
    Image.fromarray(array).save(str(path))
