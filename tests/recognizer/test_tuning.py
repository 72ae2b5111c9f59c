import json
import shutil

import pytest

from recognizer.decoder_config import DecoderConfig, bundle_decoder_config
from recognizer.lm import build_kneser_ney
from recognizer.tuning import tune, write_decoder


@pytest.fixture
def dev(tmp_path, media_dir):
    for name in ("short.wav", "medium.wav", "long.wav"):
        shutil.copy(media_dir / name, tmp_path / name)
    manifest = tmp_path / "dev.tsv"
    manifest.write_text("path\ttext\nshort.wav\ta b\nmedium.wav\tabc\nlong.wav\tcab a\nnone.wav\tx\n")
    lm = tmp_path / "w.arpa"
    build_kneser_ney([["a", "cab"], ["abc"], ["c", "a", "b"]], 2)[0].save(lm)
    return manifest, lm


def test_grid_scores_and_choice(audio_recognizer, dev):
    manifest, lm = dev
    config = DecoderConfig(decoder="beam", beam_width=4, lm=str(lm))
    report = tune(audio_recognizer, manifest, config, alphas=[0.0, 0.5, 2.0], betas=[-1.0, 1.0])
    assert [(s.alpha, s.beta) for s in report.grid] == [(a, b) for a in (0.0, 0.5, 2.0) for b in (-1.0, 1.0)]
    assert report.samples == 3 and len(report.failed) == 1 and "none.wav" in report.failed[0]
    assert report.best == min(report.grid, key=lambda s: (s.wer, s.cer, s.alpha, s.beta))
    # the greedy score is what greedy decoding of the same files gives
    from recognizer.metrics import cer

    texts = [r.text for r in audio_recognizer.recognize([manifest.parent / n for n in ("short.wav", "medium.wav", "long.wav")])]
    assert report.greedy.cer == pytest.approx(cer(["a b", "abc", "cab a"], texts).rate)
    with pytest.raises(ValueError, match="no language model"):
        tune(audio_recognizer, manifest, DecoderConfig(decoder="beam"))


def test_write_decoder_copies_files_and_stores_relative_paths(tmp_path, dev, audio_bundle_dir):
    _, lm = dev
    bundle = tmp_path / "bundle"
    shutil.copytree(audio_bundle_dir, bundle)
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("cab\n")
    path = write_decoder(bundle, DecoderConfig(decoder="beam", lm=str(lm), lexicon=str(lexicon), alpha=0.3))
    stored = json.loads(path.read_text())
    assert (stored["lm"], stored["lexicon"], stored["alpha"]) == ("w.arpa", "words.txt", 0.3)
    assert (bundle / "lm" / "w.arpa").exists() and (bundle / "lm" / "words.txt").exists()
    loaded = bundle_decoder_config(bundle)
    assert loaded.lm == str(bundle / "lm" / "w.arpa")
    # writing again from the bundle's own files leaves them in place
    write_decoder(bundle, loaded)
    assert bundle_decoder_config(bundle) == loaded
