import json
from pathlib import Path

import numpy as np

from recognizer.alphabet import Alphabet
from recognizer.decoding import Char, Decoded, Word, greedy_decode
from recognizer.results import Result


def decoded():
    chars = [
        Char("h", 0.1, 0.2, 0.91234),
        Char("i", 0.2, 0.3333333, 0.8),
        Char(" ", 0.35, 0.4, 0.5),
        Char("x", 0.4, 0.5, 0.7),
    ]
    words = [Word("hi", 0.1, 0.3333333, 0.8), Word("x", 0.4, 0.5, 0.7)]
    return Decoded("hi x", 0.876543, chars, words)


def test_to_dict_is_exactly_the_jsonl_shape():
    result = Result.from_decoded(Path("a/b.wav"), decoded(), unit="s")
    assert result.ok and result.path == "a/b.wav"
    assert result.to_dict() == {
        "path": "a/b.wav",
        "text": "hi x",
        "confidence": 0.8765,
        "words": [
            {"word": "hi", "start": 0.1, "end": 0.333, "confidence": 0.8},
            {"word": "x", "start": 0.4, "end": 0.5, "confidence": 0.7},
        ],
    }
    assert list(result.to_dict()) == ["path", "text", "confidence", "words"]


def test_include_chars():
    chars = Result.from_decoded("x.png", decoded(), unit="px").to_dict(include_chars=True)["chars"]
    assert chars[0] == {"char": "h", "start": 0.1, "end": 0.2, "confidence": 0.9123}
    assert [c["char"] for c in chars] == ["h", "i", " ", "x"]


def test_failed_result():
    result = Result.failed(Path("broken.wav"), "broken.wav: not an audio file")
    assert not result.ok
    assert result.to_dict() == {"path": "broken.wav", "error": "broken.wav: not an audio file"}
    assert json.loads(result.to_json()) == result.to_dict()


def test_to_json_is_one_line_with_plain_python_floats():
    alphabet = Alphabet(" ab")
    log_probs = np.log(np.full((4, 4), 0.1, dtype=np.float32))
    for t, label in enumerate([2, 0, 1, 3]):
        log_probs[t, label] = np.log(np.float32(0.7))
    result = Result.from_decoded("ü\nx.wav", greedy_decode(log_probs, alphabet, step=0.04))
    line = result.to_json()
    assert len(line.splitlines()) == 1 and "ü" in line
    data = json.loads(line)
    assert data["text"] == "a b"
    assert data["words"][1] == {"word": "b", "start": 0.12, "end": 0.16, "confidence": 0.7}
    assert json.loads(Result.failed("a\u2028b", "x").to_json())["path"] == "a\u2028b"
    assert len(Result.failed("a\u2028b", "x").to_json().splitlines()) == 1


def test_nbest_is_listed_only_when_the_decoder_gave_one():
    from recognizer.decoding import Hypothesis

    with_nbest = decoded()
    with_nbest.nbest = [Hypothesis("hi x", -1.23456, -2.0), Hypothesis("hix", -3.5, -3.0)]
    result = Result.from_decoded("a.wav", with_nbest)
    assert result.to_dict()["nbest"] == [{"text": "hi x", "score": -1.2346}, {"text": "hix", "score": -3.5}]
    assert list(result.to_dict()) == ["path", "text", "confidence", "words", "nbest"]
    assert "nbest" not in Result.from_decoded("a.wav", decoded()).to_dict()
