"""``recognizer lm build``: text files in, an ARPA n-gram model out.

Every non-empty line of a text file is a sentence. Lines are normalised like transcripts
(Unicode NFC, whitespace runs to one space, optionally lowercased); given a model's alphabet,
characters it cannot write become spaces, so the LM only learns what the model can produce.
Sentences are then cut into tokens (:mod:`recognizer.lm.tokens`) and counted
(:mod:`recognizer.lm.kneser_ney`).
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from data_prep.errors import InputError
from recognizer.alphabet import Alphabet, normalise_text
from recognizer.lm.kneser_ney import build_kneser_ney
from recognizer.lm.tokens import tokenize


def read_sentences(paths: Sequence[str | os.PathLike], lowercase: bool = False,
                   alphabet: Alphabet | None = None) -> Iterator[str]:
    """The normalised non-empty lines of the files, in order."""
    lowercase = lowercase or (alphabet is not None and alphabet.lowercase)
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    text = normalise_text(line, lowercase)
                    if alphabet is not None:
                        text = " ".join("".join(c if c in alphabet else " " for c in text).split())
                    if text:
                        yield text
        except FileNotFoundError:
            raise InputError(path, "file not found") from None
        except IsADirectoryError:
            raise InputError(path, "is a folder, not a text file") from None
        except UnicodeDecodeError as error:
            raise InputError(path, f"not UTF-8 text ({error.reason})") from None


def build_lm(paths: Sequence[str | os.PathLike], unit: str, order: int, out: str | os.PathLike,
             lowercase: bool = False, alphabet: Alphabet | None = None) -> dict:
    """Train a modified Kneser-Ney model on the files and write it as ARPA; its summary."""
    sentences = (tokenize(text, unit) for text in read_sentences(paths, lowercase, alphabet))
    model, summary = build_kneser_ney((s for s in sentences if s), order)
    model.save(out)
    summary.update(unit=unit, out=str(out), sources=[str(p) for p in paths])
    return summary
