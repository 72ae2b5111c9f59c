import json

import pytest

from recognizer.alphabet import Alphabet
from recognizer.beam_search import BeamDecoder
from recognizer.decoder_config import DecoderConfig, bundle_decoder_config, make_decoder
from recognizer.decoding import GreedyDecoder
from recognizer.lm import build_kneser_ney

ALPHA = Alphabet(" ab")


def test_override_chooses_the_beam_for_beam_only_options():
    base = DecoderConfig()
    assert base.override(decoder=None, alpha=None).decoder == "greedy"
    assert base.override(alpha=0.3).decoder == "greedy"  # a weight alone asks for nothing new
    for option in ({"lm": "x.arpa"}, {"lexicon": "w.txt"}, {"hotwords": ["ab"]}, {"nbest": 3}, {"beam_width": 8}):
        assert base.override(**option).decoder == "beam", option
    assert base.override(lm="x.arpa", decoder="greedy").decoder == "greedy"


def test_override_replaces_fields_adds_hotwords_and_none_switches_off():
    bundle = DecoderConfig(decoder="beam", lm="/b/lm/word.arpa", lexicon="/b/lm/words.txt", hotwords=["ab"])
    got = bundle.override(lm="none", lexicon=None, hotwords=["ba:2"], alpha=1.5, beta=None)
    assert (got.lm, got.lexicon, got.hotwords, got.alpha, got.beta) == (None, "/b/lm/words.txt", ["ab", "ba:2"], 1.5, 1.0)
    assert bundle.override(lexicon="none").lexicon is None


def test_invalid_values():
    for bad in ({"decoder": "viterbi"}, {"beam_width": 0}, {"nbest": 0}, {"lm_unit": "phone"}):
        with pytest.raises(ValueError):
            DecoderConfig(**bad)


def test_bundle_default_comes_from_lm_folder(tmp_path):
    assert bundle_decoder_config(tmp_path) == DecoderConfig()
    assert bundle_decoder_config(None) == DecoderConfig()
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "decoder.json").write_text(json.dumps({"decoder": "beam", "lm": "word.arpa", "alpha": 0.7}))
    config = bundle_decoder_config(tmp_path)
    assert config.decoder == "beam" and config.alpha == 0.7
    assert config.lm == str(tmp_path / "lm" / "word.arpa") and config.lexicon is None
    (tmp_path / "lm" / "decoder.json").write_text(json.dumps({"decoder": "beam", "alhpa": 0.7}))
    with pytest.raises(ValueError, match=r"decoder.json: unknown DecoderConfig keys: alhpa"):
        bundle_decoder_config(tmp_path)
    (tmp_path / "lm" / "decoder.json").write_text("{")
    with pytest.raises(ValueError, match="decoder.json"):
        bundle_decoder_config(tmp_path)


def test_make_decoder_loads_what_the_config_names(tmp_path):
    assert isinstance(make_decoder(DecoderConfig(), ALPHA), GreedyDecoder)
    lm_path = tmp_path / "w.arpa"
    build_kneser_ney([["ab", "ba"], ["ab"]], 2)[0].save(lm_path)
    (tmp_path / "lex.txt").write_text("ab\nba\n")
    config = DecoderConfig(decoder="beam", beam_width=7, lm=str(lm_path), alpha=0.9, beta=0.1,
                           lexicon=str(tmp_path / "lex.txt"), hotwords=["ab:3"], nbest=2)
    decoder = make_decoder(config, ALPHA)
    assert isinstance(decoder, BeamDecoder)
    assert (decoder.width, decoder.alpha, decoder.beta, decoder.nbest) == (7, 0.9, 0.1, 2)
    assert decoder.lm_unit == "word" and decoder.lexicon == ["ab", "ba"] and decoder.hotwords[0].weight == 3
    assert make_decoder(config, ALPHA).lm is decoder.lm  # loaded once per process
    other = decoder.with_weights(0.1, 2.0)
    assert (other.alpha, other.beta, decoder.alpha) == (0.1, 2.0, 0.9) and other.lm is decoder.lm
