"""Long audio through the inference API: pieces joined with correct text, spans and timings."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from recognizer.decoding import Char, Decoded, Hypothesis, Word
from recognizer.long_audio import join_decoded
from recognizer.metrics import wer


def _part(text, start, confidence):
    chars = [Char(c, start + i * 0.1, start + (i + 1) * 0.1, confidence) for i, c in enumerate(text)]
    words, offset = [], 0
    for word in text.split():
        first = chars[text.index(word, offset)]
        offset = text.index(word, offset) + len(word)
        words.append(Word(word, first.start, chars[offset - 1].end, confidence))
    return Decoded(text, confidence, chars, words)


def test_join_keeps_text_spans_and_weights_confidence():
    parts = [_part("one two", 0.0, 0.9), _part("", 30.0, 1.0), _part("three", 60.0, 0.5)]
    joined = join_decoded(parts, [30.0, 30.0, 10.0])
    assert joined.text == "one two three"
    assert "".join(c.char for c in joined.chars) == joined.text
    assert [w.word for w in joined.words] == ["one", "two", "three"] and joined.words[2].start == 60.0
    expected = math.exp((30 * math.log(0.9) + 30 * math.log(1.0) + 10 * math.log(0.5)) / 70)
    assert joined.confidence == pytest.approx(expected)


def test_join_ranks_file_alternatives_by_the_cost_of_one_piece_swap():
    parts = [_part("one two", 0.0, 0.9), _part("", 30.0, 1.0), _part("three", 60.0, 0.5)]
    parts[0].nbest = [Hypothesis("one two", -1.0, -2.0), Hypothesis("one to", -1.5, -2.2),
                      Hypothesis("won two", -4.0, -4.5)]
    parts[2].nbest = [Hypothesis("three", -3.0, -3.0), Hypothesis("tree", -5.0, -5.5)]
    nbest = join_decoded(parts, [30.0, 30.0, 10.0]).nbest
    assert [h.text for h in nbest] == ["one two three", "one to three", "one two tree"]
    assert [h.score for h in nbest] == pytest.approx([-4.0, -4.5, -6.0])
    assert [h.acoustic for h in nbest] == pytest.approx([-5.0, -5.2, -7.5])
    assert join_decoded(parts[:1] + [_part("four", 70.0, 0.8)], [30.0, 5.0]).nbest[1].text == "one to four"
    assert join_decoded([_part("a", 0.0, 0.9), _part("b", 9.0, 0.9)], [9.0, 1.0]).nbest == []


def test_long_file_transcribes_in_pieces_like_the_whole():
    """The shipped digit model on the bundled samples joined into 50 s with pauses: cut into
    pieces of at most 10 s, it must give the whole file's transcript, with word times within a
    frame of the whole file's and inside the file."""
    import recognizer
    from data_prep.audio import load_audio
    from data_prep.manifest import read_manifest
    from data_prep.paths import repo_root

    entries = read_manifest(repo_root() / "pretrained" / "samples" / "speech" / "references.tsv")
    rate = 8000
    rng = np.random.default_rng(3)
    pieces, words = [], []
    for entry in entries * 3:
        pieces += [load_audio(entry.path, rate), 0.002 * rng.standard_normal(int(rate * rng.uniform(0.5, 1.0)))]
        words += entry.text.split()
    y = np.concatenate(pieces).astype(np.float32)
    path = str(Path(tempfile.mkdtemp()) / "long.wav")
    sf.write(path, y, rate, subtype="PCM_16")
    cut, whole = recognizer.load("speech-digits"), recognizer.load("speech-digits")
    cut.segment_seconds, whole.segment_seconds = 10.0, 1000.0
    assert len(cut.featurise_pieces(path)) >= 5
    in_pieces, at_once = cut.transcribe([path])[0], whole.transcribe([path])[0]
    reference = " ".join(words)
    # per-piece normalisation and context may flip a doubtful word either way, nothing more
    assert wer([reference], [in_pieces.text]).rate <= wer([reference], [at_once.text]).rate + 0.05
    assert len(in_pieces.words) == len(at_once.words) == len(words)
    for a, b in zip(in_pieces.words, at_once.words):  # timings: within one output frame (20 ms)
        assert abs(a.start - b.start) <= 0.021 and abs(a.end - b.end) <= 0.021
    assert 0 <= in_pieces.words[0].start and in_pieces.words[-1].end <= len(y) / rate + 1e-6
