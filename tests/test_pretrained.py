"""The shipped bundles: they load, read their own demo samples, and do not care about the sample
rate or channel count of a recording. Scores on full test sets are in each MODEL_CARD.md."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

import recognizer
from data_prep.audio import resample
from data_prep.manifest import read_manifest
from recognizer.cli import main
from recognizer.decoder_config import DecoderConfig
from recognizer.metrics import cer

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "pretrained" / "samples"
# handwriting-en on its six English samples, CER at most (measured at epoch 11: 1.18% greedy, 0.78% with its LM)
GREEDY_SAMPLE_CER = 0.05
LM_SAMPLE_CER = 0.05


@pytest.fixture(scope="module")
def speech():
    return recognizer.load("speech-digits")


@pytest.fixture(scope="module")
def handwriting():
    return recognizer.load("handwriting-digits")


@pytest.mark.parametrize("name, score", [("speech-digits", "test"), ("handwriting-digits", "test"),
                                         ("handwriting-en", "heldout_fonts")])
def test_bundle_has_a_model_card_with_measured_scores(name, score):
    folder = REPO / "pretrained" / name
    config = json.loads((folder / "config.json").read_text())
    assert config["scores"].get(score), "config.json must carry the measured test scores"
    card = (folder / "MODEL_CARD.md").read_text()
    assert "CER" in card and "WER" in card and "scripts/train_" in card
    assert sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) < 20 * 2**20


def test_speech_digits_reads_the_demo_samples(speech):
    entries = read_manifest(SAMPLES / "speech" / "references.tsv")
    results = speech.transcribe([e.path for e in entries])
    correct = sum(r.text == e.text for r, e in zip(results, entries))
    assert correct >= len(entries) - 1, [(r.text, e.text) for r, e in zip(results, entries)]


def test_handwriting_digits_reads_the_demo_samples(handwriting):
    entries = read_manifest(SAMPLES / "handwriting" / "references.tsv")
    results = handwriting.read([e.path for e in entries])
    correct = sum(r.text == e.text for r, e in zip(results, entries))
    assert correct >= len(entries) - 1, [(r.text, e.text) for r, e in zip(results, entries)]


def test_speech_is_the_same_at_any_rate_and_channel_count(speech, tmp_path):
    """An 8 kHz recording converted to 16 kHz mono and to 44.1 kHz stereo transcribes the same."""
    source = SAMPLES / "speech" / "joined_3_george.wav"
    audio, rate = soundfile.read(source, dtype="float32")
    soundfile.write(tmp_path / "16k.wav", resample(audio, rate, 16000), 16000)
    wide = resample(audio, rate, 44100)
    soundfile.write(tmp_path / "44k_stereo.flac", np.stack([wide, 0.6 * wide], axis=1), 44100)
    original, converted, stereo = speech.transcribe([source, tmp_path / "16k.wav", tmp_path / "44k_stereo.flac"])
    assert original.text == "three two four"
    assert converted.text == original.text and stereo.text == original.text
    starts = [w.start for w in original.words]
    assert [w.start for w in stereo.words] == pytest.approx(starts, abs=0.05)
    assert original.words[-1].end <= len(audio) / rate + 0.05


def test_cli_transcribes_with_the_shipped_model(capsys):
    path = SAMPLES / "speech" / "6_george_2.wav"
    assert main(["transcribe", "--model", "speech-digits", "--format", "jsonl", str(path)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["path"] == str(path) and line["text"] == "six"
    assert 0 < line["confidence"] <= 1 and line["words"][0]["word"] == "six"


def test_cli_reads_with_the_shipped_model(capsys):
    path = SAMPLES / "handwriting" / "line_2.png"
    assert main(["read", "--model", "handwriting-digits", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "552"


@pytest.fixture(scope="module")
def english_lines():
    return read_manifest(SAMPLES / "lines-en" / "references.tsv")


def test_handwriting_en_reads_lines_in_fonts_it_never_saw(english_lines):
    """The six English samples are test lines in the three fonts held out of handwriting-en."""
    greedy = recognizer.load("handwriting-en", decoder=DecoderConfig(decoder="greedy"))
    results = greedy.read([e.path for e in english_lines])
    rate = cer([e.text for e in english_lines], [r.text for r in results])
    assert rate.rate <= GREEDY_SAMPLE_CER, [(r.text, e.text) for r, e in zip(results, english_lines)]


def test_cli_reads_english_with_the_default_model_and_its_lm(english_lines, capsys):
    paths = [str(e.path) for e in english_lines]
    assert main(["read", "--format", "jsonl", *paths]) == 0  # no --model: handwriting-en, lm/decoder.json
    texts = [json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()]
    assert cer([e.text for e in english_lines], texts).rate <= LM_SAMPLE_CER
