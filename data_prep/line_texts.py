"""What people write on a line: the text mix for synthetic handwriting lines.

Prose from :mod:`data_prep.english_text` cut into line-length chunks (a handwritten line starts and
ends anywhere in a sentence), plus the written forms prose rarely holds: names, dates in several
notations, prices, times, numbers and codes, addresses, punctuation-heavy lines, capitals and single
words. Every text is in :data:`LINE_CHARS`, the handwriting-en alphabet.

The test split draws prose from its own sentences (every ``TEST_SENTENCE_EVERY``-th), and texts are
distinct across splits, so test lines are new text as well as new fonts.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from data_prep.english_text import Vocabulary, draw_distinct, fortune_records, sentences

# The handwriting-en alphabet: letters, digits, space and the punctuation of everyday writing.
# Left out: brackets other than (), _ \ | ~ ^ ` < > { }: rare by hand and easily confused.
PUNCTUATION = ".,;:!?'\"-()/&%$#+*=@"
LINE_CHARS = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 " + PUNCTUATION)
LINE_CHARSET = frozenset(LINE_CHARS)
TEST_SENTENCE_EVERY = 12

DEFAULT_MIX = {"prose": 0.56, "name": 0.06, "date": 0.06, "money": 0.04, "time": 0.03, "number": 0.05,
               "address": 0.05, "punctuation": 0.06, "capitals": 0.04, "word": 0.05}

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
STREETS = ("St.", "Street", "Rd.", "Road", "Ave.", "Avenue", "Lane", "Drive", "Dr.", "Way", "Close", "Place")
STATES = ["AL", "AK", "AZ", "CA", "CO", "CT", "FL", "GA", "IL", "IN", "MA", "MD", "MI", "MN", "NY", "NC", "OH", "OR", "PA", "TX", "VA", "WA", "WI"]
TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Miss", "Sir", "Rev.", "Capt.")
DOMAINS = ("mail.com", "example.org", "post.net", "school.edu", "office.co.uk", "web.de")


def ordinal_suffix(n: int) -> str:
    """``3`` -> ``3rd``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def chunks(sentence: str, rng: np.random.Generator, longest: int = 11) -> list[str]:
    """A sentence cut into consecutive pieces of 1..``longest`` words, mostly 4 or more."""
    words = sentence.split()
    out, start = [], 0
    while start < len(words):
        n = int(rng.integers(1, 4)) if rng.random() < 0.12 else int(rng.integers(4, longest + 1))
        out.append(" ".join(words[start:start + n]))
        start += n
    return out


def encodable(text: str) -> bool:
    return bool(text.strip()) and set(text) <= LINE_CHARSET and text == " ".join(text.split())


class LineTextSampler:
    """Draws texts of each kind with a seeded generator; :meth:`draw` returns None for a miss."""

    KINDS = tuple(DEFAULT_MIX)

    def __init__(self, prose: Sequence[str], vocabulary: Vocabulary, rng: np.random.Generator):
        self.prose = prose  # line-length chunks
        self.vocabulary = vocabulary
        self.rng = rng

    def _pick(self, pool: Sequence):
        return pool[int(self.rng.integers(len(pool)))]

    def _chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def _word(self, skip: int = 0) -> str:
        """Zipf-like: frequent words often, rare ones sometimes (``skip`` drops function words)."""
        words = self.vocabulary.words[skip:] or self.vocabulary.words
        return words[int(self.rng.pareto(1.0) * 60) % len(words)]

    def _name(self) -> str:
        return self._pick(self.vocabulary.names)

    def _int(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def _person(self) -> str:
        first, last = self._name(), self._name()
        style = self._int(0, 5)
        if style == 0:
            return f"{self._pick(TITLES)} {first} {last}"
        if style == 1:
            return f"{last}, {first}"
        if style == 2:
            return f"{first[0]}. {last}"
        if style == 3:
            return f"{first} {self._name()[0]}. {last}"
        if style == 4:
            return f"{first} & {self._name()}"
        return f"{first} {last}"

    def _date(self) -> str:
        y, m, d = self._int(1890, 2035), self._int(1, 12), self._int(1, 28)
        month = MONTHS[m - 1]
        forms = (f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y % 100:02d}", f"{d}.{m:02d}.{y}", f"{y}-{m:02d}-{d:02d}",
                 f"{month} {d}, {y}", f"{month} {ordinal_suffix(d)}, {y}", f"{d} {month} {y}",
                 f"{DAYS[self._int(0, 6)]}, {d} {month[:3]} {y}", f"the {ordinal_suffix(d)} of {month}",
                 f"{DAYS[self._int(0, 6)]} {month[:3]}. {d}", f"{d}/{m}", f"{month} {y}")
        date = self._pick(forms)
        prefix = self._pick(("", "", "", "Date: ", "on ", "Born ", "due ", "Since ", "until "))
        return prefix + date

    def _money(self) -> str:
        cents = self._pick(("", f".{self._int(0, 99):02d}", ".00", ".50", ".99"))
        amount = self._int(0, 10**self._int(1, 6))
        value = f"${amount:,}{cents}" if self._chance(0.7) else f"${amount}{cents}"
        forms = (value, f"Total: {value}", f"{self._int(2, 12)} for {value}", f"{value} each", f"price {value} + tax",
                 f"{self._int(1, 99)}% off", f"{self._int(1, 99)}.{self._int(0, 9)}%", f"{value} ({self._int(1, 60)}%)",
                 f"pay {self._name()} {value}", f"{self._word(skip=100)} {value}")
        return self._pick(forms)

    def _time(self) -> str:
        h, m = self._int(0, 23), self._pick((0, 15, 30, 45, self._int(0, 59)))
        h12 = h % 12 or 12
        forms = (f"{h}:{m:02d}", f"{h12}:{m:02d} {self._pick(('am', 'pm', 'a.m.', 'p.m.', 'AM', 'PM'))}",
                 f"at {h12}:{m:02d}", f"{h12} o'clock", f"{h12}:{m:02d}-{(h12 % 12) + 1}:{m:02d}",
                 f"{h:02d}:{m:02d}:{self._int(0, 59):02d}", f"{self._pick(DAYS)} {h12}:{m:02d}")
        return self._pick(forms)

    def _number(self) -> str:
        forms = (
            lambda: f"{self._int(0, 10**self._int(1, 7)):,}", lambda: f"{self.rng.uniform(0, 1000):.{self._int(1, 4)}f}",
            lambda: f"No. {self._int(1, 999)}", lambda: f"#{self._int(1, 9999)}", lambda: f"-{self._int(1, 500)}",
            lambda: f"({self._int(200, 999)}) {self._int(200, 999)}-{self._int(0, 9999):04d}",
            lambda: f"{self._int(200, 999)}-{self._int(0, 9999):04d}",
            lambda: f"+{self._int(1, 99)} {self._int(10, 999)} {self._int(100, 9999)} {self._int(1000, 9999)}",
            lambda: f"{self._int(1, 9)}/{self._int(2, 16)}",
            lambda: f"{(a := self._int(1, 99))} + {(b := self._int(1, 99))} = {a + b}",
            lambda: f"{(a := self._int(2, 12))} * {(b := self._int(2, 12))} = {a * b}",
            lambda: f"x = {self._int(-99, 999)}", lambda: f"{self._word(skip=100).capitalize()} {self._int(1, 999)}",
            lambda: f"page {self._int(1, 400)}", lambda: f"{self._int(1, 12)}-{self._int(1, 40)}",
            lambda: " ".join(str(self._int(0, 999)) for _ in range(self._int(2, 5))),
            lambda: f"{self._int(1, 99)}.{self._int(1, 9)} {self._pick(('kg', 'km', 'cm', 'mm', 'lb', 'ml', 'm'))}",
        )
        return self._pick(forms)()

    def _address(self) -> str:
        street = f"{self._int(1, 9999)} {self._name()} {self._pick(STREETS)}"
        forms = (street, f"{street}, Apt. {self._int(1, 40)}{self._pick(('', 'A', 'B', 'C'))}",
                 f"P.O. Box {self._int(1, 9999)}", f"{self._name()}, {self._pick(STATES)} {self._int(10000, 99999)}",
                 f"{street}, {self._name()}", f"{self._name().lower()}.{self._name().lower()}@{self._pick(DOMAINS)}",
                 f"{self._name().lower()}{self._int(1, 99)}@{self._pick(DOMAINS)}", f"c/o {self._name()} {self._name()}",
                 f"Flat {self._int(1, 30)}, {self._name()} House")
        return self._pick(forms)

    def _punctuation(self) -> str:
        w, n = lambda: self._word(skip=50), self._name
        forms = (f'"{w().capitalize()}!" said {n()}.', f"Wait - {w()}?", f"(see page {self._int(1, 300)})",
                 f"{w()}, {w()}; {w()} & {w()}", f"Note: call {n()}!", f"It's {self._int(1, 99)}/{self._int(1, 99)}.",
                 f"'{w().capitalize()}?' {n()} asked.", f"{w().capitalize()}... {w()}?", f"{w()}-{w()}",
                 f"{n()}'s {w()} (and {w()})", f"{w().capitalize()}: {w()}, {w()}, {w()}.", f"Q: {w()}? A: {w()}!",
                 f"* {w()} {w()}", f"{w()} = {w()} + {w()}", f'"{w()}"', f"!!! {w().upper()} !!!", f"{w()}?!",
                 f"{self._int(1, 20)}) {w().capitalize()} {w()};", f"{n()} (b. {self._int(1900, 2020)})")
        return self._pick(forms)

    def _capitals(self) -> str:
        if self._chance(0.5):
            short = [c for c in (self._pick(self.prose) for _ in range(3)) if len(c.split()) <= 5]
            if short:
                return short[0].upper()
        words = [self._word(skip=30) for _ in range(self._int(1, 3))]
        return self._pick(("", "", "NOTE: ", "URGENT ", "RE: ")) + " ".join(words).upper()

    def _single_word(self) -> str:
        word = self._name() if self._chance(0.25) else self._word(skip=self._pick((0, 100)))
        if self._chance(0.3):
            word = word.capitalize()
        return word + self._pick(("", "", "", "", ".", ",", "!", "?", ":", ";"))

    def draw(self, kind: str) -> str | None:
        """One text of ``kind``, or None when it is not in :data:`LINE_CHARS`."""
        makers = {"prose": lambda: self._pick(self.prose), "name": self._person, "date": self._date,
                  "money": self._money, "time": self._time, "number": self._number, "address": self._address,
                  "punctuation": self._punctuation, "capitals": self._capitals, "word": self._single_word}
        if kind not in makers:
            raise ValueError(f"unknown text kind {kind!r}; expected one of {self.KINDS}")
        text = " ".join(makers[kind]().split())
        return text if encodable(text) else None


def prose_pools(seed: int, records: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """Line-length prose chunks for (train and dev, test), from disjoint sentences."""
    records = fortune_records() if records is None else records
    rng = np.random.default_rng([seed, 7])
    pools: tuple[list[str], list[str]] = ([], [])
    for i, sentence in enumerate(sentences(records, min_words=1, max_words=60)):
        if encodable(sentence):
            pools[i % TEST_SENTENCE_EVERY == 0].extend(chunks(sentence, rng))
    return pools


def line_texts(counts: dict[str, int], seed: int = 0, mix: dict[str, float] | None = None,
               records: Sequence[str] | None = None,
               vocabulary: Vocabulary | None = None) -> dict[str, list[tuple[str, str]]]:
    """``counts[split]`` distinct ``(kind, text)`` pairs per split, no text in two splits.

    A kind that runs out of new texts stops contributing rather than repeating itself.
    """
    mix = mix or DEFAULT_MIX
    records = fortune_records() if records is None else records
    vocabulary = vocabulary or Vocabulary.from_system(records)
    train_prose, test_prose = prose_pools(seed, records)
    seen: set[str] = set()
    out: dict[str, list[tuple[str, str]]] = {}
    for code, split in enumerate(("test", "dev", "train")):  # test first: it gets its own prose
        rng = np.random.default_rng([seed, code])
        sampler = LineTextSampler(test_prose if split == "test" else train_prose, vocabulary, rng)
        rows = draw_distinct(sampler.draw, mix, counts.get(split, 0), rng, seen)
        out[split] = rows
    return out
