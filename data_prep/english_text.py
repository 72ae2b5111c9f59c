"""General English text for synthetic training data, written and spoken.

Sources are what a Debian machine ships offline: the ``fortunes`` collections (quotations, jokes,
everyday prose; records are split into sentences) and the ``wamerican`` word list (to keep only real
words and to find given names). Collections that are not prose (ASCII art, Debian and Linux tips,
legal disclaimers) are left out: they are not the English that people say or write.

Two forms of the same sentence matter. :func:`spoken_form` is what a speaker says, in the speech
alphabet (lowercase letters, apostrophe, space): numbers, times, money and ordinals become words,
other punctuation goes. Written forms keep case, digits and punctuation for handwriting lines.

:func:`speech_texts` mixes sentences with templated commands, questions, numbers, spelled letters
and single words, because users dictate those too and prose alone rarely contains them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

FORTUNES_DIR = "/usr/share/games/fortunes"
WORDS_FILE = "/usr/share/dict/words"
# not prose, or not English as people say it
SKIPPED_COLLECTIONS = frozenset({"art", "ascii-art", "debian", "linux", "linuxcookie", "disclaimer", "knghtbrd",
                                 "perl", "startrek", "zippy", "definitions", "riddles", "songs-poems", "ethnic"})

SPEECH_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz' ")

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_ORDINAL_ENDINGS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                    "nine": "ninth", "twelve": "twelfth"}


def cardinal(n: int) -> str:
    """``1234`` -> ``one thousand two hundred thirty four`` (American style, no "and")."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    for value, name in _SCALES:
        if n >= value:
            high, rest = divmod(n, value)
            return cardinal(high) + " " + name + ("" if rest == 0 else " " + cardinal(rest))
    raise AssertionError(n)


def ordinal(n: int) -> str:
    """``21`` -> ``twenty first``."""
    words = cardinal(n).split()
    last = words[-1]
    if last in _ORDINAL_ENDINGS:
        words[-1] = _ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year(n: int) -> str:
    """How a year is said: ``1984`` -> ``nineteen eighty four``, ``2005`` -> ``two thousand five``."""
    if 2000 <= n <= 2009 or n % 1000 == 0:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(high) + " hundred"
    return cardinal(high) + " " + (("oh " + _ONES[low]) if low < 10 else cardinal(low))


def clock_time(hours: int, minutes: int) -> str:
    """``7:05`` -> ``seven oh five``; ``7:00`` -> ``seven o'clock``."""
    if minutes == 0:
        return cardinal(hours) + " o'clock"
    return cardinal(hours) + " " + (("oh " + _ONES[minutes]) if minutes < 10 else cardinal(minutes))


def _number(token: str) -> str:
    """A run of digits (with optional decimal part) as it would be read in running text."""
    whole, _, fraction = token.partition(".")
    value = int(whole)
    if not fraction and len(whole) == 4 and 1100 <= value <= 2099:
        spoken = year(value)
    elif len(whole) > 1 and whole.startswith("0") or len(whole) > 9:
        spoken = " ".join(_ONES[int(d)] for d in whole)  # codes and long numbers: digit by digit
    else:
        spoken = cardinal(value)
    if fraction:
        spoken += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return spoken


_REPLACEMENTS = (
    (re.compile(r"\$(\d+)(?:\.(\d\d))?"), lambda m: _number(m[1]) + (" dollar" if m[1] == "1" else " dollars")
     + (" and " + cardinal(int(m[2])) + " cents" if m[2] and int(m[2]) else "")),
    (re.compile(r"(\d+(?:\.\d+)?)\s?%"), lambda m: _number(m[1]) + " percent"),
    (re.compile(r"\b(\d{1,2}):(\d\d)\b"), lambda m: clock_time(int(m[1]), int(m[2]))),
    (re.compile(r"\b(\d+)(?:st|nd|rd|th)\b"), lambda m: ordinal(int(m[1]))),
    (re.compile(r"\b(\d+),(\d{3})\b"), lambda m: _number(m[1] + m[2])),
    (re.compile(r"\d+(?:\.\d+)?"), lambda m: _number(m[0])),
    (re.compile(r"&"), lambda m: " and "),
    (re.compile(r"\+"), lambda m: " plus "),
    (re.compile(r"@"), lambda m: " at "),
)


def spoken_form(text: str) -> str | None:
    """``text`` as said aloud in the speech alphabet, or None when it cannot be said cleanly.

    Numbers, money, percentages, times and ordinals become words; hyphens and slashes become
    spaces; other punctuation goes, apostrophes inside words stay. Returns None for text with
    characters that have no obvious spoken form (e.g. other scripts, code, URLs).
    """
    out = text.replace("\u2019", "'").replace("\u2018", "'")
    if re.search(r"https?:|www\.|[<>{}\[\]\\|=_^~`#*]", out):
        return None
    for pattern, spoken in _REPLACEMENTS:
        out = pattern.sub(spoken, out)
    out = re.sub(r"[-/]", " ", out.lower())
    out = re.sub(r"[.,;:!?\"()]", " ", out)
    out = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", out)  # quotes, not apostrophes
    out = " ".join(out.split())
    if not out or not set(out) <= SPEECH_CHARACTERS:
        return None
    return out


def fortune_records(directory: str = FORTUNES_DIR) -> list[str]:
    """Every record of the prose collections, in a stable order, whitespace collapsed."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{directory}: no fortunes collections (install Debian's 'fortunes')")
    records = []
    for path in sorted(root.glob("*.u8")):
        if path.stem in SKIPPED_COLLECTIONS:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for record in re.split(r"^%\s*$", text, flags=re.MULTILINE):
            record = re.sub(r"^\s*--.*$", "", record, flags=re.MULTILINE)  # attributions
            record = " ".join(record.split())
            if record:
                records.append(record)
    return records


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')]*\s+(?=[\"'(]*[A-Z0-9])")


def sentences(records: Iterable[str], min_words: int = 3, max_words: int = 24) -> list[str]:
    """Prose sentences of a sensible length, deduplicated, in first-seen order.

    A sentence is rejected when it is mostly not letters (tables, code, art) or has a word that is
    all capitals beyond short acronyms (shouting, headers).
    """
    seen: set[str] = set()
    out = []
    for record in records:
        for sentence in _SENTENCE_END.split(record):
            sentence = sentence.strip(" \"'()")
            words = sentence.split()
            if not min_words <= len(words) <= max_words or sentence in seen:
                continue
            letters = sum(ch.isalpha() for ch in sentence)
            if letters < 0.7 * len(sentence.replace(" ", "")) or not sentence.isascii():
                continue
            if any(len(w) > 4 and w.isupper() for w in words):
                continue
            seen.add(sentence)
            out.append(sentence)
    return out


def dictionary_words(path: str = WORDS_FILE) -> list[str]:
    """The word list's entries, without possessives."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no word list (install Debian's 'wamerican')")
    with open(path, encoding="utf-8", errors="replace") as handle:
        return [w for w in (line.strip() for line in handle) if w and "'s" not in w and w.isascii()]


def common_words(texts: Iterable[str], vocabulary: set[str], count: int) -> list[str]:
    """The ``count`` most frequent lowercase words of ``texts`` that are in ``vocabulary``."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in re.findall(r"[a-z']+", text.lower()):
            word = word.strip("'")
            if word in vocabulary:
                counts[word] = counts.get(word, 0) + 1
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]


@dataclass(frozen=True)
class Vocabulary:
    """Word pools the templates draw from."""

    words: Sequence[str]  # everyday words, most frequent first
    names: Sequence[str]  # given and place names (capitalised)

    @classmethod
    def from_system(cls, records: Sequence[str], size: int = 3000) -> "Vocabulary":
        entries = dictionary_words()
        lower = {w for w in entries if w.islower()}
        names = [w for w in entries if w[:1].isupper() and w[1:].islower() and len(w) > 2]
        return cls(common_words(records, lower, size), names)


_COMMANDS = (
    "turn {onoff} the {device}", "turn the {device} {onoff}", "set a timer for {minutes} minutes",
    "set an alarm for {time}", "wake me up at {time}", "call {name}", "send a message to {name}",
    "play some {genre} music", "stop the music", "pause", "next song", "volume up", "volume down",
    "open the {thing}", "close the {thing}", "remind me to {verb} the {thing} at {time}",
    "add {thing} to my shopping list", "navigate to {name}", "read my messages", "take a note",
    "cancel that", "go back", "scroll down", "scroll up", "yes", "no", "stop", "start", "repeat that",
    "lock the {thing}", "show me the {thing}", "dim the lights to {percent} percent",
    "set the temperature to {number} degrees", "skip ahead {number} seconds", "call me {name}",
)
_QUESTIONS = (
    "what time is it", "what's the weather like in {name}", "how far is it to {name}",
    "where is the {thing}", "who is {name}", "what is {number} times {small}", "how much is {number} plus {small}",
    "is it going to rain {day}", "when does the {thing} open", "can you help me with the {thing}",
    "did you {verb} the {thing}", "why is the {thing} {adjective}", "how do i {verb} a {thing}",
    "what day is it {day}", "have you seen my {thing}", "are we there yet", "could you {verb} the {thing} please",
    "how old is {name}", "what does {word} mean", "how do you spell {word}",
)
_SLOTS = {
    "onoff": ("on", "off"), "device": ("lights", "radio", "television", "heater", "fan", "oven", "music"),
    "genre": ("jazz", "rock", "classical", "country", "pop", "quiet", "dance"),
    "day": ("today", "tomorrow", "tonight", "on monday", "on friday", "this weekend", "next week"),
}


class TextSampler:
    """Draws sentences of each kind with a seeded generator; every kind is in the speech alphabet."""

    KINDS = ("sentence", "command", "question", "number", "spelled", "word")

    def __init__(self, prose: Sequence[str], vocabulary: Vocabulary, rng: np.random.Generator):
        self.prose = prose
        self.vocabulary = vocabulary
        self.rng = rng

    def _pick(self, pool: Sequence):
        return pool[int(self.rng.integers(len(pool)))]

    def _word(self, head: int = 3000, skip: int = 0) -> str:
        """A Zipf-like draw: frequent words often, rare ones sometimes; ``skip`` leaves out the most
        frequent (function words) where a template slot wants a content word."""
        words = self.vocabulary.words[skip:] or self.vocabulary.words
        return words[int(self.rng.pareto(1.2) * 50) % min(head, len(words))]

    def _fill(self, template: str) -> str:
        values = {
            "name": self._pick(self.vocabulary.names), "thing": self._word(skip=150), "verb": self._word(skip=150),
            "adjective": self._word(skip=150), "word": self._word(skip=150), "time": self._time(),
            "minutes": cardinal(int(self.rng.integers(1, 91))), "number": cardinal(int(self.rng.integers(2, 1000))),
            "small": cardinal(int(self.rng.integers(2, 13))), "percent": cardinal(int(self.rng.integers(1, 11)) * 10),
            **{slot: self._pick(options) for slot, options in _SLOTS.items()},
        }
        return template.format(**values)

    def _time(self) -> str:
        hours, minutes = int(self.rng.integers(1, 13)), int(self._pick((0, 0, 15, 30, 45, *range(1, 60))))
        suffix = self._pick(("", "", " am", " pm", " in the morning", " tonight"))
        return clock_time(hours, minutes) + suffix

    def _number_text(self) -> str:
        style = int(self.rng.integers(5))
        if style == 0:  # phone number, digit by digit
            return " ".join(self._pick(_ONES[:10] + ["oh"]) for _ in range(int(self.rng.integers(3, 11))))
        if style == 1:
            return year(int(self.rng.integers(1100, 2100)))
        if style == 2:
            return cardinal(int(10 ** self.rng.uniform(0, 7)))
        if style == 3:
            return "the " + ordinal(int(self.rng.integers(1, 32))) + " of " + self._pick(
                "january february march april may june july august september october november december".split())
        return clock_time(int(self.rng.integers(1, 13)), int(self.rng.integers(0, 60)))

    def _spelled(self) -> str:
        word = self._pick([w for w in self.vocabulary.words[:2000] if "'" not in w] or ["abc"])
        if self.rng.random() < 0.5:
            word = "".join(chr(ord("a") + int(i)) for i in self.rng.integers(0, 26, size=int(self.rng.integers(2, 9))))
        spelled = " ".join(word)
        return self._pick((spelled, f"{word} {spelled}", f"that's {spelled}", f"it is spelled {spelled}"))

    def draw(self, kind: str) -> str | None:
        """One text of ``kind`` in spoken form (None when a drawn prose sentence has no clean spoken form)."""
        if kind == "sentence":
            return spoken_form(self._pick(self.prose))
        if kind == "command":
            return spoken_form(self._fill(self._pick(_COMMANDS)))
        if kind == "question":
            return spoken_form(self._fill(self._pick(_QUESTIONS)))
        if kind == "number":
            return self._number_text()
        if kind == "spelled":
            return self._spelled()
        if kind == "word":
            return spoken_form(self._word(head=len(self.vocabulary.words)))
        raise ValueError(f"unknown text kind {kind!r}; expected one of {self.KINDS}")


DEFAULT_MIX = {"sentence": 0.6, "command": 0.12, "question": 0.1, "number": 0.08, "spelled": 0.05, "word": 0.05}


def speech_texts(count: int, seed: int = 0, mix: dict[str, float] | None = None,
                 prose: Sequence[str] | None = None, vocabulary: Vocabulary | None = None) -> list[tuple[str, str]]:
    """``count`` distinct ``(kind, spoken text)`` pairs drawn in proportions ``mix``.

    Distinctness is per text; when a kind runs out of new texts (e.g. few templates), it stops
    contributing rather than repeating, so the result can hold fewer than ``count`` pairs only if
    every source is exhausted.
    """
    mix = mix or DEFAULT_MIX
    if prose is None or vocabulary is None:
        records = fortune_records()
        prose = prose if prose is not None else sentences(records)
        vocabulary = vocabulary or Vocabulary.from_system(records)
    rng = np.random.default_rng(seed)
    return draw_distinct(TextSampler(prose, vocabulary, rng).draw, mix, count, rng)


def draw_distinct(draw: Callable[[str], str | None], mix: dict[str, float], count: int,
                  rng: np.random.Generator, seen: set[str] | None = None) -> list[tuple[str, str]]:
    """Up to ``count`` ``(kind, text)`` pairs from ``draw(kind)``, kinds in proportions ``mix``,
    every text new to ``seen`` (which is updated, so several calls can share it).

    Gives up after many draws in a row yield nothing new, so an exhausted source shortens the
    result instead of looping forever.
    """
    seen = set() if seen is None else seen
    kinds = list(mix)
    weights = np.array([mix[k] for k in kinds], dtype=np.float64)
    weights /= weights.sum()
    out: list[tuple[str, str]] = []
    misses = 0
    while len(out) < count and misses < 50 * count + 1000:
        kind = kinds[int(rng.choice(len(kinds), p=weights))]
        text = draw(kind)
        if not text or text in seen:
            misses += 1
            continue
        seen.add(text)
        out.append((kind, text))
    return out
