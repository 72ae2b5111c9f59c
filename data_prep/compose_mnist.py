"""Digit-string line images ("314 15 92") composed from real handwritten MNIST digits.

The digit IMAGES are split first, by a fixed seed independent of ``--seed``, into test (15% of each
class), dev (10%) and train pools, and a line uses digits of its own pool only: so a test line never
shows a digit a model was trained on, whatever seed made the training lines. ``split.json`` records
the pools and each manifest row lists the image indices it used (``sources``) so this is auditable.

Lines look like a scan: dark ink on light paper, each digit with its own scale, spacing and vertical
jitter; about half the lines have spaces between digit groups so that word error rates mean something.
Every line has its own random stream ``(seed, split, index)``, which makes reruns reuse finished files.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from data_prep.manifest import write_manifest

HELP = "compose handwritten digit-string line images from MNIST digits"

SPLIT_SEED = 20240531  # fixed: the test pool must not move when --seed changes
SPLIT_FRACTIONS = {"test": 0.15, "dev": 0.10}  # of each class; the rest is train
_SPLIT_CODE = {"train": 0, "dev": 1, "test": 2}
_SAMPLES_CODE = 99
INK_THRESHOLD = 30  # MNIST pixel value above which a pixel counts as ink when cropping


@dataclass
class LineStyle:
    """How a line is drawn; everything here changes the images (it is stamped in the output)."""

    digits: tuple[int, int] = (3, 12)
    space_prob: float = 0.5  # share of lines with spaces between digit groups
    group: tuple[int, int] = (1, 4)  # digits per group in spaced lines
    height: tuple[int, int] = (32, 48)  # output height, pixels
    digit_height: tuple[float, float] = (0.55, 0.68)  # line's digit height, share of the output height
    scale: tuple[float, float] = (0.8, 1.2)  # each digit's height relative to the line's
    stretch: tuple[float, float] = (0.9, 1.1)  # each digit's width factor
    gap: tuple[int, int] = (-2, 8)  # pixels between digits of a group (negative: overlap)
    line_gap: tuple[float, float] = (-1.0, 5.0)  # a writer's usual gap; each digit's varies around it
    gap_spread: float = 2.5  # +- pixels around the line's usual gap
    space: tuple[float, float] = (0.5, 0.9)  # a space: the usual gap plus this share of the digit height
    jitter: int = 3  # vertical, pixels
    margin: tuple[int, int] = (2, 16)  # left and right, pixels
    paper: tuple[int, int] = (200, 255)
    ink: tuple[int, int] = (0, 80)
    noise_prob: float = 0.5
    noise_sigma: tuple[float, float] = (2.0, 8.0)


@dataclass
class MnistConfig:
    src: Path  # digits.npz, or the folder holding it
    out: Path
    lines: dict[str, int] = field(default_factory=lambda: {"train": 12000, "dev": 600, "test": 1000})
    seed: int = 0
    line: LineStyle = field(default_factory=LineStyle)
    progress: bool = True


def digits_file(src: str | os.PathLike) -> Path:
    """The digits file that ``src`` names: ``digits.npz`` itself, or the folder holding it."""
    path = Path(src)
    return path / "digits.npz" if path.is_dir() else path


@dataclass
class Digits:
    """The source digits, cropped to their ink, with their labels."""

    crops: list[np.ndarray]
    labels: np.ndarray
    source: str

    @classmethod
    def load(cls, src: Path) -> "Digits":
        path = digits_file(src)
        if not path.is_file():
            raise FileNotFoundError(f"MNIST digits not found: {path}")
        with np.load(path) as data:
            images, labels = data["images"], data["labels"].astype(np.int64)
        crops = []
        for image in images:
            rows = np.flatnonzero((image > INK_THRESHOLD).any(axis=1))
            cols = np.flatnonzero((image > INK_THRESHOLD).any(axis=0))
            crops.append(image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] if len(rows) else image)
        return cls(crops, labels, str(path.resolve()))


def split_pools(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Image indices of each split: per class, a fixed shuffle cut into test, dev and train."""
    rng = np.random.default_rng(SPLIT_SEED)
    pools: dict[str, list[int]] = {"train": [], "dev": [], "test": []}
    for label in range(10):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_test = int(round(SPLIT_FRACTIONS["test"] * len(members)))
        n_dev = int(round(SPLIT_FRACTIONS["dev"] * len(members)))
        pools["test"] += members[:n_test].tolist()
        pools["dev"] += members[n_test:n_test + n_dev].tolist()
        pools["train"] += members[n_test + n_dev:].tolist()
    return {split: np.array(sorted(ids), dtype=np.int64) for split, ids in pools.items()}


def digit_shapes(src: Path, split: str) -> dict[str, list[np.ndarray]]:
    """The ink crops of one split's pool by digit character, for other line renderers.

    Drawn from :func:`split_pools`, so their test lines, like this module's, never show a digit
    that training lines show.
    """
    digits = Digits.load(src)
    shapes: dict[str, list[np.ndarray]] = {str(d): [] for d in range(10)}
    for index in split_pools(digits.labels)[split]:
        shapes[str(digits.labels[index])].append(digits.crops[index])
    return shapes


def _groups(rng: np.random.Generator, count: int, cfg: LineStyle) -> list[int]:
    """Digits per space-separated group, at least two groups."""
    sizes: list[int] = []
    while sum(sizes) < count:
        sizes.append(min(int(rng.integers(cfg.group[0], cfg.group[1] + 1)), count - sum(sizes)))
    if len(sizes) == 1:
        cut = int(rng.integers(1, count))
        sizes = [cut, count - cut]
    return sizes


def compose_line(rng: np.random.Generator, digits: Digits, pool: np.ndarray, cfg: LineStyle,
                 spaces: bool | None = None) -> tuple[np.ndarray, str, list[int]]:
    """One line image (uint8, dark on light), its text and the image indices it used."""
    by_class = [pool[digits.labels[pool] == c] for c in range(10)]
    classes = [c for c in range(10) if len(by_class[c])]
    count = int(rng.integers(cfg.digits[0], cfg.digits[1] + 1))
    if spaces is None:
        spaces = bool(rng.random() < cfg.space_prob)
    sizes = _groups(rng, count, cfg) if spaces else [count]
    height = int(rng.integers(cfg.height[0], cfg.height[1] + 1))
    base = height * rng.uniform(*cfg.digit_height)
    # Writers space their digits consistently, so a space is only readable against the line's own
    # usual gap: draw that first, then keep every space clearly wider than any gap of the line.
    usual = rng.uniform(*cfg.line_gap)

    placed: list[tuple[np.ndarray, int, int]] = []  # (ink 0..1, x, y)
    text, sources = [], []
    x = int(rng.integers(cfg.margin[0], cfg.margin[1] + 1))
    for g, size in enumerate(sizes):
        if g:
            text.append(" ")
        for k in range(size):
            label = classes[int(rng.integers(len(classes)))]
            index = int(by_class[label][int(rng.integers(len(by_class[label])))])
            crop = digits.crops[index]
            h = int(np.clip(round(base * rng.uniform(*cfg.scale)), 8, height - 2))
            w = max(1, int(round(crop.shape[1] * h / crop.shape[0] * rng.uniform(*cfg.stretch))))
            ink = np.asarray(Image.fromarray(crop).resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
            y = int(round((height - h) / 2 + rng.uniform(-cfg.jitter, cfg.jitter)))
            y = int(np.clip(y, 0, height - h))
            if placed:
                if k == 0:
                    step = usual + cfg.gap_spread + base * rng.uniform(*cfg.space)
                else:
                    step = np.clip(usual + rng.uniform(-cfg.gap_spread, cfg.gap_spread), *cfg.gap)
                x = max(0, x + int(round(step)))
            placed.append((ink, x, y))
            x += w
            text.append(str(label))
            sources.append(index)
    width = x + int(rng.integers(cfg.margin[0], cfg.margin[1] + 1))

    alpha = np.zeros((height, width), dtype=np.float32)
    for ink, px, py in placed:
        view = alpha[py:py + ink.shape[0], px:px + ink.shape[1]]
        np.maximum(view, ink, out=view)  # overlapping strokes stay ink, not doubled
    paper = float(rng.integers(cfg.paper[0], cfg.paper[1] + 1))
    tone = float(rng.integers(cfg.ink[0], cfg.ink[1] + 1))
    image = paper + (tone - paper) * alpha
    if rng.random() < cfg.noise_prob:
        image += rng.normal(0.0, rng.uniform(*cfg.noise_sigma), image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), "".join(text), sources


def _save_png(path: Path, image: np.ndarray) -> None:
    """Write atomically, so an existing file is always a finished one (what reruns rely on)."""
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(image).save(tmp, format="PNG")
    os.replace(tmp, path)


def compose(cfg: MnistConfig) -> dict[str, dict]:
    """Write ``{out}/split.json``, ``{out}/{split}.tsv`` and ``{out}/{split}/line_*.png``; return a summary."""
    from tqdm import tqdm

    digits = Digits.load(cfg.src)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    pools = split_pools(digits.labels)
    (out / "split.json").write_text(json.dumps({
        "source": digits.source, "split_seed": SPLIT_SEED, "fractions": SPLIT_FRACTIONS,
        "counts": {s: len(p) for s, p in pools.items()}, **{s: p.tolist() for s, p in pools.items()},
    }) + "\n")
    stamp_path = out / "compose_mnist.json"
    stamp = {"seed": cfg.seed, "line": json.loads(json.dumps(asdict(cfg.line))), "source": digits.source}
    reuse = stamp_path.is_file() and json.loads(stamp_path.read_text())["stamp"] == stamp
    summary: dict[str, dict] = {}
    for split in ("train", "dev", "test"):
        count = cfg.lines.get(split, 0)
        folder = out / split
        folder.mkdir(exist_ok=True)
        rows, made, spaced = [], 0, 0
        for index in tqdm(range(count), desc=f"mnist {split}", unit="line", disable=not cfg.progress,
                          file=sys.stderr, leave=False):
            rng = np.random.default_rng([cfg.seed, _SPLIT_CODE[split], index])
            path = folder / f"line_{index:05d}.png"
            image, text, sources = compose_line(rng, digits, pools[split], cfg.line)
            if not (reuse and path.is_file()):
                _save_png(path, image)
                made += 1
            spaced += " " in text
            rows.append({"path": str(path), "text": text, "sources": " ".join(map(str, sources))})
        write_manifest(out / f"{split}.tsv", rows)
        summary[split] = {"lines": count, "written": made, "spaced": spaced, "pool": len(pools[split])}
    stamp_path.write_text(json.dumps({"stamp": stamp, "summary": summary}, indent=2) + "\n")
    return summary


def make_samples(cfg: MnistConfig, folder: Path, count: int = 6) -> list[dict]:
    """A few demo lines from the test pool only, every other one with spaces."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    digits = Digits.load(cfg.src)
    pool = split_pools(digits.labels)["test"]
    rng = np.random.default_rng([cfg.seed, _SAMPLES_CODE])
    rows = []
    for i in range(count):
        image, text, sources = compose_line(rng, digits, pool, cfg.line, spaces=i % 2 == 0)
        path = folder / f"line_{i + 1}.png"
        _save_png(path, image)
        rows.append({"path": str(path), "text": text, "sources": " ".join(map(str, sources))})
    write_manifest(folder / "references.tsv", rows)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--src", type=Path, default=None,
                        help="digits.npz or its folder (default: $RECOGNIZER_SHARED_DATA/mnist, else <repo>/../shared/data/mnist)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/data/mnist)")
    parser.add_argument("--train", type=int, default=12000, help="train lines (default: %(default)s)")
    parser.add_argument("--dev", type=int, default=600, help="dev lines (default: %(default)s)")
    parser.add_argument("--test", type=int, default=1000, help="test lines (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the lines; the digit split is fixed (default: %(default)s)")
    parser.add_argument("--samples", type=Path, default=None, metavar="DIR",
                        help="write only the 6 demo lines (from the test pool) into DIR, not the corpus")


def run(args: argparse.Namespace) -> int:
    """``args.shared_data`` and ``args.repo`` are set by the command line's entry point."""
    cfg = MnistConfig(src=args.src or args.shared_data / "mnist", out=args.out or args.repo / "data" / "mnist",
                      seed=args.seed, lines={"train": args.train, "dev": args.dev, "test": args.test})
    if args.samples is not None:
        rows = make_samples(cfg, args.samples)
        print(f"samples: {len(rows)} lines in {args.samples}")
        return 0
    for split, s in compose(cfg).items():
        print(f"{split}: {s['lines']} lines ({s['spaced']} with spaces, {s['written']} newly written)"
              f" from a pool of {s['pool']} digits -> {Path(cfg.out) / (split + '.tsv')}")
    return 0
