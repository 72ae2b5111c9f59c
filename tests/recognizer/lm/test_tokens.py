import pytest

from recognizer.lm.tokens import (
    SPACE,
    char_tokens,
    guess_unit,
    is_letter,
    tokenize,
    word_tokens,
)


def test_words_are_letters_with_inner_apostrophes_and_hyphens():
    assert word_tokens("Call 911, now. Don't re-enter 'quoted' e-mail--x") == \
        ["Call", "now", "Don't", "re-enter", "quoted", "e-mail", "x"]
    assert word_tokens("café naïve über") == ["café", "naïve", "über"]
    assert word_tokens("a_b 3d mp3") == ["a", "b", "d", "mp"]


def test_chars_keep_everything_and_name_the_space():
    assert char_tokens("  a b\tc  ") == ["a", SPACE, "b", SPACE, "c"]
    assert tokenize("ab c", "char") == ["a", "b", SPACE, "c"]
    with pytest.raises(ValueError):
        tokenize("x", "syllable")


def test_guess_unit_and_letters():
    assert guess_unit(["<s>", "</s>", "<unk>", "a", "b", SPACE]) == "char"
    assert guess_unit(["<s>", "a", "bc"]) == "word"
    assert guess_unit(["<s>", "</s>"]) == "word"
    assert is_letter("é") and not is_letter("'") and not is_letter("3") and not is_letter(" ")
