"""Corpus-level character and word error rates.

Definitions, so that a number in a model card means one thing:

* **Normalisation.** Both references and hypotheses are normalised first with
  :func:`recognizer.alphabet.normalise_text`: Unicode NFC, every run of whitespace (tabs,
  newlines, NBSP, ...) becomes one space, leading/trailing whitespace is stripped. Case is kept,
  so a case error is an error; lowercase both sides yourself to score case-insensitively.
* **CER** = total character edits (substitutions + deletions + insertions, Levenshtein distance
  on code points, the single spaces between words included) / total reference characters.
* **WER** = total word edits / total reference words, where words are the tokens of
  ``str.split()``; two words are equal only if they are identical strings.
* **Corpus level.** Errors and lengths are summed over the corpus and divided once
  (total/total), not averaged per sentence: a short sentence does not weigh as much as a long one.
* **Empty reference.** Contributes 0 to the length and every hypothesis character (word) as an
  insertion. An empty hypothesis against a non-empty reference is all deletions.
* **Zero total length.** If the whole corpus has no reference characters (words), ``rate`` is
  0.0 when there are no errors and ``float("inf")`` otherwise: an error rate relative to nothing
  is undefined, and ``inf`` cannot be mistaken for a good score (nor silently averaged).
* **Inputs.** Either two strings (one pair) or two sequences of strings of the same length;
  different lengths raise ValueError, because pairing them any other way would score the wrong
  sentences against each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

import editdistance

from recognizer.alphabet import normalise_text


@dataclass(frozen=True)
class ErrorRate:
    """``errors`` edits over ``length`` reference units; adding two pools their counts."""

    errors: int
    length: int

    @property
    def rate(self) -> float:
        if self.length == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.length

    def __add__(self, other: "ErrorRate") -> "ErrorRate":
        if not isinstance(other, ErrorRate):
            return NotImplemented
        return ErrorRate(self.errors + other.errors, self.length + other.length)

    def __str__(self) -> str:
        if self.length == 0 and self.errors:  # a rate would read "inf%": say what happened
            return f"{self.errors} inserted (no reference)"
        return f"{100 * self.rate:.2f}% ({self.errors}/{self.length})"


class SampleErrors(NamedTuple):
    """Error counts of one (reference, hypothesis) pair, for "worst samples" reports."""

    cer_errors: int
    cer_len: int
    wer_errors: int
    wer_len: int


def cer(references: str | Iterable[str], hypotheses: str | Iterable[str]) -> ErrorRate:
    """Character error rate of the corpus (total edits / total reference characters)."""
    errors = length = 0
    for ref, hyp in _pairs(references, hypotheses):
        errors += editdistance.eval(ref, hyp)
        length += len(ref)
    return ErrorRate(errors, length)


def wer(references: str | Iterable[str], hypotheses: str | Iterable[str]) -> ErrorRate:
    """Word error rate of the corpus (total word edits / total reference words)."""
    errors = length = 0
    vocab: dict[str, int] = {}
    for ref, hyp in _pairs(references, hypotheses):
        r, h = _word_ids(ref, vocab), _word_ids(hyp, vocab)
        errors += editdistance.eval(r, h)
        length += len(r)
    return ErrorRate(errors, length)


def sample_errors(
    references: str | Iterable[str], hypotheses: str | Iterable[str]
) -> list[SampleErrors]:
    """Per-pair character and word error counts; summing them gives :func:`cer` and :func:`wer`."""
    out = []
    vocab: dict[str, int] = {}
    for ref, hyp in _pairs(references, hypotheses):
        r, h = _word_ids(ref, vocab), _word_ids(hyp, vocab)
        out.append(
            SampleErrors(editdistance.eval(ref, hyp), len(ref), editdistance.eval(r, h), len(r))
        )
    return out


def _pairs(references, hypotheses) -> list[tuple[str, str]]:
    """Normalised (reference, hypothesis) pairs; a lone string pair is a corpus of one."""
    if isinstance(references, str) != isinstance(hypotheses, str):
        raise TypeError("pass two strings or two sequences of strings, not one of each")
    if isinstance(references, str):
        references, hypotheses = [references], [hypotheses]
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(
            f"{len(references)} references but {len(hypotheses)} hypotheses; they must pair up"
        )
    return [(normalise_text(r), normalise_text(h)) for r, h in zip(references, hypotheses)]


def _word_ids(text: str, vocab: dict[str, int]) -> list[int]:
    """Words as ints, so the edit distance compares exact words without hashing strings."""
    return [vocab.setdefault(w, len(vocab)) for w in text.split()]
