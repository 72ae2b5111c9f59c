import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from recognizer.cli import main


def run(capsys, *argv):
    # Python warnings are left to pytest here (their stderr leak is test_no_warnings_on_stderr's job)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_transcribe_jsonl_in_order_with_errors(capsys, media_dir, audio_bundle_dir):
    names = ["medium.wav", "missing.wav", "short.wav", "text.wav", "long.wav"]
    paths = [media_dir / n for n in names]
    code, out, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "jsonl", *paths)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(paths)
    objects = [json.loads(line) for line in lines]
    assert [o["path"] for o in objects] == [str(p) for p in paths]
    for name, obj in zip(names, objects):
        if name in ("missing.wav", "text.wav"):
            assert set(obj) == {"path", "error"} and obj["error"].startswith(obj["path"])
        else:
            assert set(obj) == {"path", "text", "confidence", "words"}
            assert 0 < obj["confidence"] <= 1
            for word in obj["words"]:
                assert set(word) == {"word", "start", "end", "confidence"} and word["start"] <= word["end"]
    # errors are repeated on stderr, one line each; transcripts never go there
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: {objects[1]['error']}", f"error: {objects[3]['error']}"]


def test_transcribe_jsonl_matches_the_library(capsys, media_dir, audio_bundle_dir, audio_recognizer):
    paths = [media_dir / "short.wav", media_dir / "stereo16k.wav"]
    code, out, _ = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "jsonl", *paths)
    assert code == 0
    expected = [r.to_dict() for r in audio_recognizer.transcribe(paths)]
    assert [json.loads(line) for line in out.splitlines()] == expected


def test_transcribe_text_format(capsys, media_dir, audio_bundle_dir, audio_recognizer):
    paths = [media_dir / "short.wav", media_dir / "empty.wav", media_dir / "long.wav"]
    texts = [r.text for r in audio_recognizer.transcribe(paths)]
    code, out, err = run(capsys, "transcribe", "--model", audio_bundle_dir, *paths)
    assert code == 1
    assert out.splitlines() == [f"{paths[0]}\t{texts[0]}", f"{paths[2]}\t{texts[2]}"]
    assert f"error: {paths[1]}" in err
    # one input: just the transcript
    code, out, err = run(capsys, "transcribe", "--model", audio_bundle_dir, paths[0])
    assert (code, out) == (0, texts[0] + "\n") and "error" not in err


def test_read_images(capsys, media_dir, image_bundle_dir, image_recognizer):
    paths = [media_dir / "line_long.png", media_dir / "tiny.png", media_dir / "line_short.png"]
    code, out, err = run(capsys, "read", "--model", image_bundle_dir, "--format", "jsonl", "--batch-size", "1", *paths)
    assert code == 1
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o["path"] for o in objects] == [str(p) for p in paths]
    assert "error" in objects[1] and "error" not in objects[0] and "error" not in objects[2]
    expected = image_recognizer.read([paths[0], paths[2]])
    assert [objects[0]["text"], objects[2]["text"]] == [r.text for r in expected]


def test_wrong_modality_is_a_usage_error(capsys, media_dir, image_bundle_dir):
    code, out, err = run(capsys, "transcribe", "--model", image_bundle_dir, media_dir / "short.wav")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("recognizer transcribe: error:") and "read" in line


def test_missing_model_exits_2_with_one_line(capsys, media_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RECOGNIZER_MODELS", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "transcribe", "--model", "no-such-model", media_dir / "short.wav")
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("recognizer transcribe: error:") and "no-such-model" in line
    code, out, err = run(capsys, "evaluate", "--model", tmp_path / "nope", tmp_path / "m.tsv")
    assert code == 2 and str(tmp_path / "nope") in one_line_error(err)


def write_manifest(folder, rows, header="path\ttext"):
    path = folder / "m.tsv"
    path.write_text("\n".join([header] + [f"{p}\t{t}" for p, t in rows]) + "\n", encoding="utf-8")
    return path


def test_evaluate_prints_scores_and_writes_report(capsys, media_dir, audio_bundle_dir, tmp_path):
    for name in ("short.wav", "medium.wav", "long.wav"):
        shutil.copy(media_dir / name, tmp_path / name)
    manifest = write_manifest(tmp_path, [("short.wav", "a b"), ("medium.wav", "abc"), ("long.wav", "C A B")])
    report_path = tmp_path / "out" / "report.json"
    report_path.parent.mkdir()
    code, out, err = run(capsys, "evaluate", "--model", audio_bundle_dir, manifest, "--report", report_path)
    assert code == 0, err
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["samples"] == 3 and report["failed"] == []
    lines = out.splitlines()
    assert lines[0].startswith("model tiny-audio on") and "3 samples, 0 failed" in lines[0]
    assert f"CER {100 * report['cer']:.2f}% ({report['cer_errors']}/{report['cer_length']})" in lines
    assert f"WER {100 * report['wer']:.2f}% ({report['wer_errors']}/{report['wer_length']})" in lines
    assert report["cer_length"] == len("a b") + len("abc") + len("C A B")
    assert report["wer_length"] == 2 + 1 + 3
    assert not list(report_path.parent.glob(".*tmp"))


def test_evaluate_with_a_failed_input_exits_1(capsys, media_dir, audio_bundle_dir, tmp_path):
    shutil.copy(media_dir / "short.wav", tmp_path / "short.wav")
    shutil.copy(media_dir / "text.wav", tmp_path / "text.wav")
    manifest = write_manifest(tmp_path, [("short.wav", "ab"), ("text.wav", "ab"), ("gone.wav", "ab")])
    code, out, err = run(capsys, "evaluate", "--model", audio_bundle_dir, manifest)
    assert code == 1
    assert "1 samples, 2 failed" in out.splitlines()[0]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any(f"{manifest}:4:" in e and "gone.wav" in e for e in errors)
    assert any(str(tmp_path / "text.wav") in e for e in errors)


def test_evaluate_by_prints_one_line_per_group_and_reports_them(capsys, media_dir, audio_bundle_dir, tmp_path):
    for name in ("short.wav", "medium.wav", "long.wav"):
        shutil.copy(media_dir / name, tmp_path / name)
    manifest = tmp_path / "m.tsv"
    manifest.write_text("path\ttext\tspeaker\nshort.wav\ta b\tann\nmedium.wav\tabc\tbob\nlong.wav\tC A B\tann\n",
                        encoding="utf-8")
    report_path = tmp_path / "report.json"
    code, out, err = run(capsys, "evaluate", "--model", audio_bundle_dir, manifest, "--by", "speaker",
                         "--report", report_path)
    assert code == 0, err
    groups = json.loads(report_path.read_text(encoding="utf-8"))["by"]["speaker"]
    assert sorted(groups) == ["ann", "bob"] and groups["ann"]["samples"] == 2
    assert groups["ann"]["cer_length"] == len("a b") + len("C A B")
    lines = out.splitlines()
    start = lines.index("by speaker:")
    assert lines[start + 1].split()[:3] == ["ann", "2", "samples"]
    assert f"CER {100 * groups['bob']['cer']:.2f}% ({groups['bob']['cer_errors']}/3)" in lines[start + 2]
    code, out, err = run(capsys, "evaluate", "--model", audio_bundle_dir, manifest, "--by", "font")
    assert code == 2 and "no column 'font'" in one_line_error(err) and str(manifest) in err


def test_manifest_missing_column_exits_2_naming_file_and_line(capsys, audio_bundle_dir, tmp_path):
    manifest = write_manifest(tmp_path, [("a.wav", "x")], header="path\ttranscript")
    code, out, err = run(capsys, "evaluate", "--model", audio_bundle_dir, manifest)
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert f"{manifest}:1:" in line and "text" in line


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["transcribe"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["transcribe", "--format", "xml", "a.wav"])
    assert info.value.code == 2
    capsys.readouterr()


def test_console_script_help():
    script = Path(sys.executable).parent / "recognizer"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "recognizer.cli"]
    done = subprocess.run(command + ["--help"], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    for verb in ("transcribe", "read", "evaluate", "train"):
        assert verb in done.stdout
    assert done.stdout.startswith("usage: recognizer")


def _script():
    script = Path(sys.executable).parent / "recognizer"
    return [str(script)] if script.exists() else [sys.executable, "-m", "recognizer.cli"]


def test_no_warnings_on_stderr(media_dir, audio_bundle_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    done = subprocess.run(_script() + ["transcribe", "--model", str(audio_bundle_dir), str(media_dir / "short.wav")],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.count("\n") == 1
    assert "Warning" not in done.stderr, done.stderr


def test_every_kind_of_bad_input_gets_one_line_and_the_rest_still_run(capsys, media_dir, audio_bundle_dir,
                                                                     image_bundle_dir, tmp_path):
    """The bad inputs that issue 1 lists, through the command line."""
    import numpy as np
    import soundfile

    whole = tmp_path / "whole.wav"
    soundfile.write(whole, np.sin(np.arange(8000) / 5).astype(np.float32) * 0.3, 8000, subtype="PCM_16")
    (tmp_path / "truncated.wav").write_bytes(whole.read_bytes()[:5000])
    soundfile.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 8000)
    audio_bad = {"missing.wav": "file not found", "empty.wav": "empty file", "text.wav": "not a readable audio file",
                 "truncated.wav": "truncated wav", "zero.wav": "no audio samples"}
    paths = [media_dir / "medium.wav"] + [
        (media_dir if (media_dir / n).exists() or n == "missing.wav" else tmp_path) / n for n in audio_bad]
    code, out, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "jsonl", *paths)
    assert code == 1 and "Traceback" not in err
    objects = [json.loads(line) for line in out.splitlines()]
    assert "text" in objects[0]
    for obj, path, problem in zip(objects[1:], paths[1:], audio_bad.values()):
        assert obj == {"path": str(path), "error": obj["error"]} and obj["error"].startswith(f"{path}: {problem}")
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == len(audio_bad)

    images = [media_dir / "line_short.png", media_dir / "tiny.png", media_dir / "corrupt.png"]
    code, out, err = run(capsys, "read", "--model", image_bundle_dir, *images)
    assert code == 1 and "Traceback" not in err
    assert out.count("\n") == 1 and out.startswith(f"{images[0]}\t")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors[0].startswith(f"error: {images[1]}: image too small (1x1)")
    assert errors[1].startswith(f"error: {images[2]}: not a readable image")

    manifest = tmp_path / "m.tsv"
    manifest.write_text(f"path\ttext\n{media_dir / 'medium.wav'}\tab\ngone.wav\tab\n")
    code, out, err = run(capsys, "evaluate", "--model", audio_bundle_dir, manifest)
    assert code == 1 and "Traceback" not in err
    assert f"{manifest}:3: file not found: gone.wav" in err and "1 samples, 1 failed" in out
    manifest.write_text("path\ttranscript\nx.wav\tab\n")
    code, out, err = run(capsys, "evaluate", "--model", audio_bundle_dir, manifest)
    assert code == 2 and err.strip().endswith(f"{manifest}:1: header lacks column(s) text (has: path, transcript)")


# --- decoder options, subtitles, language models ------------------------------------------------


def jsonl(out):
    return [json.loads(line) for line in out.splitlines()]


def test_beam_of_width_one_is_greedy_on_the_command_line(capsys, media_dir, audio_bundle_dir):
    paths = [media_dir / n for n in ("short.wav", "medium.wav", "long.wav")]
    _, greedy, _ = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "jsonl", *paths)
    code, beam, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "jsonl",
                          "--decoder", "beam", "--beam-width", "1", *paths)
    assert code == 0, err
    for g, b in zip(jsonl(greedy), jsonl(beam)):
        assert (b["text"], [w["word"] for w in b["words"]]) == (g["text"], [w["word"] for w in g["words"]])
        assert [(w["start"], w["end"]) for w in b["words"]] == [(w["start"], w["end"]) for w in g["words"]]
        assert b["confidence"] == pytest.approx(g["confidence"], abs=2e-4)


def test_nbest_in_jsonl_and_text(capsys, media_dir, audio_bundle_dir):
    path = media_dir / "long.wav"
    code, out, _ = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "jsonl", "--nbest", "3", path)
    (obj,) = jsonl(out)
    assert code == 0 and 1 <= len(obj["nbest"]) <= 3 and obj["nbest"][0]["text"] == obj["text"]
    assert len({h["text"] for h in obj["nbest"]}) == len(obj["nbest"])
    scores = [h["score"] for h in obj["nbest"]]
    assert scores == sorted(scores, reverse=True)
    code, out, _ = run(capsys, "transcribe", "--model", audio_bundle_dir, "--nbest", "3", path)
    lines = [line.split("\t") for line in out.splitlines()]
    assert [line[0] for line in lines] == [str(i) for i in range(1, len(obj["nbest"]) + 1)]
    assert [line[2] for line in lines] == [h["text"] for h in obj["nbest"]]


def test_subtitles(capsys, media_dir, audio_bundle_dir, tmp_path):
    one = media_dir / "long.wav"
    code, out, _ = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "jsonl", one)
    words = jsonl(out)[0]["words"]
    code, srt, _ = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "srt", one)
    assert code == 0
    cue_words = [w for block in srt.strip().split("\n\n") if block for w in " ".join(block.split("\n")[2:]).split()]
    assert cue_words == [w["word"] for w in words]
    if words:
        assert srt.startswith("1\n00:00:")
    code, vtt, _ = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "vtt", one)
    assert code == 0 and vtt.startswith("WEBVTT\n\n")
    several = [one, media_dir / "short.wav", media_dir / "missing.wav"]
    code, out, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "srt", *several)
    assert code == 2 and "--output-dir" in one_line_error(err)
    code, out, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--format", "vtt",
                         "--output-dir", tmp_path / "subs", *several)
    assert code == 1 and out == ""
    assert sorted(p.name for p in (tmp_path / "subs").iterdir()) == ["long.vtt", "short.vtt"]
    assert (tmp_path / "subs" / "long.vtt").read_text() == vtt
    assert "error: " + str(several[2]) in err


def test_decoder_input_errors_are_one_line(capsys, media_dir, audio_bundle_dir, tmp_path):
    wav = media_dir / "short.wav"
    code, _, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--hotword", "cab:2", "--hotword", "xyz", wav)
    line = one_line_error(err)
    assert code == 2 and "hotword 'xyz'" in line and "'x'" in line
    code, _, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--hotword", "cab:lots", wav)
    assert code == 2 and "weight 'lots'" in one_line_error(err)
    (tmp_path / "empty.txt").write_text("\n")
    code, _, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--lexicon", tmp_path / "empty.txt", wav)
    assert code == 2 and f"{tmp_path / 'empty.txt'}: the lexicon holds no words" in one_line_error(err)
    (tmp_path / "foreign.txt").write_text("xyz\nqq\n")
    code, _, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--lexicon", tmp_path / "foreign.txt", wav)
    assert code == 2 and "none of the 2 lexicon word(s)" in one_line_error(err)
    (tmp_path / "bad.arpa").write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n\\end\\\n")
    code, _, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--lm", tmp_path / "bad.arpa", wav)
    assert code == 2 and f"{tmp_path / 'bad.arpa'}:6: the 1-grams section has 1 entries" in one_line_error(err)
    code, _, err = run(capsys, "transcribe", "--model", audio_bundle_dir, "--beam-width", "0", wav)
    assert code == 2 and "beam width" in one_line_error(err)


def test_lm_build_tune_and_the_bundle_default(capsys, media_dir, audio_bundle_dir, tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("a cab\nbac ab\nc a b\nabc cab\n", encoding="utf-8")
    code, _, err = run(capsys, "lm", "build", text, "--unit", "word", "--order", "2", "--out", tmp_path / "w.arpa")
    assert code == 0 and "word 2-gram model from 4 sentences" in err
    code, _, err = run(capsys, "lm", "build", text, "--unit", "char", "--order", "3", "--out", tmp_path / "c.arpa",
                       "--model", audio_bundle_dir)
    assert code == 0 and (tmp_path / "c.arpa").exists()

    bundle = tmp_path / "bundle"
    shutil.copytree(audio_bundle_dir, bundle)
    for name in ("short.wav", "medium.wav", "long.wav"):
        shutil.copy(media_dir / name, tmp_path / name)
    manifest = write_manifest(tmp_path, [("short.wav", "a b"), ("medium.wav", "abc"), ("long.wav", "cab a")])
    code, out, err = run(capsys, "lm", "tune", manifest, "--model", bundle, "--lm", tmp_path / "w.arpa",
                         "--alphas", "0,1", "--betas", "0,2", "--beam-width", "8")
    assert code == 0, err
    lines = out.splitlines()
    assert "greedy" in lines[2] and len(lines) == 3 + 4 and sum("<- best" in line for line in lines) == 1
    decoder = json.loads((bundle / "lm" / "decoder.json").read_text())
    assert decoder["decoder"] == "beam" and decoder["lm"] == "w.arpa" and decoder["beam_width"] == 8
    assert (bundle / "lm" / "w.arpa").read_text() == (tmp_path / "w.arpa").read_text()
    best = next(line for line in lines if "<- best" in line).split()
    assert (decoder["alpha"], decoder["beta"]) == (float(best[0]), float(best[1]))
    # the bundle now decodes with its LM by default; --decoder greedy still gives greedy
    code, out, _ = run(capsys, "evaluate", "--model", bundle, manifest)
    assert code == 0 and "decoder beam (width 8, LM w.arpa" in out
    code, out, _ = run(capsys, "evaluate", "--model", bundle, manifest, "--decoder", "greedy")
    assert "decoder greedy" in out
    code, out, err = run(capsys, "lm", "tune", manifest, "--model", audio_bundle_dir)
    assert code == 2 and "no language model" in one_line_error(err)
