"""JSON round trip for the flat dataclass configs that travel inside bundles and recipes.

Unknown keys are errors, never ignored: a misspelt option in a recipe must not silently train
something else than what was asked.
"""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, ClassVar


class JsonConfig:
    """Mixin for dataclasses: ``to_dict()`` / ``from_dict()``, with ``kind`` when the class sets one."""

    kind: ClassVar[str | None] = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]
        return {"kind": self.kind, **data} if self.kind else data

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        data = dict(data)
        if cls.kind:
            kind = data.pop("kind", cls.kind)
            if kind != cls.kind:
                raise ValueError(f"expected kind {cls.kind!r}, got {kind!r}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})  # type: ignore[arg-type]
        if unknown:
            raise ValueError(f"unknown {cls.__name__} keys: {', '.join(unknown)}")
        return cls(**data)
