"""ALTO XML (v2 to v4; OCR engines, Transkribus and eScriptorium exports, library digitisations).

Every ``TextLine`` with text becomes one line image, cut by its ``Shape/Polygon`` when it has one,
else by its box (``HPOS``, ``VPOS``, ``WIDTH``, ``HEIGHT``). The text is its ``String@CONTENT``\\ s
joined by spaces, a ``HYP`` (hyphen) joined to the word before it. Coordinates in ``mm10`` or
``inch1200`` units are mapped to pixels through the page's declared ``WIDTH``/``HEIGHT`` and the
image's size. SRC is one XML file or a folder searched for ``*.xml``; the image comes from
``sourceImageInformation/fileName`` or ``--images``. The page is the split unit.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.errors import InputError
from data_prep.importers.common import ImportConfig, Job, Skip, iter_files
from data_prep.importers.line_crops import Line, page_rows, parse_points

HELP = "ALTO XML pages (TextLine polygons or boxes cut from the page image, String CONTENT text)"
UNIT = "page"


@dataclass
class Config(ImportConfig):
    images: str = field(default="", metadata={"help": "folder of the page images (default: found from the XML)"})


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ET.Element, *path: str) -> ET.Element | None:
    for name in path:
        element = next((c for c in element if _local(c.tag) == name), None)
        if element is None:
            return None
    return element


def _line_text(line: ET.Element) -> str:
    words: list[str] = []
    for child in line:
        tag = _local(child.tag)
        content = child.get("CONTENT", "")
        if tag == "String" and content:
            words.append(content)
        elif tag == "HYP" and words:
            words[-1] += content
    return " ".join(words)


def _polygon(line: ET.Element) -> list[tuple[float, float]]:
    polygon = _find(line, "Shape", "Polygon")
    if polygon is not None and polygon.get("POINTS"):
        return parse_points(polygon.get("POINTS", ""))
    x, y = float(line.get("HPOS", 0)), float(line.get("VPOS", 0))
    w, h = float(line.get("WIDTH", 0)), float(line.get("HEIGHT", 0))
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def read_alto(xml: Path) -> tuple[str, tuple[float, float] | None, list[Line]]:
    """(image file name, declared page (width, height), lines) of one ALTO file; raises ValueError."""
    root = ET.parse(xml).getroot()
    if _local(root.tag) != "alto":
        raise ValueError(f"not an ALTO file (root element {_local(root.tag)})")
    name_element = _find(root, "Description", "sourceImageInformation", "fileName")
    unit_element = _find(root, "Description", "MeasurementUnit")
    unit = (unit_element.text or "pixel").strip() if unit_element is not None else "pixel"
    page = next((e for e in root.iter() if _local(e.tag) == "Page"), None)
    if page is None:
        raise ValueError("no Page element")
    try:
        declared = (float(page.get("WIDTH", 0)), float(page.get("HEIGHT", 0)))
    except ValueError:
        declared = (0.0, 0.0)
    if unit != "pixel" and not all(declared):
        raise ValueError(f"coordinates in {unit} but the Page has no WIDTH and HEIGHT to scale them")
    lines = []
    for element in page.iter():
        if _local(element.tag) != "TextLine":
            continue
        try:
            points = _polygon(element)
        except ValueError:
            points = []
        lines.append(Line(element.get("ID", ""), points, _line_text(element)))
    image = (name_element.text or "").strip() if name_element is not None else ""
    return image, declared if all(declared) else None, lines


def list_items(src: Path, config: Config) -> list[Path]:
    files = iter_files(src, (".xml", ".alto"))
    if not files:
        raise InputError(src, "no .xml files found")
    return files


def convert(xml: Path, job: Job) -> Iterator[dict | Skip]:
    config: Config = job.config  # type: ignore[assignment]
    try:
        image, declared, lines = read_alto(xml)
    except ET.ParseError as error:
        raise Skip("not well-formed XML", f"{xml} ({error})") from None
    except ValueError as error:
        raise Skip("not an ALTO file", f"{xml} ({error})") from None
    yield from page_rows(xml, image, declared, lines, job, config.images)
