import gzip

import pytest

from data_prep.errors import InputError
from recognizer.alphabet import Alphabet
from recognizer.lm import build_kneser_ney
from recognizer.lm.lexicon import lexicon_trie, read_lexicon, spell, vocabulary_trie
from recognizer.lm.trie import NO_END, UNKNOWN_WORD, trie_child

ALPHA = Alphabet(" 'abct", lowercase=True)


def walk(trie, labels):
    node = 0
    for label in labels:
        node = trie_child(trie, node, label)
        if node < 0:
            return -1
    return node


def test_read_lexicon_takes_first_fields(tmp_path):
    path = tmp_path / "lex.txt"
    path.write_text("cat  K AE T\n\n  tab\nCAT\n", encoding="utf-8")
    assert read_lexicon(path) == ["cat", "tab", "CAT"]
    packed = tmp_path / "lex.txt.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert read_lexicon(packed) == ["cat", "tab", "CAT"]


def test_empty_and_unreadable_lexicons_are_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(InputError, match="no words") as error:
        read_lexicon(tmp_path / "empty.txt")
    assert str(error.value).startswith(str(tmp_path / "empty.txt"))
    with pytest.raises(InputError, match="not found"):
        read_lexicon(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="none of the 2 lexicon"):
        lexicon_trie(["dog", "'tis"], ALPHA)


def test_lexicon_trie_normalises_and_skips_what_cannot_be_spelt():
    trie = lexicon_trie(["Cat", "ca't", "dog", "3c", "at"], ALPHA)
    cat = walk(trie, [ALPHA.index(c) for c in "cat"])
    assert trie.end[cat] == 0 and trie.end[walk(trie, [ALPHA.index(c) for c in "ca"])] == NO_END
    assert walk(trie, [ALPHA.index(c) for c in "ca't"]) > 0
    assert trie.depth[cat] == 3
    assert spell("3c", ALPHA) is None and spell("dog", ALPHA) is None and spell("c a", ALPHA) is None


def test_word_payloads_are_lm_tokens():
    lm = build_kneser_ney([["cat", "at"], ["tab"]], 2)[0]
    trie = lexicon_trie(["cat", "tact"], ALPHA, lm)
    assert trie.end[walk(trie, [ALPHA.index(c) for c in "cat"])] == lm.ids["cat"]
    assert trie.end[walk(trie, [ALPHA.index(c) for c in "tact"])] == UNKNOWN_WORD
    vocab = vocabulary_trie(lm, ALPHA)
    for word in ("cat", "at", "tab"):
        assert vocab.end[walk(vocab, [ALPHA.index(c) for c in word])] == lm.ids[word]
