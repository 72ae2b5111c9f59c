"""IAM Handwriting Database, line level: ``ascii/lines.txt`` and ``lines/a01/a01-000u/a01-000u-00.png``.

A line of ``lines.txt`` reads ``a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from``:
id, segmentation result, grey level, component count, bounding box, and the words joined by ``|``.
Lines whose segmentation is marked ``err`` hold mis-cut images and are skipped unless
``--keep-err``. The text is kept as IAM writes it (``Gaitskell , Mr.``: punctuation stands apart),
which is what IAM results are reported on. SRC is the IAM folder (holding ``ascii/lines.txt`` or
``lines.txt``, and ``lines/``) or ``lines.txt`` itself with ``--images``. The form (``a01-000u``)
is the split unit; the writer is not in ``lines.txt``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.errors import InputError
from data_prep.image import IMAGE_EXTENSIONS
from data_prep.importers.common import GROUP, ImportConfig, Job, Skip, image_row

HELP = "IAM lines (ascii/lines.txt with | between words, lines/ folder of PNGs)"
UNIT = "line"


@dataclass
class Config(ImportConfig):
    keep_err: bool = field(default=False, metadata={"help": "keep lines whose segmentation is marked err"})
    images: str = field(default="", metadata={"help": "the lines/ image folder (default: lines/ beside ascii/)"})


def _lines_file(src: Path) -> Path:
    if src.is_file():
        return src
    for candidate in (src / "ascii" / "lines.txt", src / "lines.txt"):
        if candidate.is_file():
            return candidate
    raise InputError(src, "no ascii/lines.txt or lines.txt found (expected the IAM folder)")


def _images(src: Path, lines_file: Path, config: Config) -> Path:
    if config.images:
        return Path(config.images)
    for base in (src if src.is_dir() else lines_file.parent, lines_file.parent, lines_file.parent.parent):
        if (base / "lines").is_dir():
            return base / "lines"
    return lines_file.parent / "lines"


def list_items(src: Path, config: Config) -> list[tuple[Path, int, str, Path]]:
    lines_file = _lines_file(src)
    images = _images(src, lines_file, config)
    with open(lines_file, encoding="utf-8", errors="replace") as handle:
        return [(lines_file, n, line, images) for n, line in enumerate(handle, start=1)
                if line.strip() and not line.startswith("#")]


def convert(item: tuple[Path, int, str, Path], job: Job) -> Iterator[dict]:
    lines_file, number, line, images = item
    config: Config = job.config  # type: ignore[assignment]
    parts = line.split(" ", 8)
    if len(parts) < 9 or parts[0].count("-") != 2:
        raise Skip("malformed line", f"{lines_file}:{number}")
    line_id, status, text = parts[0], parts[1], parts[8].strip()
    if status == "err" and not config.keep_err:
        raise Skip("segmentation marked err", line_id)
    writer_form, form = line_id.split("-")[0], "-".join(line_id.split("-")[:2])
    stem = images / writer_form / form / line_id
    path = next((stem.with_suffix(e) for e in IMAGE_EXTENSIONS if stem.with_suffix(e).is_file()), None)
    if path is None:
        raise Skip("missing image", f"{stem}.png")
    yield image_row(path, text.replace("|", " "), id=line_id, segmentation=status, **{GROUP: form})
