import json
from dataclasses import dataclass
from typing import ClassVar

import pytest

from data_prep.config import JsonConfig


@dataclass
class Plain(JsonConfig):
    size: int = 3
    pair: tuple[int, int] = (1, 2)


@dataclass
class Kinded(JsonConfig):
    kind: ClassVar[str] = "kinded"
    rate: float = 0.5


def test_round_trip_through_json():
    config = Plain(size=7, pair=(4, 5))
    data = json.loads(json.dumps(config.to_dict()))
    assert data == {"size": 7, "pair": [4, 5]}
    assert Plain.from_dict(data).size == 7


def test_kind_is_written_and_checked():
    assert Kinded(rate=0.25).to_dict() == {"kind": "kinded", "rate": 0.25}
    assert Kinded.from_dict({"rate": 0.1}).rate == 0.1  # kind may be left out
    with pytest.raises(ValueError, match="expected kind 'kinded'"):
        Kinded.from_dict({"kind": "other"})


def test_unknown_keys_are_errors_not_ignored():
    with pytest.raises(ValueError, match="unknown Plain keys: colour, sise"):
        Plain.from_dict({"sise": 3, "colour": 1})
