"""Importers: public dataset layouts -> manifests, one module per layout.

Each module provides ``HELP`` (one line), ``UNIT`` (what its progress bar counts), ``Config`` (a
dataclass of its options, :class:`~data_prep.importers.common.ImportConfig` or a subclass),
``list_items(src, config)`` (cheap: the work to do) and ``convert(item, job)`` (rows, or
:class:`~data_prep.importers.common.Skip`\\ s for what cannot be used). Adding a layout is one
module and one line here; :func:`~data_prep.importers.common.run_import` does the rest.
"""
from __future__ import annotations

import importlib
from types import ModuleType

FORMATS: dict[str, str] = {
    "deepspeech": "data_prep.importers.deepspeech",
    "nemo": "data_prep.importers.nemo",
    "librispeech": "data_prep.importers.librispeech",
    "common-voice": "data_prep.importers.common_voice",
    "kaldi": "data_prep.importers.kaldi",
    "audio-folder": "data_prep.importers.audio_folder",
    "iam": "data_prep.importers.iam",
    "page": "data_prep.importers.page_xml",
    "alto": "data_prep.importers.alto",
    "gt-txt": "data_prep.importers.gt_pairs",
}


def importer(name: str) -> ModuleType:
    """The module for a format name; ValueError naming the known formats otherwise."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; expected one of {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])
