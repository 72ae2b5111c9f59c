"""Polygon crops of text lines: box size, paper-tone outside the polygon, scaling, orientation."""
from __future__ import annotations

import numpy as np
import pytest
from _pages import LINES, PAPER_GRAY, PAPER_RGB, STRAY, draw_page
from PIL import Image

from data_prep.importers.line_crops import (
    crop_line,
    find_image,
    open_page,
    parse_points,
)


def test_crop_paints_outside_the_polygon_with_the_paper_tone(tmp_path):
    page = open_page(draw_page(tmp_path / "p.png"), None)
    crop = crop_line(page, LINES[1][0])
    assert crop.shape == (71, 361)  # the polygon's box, edges included
    stray = crop[STRAY[1] - 100: STRAY[3] - 100, STRAY[0] - 20: STRAY[2] - 20]
    assert (stray == PAPER_GRAY).all()  # the line above's descender is gone, and not painted black
    assert crop.min() <= 40  # the line's own ink is kept
    first = crop_line(page, LINES[0][0])
    assert first.shape == (61, 361) and first.min() <= 40


def test_crop_of_a_colour_page_keeps_colour_and_paper(tmp_path):
    page = open_page(draw_page(tmp_path / "p.png", rgb=True), None)
    crop = crop_line(page, LINES[1][0])
    assert crop.shape == (71, 361, 3)
    assert (crop[1, 5] == PAPER_RGB).all()


def test_declared_size_scales_coordinates(tmp_path):
    path = draw_page(tmp_path / "p.png")
    direct = crop_line(open_page(path, None), LINES[1][0])
    doubled = [(2 * x, 2 * y) for x, y in LINES[1][0]]
    scaled = crop_line(open_page(path, (800, 600)), doubled)
    assert scaled.shape == direct.shape and np.array_equal(scaled, direct)


def test_exif_turned_image_is_used_as_the_declared_size_says(tmp_path):
    path = tmp_path / "turned.jpg"
    img = Image.new("L", (100, 40), 200)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when shown
    img.save(path, exif=exif)
    assert open_page(path, (100, 40)).pixels.shape == (40, 100)  # coordinates of the stored image
    assert open_page(path, (40, 100)).pixels.shape == (100, 40)  # coordinates of the shown image


def test_bad_polygons_raise(tmp_path):
    page = open_page(draw_page(tmp_path / "p.png"), None)
    with pytest.raises(ValueError, match="fewer than 3"):
        crop_line(page, [(0, 0), (5, 5)])
    with pytest.raises(ValueError, match="outside"):
        crop_line(page, [(500, 500), (600, 500), (600, 600)])
    with pytest.raises(ValueError, match="too small"):
        crop_line(page, [(10, 10), (12, 10), (12, 12)])


def test_parse_points_both_styles():
    assert parse_points("1,2 3,4 5,6") == [(1, 2), (3, 4), (5, 6)]
    assert parse_points("1 2 3 4") == [(1, 2), (3, 4)]
    with pytest.raises(ValueError):
        parse_points("1 2 3")


def test_find_image_in_transkribus_layout(tmp_path):
    image = draw_page(tmp_path / "doc" / "0001.png")
    xml = tmp_path / "doc" / "page" / "0001.xml"
    xml.parent.mkdir()
    assert find_image("C:\\scans\\0001.png", xml) == image  # another machine's path: the base name is found
    assert find_image("", xml) == image  # no name: the XML's stem
    assert find_image("other.png", xml) == image  # a name that is nowhere: the XML's stem still is
    assert find_image("0002.png", tmp_path / "doc" / "page" / "0002.xml") is None
