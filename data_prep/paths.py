"""Where the repository and the shared datasets are, for the dataset tools and the tests."""
from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """The shared datasets: ``$RECOGNIZER_SHARED_DATA`` if set, else ``<repo>/../shared/data``."""
    env = os.environ.get("RECOGNIZER_SHARED_DATA")
    return Path(env) if env else repo_root().parent / "shared" / "data"
