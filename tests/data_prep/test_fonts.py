"""Font discovery and the coverage check: a font that would draw a label wrongly is dropped.

The rules are tested on made-up fonts (a real font's glyphs, rearranged), and on real files: the
font that ships inside Pillow (so no installed font is needed), a broken file, and the Debian
handwriting fonts where they are installed.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import ImageFont

from data_prep.fonts import (
    FONT_ROOTS,
    FontRejected,
    check_glyphs,
    font_files,
    inspect_font,
    partial_coverage,
    survey_fonts,
)
from data_prep.line_texts import LINE_CHARS

_PILLOW = ImageFont.load_default(48)


def pillow_font_file(folder: Path, name: str = "Aileron.ttf") -> Path:
    """The FreeType font bundled with Pillow, written out as a file."""
    path = Path(folder) / name
    path.write_bytes(_PILLOW.path.getvalue())
    return path


def _glyph(char: str):
    mask = _PILLOW.getmask(char)
    return mask.size, bytes(mask)


def _height(char: str) -> float:
    top, bottom = _PILLOW.getbbox(char, anchor="ls")[1::2]
    return float(bottom - top)


def test_a_complete_font_passes():
    assert check_glyphs(_glyph, LINE_CHARS, _height) is None


def test_capitals_only_font_is_dropped():
    def capitals(char):
        return _glyph(char.upper())

    assert "capitals only" in check_glyphs(capitals, LINE_CHARS, lambda c: _height(c.upper()))


def test_small_capitals_are_dropped():
    # distinct lowercase glyphs, but ascender letters no taller than x-height letters
    reason = check_glyphs(_glyph, LINE_CHARS, lambda c: _height("x") if c.islower() else _height(c))
    assert reason is not None and "small capitals" in reason


def test_missing_glyphs_are_named():
    notdef = _glyph("\ue000")

    def holes(char):
        return notdef if char in "@#q" else _glyph(char)

    reason = check_glyphs(holes, LINE_CHARS, _height)
    assert reason is not None and reason.startswith("no glyph for 3 character(s)")
    assert all(c in reason for c in "@#q")


def test_blank_glyphs_count_as_missing():
    def blank(char):
        return _glyph(" ") if char == "%" else _glyph(char)

    assert "no glyph for 1 character(s): '%'" in check_glyphs(blank, LINE_CHARS, _height)


def test_a_space_with_ink_is_dropped():
    def ruled(char):
        return _glyph("_") if char == " " else _glyph(char)

    assert "space draws ink" in check_glyphs(ruled, LINE_CHARS, _height)


def test_a_few_shared_glyphs_are_tolerated_many_are_not():
    def alike(pairs):
        return lambda char: _glyph(pairs.get(char, char))

    assert check_glyphs(alike({"l": "I", "0": "O"}), LINE_CHARS, _height) is None
    reason = check_glyphs(alike({"1": "I", "0": "O", ";": ":", "*": "+", "=": "-"}), LINE_CHARS, _height)
    assert reason is not None and "share one glyph" in reason


def test_partial_coverage_keeps_near_misses_with_what_they_can_draw():
    notdef = _glyph("\ue000")

    def holes(char):
        return notdef if char in "@#" else _glyph(char)

    assert partial_coverage(holes, LINE_CHARS, _height) == ("#@", False)  # in the alphabet's order

    def capitals_without_at(char):
        return notdef if char == "@" else _glyph(char.upper())

    assert partial_coverage(capitals_without_at, LINE_CHARS, lambda c: _height(c.upper())) == ("@", True)
    # a missing letter or digit, or more than a few symbols, and the font is no use
    assert partial_coverage(lambda c: notdef if c == "q" else _glyph(c), LINE_CHARS, _height) is None
    assert partial_coverage(lambda c: notdef if c in "@#$%&*+=/()!?" + '"' else _glyph(c), LINE_CHARS, _height) is None
    # whatever else is wrong still is
    assert partial_coverage(lambda c: _glyph("_") if c == " " else _glyph(c), LINE_CHARS, _height) is None


def test_a_partial_font_draws_only_what_it_has():
    from data_prep.fonts import FontInfo

    capitals = FontInfo("x.ttf", "x", "X", "", 0.5, 0.1, "f", capitals_only=True, missing="@")
    assert capitals.partial and capitals.can_draw("MEET AT 10:30, ROOM 4!")
    assert not capitals.can_draw("Meet") and not capitals.can_draw("A@B")
    full = FontInfo("y.ttf", "y", "Y", "", 0.5, 0.1, "g")
    assert not full.partial and full.can_draw("any text @ all")


def test_inspect_measures_a_real_font(tmp_path):
    info = inspect_font(pillow_font_file(tmp_path), LINE_CHARS)
    assert info.key == "Aileron" and info.family == "Aileron"
    assert 0.3 < info.x_height < 0.7  # of the em
    assert 0.02 < info.stroke < 0.2


def test_a_broken_file_is_rejected(tmp_path):
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"not a font at all" * 10)
    with pytest.raises(FontRejected, match="cannot be read"):
        inspect_font(bad, LINE_CHARS)


def test_survey_keeps_one_of_duplicates_and_reports_each_drop(tmp_path):
    good = pillow_font_file(tmp_path, "A.ttf")
    copy = pillow_font_file(tmp_path, "B.ttf")
    bad = tmp_path / "C.ttf"
    bad.write_bytes(b"\0" * 100)
    (tmp_path / "notes.txt").write_text("not a font")
    files = font_files([tmp_path])
    assert files == [good, copy, bad]
    survey = survey_fonts(LINE_CHARS, files)
    assert [f.key for f in survey.kept] == ["A"]
    reasons = dict(survey.dropped)
    assert reasons[str(copy)].startswith("duplicate of A")
    assert "cannot be read" in reasons[str(bad)]
    report = survey.report()
    assert "usable: 1 fonts" in report and "B.ttf" in report and "C.ttf" in report


def test_an_alphabet_the_font_lacks_drops_it(tmp_path):
    survey = survey_fonts(LINE_CHARS + "\u0416", [pillow_font_file(tmp_path)])  # Cyrillic Zhe
    assert not survey.kept and "no glyph" in survey.dropped[0][1]


def _installed(name: str) -> Path | None:
    hits = [p for root in FONT_ROOTS for p in Path(root).rglob(name)] if Path(FONT_ROOTS[1]).is_dir() else []
    return hits[0] if hits else None


@pytest.mark.parametrize("name, missing", [("TomsonTalks.ttf", '"()&$#+=@'), ("Humor-Sans.ttf", ""),
                                           ("BecauseWeBuild-Regular.otf", "")])
def test_installed_capitals_fonts_are_kept_when_partial_fonts_are_asked_for(name, missing):
    path = _installed(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/install_synth_tools installs it)")
    info = inspect_font(path, LINE_CHARS, partial=True)
    assert info.capitals_only and info.missing == missing
    assert 0.25 < info.x_height < 0.7  # sized like the other fonts' x-height, from its capitals


@pytest.mark.parametrize("name, verdict", [("TomsonTalks.ttf", "no glyph"), ("Humor-Sans.ttf", "capitals only"),
                                           ("BecauseWeBuild-Regular.otf", "capitals only"),
                                           ("Ecolier-lignes-court.ttf", "space draws ink"), ("Kristi.ttf", None)])
def test_installed_handwriting_fonts(name, verdict):
    path = _installed(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/install_synth_tools installs it)")
    if verdict is None:
        assert inspect_font(path, LINE_CHARS).key == path.stem
    else:
        with pytest.raises(FontRejected, match=verdict):
            inspect_font(path, LINE_CHARS)
