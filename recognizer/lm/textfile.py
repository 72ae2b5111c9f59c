"""Text files of the LM folder, plain or gzip-compressed.

ARPA models are large and compress about fourfold (KenLM and SRILM read ``.arpa.gz`` too), and a
bundle's ``lm/`` folder shares the bundle's size budget with the weights.
"""
from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from data_prep.errors import InputError


class _GzipText(io.TextIOWrapper):
    """UTF-8 text over a gzip stream, closing the file under the stream too. Written streams carry
    no file name or time stamp, so the same text always gives the same bytes."""

    def __init__(self, raw, mode: str):
        self._raw = raw
        super().__init__(gzip.GzipFile(filename="", mode=mode + "b", fileobj=raw, mtime=0), encoding="utf-8")

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw.close()


def is_compressed(path: str | os.PathLike) -> bool:
    return str(path).endswith(".gz")


def open_text(path: str | os.PathLike, mode: str = "r", compressed: bool | None = None) -> io.TextIOBase:
    """``path`` as UTF-8 text for reading (``"r"``) or writing (``"w"``), through gzip when
    ``compressed`` (default: when the name ends in ``.gz``)."""
    if not (is_compressed(path) if compressed is None else compressed):
        return open(path, mode, encoding="utf-8")
    raw = open(path, mode + "b")
    try:
        return _GzipText(raw, mode)
    except BaseException:
        raw.close()
        raise


@contextmanager
def reading(path: str | os.PathLike, what: str) -> Iterator[io.TextIOBase]:
    """``path`` opened for reading (see :func:`open_text`); every way it cannot be read, in the
    body too (bad bytes show while reading), becomes a one-line InputError naming the file."""
    path = str(path)
    try:
        with open_text(path) as handle:
            yield handle
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except IsADirectoryError:
        raise InputError(path, f"is a folder, not {what}") from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"not UTF-8 text ({error.reason})") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise InputError(path, f"not a readable gzip file ({error})") from None
