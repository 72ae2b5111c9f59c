"""Glue for the fine-tuning demos (scripts/finetune_demo_speech, scripts/finetune_demo_handwriting).

Sub-commands:

* ``pages OUT``: one writer's handwritten pages as PAGE XML, in ``OUT/train`` and ``OUT/test``
  (page images + XML), from data_prep's line synthesis in ONE font (the "writer"). The texts are
  English lines from the handwriting-en text mix with accented words and prices in euros, pounds
  and yen written in, so their alphabet adds characters (é, ü, ñ, €, £, ...) to handwriting-en's.
* ``speakers MANIFEST... --speakers S... --out DIR``: some speakers' recordings laid out as a user
  would have them, ``DIR/SPEAKER/NAME.wav`` (a link) beside ``NAME.txt``, for ``import audio-folder``.
* ``split MANIFEST --sizes TRAIN,DEV,TEST --out DIR``: a random split of one voice's utterances
  (distinct texts, as ``synth-speech`` draws them) into ``DIR/{train,dev,test}.tsv``.
* ``copy-model NAME|DIR OUT``: a copy of a bundle without its run's checkpoints (the speech demo
  tunes the base's LM weights on the speaker's dev set in the copy, leaving the original as it is).
* ``scratch-recipe BASE --out R.json``: a recipe for training BASE's network from scratch
  (same features, network and loop options, and fine-tuning's schedule, so both runs differ only
  in their starting weights; alphabet from the data), the demo's comparison; with ``--epochs`` it
  runs them all at the full learning rate (no early stop, no rate cuts, which a run still on
  CTC's all-blank plateau would otherwise make), the budget the fine-tuning had.
* ``report``: before/after scores from ``recognizer evaluate --report`` files, the dev CER of
  each epoch from the runs' bundles, and the CER of the new characters alone.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PIL import Image

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ACCENTED = ("café", "cafés", "naïve", "résumé", "déjà", "fiancée", "crème", "brûlée", "façade", "über", "señor",
            "piñata", "jalapeño", "rosé", "entrée", "soirée", "château", "Zürich", "München", "Málaga", "São",
            "Noël", "Zoë", "Björn", "Gödel", "Müller", "Côte", "Genève", "Île", "à", "élan", "Ångström",
            "Señora", "Crêpe", "niño", "mañana", "Éclair", "Österreich", "Lüneburg", "coöperate", "Aïda")
CURRENCIES = ("€", "£", "¥")


def _accented_line(text: str, rng: np.random.Generator) -> str:
    """``text`` with one or two accented words written in, and a price now and then."""
    words = text.split()
    for _ in range(int(rng.integers(1, 3))):
        words.insert(int(rng.integers(len(words) + 1)), ACCENTED[int(rng.integers(len(ACCENTED)))])
    if rng.random() < 0.5:
        sign = CURRENCIES[int(rng.integers(len(CURRENCIES)))]
        amount = f"{rng.integers(1, 500)}" + (f".{rng.integers(0, 100):02d}" if rng.random() < 0.5 else "")
        words.insert(int(rng.integers(len(words) + 1)), f"{sign}{amount}" if rng.random() < 0.7 else f"{amount} {sign}")
    return " ".join(words)


def demo_texts(count: int, split: str, seed: int, max_chars: int = 48) -> list[str]:
    """``count`` distinct texts; the test split draws from sentences never used for training."""
    from data_prep.line_texts import line_texts

    pool = line_texts({split: count * 2}, seed=seed)[split]
    rng = np.random.default_rng([seed, {"train": 0, "dev": 1, "test": 2}[split], 99])
    texts: list[str] = []
    for _kind, text in pool:
        words = text.split()[:6]
        line = _accented_line(" ".join(words), rng)
        if len(line) <= max_chars and line not in texts:
            texts.append(line)
        if len(texts) == count:
            break
    return texts


Box = tuple[int, int, int, int]  # x0, y0, x1, y1


def write_page_xml(path: Path, image_name: str, size: tuple[int, int], lines: list[tuple[Box, str]]) -> None:
    """A PAGE 2019 file: one text region holding the lines, each a box polygon with its text."""
    ET.register_namespace("", PAGE_NS)
    root = ET.Element(f"{{{PAGE_NS}}}PcGts")
    meta = ET.SubElement(root, f"{{{PAGE_NS}}}Metadata")
    ET.SubElement(meta, f"{{{PAGE_NS}}}Creator").text = "recognizer scripts/finetune_demo.py"
    for tag in ("Created", "LastChange"):
        ET.SubElement(meta, f"{{{PAGE_NS}}}{tag}").text = "2024-01-01T00:00:00"
    page = ET.SubElement(root, f"{{{PAGE_NS}}}Page", imageFilename=image_name, imageWidth=str(size[0]),
                         imageHeight=str(size[1]))
    region = ET.SubElement(page, f"{{{PAGE_NS}}}TextRegion", id="r1")
    boxes = np.array([box for box, _ in lines])
    ET.SubElement(region, f"{{{PAGE_NS}}}Coords", points=_box(*boxes[:, :2].min(0), *boxes[:, 2:].max(0)))
    for n, ((a, b, c, d), text) in enumerate(lines, start=1):
        line = ET.SubElement(region, f"{{{PAGE_NS}}}TextLine", id=f"r1l{n}")
        ET.SubElement(line, f"{{{PAGE_NS}}}Coords", points=_box(a, b, c, d))
        ET.SubElement(ET.SubElement(line, f"{{{PAGE_NS}}}TextEquiv"), f"{{{PAGE_NS}}}Unicode").text = text
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)


def _box(x0: int, y0: int, x1: int, y1: int) -> str:
    return f"{x0},{y0} {x1},{y0} {x1},{y1} {x0},{y1}"


def cmd_pages(args) -> int:
    """Render the writer's pages: lines in one font, stacked on paper, with their PAGE XML."""
    from data_prep.fonts import survey_fonts
    from data_prep.line_texts import LINE_CHARS
    from data_prep.render_line import RenderStyle, render_line

    chars = LINE_CHARS + "".join(sorted((set("".join(ACCENTED)) | set(CURRENCIES)) - set(LINE_CHARS)))
    fonts = {f.key: f for f in survey_fonts(chars).kept}
    if args.font not in fonts:
        print(f"font {args.font!r} is not installed or lacks some of {chars!r}; usable: {', '.join(fonts)}",
              file=sys.stderr)
        return 2
    font = fonts[args.font]
    # one hand on one paper: a steady size, slant and ink
    style = RenderStyle(x_height=(15.0, 19.0), neighbour_prob=0.0, slant=0.1, ink=(20, 60))
    for split, pages in (("train", args.train_pages), ("test", args.test_pages)):
        folder = Path(args.out) / split
        folder.mkdir(parents=True, exist_ok=True)
        texts = demo_texts(pages * args.lines, split, args.seed)
        for p in range(pages):
            rng = np.random.default_rng([args.seed, 0 if split == "train" else 2, p])
            rendered = []
            for text in texts[p * args.lines:(p + 1) * args.lines]:
                try:
                    rendered.append((render_line(text, font, rng, style), text))
                except ValueError as error:  # a line too wide for its canvas: leave it out
                    print(f"skipped line: {error}", file=sys.stderr)
            width = max(image.shape[1] for image, _ in rendered) + 2 * args.margin
            height = sum(image.shape[0] for image, _ in rendered) + 2 * args.margin
            paper = np.full((height, width), 240, dtype=np.uint8)
            boxes, y = [], args.margin
            for image, text in rendered:
                image = np.clip(image * (240.0 / np.median(image)), 0, 255).astype(np.uint8)  # the page's paper
                h, w = image.shape
                x = args.margin + int(rng.integers(0, max(1, width - 2 * args.margin - w)))
                paper[y:y + h, x:x + w] = np.minimum(paper[y:y + h, x:x + w], image)
                boxes.append(((x, y, x + w - 1, y + h - 1), text))
                y += h
            name = f"page_{p + 1:03d}"
            Image.fromarray(paper).save(folder / f"{name}.png")
            write_page_xml(folder / f"{name}.xml", f"{name}.png", (width, height), boxes)
        print(f"{split}: {pages} pages, {len(texts)} lines -> {folder}", file=sys.stderr)
    return 0


def cmd_speakers(args) -> int:
    """Lay some speakers' recordings out as a user would have them: OUT/SPEAKER/NAME.wav + NAME.txt.

    The demo then goes through `data_prep import audio-folder` like anyone's own recordings; the
    audio files are links to the originals.
    """
    from data_prep.manifest import read_manifest

    rows = [e for manifest in args.manifests for e in read_manifest(manifest)
            if e.extra.get("speaker") in args.speakers]
    if not rows:
        print(f"no rows of speakers {args.speakers} in {args.manifests}", file=sys.stderr)
        return 2
    rows = rows if args.take is None else [rows[i] for i in sorted(
        np.random.default_rng(0).choice(len(rows), size=min(args.take, len(rows)), replace=False))]
    for e in rows:
        audio = Path(args.out) / e.extra["speaker"] / Path(e.path).name
        audio.parent.mkdir(parents=True, exist_ok=True)
        audio.unlink(missing_ok=True)
        audio.symlink_to(Path(e.path).resolve())
        audio.with_suffix(".txt").write_text(e.text + "\n", encoding="utf-8")
    print(f"{args.out}: {len(rows)} recordings of {' '.join(args.speakers)}, each with its .txt", file=sys.stderr)
    return 0


def cmd_split(args) -> int:
    from data_prep.manifest import read_manifest, write_manifest

    rows = [{"path": e.path, "text": e.text, **e.extra} for e in read_manifest(args.manifest)]
    sizes = [int(n) for n in args.sizes.split(",")]
    if len(sizes) != 3 or sum(sizes) > len(rows):
        print(f"{args.manifest}: {len(rows)} rows, cannot split into {args.sizes}", file=sys.stderr)
        return 2
    order = np.random.default_rng(args.seed).permutation(len(rows))
    start = 0
    for name, size in zip(("train", "dev", "test"), sizes):
        write_manifest(Path(args.out) / f"{name}.tsv", [rows[i] for i in sorted(order[start:start + size])])
        start += size
    print(f"{args.out}: train {sizes[0]}, dev {sizes[1]}, test {sizes[2]} rows of {args.manifest}", file=sys.stderr)
    return 0


def cmd_copy_model(args) -> int:
    """A copy of a bundle (name or folder) without its run's checkpoints, to tune its decoder apart."""
    from recognizer.bundle import resolve

    shutil.copytree(resolve(args.model), args.out, ignore=shutil.ignore_patterns("checkpoints", "logs"),
                    dirs_exist_ok=True)
    print(f"{args.model} -> {args.out}", file=sys.stderr)
    return 0


def cmd_scratch_recipe(args) -> int:
    from recognizer.bundle import read_config, resolve
    from recognizer.finetune import FINETUNE_TRAIN

    config = read_config(resolve(args.base))
    train = {**(config.get("training", {}).get("train_config") or {}), **FINETUNE_TRAIN}
    recipe = {"name": f"{config['name']}-scratch", "features": config["features"], "model": config["model"],
              "train": {**train, **({"epochs": args.epochs, "patience": args.epochs, "lr_patience": args.epochs}
                                    if args.epochs else {})}}
    Path(args.out).write_text(json.dumps(recipe, indent=1) + "\n")
    return 0


def _only(chars: set[str], text: str) -> str:
    return "".join(c for c in text if c in chars)


def cmd_report(args) -> int:
    from recognizer.bundle import read_config
    from recognizer.metrics import cer

    new = set(args.new_chars or "")
    if args.new_chars_from:
        added = read_config(args.new_chars_from).get("training", {}).get("alphabet_change", {}).get("added", [])
        new |= set(added)
        print(f"characters added by fine-tuning: {' '.join(sorted(added)) or 'none'}")
    print(f"{'model':42s} {'test CER':>9s} {'test WER':>9s}" + ("  CER of the added characters alone" if new else ""))
    for label_report in args.reports:
        label, path = label_report.split("=", 1)
        report = json.loads(Path(path).read_text())
        line = f"{label:42s} {100 * report['cer']:8.2f}% {100 * report['wer']:8.2f}%"
        if new:
            refs = [_only(new, s["reference"]) for s in report["all"]]
            hyps = [_only(new, s["hypothesis"]) for s in report["all"]]
            line += f"  {100 * cer(refs, hyps).rate:8.2f}% of {sum(map(len, refs))}"
        print(line)
    for label_run in args.runs:
        label, folder = label_run.split("=", 1)
        history = read_config(folder).get("training", {}).get("history", [])
        curve = " ".join(f"{100 * h['dev_cer']:.1f}" for h in history)
        first = history[0]["epoch"] if history else 1
        print(f"dev CER % by epoch from {first}, {label}: {curve}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pages")
    p.add_argument("out")
    p.add_argument("--font", default="Delphine", help="the writer: a handwriting font held out of handwriting-en")
    p.add_argument("--train-pages", type=int, default=20)
    p.add_argument("--test-pages", type=int, default=5)
    p.add_argument("--lines", type=int, default=16, help="lines per page")
    p.add_argument("--margin", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=cmd_pages)
    p = sub.add_parser("speakers")
    p.add_argument("manifests", nargs="+")
    p.add_argument("--speakers", nargs="+", required=True)
    p.add_argument("--take", type=int, help="a random N of the rows")
    p.add_argument("--out", required=True, help="folder of recordings to write")
    p.set_defaults(run=cmd_speakers)
    p = sub.add_parser("split")
    p.add_argument("manifest")
    p.add_argument("--sizes", required=True, metavar="TRAIN,DEV,TEST")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_split)
    p = sub.add_parser("copy-model")
    p.add_argument("model")
    p.add_argument("out")
    p.set_defaults(run=cmd_copy_model)
    p = sub.add_parser("scratch-recipe")
    p.add_argument("base")
    p.add_argument("--epochs", type=int)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_scratch_recipe)
    p = sub.add_parser("report")
    p.add_argument("--reports", nargs="*", default=[], metavar="LABEL=REPORT.json")
    p.add_argument("--runs", nargs="*", default=[], metavar="LABEL=BUNDLE_DIR")
    p.add_argument("--new-chars", help="also score these characters alone")
    p.add_argument("--new-chars-from", metavar="BUNDLE_DIR", help="... and the characters this fine-tuned bundle added")
    p.set_defaults(run=cmd_report)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
