"""Hotwords: words or phrases the beam search favours, each with a boost weight.

``--hotword WORD[:WEIGHT]`` on the command line. A weight is a natural-log bonus added once
per occurrence of the hotword as a whole word (or phrase) in a hypothesis; while a prefix is
spelling a hotword from a word start it earns the spelt share of the weight, so that hotword
prefixes survive pruning long enough to be completed. Hotwords are normalised like the model's
alphabet normalises text, and every character must be in the alphabet.

Matching is Aho-Corasick at word granularity: when the next character does not continue the
phrase being spelt, the search falls back to the longest tail of it that starts at a word and
is itself the start of a hotword, so "go go go stop" still finds "go go stop", and a phrase
that ends inside a longer one (``"york"`` in ``"new york"``) is credited too.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

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


class HotwordTrie(NamedTuple):
    trie: Trie
    partial: np.ndarray  # float64 per node: the bonus while spelling it
    complete: np.ndarray  # float64 per node: weights of the hotwords that end there as whole words
    fail: np.ndarray  # int32 per node: where matching goes on when the next character leaves it


def hotword_trie(hotwords: Sequence[Hotword], alphabet: Alphabet) -> HotwordTrie:
    """The trie of the hotwords with its bonuses and word-level failure links.

    ``partial[node]`` is the largest ``weight * depth / length`` among the hotwords through the
    node. ``complete[node]`` adds the weights of every hotword that is the node's text or a tail
    of it starting at a word. ``fail[node]`` is the node of the longest proper tail of its text
    that starts at a word and is in the trie (-1: none; matching restarts at the next word).
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
    size = len(trie.end)
    partial, own = np.zeros(size, np.float64), np.zeros(size, np.float64)
    texts: dict[int, tuple[int, ...]] = {0: ()}
    for labels, weight in zip(spelt, weights):
        node = 0
        for depth, label in enumerate(labels, start=1):
            node = _child(trie, node, label)
            texts[node] = tuple(labels[:depth])
            partial[node] = max(partial[node], weight * depth / len(labels))
        own[node] = max(own[node], weight)
    space = alphabet.index(" ") if " " in alphabet else -1
    fail = np.full(size, -1, np.int32)
    complete = own.copy()
    for node in sorted(texts, key=lambda n: len(texts[n])):  # a tail's node is shallower: done first
        text = texts[node]
        for start in range(1, len(text)):
            if text[start - 1] == space:
                tail = _walk(trie, text[start:])
                if tail >= 0:
                    fail[node] = tail
                    complete[node] += complete[tail]
                    break
    return HotwordTrie(trie, partial, complete, fail)


def _walk(trie: Trie, labels: Sequence[int]) -> int:
    node = 0
    for label in labels:
        node = _child(trie, node, label)
        if node < 0:
            return -1
    return node


def _child(trie: Trie, node: int, label: int) -> int:
    from recognizer.lm.trie import trie_child

    return int(trie_child(trie, node, label))
