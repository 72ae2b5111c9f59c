"""English text: spoken forms of numbers, sentence filtering, the text mix."""
from __future__ import annotations

import os

import numpy as np
import pytest

from data_prep.english_text import (SPEECH_CHARACTERS, TextSampler, Vocabulary, cardinal, clock_time,
                                    common_words, fortune_records, ordinal, sentences, speech_texts, spoken_form,
                                    year)

PROSE = ["The 3 bears ate 2 bowls of porridge at 7:30.", "It's 100% true, isn't it?",
         "I paid $4.50 for the 2nd ticket in 1984.", "Call the office at 0800 now!",
         "A quick brown fox jumps over the lazy dog.", "She sells sea shells by the sea shore."]
VOCABULARY = Vocabulary(words=["the", "a", "house", "garden", "window", "walk", "read", "open", "blue", "old"] * 20,
                        names=["Alice", "Boston", "Carlos"])


@pytest.mark.parametrize("n, words", [(0, "zero"), (13, "thirteen"), (40, "forty"), (99, "ninety nine"),
                                      (100, "one hundred"), (1001, "one thousand one"),
                                      (2_500_017, "two million five hundred thousand seventeen"), (-5, "minus five")])
def test_cardinal(n, words):
    assert cardinal(n) == words


@pytest.mark.parametrize("n, words", [(1, "first"), (2, "second"), (12, "twelfth"), (20, "twentieth"),
                                      (21, "twenty first"), (105, "one hundred fifth")])
def test_ordinal(n, words):
    assert ordinal(n) == words


@pytest.mark.parametrize("n, words", [(1984, "nineteen eighty four"), (2005, "two thousand five"),
                                      (1900, "nineteen hundred"), (1907, "nineteen oh seven"),
                                      (2024, "twenty twenty four"), (2000, "two thousand")])
def test_year(n, words):
    assert year(n) == words


def test_clock_time():
    assert clock_time(7, 5) == "seven oh five"
    assert clock_time(10, 0) == "ten o'clock"
    assert clock_time(11, 45) == "eleven forty five"


@pytest.mark.parametrize("text, spoken", [
    ("The 3 bears ate 2 bowls at 7:30.", "the three bears ate two bowls at seven thirty"),
    ("It's 100% true, isn't it?", "it's one hundred percent true isn't it"),
    ("I paid $4.50 for the 2nd ticket in 1984.",
     "i paid four dollars and fifty cents for the second ticket in nineteen eighty four"),
    ("Call 0800 now!", "call zero eight zero zero now"),
    ("Rock & roll, 1,000 times", "rock and roll one thousand times"),
    ("'Quoted' well-known words", "quoted well known words"),
    ("pi is 3.14", "pi is three point one four"),
])
def test_spoken_form(text, spoken):
    assert spoken_form(text) == spoken


@pytest.mark.parametrize("text", ["see http://example.com", "x = y[0]", "naïve café", "", "!!!"])
def test_spoken_form_rejects_what_cannot_be_said_cleanly(text):
    assert spoken_form(text) is None


def test_sentences_split_filter_and_deduplicate():
    records = ["First sentence is here. Second one, right here! OK.", "First sentence is here.",
               "#### ---- ==== ++++ ****", "THIS HEADER SHOUTS LOUDLY at you"]
    assert sentences(records) == ["First sentence is here.", "Second one, right here!"]


def test_common_words_counts_only_known_words():
    assert common_words(["the cat and the dog", "the zzzq cat"], {"the", "cat", "dog", "and"}, 2) == ["the", "cat"]


def test_speech_texts_are_distinct_in_the_alphabet_and_follow_the_mix():
    texts = speech_texts(300, seed=4, prose=PROSE, vocabulary=VOCABULARY)
    assert len({text for _, text in texts}) == len(texts) > 200
    assert all(set(text) <= SPEECH_CHARACTERS and text == " ".join(text.split()) for _, text in texts)
    kinds = {kind for kind, _ in texts}
    assert kinds >= {"command", "question", "number", "spelled"}
    assert texts == speech_texts(300, seed=4, prose=PROSE, vocabulary=VOCABULARY)
    assert texts != speech_texts(300, seed=5, prose=PROSE, vocabulary=VOCABULARY)


def test_sampler_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown text kind"):
        TextSampler(PROSE, VOCABULARY, np.random.default_rng(0)).draw("poem")


@pytest.mark.skipif(not os.path.isdir("/usr/share/games/fortunes"), reason="Debian fortunes not installed")
def test_fortunes_give_thousands_of_prose_sentences():
    found = sentences(fortune_records())
    assert len(found) > 5000
    assert sum(spoken_form(s) is not None for s in found) > 0.8 * len(found)
