import itertools
import math
from dataclasses import astuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recognizer.alphabet import Alphabet
from recognizer.beam_search import BeamDecoder
from recognizer.decoding import greedy_decode, greedy_decode_batch
from recognizer.hotwords import Hotword
from recognizer.lm import build_kneser_ney
from recognizer.lm.tokens import char_tokens

ALPHA = Alphabet(" ab")  # blank 0, " " 1, "a" 2, "b" 3
LN10 = math.log(10)
EXHAUSTIVE = {"width": 4096, "token_min_logp": -np.inf, "beam_prune_logp": -np.inf}


def log_softmax(x):
    x = np.asarray(x, np.float64)
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)


def random_log_probs(rng, t, v=4, scale=2.0):
    return log_softmax(rng.normal(size=(t, v)) * scale)


def collapse(path):
    return tuple(label for label, _ in itertools.groupby(path) if label != 0)


def text(labels, alphabet=ALPHA):
    """The tidy text of a label sequence (no edge or double spaces)."""
    return " ".join(alphabet.decode(labels).split())


def path_sums(log_probs):
    """log P(text) for every text, by summing over all V**T CTC paths."""
    t, v = log_probs.shape
    sums = {}
    for path in itertools.product(range(v), repeat=t):
        lp = log_probs[np.arange(t), path].sum()
        key = text(collapse(path))
        sums[key] = np.logaddexp(sums.get(key, -np.inf), lp)
    return sums


@st.composite
def small_inputs(draw, max_t=5):
    t = draw(st.integers(1, max_t))
    logits = draw(arrays(np.float64, (t, 4), elements=st.floats(-5, 5)))
    return log_softmax(logits)


# --- without a language model -----------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(small_inputs())
def test_best_beam_is_the_most_probable_text_by_brute_force(log_probs):
    sums = path_sums(log_probs)
    beams = BeamDecoder(ALPHA, nbest=5, **EXHAUSTIVE).search(log_probs)
    best = max(sums.values())
    assert beams[0].score == pytest.approx(best, abs=1e-9)
    assert beams[0].acoustic == pytest.approx(best, abs=1e-9)
    assert sums[text(beams[0].labels)] == pytest.approx(best, abs=1e-9)
    # every n-best entry carries the exact probability of its text, in order, and is tidy
    for beam in beams:
        assert beam.score == pytest.approx(sums[text(beam.labels)], abs=1e-9)
        assert text(beam.labels) == ALPHA.decode(beam.labels)
    scores = [b.score for b in beams]
    assert scores == sorted(scores, reverse=True)
    # and they are the top texts (up to ties)
    top = sorted(sums.values(), reverse=True)[: len(beams)]
    np.testing.assert_allclose(scores, top, atol=1e-9)


def test_beam_finds_a_labeling_that_greedy_misses():
    # best path is "a" then blank ... but "b" has more mass spread over its paths
    lp = np.log(np.array([[0.0, 0.0, 0.5, 0.5], [0.6, 0.0, 0.0, 0.4], [0.6, 0.0, 0.0, 0.4]]) + 1e-12)
    lp = log_softmax(lp)
    sums = path_sums(lp)
    want = max(sums, key=sums.get)
    assert greedy_decode(lp, ALPHA).text != want
    assert BeamDecoder(ALPHA, width=8).decode(lp).text == want


@settings(max_examples=150, deadline=None)
@given(small_inputs(max_t=12), st.floats(0.01, 10), st.floats(0, 100))
def test_width_one_is_greedy_text_and_confidence(log_probs, step, offset):
    greedy = greedy_decode(log_probs, ALPHA, step, offset)
    beam = BeamDecoder(ALPHA, width=1).decode(log_probs, step, offset)
    assert beam.text == greedy.text
    assert beam.confidence == pytest.approx(greedy.confidence, rel=1e-9)


def test_width_one_is_greedy_in_everything():
    rng = np.random.default_rng(0)
    decoder = BeamDecoder(ALPHA, width=1)
    for t in range(40):
        for scale in (0.5, 3.0):
            lp = random_log_probs(rng, t, scale=scale).astype(np.float32)
            greedy, beam = greedy_decode(lp, ALPHA, 0.04, 1.0), decoder.decode(lp, 0.04, 1.0)
            assert beam.text == greedy.text
            for got, want in [(beam.chars, greedy.chars), (beam.words, greedy.words)]:
                assert [astuple(x)[:3] for x in got] == [astuple(x)[:3] for x in want]  # label, start, end
                np.testing.assert_allclose([x.confidence for x in got], [x.confidence for x in want], rtol=1e-12)
            assert beam.confidence == pytest.approx(greedy.confidence, rel=1e-6)


def test_batch_equals_items_and_matches_greedy_shape():
    rng = np.random.default_rng(1)
    batch = np.stack([random_log_probs(rng, 20) for _ in range(3)])
    lengths = [20, 7, 0]
    decoder = BeamDecoder(ALPHA, width=16)
    decoded = decoder.decode_batch(batch, lengths, steps=[0.1, 0.2, 0.3], offsets=[0, 5, 9])
    for item, n, step, offset, d in zip(batch, lengths, [0.1, 0.2, 0.3], [0, 5, 9], decoded):
        assert d == decoder.decode(item[:n], step, offset)
    assert decoded[2].text == "" and decoded[2].confidence == 1.0
    greedy = greedy_decode_batch(batch, lengths, ALPHA)
    assert [type(g) for g in greedy] == [type(d) for d in decoded]


def test_spans_and_confidences_come_from_the_best_path_of_the_chosen_text():
    rng = np.random.default_rng(2)
    for _ in range(20):
        lp = random_log_probs(rng, 30, scale=3.0)
        d = BeamDecoder(ALPHA, width=8).decode(lp, step=0.5, offset=2.0)
        assert "".join(c.char for c in d.chars) == d.text
        assert " ".join(w.word for w in d.words) == d.text
        for c in d.chars:
            assert 2.0 <= c.start < c.end <= 2.0 + 30 * 0.5 and 0 < c.confidence <= 1
            frames = range(round((c.start - 2.0) / 0.5), round((c.end - 2.0) / 0.5))
            mean = np.mean([math.exp(lp[f, ALPHA.index(c.char)]) for f in frames])
            assert c.confidence == pytest.approx(mean)
        starts = [c.start for c in d.chars]
        assert starts == sorted(starts)
        # the confidence is the per-frame mean of a path that spells the text: at most the best path's
        assert d.confidence <= greedy_decode(lp, ALPHA).confidence + 1e-12


def test_nbest_texts_are_distinct_and_ordered():
    rng = np.random.default_rng(3)
    lp = random_log_probs(rng, 10, scale=1.0)
    d = BeamDecoder(ALPHA, width=32, nbest=5).decode(lp)
    texts = [h.text for h in d.nbest]
    assert len(d.nbest) == 5 and len(set(texts)) == 5
    assert texts[0] == d.text
    scores = [h.score for h in d.nbest]
    assert scores == sorted(scores, reverse=True)
    assert BeamDecoder(ALPHA, width=32).decode(lp).nbest == []


def test_pruning_options_keep_the_best_when_outputs_are_peaky():
    rng = np.random.default_rng(4)
    path = rng.integers(0, 4, size=50)
    lp = np.full((50, 4), math.log(0.001 / 3))
    lp[np.arange(50), path] = math.log(0.999)
    pruned = BeamDecoder(ALPHA, width=8, token_min_logp=-5, beam_prune_logp=-8).decode(lp)
    full = BeamDecoder(ALPHA, width=8, token_min_logp=-np.inf, beam_prune_logp=-np.inf).decode(lp)
    assert pruned.text == full.text == greedy_decode(lp, ALPHA).text


def test_bad_input():
    decoder = BeamDecoder(ALPHA)
    with pytest.raises(ValueError, match="classes"):
        decoder.decode(np.zeros((3, 5)))
    with pytest.raises(ValueError):
        decoder.decode(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        decoder.decode(np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="width"):
        BeamDecoder(ALPHA, width=0)


# --- with language models, lexicons and hotwords: exhaustive search against brute force ------


def words_of(txt):
    return txt.split()


def best_by_brute_force(log_probs, extra):
    """The text maximising acoustic + extra(text); extra None means disallowed."""
    scored = {}
    for txt, ac in path_sums(log_probs).items():
        e = extra(txt)
        if e is not None:
            scored[txt] = ac + e
    best = max(scored, key=scored.get)
    return best, scored[best]


CORPUS = ["ab ba", "ab ab ba", "ba", "a ab", "bb ab", "ab"]


@pytest.fixture(scope="module")
def word_lm():
    return build_kneser_ney([s.split() for s in CORPUS], order=2)[0]


@pytest.fixture(scope="module")
def char_lm():
    return build_kneser_ney([char_tokens(s) for s in CORPUS], order=3)[0]


def word_lm_extra(lm, alpha, beta):
    def extra(txt):
        words = words_of(txt)
        tokens = [w if w in lm.ids else "<unk>" for w in words]
        return alpha * LN10 * lm.score(tokens) + beta * len(words)
    return extra


@settings(max_examples=40, deadline=None)
@given(small_inputs(max_t=5), st.floats(0.1, 2.0), st.floats(-2, 3))
def test_word_lm_beam_equals_brute_force(word_lm, log_probs, alpha, beta):
    decoder = BeamDecoder(ALPHA, lm=word_lm, alpha=alpha, beta=beta, **EXHAUSTIVE)
    _, score = best_by_brute_force(log_probs, word_lm_extra(word_lm, alpha, beta))
    beam = decoder.search(log_probs)[0]
    assert beam.score == pytest.approx(score, abs=1e-6)
    assert word_lm_extra(word_lm, alpha, beta)(text(beam.labels)) + path_sums(log_probs)[text(beam.labels)] == \
        pytest.approx(score, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(small_inputs(max_t=5), st.floats(0.1, 2.0), st.floats(-1, 1))
def test_char_lm_beam_equals_brute_force(char_lm, log_probs, alpha, beta):
    decoder = BeamDecoder(ALPHA, lm=char_lm, alpha=alpha, beta=beta, **EXHAUSTIVE)

    def extra(txt):
        tokens = ["<space>" if c == " " else c for c in txt]
        return alpha * LN10 * char_lm.score(tokens) + beta * len(tokens)

    _, score = best_by_brute_force(log_probs, extra)
    assert decoder.search(log_probs)[0].score == pytest.approx(score, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(small_inputs(max_t=5))
def test_lexicon_beam_equals_brute_force(log_probs):
    lexicon = ["ab", "b"]
    decoder = BeamDecoder(ALPHA, lexicon=lexicon, **EXHAUSTIVE)
    _, score = best_by_brute_force(log_probs, lambda txt: 0.0 if set(words_of(txt)) <= set(lexicon) else None)
    beam = decoder.search(log_probs)[0]
    assert beam.score == pytest.approx(score, abs=1e-9)
    assert set(words_of(text(beam.labels))) <= set(lexicon)


@settings(max_examples=40, deadline=None)
@given(small_inputs(max_t=5), st.floats(0.5, 5))
def test_hotword_beam_equals_brute_force(log_probs, weight):
    decoder = BeamDecoder(ALPHA, hotwords=[Hotword("ba", weight)], **EXHAUSTIVE)
    _, score = best_by_brute_force(log_probs, lambda txt: weight * words_of(txt).count("ba"))
    assert decoder.search(log_probs)[0].score == pytest.approx(score, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(small_inputs(max_t=5), st.floats(0.5, 5))
def test_hotword_phrase_beam_equals_brute_force(log_probs, weight):
    decoder = BeamDecoder(ALPHA, hotwords=[Hotword("a b", weight)], **EXHAUSTIVE)

    def bonus(txt):
        words = words_of(txt)
        return weight * sum(words[i:i + 2] == ["a", "b"] for i in range(len(words)))

    _, score = best_by_brute_force(log_probs, bonus)
    assert decoder.search(log_probs)[0].score == pytest.approx(score, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(small_inputs(max_t=7), st.floats(2, 20))
def test_overlapping_and_nested_hotword_phrases_equal_brute_force(log_probs, weight):
    # "a a a b" holds "a a b" only from its second word, and "b" ends inside "a a b"
    hotwords = [Hotword("a a b", weight), Hotword("b", weight / 2)]
    decoder = BeamDecoder(ALPHA, hotwords=hotwords, **EXHAUSTIVE)

    def bonus(txt):
        words = words_of(txt)
        return weight * sum(words[i:i + 3] == ["a", "a", "b"] for i in range(len(words))) + \
            weight / 2 * words.count("b")

    _, score = best_by_brute_force(log_probs, bonus)
    assert decoder.search(log_probs)[0].score == pytest.approx(score, abs=1e-9)


def test_a_phrase_is_found_after_a_false_start():
    # frames spell "a a a b"; only matching from the second "a" finds the hotword
    labels = [2, 1, 2, 1, 2, 1, 3]
    lp = np.full((len(labels), 4), -8.0)
    lp[np.arange(len(labels)), labels] = 0.0
    lp = log_softmax(lp)
    plain = BeamDecoder(ALPHA, width=8).search(lp)[0].score
    boosted = BeamDecoder(ALPHA, width=8, hotwords=[Hotword("a a b", 3.0)]).search(lp)[0]
    assert text(boosted.labels) == "a a a b" and boosted.score == pytest.approx(plain + 3.0)


def test_hotword_turns_a_close_call():
    # "ab" and "bb" are nearly tied; a hotword decides
    lp = log_softmax(np.log(np.array([[0.01, 0.01, 0.50, 0.48], [0.97, 0.01, 0.01, 0.01], [0.01, 0.01, 0.01, 0.97]])))
    assert BeamDecoder(ALPHA, width=8).decode(lp).text == "ab"
    assert BeamDecoder(ALPHA, width=8, hotwords=[Hotword("bb", 1.0)]).decode(lp).text == "bb"


def test_lexicon_keeps_digits_and_punctuation_between_words():
    alphabet = Alphabet(" ab1,")
    labels = [alphabet.index(c) for c in "ab, 1 ba"]
    lp = np.full((len(labels) * 2, alphabet.size), math.log(0.02))
    for i, label in enumerate(labels):
        lp[2 * i, label] = math.log(0.9)
        lp[2 * i + 1, 0] = math.log(0.9)
    lp = log_softmax(lp)
    assert BeamDecoder(alphabet, width=16, lexicon=["ab", "ba"]).decode(lp).text == "ab, 1 ba"
    # "ba" not in the lexicon: the decoder must find another reading
    assert "ba" not in BeamDecoder(alphabet, width=16, lexicon=["ab"]).decode(lp).text.split()


def test_hotwords_join_the_lexicon():
    lp = log_softmax(np.log(np.array([[0.01, 0.01, 0.01, 0.97], [0.97, 0.01, 0.01, 0.01], [0.01, 0.01, 0.01, 0.97],
                                      [0.01, 0.97, 0.01, 0.01], [0.01, 0.01, 0.97, 0.01]])))
    assert BeamDecoder(ALPHA, width=8).decode(lp).text == "bb a"
    assert BeamDecoder(ALPHA, width=8, lexicon=["a"]).decode(lp).text != "bb a"
    assert BeamDecoder(ALPHA, width=8, lexicon=["a"], hotwords=[Hotword("bb a", 0.1)]).decode(lp).text == "bb a"


def test_word_lm_prefers_known_words():
    # acoustics slightly prefer "ab bb"; the LM knows "ab ba" well
    alphabet = ALPHA
    rows = [[0.02, 0.02, 0.9, 0.06], [0.02, 0.02, 0.06, 0.9], [0.02, 0.9, 0.04, 0.04],
            [0.02, 0.02, 0.06, 0.9], [0.9, 0.02, 0.04, 0.04], [0.02, 0.02, 0.40, 0.56]]
    lp = log_softmax(np.log(np.array(rows)))
    lm = build_kneser_ney([s.split() for s in ["ab ba"] * 20 + ["ab"]], order=2)[0]
    assert BeamDecoder(alphabet, width=16).decode(lp).text == "ab bb"
    assert BeamDecoder(alphabet, width=16, lm=lm, alpha=1.0, beta=0.0).decode(lp).text == "ab ba"
