import pytest

from data_prep.errors import InputError
from recognizer.lm import NgramModel, build_kneser_ney
from recognizer.lm.arpa import read_arpa

TOY = [s.split() for s in ["the cat sat", "the dog sat", "a cat", "the cat ate the dog"]]

# Written by hand in KenLM's style: text before \data\ is ignored, <s> has -99.
HAND = """written by a test

\\data\\
ngram 1=6
ngram 2=4
ngram 3=1

\\1-grams:
-1.5\t<unk>
-99\t<s>\t-0.5
-0.8\t</s>
-0.6\tthe\t-0.2
-0.9\tcat\t-0.3
-1.0\tdog

\\2-grams:
-0.2\t<s> the\t-0.1
-0.3\tthe cat\t-0.05
-0.4\tcat </s>
-0.7\tthe dog

\\3-grams:
-0.01\t<s> the cat

\\end\\
"""


def write(tmp_path, text, name="lm.arpa"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_back_off_semantics_of_a_hand_written_file(tmp_path):
    lm = NgramModel.load(write(tmp_path, HAND))
    assert lm.order == 3 and lm.unit == "word" and lm.vocab[:3] == ["<unk>", "<s>", "</s>"]
    p = lm.log10_prob
    assert p("cat", ["<s>", "the"]) == pytest.approx(-0.01)  # listed trigram
    assert p("dog", ["<s>", "the"]) == pytest.approx(-0.1 + -0.7)  # bo(<s> the) + p(dog | the)
    assert p("cat", ["dog", "the"]) == pytest.approx(-0.3)  # context "dog the" unlisted: bo 0, then bigram
    assert p("</s>", ["the", "cat"]) == pytest.approx(-0.05 + -0.4)
    assert p("dog", ["cat"]) == pytest.approx(-0.3 + -1.0)  # bo(cat) + unigram
    assert p("dog", ["dog"]) == pytest.approx(-1.0)  # dog has no back-off: 0
    assert p("zebra", ["the"]) == pytest.approx(-0.2 + -1.5)  # unknown -> <unk>
    assert lm.score(["the", "cat"]) == pytest.approx(-0.2 + -0.01 + (-0.05 + -0.4))
    # the state forgets what the model cannot use: "the cat" then "cat" alone
    assert lm.state("<s>", "the", "cat") == lm.state("the", "cat")


def test_round_trip_of_a_built_model(tmp_path):
    model, _ = build_kneser_ney(TOY, 3)
    first = tmp_path / "a.arpa"
    model.save(first)
    loaded = NgramModel.load(first)
    assert loaded.vocab == model.vocab and loaded.order == 3
    for context in [(), ("the",), ("<s>", "the"), ("cat", "sat"), ("dog",)]:
        for word in model.vocab[2:] + ["zebra"]:
            assert loaded.log10_prob(word, context) == pytest.approx(model.log10_prob(word, context), abs=1e-6)
    second = tmp_path / "b.arpa"
    loaded.save(second)
    assert second.read_text() == first.read_text()
    assert sum(1 for line in first.read_text().splitlines() if "\t" in line) == sum(len(o) for o in model.orders)


def test_gzip_files_round_trip_byte_for_byte(tmp_path):
    import gzip

    model, _ = build_kneser_ney(TOY, 3)
    model.save(tmp_path / "a.arpa")
    model.save(tmp_path / "a.arpa.gz")
    packed = (tmp_path / "a.arpa.gz").read_bytes()
    assert gzip.decompress(packed).decode() == (tmp_path / "a.arpa").read_text()
    loaded = NgramModel.load(tmp_path / "a.arpa.gz")
    assert loaded.vocab == model.vocab and loaded.log10_prob("sat", ("the", "cat")) == pytest.approx(
        model.log10_prob("sat", ("the", "cat")), abs=1e-6)
    loaded.save(tmp_path / "b.arpa.gz")
    assert (tmp_path / "b.arpa.gz").read_bytes() == packed  # no name or time stamp inside
    assert not list(tmp_path.glob("*.tmp"))


def test_round_trip_of_a_hand_written_file(tmp_path):
    vocab, orders = read_arpa(write(tmp_path, HAND))
    NgramModel(vocab, orders).save(tmp_path / "out.arpa")
    again = NgramModel.load(tmp_path / "out.arpa")
    original = NgramModel.load(tmp_path / "lm.arpa")
    for context in [(), ("<s>",), ("<s>", "the"), ("the",), ("cat",)]:
        for word in original.vocab:
            assert again.log10_prob(word, context) == original.log10_prob(word, context)


def broken(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


MALFORMED = [
    ("not arpa at all\n", "no \\data\\", None),
    (broken(HAND, "ngram 1=6", "ngram 1=7"), "has 6 entries but \\data\\ announced 7", 16),
    (broken(HAND, "ngram 2=4", "ngram 2=3"), "more entries than the 3", 20),
    (broken(HAND, "-0.9\tcat\t-0.3", "-0.9\tcat\t-0.3\textra"), "got 4 fields", 13),
    (broken(HAND, "-0.4\tcat </s>", "-0.4\tcat"), "got 2 fields", 19),
    (broken(HAND, "-0.7\tthe dog", "-0.7\tthe bird"), "token 'bird' has no unigram", 20),
    (broken(HAND, "-0.01\t<s> the cat", "-0.01\t<s> cat the"), "context that is not listed", None),
    (broken(HAND, "-0.3\tthe cat", "x\tthe cat"), "probability 'x' is not a number", 18),
    (broken(HAND, "-0.3\tthe cat", "0.3\tthe cat"), "above 0", 18),
    (broken(HAND, "-0.3\tthe cat\t-0.05", "-0.3\tthe cat\tnan"), "NaN", 18),
    (broken(HAND, "-1.0\tdog", "-1.0\tthe"), "listed twice", 14),
    (broken(HAND, "\\2-grams:", "\\3-grams:"), "expected '\\2-grams:'", 16),
    (broken(HAND, "\\end\\\n", ""), "truncated: no \\end\\", None),
    (HAND[: HAND.index("\\2-grams:")], "truncated", None),
    (broken(HAND, "ngram 2=4\n", ""), "expected the count of 2-grams", 5),
    ("\\data\\\n\\1-grams:\n\\end\\\n", "no 'ngram 1=...' count", 2),
]


@pytest.mark.parametrize("text,problem,line", MALFORMED)
def test_malformed_files_are_clear_one_line_errors(tmp_path, text, problem, line):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as error:
        NgramModel.load(path)
    message = str(error.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message
    if line is not None:
        assert error.value.line == line, message


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        NgramModel.load(tmp_path / "missing.arpa")
    (tmp_path / "binary.arpa").write_bytes(b"\\data\\\n\xff\xfe\n")
    with pytest.raises(InputError, match="UTF-8"):
        NgramModel.load(tmp_path / "binary.arpa")
    with pytest.raises(InputError, match="folder"):
        NgramModel.load(tmp_path)
    (tmp_path / "plain.arpa.gz").write_text(HAND)
    with pytest.raises(InputError, match="plain.arpa.gz: not a readable gzip file"):
        NgramModel.load(tmp_path / "plain.arpa.gz")
