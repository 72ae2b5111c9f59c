"""How text becomes language-model tokens, the same way when a model is built and when it decodes.

A word LM sees *words*: a letter followed by letters, with single apostrophes or hyphens allowed
between letters (``don't``, ``e-mail``). Digits, punctuation and symbols are not words: the
decoder lets them stand between words unscored, so ``Call 911, now.`` is the words ``Call now``.
A character LM sees every character, with the space as the token :data:`SPACE` (ARPA tokens are
separated by whitespace, so a space cannot be a token of its own).

The decoder follows the same rule character by character: a letter starts or continues a word;
another character continues a word only where the vocabulary spells one that way; a space or any
other character ends it (see :mod:`recognizer.beam_core`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
SPACE = "<space>"
SPECIAL = (UNK, BOS, EOS)
UNITS = ("char", "word")

WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")


def is_letter(char: str) -> bool:
    """Characters that start and continue words; everything else stands between words."""
    return char.isalpha()


def word_tokens(text: str) -> list[str]:
    """The words of a text (see the module docstring)."""
    return WORD.findall(text)


def char_tokens(text: str) -> list[str]:
    """Every character of a text, spaces as :data:`SPACE`; whitespace runs count as one space."""
    return [SPACE if c == " " else c for c in " ".join(text.split())]


def tokenize(text: str, unit: str) -> list[str]:
    if unit == "word":
        return word_tokens(text)
    if unit == "char":
        return char_tokens(text)
    raise ValueError(f"unit must be 'char' or 'word', got {unit!r}")


def char_of_token(token: str) -> str:
    """The character a char-LM token stands for."""
    return " " if token == SPACE else token


def guess_unit(vocabulary: Iterable[str]) -> str:
    """``char`` when every ordinary token is one character (or the space token), else ``word``."""
    ordinary = [t for t in vocabulary if t not in SPECIAL]
    if ordinary and all(t == SPACE or len(t) == 1 for t in ordinary):
        return "char"
    return "word"
