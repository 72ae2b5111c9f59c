"""Peers that cannot share the package's environment run from their own venv under ``build/``.

Benchmarks compare against established tools (pyctcdecode, pocketsphinx) whose pinned
dependencies clash with TensorFlow's, or that the package must not depend on; each lives in a
venv created on first use and is driven as a subprocess.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def peer_python(venv: Path, *requirements: str) -> Path:
    """The venv's interpreter, creating the venv with ``requirements`` installed if it is missing."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (pip install {' '.join(requirements)}) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    return python
