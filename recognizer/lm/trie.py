"""Prefix trees of label sequences (words spelt in a model's alphabet), for compiled decoders.

Node 0 is the empty prefix; the child of ``node`` by ``label`` is a :mod:`recognizer.pair_map`
lookup, and ``end[node]`` is the payload of the word that ends there (a language-model token
id, a hotword's index), or -1 where no word ends.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numba
import numpy as np

from recognizer.pair_map import PairMap, map_get, pair_map

NO_END = -1
UNKNOWN_WORD = -2  # a payload: the word ends here but the language model does not know it


class Trie(NamedTuple):
    children: PairMap
    end: np.ndarray  # int32 per node
    depth: np.ndarray  # int32 per node: length of its prefix


def build_trie(words: Sequence[Sequence[int]], payloads: Sequence[int]) -> Trie:
    """The trie of ``words`` (label sequences); a word listed twice keeps its first payload."""
    children: dict[tuple[int, int], int] = {}
    end = [NO_END]
    depth = [0]
    for word, payload in zip(words, payloads):
        node = 0
        for label in word:
            key = (node, int(label))
            child = children.get(key)
            if child is None:
                child = children[key] = len(end)
                end.append(NO_END)
                depth.append(depth[node] + 1)
            node = child
        if end[node] == NO_END:
            end[node] = int(payload)
    keys = np.array(list(children) or np.zeros((0, 2)), np.int64).reshape(-1, 2)
    values = np.fromiter(children.values(), np.int32, len(children))
    return Trie(pair_map(keys[:, 0], keys[:, 1], values), np.array(end, np.int32), np.array(depth, np.int32))


def empty_trie() -> Trie:
    return build_trie([], [])


@numba.njit(cache=True)
def trie_child(trie, node, label):
    """The child of ``node`` by ``label``, or -1."""
    return map_get(trie.children, node, label)
