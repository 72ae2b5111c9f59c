"""Back-off n-gram language models: the ARPA semantics, in arrays a compiled decoder can query.

A model is its vocabulary and, per order k, the listed k-grams with their log10 probability and
log10 back-off weight, exactly what an ARPA file holds (see :mod:`recognizer.lm.arpa`; models
from KenLM and SRILM load the same way as the toolkit's own, :mod:`recognizer.lm.kneser_ney`).

For decoding, every listed n-gram is a node of a tree (node 0 is the empty context), with the
node of ``w1..wk`` reached from ``w1..wk-1`` by ``wk``. A decoder's LM *state* is the node of
the longest listed suffix of what it has read, so scoring the next token is the ARPA back-off
rule as a loop: look the token up below the state; if it is not there, add the state's back-off
weight and drop the oldest word (the node's ``suffix``), and look again.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np

from recognizer.lm.tokens import BOS, EOS, UNK, guess_unit
from recognizer.pair_map import PairMap, lookup, map_get, new_map, store

ROOT = 0
NO_UNK_LOG10 = -10.0  # an unknown token's log10 probability in a model that lists no <unk>


@dataclass
class NgramOrder:
    """The listed k-grams of one order: token ids ``(n, k)``, log10 probabilities and back-offs."""

    ids: np.ndarray
    log10_prob: np.ndarray
    log10_backoff: np.ndarray

    def __post_init__(self):
        self.ids = np.ascontiguousarray(self.ids, np.int32)
        self.log10_prob = np.ascontiguousarray(self.log10_prob, np.float64)
        self.log10_backoff = np.ascontiguousarray(self.log10_backoff, np.float64)

    def __len__(self) -> int:
        return self.ids.shape[0]


class NgramTables(NamedTuple):
    """The node tree of a model, for compiled code (see the module docstring)."""

    children: PairMap  # (context node, token) -> node
    log10_prob: np.ndarray  # per node
    log10_backoff: np.ndarray  # per node, 0 where the node is no context
    suffix: np.ndarray  # per node: the node of its longest listed proper suffix
    depth: np.ndarray  # per node: its number of tokens
    order: int
    unk_log10: float


class NgramModel:
    """An n-gram model over a vocabulary of string tokens (words, or characters)."""

    def __init__(self, vocab: Sequence[str], orders: Sequence[NgramOrder]):
        self.vocab = list(vocab)
        self.orders = list(orders)
        self.ids = {token: i for i, token in enumerate(self.vocab)}
        if len(self.ids) != len(self.vocab):
            raise ValueError("the vocabulary lists a token twice")
        if not self.orders or len(self.orders[0]) != len(self.vocab):
            raise ValueError("every vocabulary token needs a unigram")
        self.unk_id = self.ids.get(UNK, -1)
        self.tables = _tables(self.vocab, self.orders, self.unk_id)
        self.bos_state = self.state(BOS) if BOS in self.ids else ROOT
        self.unit = guess_unit(self.vocab)

    @property
    def order(self) -> int:
        return len(self.orders)

    def __repr__(self) -> str:
        counts = ", ".join(str(len(o)) for o in self.orders)
        return f"NgramModel({self.unit}, order {self.order}, vocabulary {len(self.vocab)}, n-grams {counts})"

    @classmethod
    def load(cls, path) -> NgramModel:
        """Read an ARPA file; a file whose n-grams lack their contexts is an :class:`InputError`."""
        from data_prep.errors import InputError
        from recognizer.lm.arpa import read_arpa

        try:
            return cls(*read_arpa(path))
        except ValueError as error:  # the model's own checks (read_arpa reports format errors)
            raise InputError(path, str(error)) from None

    def save(self, path) -> None:
        from recognizer.lm.arpa import write_arpa

        write_arpa(path, self.vocab, self.orders)

    def token_id(self, token: str) -> int:
        """The id of ``token``; an unknown token is ``<unk>`` (or -1 when the model has none)."""
        return self.ids.get(token, self.unk_id)

    # --- scoring from Python (the decoder calls the same compiled functions) -------------------

    def state(self, *tokens: str, start: int = ROOT) -> int:
        """The state after reading ``tokens`` from ``start``."""
        for token in tokens:
            start = ngram_score(self.tables, start, self.token_id(token))[1]
        return start

    def log10_prob(self, token: str, context: Sequence[str] = ()) -> float:
        """log10 p(token | context), ``context`` oldest first (it may start with ``<s>``)."""
        return float(ngram_score(self.tables, self.state(*context), self.token_id(token))[0])

    def score(self, tokens: Iterable[str], bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a token sequence, from ``<s>`` and up to ``</s>`` by default."""
        state = self.bos_state if bos else ROOT
        total = 0.0
        for token in list(tokens) + ([EOS] if eos else []):
            log10, state = ngram_score(self.tables, state, self.token_id(token))
            total += log10
        return float(total)


def _tables(vocab: Sequence[str], orders: Sequence[NgramOrder], unk_id: int) -> NgramTables:
    total = 1 + sum(len(o) for o in orders)
    children = new_map(total)
    prob = np.zeros(total, np.float64)
    backoff = np.zeros(total, np.float64)
    suffix = np.zeros(total, np.int32)
    depth = np.zeros(total, np.int32)
    start = 1
    for k, order in enumerate(orders, start=1):
        ids = order.ids
        if ids.ndim != 2 or ids.shape[1] != k:
            raise ValueError(f"{k}-grams must have {k} tokens each")
        end = start + len(order)
        bad = _add_nodes(children, ids, start)
        if bad >= 0:
            words = " ".join(vocab[i] if 0 <= i < len(vocab) else f"#{i}" for i in ids[bad])
            listed = _walk(children, ids[bad, : k - 1], 0) >= 0
            raise ValueError(f"{k}-gram '{words}' " + ("is listed twice" if listed else "has a context that is not listed"))
        prob[start:end] = order.log10_prob
        backoff[start:end] = order.log10_backoff
        depth[start:end] = k
        suffix[start:end] = _suffixes(children, ids)
        start = end
    unk_log10 = NO_UNK_LOG10
    if unk_id >= 0:
        unk_log10 = float(orders[0].log10_prob[np.flatnonzero(orders[0].ids[:, 0] == unk_id)[0]])
    return NgramTables(children, prob, backoff, suffix, depth, len(orders), unk_log10)


@numba.njit(cache=True)
def _walk(children, ids, first):
    node = ROOT
    for j in range(first, ids.shape[0]):
        node = map_get(children, node, ids[j])
        if node < 0:
            return -1
    return node


@numba.njit(cache=True, inline="always")
def _walk_arrays(key_a, key_b, value, ids, first):
    node = ROOT
    for j in range(first, ids.shape[0]):
        node = lookup(key_a, key_b, value, node, ids[j])
        if node < 0:
            return -1
    return node


@numba.njit(cache=True)
def _add_nodes(children, ids, start):
    """Insert one order's n-grams below their contexts; the row of the first bad one, or -1."""
    key_a, key_b, value = children.key_a, children.key_b, children.value
    k = ids.shape[1]
    for r in range(ids.shape[0]):
        context = _walk_arrays(key_a, key_b, value, ids[r, : k - 1], 0)
        if context < 0 or lookup(key_a, key_b, value, context, ids[r, k - 1]) >= 0:
            return r
        store(key_a, key_b, value, context, ids[r, k - 1], start + r)
    return -1


@numba.njit(cache=True)
def _suffixes(children, ids):
    key_a, key_b, value = children.key_a, children.key_b, children.value
    out = np.zeros(ids.shape[0], np.int32)
    for r in range(ids.shape[0]):
        for first in range(1, ids.shape[1]):
            node = _walk_arrays(key_a, key_b, value, ids[r], first)
            if node >= 0:
                out[r] = node
                break
    return out


@numba.njit(cache=True)
def ngram_score(t, state, token):
    """(log10 p(token | state), next state); ``token < 0`` is an unknown token."""
    return ngram_step(t.children.key_a, t.children.key_b, t.children.value, t.log10_prob, t.log10_backoff,
                      t.suffix, t.depth, t.order, t.unk_log10, state, token)


@numba.njit(cache=True, inline="always")
def ngram_step(key_a, key_b, value, log10_prob, log10_backoff, suffix, depth, order, unk_log10, state, token):
    """:func:`ngram_score` on the tables' arrays, for hot loops (see :func:`~recognizer.pair_map.lookup`)."""
    if token < 0:
        return unk_log10, ROOT
    total = 0.0
    while True:
        node = lookup(key_a, key_b, value, state, token)
        if node >= 0:
            total += log10_prob[node]
            if depth[node] >= order:
                node = suffix[node]
            return total, node
        if state == ROOT:
            return total + unk_log10, ROOT
        total += log10_backoff[state]
        state = suffix[state]
