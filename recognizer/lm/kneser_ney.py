"""Training interpolated modified Kneser-Ney n-gram models from text (what KenLM's lmplz does).

Each sentence is ``<s> t1 .. tm </s>``. For an n-gram ``g = h w`` of order k:

* its *adjusted count* a(g) is its count at the highest order, and at lower orders the number of
  distinct tokens seen just before it (how many contexts it completes, the Kneser-Ney idea),
  except that n-grams starting with ``<s>`` keep their count (nothing can precede ``<s>``);
* ``p(w | h) = (a(hw) - D(a(hw))) / sum_x a(hx) + gamma(h) p(w | h')`` with ``h'`` the context
  without its oldest token, ``gamma(h) = (D1 N1(h) + D2 N2(h) + D3 N3+(h)) / sum_x a(hx)`` and
  ``Nj(h)`` the number of tokens x with ``a(hx) = j`` (3 or more for N3+);
* unigrams interpolate with the uniform distribution over the vocabulary without ``<s>``
  (``<unk>`` included, which gets only that share); ``<s>`` is never predicted (log10 -99).

The discounts of each order come from its counts of counts (Chen and Goodman):
``Y = n1 / (n1 + 2 n2)``, ``Dj = j - (j + 1) Y n(j+1) / nj``; where these are undefined or
outside ``(0, j)`` (small corpora), :data:`FALLBACK_DISCOUNTS` are used, as KenLM's
``--discount_fallback`` does. The interpolated model is written in back-off form: a listed
n-gram's probability is the interpolated one, and a context's back-off weight is gamma(h).

Counting is done with numpy on integer codes: the k-gram at each corpus position is coded by
the id of its (k-1)-gram prefix and its last token, so any order and vocabulary size fit in int64.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from recognizer.lm.ngram import NgramModel, NgramOrder
from recognizer.lm.tokens import BOS, EOS, SPECIAL, UNK

FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
BOS_LOG10 = -99.0
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2  # the vocabulary starts with SPECIAL


@dataclass
class _Order:
    """Distinct k-grams of one order, in the coded form of the module docstring."""

    prefix: np.ndarray  # id of the (k-1)-gram prefix (the token id for k = 1)
    last: np.ndarray  # last token
    suffix: np.ndarray  # id of the (k-1)-gram suffix (-1 for k = 1)
    count: np.ndarray  # raw count
    first: np.ndarray  # first token


def estimate_discounts(adjusted_counts: np.ndarray) -> tuple[tuple[float, float, float], bool]:
    """(D1, D2, D3+) from counts of counts, and whether they are the estimate (not the fallback)."""
    n = [int(np.count_nonzero(adjusted_counts == j)) for j in (1, 2, 3, 4)]
    if min(n) == 0:
        return FALLBACK_DISCOUNTS, False
    y = n[0] / (n[0] + 2 * n[1])
    d = tuple(j - (j + 1) * y * n[j] / n[j - 1] for j in (1, 2, 3))
    if not all(0 < dj < j for j, dj in zip((1, 2, 3), d)):
        return FALLBACK_DISCOUNTS, False
    return d, True  # type: ignore[return-value]


def build_kneser_ney(
    sentences: Iterable[Sequence[str]],
    order: int,
    discounts: Sequence[Sequence[float]] | None = None,
) -> tuple[NgramModel, dict]:
    """The model of the token sequences, and a summary (counts, discounts, fallbacks).

    ``discounts`` fixes (D1, D2, D3+) per order instead of estimating them.
    """
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    vocab = [UNK, BOS, EOS]
    ids = {t: i for i, t in enumerate(vocab)}
    corpus: list[int] = []
    sentence_of: list[int] = []
    n_sentences = 0
    for tokens in sentences:
        coded = [BOS_ID] + [ids.setdefault(t, len(ids)) for t in tokens] + [EOS_ID]
        if min(coded[1:-1], default=EOS_ID + 1) <= EOS_ID:
            raise ValueError(f"a sentence holds a reserved token ({', '.join(SPECIAL)}): {' '.join(tokens)[:80]}")
        corpus += coded
        sentence_of += [n_sentences] * len(coded)
        n_sentences += 1
    if not n_sentences:
        raise ValueError("no sentences to count")
    vocab = sorted(ids, key=ids.get)
    if len(vocab) == 3:
        raise ValueError("the text holds no tokens")
    tokens = np.asarray(corpus, np.int64)
    sentence = np.asarray(sentence_of, np.int64)
    orders = _count(tokens, sentence, order, len(vocab))
    if discounts is not None and len(discounts) != order:
        raise ValueError(f"need discounts for {order} orders, got {len(discounts)}")

    summary = {"order": order, "sentences": n_sentences, "tokens": int(len(tokens) - 2 * n_sentences),
               "vocabulary": len(vocab), "ngrams": [], "discounts": [], "fallback_orders": []}
    probs: list[np.ndarray] = []
    gammas: list[np.ndarray] = []  # per order k-1 (index k-1): gamma of each (k-1)-gram as context
    adjusted = _adjusted_counts(orders)
    uniform = 1.0 / (len(vocab) - 1)  # <s> is never predicted
    for k in range(1, order + 1):
        o, a = orders[k - 1], adjusted[k - 1]
        usable = o.last != BOS_ID  # the unigram <s> is listed but not predicted
        if discounts is not None:
            d = tuple(float(x) for x in discounts[k - 1])
        else:
            d, estimated = estimate_discounts(a[usable])
            if not estimated:
                summary["fallback_orders"].append(k)
        summary["discounts"].append([round(x, 6) for x in d])
        disc = np.where(a >= 3, d[2], np.where(a == 2, d[1], d[0])) * (a > 0)
        n_contexts = 1 if k == 1 else len(orders[k - 2].count)
        context = np.zeros(len(a), np.int64) if k == 1 else o.prefix
        weight = np.where(usable, a, 0).astype(np.float64)
        total = np.bincount(context, weights=weight, minlength=n_contexts)
        mass = np.bincount(context, weights=np.where(usable, disc, 0.0), minlength=n_contexts)
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma = np.where(total > 0, mass / total, 0.0)
            direct = np.where(usable, (weight - disc) / total[context], 0.0)
        if k == 1:
            lower = np.full(len(a), uniform)
        else:
            lower = probs[k - 2][o.suffix]
        p = direct + gamma[context] * lower
        probs.append(p)
        gammas.append(gamma)
        summary["ngrams"].append(len(a))

    # Unigrams: every vocabulary token (<unk> only through the uniform share).
    uni = orders[0]
    uni_prob = np.full(len(vocab), gammas[0][0] * uniform)
    uni_prob[uni.last] = probs[0]
    log10_uni = np.log10(uni_prob)
    log10_uni[BOS_ID] = BOS_LOG10
    summary["ngrams"][0] = len(vocab)
    result = []
    words_prev = np.arange(len(vocab), dtype=np.int32)[:, None]
    for k in range(1, order + 1):
        backoff = np.zeros(len(vocab) if k == 1 else len(orders[k - 1].count))
        if k < order:
            context_gamma = gammas[k]  # gamma of the k-grams as contexts of (k+1)-grams
            if k == 1:
                backoff[orders[0].last] = context_gamma
            else:
                backoff = context_gamma
        with np.errstate(divide="ignore"):
            log10_backoff = np.where(backoff > 0, np.log10(np.maximum(backoff, 1e-300)), 0.0)
        if k == 1:
            result.append(NgramOrder(words_prev, log10_uni, log10_backoff))
            words_prev = np.empty((len(uni.last), 1), np.int32)
            words_prev[:, 0] = uni.last
            continue
        o = orders[k - 1]
        words = np.column_stack([words_prev[o.prefix], o.last]).astype(np.int32)
        result.append(NgramOrder(words, np.log10(probs[k - 1]), log10_backoff))
        words_prev = words
    return NgramModel(vocab, result), summary


def _count(tokens: np.ndarray, sentence: np.ndarray, order: int, vocab_size: int) -> list[_Order]:
    """Distinct k-grams (k = 1..order) with prefix/suffix ids and raw counts."""
    orders: list[_Order] = []
    n = len(tokens)
    gid = tokens.copy()  # id of the (k-1)-gram starting at each position, valid where `valid`
    valid = np.ones(n, bool)
    for k in range(1, order + 1):
        if k == 1:
            codes = tokens
            ok = valid
        else:
            ok = np.zeros(n, bool)
            ok[: n - k + 1] = valid[: n - k + 1] & (sentence[: n - k + 1] == sentence[k - 1:])
            codes = np.full(n, -1, np.int64)
            codes[: n - k + 1] = gid[: n - k + 1] * vocab_size + tokens[k - 1:]
        unique, inverse, count = np.unique(codes[ok], return_inverse=True, return_counts=True)
        new_gid = np.full(n, -1, np.int64)
        new_gid[ok] = inverse
        if k == 1:
            prefix, last, suffix = unique, unique, np.full(len(unique), -1, np.int64)
            first = unique
        else:
            prefix, last = unique // vocab_size, unique % vocab_size
            # the suffix of the k-gram at position i is the (k-1)-gram at i + 1
            pos = np.flatnonzero(ok)
            suffix = np.empty(len(unique), np.int64)
            suffix[inverse] = gid[pos + 1]
            first = orders[-1].first[prefix]
        orders.append(_Order(prefix, last, suffix, count, first))
        gid, valid = new_gid, ok  # k-gram ids are positions in `unique` (for k = 1 too)
    return orders


def _adjusted_counts(orders: list[_Order]) -> list[np.ndarray]:
    adjusted = []
    for k, o in enumerate(orders, start=1):
        if k == len(orders):
            a = o.count.astype(np.float64)
        else:
            left = np.bincount(orders[k].suffix, minlength=len(o.count)).astype(np.float64)
            a = np.where(o.first == BOS_ID, o.count, left).astype(np.float64)
        adjusted.append(a)
    return adjusted
