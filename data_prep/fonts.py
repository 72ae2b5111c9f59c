"""Handwriting-style fonts for synthetic text lines: where they are, and which of them are usable.

A font is usable for an alphabet when it would never draw a label wrongly: every character must
render ink that differs from the font's missing-glyph box (``.notdef``), the space must render
none (a font that draws ruling lines in every cell has no clean space), no two characters may share
one glyph, and the lowercase letters must be real lowercase: not the capitals again (capitals-only
fonts) and not small capitals, i.e. ascender letters (b d h k l t) must stand clearly taller than
x-height letters (a c e m n o ...). A lowercase label on a capitals image teaches the model that
case is a guess. A font file that shows the same glyphs as one already kept is a duplicate.

Where a survey is asked for *partial* fonts, two kinds of near misses are kept, marked with what
they may draw: a font that lacks a few symbols (no letter or digit) draws the texts without them,
and a capitals-only font draws texts written in capitals. Each is another hand, and hands are
what a handwriting model is short of.

Discovery is by folder, not by scanning every installed font: a system also has print fonts
(DejaVu, ...) that are not handwriting, so only the folders of the Debian handwriting packages
(:data:`HANDWRITING_FOLDERS`, installed by ``scripts/install_synth_tools``) and folders the user
names are searched.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ImageFont

FONT_ROOTS = ("/usr/share/fonts/opentype", "/usr/share/fonts/truetype")
# Debian packages (fonts-<name> mostly) whose fonts imitate handwriting, by the folder they install into
HANDWRITING_FOLDERS = ("breip", "bwht", "comic-neue", "dancingscript", "ecolier-court", "ecolier-lignes-court",
                       "femkeklaver", "fifthhorseman", "havana", "humor-sans", "kaushanscript", "klee", "kristi",
                       "leckerli-one", "lobster", "rufscript", "seto", "sjfonts", "tomsontalks", "yusei-magic")
FONT_SUFFIXES = (".ttf", ".otf")
CHECK_SIZE = 48  # pixels per em for the coverage check
# characters that no Latin handwriting font has: they show what a missing glyph looks like
MISSING_PROBES = ("\ue000", "\U0010fffd", "\u0378", "\uffff")
ASCENDERS, X_LETTERS = "bdhklt", "acemnorsuvwxz"
MAX_SHARED = 3  # glyphs two characters may share (l/I, O/0 are often alike in handwriting)
MIN_ASCENDER_RATIO = 1.15  # ascender letters' mean height over x-height letters' (small caps ~1.0)
MAX_MISSING = 12  # symbols a partial font may lack (letters and digits it must have)
CAPITALS = "HXEZNK"  # flat-topped capitals: their height is a capitals-only font's cap height
# x-height over cap height, to size a capitals-only font like the others (median 0.68 in the full fonts)
X_TO_CAP = 0.7

Glyph = tuple[tuple[int, int], bytes]  # (size, pixels): equal glyphs compare equal


class FontRejected(ValueError):
    """Why a font cannot be used; ``str()`` is the one-line reason."""


@dataclass(frozen=True)
class FontInfo:
    """A usable font and what rendering needs to know to size it consistently with the others."""

    path: str
    key: str  # the file's stem: unique, stable, what --holdout patterns match
    family: str
    style: str
    x_height: float  # of the em: pixels = x_height * size (so lines can be sized by x-height)
    stroke: float  # typical stroke width, of the em
    fingerprint: str  # hash of the alphabet's glyphs (duplicates share it)
    capitals_only: bool = False  # draws only texts in capitals (a partial font)
    missing: str = ""  # characters of the alphabet it has no glyph for (a partial font)

    @property
    def partial(self) -> bool:
        return self.capitals_only or bool(self.missing)

    @property
    def limits(self) -> str:
        """What a partial font cannot draw, in words ("" for a full font)."""
        return ", ".join(["capitals only"] * self.capitals_only + [f"lacks {self.missing!r}"] * bool(self.missing))

    def can_draw(self, text: str) -> bool:
        """Whether every character of ``text`` has its own glyph in this font."""
        return not any(c in self.missing or (self.capitals_only and c.islower()) for c in text)


def font_files(folders: Iterable[str | Path] | None = None) -> list[Path]:
    """Font files under ``folders`` (default: the handwriting packages' folders), sorted, recursive."""
    if folders is None:
        folders = [Path(root) / name for root in FONT_ROOTS for name in HANDWRITING_FOLDERS]
    files = {p for folder in map(Path, folders) if folder.is_dir()
             for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file()}
    return sorted(files)


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> Glyph:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def _ink(glyph: Glyph) -> np.ndarray:
    (w, h), pixels = glyph
    return np.frombuffer(pixels, dtype=np.uint8).reshape(h, w) if w and h else np.zeros((0, 0), np.uint8)


def stroke_width(inks: Iterable[np.ndarray]) -> float:
    """Typical stroke width in pixels of boolean ink masks: ink area over half its outline length
    (a stroke of width w and length L covers wL and is outlined by about 2L), summed over masks."""
    area = outline = 0
    for mask in inks:
        ink = np.pad(mask, 1)
        inner = ink[1:-1, 1:-1] & ink[:-2, 1:-1] & ink[2:, 1:-1] & ink[1:-1, :-2] & ink[1:-1, 2:]
        area += int(ink.sum())
        outline += int(ink[1:-1, 1:-1].sum() - inner.sum())
    return 2.0 * area / max(outline, 1)


def _stroke_width(glyphs: Sequence[Glyph]) -> float:
    return stroke_width(_ink(glyph) > 127 for glyph in glyphs)


def absent_chars(render: Callable[[str], Glyph], chars: str) -> str:
    """The characters of ``chars`` (space aside) that draw the missing-glyph box or no ink."""
    missing = {render(probe) for probe in MISSING_PROBES}
    return "".join(c for c in chars if c != " " and (render(c) in missing or _ink(render(c)).max(initial=0) <= 127))


def check_glyphs(render: Callable[[str], Glyph], chars: str, heights: Callable[[str], float]) -> str | None:
    """The reason a font fails for ``chars``, or None when it is usable.

    ``render(char)`` gives a glyph bitmap and ``heights(char)`` its ink height; they are passed in so
    the rules can be tested on made-up fonts.
    """
    space = render(" ")
    if space[0][0] and space[0][1] and _ink(space).max() > 127:
        return "the space draws ink (ruled or boxed cells)"
    absent = absent_chars(render, chars)
    if absent:
        return f"no glyph for {len(absent)} character(s): {''.join(absent[:40])!r}"
    letters = [c for c in chars if c.islower() and c.upper() in chars]
    same_case = [c for c in letters if render(c) == render(c.upper())]
    if len(same_case) > len(letters) // 4:
        return f"capitals only: {len(same_case)} lowercase letters are drawn as capitals"
    asc = [heights(c) for c in ASCENDERS if c in chars]
    low = [heights(c) for c in X_LETTERS if c in chars]
    if asc and low and np.mean(asc) < MIN_ASCENDER_RATIO * np.mean(low):
        return (f"capitals only: lowercase letters are small capitals (ascender letters "
                f"{np.mean(asc) / np.mean(low):.2f}x the x-height letters)")
    seen: dict[Glyph, str] = {}
    shared = []
    for c in chars:
        if c != " ":
            glyph = render(c)
            if glyph in seen:
                shared.append(seen[glyph] + c)
            seen.setdefault(glyph, c)
    if len(shared) > MAX_SHARED:
        return f"characters share one glyph: {', '.join(shared[:10])}"
    return None


def partial_coverage(render: Callable[[str], Glyph], chars: str,
                     heights: Callable[[str], float]) -> tuple[str, bool] | None:
    """For a font that fails :func:`check_glyphs`: (the symbols it lacks, whether it is capitals-only)
    when it passes without them (and without lowercase, for capitals only), else None."""
    absent = absent_chars(render, chars)
    if len(absent) > MAX_MISSING or any(c.isalnum() for c in absent):
        return None
    kept = "".join(c for c in chars if c not in absent)
    if check_glyphs(render, kept, heights) is None:
        return absent, False
    if check_glyphs(render, "".join(c for c in kept if not c.islower()), heights) is None:
        return absent, True
    return None


def inspect_font(path: str | Path, chars: str, partial: bool = False) -> FontInfo:
    """Check one font file for ``chars``; raises :class:`FontRejected` with the reason.

    With ``partial``, a font that lacks a few symbols or draws only capitals is kept, marked so.
    """
    path = Path(path)
    try:
        font = ImageFont.truetype(str(path), CHECK_SIZE)
        family, style = font.getname()
    except OSError as error:
        raise FontRejected(f"cannot be read ({error})") from None
    cache: dict[str, Glyph] = {}

    def render(char: str) -> Glyph:
        if char not in cache:
            cache[char] = _glyph(font, char)
        return cache[char]

    def height(char: str) -> float:
        top, bottom = font.getbbox(char, anchor="ls")[1::2]
        return float(bottom - top)

    problem = check_glyphs(render, chars, height)
    missing, capitals_only = "", False
    if problem and partial and (coverage := partial_coverage(render, chars, height)) is not None:
        (missing, capitals_only), problem = coverage, None
    if problem:
        raise FontRejected(problem)
    drawn = [c for c in chars if c not in missing and not (capitals_only and c.islower())]
    if capitals_only:  # its lowercase are capitals again: size it by its capitals
        x_height = X_TO_CAP * float(np.mean([height(c) for c in CAPITALS if c in chars])) / CHECK_SIZE
    else:
        x_height = float(np.mean([height(c) for c in X_LETTERS if c in chars] or [height("x")])) / CHECK_SIZE
    stroke = _stroke_width([render(c) for c in drawn if c.isalnum()]) / CHECK_SIZE
    digest = hashlib.sha256(b"".join(render(c)[1] for c in chars)).hexdigest()[:16]
    return FontInfo(str(path), path.stem, family or path.stem, style or "", round(x_height, 4), round(stroke, 4),
                    digest, capitals_only, missing)


@dataclass
class FontSurvey:
    """The fonts kept, and every other font file with the reason it was dropped."""

    kept: list[FontInfo]
    dropped: list[tuple[str, str]]  # (path, reason)

    def report(self) -> str:
        lines = [f"usable: {len(self.kept)} fonts"]
        lines += [f"  {f.key:28s} {f.family} {f.style} (x-height {f.x_height:.2f} em, stroke {f.stroke:.3f} em)"
                  + (f" {f.limits}" if f.partial else "")
                  for f in self.kept]
        lines.append(f"dropped: {len(self.dropped)}")
        lines += [f"  {Path(path).name:28s} {reason}" for path, reason in self.dropped]
        return "\n".join(lines)


def survey_fonts(chars: str, files: Iterable[str | Path] | None = None, partial: bool = False) -> FontSurvey:
    """Check ``files`` (default: :func:`font_files`) in order; later duplicates of a kept font are dropped.

    ``partial`` keeps fonts that lack a few symbols or draw only capitals (:func:`inspect_font`).
    """
    kept: list[FontInfo] = []
    dropped: list[tuple[str, str]] = []
    for path in (font_files() if files is None else files):
        try:
            info = inspect_font(path, chars, partial)
        except FontRejected as reason:
            dropped.append((str(path), str(reason)))
            continue
        twin = next((k for k in kept if k.fingerprint == info.fingerprint or k.key == info.key
                     or (k.family, k.style) == (info.family, info.style)), None)
        if twin is not None:  # e.g. two releases of one font, or one file installed twice
            dropped.append((str(path), f"duplicate of {twin.key} ({twin.family} {twin.style})"))
        else:
            kept.append(info)
    return FontSurvey(kept, dropped)
