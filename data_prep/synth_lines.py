"""Synthetic handwriting-style text lines: English text in every usable handwriting font.

``python -m data_prep synth-lines --out data/lines-en --count 20000`` plans the whole corpus from
the seed (texts from :mod:`data_prep.line_texts`, a font per text), then renders what is not on
disk yet (:mod:`data_prep.render_line`) with a progress bar, so a stopped run resumes where it
stopped and a rerun with the same arguments renders nothing. Output is gray PNG plus manifests
with ``font`` and ``kind`` (of text) columns.

Splits are disjoint in text *and* in font where it matters for the model card:

* ``train.tsv`` and ``dev.tsv``: texts written in the training fonts;
* ``test.tsv``: other texts (from sentences never used for training) written only in the
  *held-out* fonts (``--holdout``, glob patterns over font keys, i.e. file stems).

Fonts are drawn family first, then style, so a family with six styles (Comic Neue) gets no more
lines than one with a single font. Each line's rendering is seeded by ``(seed, split, index)``;
``--style-seed`` draws the fonts and renderings from another seed than the texts, so a second
corpus writes the same texts (no test text among them) in new hands.

``--partial-fonts`` also uses the fonts that lack a few symbols (for the texts without them) and
the capitals-only fonts: ``--capitals-share`` of the lines are written in capitals in one of those.
``--glyph-rotate/-shear/-stretch`` give each character a shape of its own
(:class:`~data_prep.render_line.RenderStyle`). Both widen the hands a few fonts can imitate.
``--real-digits`` writes the digits of that share of the lines with real handwritten ones, from
the MNIST pool of the line's split (:func:`data_prep.compose_mnist.digit_shapes`): digits are the
only symbols this project has real handwriting of, and in the fonts' lines they meet letters and
punctuation, which MNIST's own lines never show them beside.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from data_prep.compose_mnist import digit_shapes, digits_file
from data_prep.fonts import FontInfo, font_files, survey_fonts
from data_prep.line_texts import LINE_CHARS, line_texts
from data_prep.manifest import write_manifest
from data_prep.render_line import RenderStyle, render_line

HELP = "render English text lines in every usable handwriting-style font (resumable) and write manifests"

# three styles: brush cursive, neat small print, round monoline
DEFAULT_HOLDOUT = ("KaushanScript-*", "Delphine", "Rufscript*")
SPLITS = ("train", "dev", "test")
_SPLIT_CODE = {"train": 0, "dev": 1, "test": 2}
# options added after corpora were planned: at their defaults they stay out of the fingerprint,
# so such a corpus still resumes
_LATER_FIELDS = ("glyph_rotate", "glyph_shear", "glyph_stretch", "real_digits", "capitals_only", "missing")


def _as_planned(item) -> dict:
    """``asdict(item)`` without the later fields that are at their defaults."""
    defaults = {f.name: f.default for f in fields(item)}
    return {k: v for k, v in asdict(item).items() if k not in _LATER_FIELDS or v != defaults[k]}


@dataclass(frozen=True)
class Job:
    """One line to render; with its font and the seed, everything a worker needs."""

    split: str
    index: int
    kind: str
    text: str
    font: str  # FontInfo.key

    @property
    def relpath(self) -> str:
        return f"lines/{self.split}/{self.index:06d}.png"


@dataclass
class LinePlan:
    """The corpus as planned from its arguments; ``fingerprint`` guards a resumed run."""

    jobs: list[Job]
    train_fonts: list[FontInfo]
    holdout_fonts: list[FontInfo]
    seed: int
    style: RenderStyle
    capitals_share: float = 0.0
    style_seed: int | None = None  # fonts and renderings; None: from ``seed`` as the texts

    @property
    def render_seed(self) -> int:
        return self.seed if self.style_seed is None else self.style_seed

    @property
    def fonts(self) -> dict[str, FontInfo]:
        return {f.key: f for f in self.train_fonts + self.holdout_fonts}

    def fingerprint(self) -> str:
        seeds = self.seed if self.style_seed is None else [self.seed, self.style_seed]
        digest = hashlib.sha256(json.dumps([seeds, _as_planned(self.style), [asdict(j) for j in self.jobs],
                                            [_as_planned(f) for f in self.fonts.values()]], default=str).encode())
        return digest.hexdigest()[:16]


def split_fonts(fonts: list[FontInfo], holdout: tuple[str, ...]) -> tuple[list[FontInfo], list[FontInfo]]:
    """Fonts whose key matches no ``holdout`` pattern, and those that match one."""
    held = [f for f in fonts if any(fnmatch.fnmatchcase(f.key, pattern) for pattern in holdout)]
    return [f for f in fonts if f not in held], held


def _pick_font(fonts: list[FontInfo], rng: np.random.Generator) -> FontInfo:
    families = sorted({f.family for f in fonts})
    family = families[int(rng.integers(len(families)))]
    styles = [f for f in fonts if f.family == family]
    return styles[int(rng.integers(len(styles)))]


def plan(counts: dict[str, int], fonts: list[FontInfo], holdout: tuple[str, ...], seed: int = 0,
         texts: dict[str, list[tuple[str, str]]] | None = None, style: RenderStyle | None = None,
         capitals_share: float = 0.0, style_seed: int | None = None) -> LinePlan:
    """Texts per split from ``seed``, and a font per text from ``style_seed`` (default: ``seed``).

    A text goes to a font that can draw it (:meth:`FontInfo.can_draw`); where the pool has
    capitals-only fonts, ``capitals_share`` of the texts are written in capitals in one of them.
    """
    train_fonts, holdout_fonts = split_fonts(fonts, holdout)
    if not train_fonts:
        raise ValueError("every usable font is held out: nothing to train on")
    if counts.get("test") and not holdout_fonts:
        raise ValueError(f"no usable font matches the held-out patterns {list(holdout)}")
    texts = texts if texts is not None else line_texts(counts, seed=seed)
    style_seed = None if style_seed == seed else style_seed
    rng = np.random.default_rng([seed if style_seed is None else style_seed, 11])
    jobs = []
    for split in SPLITS:
        pool = holdout_fonts if split == "test" else train_fonts
        capitals = [f for f in pool if f.capitals_only]
        for index, (kind, text) in enumerate(texts.get(split, [])[:counts.get(split, 0)]):
            in_capitals = capitals and rng.random() < capitals_share and [
                f for f in capitals if f.can_draw(text.upper())]
            if in_capitals:
                text, font = text.upper(), _pick_font(in_capitals, rng)
            else:
                fit = [f for f in pool if f.can_draw(text)]
                if not fit:
                    raise ValueError(f"no {split} font can draw {text!r}")
                font = _pick_font(fit, rng)
            jobs.append(Job(split, index, kind, text, font.key))
    return LinePlan(jobs, train_fonts, holdout_fonts, seed, style or RenderStyle(), capitals_share, style_seed)


def save_png(path: str, image: np.ndarray) -> None:
    """Write atomically, so an existing file is always a finished one (what reruns rely on)."""
    tmp = path + ".partial.png"
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)


@lru_cache(maxsize=len(SPLITS))
def _digit_shapes(src: str, split: str) -> dict[str, list[np.ndarray]]:
    return digit_shapes(Path(src), split)  # once per worker and split


def _render(args: tuple[Job, FontInfo, str, int, RenderStyle, str | None]) -> tuple[Job, str | None]:
    """Render one job into ``out``; returns an error line instead of raising."""
    job, font, out, seed, style, digits_src = args
    target = os.path.join(out, job.relpath)
    if os.path.exists(target):
        return job, None
    try:
        digits = _digit_shapes(digits_src, job.split) if digits_src else None  # render_line uses them if asked
        image = render_line(job.text, font, np.random.default_rng([seed, _SPLIT_CODE[job.split], job.index]), style,
                            digits)
        save_png(target, image)
    except Exception as error:  # noqa: BLE001 - one bad line must not stop the corpus
        return job, f"{job.relpath} ({job.font}, {job.text!r}): {error}".splitlines()[0]
    return job, None


def render_all(line_plan: LinePlan, out: str, workers: int = 2, progress: bool = True,
               digits_src: str | None = None) -> tuple[list[str], int]:
    """Render every missing job; returns (one error line per failed job, lines rendered).

    ``digits_src`` (MNIST's ``digits.npz`` or its folder) is needed when the style asks for real digits.
    """
    for split in {job.split for job in line_plan.jobs}:
        os.makedirs(os.path.join(out, "lines", split), exist_ok=True)
    todo = [job for job in line_plan.jobs if not os.path.exists(os.path.join(out, job.relpath))]
    fonts = line_plan.fonts
    work = [(job, fonts[job.font], out, line_plan.render_seed, line_plan.style, digits_src) for job in todo]
    errors: list[str] = []
    bar = tqdm(total=len(line_plan.jobs), initial=len(line_plan.jobs) - len(todo), desc="synth-lines",
               unit="line", disable=not progress, file=sys.stderr)
    if workers > 1 and len(work) > 1:
        with get_context("fork").Pool(workers) as pool:
            for _, error in pool.imap_unordered(_render, work, chunksize=16):
                errors += [error] if error else []
                bar.update()
    else:
        for item in work:
            errors += [error] if (error := _render(item)[1]) else []
            bar.update()
    bar.close()
    return errors, len(todo) - len(errors)


def write_manifests(line_plan: LinePlan, out: str) -> dict[str, int]:
    """One manifest per split listing the jobs whose image exists; returns rows per split."""
    counts = {}
    for split in SPLITS:
        rows = [{"path": os.path.join(out, job.relpath), "text": job.text, "font": job.font, "kind": job.kind}
                for job in line_plan.jobs if job.split == split and os.path.exists(os.path.join(out, job.relpath))]
        counts[split] = write_manifest(os.path.join(out, f"{split}.tsv"), rows)
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="output folder (lines/ and train/dev/test.tsv)")
    parser.add_argument("--count", type=int, default=20000, help="training lines (default: %(default)s)")
    parser.add_argument("--dev", type=int, default=600, help="dev lines: training fonts, other texts (default: %(default)s)")
    parser.add_argument("--test", type=int, default=900,
                        help="test lines: held-out fonts, texts from unseen sentences (default: %(default)s)")
    parser.add_argument("--holdout", nargs="*", default=list(DEFAULT_HOLDOUT), metavar="FONT-GLOB",
                        help="glob patterns of font keys (file stems) kept out of train/dev (default: %(default)s)")
    parser.add_argument("--font-dir", action="append", default=None, metavar="DIR",
                        help="search these folders for fonts instead of the handwriting packages' folders")
    parser.add_argument("--partial-fonts", action="store_true",
                        help="also use fonts that lack a few symbols (for texts without them) or draw only capitals")
    parser.add_argument("--capitals-share", type=float, default=0.15, metavar="P",
                        help="with --partial-fonts: share of the lines written in capitals in a capitals-only font "
                             "(default: %(default)s)")
    parser.add_argument("--glyph-rotate", type=float, default=0.0, metavar="DEG",
                        help="turn each character by up to DEG degrees (default: %(default)s)")
    parser.add_argument("--glyph-shear", type=float, default=0.0,
                        help="shear each character by up to this (default: %(default)s)")
    parser.add_argument("--glyph-stretch", type=float, default=0.0,
                        help="scale each character's width by 1 +- this (default: %(default)s)")
    parser.add_argument("--real-digits", type=float, default=0.0, metavar="P",
                        help="write the digits of this share of the lines with real handwritten MNIST digits, each "
                             "split's from its own pool (default: %(default)s)")
    parser.add_argument("--mnist", type=Path, default=None, metavar="SRC",
                        help="with --real-digits: digits.npz or its folder (default: $RECOGNIZER_SHARED_DATA/mnist, "
                             "else <repo>/../shared/data/mnist)")
    parser.add_argument("--seed", type=int, default=0, help="draws the texts, and the rest unless --style-seed")
    parser.add_argument("--style-seed", type=int, default=None,
                        help="draw fonts and renderings from this seed instead: the same texts in new hands")
    parser.add_argument("--workers", type=int, default=2, help="render processes (default: %(default)s)")
    parser.add_argument("--list-fonts", action="store_true", help="print the usable fonts, why others were dropped, and exit")


def _digits_source(args: argparse.Namespace) -> str | None:
    """The MNIST file that ``--real-digits`` draws from; ValueError (one line) if it cannot be used."""
    if not 0.0 <= args.real_digits <= 1.0:
        raise ValueError(f"--real-digits is a share between 0 and 1, not {args.real_digits}")
    if args.real_digits == 0:
        return None
    path = digits_file(args.mnist or Path(args.shared_data) / "mnist")
    if not path.is_file():
        raise ValueError(f"--real-digits needs MNIST digits: {path} not found (--mnist SRC)")
    return str(path.resolve())


def run(args: argparse.Namespace) -> int:
    """``args.shared_data`` is set by the command line's entry point."""
    survey = survey_fonts(LINE_CHARS, font_files(args.font_dir), partial=args.partial_fonts)
    if args.list_fonts:
        _train, held = split_fonts(survey.kept, tuple(args.holdout))
        print(survey.report())
        print(f"held out ({' '.join(args.holdout)}): {', '.join(f.key for f in held) or 'none'}")
        return 0
    if not args.out:
        print("synth-lines: --out is required (or --list-fonts)", file=sys.stderr)
        return 2
    if not survey.kept:
        print("synth-lines: no usable handwriting font installed (scripts/install_synth_tools installs them)",
              file=sys.stderr)
        return 2
    counts = {"train": args.count, "dev": args.dev, "test": args.test}
    try:
        digits_src = _digits_source(args)
        style = RenderStyle(glyph_rotate=args.glyph_rotate, glyph_shear=args.glyph_shear,
                            glyph_stretch=args.glyph_stretch, real_digits=args.real_digits)
        line_plan = plan(counts, survey.kept, tuple(args.holdout), args.seed, style=style,
                         capitals_share=args.capitals_share if args.partial_fonts else 0.0,
                         style_seed=args.style_seed)
    except ValueError as error:
        print(f"synth-lines: {error}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    stamp = Path(args.out, "plan.json")
    fingerprint = line_plan.fingerprint()
    planned = json.loads(stamp.read_text()) if stamp.exists() else None
    if planned and (planned.get("fingerprint"), planned.get("real_digits_from")) != (fingerprint, digits_src):
        print(f"synth-lines: {args.out} holds a corpus planned with other arguments, fonts or text; "
              "use a new --out or delete it", file=sys.stderr)
        return 2
    stamp.write_text(json.dumps({
        "fingerprint": fingerprint, "seed": args.seed, "style_seed": line_plan.render_seed, "counts": counts,
        "holdout": args.holdout,
        "alphabet": LINE_CHARS, "train_fonts": [f.key for f in line_plan.train_fonts],
        "holdout_fonts": [f.key for f in line_plan.holdout_fonts],
        "dropped_fonts": {Path(p).name: reason for p, reason in survey.dropped},
        "partial_fonts": {f.key: f.limits for f in survey.kept if f.partial},
        "capitals_share": line_plan.capitals_share, "style": asdict(line_plan.style),
        "real_digits_from": digits_src}, indent=1) + "\n")
    start = time.perf_counter()
    errors, rendered = render_all(line_plan, args.out, args.workers, digits_src=digits_src)
    seconds = time.perf_counter() - start
    for error in errors[:20]:
        print(f"synth-lines: failed {error}", file=sys.stderr)
    written = write_manifests(line_plan, args.out)
    kinds = Counter(job.kind for job in line_plan.jobs)
    speed = f", {rendered / seconds:.1f} lines/s" if rendered and seconds > 0 else ""
    print(f"synth-lines: {written} lines in {args.out} ({rendered} rendered now{speed}); "
          f"{len(line_plan.train_fonts)} training fonts, held out {[f.key for f in line_plan.holdout_fonts]}; "
          f"kinds {dict(kinds)}; {len(errors)} failed", file=sys.stderr)
    return 1 if errors else 0
