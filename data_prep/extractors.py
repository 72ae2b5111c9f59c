"""Choosing a feature extractor: from a config object, or from a config's JSON form.

The one place that knows every modality; add a new extractor here and bundles can name it.
"""
from __future__ import annotations

from typing import Any

from data_prep.features import Extractor
from data_prep.line_image import ColumnExtractor, LineConfig
from data_prep.log_mel import LogMelConfig, LogMelExtractor


def feature_config_from_dict(data: dict[str, Any]):
    """Rebuild a feature config from its JSON form, dispatching on ``kind``."""
    kinds = {LogMelConfig.kind: LogMelConfig, LineConfig.kind: LineConfig}
    kind = data.get("kind")
    if kind not in kinds:
        raise ValueError(f"unknown feature kind {kind!r}; expected one of {sorted(kinds)}")
    return kinds[kind].from_dict(data)


def make_extractor(config) -> Extractor:
    """The extractor for a feature config (a ``LogMelConfig`` or a ``LineConfig``)."""
    if isinstance(config, LogMelConfig):
        return LogMelExtractor(config)
    if isinstance(config, LineConfig):
        return ColumnExtractor(config)
    raise TypeError(f"no extractor for {type(config).__name__}")
