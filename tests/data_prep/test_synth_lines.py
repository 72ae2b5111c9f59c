"""The line synthesis command: planning, held-out fonts only in test, resume, manifests, CLI.

Fonts are the one bundled with Pillow under several keys (rendering needs only a file, an
x-height and a stroke width), and texts are made up, so no installed font or text is needed.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from data_prep import synth_lines
from data_prep.__main__ import main
from data_prep.fonts import FontSurvey, inspect_font
from data_prep.line_texts import LINE_CHARS, encodable
from data_prep.manifest import read_manifest
from data_prep.render_line import RenderStyle
from tests.data_prep.test_fonts import pillow_font_file

COUNTS = {"train": 30, "dev": 6, "test": 8}
KINDS = ("prose", "date", "name")


def fake_texts(counts, seed=0, **_):
    rng = np.random.default_rng(seed)
    return {split: [(KINDS[i % 3], f"{split} line {i} of {int(rng.integers(1000))}!") for i in range(n)]
            for split, n in counts.items()}


@pytest.fixture(scope="module")
def fonts(tmp_path_factory):
    base = inspect_font(pillow_font_file(tmp_path_factory.mktemp("fonts")), LINE_CHARS)
    names = [("HandA-Regular", "Hand A"), ("HandA-Bold", "Hand A"), ("HandB", "Hand B"), ("ScriptC", "Script C"),
             ("ScriptD", "Script D")]
    return [replace(base, key=key, family=family, fingerprint=key) for key, family in names]


def _plan(fonts, seed=0, holdout=("Script*",)):
    return synth_lines.plan(COUNTS, fonts, holdout, seed, texts=fake_texts(COUNTS, seed))


def test_plan_is_deterministic(fonts):
    a, b = _plan(fonts), _plan(fonts)
    assert a.jobs == b.jobs and a.fingerprint() == b.fingerprint()
    c = _plan(fonts, seed=1)
    assert c.jobs != a.jobs and c.fingerprint() != a.fingerprint()
    restyled = replace(a, style=RenderStyle(slant=0.1))
    assert restyled.fingerprint() != a.fingerprint()


def test_a_style_seed_writes_the_same_texts_in_other_hands(fonts, tmp_path):
    a = _plan(fonts)
    b = synth_lines.plan(COUNTS, fonts, ("Script*",), 0, texts=fake_texts(COUNTS, 0), style_seed=5)
    assert [(j.split, j.text) for j in b.jobs] == [(j.split, j.text) for j in a.jobs]
    assert [j.font for j in b.jobs] != [j.font for j in a.jobs] and b.fingerprint() != a.fingerprint()
    assert {j.font for j in b.jobs if j.split == "test"} <= {"ScriptC", "ScriptD"}
    same = synth_lines.plan(COUNTS, fonts, ("Script*",), 0, texts=fake_texts(COUNTS, 0), style_seed=0)
    assert same == a and same.fingerprint() == a.fingerprint()  # a plan from before the option
    job = a.jobs[0]  # the same job, rendered from each seed
    synth_lines.render_all(replace(a, jobs=[job]), str(tmp_path / "a"), workers=1, progress=False)
    synth_lines.render_all(replace(b, jobs=[job]), str(tmp_path / "b"), workers=1, progress=False)
    first, second = (np.asarray(Image.open(tmp_path / d / job.relpath)) for d in "ab")
    assert first.shape != second.shape or not np.array_equal(first, second)  # same text and font, drawn anew


def test_held_out_fonts_only_in_test(fonts):
    p = _plan(fonts)
    assert {f.key for f in p.holdout_fonts} == {"ScriptC", "ScriptD"}
    by_split = {split: {job.font for job in p.jobs if job.split == split} for split in synth_lines.SPLITS}
    assert by_split["test"] <= {"ScriptC", "ScriptD"}
    assert not (by_split["train"] | by_split["dev"]) & {"ScriptC", "ScriptD"}
    assert {job.split for job in p.jobs} == set(COUNTS)
    assert [sum(job.split == s for job in p.jobs) for s in ("train", "dev", "test")] == [30, 6, 8]


def test_families_are_drawn_evenly(fonts):
    rng = np.random.default_rng(0)
    train = [f for f in fonts if not f.key.startswith("Script")]
    picks = [synth_lines._pick_font(train, rng).family for _ in range(600)]
    assert 0.4 < picks.count("Hand A") / 600 < 0.6  # two styles, but one family of two


def test_partial_fonts_draw_only_texts_they_can_and_capitals_their_share(fonts):
    capitals = replace(fonts[2], key="CapsE", family="Caps E", fingerprint="CapsE", capitals_only=True)
    lacks = replace(fonts[2], key="HandF", family="Hand F", fingerprint="HandF", missing="!")
    counts = {"train": 400, "dev": 0, "test": 8}
    texts = fake_texts(counts)
    texts["train"][:200] = [("number", f"{i}") for i in range(200)]  # no lowercase, no "!"
    p = synth_lines.plan(counts, fonts + [capitals, lacks], ("Script*",), texts=texts, capitals_share=0.25)
    train = [job for job in p.jobs if job.split == "train"]
    by_font = {key: [job for job in train if job.font == key] for key in ("CapsE", "HandF")}
    assert all(job.text == job.text.upper() for job in by_font["CapsE"])
    assert all("!" not in job.text for job in by_font["HandF"]) and by_font["HandF"]
    uppered = sum(job.text != text for job, (_kind, text) in zip(train, texts["train"]))
    assert 0.15 < uppered / 200 < 0.35  # a quarter of the lines with lowercase, written in capitals
    assert all(job.font not in ("CapsE", "HandF") for job in p.jobs if job.split == "test")
    plain = synth_lines.plan(counts, fonts + [capitals, lacks], ("Script*",), texts=texts)
    assert all(job.text == text for job, (_kind, text) in zip(plain.jobs, texts["train"]))


def test_a_corpus_planned_before_the_later_options_keeps_its_fingerprint(fonts):
    p = _plan(fonts)
    assert synth_lines._as_planned(p.style) == {k: v for k, v in vars(p.style).items()
                                                if not k.startswith("glyph_") and k != "real_digits"}
    varied = replace(p, style=RenderStyle(glyph_rotate=5.0))
    assert varied.fingerprint() != p.fingerprint()


def test_plan_errors(fonts):
    with pytest.raises(ValueError, match="no usable font matches"):
        _plan(fonts, holdout=("Nothing*",))
    with pytest.raises(ValueError, match="every usable font is held out"):
        _plan(fonts, holdout=("*",))


def test_render_resume_and_manifests(fonts, tmp_path):
    p = _plan(fonts)
    errors, rendered = synth_lines.render_all(p, str(tmp_path), workers=1, progress=False)
    assert errors == [] and rendered == len(p.jobs)
    first = {job.relpath: os.path.getmtime(tmp_path / job.relpath) for job in p.jobs}
    counts = synth_lines.write_manifests(p, str(tmp_path))
    assert counts == COUNTS
    errors, rendered = synth_lines.render_all(p, str(tmp_path), workers=1, progress=False)
    assert errors == [] and rendered == 0  # nothing left to draw
    assert first == {job.relpath: os.path.getmtime(tmp_path / job.relpath) for job in p.jobs}
    rows = read_manifest(tmp_path / "test.tsv")
    assert [r.extra["font"] for r in rows] == [j.font for j in p.jobs if j.split == "test"]
    assert {r.extra["kind"] for r in rows} <= set(KINDS)
    image = Image.open(rows[0].path)
    assert image.mode == "L" and image.width > image.height


def test_a_lost_line_is_redrawn_identically(fonts, tmp_path):
    p = _plan(fonts)
    synth_lines.render_all(p, str(tmp_path), workers=2, progress=False)
    job = p.jobs[3]
    target = tmp_path / job.relpath
    before = np.asarray(Image.open(target))
    target.unlink()
    (tmp_path / (job.relpath + ".partial.png")).write_bytes(b"interrupted")  # a write cut short
    errors, rendered = synth_lines.render_all(p, str(tmp_path), workers=1, progress=False)
    assert errors == [] and rendered == 1
    np.testing.assert_array_equal(np.asarray(Image.open(target)), before)


def test_a_failing_line_is_reported_and_left_out(fonts, tmp_path):
    p = _plan(fonts)
    broken = replace(fonts[0], path=str(tmp_path / "missing.ttf"))
    p.train_fonts = [broken if f.key == broken.key else f for f in p.train_fonts]
    errors, _ = synth_lines.render_all(p, str(tmp_path), workers=1, progress=False)
    bad = [job for job in p.jobs if job.font == broken.key]
    assert bad and len(errors) == len(bad) and all(broken.key in e for e in errors)
    counts = synth_lines.write_manifests(p, str(tmp_path))
    assert sum(counts.values()) == len(p.jobs) - len(bad)


def test_real_text_plan_is_encodable(fonts):
    pytest.importorskip("data_prep.english_text")
    from data_prep.english_text import FORTUNES_DIR, WORDS_FILE
    if not (os.path.isdir(FORTUNES_DIR) and os.path.isfile(WORDS_FILE)):
        pytest.skip("Debian's fortunes and wamerican are not installed")
    p = synth_lines.plan({"train": 300, "dev": 30, "test": 50}, fonts, ("Script*",), seed=2)
    assert len(p.jobs) == 380 and all(encodable(job.text) for job in p.jobs)
    assert len({job.text for job in p.jobs}) == 380


@pytest.fixture
def cli(fonts, monkeypatch):
    dropped = [("/fonts/Caps.ttf", "capitals only: lowercase letters are small capitals")]
    monkeypatch.setattr(synth_lines, "survey_fonts", lambda chars, files, partial=False: FontSurvey(list(fonts), dropped))
    monkeypatch.setattr(synth_lines, "line_texts", fake_texts)


def test_cli_renders_resumes_and_guards_its_plan(cli, tmp_path, capsys):
    out = tmp_path / "lines"
    args = ["synth-lines", "--out", str(out), "--count", "12", "--dev", "3", "--test", "4", "--holdout", "ScriptC"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "12 rendered now" not in err and "19 rendered now" in err and "lines/s" in err
    assert [len(read_manifest(out / f"{s}.tsv")) for s in ("train", "dev", "test")] == [12, 3, 4]
    assert {r.extra["font"] for r in read_manifest(out / "test.tsv")} == {"ScriptC"}
    assert main(args) == 0
    assert "(0 rendered now)" in capsys.readouterr().err
    assert main(args + ["--seed", "3"]) == 2
    assert "planned with other arguments" in capsys.readouterr().err


def test_cli_lists_fonts(cli, capsys):
    assert main(["synth-lines", "--list-fonts"]) == 0
    out = capsys.readouterr().out
    assert "usable: 5 fonts" in out and "Caps.ttf" in out and "small capitals" in out
    assert "held out" in out and "KaushanScript" in out  # the default patterns are named


def test_cli_without_out_or_fonts(cli, monkeypatch, tmp_path, capsys):
    assert main(["synth-lines"]) == 2
    monkeypatch.setattr(synth_lines, "survey_fonts", lambda chars, files, partial=False: FontSurvey([], []))
    assert main(["synth-lines", "--out", str(tmp_path)]) == 2
    assert "no usable handwriting font" in capsys.readouterr().err


def test_cli_real_digits_come_from_each_splits_pool(cli, monkeypatch, tmp_path, capsys):
    asked = []

    def shapes(src, split):
        asked.append((src.name, split))
        return {str(d): [np.full((20, 12), 255, np.uint8)] for d in range(10)}

    monkeypatch.setattr(synth_lines, "digit_shapes", shapes)  # the file below need only exist
    (tmp_path / "mnist").mkdir()
    np.savez(tmp_path / "mnist" / "digits.npz", images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1))
    args = ["synth-lines", "--out", str(tmp_path / "lines"), "--count", "4", "--dev", "2", "--test", "2",
            "--holdout", "ScriptC", "--workers", "1", "--real-digits", "1", "--mnist", str(tmp_path / "mnist")]
    assert main(args) == 0
    assert sorted(set(asked)) == [("digits.npz", "dev"), ("digits.npz", "test"), ("digits.npz", "train")]
    stamp = json.loads((tmp_path / "lines" / "plan.json").read_text())
    assert stamp["style"]["real_digits"] == 1.0 and stamp["real_digits_from"].endswith("digits.npz")
    plain = tmp_path / "plain"
    assert main(args[:2] + [str(plain)] + args[3:-4]) == 0
    line = "lines/train/000000.png"  # the fake texts all hold digits
    assert (tmp_path / "lines" / line).read_bytes() != (plain / line).read_bytes()
    np.savez(tmp_path / "other.npz", images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1))
    assert main(args[:-1] + [str(tmp_path / "other.npz")]) == 2  # the corpus is another MNIST's
    assert "planned with other arguments" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [(["--real-digits", "1.5"], "between 0 and 1"),
                                            (["--real-digits", "0.5", "--mnist", "/nowhere"], "not found")])
def test_cli_real_digits_errors(cli, tmp_path, capsys, extra, message):
    assert main(["synth-lines", "--out", str(tmp_path), "--count", "2", "--dev", "1", "--test", "1"] + extra) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
