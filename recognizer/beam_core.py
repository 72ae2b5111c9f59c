"""Compiled kernels of the CTC prefix beam search and of forced alignment (numba, cached).

The search runs frame by frame over natural-log posteriors ``(T, V)`` (blank = 0). A beam entry
is a *state*: a prefix (a node of a prefix tree that grows as the search goes) and whether its
last frame was a blank. Keeping the two states of a prefix apart, as pyctcdecode does, is what
makes a beam of width 1 exactly best-path (greedy) decoding. Prefixes are *texts*: a space that
text tidying would remove (leading, doubled, trailing) makes no new prefix, so every path that
reads as the same text adds to the same prefix, and a beam wide enough to hold all states gives
exact sums over all CTC paths of each text. Per frame, every state is extended by the labels
worth trying (probability at least ``token_min_logp``, and always the frame's best), equal states
are merged by log-add, states more than ``beam_prune_logp`` below the best are dropped, and the
best ``width`` stay.

The score of a state is its acoustic log probability plus the prefix's *extra* score, which the
:class:`Scorer` decides as the prefix grows and which every state of that prefix shares:

* character LM: ``alpha * ln p(char | history) + beta`` per character, ``</s>`` at the end;
* words (:mod:`recognizer.lm.tokens` says what a word is): a trie follows the current word. With a
  word LM, a completed word adds ``alpha * ln p(word | words) + beta``; a word that leaves the
  trie is out of vocabulary and pays ``<unk>`` at once. With ``strict`` (a lexicon) a prefix
  that leaves the trie, or ends a word where the trie has none, is not extended at all;
* hotwords: a prefix that is spelling a hotword from a word start earns the share of the
  hotword's weight it has spelt, and keeps the whole weight once the hotword is complete and the
  word ends there (a space, another non-letter, or the end). A character that leaves the
  hotword trie follows its word-level failure links (:mod:`recognizer.hotwords`), so
  overlapping and nested occurrences all count.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from recognizer.lm.ngram import NgramTables, ngram_step
from recognizer.lm.trie import NO_END, UNKNOWN_WORD, Trie
from recognizer.pair_map import lookup, new_map, store

NO_LM, CHAR_LM, WORD_LM = 0, 1, 2
OUT, OOV = -1, -2  # word-trie positions: between words; inside a word the trie does not hold
LN10 = math.log(10.0)
NEG_INF = -np.inf
_MULT_A = 2654435761
_MULT_B = 40503


class Scorer(NamedTuple):
    """Everything the search adds to acoustic scores (see the module docstring)."""

    lm_kind: int
    alpha: float
    beta: float
    lm: NgramTables
    bos_state: int
    eos_token: int
    unk_token: int
    char_token: np.ndarray  # int32 per label: its char-LM token (-1 unknown)
    use_trie: bool
    strict: bool
    trie: Trie  # words; trie.end = word-LM token of the word ending there (or UNKNOWN_WORD)
    use_hot: bool
    hot: Trie  # hotwords
    hot_partial: np.ndarray  # per hot node: bonus while spelling
    hot_complete: np.ndarray  # per hot node: weights of the hotwords ending there, 0 if none
    hot_fail: np.ndarray  # per hot node: the failure link (-1: none)
    is_letter: np.ndarray  # bool per label
    space: int  # label of the space, -1 if the alphabet has none


@numba.njit(cache=True, inline="always")
def _logaddexp(a, b):
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


@numba.njit(cache=True, inline="always")
def _word_end(lm_kind, strict, alpha, beta, unk_token, trie_end,
              lka, lkb, lval, lprob, lback, lsuffix, ldepth, lorder, lunk, lmstate, wnode):
    """A word ends at trie position ``wnode``: (allowed, extra score, LM state)."""
    if wnode == OOV:  # its <unk> score was paid when it left the trie
        if lm_kind == WORD_LM:
            lmstate = ngram_step(lka, lkb, lval, lprob, lback, lsuffix, ldepth, lorder, lunk, lmstate, unk_token)[1]
            return True, beta, lmstate
        return True, 0.0, lmstate
    token = trie_end[wnode]
    if token == NO_END:  # the trie holds no word that ends here
        if strict:
            return False, 0.0, lmstate
        token = unk_token
    elif token == UNKNOWN_WORD:
        token = unk_token
    if lm_kind == WORD_LM:
        log10, lmstate = ngram_step(lka, lkb, lval, lprob, lback, lsuffix, ldepth, lorder, lunk, lmstate, token)
        return True, alpha * LN10 * log10 + beta, lmstate
    return True, 0.0, lmstate


@numba.njit(cache=True)
def prefix_beam_search(log_probs, width, token_min_logp, beam_prune_logp, sc, nbest):
    """The search; returns the prefix tree (parent, label per node) and the best final prefixes.

    Final prefixes come best first as (node, total score, acoustic score), at most ``nbest``.
    """
    n_frames, n_labels = log_probs.shape
    width = max(1, width)
    # The scorer's arrays, unpacked once: handing numba a tuple of arrays inside the loop costs
    # a reference-count update per array per use (see recognizer.pair_map.lookup).
    lm_kind, alpha, beta, unk, eos = sc.lm_kind, sc.alpha, sc.beta, sc.unk_token, sc.eos_token
    lka, lkb, lval = sc.lm.children.key_a, sc.lm.children.key_b, sc.lm.children.value
    lprob, lback, lsuffix, ldepth = sc.lm.log10_prob, sc.lm.log10_backoff, sc.lm.suffix, sc.lm.depth
    lorder, lunk = sc.lm.order, sc.lm.unk_log10
    char_token, letters, space = sc.char_token, sc.is_letter, sc.space
    use_trie, strict = sc.use_trie, sc.strict
    tka, tkb, tval, tend = sc.trie.children.key_a, sc.trie.children.key_b, sc.trie.children.value, sc.trie.end
    use_hot, hot_partial, hot_complete, hot_fail = sc.use_hot, sc.hot_partial, sc.hot_complete, sc.hot_fail
    hka, hkb, hval = sc.hot.children.key_a, sc.hot.children.key_b, sc.hot.children.value

    capacity = width * n_frames + 1
    # the prefix tree, with what the scorer knows of each prefix
    parent = np.empty(capacity, np.int32)
    label = np.empty(capacity, np.int32)
    lmstate = np.empty(capacity, np.int64)  # LM state
    wnode = np.empty(capacity, np.int32)  # word-trie position (OUT, OOV or a node)
    hnode = np.empty(capacity, np.int32)  # hotword-trie position (-1: none)
    lmacc = np.empty(capacity, np.float64)  # LM and bonus scores so far
    hotdone = np.empty(capacity, np.float64)  # hotword weights won so far
    extra = np.empty(capacity, np.float64)  # lmacc + hotdone + the partial hotword bonus
    children = new_map(capacity)
    cka, ckb, cval = children.key_a, children.key_b, children.value
    parent[0], label[0], lmstate[0], wnode[0], hnode[0] = -1, -1, sc.bos_state, OUT, -1
    lmacc[0], hotdone[0], extra[0] = 0.0, 0.0, 0.0
    count = 1
    # the beam
    b_node = np.zeros(width, np.int32)
    b_blank = np.ones(width, np.bool_)
    b_ac = np.zeros(width, np.float64)
    n_beam = 1
    # candidates of one frame, and the table that merges equal ones
    n_cand_max = width * n_labels
    c_node = np.empty(n_cand_max, np.int32)  # an existing prefix, or -1 for a new child
    c_parent = np.empty(n_cand_max, np.int32)
    c_label = np.empty(n_cand_max, np.int32)
    c_blank = np.empty(n_cand_max, np.bool_)
    c_ac = np.empty(n_cand_max, np.float64)
    c_lmstate = np.empty(n_cand_max, np.int64)
    c_wnode = np.empty(n_cand_max, np.int32)
    c_hnode = np.empty(n_cand_max, np.int32)
    c_lmacc = np.empty(n_cand_max, np.float64)
    c_hotdone = np.empty(n_cand_max, np.float64)
    c_extra = np.empty(n_cand_max, np.float64)  # -inf: not allowed
    totals = np.empty(n_cand_max, np.float64)
    size = 2
    while size < 2 * n_cand_max:
        size *= 2
    mask = size - 1
    m_a = np.empty(size, np.int64)
    m_b = np.empty(size, np.int64)
    m_val = np.empty(size, np.int32)
    m_stamp = np.zeros(size, np.int64)
    tries = np.empty(n_labels, np.int32)
    keep = np.empty(n_cand_max, np.int64)

    for t in range(n_frames):
        lp = log_probs[t]
        best_label = 0
        for c in range(1, n_labels):
            if lp[c] > lp[best_label]:
                best_label = c
        n_try = 0
        for c in range(n_labels):
            if lp[c] >= token_min_logp or c == best_label:
                tries[n_try] = c
                n_try += 1
        stamp = t + 1
        n_cand = 0
        for i in range(n_beam):
            node = b_node[i]
            ac = b_ac[i]
            last = label[node]
            for j in range(n_try):
                c = tries[j]
                score = ac + lp[c]
                existing = node
                blank = False
                if c == 0:
                    blank = True
                elif c == space and (node == 0 or last == space):
                    pass  # a space that tidying removes: the same text, the same prefix
                elif c != last or b_blank[i]:
                    existing = lookup(cka, ckb, cval, node, c)
                # merge with an equal candidate of this frame, if any
                if existing >= 0:
                    key_a, key_b = np.int64(existing), np.int64(1 if blank else 0)
                else:
                    key_a, key_b = np.int64(-2 - node), np.int64(c)
                s = (key_a * _MULT_A + key_b * _MULT_B) & mask
                while m_stamp[s] == stamp and (m_a[s] != key_a or m_b[s] != key_b):
                    s = (s + 1) & mask
                if m_stamp[s] == stamp:
                    k = m_val[s]
                    c_ac[k] = _logaddexp(c_ac[k], score)
                    continue
                m_stamp[s], m_a[s], m_b[s], m_val[s] = stamp, key_a, key_b, n_cand
                k = n_cand
                n_cand += 1
                c_node[k], c_parent[k], c_label[k], c_blank[k], c_ac[k] = existing, node, c, blank, score
                if existing >= 0:
                    c_extra[k] = extra[existing]
                    continue
                # a new prefix: what the scorer says of `node` + c
                st, wn, hn, hd = lmstate[node], wnode[node], hnode[node], hotdone[node]
                ok, add = True, 0.0
                if lm_kind == CHAR_LM:
                    log10, st = ngram_step(lka, lkb, lval, lprob, lback, lsuffix, ldepth, lorder, lunk, st,
                                           char_token[c])
                    add += alpha * LN10 * log10 + beta
                letter = letters[c]
                if use_trie:
                    if letter:  # starts or continues a word
                        if wn != OOV:
                            nxt = lookup(tka, tkb, tval, 0 if wn == OUT else wn, c)
                            if nxt < 0:  # leaves the vocabulary
                                ok = not strict
                                nxt = OOV
                                if lm_kind == WORD_LM:
                                    add += alpha * LN10 * ngram_step(lka, lkb, lval, lprob, lback, lsuffix, ldepth,
                                                                     lorder, lunk, st, unk)[0]
                            wn = nxt
                    else:  # continues a word where the trie spells one so, else ends it
                        nxt = -1
                        if wn >= 0 and c != space:
                            nxt = lookup(tka, tkb, tval, wn, c)
                        if nxt >= 0:
                            wn = nxt
                        elif wn != OUT:
                            ok, more, st = _word_end(lm_kind, strict, alpha, beta, unk, tend, lka, lkb, lval, lprob,
                                                     lback, lsuffix, ldepth, lorder, lunk, st, wn)
                            add += more
                            wn = OUT
                if use_hot:
                    if hn >= 0:
                        if not letter and hot_complete[hn] > 0:
                            hd += hot_complete[hn]
                        nxt = lookup(hka, hkb, hval, hn, c)
                        while nxt < 0 and hot_fail[hn] >= 0:
                            hn = hot_fail[hn]
                            nxt = lookup(hka, hkb, hval, hn, c)
                        hn = nxt
                    if hn < 0 and c != space and (last < 0 or not letters[last]):
                        hn = lookup(hka, hkb, hval, 0, c)
                c_lmstate[k], c_wnode[k], c_hnode[k] = st, wn, hn
                c_lmacc[k], c_hotdone[k] = lmacc[node] + add, hd
                c_extra[k] = lmacc[node] + add + hd + (hot_partial[hn] if hn >= 0 else 0.0) if ok else NEG_INF
        # prune, and keep the best `width`
        best = NEG_INF
        for k in range(n_cand):
            totals[k] = c_ac[k] + c_extra[k]
            best = max(best, totals[k])
        n_keep = 0
        for k in range(n_cand):
            if totals[k] > NEG_INF and totals[k] >= best + beam_prune_logp:
                keep[n_keep] = k
                n_keep += 1
        order = np.argsort(-totals[keep[:n_keep]], kind="mergesort")  # stable: ties keep candidate order
        # Equal totals can come from rounding (ac + a == ac + b for a < b by one ulp): there the
        # better label of this frame goes first, so that width 1 is exactly the best path.
        for i in range(1, n_keep):
            j = i
            while j > 0:
                a, b = keep[order[j - 1]], keep[order[j]]
                if totals[a] != totals[b] or lp[c_label[a]] >= lp[c_label[b]]:
                    break
                order[j - 1], order[j] = order[j], order[j - 1]
                j -= 1
        n_beam = min(width, n_keep)
        for i in range(n_beam):
            k = keep[order[i]]
            node = c_node[k]
            if node < 0:
                node = count
                count += 1
                parent[node], label[node] = c_parent[k], c_label[k]
                lmstate[node], wnode[node], hnode[node] = c_lmstate[k], c_wnode[k], c_hnode[k]
                lmacc[node], hotdone[node], extra[node] = c_lmacc[k], c_hotdone[k], c_extra[k]
                store(cka, ckb, cval, c_parent[k], c_label[k], node)
            b_node[i], b_blank[i], b_ac[i] = node, c_blank[k], c_ac[k]
        if n_beam == 0:  # every candidate was disallowed: nothing can be decoded
            break

    # merge the states of each text (a trailing space reads as its parent), then add the
    # end-of-input scores of the text
    text_node = b_node[:n_beam].copy()
    for i in range(n_beam):
        if text_node[i] != 0 and label[text_node[i]] == space:
            text_node[i] = parent[text_node[i]]
    order = np.argsort(text_node, kind="mergesort")
    f_node = np.empty(n_beam, np.int32)
    f_ac = np.empty(n_beam, np.float64)
    n_final = 0
    for i in range(n_beam):
        k = order[i]
        if n_final > 0 and f_node[n_final - 1] == text_node[k]:
            f_ac[n_final - 1] = _logaddexp(f_ac[n_final - 1], b_ac[k])
        else:
            f_node[n_final], f_ac[n_final] = text_node[k], b_ac[k]
            n_final += 1
    f_total = np.empty(n_final, np.float64)
    any_ok = False
    for i in range(n_final):
        node = f_node[i]
        st, add, ok = lmstate[node], 0.0, True
        if use_trie and wnode[node] != OUT:
            ok, add, st = _word_end(lm_kind, strict, alpha, beta, unk, tend, lka, lkb, lval, lprob,
                                    lback, lsuffix, ldepth, lorder, lunk, st, wnode[node])
        if lm_kind != NO_LM:
            add += alpha * LN10 * ngram_step(lka, lkb, lval, lprob, lback, lsuffix, ldepth, lorder, lunk, st, eos)[0]
        hd = hotdone[node]
        if use_hot and hnode[node] >= 0:
            hd += hot_complete[hnode[node]]
        f_total[i] = f_ac[i] + lmacc[node] + add + hd if ok else NEG_INF
        any_ok = any_ok or ok
    if not any_ok:  # nothing ends well (a lexicon word cut off): keep the best prefixes as they stand
        for i in range(n_final):
            f_total[i] = f_ac[i] + extra[f_node[i]]
    order = np.argsort(-f_total, kind="mergesort")
    n_out = 0
    for i in range(n_final):
        if f_total[order[i]] > NEG_INF:
            n_out += 1
    n_out = min(n_out, max(1, nbest))
    out = order[:n_out]
    return parent[:count].copy(), label[:count].copy(), f_node[out], f_total[out], f_ac[out]


@numba.njit(cache=True)
def force_align(log_probs, labels, space):
    """The best CTC path spelling the text ``labels`` (Viterbi): its log probability, and per label
    the frames ``[start, end)`` it is emitted on and its mean posterior over them.

    Paths may add what text tidying removes, as the search allows: space runs before the text,
    after it, and after any space of it (``a b`` is also ``a␣_␣b``). A space of the text spans its
    first run only, as in greedy decoding. ``space`` is the space label, or -1.
    """
    n_frames = log_probs.shape[0]
    n = labels.shape[0]
    starts = np.zeros(n, np.int64)
    ends = np.zeros(n, np.int64)
    conf = np.zeros(n, np.float64)
    if n_frames == 0:
        return 0.0 if n == 0 else NEG_INF, starts, ends, conf
    spaces = space >= 0
    # states: [space_lead, blank_0,] label_0, blank_1, ..., label_n-1, blank_n[, space_trail, blank_trail]
    first = 2 if spaces else 1  # index of blank_0 + 1, i.e. of label_0
    n_states = first + 2 * n + (2 if spaces and n > 0 else 0)
    state_label = np.zeros(n_states, np.int64)  # blanks are 0
    owner = np.full(n_states, -1, np.int64)  # which text label a state emits, -1 for none
    preds = np.full((n_states, 3), -1, np.int64)  # predecessors besides the state itself
    start_ok = np.zeros(n_states, np.bool_)
    end_ok = np.zeros(n_states, np.bool_)
    b0 = first - 1
    start_ok[b0] = True
    if spaces:
        state_label[0] = space
        start_ok[0] = True
        preds[0, 0] = b0  # space, blank, space, ... before the text
        preds[b0, 0] = 0
    for k in range(n):
        s = first + 2 * k
        state_label[s] = labels[k]
        owner[s] = k
        preds[s, 0] = s - 1
        if k == 0:
            start_ok[s] = True
            if spaces and labels[0] != space:
                preds[s, 1] = 0
        elif labels[k] != labels[k - 1]:
            preds[s, 1] = s - 2
        if labels[k] == space:
            preds[s, 2] = s + 1  # another space run after the blank that follows this one
        preds[s + 1, 0] = s
    last_blank = first + 2 * n - 1
    end_ok[last_blank] = True
    if n > 0:
        end_ok[last_blank - 1] = True
    if spaces and n > 0:
        trail = last_blank + 1
        state_label[trail] = space
        preds[trail, 0] = last_blank
        if labels[n - 1] != space:
            preds[trail, 1] = last_blank - 1
        preds[trail, 2] = trail + 1
        preds[trail + 1, 0] = trail
        end_ok[trail] = True
        end_ok[trail + 1] = True
    if n == 0 and spaces:
        end_ok[0] = True

    dp = np.full((n_frames, n_states), NEG_INF)
    back = np.zeros((n_frames, n_states), np.int64)
    for s in range(n_states):
        if start_ok[s]:
            dp[0, s] = log_probs[0, state_label[s]]
            back[0, s] = s
    for t in range(1, n_frames):
        for s in range(n_states):
            best = dp[t - 1, s]
            arg = s
            for j in range(3):
                p = preds[s, j]
                if p >= 0 and dp[t - 1, p] > best:
                    best = dp[t - 1, p]
                    arg = p
            if best > NEG_INF:
                dp[t, s] = best + log_probs[t, state_label[s]]
                back[t, s] = arg
    s = -1
    total = NEG_INF
    for e in range(n_states):
        if end_ok[e] and dp[n_frames - 1, e] > total:
            total = dp[n_frames - 1, e]
            s = e
    if total == NEG_INF:
        return total, starts, ends, conf
    # walk back; a label's span is its first run (a space may have several)
    path = np.empty(n_frames, np.int64)
    for t in range(n_frames - 1, -1, -1):
        path[t] = s
        s = back[t, s]
    starts[:] = -1
    for t in range(n_frames):
        k = owner[path[t]]
        if k < 0:
            continue
        if starts[k] == -1:
            starts[k] = t
            ends[k] = t + 1
            conf[k] = math.exp(log_probs[t, labels[k]])
        elif ends[k] == t:  # still the first run
            ends[k] = t + 1
            conf[k] += math.exp(log_probs[t, labels[k]])
    for k in range(n):
        conf[k] /= ends[k] - starts[k]
    return total, starts, ends, conf
