"""Manifests: the list of (path, text) pairs that every dataset becomes.

A manifest is UTF-8 TSV or CSV with a header, or JSON lines (``.jsonl``/``.json``). ``path`` is
relative to the manifest's own folder or absolute; ``text`` is the transcript. ``duration``,
``speaker`` and any other keys are kept in ``Entry.extra``. Errors name the file and the line.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from data_prep.errors import InputError

REQUIRED = ("path", "text")


@dataclass
class Entry:
    """One sample of a manifest; ``path`` is absolute, ``line`` is where it stands in the file."""

    path: str
    text: str
    line: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        value = self.extra.get("duration")
        return float(value) if value not in (None, "") else None


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "tsv"


def _rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    fmt = _format(path)
    with open(path, encoding="utf-8", newline="") as handle:
        if fmt == "jsonl":
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise InputError(path, f"not valid JSON ({error.msg})", line=number) from None
                if not isinstance(row, dict):
                    raise InputError(path, "each line must be a JSON object", line=number)
                yield number, row
            return
        # TSV cells are literal (quotes are text, as in Common Voice's files); CSV uses standard quoting
        reader = (csv.DictReader(handle) if fmt == "csv"
                  else csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        header = reader.fieldnames or []
        missing = [key for key in REQUIRED if key not in header]
        if missing:
            raise InputError(path, f"header lacks column(s) {', '.join(missing)} (has: {', '.join(header) or 'nothing'})", line=1)
        for row in reader:
            if None in row:  # more cells than header columns
                raise InputError(path, f"{len(header) + len(row[None])} cells but {len(header)} columns", line=reader.line_num)
            yield reader.line_num, row


def read_manifest(path: str | os.PathLike, check_files: bool = True) -> list[Entry]:
    """Read and validate a manifest; raise :class:`InputError` naming the first bad line.

    With ``check_files`` every referenced file must exist; use :func:`scan_manifest` to collect all
    problems instead of stopping at the first.
    """
    entries, problems = scan_manifest(path, check_files=check_files)
    if problems:
        raise problems[0]
    return entries


def scan_manifest(path: str | os.PathLike, check_files: bool = True) -> tuple[list[Entry], list[InputError]]:
    """Read a manifest, keeping the good entries and one :class:`InputError` per bad line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "manifest not found")
    root = path.resolve().parent
    entries: list[Entry] = []
    problems: list[InputError] = []
    for number, row in _rows(path):
        missing = [key for key in REQUIRED if row.get(key) is None]
        if missing:
            problems.append(InputError(path, f"missing {', '.join(missing)}", line=number))
            continue
        rel = str(row["path"]).strip()
        if not rel:
            problems.append(InputError(path, "empty path", line=number))
            continue
        full = rel if os.path.isabs(rel) else str(root / rel)
        if check_files and not os.path.isfile(full):
            problems.append(InputError(path, f"file not found: {rel}", line=number))
            continue
        extra = {key: value for key, value in row.items() if key not in REQUIRED}
        entries.append(Entry(path=full, text=str(row["text"]), line=number, extra=extra))
    return entries, problems


def write_manifest(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows (each with ``path`` and ``text``) as TSV or JSON lines, by the file's suffix.

    Paths under the manifest's folder are written relative to it, so a dataset folder can move.
    Returns the number of rows written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = path.resolve().parent
    rows = [dict(row) for row in rows]
    for row in rows:
        full = Path(row["path"]).resolve()
        row["path"] = str(full.relative_to(root)) if full.is_relative_to(root) else str(full)
    fmt = _format(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        if fmt == "jsonl":
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            keys = list(REQUIRED) + sorted({k for row in rows for k in row} - set(REQUIRED))
            if fmt == "csv":
                writer = csv.DictWriter(handle, fieldnames=keys, lineterminator="\n")
            else:
                for row in rows:
                    if any(ch in str(value) for value in row.values() for ch in "\t\n\r"):
                        raise ValueError(f"{path}: a TSV cell cannot hold a tab or a line break: {row['path']}")
                writer = csv.DictWriter(handle, fieldnames=keys, delimiter="\t", lineterminator="\n",
                                        quoting=csv.QUOTE_NONE, quotechar=None)
            writer.writeheader()
            writer.writerows(rows)
    os.replace(tmp, path)
    return len(rows)
