"""recognizer doctor: what a run would skip, duplicates, dev overlap, new characters, the verdict.

The CTC and frame-count checks are compared with what the training pipeline itself computes
(FeatureDataset with the default augmentation, and the trainer's feasibility rule), so the
doctor's "a run will skip" cannot drift from what a run does.
"""
from __future__ import annotations

import json
import shutil
import warnings

import pytest
import soundfile as sf
from conftest import draw_line, write_sine

from data_prep.manifest import read_manifest, write_manifest
from recognizer.cli import main
from recognizer.doctor import ModelInfo, audio_frames, diagnose


def run(capsys, *argv):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def messy(tmp_path, media_dir):
    """An audio manifest with one of each problem, and the counts the doctor should find."""
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("short.wav", "medium.wav", "long.wav", "text.wav", "empty.wav"):
        shutil.copy(media_dir / name, audio / name)
    shutil.copy(media_dir / "medium.wav", audio / "medium-copy.wav")
    rows = [
        {"path": audio / "short.wav", "text": "a b"},
        {"path": audio / "medium.wav", "text": "abc"},
        {"path": audio / "long.wav", "text": "  "},  # empty after tidying
        {"path": audio / "missing.wav", "text": "a"},
        {"path": audio / "text.wav", "text": "a"},  # not audio
        {"path": audio / "empty.wav", "text": "a"},  # zero bytes
        {"path": audio / "medium.wav", "text": "abc"},  # the same row again
        {"path": audio / "medium-copy.wav", "text": "cab"},  # same content, another transcript
        {"path": audio / "short.wav", "text": ""},  # skipped (empty), so no clash with line 2
    ]
    manifest = tmp_path / "train.jsonl"
    write_manifest(manifest, [{**r, "path": str(r["path"])} for r in rows])
    with open(manifest, "a", encoding="utf-8") as handle:
        handle.write('{"path": "audio/short.wav"}\n')  # no text: an unusable manifest line
    return manifest


def test_report_counts_each_problem(messy):
    report = diagnose(messy, examples=2)
    counts = {key: issue.count for key, issue in report.issues.items() if issue.count}
    assert counts == {"lines": 1, "missing": 1, "unreadable": 2, "empty": 2, "duplicates": 1, "conflicts": 1}
    assert report.total == 10 and report.usable == 4 and report.skipped == 6
    assert report.exit_status == 1
    verdict = report.verdict
    assert verdict.startswith("PROBLEMS:") and "1 missing files" in verdict and "skip 6 of 10" in verdict
    assert "medium-copy.wav" in report.issues["conflicts"].examples[0]
    text = report.render()
    assert text.splitlines()[-1] == verdict and "audio: 6 files" in text


def test_clean_manifest_is_ok(tmp_path, media_dir):
    manifest = tmp_path / "ok.tsv"
    write_manifest(manifest, [{"path": str(media_dir / n), "text": "ab"} for n in ("medium.wav", "long.wav")])
    report = diagnose(manifest)
    assert report.exit_status == 0 and report.verdict == "OK: 2 usable samples"
    assert report.characters == {"a": 2, "b": 2}


def test_dev_overlap_by_path_and_content_and_same_text(tmp_path, media_dir):
    shutil.copy(media_dir / "long.wav", tmp_path / "long-again.wav")
    train, dev = tmp_path / "train.tsv", tmp_path / "dev.tsv"
    write_manifest(train, [{"path": str(media_dir / "short.wav"), "text": "in dev by path"},
                           {"path": str(media_dir / "long.wav"), "text": "in dev by content"},
                           {"path": str(media_dir / "medium.wav"), "text": "said in dev"},
                           {"path": str(media_dir / "stereo16k.wav"), "text": "only here"}])
    write_manifest(dev, [{"path": str(media_dir / "short.wav"), "text": "x"},
                         {"path": str(tmp_path / "long-again.wav"), "text": "y"},
                         {"path": str(media_dir / "line_short.png"), "text": "said in dev"},
                         {"path": str(media_dir / "line_long.png"), "text": "q"}])
    report = diagnose(train, dev=dev)
    assert report.issues["dev_overlap"].count == 2
    assert report.issues["dev_text"].count == 1
    assert report.issues["dev_chars"].count == 2  # 'x' and 'q' ('y' is in "by path")
    assert report.exit_status == 1 and "2 samples also in dev" in report.verdict


def _pipeline_skips(entries, bundle_dir, augment):
    """The samples a training run drops as too long for CTC, computed by the training code."""
    from data_prep.extractors import make_extractor
    from data_prep.pipeline import FeatureDataset
    from recognizer.bundle import load
    from recognizer.training import ctc_frames_needed

    bundle = load(bundle_dir)
    dataset = FeatureDataset(entries, make_extractor(bundle.features), bundle.alphabet.encode, augment=augment,
                             progress=False, log=lambda _: None)
    dataset.drop_if(lambda frames, labels: "too long" if ctc_frames_needed(labels)
                    > bundle.model_config.output_length(frames) else None)
    return {message.split(": ")[0] for message in dataset.skipped}


def test_ctc_check_matches_the_training_pipeline_for_audio(tmp_path, audio_bundle_dir):
    from recognizer.recipe import Recipe

    info = ModelInfo.load(str(audio_bundle_dir))
    assert max(info.speeds) > 1.0  # the default augmentation perturbs speed: the check must use it
    rows = []
    for i, (seconds, rate) in enumerate(((0.11, 8000), (0.2, 16000), (0.3, 8000))):
        limit = info.model_config.output_length(audio_frames(round(seconds * rate), rate, info))
        fits = ("ab" * limit)[:limit]
        # fits exactly; one character too many; repeats that cost a blank each; one to spare
        for j, text in enumerate((fits, fits + "c", "aa" * ((limit + 1) // 2), fits[:-1])):
            path = write_sine(tmp_path / f"s{i}_{j}.wav", seconds, 300 + 50 * i, rate=rate)
            rows.append({"path": str(path), "text": text})
    manifest = tmp_path / "m.jsonl"
    write_manifest(manifest, rows)
    report = diagnose(manifest, model=str(audio_bundle_dir))
    doctor = {s["path"] for s in report.skipped_samples if s["reason"] == "ctc"}
    pipeline = _pipeline_skips(read_manifest(manifest), audio_bundle_dir, Recipe().resolve_augment(info.features))
    assert len(doctor) == 6 and doctor == pipeline


def test_audio_frames_equal_the_pipeline_lengths(tmp_path, audio_bundle_dir):
    from data_prep.augment_audio import speed_perturb
    from data_prep.extractors import make_extractor

    info = ModelInfo.load(str(audio_bundle_dir))
    extractor = make_extractor(info.features)
    for seconds, rate in ((0.31, 8000), (0.4537, 16000), (0.05, 22050)):
        path = write_sine(tmp_path / f"x{rate}.wav", seconds, 440.0, rate=rate)
        n = sf.info(str(path)).frames
        wave = extractor.load(path)
        lengths = [len(extractor.extract(speed_perturb(wave, s, info.features.sample_rate))) for s in info.speeds]
        assert audio_frames(n, rate, info) == min(lengths)


def test_image_model_featurises_lines_and_finds_new_characters(tmp_path, image_bundle_dir):
    draw_line(tmp_path / "ok.png", "ab ba", seed=1)
    draw_line(tmp_path / "tiny.png", "a", seed=2)
    manifest = tmp_path / "lines.tsv"
    write_manifest(manifest, [{"path": str(tmp_path / "ok.png"), "text": "ab ba"},
                              {"path": str(tmp_path / "ok.png"), "text": "abd"},
                              {"path": str(tmp_path / "tiny.png"), "text": "a" * 60}])
    report = diagnose(manifest, model=str(image_bundle_dir))
    assert report.issues["ctc"].count == 1 and "tiny.png" in report.issues["ctc"].examples[0]
    assert _pipeline_skips(read_manifest(manifest)[2:], image_bundle_dir, None) == {str(tmp_path / "tiny.png")}
    assert report.unknown_chars == {"d": 1}
    assert "1 new characters (d\u00d71)" in report.verdict
    assert report.issues["conflicts"].count == 1  # ok.png under two transcripts


def test_cli_exit_status_json_and_unreadable_manifest(capsys, tmp_path, messy, media_dir):
    out_json = tmp_path / "found.json"
    code, out, err = run(capsys, "doctor", messy, "--json", out_json, "--no-progress")
    assert code == 1 and out.strip().splitlines()[-1].startswith("PROBLEMS:")
    found = json.loads(out_json.read_text())
    assert found["issues"]["missing"]["count"] == 1 and found["usable"] == 4
    good = tmp_path / "good.tsv"
    write_manifest(good, [{"path": str(media_dir / "medium.wav"), "text": "ab"}])
    code, out, _ = run(capsys, "doctor", good)
    assert code == 0 and out.strip().endswith("OK: 1 usable samples")
    bad = tmp_path / "bad.tsv"
    bad.write_text("file\ttranscript\nx.wav\thello\n")
    code, out, err = run(capsys, "doctor", bad)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "header lacks" in err
    code, _, err = run(capsys, "doctor", tmp_path / "nowhere.tsv")
    assert code == 2 and "not found" in err


def test_speech_digits_bundle_on_its_own_kind_of_data(tmp_path, fsdd_dir):
    paths = sorted(fsdd_dir.glob("*.wav"))[:40]
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    manifest = tmp_path / "fsdd.tsv"
    write_manifest(manifest, [{"path": str(p), "text": names[int(p.name[0])]} for p in paths])
    report = diagnose(manifest, model="speech-digits")
    assert report.exit_status == 0 and report.usable == 40 and not report.unknown_chars
    assert report.stats["audio"].startswith("40 files")
