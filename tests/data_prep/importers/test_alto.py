"""ALTO import: String CONTENT with hyphens, polygons or boxes, mm10 units, missing images."""
from __future__ import annotations

import numpy as np
from _pages import LINES, PAPER_GRAY, STRAY, draw_page
from PIL import Image

from data_prep.__main__ import main
from data_prep.importers.alto import read_alto
from data_prep.manifest import read_manifest

NS = "http://www.loc.gov/standards/alto/ns-v4#"


def alto_xml(image: str, unit: str = "pixel", scale: float = 1.0, polygons: bool = True) -> str:
    lines = []
    for i, (polygon, text) in enumerate(LINES):
        xs, ys = [x * scale for x, _ in polygon], [y * scale for _, y in polygon]
        box = f'HPOS="{min(xs)}" VPOS="{min(ys)}" WIDTH="{max(xs) - min(xs)}" HEIGHT="{max(ys) - min(ys)}"'
        shape = ('<Shape><Polygon POINTS="' + " ".join(f"{x},{y}" for x, y in zip(xs, ys)) + '"/></Shape>'
                 if polygons else "")
        words = text.split()
        strings = "<SP/>".join(f'<String CONTENT="{w}"/>' for w in words)
        if i == 0 and words:  # a line ending in a hyphen: HYP joins the word before it
            strings = '<String CONTENT="First"/><SP/><String CONTENT="li"/><HYP CONTENT="-"/>'
        lines.append(f'<TextLine ID="tl{i}" {box}>{shape}{strings}</TextLine>')
    return (f'<alto xmlns="{NS}"><Description><MeasurementUnit>{unit}</MeasurementUnit><sourceImageInformation>'
            f'<fileName>/old/machine/{image}</fileName></sourceImageInformation></Description><Layout>'
            f'<Page ID="p1" WIDTH="{400 * scale}" HEIGHT="{300 * scale}"><PrintSpace><TextBlock ID="b1">'
            f'{"".join(lines)}</TextBlock></PrintSpace></Page></Layout></alto>')


def test_read_alto_text_and_hyphen(tmp_path):
    (tmp_path / "a.xml").write_text(alto_xml("a.png"))
    image, declared, lines = read_alto(tmp_path / "a.xml")
    assert image == "/old/machine/a.png" and declared == (400, 300)
    assert [line.text for line in lines] == ["First li-", "Second line", ""]


def test_alto_import_polygons_boxes_and_units(tmp_path, capsys):
    draw_page(tmp_path / "scans" / "a.png")
    draw_page(tmp_path / "scans" / "b.png")
    (tmp_path / "scans" / "a.xml").write_text(alto_xml("a.png"))
    (tmp_path / "scans" / "b.xml").write_text(alto_xml("b.png", unit="mm10", scale=0.5, polygons=False))
    (tmp_path / "scans" / "c.xml").write_text(alto_xml("c.png"))
    (tmp_path / "scans" / "d.xml").write_text(alto_xml("d.png", unit="mm10").replace(' WIDTH="400.0"', ""))
    out = tmp_path / "alto.tsv"
    assert main(["import", "alto", str(tmp_path / "scans"), "--out", str(out), "--no-progress"]) == 0
    entries = read_manifest(out)
    assert [(e.extra["page"], e.text) for e in entries] == [("a", "First li-"), ("a", "Second line"),
                                                          ("b", "First li-"), ("b", "Second line")]
    polygon_crop = np.asarray(Image.open(entries[1].path))
    assert (polygon_crop[STRAY[1] - 100: STRAY[3] - 100, STRAY[0] - 20: STRAY[2] - 20] == PAPER_GRAY).all()
    box_crop = np.asarray(Image.open(entries[3].path))  # mm10 at half scale -> same pixels; a box keeps the stray
    assert box_crop.shape == polygon_crop.shape
    assert box_crop[STRAY[1] - 100: STRAY[3] - 100, STRAY[0] - 20: STRAY[2] - 20].max() < 100
    err = capsys.readouterr().err
    assert "page image not found" in err and "not an ALTO file" in err and "no transcription" in err
