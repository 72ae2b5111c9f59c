"""The CTC label set: characters <-> integer ids, and the text normalisation they rely on.

Id 0 is the CTC blank; character ``chars[i]`` has id ``i + 1``, so ``size == len(chars) + 1`` is
the width of the model's output layer. Ids are *positions in* ``chars`` plus one and nothing
else: the order of ``chars`` is kept exactly as given (and serialised as a list), so code that
grows or shrinks an alphabet can carry the output weights of shared characters across by looking
up each character's old and new position.

Every text goes through :func:`normalise_text` before it is encoded or scored, so a transcript
typed with tabs, NBSPs or decomposed accents means the same as its tidy form.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Any, Iterable, Sequence

BLANK = 0


def normalise_text(text: str, lowercase: bool = False) -> str:
    """Unicode NFC, optionally lowercase, every whitespace run -> one space, stripped.

    Whitespace is whatever :meth:`str.split` splits on (tabs, newlines, NBSP, ideographic
    space...). NFC is applied after lowercasing, because lowercasing may decompose.
    """
    if lowercase:
        text = text.lower()
    text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


class UnknownCharacters(ValueError):
    """A text holds characters outside the alphabet; ``chars`` counts each of them."""

    def __init__(self, chars: Counter[str]):
        self.chars: Counter[str] = Counter(chars)
        listed = ", ".join(f"{c!r} (x{n})" for c, n in sorted(self.chars.items()))
        super().__init__(f"{len(self.chars)} character(s) not in the alphabet: {listed}")


class Alphabet:
    """An ordered set of single characters; id 0 is the CTC blank, ``chars[i]`` is id ``i + 1``.

    ``lowercase`` is part of the alphabet because it decides how text is normalised before
    encoding: a lowercase model must be fed lowercased transcripts, whoever calls it.
    """

    blank = BLANK

    def __init__(self, chars: Iterable[str], lowercase: bool = False):
        chars = tuple(chars)
        seen: dict[str, int] = {}
        for i, c in enumerate(chars):
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"alphabet entries must be single characters, got {c!r}")
            if c in seen:
                raise ValueError(f"duplicate character {c!r} in alphabet")
            # A character that normalisation rewrites could never be produced by encode().
            if c != " " and normalise_text(c, lowercase) != c:
                raise ValueError(
                    f"character {c!r} is unreachable: normalisation turns it into "
                    f"{normalise_text(c, lowercase)!r}"
                )
            seen[c] = i + 1
        self._chars = chars
        self._ids = seen
        self.lowercase = bool(lowercase)

    @classmethod
    def from_texts(cls, texts: Iterable[str], lowercase: bool = False) -> "Alphabet":
        """Every character of the normalised corpus, sorted by code point."""
        found: set[str] = set()
        for text in _as_texts(texts):
            found.update(normalise_text(text, lowercase))
        return cls(sorted(found), lowercase=lowercase)

    # --- the label set ---------------------------------------------------------------------

    @property
    def chars(self) -> tuple[str, ...]:
        """The characters in id order (``chars[i]`` has id ``i + 1``)."""
        return self._chars

    @property
    def size(self) -> int:
        """Number of labels including the blank: the width of the model's output layer."""
        return len(self._chars) + 1

    def __len__(self) -> int:
        """Number of characters, blank not counted (``size - 1``)."""
        return len(self._chars)

    def __contains__(self, char: object) -> bool:
        return char in self._ids

    def index(self, char: str) -> int:
        """The id of ``char``; raises ValueError if it is not in the alphabet."""
        try:
            return self._ids[char]
        except (KeyError, TypeError):
            raise ValueError(f"{char!r} is not in the alphabet") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Alphabet):
            return NotImplemented
        return self._chars == other._chars and self.lowercase == other.lowercase

    def __hash__(self) -> int:
        return hash((self._chars, self.lowercase))

    def __repr__(self) -> str:
        return f"Alphabet({''.join(self._chars)!r}, lowercase={self.lowercase})"

    # --- text <-> ids ------------------------------------------------------------------------

    def normalise(self, text: str) -> str:
        """The text as the model sees it (see :func:`normalise_text`)."""
        return normalise_text(text, self.lowercase)

    def encode(self, text: str, unknown: str = "error") -> list[int]:
        """Ids of the normalised text.

        Characters outside the alphabet either raise :class:`UnknownCharacters` listing all of
        them (``unknown="error"``: a silently mangled transcript trains a worse model), or are
        dropped (``unknown="skip"``), after which whitespace is collapsed again so that dropping
        a word leaves no double or edge space behind.
        """
        if unknown not in ("error", "skip"):
            raise ValueError(f"unknown must be 'error' or 'skip', got {unknown!r}")
        text = self.normalise(text)
        ids = self._ids
        missing = [c for c in text if c not in ids]
        if missing:
            if unknown == "error":
                raise UnknownCharacters(Counter(missing))
            text = " ".join("".join(c for c in text if c in ids).split())
        return [ids[c] for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Characters of ``ids``; blanks are ignored, repeats are kept (no CTC collapsing)."""
        chars = self._chars
        out = []
        for i in ids:
            i = int(i)
            if i == BLANK:
                continue
            if not 0 < i <= len(chars):
                raise ValueError(f"id {i} out of range for an alphabet of size {self.size}")
            out.append(chars[i - 1])
        return "".join(out)

    def adapted_to(self, texts: Iterable[str], keep: bool = False) -> "Alphabet":
        """The alphabet for fine-tuning on ``texts``: what they use, in an order that keeps ids.

        This alphabet's characters that the normalised texts use (with ``keep``: all of them),
        in this alphabet's order, then the texts' new characters by code point. Keeping the old
        order means that data using exactly this alphabet's characters gets this very alphabet
        back (and so the same ids), however the original was ordered. ``lowercase`` is kept:
        it belongs to the model, not to the data.
        """
        used: set[str] = set()
        for text in _as_texts(texts):
            used.update(self.normalise(text))
        kept = [c for c in self._chars if keep or c in used]
        return Alphabet(kept + sorted(used - set(self._chars)), lowercase=self.lowercase)

    def unknown_chars(self, texts: Iterable[str]) -> Counter[str]:
        """How often each character outside the alphabet occurs in the normalised texts."""
        counts: Counter[str] = Counter()
        for text in _as_texts(texts):
            counts.update(c for c in self.normalise(text) if c not in self._ids)
        return counts

    # --- serialisation -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form; ``chars`` is a list so the order (and thus the ids) is explicit."""
        return {"chars": list(self._chars), "lowercase": self.lowercase}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Alphabet":
        return cls(data["chars"], lowercase=bool(data.get("lowercase", False)))


def _as_texts(texts: Iterable[str] | str) -> Sequence[str] | Iterable[str]:
    """A lone string means one text, not a sequence of one-character texts."""
    return [texts] if isinstance(texts, str) else texts
