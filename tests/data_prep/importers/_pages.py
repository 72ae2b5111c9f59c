"""A fake scanned page for the PAGE and ALTO tests: strokes on tinted paper, with a stray
descender of the line above reaching into the second line's box but not its polygon."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

PAPER_GRAY = 190
PAPER_RGB = (200, 190, 170)
INK = 30
SIZE = (400, 300)
# (polygon, text) per line, in image pixels; the second polygon's top edge slants down to the left
LINES = [
    ([(20, 20), (380, 20), (380, 80), (20, 80)], "First line"),
    ([(20, 110), (380, 100), (380, 160), (20, 170)], "Second line"),
    ([(20, 200), (380, 200), (380, 260), (20, 260)], ""),  # not transcribed
]
STRAY = (25, 100, 35, 106)  # inside line 2's box, above its polygon's top edge


def draw_page(path: Path, rgb: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    paper, ink = (PAPER_RGB, (INK,) * 3) if rgb else (PAPER_GRAY, INK)
    img = Image.new("RGB" if rgb else "L", SIZE, paper)
    draw = ImageDraw.Draw(img)
    for polygon, _ in LINES:
        top, bottom = polygon[0][1], polygon[-1][1]
        for x in range(40, 360, 24):
            draw.line([(x, top + 15), (x + 10, bottom - 15)], fill=ink, width=3)
    draw.rectangle(STRAY, fill=ink)
    img.save(path)
    return path
