"""A map from pairs of non-negative ints to ints, in flat numpy arrays that numba kernels can use.

The beam search's prefix tree, the word tries and the n-gram tables all ask one question in
their hot loops: "the child of node ``a`` by symbol ``b``". A Python dict would make every
lookup leave compiled code, so the map is open addressing with linear probing over three
arrays (first key, second key, value); an empty slot has first key -1. The table is sized
once for its final number of entries (at most half full), so it never grows.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

EMPTY = -1
_MULT_A = 2654435761  # Knuth's multiplicative constant: a bijection on the low bits of a
_MULT_B = 40503


class PairMap(NamedTuple):
    key_a: np.ndarray  # int64, EMPTY where free
    key_b: np.ndarray  # int64
    value: np.ndarray  # int32


@numba.njit(cache=True)
def new_map(entries):
    """An empty map with room for ``entries`` pairs (at least half its slots stay free)."""
    size = 2
    while size < 2 * max(1, entries):
        size *= 2
    return PairMap(np.full(size, EMPTY, np.int64), np.zeros(size, np.int64), np.full(size, EMPTY, np.int32))


@numba.njit(cache=True, inline="always")
def _slot(key_a, key_b, a, b):
    mask = key_a.shape[0] - 1
    i = (a * _MULT_A + b * _MULT_B) & mask
    while key_a[i] != EMPTY and (key_a[i] != a or key_b[i] != b):
        i = (i + 1) & mask
    return i


@numba.njit(cache=True, inline="always")
def lookup(key_a, key_b, value, a, b):
    """:func:`map_get` on the map's arrays, for hot loops.

    Handing numba a tuple of arrays costs a reference-count update per array per call, which
    dominated the beam search; hot loops unpack the arrays once and call this.
    """
    i = _slot(key_a, key_b, a, b)
    if key_a[i] == EMPTY:
        return -1
    return value[i]


@numba.njit(cache=True)
def map_get(m, a, b):
    """The value stored for ``(a, b)``, or -1."""
    return lookup(m.key_a, m.key_b, m.value, a, b)


@numba.njit(cache=True, inline="always")
def store(key_a, key_b, value, a, b, v):
    """:func:`map_put` on the map's arrays, for hot loops."""
    i = _slot(key_a, key_b, a, b)
    key_a[i] = a
    key_b[i] = b
    value[i] = v


@numba.njit(cache=True)
def map_put(m, a, b, value):
    """Store ``value`` for ``(a, b)`` (``a >= 0``), replacing any earlier value."""
    store(m.key_a, m.key_b, m.value, a, b, value)


@numba.njit(cache=True)
def map_put_many(m, a, b, values):
    key_a, key_b, value = m.key_a, m.key_b, m.value
    for k in range(a.shape[0]):
        store(key_a, key_b, value, a[k], b[k], values[k])


@numba.njit(cache=True)
def map_get_many(m, a, b):
    out = np.empty(a.shape[0], np.int32)
    for k in range(a.shape[0]):
        out[k] = map_get(m, a[k], b[k])
    return out


def pair_map(a: np.ndarray, b: np.ndarray, values: np.ndarray) -> PairMap:
    """A map holding ``(a[k], b[k]) -> values[k]`` for every k."""
    a = np.ascontiguousarray(a, np.int64)
    m = new_map(a.shape[0])
    map_put_many(m, a, np.ascontiguousarray(b, np.int64), np.ascontiguousarray(values, np.int32))
    return m
