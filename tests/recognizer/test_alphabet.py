import json

import pytest

from recognizer.alphabet import Alphabet, UnknownCharacters, normalise_text


@pytest.fixture
def abc():
    return Alphabet(" abc")


def test_ids_are_positions_plus_one_and_blank_is_zero(abc):
    assert abc.chars == (" ", "a", "b", "c")
    assert [abc.index(c) for c in " abc"] == [1, 2, 3, 4]
    assert abc.size == 5 and len(abc) == 4 and abc.blank == 0


def test_encode_decode_round_trip(abc):
    ids = abc.encode("cab  a\tbc")
    assert ids == [4, 2, 3, 1, 2, 1, 3, 4]
    assert abc.decode(ids) == "cab a bc"


def test_decode_ignores_blanks_keeps_repeats_and_rejects_out_of_range(abc):
    assert abc.decode([0, 2, 2, 0, 3]) == "aab"
    for bad in ([5], [-1]):
        with pytest.raises(ValueError, match="out of range"):
            abc.decode(bad)


def test_normalise_whitespace_nfc_and_case():
    assert normalise_text("\t a\u00a0\u00a0b\n\r\nc \u3000") == "a b c"
    assert normalise_text("e\u0301") == "\u00e9"  # decomposed -> composed
    assert normalise_text("ÉA b") == "ÉA b"
    assert normalise_text("E\u0301A", lowercase=True) == "\u00e9a"


def test_encode_normalises_nfc_and_lowercase():
    alpha = Alphabet(["\u00e9", "a"], lowercase=True)
    assert alpha.encode("E\u0301A") == [1, 2]


def test_unknown_characters_error_lists_exactly_them(abc):
    with pytest.raises(UnknownCharacters) as info:
        abc.encode("a xyx ß b")
    err = info.value
    assert isinstance(err, ValueError)
    assert dict(err.chars) == {"x": 2, "y": 1, "ß": 1}
    msg = str(err)
    assert "'x' (x2)" in msg and "'y' (x1)" in msg and "'ß' (x1)" in msg
    assert msg.index("'x'") < msg.index("'y'") < msg.index("'ß'")  # sorted
    assert "'a'" not in msg and "'b'" not in msg


def test_skip_drops_unknown_and_collapses_spaces(abc):
    assert abc.decode(abc.encode("a xyz b", unknown="skip")) == "a b"
    assert abc.decode(abc.encode("xx a b yy", unknown="skip")) == "a b"
    assert abc.encode("xyz", unknown="skip") == []
    # without a space in the alphabet, spaces are unknown like any other character
    assert Alphabet("ab").encode("a b", unknown="skip") == [1, 2]
    with pytest.raises(ValueError):
        abc.encode("a", unknown="ignore")


def test_unknown_chars_counts_over_normalised_texts(abc):
    assert abc.unknown_chars(["ax\tx", "zz", "abc"]) == {"x": 2, "z": 2}
    assert Alphabet("ab").unknown_chars("a\t\tb") == {" ": 1}  # one text, tabs collapsed


def test_from_texts_sorted_with_space():
    alpha = Alphabet.from_texts(["hello  world", "Hi\tthere"])
    assert "".join(alpha.chars) == " Hdehilortw"
    assert " " not in Alphabet.from_texts(["one", "two"])
    low = Alphabet.from_texts(["AbA"], lowercase=True)
    assert low.chars == ("a", "b") and low.lowercase


def test_dict_round_trip_is_json_safe():
    alpha = Alphabet(["z", "a", " ", "é"], lowercase=True)
    data = json.loads(json.dumps(alpha.to_dict()))
    assert data == {"chars": ["z", "a", " ", "é"], "lowercase": True}
    back = Alphabet.from_dict(data)
    assert back == alpha and back.chars == alpha.chars and hash(back) == hash(alpha)
    assert back != Alphabet(["z", "a", " ", "é"])  # lowercase is part of identity


def test_contains_and_index(abc):
    assert "a" in abc and "x" not in abc and "ab" not in abc and 1 not in abc
    with pytest.raises(ValueError):
        abc.index("x")


@pytest.mark.parametrize(
    "chars", [["a", "a"], ["ab"], [""], ["\t"], ["\u00a0"], ["e\u0301"], ["\u212b"]]
)
def test_invalid_alphabets_rejected(chars):
    with pytest.raises(ValueError):
        Alphabet(chars)


def test_uppercase_unreachable_in_lowercase_alphabet():
    with pytest.raises(ValueError, match="unreachable"):
        Alphabet("aB", lowercase=True)


def test_adapted_to_keeps_the_models_order_drops_unused_and_appends_new_sorted():
    model = Alphabet(["b", " ", "a", "z"])
    adapted = model.adapted_to(["a b€", "é a"])  # 'z' unused; '€' and 'é' new
    assert adapted.chars == ("b", " ", "a", "\u00e9", "\u20ac")  # é (U+00E9) before € (U+20AC)
    assert model.adapted_to(["a b€", "é a"], keep=True).chars == ("b", " ", "a", "z", "\u00e9", "\u20ac")
    # data that uses exactly the model's characters gets the model's alphabet back, ids and all
    assert model.adapted_to(["zab a"]) == model
    assert model.adapted_to("zz") == Alphabet(["z"])  # one string is one text


def test_adapted_to_normalises_like_the_model():
    lower = Alphabet("ab ", lowercase=True)
    adapted = lower.adapted_to(["AB  E\u0301"])  # case folded, NFC, whitespace collapsed
    assert adapted.chars == ("a", "b", " ", "\u00e9") and adapted.lowercase
