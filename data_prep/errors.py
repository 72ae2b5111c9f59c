"""One error type for inputs that cannot be used.

Every reader in data_prep raises :class:`InputError` for a bad file, so callers can report it as a
single line (``path: problem``), skip that input, and go on with the rest of a batch.
"""
from __future__ import annotations

import os


class InputError(Exception):
    """A file (or a line of a manifest) that cannot be used; ``str()`` is one line naming it."""

    def __init__(self, path: str | os.PathLike, problem: str, line: int | None = None):
        self.path = str(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")
