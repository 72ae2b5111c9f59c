"""Word lists for decoding: lexicon files, and the tries that let the beam follow words.

A lexicon file has one word per line; only the first whitespace-separated field counts, so
pronunciation lexicons (``word  W ER D``) work too. Words are normalised like the model's
alphabet normalises text (a lowercase model gets a lowercased lexicon). A word must start with a
letter and be spelt with the alphabet to be usable (see :mod:`recognizer.lm.tokens`); others are
left out, and a lexicon left with no word is an error.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from data_prep.errors import InputError
from recognizer.alphabet import Alphabet
from recognizer.lm.ngram import NgramModel
from recognizer.lm.tokens import SPECIAL, is_letter
from recognizer.lm.textfile import reading
from recognizer.lm.trie import UNKNOWN_WORD, Trie, build_trie


def read_lexicon(path: str | os.PathLike) -> list[str]:
    """The words of a lexicon file (gzip-compressed if its name ends in ``.gz``), in file order;
    InputError if it has none."""
    path = str(path)
    with reading(path, "a lexicon") as handle:
        words = [line.split()[0] for line in handle if line.strip()]
    if not words:
        raise InputError(path, "the lexicon holds no words")
    return words


def spell(word: str, alphabet: Alphabet) -> list[int] | None:
    """Labels of a (normalised) word, or None when the decoder could never produce it as a word."""
    if not word or not is_letter(word[0]) or " " in word or any(c not in alphabet for c in word):
        return None
    return [alphabet.index(c) for c in word]


def _spelt(words: Iterable[str], alphabet: Alphabet) -> tuple[list[str], list[list[int]]]:
    kept, labels = [], []
    for word in words:
        word = alphabet.normalise(word)
        spelt = spell(word, alphabet)
        if spelt is not None:
            kept.append(word)
            labels.append(spelt)
    return kept, labels


def lexicon_trie(words: Sequence[str], alphabet: Alphabet, lm: NgramModel | None = None) -> Trie:
    """The trie of a lexicon; a word's payload is its word-LM token (when ``lm`` is given)."""
    kept, labels = _spelt(words, alphabet)
    if not kept:
        raise ValueError(f"none of the {len(words)} lexicon word(s) can be spelt with the model's alphabet "
                         f"{''.join(alphabet.chars)!r} starting with a letter")
    payloads = [0] * len(kept) if lm is None else [_lm_token(lm, w) for w in kept]
    return build_trie(labels, payloads)


def vocabulary_trie(lm: NgramModel, alphabet: Alphabet) -> Trie:
    """The trie of the word LM's vocabulary, for scoring words as they are spelt."""
    words = [w for w in lm.vocab if w not in SPECIAL]
    kept, labels = _spelt(words, alphabet)
    return build_trie(labels, [_lm_token(lm, w) for w in kept])


def _lm_token(lm: NgramModel, word: str) -> int:
    token = lm.ids.get(word, -1)
    return UNKNOWN_WORD if token < 0 else token
