"""Cutting text lines out of page images (PAGE XML, ALTO): polygon crops on the page's own paper.

Each line is cut to its polygon's bounding box; pixels outside the polygon (pieces of the lines
above and below) are painted with the paper's tone, the median of the box, which is paper because
ink covers far less than half of any line's box. Black would be read as a huge ink blot by
the line normaliser, white as a bright edge on darker historical paper.

Coordinates are in the page's declared size (``imageWidth``/``WIDTH``), which may not be the size
of the image file at hand (a smaller JPEG of a TIFF master, or ALTO in tenths of millimetres):
they are scaled to the file. An image whose EXIF orientation would turn it is used as stored
when the declared size matches the stored size, turned otherwise.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from data_prep.errors import InputError
from data_prep.image import IMAGE_EXTENSIONS
from data_prep.importers.common import GROUP, Job, Skip, safe_name

MIN_SIDE = 4  # pixels: a smaller box holds no readable line


@dataclass
class Line:
    """One transcribed line of a page: its id, polygon (declared coordinates) and text."""

    id: str
    points: list[tuple[float, float]]
    text: str


@dataclass
class Page:
    """A page image as uint8 ``(H, W)`` or ``(H, W, 3)``, and the factors from declared to pixels."""

    pixels: np.ndarray
    scale_x: float = 1.0
    scale_y: float = 1.0


def _pixels(img: Image.Image) -> np.ndarray:
    """Gray or RGB uint8, whatever the mode (16-bit gray is stretched by its own range)."""
    if img.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        values = np.asarray(img, dtype=np.float64)
        lo, hi = float(values.min()), float(values.max())
        return np.round((values - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)
    if img.mode in ("L", "RGB"):
        return np.asarray(img)
    if img.mode in ("1", "LA", "La"):
        return np.asarray(img.convert("L"))
    if img.mode in ("RGBA", "PA", "P") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        return np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, (255,) * 4), rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def open_page(path: Path, declared: tuple[float, float] | None) -> Page:
    """Load a page image; ``declared`` is (width, height) the coordinates refer to, if known."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                img.load()
                stored = img.size
                turned = ImageOps.exif_transpose(img)
                if declared and turned.size != stored and _close(declared, stored):
                    turned = img
                pixels = _pixels(turned)
    except Exception as error:  # Pillow raises many types for bad files
        raise InputError(path, f"not a readable image ({str(error).strip() or type(error).__name__})") from error
    h, w = pixels.shape[:2]
    if not declared or declared[0] <= 0 or declared[1] <= 0:
        return Page(pixels)
    return Page(pixels, w / declared[0], h / declared[1])


def _close(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1


def crop_line(page: Page, points: list[tuple[float, float]]) -> np.ndarray:
    """The line inside polygon ``points`` (declared coordinates), outside painted paper-tone.

    Raises ``ValueError`` for a polygon with fewer than 3 points, outside the page, or too small.
    """
    if len(points) < 3:
        raise ValueError("polygon has fewer than 3 points")
    xy = np.array(points, dtype=np.float64) * (page.scale_x, page.scale_y)
    h, w = page.pixels.shape[:2]
    x0, y0 = max(0, int(np.floor(xy[:, 0].min()))), max(0, int(np.floor(xy[:, 1].min())))
    x1, y1 = min(w, int(np.ceil(xy[:, 0].max())) + 1), min(h, int(np.ceil(xy[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        raise ValueError("polygon outside the page")
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        raise ValueError(f"line too small ({x1 - x0}x{y1 - y0} px)")
    box = page.pixels[y0:y1, x0:x1]
    mask = Image.new("1", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(mask).polygon([(float(x - x0), float(y - y0)) for x, y in xy], fill=1, outline=1)
    inside = np.asarray(mask, dtype=bool)
    paper = np.median(box.reshape(-1, box.shape[2]) if box.ndim == 3 else box.ravel(), axis=0)
    out = np.where(inside[..., None] if box.ndim == 3 else inside, box, np.round(paper).astype(np.uint8))
    return np.ascontiguousarray(out, dtype=np.uint8)


def parse_points(text: str) -> list[tuple[float, float]]:
    """``"x1,y1 x2,y2 ..."`` (PAGE) or ``"x1 y1 x2 y2 ..."`` / ``"x1,y1,x2,y2"`` (ALTO) -> pairs."""
    numbers = [float(v) for v in text.replace(",", " ").split()]
    if len(numbers) % 2:
        raise ValueError("odd number of coordinates")
    return list(zip(numbers[0::2], numbers[1::2]))


def find_image(name: str, xml: Path, images: str = "") -> Path | None:
    """The page image a file name in the XML refers to.

    Exports rarely keep the path they were made with: tried in order are the name as written
    (absolute, or beside the XML), its base name in ``images``, beside the XML and in the XML's
    parent folder (Transkribus puts the XML in ``page/`` under the images), and finally an image
    with the XML's own stem in those folders.
    """
    folders = ([Path(images)] if images else []) + [xml.parent, xml.parent.parent]
    candidates = []
    if name:
        written = Path(name.replace("file://", "")) if not name.startswith(("http:", "https:")) else None
        if written is not None:
            candidates.append(written if written.is_absolute() else xml.parent / written)
        base = Path(name.replace("\\", "/")).name
        candidates += [folder / base for folder in folders]
    candidates += [folder / f"{xml.stem}{ext}" for folder in folders for ext in IMAGE_EXTENSIONS]
    candidates += [folder / f"{xml.stem}{ext.upper()}" for folder in folders for ext in IMAGE_EXTENSIONS]
    return next((c for c in candidates if c.is_file()), None)


def save_crop(pixels: np.ndarray, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(str(target))


def page_rows(xml: Path, image_name: str, declared: tuple[float, float] | None, lines: list[Line],
              job: Job, images: str = "") -> Iterator[dict | Skip]:
    """Crop every transcribed line of one page into ``media_dir/PAGE/LINE.png``; rows and skips.

    Lines without text are skipped before the image is even opened: a partly transcribed page
    costs nothing for its empty lines. A page whose image cannot be found or read skips each of
    its transcribed lines with that reason, so the counts stay counts of lines.
    """
    todo = []
    for number, line in enumerate(lines, start=1):
        if line.text.strip():
            todo.append((number, line))
        else:
            yield Skip("no transcription", f"{xml.name} line {line.id or number}")
    if not todo:
        return
    path = find_image(image_name, xml, images)
    problem = "page image not found" if path is None else ""
    page = None
    if path is not None:
        try:
            page = open_page(path, declared)
        except InputError:
            problem = "page image unreadable"
    if page is None:
        for number, line in todo:
            yield Skip(problem, f"{xml.name} line {line.id or number} ({image_name or xml.stem})")
        return
    folder = job.media_dir / safe_name(xml.stem)
    for number, line in todo:
        name = f"{line.id or number}"
        try:
            pixels = crop_line(page, line.points)
        except ValueError as error:
            yield Skip(str(error).split(" (")[0], f"{xml.name} line {name}")
            continue
        target = folder / f"{number:04d}_{safe_name(name)}.png"
        save_crop(pixels, target)
        yield {"path": str(target), "text": line.text, "page": xml.stem, "line": name, GROUP: str(xml)}
