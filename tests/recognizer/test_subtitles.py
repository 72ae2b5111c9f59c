import re

import pytest

from recognizer.decoding import Word
from recognizer.subtitles import make_cues, subtitles, timestamp, to_srt, to_vtt


def words(*spans):
    return [Word(w, s, e, 0.9) for w, s, e in spans]


def test_timestamps():
    assert timestamp(0, ",") == "00:00:00,000"
    assert timestamp(3725.0456, ".") == "01:02:05.046"
    assert timestamp(-0.2, ",") == "00:00:00,000"


def test_cues_break_at_pauses_length_and_duration():
    ws = words(("one", 0.0, 0.4), ("two", 0.5, 0.9), ("three", 2.5, 3.0), ("four", 3.1, 3.4))
    cues = make_cues(ws, max_gap=1.0)
    assert [(c.start, c.end, c.text) for c in cues] == [(0.0, 0.9, "one two"), (2.5, 3.4, "three four")]
    long = words(*[(f"w{i}", i * 0.5, i * 0.5 + 0.4) for i in range(40)])
    cues = make_cues(long, max_seconds=6.0)
    assert all(c.end - c.start <= 6.0 for c in cues)
    assert [w for c in cues for w in c.text.split()] == [w.word for w in long]
    wide = words(*[("abcdefghij", i * 0.2, i * 0.2 + 0.1) for i in range(20)])
    cues = make_cues(wide, max_chars=50, line_chars=25)
    assert all(len(c.text.replace("\n", " ")) <= 50 for c in cues)
    assert all(len(line) <= 25 for c in cues for line in c.text.split("\n"))


def test_srt_and_vtt_shapes():
    ws = words(("hello", 1.0, 1.5), ("world", 1.6, 2.0), ("again", 5.0, 5.0))
    srt = subtitles(ws, "srt")
    assert srt == ("1\n00:00:01,000 --> 00:00:02,000\nhello world\n\n"
                   "2\n00:00:05,000 --> 00:00:05,001\nagain\n\n")
    vtt = subtitles(ws, "vtt")
    assert vtt.startswith("WEBVTT\n\n") and "00:00:01.000 --> 00:00:02.000\nhello world\n" in vtt
    assert to_srt([]) == "" and to_vtt([]) == "WEBVTT\n\n"
    arrows = re.findall(r"(\S+) --> (\S+)", vtt)
    assert all(a < b for a, b in arrows)
    with pytest.raises(ValueError):
        subtitles(ws, "ass")
