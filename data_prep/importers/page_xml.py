"""PAGE XML (PRImA, 2010 to 2019 schemas; Transkribus, eScriptorium, OCR-D exports).

Every ``TextLine`` with a transcription becomes one line image, cut from the page image by its
``Coords`` polygon (see :mod:`data_prep.importers.line_crops`). The text is the line's own
``TextEquiv/Unicode`` (the lowest ``index`` when there are several), else its ``Word``\\ s' joined
by spaces. SRC is one XML file or a folder searched for ``*.xml``; the page image is found from
``imageFilename`` (see :func:`~data_prep.importers.line_crops.find_image`) or in ``--images``.
The page is the split unit.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.errors import InputError
from data_prep.importers.common import ImportConfig, Job, Skip, iter_files
from data_prep.importers.line_crops import Line, page_rows, parse_points

HELP = "PAGE XML pages (TextLine Coords polygons cut from the page image, TextEquiv text)"
UNIT = "page"


@dataclass
class Config(ImportConfig):
    images: str = field(default="", metadata={"help": "folder of the page images (default: found from the XML)"})


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _equiv_text(element: ET.Element) -> str:
    """The element's own TextEquiv/Unicode text, lowest index first; '' if none."""
    equivs = _children(element, "TextEquiv")

    def index(e: ET.Element) -> float:
        try:
            return float(e.get("index", "inf"))
        except ValueError:
            return float("inf")

    for equiv in sorted(equivs, key=index):
        for unicode in _children(equiv, "Unicode"):
            if (unicode.text or "").strip():
                return unicode.text or ""
    return ""


def _points(line: ET.Element) -> list[tuple[float, float]]:
    for coords in _children(line, "Coords"):
        if coords.get("points"):
            return parse_points(coords.get("points", ""))
        return [(float(p.get("x", 0)), float(p.get("y", 0))) for p in _children(coords, "Point")]  # 2010 schema
    return []


def read_page(xml: Path) -> tuple[str, tuple[float, float] | None, list[Line]]:
    """(image file name, declared (width, height), lines) of one PAGE file; raises ValueError."""
    root = ET.parse(xml).getroot()
    if _local(root.tag) != "PcGts":
        raise ValueError(f"not a PAGE file (root element {_local(root.tag)})")
    page = next((e for e in root if _local(e.tag) == "Page"), None)
    if page is None:
        raise ValueError("no Page element")
    try:
        declared = (float(page.get("imageWidth", 0)), float(page.get("imageHeight", 0)))
    except ValueError:
        declared = None
    lines = []
    for element in page.iter():
        if _local(element.tag) != "TextLine":
            continue
        text = _equiv_text(element)
        if not text.strip():
            text = " ".join(t for t in (_equiv_text(w) for w in _children(element, "Word")) if t.strip())
        try:
            points = _points(element)
        except ValueError:
            points = []
        lines.append(Line(element.get("id", ""), points, text))
    return page.get("imageFilename", ""), declared, lines


def list_items(src: Path, config: Config) -> list[Path]:
    files = iter_files(src, (".xml",))
    if not files:
        raise InputError(src, "no .xml files found")
    return files


def convert(xml: Path, job: Job) -> Iterator[dict | Skip]:
    config: Config = job.config  # type: ignore[assignment]
    try:
        image, declared, lines = read_page(xml)
    except ET.ParseError as error:
        raise Skip("not well-formed XML", f"{xml} ({error})") from None
    except ValueError as error:
        raise Skip("not a PAGE file", f"{xml} ({error})") from None
    yield from page_rows(xml, image, declared, lines, job, config.images)
