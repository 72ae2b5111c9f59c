import pytest

from recognizer.alphabet import Alphabet
from recognizer.hotwords import DEFAULT_WEIGHT, Hotword, hotword_trie, parse_hotword
from recognizer.lm.trie import trie_child

ALPHA = Alphabet(" abn", lowercase=True)


def test_parse():
    assert parse_hotword("banana") == Hotword("banana", DEFAULT_WEIGHT)
    assert parse_hotword("banana:2.5") == Hotword("banana", 2.5)
    assert parse_hotword("a:b:3") == Hotword("a:b", 3.0)
    for bad, problem in [("banana:x", "not a number"), ("banana:-1", "positive"), (":3", "no word"),
                         ("x:inf", "positive")]:
        with pytest.raises(ValueError, match=problem):
            parse_hotword(bad)


def test_characters_outside_the_alphabet_are_named():
    with pytest.raises(ValueError, match=r"'Bandana!'.*'!', 'd'"):
        hotword_trie([Hotword("Bandana!")], ALPHA)


def test_partial_and_complete_bonuses():
    trie, partial, complete, _ = hotword_trie([Hotword("BAN", 3.0), Hotword("banana", 6.0)], ALPHA)
    node, got = 0, []
    for c in "banana":
        node = trie_child(trie, node, ALPHA.index(c))
        got.append((partial[node], complete[node]))
    assert got == [(1.0, 0), (2.0, 0), (3.0, 3.0), (4.0, 0), (5.0, 0), (6.0, 6.0)]


def test_failure_links_fall_back_to_the_longest_tail_that_starts_a_word():
    hot = hotword_trie([Hotword("ban ban nab", 4.0), Hotword("nab", 1.0), Hotword("an", 2.0)], ALPHA)

    def node(text):
        n = 0
        for c in text:
            n = trie_child(hot.trie, n, ALPHA.index(c))
        return n

    assert hot.fail[node("ban ban")] == node("ban")  # "ban ban ban nab": go on from the second "ban"
    assert hot.fail[node("ban ban ")] == node("ban ")
    assert hot.fail[node("ban")] == -1  # "an" is a tail, but not one that starts a word
    assert hot.complete[node("ban ban nab")] == 4.0 + 1.0  # "nab" ends there as a word too
    assert hot.complete[node("an")] == 2.0 and hot.complete[node("ban")] == 0.0
