"""The shipped bundles: they load, read their own demo samples, and do not care about the sample
rate or channel count of a recording. Scores on full test sets are in each MODEL_CARD.md."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

import recognizer
from data_prep.audio import resample
from data_prep.manifest import read_manifest
from recognizer.cli import main
from recognizer.decoder_config import DecoderConfig
from recognizer.metrics import cer, wer

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "pretrained" / "samples"
# handwriting-en on its six English samples (255 characters), CER at most (measured at epoch 23: 1.96% greedy,
# 0.39% with its LM; at epoch 20 1.57% and 0.78%: six lines move by single characters between snapshots)
GREEDY_SAMPLE_CER = 0.05
LM_SAMPLE_CER = 0.05
# speech-en on its six samples, WER at most (measured at epoch 29: 50.9% greedy, 28.3% with its LM, of 53
# words; at epoch 26 52.8% and 28.3%; the bound leaves five words for arithmetic that differs between CPUs)
SPEECH_GREEDY_SAMPLE_WER = 0.75
SPEECH_LM_SAMPLE_WER = 0.5


@pytest.fixture(scope="module")
def speech():
    return recognizer.load("speech-digits")


@pytest.fixture(scope="module")
def handwriting():
    return recognizer.load("handwriting-digits")


@pytest.mark.parametrize("name, score", [("speech-digits", "test"), ("handwriting-digits", "test"),
                                         ("handwriting-en", "heldout_fonts"), ("speech-en", "heldout_voices")])
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


def english_samples(folder: str):
    return read_manifest(SAMPLES / folder / "references.tsv")


def image_width(path) -> float:
    with Image.open(path) as image:
        return image.width


def audio_seconds(path) -> float:
    return soundfile.info(path).duration


@pytest.mark.parametrize("name, verb, folder, metric, bound, extent", [
    ("handwriting-en", "read", "lines-en", cer, GREEDY_SAMPLE_CER, image_width),
    ("speech-en", "transcribe", "speech-en", wer, SPEECH_GREEDY_SAMPLE_WER, audio_seconds),
])
def test_english_models_on_inputs_they_never_saw(name, verb, folder, metric, bound, extent):
    """The samples are test lines in fonts held out of handwriting-en, and test utterances of voices
    held out of speech-en (stored at 8-48 kHz as wav, flac, ogg and mp3); words lie inside each input."""
    entries = english_samples(folder)
    greedy = recognizer.load(name, decoder=DecoderConfig(decoder="greedy"))
    results = getattr(greedy, verb)([e.path for e in entries])
    rate = metric([e.text for e in entries], [r.text for r in results])
    assert rate.rate <= bound, [(r.text, e.text) for r, e in zip(results, entries)]
    for result, entry in zip(results, entries):
        assert result.words and 0 <= result.words[0].start < result.words[-1].end <= extent(entry.path) + 0.05


@pytest.mark.parametrize("verb, folder, metric, bound", [("read", "lines-en", cer, LM_SAMPLE_CER),
                                                         ("transcribe", "speech-en", wer, SPEECH_LM_SAMPLE_WER)])
def test_cli_default_model_and_its_lm_on_the_english_samples(verb, folder, metric, bound, capsys):
    """No --model: handwriting-en or speech-en, decoded as their lm/decoder.json says."""
    entries = english_samples(folder)
    assert main([verb, "--format", "jsonl", *(str(e.path) for e in entries)]) == 0
    texts = [json.loads(line)["text"] for line in capsys.readouterr().out.splitlines()]
    assert metric([e.text for e in entries], texts).rate <= bound, texts
