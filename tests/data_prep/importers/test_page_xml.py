"""PAGE XML import: line crops from the page image, text from TextEquiv or its words, skips."""
from __future__ import annotations

import numpy as np
import pytest
from _pages import LINES, PAPER_GRAY, STRAY, draw_page
from PIL import Image

from data_prep.__main__ import main
from data_prep.importers.page_xml import read_page
from data_prep.manifest import read_manifest

NS = {2013: "http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15",
      2019: "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"}


def _equiv(text: str) -> str:
    return f"<TextEquiv><Unicode>{text}</Unicode></TextEquiv>" if text else ""


def page_xml(image: str, version: int = 2019, scale: float = 1.0, words: bool = False) -> str:
    lines = []
    for i, (polygon, text) in enumerate(LINES):
        points = " ".join(f"{round(x * scale)},{round(y * scale)}" for x, y in polygon)
        if words and text:
            body = "".join(f'<Word id="w{i}{j}"><Coords points="0,0 1,0 1,1"/>{_equiv(w)}</Word>'
                           for j, w in enumerate(text.split()))
        else:
            body = _equiv(text)
        lines.append(f'<TextLine id="l{i}"><Coords points="{points}"/><Baseline points="0,0 1,1"/>{body}</TextLine>')
    w, h = round(400 * scale), round(300 * scale)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<PcGts xmlns="{NS[version]}"><Metadata><Creator>test</Creator>'
            f'</Metadata><Page imageFilename="{image}" imageWidth="{w}" imageHeight="{h}">'
            f'<TextRegion id="r0"><Coords points="0,0 {w},0 {w},{h} 0,{h}"/>{"".join(lines)}'
            f'<TextEquiv><Unicode>region text is not a line</Unicode></TextEquiv></TextRegion></Page></PcGts>')


@pytest.mark.parametrize("version", [2013, 2019])
def test_read_page(tmp_path, version):
    (tmp_path / "p.xml").write_text(page_xml("p.png", version))
    image, declared, lines = read_page(tmp_path / "p.xml")
    assert image == "p.png" and declared == (400, 300)
    assert [line.text for line in lines] == [text for _, text in LINES]
    assert lines[1].points == [tuple(map(float, p)) for p in LINES[1][0]]


def test_words_fallback_and_lowest_index(tmp_path):
    (tmp_path / "p.xml").write_text(page_xml("p.png", words=True))
    assert [line.text for line in read_page(tmp_path / "p.xml")[2]] == ["First line", "Second line", ""]
    xml = page_xml("p.png").replace(_equiv("First line"), '<TextEquiv index="2"><Unicode>second choice</Unicode>'
                                    '</TextEquiv><TextEquiv index="1"><Unicode>first choice</Unicode></TextEquiv>')
    (tmp_path / "q.xml").write_text(xml)
    assert read_page(tmp_path / "q.xml")[2][0].text == "first choice"


def test_page_import_transkribus_layout(tmp_path, capsys):
    doc = tmp_path / "export" / "doc"
    draw_page(doc / "0001.png")
    draw_page(doc / "0002.png", rgb=True)
    (doc / "page").mkdir()
    (doc / "page" / "0001.xml").write_text(page_xml("0001.png", 2013))
    (doc / "page" / "0002.xml").write_text(page_xml("0002.png", 2019, scale=2.0))  # coordinates of a larger master
    (doc / "page" / "0003.xml").write_text(page_xml("0003.png"))  # image missing
    (doc / "page" / "metadata.xml").write_text("<TrpMetadata><title>t</title></TrpMetadata>")
    (doc / "page" / "broken.xml").write_text("<PcGts><Page")
    out = tmp_path / "hand" / "train.tsv"
    dev = tmp_path / "hand" / "dev.tsv"
    assert main(["import", "page", str(tmp_path / "export"), "--out", str(out), "--no-progress"]) == 0
    entries = read_manifest(out)
    assert [(e.extra["page"], e.text) for e in entries] == [("0001", "First line"), ("0001", "Second line"),
                                                          ("0002", "First line"), ("0002", "Second line")]
    crop = np.asarray(Image.open(entries[1].path))
    assert crop.shape == (71, 361)
    assert (crop[STRAY[1] - 100: STRAY[3] - 100, STRAY[0] - 20: STRAY[2] - 20] == PAPER_GRAY).all()
    colour = np.asarray(Image.open(entries[3].path))
    assert colour.shape == (71, 361, 3)  # the 2x coordinates were scaled to the image at hand
    assert all(e.path.startswith(str(tmp_path / "hand" / "train")) for e in entries)
    err = capsys.readouterr().err
    assert "no transcription" in err and "page image not found" in err
    assert "not a PAGE file" in err and "not well-formed XML" in err
    # the same with a dev split: whole pages go to dev (two pages: split by line)
    assert main(["import", "page", str(tmp_path / "export"), "--out", str(out), "--dev-out", str(dev),
                 "--dev-fraction", "0.25", "--no-progress"]) == 0
    assert len(read_manifest(out)) == 3 and len(read_manifest(dev)) == 1
