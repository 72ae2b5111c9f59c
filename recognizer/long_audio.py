"""Long recordings: featurise piece by piece, decode, and join the pieces into one result.

:func:`data_prep.audio_segments.pause_segments` cuts a long file at pauses; each piece's
features carry its start time as their ``offset``, so every character and word time the decoder
gives is already a time in the whole file. Joining is then only concatenation: the texts with a
space between pieces (a cut sits in a pause, so it is a word boundary), the spans in order, and
the per-frame (geometric mean) confidence weighted by each piece's duration.

Alternatives (``nbest``) of a joined file are those that differ from the best text in one piece:
the pieces' hypotheses are independent, so the file's k best are the best text with one
piece's runner-up swapped in, ranked by how little that swap costs. A swap in two pieces at
once ranks below both of its single swaps; it is left out, so only the first entries of a long
list are exact.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Sequence

from data_prep.audio_segments import pause_segments, read_span
from data_prep.features import Extractor, FeatureSeq
from recognizer.decoding import Char, Decoded, Hypothesis, Word


def featurise_pieces(extractor: Extractor, path: str, max_seconds: float) -> list[FeatureSeq]:
    """Features of each piece of ``path``, positioned in the whole file's time."""
    pieces = []
    for start, end in pause_segments(path, max_seconds=max_seconds, search_seconds=min(6.0, max_seconds / 3)):
        waveform = read_span(path, start, end, extractor.config.sample_rate)
        if waveform.size == 0:
            continue
        seq = extractor.extract(waveform)
        if len(seq):
            pieces.append(dataclasses.replace(seq, offset=seq.offset + start))
    return pieces


def join_decoded(parts: Sequence[Decoded], durations: Sequence[float]) -> Decoded:
    """One :class:`Decoded` for consecutive pieces; ``durations`` weight the confidences."""
    texts = [part.text for part in parts]
    chars: list[Char] = []
    words: list[Word] = []
    for part in parts:
        if not part.text:
            continue
        if chars:  # the join is a word boundary: a zero-length space at the cut keeps text == chars
            chars.append(Char(" ", chars[-1].end, part.chars[0].start if part.chars else chars[-1].end, 1.0))
        chars.extend(part.chars)
        words.extend(part.words)
    total = sum(durations)
    if total > 0:
        log_conf = sum(d * math.log(max(p.confidence, 1e-30)) for p, d in zip(parts, durations)) / total
        confidence = math.exp(log_conf)
    else:
        confidence = 1.0
    return Decoded(text=" ".join(t for t in texts if t), confidence=confidence, chars=chars, words=words,
                   nbest=join_nbest(parts))


def join_nbest(parts: Sequence[Decoded]) -> list[Hypothesis]:
    """The file's alternatives from its pieces' n-best lists (empty if no piece has one)."""
    if not any(part.nbest for part in parts):
        return []
    size = max(len(part.nbest) for part in parts)
    # a piece without a list (an empty piece) contributes its text at no score
    best = [part.nbest[0] if part.nbest else Hypothesis(part.text, 0.0, 0.0) for part in parts]
    score, acoustic = sum(h.score for h in best), sum(h.acoustic for h in best)

    def hypothesis(index: int, alternative: Hypothesis) -> Hypothesis:
        texts = [alternative.text if i == index else h.text for i, h in enumerate(best)]
        return Hypothesis(" ".join(t for t in texts if t), score - best[index].score + alternative.score,
                          acoustic - best[index].acoustic + alternative.acoustic)

    swaps = [hypothesis(i, alt) for i, part in enumerate(parts) for alt in part.nbest[1:]]
    swaps.sort(key=lambda h: -h.score)
    out = [hypothesis(0, best[0])]
    seen = {out[0].text}
    for swap in swaps:
        if len(out) == size:
            break
        if swap.text not in seen:  # two pieces' swaps can spell the same file text
            seen.add(swap.text)
            out.append(swap)
    return out
