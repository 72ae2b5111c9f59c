import pytest

from data_prep.errors import InputError
from recognizer.alphabet import Alphabet
from recognizer.lm import NgramModel
from recognizer.lm.build import build_lm, read_sentences


def test_read_sentences_normalises_and_keeps_to_the_alphabet(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("Hello,\tWorld!\n\n  Café  au lait \n", encoding="utf-8")
    b = tmp_path / "b.txt"
    b.write_text("Don't stop\n", encoding="utf-8")
    assert list(read_sentences([a, b])) == ["Hello, World!", "Café au lait", "Don't stop"]
    assert next(read_sentences([a], lowercase=True)) == "hello, world!"
    alphabet = Alphabet(" 'abcdefhilnoprstuw", lowercase=True)
    assert list(read_sentences([a, b], alphabet=alphabet)) == ["hello world", "caf au lait", "don't stop"]


def test_build_lm_writes_a_loadable_model(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("the cat sat\nthe dog sat\n", encoding="utf-8")
    summary = build_lm([text], "word", 2, tmp_path / "w.arpa")
    model = NgramModel.load(tmp_path / "w.arpa")
    assert model.unit == "word" and model.order == 2 and summary["sentences"] == 2
    assert set(model.vocab) == {"<unk>", "<s>", "</s>", "the", "cat", "dog", "sat"}
    build_lm([text], "char", 4, tmp_path / "c.arpa")
    chars = NgramModel.load(tmp_path / "c.arpa")
    assert chars.unit == "char" and "<space>" in chars.vocab and chars.order == 4
    assert chars.log10_prob("e", ["t", "h"]) > chars.log10_prob("o", ["t", "h"])


def test_missing_text_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        build_lm([tmp_path / "nope.txt"], "word", 2, tmp_path / "w.arpa")
