import math

import numpy as np
import pytest
import soundfile as sf
from conftest import tiny_audio_features, tiny_image_features, tiny_model_config
from PIL import Image

from recognizer.alphabet import Alphabet
from recognizer.bundle import build_bundle
from recognizer.inference import Recognizer

AUDIO_GOOD = ["short.wav", "medium.wav", "long.wav", "stereo16k.wav"]
AUDIO_BAD = ["missing.wav", "empty.wav", "text.wav"]
IMAGE_GOOD = ["line_short.png", "line_medium.png", "line_long.png"]
IMAGE_BAD = ["missing.png", "empty.png", "tiny.png", "corrupt.png"]


def interleave(good, bad):
    out = []
    for i in range(max(len(good), len(bad))):
        out += good[i:i + 1] + bad[i:i + 1]
    return out


def check_failed(result, path):
    assert not result.ok and result.text == "" and result.words == []
    assert result.error.startswith(str(path))
    assert "\n" not in result.error and len(result.error) < 300


@pytest.mark.parametrize("modality", ["audio", "image"])
def test_one_result_per_input_in_order_failures_included(modality, media_dir, audio_recognizer, image_recognizer):
    model = audio_recognizer if modality == "audio" else image_recognizer
    good, bad = (AUDIO_GOOD, AUDIO_BAD) if modality == "audio" else (IMAGE_GOOD, IMAGE_BAD)
    names = interleave(good, bad) + [good[0]]  # a duplicate input gets its own result too
    paths = [media_dir / n for n in names]
    results = (model.transcribe if modality == "audio" else model.read)(paths)
    assert [r.path for r in results] == [str(p) for p in paths]
    for name, path, result in zip(names, paths, results):
        if name in bad:
            check_failed(result, path)
        else:
            assert result.ok, result.error
            assert 0.0 < result.confidence <= 1.0
            assert result.unit == ("s" if modality == "audio" else "px")
            assert set(result.text) <= set(model.alphabet.chars)
    assert results[0].text == results[-1].text and results[0].confidence == results[-1].confidence


def test_specific_error_reasons(media_dir, audio_recognizer, image_recognizer):
    audio = audio_recognizer.transcribe([media_dir / n for n in AUDIO_BAD])
    assert "not found" in audio[0].error and "empty" in audio[1].error and "audio" in audio[2].error
    image = image_recognizer.read([media_dir / n for n in IMAGE_BAD])
    assert "not found" in image[0].error and "empty" in image[1].error
    assert "small" in image[2].error and "image" in image[3].error


@pytest.mark.parametrize("modality", ["audio", "image"])
def test_batching_does_not_change_results(modality, media_dir, audio_bundle_dir, image_bundle_dir):
    import recognizer

    folder = audio_bundle_dir if modality == "audio" else image_bundle_dir
    names = (AUDIO_GOOD if modality == "audio" else IMAGE_GOOD) * 2
    paths = [media_dir / n for n in names]
    one = recognizer.load(folder, max_batch=1).recognize(paths)
    many = recognizer.load(folder, max_batch=32).recognize(paths)
    chunked = recognizer.load(folder, max_batch=2, chunk=3).recognize(paths)
    budget = recognizer.load(folder, max_frames=1).recognize(paths)  # every input alone
    for other in (many, chunked, budget):
        assert [r.text for r in other] == [r.text for r in one]
        # ~1e-6 float32 differences between batch shapes; confidences are means of probabilities
        np.testing.assert_allclose([r.confidence for r in other], [r.confidence for r in one], atol=1e-5)
        for a, b in zip(one, other):
            np.testing.assert_allclose([(w.start, w.end) for w in a.words], [(w.start, w.end) for w in b.words],
                                       atol=1e-9)


def test_log_probs_are_cut_to_valid_lengths(media_dir, audio_recognizer):
    paths = [media_dir / n for n in AUDIO_GOOD]
    seqs = {i: audio_recognizer.featurise(str(p)) for i, p in enumerate(paths)}
    out = audio_recognizer.log_probs(seqs)
    config = audio_recognizer.bundle.model_config
    assert sorted(out) == list(range(len(paths)))
    for i, lp in out.items():
        assert lp.shape == (config.output_length(len(seqs[i])), audio_recognizer.alphabet.size)


def test_wrong_verb_for_the_modality(media_dir, audio_recognizer, image_recognizer):
    with pytest.raises(ValueError, match=r"read\(\)") as info:
        image_recognizer.transcribe([media_dir / "short.wav"])
    assert "tiny-image" in str(info.value) and "image" in str(info.value)
    with pytest.raises(ValueError, match=r"transcribe\(\)"):
        audio_recognizer.read([media_dir / "line_short.png"])


def constant_recognizer(features, chars, char, config):
    """A network whose every output frame says ``char``: the head ignores its input."""
    alphabet = Alphabet(chars)
    bundle = build_bundle(features, alphabet, config, name="constant")
    head = bundle.model.head
    head.kernel.assign(np.zeros(head.kernel.shape, np.float32))
    bias = np.zeros(alphabet.size, np.float32)
    bias[alphabet.index(char)] = 10.0
    head.bias.assign(bias)
    return Recognizer(bundle)


def test_audio_timings_are_seconds(media_dir):
    model = constant_recognizer(tiny_audio_features(), " ab", "a", tiny_model_config("conv1d"))
    frame = tiny_audio_features().frame_step * model.bundle.model_config.subsampling
    names = AUDIO_GOOD
    results = model.transcribe([media_dir / n for n in names])
    for name, result in zip(names, results):
        duration = sf.info(str(media_dir / name)).duration
        assert result.text == "a" and len(result.words) == 1 and result.unit == "s"
        word = result.words[0]
        assert word.start == pytest.approx(0.0)
        assert word.end <= duration + frame + 1e-9
        assert word.end >= duration - frame  # the word covers the whole (constant) input
        assert result.to_dict()["words"][0]["end"] == round(word.end, 3)


def test_image_timings_are_pixels(media_dir):
    config = tiny_image_features()
    model = constant_recognizer(config, " ab", "b", tiny_model_config("conv1d"))
    for name, result in zip(IMAGE_GOOD, model.read([media_dir / n for n in IMAGE_GOOD])):
        width = Image.open(media_dir / name).size[0]
        seq = model.featurise(str(media_dir / name))
        step = seq.step * model.bundle.model_config.subsampling
        assert result.text == "b" and result.unit == "px"
        word = result.words[0]
        # the word spans the ink (which starts 10 px in and stops 10 px before the right edge),
        # widened by the normaliser's padding columns: pixels, not seconds
        assert -config.pad * seq.step - 1 <= word.start <= 12
        assert width - 12 <= word.end <= width + step + config.pad * seq.step
        assert word.end - word.start > 0.5 * width


def test_fsdd_recording(fsdd_dir, audio_recognizer):
    path = sorted(fsdd_dir.glob("*.wav"))[0]
    result, = audio_recognizer.transcribe([path])
    assert result.ok and result.path == str(path) and math.isfinite(result.confidence)


def test_the_decoder_is_chosen_by_options(media_dir, audio_bundle_dir):
    import recognizer
    from recognizer.beam_search import BeamDecoder
    from recognizer.decoder_config import DecoderConfig
    from recognizer.decoding import GreedyDecoder

    paths = [media_dir / n for n in AUDIO_GOOD]
    greedy = recognizer.load(audio_bundle_dir)
    assert isinstance(greedy.decoder, GreedyDecoder) and greedy.decoder_config == DecoderConfig()
    beam = recognizer.load(audio_bundle_dir, decoder=DecoderConfig(decoder="beam", beam_width=1, nbest=2))
    assert isinstance(beam.decoder, BeamDecoder)
    for g, b in zip(greedy.transcribe(paths), beam.transcribe(paths)):
        assert b.text == g.text and [w.word for w in b.words] == [w.word for w in g.words]
        assert b.nbest and b.nbest[0].text == b.text and not g.nbest
