import math

import pytest

from recognizer.metrics import ErrorRate, cer, sample_errors, wer


def test_cer_substitution_insertion_deletion():
    assert cer("abcd", "abxd") == ErrorRate(1, 4)  # substitution
    assert cer("abcd", "abcde") == ErrorRate(1, 4)  # insertion
    assert cer("abcd", "acd") == ErrorRate(1, 4)  # deletion
    assert cer("kitten", "sitting") == ErrorRate(3, 6)
    assert cer("a b", "ab") == ErrorRate(1, 3)  # the space is a character


def test_wer_substitution_insertion_deletion():
    assert wer("the cat sat", "the bat sat") == ErrorRate(1, 3)
    assert wer("the cat sat", "the cat sat down") == ErrorRate(1, 3)
    assert wer("the cat sat", "cat sat") == ErrorRate(1, 3)
    assert wer("a b c d", "a x y") == ErrorRate(3, 4)  # 2 substitutions + 1 deletion


def test_corpus_level_is_total_over_total_not_mean_of_sentences():
    refs, hyps = ["a", "abcdefghij"], ["b", "abcdefghij"]
    result = cer(refs, hyps)
    assert result == ErrorRate(1, 11)
    assert result.rate == pytest.approx(1 / 11)
    assert result.rate != pytest.approx((1.0 + 0.0) / 2)  # mean of sentence rates
    assert wer(["x", "a b c d"], ["y", "a b c d"]).rate == pytest.approx(1 / 5)


def test_whitespace_runs_and_nfc_do_not_count_but_case_does():
    assert cer("a  b\tc", " a b c ") == ErrorRate(0, 5)
    assert wer("a\u00a0b\nc", "a b c") == ErrorRate(0, 3)
    assert cer("\u00e9t\u00e9", "e\u0301te\u0301") == ErrorRate(0, 3)
    assert cer("Abc", "abc") == ErrorRate(1, 3)
    assert wer("Abc d", "abc d") == ErrorRate(1, 2)


def test_empty_reference_counts_hypothesis_as_insertions():
    assert cer(["", "ab"], ["xyz", "ab"]) == ErrorRate(3, 2)
    assert wer(["", "ab"], ["x y", "ab"]) == ErrorRate(2, 1)
    assert cer("abc", "") == ErrorRate(3, 3)


def test_zero_total_length():
    assert cer("", "").rate == 0.0
    assert cer(["", "  "], ["", "\t"]).rate == 0.0
    assert math.isinf(cer("", "x").rate)
    assert math.isinf(wer([" "], ["a b"]).rate)
    assert cer([], []) == ErrorRate(0, 0)


def test_error_rate_str_and_add():
    assert str(ErrorRate(12, 374)) == "3.21% (12/374)"
    assert str(ErrorRate(0, 0)) == "0.00% (0/0)"
    assert str(ErrorRate(7, 0)) == "7 inserted (no reference)"  # words written into non-speech
    assert ErrorRate(1, 2) + ErrorRate(3, 4) == ErrorRate(4, 6)


def test_mismatched_inputs_raise():
    with pytest.raises(ValueError):
        cer(["a", "b"], ["a"])
    with pytest.raises(ValueError):
        wer(["a"], [])
    with pytest.raises(TypeError):
        cer("a", ["a"])


def test_accepts_iterables():
    assert wer((r for r in ["a b"]), iter(["a c"])) == ErrorRate(1, 2)


def test_sample_errors_per_pair_and_sums_to_corpus():
    refs = ["the cat", "", "a  b c"]
    hyps = ["the bat", "x", "a b"]
    samples = sample_errors(refs, hyps)
    assert [tuple(s) for s in samples] == [(1, 7, 1, 2), (1, 0, 1, 0), (2, 5, 1, 3)]
    assert samples[0].cer_errors == 1 and samples[0].wer_len == 2
    assert sum(s.cer_errors for s in samples) == cer(refs, hyps).errors
    assert sum(s.wer_len for s in samples) == wer(refs, hyps).length
    assert sample_errors("ab", "b") == [(1, 2, 1, 1)]
