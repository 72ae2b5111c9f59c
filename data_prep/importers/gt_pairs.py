"""Line images with ``.gt.txt`` transcripts beside them, as ocropy, kraken and Calamari train on.

``010001.bin.png`` + ``010001.gt.txt`` (ocropy's binarised lines), ``line.png`` + ``line.gt.txt``
(kraken, Calamari), any image format. For ``NAME.gt.txt`` the image is the first of ``NAME.EXT``
(every image extension), then ``NAME.bin.EXT``, ``NAME.nrm.EXT`` and ``NAME.raw.EXT``, so when
ocropy left several versions the plain or binarised one is taken; ``--image-suffix .nrm.png``
chooses. SRC is a folder searched below; each folder is a split unit.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from data_prep.errors import InputError
from data_prep.image import IMAGE_EXTENSIONS
from data_prep.importers.common import (
    GROUP,
    ImportConfig,
    Job,
    Skip,
    image_row,
    iter_files,
)

HELP = "line images with .gt.txt transcripts beside them (ocropy, kraken, Calamari)"
UNIT = "line"
GT = ".gt.txt"
VARIANTS = ("", ".bin", ".nrm", ".raw")


@dataclass
class Config(ImportConfig):
    image_suffix: str = field(default="", metadata={
        "help": "take only images named NAME + this (e.g. .nrm.png); default: the first found"})


def list_items(src: Path, config: Config) -> list[Path]:
    if not src.is_dir():
        raise InputError(src, "expected a folder of images and .gt.txt files")
    return iter_files(src, (GT,))


def image_for(gt: Path, suffix: str = "") -> Path | None:
    base = gt.name[: -len(GT)]
    if suffix:
        names = [base + suffix]
    else:
        exts = list(IMAGE_EXTENSIONS) + [e.upper() for e in IMAGE_EXTENSIONS]
        names = [f"{base}{variant}{ext}" for variant in VARIANTS for ext in exts]
    return next((gt.parent / n for n in names if (gt.parent / n).is_file()), None)


def convert(gt: Path, job: Job) -> Iterator[dict]:
    config: Config = job.config  # type: ignore[assignment]
    image = image_for(gt, config.image_suffix)
    if image is None:
        raise Skip("no image for the transcript", gt)
    try:
        text = gt.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise Skip("transcript not UTF-8", gt) from None
    yield image_row(image, text, **{GROUP: str(gt.parent)})
