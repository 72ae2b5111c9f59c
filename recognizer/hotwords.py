"""Hotwords: words or phrases the beam search favours, each with a boost weight.

``--hotword WORD[:WEIGHT]`` on the command line. A weight is a natural-log bonus added once
per occurrence of the hotword as a whole word (or phrase) in a hypothesis; while a prefix is
spelling a hotword from a word start it earns the spelt share of the weight, so that hotword
prefixes survive pruning long enough to be completed. Hotwords are normalised like the model's
alphabet normalises text, and every character must be in the alphabet.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recognizer.alphabet import Alphabet
from recognizer.lm.trie import Trie, build_trie

DEFAULT_WEIGHT = 10.0


@dataclass(frozen=True)
class Hotword:
    text: str
    weight: float = DEFAULT_WEIGHT


def parse_hotword(spec: str, default_weight: float = DEFAULT_WEIGHT) -> Hotword:
    """``"word"`` or ``"word:weight"`` (the last colon counts, so ``"a:b:2"`` is ``a:b`` x 2)."""
    text, weight = spec, default_weight
    head, sep, tail = spec.rpartition(":")
    if sep:
        try:
            weight = float(tail)
        except ValueError:
            raise ValueError(f"hotword {spec!r}: weight {tail!r} is not a number (use WORD:WEIGHT)") from None
        text = head
    if not np.isfinite(weight) or weight <= 0:
        raise ValueError(f"hotword {spec!r}: weight must be a positive number")
    if not text.strip():
        raise ValueError(f"hotword {spec!r}: no word")
    return Hotword(text, weight)


def hotword_trie(hotwords: Sequence[Hotword], alphabet: Alphabet) -> tuple[Trie, np.ndarray, np.ndarray]:
    """The trie of the hotwords, the bonus while spelling each node, and the weight completed there.

    The bonus at a node is the largest ``weight * depth / length`` among the hotwords through it.
    """
    spelt, weights = [], []
    for hotword in hotwords:
        text = alphabet.normalise(hotword.text)
        missing = sorted({c for c in text if c not in alphabet})
        if missing:
            raise ValueError(f"hotword {hotword.text!r}: character(s) {', '.join(map(repr, missing))} "
                             f"not in the model's alphabet {''.join(alphabet.chars)!r}")
        if not text:
            raise ValueError(f"hotword {hotword.text!r} is empty")
        spelt.append([alphabet.index(c) for c in text])
        weights.append(float(hotword.weight))
    trie = build_trie(spelt, list(range(len(spelt))))
    partial = np.zeros(len(trie.end), np.float64)
    complete = np.zeros(len(trie.end), np.float64)
    for labels, weight in zip(spelt, weights):
        node = 0
        for depth, label in enumerate(labels, start=1):
            node = _child(trie, node, label)
            partial[node] = max(partial[node], weight * depth / len(labels))
        complete[node] = max(complete[node], weight)
    return trie, partial, complete


def _child(trie: Trie, node: int, label: int) -> int:
    from recognizer.lm.trie import trie_child

    return int(trie_child(trie, node, label))
