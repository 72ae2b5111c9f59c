import itertools
import math
from collections import Counter

import numpy as np
import pytest

from recognizer.lm import build_kneser_ney
from recognizer.lm.kneser_ney import FALLBACK_DISCOUNTS, estimate_discounts

TOY = [s.split() for s in [
    "the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the cat ate",
    "on the mat the cat sat", "a dog sat", "the the cat", "mat",
]]


class DirectKneserNey:
    """Interpolated modified Kneser-Ney written out from its definition, with dicts."""

    def __init__(self, sentences, order, discounts):
        self.order, self.discounts = order, discounts
        counts = [Counter() for _ in range(order + 1)]
        for s in sentences:
            tokens = ["<s>"] + s + ["</s>"]
            for k in range(1, order + 1):
                for i in range(len(tokens) - k + 1):
                    counts[k][tuple(tokens[i:i + k])] += 1
        self.adjusted = [Counter() for _ in range(order + 1)]
        for k in range(1, order + 1):
            for g, c in counts[k].items():
                if k == order or g[0] == "<s>":
                    self.adjusted[k][g] = c
                else:
                    self.adjusted[k][g] = len({h for h in counts[k + 1] if h[1:] == g})
        self.vocab = sorted({t for s in sentences for t in s} | {"</s>", "<unk>"})

    def discount(self, k, a):
        d1, d2, d3 = self.discounts[k - 1]
        return 0.0 if a == 0 else d1 if a == 1 else d2 if a == 2 else d3

    def prob(self, word, context):
        context = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        k = len(context) + 1
        if k == 1:
            ext = {g[0]: a for g, a in self.adjusted[1].items() if g[0] != "<s>"}
            lower = 1.0 / len(self.vocab)
        else:
            ext = {g[-1]: a for g, a in self.adjusted[k].items() if g[:-1] == context}
            if not ext:
                return self.prob(word, context[1:])
            lower = self.prob(word, context[1:])
        total = sum(ext.values())
        gamma = sum(self.discount(k, a) for a in ext.values()) / total
        a = ext.get(word, 0)
        return (a - self.discount(k, a)) / total + gamma * lower


DISCOUNTS = [(0.3, 0.6, 0.9), (0.5, 1.0, 1.4), (0.7, 1.1, 1.8)]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_probabilities_match_the_definition(order):
    model, summary = build_kneser_ney(TOY, order, discounts=DISCOUNTS[:order])
    direct = DirectKneserNey(TOY, order, DISCOUNTS[:order])
    tokens = direct.vocab + ["<s>"]
    contexts = [()]
    for n in range(1, order):
        contexts += [c for c in itertools.product(tokens, repeat=n) if "<s>" not in c[1:] and "</s>" not in c[:-1]]
    for context in contexts:
        total = 0.0
        for word in direct.vocab:
            got = 10 ** model.log10_prob(word, context)
            assert got == pytest.approx(direct.prob(word, context), rel=1e-9), (word, context)
            total += got
        assert total == pytest.approx(1.0, abs=1e-9)  # a distribution, <unk> included
        # an unknown word is <unk>
        assert model.log10_prob("zebra", context) == model.log10_prob("<unk>", context)
    assert summary["vocabulary"] == len(direct.vocab) + 1  # + <s>
    assert model.log10_prob("<s>") == -99


def test_sentence_score_is_the_chain_rule():
    model, _ = build_kneser_ney(TOY, 3, discounts=DISCOUNTS)
    direct = DirectKneserNey(TOY, 3, DISCOUNTS)
    sentence = ["the", "cat", "sat", "on", "a", "log"]
    history = ["<s>"]
    expected = 0.0
    for word in sentence + ["</s>"]:
        expected += math.log10(direct.prob(word, history))
        history.append(word)
    assert model.score(sentence) == pytest.approx(expected, rel=1e-9)


def test_discounts_from_counts_of_counts():
    counts = np.array([1] * 50 + [2] * 20 + [3] * 10 + [4] * 6 + [9] * 3)
    (d1, d2, d3), estimated = estimate_discounts(counts)
    y = 50 / (50 + 2 * 20)
    assert estimated
    assert (d1, d2, d3) == pytest.approx((1 - 2 * y * 20 / 50, 2 - 3 * y * 10 / 20, 3 - 4 * y * 6 / 10))
    assert estimate_discounts(np.array([1, 1, 2, 3]))[1] is False  # no count of 4
    assert estimate_discounts(np.array([1, 1, 2, 3]))[0] == FALLBACK_DISCOUNTS


def test_estimated_discounts_are_used_on_a_real_sized_corpus():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(3000)]
    weights = 1 / np.arange(1, 3001)
    sentences = [list(rng.choice(words, size=rng.integers(3, 12), p=weights / weights.sum())) for _ in range(2000)]
    model, summary = build_kneser_ney(sentences, 2)
    direct = DirectKneserNey(sentences, 2, [FALLBACK_DISCOUNTS] * 2)
    assert summary["fallback_orders"] == []
    for k in (1, 2):
        adjusted = np.array([a for g, a in direct.adjusted[k].items() if g != ("<s>",)])
        assert summary["discounts"][k - 1] == pytest.approx(estimate_discounts(adjusted)[0], abs=1e-6)
    direct.discounts = summary["discounts"]
    for context in [(), ("w0",), ("w5",), ("<s>",), ("w299",), ("w2999",)]:
        for word in ["w0", "w1", "w17", "w250", "w2999", "</s>", "<unk>"]:
            assert 10 ** model.log10_prob(word, context) == pytest.approx(direct.prob(word, context), rel=1e-5)


def test_bad_training_input():
    with pytest.raises(ValueError, match="no sentences"):
        build_kneser_ney([], 2)
    with pytest.raises(ValueError, match="no tokens"):
        build_kneser_ney([[], []], 2)
    with pytest.raises(ValueError, match="reserved"):
        build_kneser_ney([["a", "<s>", "b"]], 2)
    with pytest.raises(ValueError, match="order"):
        build_kneser_ney(TOY, 0)
