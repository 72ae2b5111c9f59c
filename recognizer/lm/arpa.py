"""The ARPA text format of back-off n-gram models (as written by KenLM, SRILM, and this toolkit).

::

    \\data\\
    ngram 1=5
    ngram 2=7

    \\1-grams:
    -1.0792  <unk>
    -99      <s>     -0.4771
    ...
    \\2-grams:
    -0.3010  <s> the
    ...
    \\end\\

A file whose name ends in ``.gz`` is read and written through gzip.

A line is a log10 probability, the n-gram's tokens, and for all but the highest order an optional
log10 back-off weight. Text before ``\\data\\`` is ignored (SRILM writes some). Whatever else
does not fit (counts that disagree with the sections, a wrong number of fields, a probability
above 1, a token without a unigram, a context that is not listed) is an
:class:`~data_prep.errors.InputError` naming the file and line.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence

import numpy as np

from data_prep.errors import InputError
from recognizer.lm.ngram import NgramOrder
from recognizer.lm.textfile import is_compressed, open_text, reading

_COUNT = re.compile(r"ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"\\(\d+)-grams:$")


def read_arpa(path: str | os.PathLike) -> tuple[list[str], list[NgramOrder]]:
    """Vocabulary (in unigram order) and the n-grams of every order, as written in ``path``.

    Only the format is checked here; :meth:`NgramModel.load` also checks that every n-gram's
    context is listed."""
    path = str(path)
    with reading(path, "an ARPA file") as handle:
        return _parse(path, handle)


def _parse(path: str, lines) -> tuple[list[str], list[NgramOrder]]:
    number = 0
    line = ""

    def next_line() -> str | None:
        nonlocal number, line
        for raw in lines:
            number += 1
            line = raw.strip()
            if line:
                return line
        return None

    def fail(problem: str, where: int | None = -1):
        raise InputError(path, problem, number if where == -1 else where)

    while True:
        text = next_line()
        if text is None:
            fail("not an ARPA file: no \\data\\ line", None)
        if text == "\\data\\":
            break
    counts: list[int] = []
    while True:
        text = next_line()
        match = _COUNT.match(text) if text is not None else None
        if match is None:
            break
        order, count = int(match.group(1)), int(match.group(2))
        if order != len(counts) + 1:
            fail(f"expected the count of {len(counts) + 1}-grams, got {order}-grams")
        counts.append(count)
    if not counts:
        fail("no 'ngram 1=...' count after \\data\\")
    if counts[0] == 0:
        fail("no unigrams")

    vocab: list[str] = []
    ids: dict[str, int] = {}
    orders: list[NgramOrder] = []
    for k, count in enumerate(counts, start=1):
        if text is None:
            fail(f"truncated: no \\{k}-grams: section", None)
        match = _SECTION.match(text)
        if match is None or int(match.group(1)) != k:
            fail(f"expected '\\{k}-grams:', got {text[:40]!r}")
        highest = k == len(counts)
        gram_ids = np.empty((count, k), np.int32)
        prob = np.empty(count, np.float64)
        backoff = np.zeros(count, np.float64)
        for row in range(count + 1):
            text = next_line()
            if text is None or text.startswith("\\"):
                if row == count:
                    break
                fail(f"the {k}-grams section has {row} entries but \\data\\ announced {count}",
                     None if text is None else -1)
            if row == count:
                fail(f"the {k}-grams section has more entries than the {count} that \\data\\ announced")
            fields = text.split()
            if len(fields) not in ((k + 1,) if highest else (k + 1, k + 2)):
                fail(f"expected a log10 probability, {k} token(s)" + ("" if highest else " and an optional back-off")
                     + f"; got {len(fields)} fields")
            prob[row] = _number(fields[0], "probability", fail)
            if prob[row] > 0:
                fail(f"log10 probability {fields[0]} is above 0")
            if len(fields) == k + 2:
                backoff[row] = _number(fields[-1], "back-off", fail)
            tokens = fields[1:k + 1]
            if k == 1:
                if tokens[0] in ids:
                    fail(f"unigram {tokens[0]!r} is listed twice")
                ids[tokens[0]] = len(vocab)
                vocab.append(tokens[0])
                gram_ids[row, 0] = row
            else:
                for j, token in enumerate(tokens):
                    token_id = ids.get(token)
                    if token_id is None:
                        fail(f"token {token!r} has no unigram")
                    gram_ids[row, j] = token_id
        orders.append(NgramOrder(gram_ids, prob, backoff))
    if text != "\\end\\":
        fail("truncated: no \\end\\ line" if text is None else f"expected '\\end\\', got {text[:40]!r}",
             None if text is None else -1)
    return vocab, orders


def _number(field: str, what: str, fail) -> float:
    try:
        value = float(field)
    except ValueError:
        fail(f"{what} {field!r} is not a number")
    if math.isnan(value):
        fail(f"{what} is NaN")
    return value


def write_arpa(path: str | os.PathLike, vocab: Sequence[str], orders: Sequence[NgramOrder]) -> None:
    """Write the model; n-grams sorted by token ids, back-offs only where they are not 0; gzip
    compressed when ``path`` ends in ``.gz``."""
    path = str(path)
    tmp = f"{path}.tmp"
    with open_text(tmp, "w", compressed=is_compressed(path)) as out:
        out.write("\\data\\\n")
        out.writelines(f"ngram {k}={len(order)}\n" for k, order in enumerate(orders, start=1))
        for k, order in enumerate(orders, start=1):
            out.write(f"\n\\{k}-grams:\n")
            rows = np.lexsort(order.ids.T[::-1])
            highest = k == len(orders)
            lines = []
            for r in rows.tolist():
                text = f"{order.log10_prob[r]:.7g}\t" + " ".join(vocab[i] for i in order.ids[r].tolist())
                b = order.log10_backoff[r]
                if not highest and b != 0:
                    text += f"\t{b:.7g}"
                lines.append(text)
            out.write("\n".join(lines))
            out.write("\n")
        out.write("\n\\end\\\n")
    os.replace(tmp, path)
