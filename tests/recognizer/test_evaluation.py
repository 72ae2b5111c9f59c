import json
import math
from pathlib import Path

import pytest

from recognizer.alphabet import Alphabet
from recognizer.decoder_config import DecoderConfig
from recognizer.evaluation import Report, evaluate
from recognizer.metrics import ErrorRate
from recognizer.results import Result


def levenshtein(a, b):
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


class FakeRecognizer:
    """Stands in for :class:`recognizer.inference.Recognizer`: answers are chosen per file name."""

    def __init__(self, answers, alphabet, name="fake"):
        self.answers = answers  # file name -> text, or an Exception for a failed input
        self.alphabet = alphabet
        self.name = name
        self.decoder_config = DecoderConfig()
        self.calls = []

    def recognize(self, paths, progress=False):
        paths = [str(p) for p in paths]
        self.calls.append(paths)
        out = []
        for p in paths:
            answer = self.answers[Path(p).name]
            if isinstance(answer, Exception):
                out.append(Result.failed(p, f"{p}: {answer}"))
            else:
                out.append(Result(path=p, text=answer, confidence=0.5))
        return out


def make_manifest(tmp_path, rows, missing=()):
    lines = ["path\ttext"]
    for name, text in rows:
        if name not in missing:
            (tmp_path / name).write_bytes(b"x")
        lines.append(f"{name}\t{text}")
    (tmp_path / "m.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "m.tsv"


ALPHA = Alphabet(" abcdefghijklmnopqrstuvwxyz")


def test_corpus_rates_are_total_over_total(tmp_path):
    rows = [("1.wav", "the cat sat"), ("2.wav", "a"), ("3.wav", "hello world again")]
    hyps = {"1.wav": "the bat sat", "2.wav": "abc", "3.wav": "hello word"}
    fake = FakeRecognizer(hyps, ALPHA)
    report = evaluate(fake, make_manifest(tmp_path, rows))
    refs = [t for _, t in rows]
    outs = [hyps[n] for n, _ in rows]
    char_errors = sum(levenshtein(r, h) for r, h in zip(refs, outs))
    word_errors = sum(levenshtein(r.split(), h.split()) for r, h in zip(refs, outs))
    assert report.cer == ErrorRate(char_errors, sum(map(len, refs)))
    assert report.wer == ErrorRate(word_errors, sum(len(r.split()) for r in refs))
    # corpus level, not the mean of per-sentence rates
    mean_cer = sum(levenshtein(r, h) / len(r) for r, h in zip(refs, outs)) / len(refs)
    assert not math.isclose(report.cer.rate, mean_cer)
    assert fake.calls == [[str(tmp_path / n) for n, _ in rows]]  # one call, manifest order
    assert report.model == "fake" and report.manifest == str(tmp_path / "m.tsv")
    assert [s["cer_errors"] for s in report.samples] == [levenshtein(r, h) for r, h in zip(refs, outs)]
    assert sum(s["wer_errors"] for s in report.samples) == report.wer.errors
    assert sum(s["cer_length"] for s in report.samples) == report.cer.length


def test_failed_inputs_are_listed_and_excluded(tmp_path):
    rows = [("1.wav", "abc"), ("2.wav", "zzz zzz"), ("3.wav", "abd"), ("4.wav", "gone")]
    fake = FakeRecognizer({"1.wav": "abc", "2.wav": OSError("unreadable"), "3.wav": "abc"}, ALPHA)
    report = evaluate(fake, make_manifest(tmp_path, rows, missing={"4.wav"}))
    assert fake.calls == [[str(tmp_path / n) for n in ("1.wav", "2.wav", "3.wav")]]
    assert [Path(s["path"]).name for s in report.samples] == ["1.wav", "3.wav"]
    assert report.cer == ErrorRate(1, 6) and report.wer == ErrorRate(1, 2)
    assert len(report.failed) == 2
    manifest_problem = next(f for f in report.failed if "4.wav" in f)
    assert manifest_problem.startswith(f"{tmp_path / 'm.tsv'}:5:")
    assert any(f.startswith(str(tmp_path / "2.wav")) and "unreadable" in f for f in report.failed)


def test_references_are_normalised_like_the_alphabet(tmp_path):
    rows = [("1.wav", "Hello   World\u00a0Again ")]
    lower = evaluate(FakeRecognizer({"1.wav": "hello world again"}, Alphabet(" adeghilnorw", lowercase=True)),
                     make_manifest(tmp_path, rows))
    assert lower.cer.errors == 0 and lower.wer.errors == 0
    assert lower.samples[0]["reference"] == "hello world again"
    assert lower.cer.length == len("hello world again")
    cased = evaluate(FakeRecognizer({"1.wav": "hello world again"}, ALPHA), make_manifest(tmp_path, rows))
    assert cased.cer.errors == 3 and cased.wer.errors == 3  # case errors count for a cased model


def test_worst_orders_by_errors_then_path(tmp_path):
    rows = [("a.wav", "abcd"), ("b.wav", "abcd"), ("c.wav", "abcd"), ("d.wav", "abcd")]
    fake = FakeRecognizer({"a.wav": "abcd", "b.wav": "xbcd", "c.wav": "xxcd", "d.wav": "xbcd"}, ALPHA)
    report = evaluate(fake, make_manifest(tmp_path, rows))
    worst = report.worst(3)
    assert [Path(s["path"]).name for s in worst] == ["c.wav", "b.wav", "d.wav"]
    assert [s["cer_errors"] for s in report.worst(10)] == [2, 1, 1, 0]


def test_unknown_chars_are_counted_most_common_first(tmp_path):
    rows = [("1.wav", "ab!! é"), ("2.wav", "a!b?"), ("3.wav", "ok")]
    report = evaluate(FakeRecognizer({"1.wav": "ab", "2.wav": "ab", "3.wav": "ok"}, ALPHA),
                      make_manifest(tmp_path, rows))
    assert report.unknown_chars == {"!": 3, "é": 1, "?": 1}
    assert list(report.unknown_chars)[0] == "!"


def test_to_dict_is_json_serialisable(tmp_path):
    rows = [("1.wav", "ab"), ("2.wav", "cd")]
    report = evaluate(FakeRecognizer({"1.wav": "ab", "2.wav": OSError("bad")}, ALPHA),
                      make_manifest(tmp_path, rows))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["cer"] == 0.0 and data["cer_errors"] == 0 and data["cer_length"] == 2
    assert data["samples"] == 1 and len(data["all"]) == 1 and len(data["failed"]) == 1
    assert data["worst"][0]["hypothesis"] == "ab" and data["worst"][0]["confidence"] == 0.5


def test_to_dict_with_everything_failed_is_still_serialisable(tmp_path):
    rows = [("1.wav", "ab")]
    report = evaluate(FakeRecognizer({"1.wav": OSError("bad")}, ALPHA), make_manifest(tmp_path, rows))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["cer"] == 0.0 and data["samples"] == 0 and data["worst"] == []


def test_words_written_over_empty_references_are_counted_with_a_null_rate(tmp_path):
    """Non-speech clips: every character is an insertion; the rate over no reference is
    undefined, which strict JSON has no number for, so the report says null beside the counts."""
    rows = [("1.wav", ""), ("2.wav", ""), ("3.wav", "")]
    report = evaluate(FakeRecognizer({"1.wav": "ab c", "2.wav": "", "3.wav": "d"}, ALPHA),
                      make_manifest(tmp_path, rows))
    assert report.cer.rate == float("inf") and report.wer.errors == 3
    text = json.dumps(report.to_dict(), allow_nan=False)  # raises on Infinity / NaN
    data = json.loads(text)
    assert (data["cer"], data["cer_errors"], data["cer_length"]) == (None, 5, 0)
    assert (data["wer"], data["wer_errors"], data["wer_length"]) == (None, 3, 0)


def test_worst_limits_and_to_dict_worst_count():
    samples = [{"path": f"{i}.wav", "cer_errors": i % 4} for i in range(30)]
    report = Report("m.tsv", "x", ErrorRate(1, 2), ErrorRate(1, 2), samples)
    assert len(report.worst(5)) == 5 and len(report.to_dict(worst=7)["worst"]) == 7
    assert all(s["cer_errors"] == 3 for s in report.worst(5))


def test_bad_manifest_header_raises_input_error(tmp_path):
    from data_prep.errors import InputError

    (tmp_path / "m.tsv").write_text("file\ttext\n")
    with pytest.raises(InputError):
        evaluate(FakeRecognizer({}, ALPHA), tmp_path / "m.tsv")


def make_tagged_manifest(tmp_path, rows):
    """rows: (name, text, font); the font column is empty where font is None."""
    lines = ["path\ttext\tfont"]
    for name, text, font in rows:
        (tmp_path / name).write_bytes(b"x")
        lines.append(f"{name}\t{text}\t{font or ''}")
    (tmp_path / "m.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "m.tsv"


def test_by_column_scores_each_group_and_the_groups_add_up(tmp_path):
    rows = [("1.png", "ab cd", "b"), ("2.png", "abcd", "a"), ("3.png", "xy", "b"), ("4.png", "zz", None)]
    answers = {"1.png": "ab cx", "2.png": "abcd", "3.png": "", "4.png": "z"}
    report = evaluate(FakeRecognizer(answers, ALPHA), make_tagged_manifest(tmp_path, rows), by=["font"])
    groups = report.by("font")
    assert list(groups) == ["", "a", "b"]  # value order; the row without a font is its own group
    count, c, w = groups["b"]
    assert count == 2 and (c.errors, c.length) == (1 + 2, 5 + 2) and (w.errors, w.length) == (1 + 1, 2 + 1)
    assert groups["a"][1].errors == 0 and groups[""][1] == ErrorRate(1, 2)
    assert sum((g[1] for g in groups.values()), ErrorRate(0, 0)) == report.cer
    assert sum((g[2] for g in groups.values()), ErrorRate(0, 0)) == report.wer
    data = json.loads(json.dumps(report.to_dict()))
    assert data["by"]["font"]["b"] == {"samples": 2, "cer": round(3 / 7, 6), "cer_errors": 3, "cer_length": 7,
                                       "wer": round(2 / 3, 6), "wer_errors": 2, "wer_length": 3}
    assert data["all"][0]["fields"] == {"font": "b"}


def test_by_a_column_the_manifest_lacks_fails_before_decoding(tmp_path):
    from data_prep.errors import InputError

    fake = FakeRecognizer({"1.png": "ab"}, ALPHA)
    with pytest.raises(InputError, match="no column 'voice'.*columns: font"):
        evaluate(fake, make_tagged_manifest(tmp_path, [("1.png", "ab", "a")]), by=["voice"])
    assert fake.calls == []


def test_without_by_samples_carry_no_fields(tmp_path):
    report = evaluate(FakeRecognizer({"1.png": "ab"}, ALPHA), make_tagged_manifest(tmp_path, [("1.png", "ab", "a")]))
    assert "fields" not in report.samples[0] and report.to_dict()["by"] == {}


def test_by_a_numeric_json_column_keeps_zero_as_its_own_group(tmp_path):
    for name in ("1.wav", "2.wav", "3.wav"):
        (tmp_path / name).write_bytes(b"x")
    rows = [{"path": "1.wav", "text": "ab", "take": 0}, {"path": "2.wav", "text": "ab", "take": 1},
            {"path": "3.wav", "text": "ab"}]
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    report = evaluate(FakeRecognizer({"1.wav": "ab", "2.wav": "ax", "3.wav": "ab"}, ALPHA), tmp_path / "m.jsonl",
                      by=["take"])
    groups = report.by("take")
    assert list(groups) == ["", "0", "1"] and groups["0"][1].errors == 0 and groups["1"][1].errors == 1
