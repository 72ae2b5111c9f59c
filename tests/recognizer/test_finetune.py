"""Fine-tuning: output-layer remapping, learning new characters on real handwritten digits,
--keep-alphabet, --freeze, bad data and --resume.

The real-model test starts from the shipped ``handwriting-digits`` bundle and teaches it '+' and
'-' on lines of real MNIST digits with drawn operators; the other tests use tiny untrained
bundles and check plumbing, so each trains for a second or two.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image, ImageDraw

from data_prep.augment_image import ImageAugmentConfig
from data_prep.manifest import write_manifest
from data_prep.paths import shared_data_dir
from recognizer import cli
from recognizer.alphabet import Alphabet
from recognizer.bundle import build_bundle, load
from recognizer.evaluation import evaluate
from recognizer.finetune import (
    FinetuneConfig,
    carry_lm,
    finetune,
    finetune_augment,
    finetune_train_config,
    freeze_layers,
    parse_freeze,
    read_options,
)
from recognizer.recipe import Recipe
from recognizer.inference import Recognizer
from recognizer.metrics import cer
from recognizer.warmstart import AlphabetChange, remap_head, warm_start
from conftest import draw_line, tiny_image_features, tiny_model_config

MNIST = shared_data_dir() / "mnist"
TINY_TRAIN = {"epochs": 1, "learning_rate": 0.01}


# -- data ----------------------------------------------------------------------------------------

def _operator(op: str, height: int, rng: np.random.Generator) -> np.ndarray:
    """A hand-drawn '+' or '-' as ink in 0..1: strokes of random width, length and tilt."""
    width = int(height * rng.uniform(0.5, 0.8))
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    stroke = max(2, int(height * rng.uniform(0.1, 0.16)))
    y = height * rng.uniform(0.42, 0.58)
    draw.line([(1, y + rng.uniform(-2, 2)), (width - 2, y + rng.uniform(-2, 2))], fill=255, width=stroke)
    if op == "+":
        x = width * rng.uniform(0.4, 0.6)
        draw.line([(x + rng.uniform(-2, 2), height * 0.22), (x + rng.uniform(-2, 2), height * 0.78)],
                  fill=255, width=stroke)
    return np.asarray(image, dtype=np.float32) / 255.0


def _sum_line(rng: np.random.Generator, digits, pool: np.ndarray) -> tuple[np.ndarray, str]:
    """A line like ``12+7-305``: groups of real MNIST digits joined by drawn operators."""
    height = int(rng.integers(32, 44))
    size = int(height * rng.uniform(0.55, 0.68))
    parts, text = [], ""
    for group in range(int(rng.integers(2, 4))):
        if group:
            op = "+-"[int(rng.integers(2))]
            parts.append(_operator(op, size, rng))
            text += op
        for _ in range(int(rng.integers(1, 3))):
            index = int(pool[int(rng.integers(len(pool)))])
            crop = digits.crops[index]
            h = int(np.clip(round(size * rng.uniform(0.85, 1.15)), 8, height - 2))
            w = max(1, round(crop.shape[1] * h / crop.shape[0]))
            parts.append(np.asarray(Image.fromarray(crop).resize((w, h), Image.BILINEAR), dtype=np.float32) / 255)
            text += str(int(digits.labels[index]))
    gap = int(rng.integers(2, 6))
    alpha = np.zeros((height, sum(p.shape[1] for p in parts) + gap * (len(parts) + 3)), np.float32)
    x = 2 * gap
    for part in parts:
        y = int(np.clip((height - part.shape[0]) / 2 + rng.uniform(-2, 2), 0, height - part.shape[0]))
        view = alpha[y:y + part.shape[0], x:x + part.shape[1]]
        np.maximum(view, part, out=view)
        x += part.shape[1] + gap
    paper, ink = rng.integers(200, 256), rng.integers(0, 80)
    image = paper + (ink - paper) * alpha + rng.normal(0, 3, alpha.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), text


@pytest.fixture(scope="module")
def sum_lines(tmp_path_factory) -> Path:
    """120 training and 40 dev lines of sums; train and dev draw on disjoint MNIST digit images."""
    if not (MNIST / "digits.npz").is_file():
        pytest.skip(f"no MNIST digits in {MNIST}")
    from data_prep.compose_mnist import Digits, split_pools

    digits = Digits.load(MNIST)
    pools = split_pools(digits.labels)
    root = tmp_path_factory.mktemp("sum_lines")
    for code, (split, count) in enumerate((("train", 120), ("dev", 40))):
        rng = np.random.default_rng([7, code])
        rows = []
        for k in range(count):
            image, text = _sum_line(rng, digits, pools[split])
            path = root / split / f"{k:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
            rows.append({"path": str(path), "text": text})
        write_manifest(root / f"{split}.tsv", rows)
    return root


def _lines(folder: Path, texts: list[str], seed: int = 0) -> Path:
    """Fake handwritten lines (tests/conftest.py's draw_line) and their manifest."""
    rows = [{"path": str(draw_line(folder / f"{i:03d}.png", text, seed=seed + i)), "text": text}
            for i, text in enumerate(texts)]
    write_manifest(folder / "lines.tsv", rows)
    return folder / "lines.tsv"


@pytest.fixture(scope="module")
def conv_bundle(tmp_path_factory) -> Path:
    """A saved, untrained line bundle with a conv front-end and two BiLSTM layers, alphabet ' ab'."""
    keras.utils.set_random_seed(3)
    config = tiny_model_config("conv1d", lstm_layers=2, lstm_impl="keras")
    bundle = build_bundle(tiny_image_features(), Alphabet(" ab"), config, name="tiny-conv")
    return bundle.save(tmp_path_factory.mktemp("bundles") / "tiny-conv")


@pytest.fixture(scope="module")
def abc_lines(tmp_path_factory) -> tuple[Path, Path]:
    """Training and dev lines whose texts add 'c' to the bundle's ' ab'."""
    root = tmp_path_factory.mktemp("abc_lines")
    texts = ["ab ca", "cab", "ba bc", "abc", "c a b", "bca ab", "acb", "cc ab"]
    return _lines(root / "train", texts * 2), _lines(root / "dev", texts[:4], seed=100)


def _weights(model, prefix: str) -> list[np.ndarray]:
    return [v.numpy().copy() for v in model.weights if v.path.split("/", 1)[1].startswith(prefix)]


# -- the output layer ----------------------------------------------------------------------------

def test_alphabet_change_lists_kept_added_removed_and_maps_ids():
    change = AlphabetChange(Alphabet(" ab"), Alphabet(["b", "a", "c"]))
    assert (change.kept, change.added, change.removed) == (("b", "a"), ("c",), (" ",))
    assert change.source_ids().tolist() == [0, 3, 2, -1]  # blank, 'b' (old 3), 'a' (old 2), new 'c'
    line = change.describe()
    assert "2 kept" in line and "1 added" in line and "'c'" in line and "1 removed" in line and "' '" in line
    assert AlphabetChange(Alphabet("ab"), Alphabet("ab")).describe() == "alphabet unchanged (2 characters)"
    assert "reordered" in AlphabetChange(Alphabet("ab"), Alphabet("ba")).describe()


def test_remap_head_moves_columns_by_character_and_starts_new_ones_fresh():
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    change = AlphabetChange(Alphabet("xyz"), Alphabet(["z", "q", "x"]))
    new_kernel, new_bias = remap_head(kernel, bias, change, np.random.default_rng(1))
    assert new_kernel.shape == (6, 4) and new_bias.shape == (4,)
    np.testing.assert_array_equal(new_kernel[:, [0, 1, 3]], kernel[:, [0, 3, 1]])  # blank, z, x
    np.testing.assert_array_equal(new_bias[[0, 1, 3]], bias[[0, 3, 1]])
    assert new_bias[2] == pytest.approx(bias[1:].mean())  # a typical trained character's prior
    limit = np.sqrt(6 / (6 + 4))  # Glorot uniform, as Keras' Dense initialises
    assert np.all(np.abs(new_kernel[:, 2]) <= limit) and np.std(new_kernel[:, 2]) > 0
    with pytest.raises(ValueError, match="units"):
        remap_head(kernel[:, :3], bias[:3], change, rng)


def test_warm_start_copies_the_network_and_shared_characters_exactly():
    base = load("handwriting-digits", lstm_impl="keras")
    new_alphabet = base.alphabet.adapted_to(["12+3", "4-56 7890"])
    bundle, change = warm_start(base, new_alphabet, seed=0)
    assert change.added == ("+", "-") and not change.removed
    for old, new in zip(base.model.weights, bundle.model.weights):
        if "head" not in old.path:
            np.testing.assert_array_equal(old.numpy(), new.numpy())
    (kernel, bias), (new_kernel, new_bias) = base.model.head.get_weights(), bundle.model.head.get_weights()
    for char in base.alphabet.chars:
        i, j = base.alphabet.index(char), new_alphabet.index(char)
        np.testing.assert_array_equal(new_kernel[:, j], kernel[:, i])
        assert new_bias[j] == bias[i]
    np.testing.assert_array_equal(new_kernel[:, 0], kernel[:, 0])
    # an unchanged alphabet gives the very same network
    same, change = warm_start(base, base.alphabet)
    assert change.unchanged
    x = np.random.default_rng(0).normal(size=(1, 40, base.model.feature_dim)).astype(np.float32)
    np.testing.assert_array_equal(same.model(x, np.array([40]))[0].numpy(), base.model(x, np.array([40]))[0].numpy())


# -- learning new characters on real handwriting -------------------------------------------------

def _only(chars: str, text: str) -> str:
    return "".join(c for c in text if c in chars)


def test_finetune_learns_new_characters_and_starts_far_better_than_a_fresh_model(sum_lines, tmp_path):
    """handwriting-digits -> sums with '+' and '-'. Measured (2-core machine, other training
    running, 12 s): dev CER 29.8% before (every digit read, no operator), 1.4% after 3 epochs;
    operators alone 100% -> 1.6%; a fresh network with the same alphabet: 85%."""
    base = load("handwriting-digits", lstm_impl="keras")  # no XLA compiles: seconds, not a minute
    messages: list[str] = []
    bundle = finetune(base, sum_lines / "train.tsv", sum_lines / "dev.tsv", tmp_path / "run",
                      train_options={"epochs": 3, "learning_rate": 2e-3, "max_frames": 20000, "max_batch": 64},
                      augment=None, progress=False, log=messages.append)
    assert any("2 added, starting fresh: '+' '-'" in m and "1 removed" in m for m in messages), messages
    assert bundle.alphabet.chars == tuple("0123456789+-")
    history = bundle.training["history"]
    start, end = history[0], min(history[1:], key=lambda h: h["dev_cer"])
    assert history[0]["epoch"] == 0 and [h["epoch"] for h in history[1:]] == [1, 2, 3]
    keras.utils.set_random_seed(0)
    fresh = build_bundle(base.features, bundle.alphabet, base.model_config)
    fresh_cer = evaluate(Recognizer(fresh), sum_lines / "dev.tsv").cer.rate
    # digits carried over, operators not yet; an untrained network gets next to nothing right
    assert start["dev_cer"] < 0.4 and fresh_cer > 0.7 and start["dev_cer"] < fresh_cer / 2, (start, fresh_cer)
    assert end["dev_cer"] < start["dev_cer"] / 3, history
    report = evaluate(Recognizer(bundle), sum_lines / "dev.tsv")
    refs = [_only("+-", s["reference"]) for s in report.samples]
    hyps = [_only("+-", s["hypothesis"]) for s in report.samples]
    assert sum(map(len, refs)) > 40
    assert cer(refs, hyps).rate < 0.3, list(zip(refs, hyps))  # the new characters are written now
    assert bundle.training["finetune"] == {"freeze": "none", "keep_alphabet": False}
    assert bundle.training["alphabet_change"] == {"kept": 10, "added": ["+", "-"], "removed": [" "]}


# -- options -------------------------------------------------------------------------------------

def test_cli_says_what_changed_keeps_the_union_and_skips_bad_data(conv_bundle, abc_lines, tmp_path, capsys):
    _train, dev = abc_lines
    folder = tmp_path / "train"
    train = _lines(folder, ["abc", "cab", "bca", "cc", "ab"])  # lacks the model's ' ', adds 'c'
    (folder / "corrupt.png").write_bytes((folder / "000.png").read_bytes()[:40])
    with open(train, "a", encoding="utf-8") as handle:
        handle.write("missing.png\tab\n001.png\t\ncorrupt.png\tab\n")
    code = cli.main(["finetune", "--model", str(conv_bundle), "--train", str(train), "--dev", str(dev),
                     "--out", str(tmp_path / "run"), "--keep-alphabet", "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert "alphabet 3 -> 4 characters: 3 kept with their trained weights; 1 added, starting fresh: 'c'" in err
    assert "removed" not in err
    bundle = load(tmp_path / "run")
    assert bundle.alphabet.chars == (" ", "a", "b", "c")
    # without --keep-alphabet the ' ' would go (the real-model test above sees it go)
    assert load(conv_bundle).alphabet.adapted_to(["abc", "cab"]).chars == ("a", "b", "c")
    # a missing file, an empty transcript and an unreadable image: skipped, counted, the run finishes
    assert "file not found: missing.png" in err and "empty transcript" in err and "corrupt.png" in err
    assert "3 input(s) could not be used" in err and code == cli.EXIT_INPUT_ERRORS
    assert bundle.training["skipped_samples"] == 3 and bundle.training["train_samples"] == 5
    assert bundle.training["history"][-1]["epoch"] == 1


def _last_epoch(out: Path):
    """The weights after the last epoch (the bundle in ``out`` is the best, maybe the start)."""
    bundle = load(out)
    latest = (out / "checkpoints" / "latest").read_text().strip()
    bundle.model.load_weights(out / "checkpoints" / latest / "model.weights.h5")
    return bundle


def test_freeze_keeps_the_frontend_and_lowest_lstm_layers_as_they_were(conv_bundle, abc_lines, tmp_path):
    train, dev = abc_lines
    finetune(conv_bundle, train, dev, tmp_path / "run", FinetuneConfig(freeze="lstm:1"), train_options=TINY_TRAIN,
             augment=None, progress=False, log=lambda m: None)
    base, after = load(conv_bundle), _last_epoch(tmp_path / "run")
    for prefix in ("conv_", "bilstm/bilstm_0"):
        for old, new in zip(_weights(base.model, prefix), _weights(after.model, prefix), strict=True):
            np.testing.assert_array_equal(old, new)
    changed = [not np.array_equal(old, new) for old, new in
               zip(_weights(base.model, "bilstm/bilstm_1"), _weights(after.model, "bilstm/bilstm_1"), strict=True)]
    assert len(changed) == 6 and all(changed)  # kernel, recurrent kernel, bias of both directions


def test_parse_freeze_validates_against_the_model(conv_bundle, abc_lines, tmp_path, capsys):
    config = tiny_model_config("conv1d", lstm_layers=2)
    assert parse_freeze("none", config) == (False, 0)
    assert parse_freeze("frontend", config) == (True, 0)
    assert parse_freeze("lstm:2", config) == (True, 2)
    assert parse_freeze("lstm:1", tiny_model_config("none")) == (False, 1)
    for bad, match in (("lstm:3", "2 BiLSTM"), ("lstm:0", "2 BiLSTM"), ("convs", "none, frontend or lstm:N")):
        with pytest.raises(ValueError, match=match):
            parse_freeze(bad, config)
    with pytest.raises(ValueError, match="no front-end"):
        parse_freeze("frontend", tiny_model_config("none"))
    keras.utils.set_random_seed(0)
    model = build_bundle(tiny_image_features(), Alphabet("ab"), config).model
    total = len(model.trainable_variables)
    assert freeze_layers(model, "lstm:1") == ["conv_0", "bilstm_0"]
    assert 0 < len(model.trainable_variables) < total
    train, dev = abc_lines  # the command line says so in one line, before reading any data
    assert cli.main(["finetune", "--model", str(conv_bundle), "--train", str(train), "--dev", str(dev),
                     "--out", str(tmp_path / "run"), "--freeze", "lstm:5"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["recognizer finetune: error: --freeze lstm:5: the model has 2 BiLSTM layer(s)"]


def test_resume_continues_with_the_runs_own_alphabet_and_frozen_layers(conv_bundle, abc_lines, tmp_path):
    train, dev = abc_lines
    out = tmp_path / "run"
    finetune(conv_bundle, train, dev, out, FinetuneConfig(freeze="frontend"), train_options=TINY_TRAIN,
             augment=None, progress=False, log=lambda m: None)
    with pytest.raises(FileExistsError, match="resume it"):
        finetune(conv_bundle, train, dev, out, augment=None, progress=False, log=lambda m: None)
    messages: list[str] = []
    augment = ImageAugmentConfig(stage="normalised")  # resumed with augmentation, started without
    bundle = finetune(conv_bundle, train, dev, out, FinetuneConfig(keep_alphabet=True),
                      train_options={**TINY_TRAIN, "epochs": 2}, augment=augment, resume=True, progress=False,
                      log=messages.append)
    assert any("resumed after epoch 1" in m for m in messages), messages
    assert any("resuming with the run's own settings" in m for m in messages), messages
    assert [h["epoch"] for h in bundle.training["history"]] == [0, 1, 2]
    assert bundle.training["finetune"]["freeze"] == "frontend"
    # the provenance says what the resumed epochs trained with
    assert ImageAugmentConfig.from_dict(bundle.training["augment"]) == augment
    assert bundle.training["train_config"]["epochs"] == 2
    base, after = load(conv_bundle), _last_epoch(out)
    for old, new in zip(_weights(base.model, "conv_"), _weights(after.model, "conv_"), strict=True):
        np.testing.assert_array_equal(old, new)  # still frozen after the resumed epoch


def test_the_base_decoder_comes_along_unless_characters_were_added(conv_bundle, tmp_path):
    base_dir = load(conv_bundle).copy_to(tmp_path / "base")
    (base_dir / "lm").mkdir()
    (base_dir / "lm" / "decoder.json").write_text('{"decoder": "beam", "beam_width": 8}')
    base, messages = load(base_dir), []
    # fewer characters (' ' removed): the LM still covers all the model writes
    assert carry_lm(base, tmp_path / "same", AlphabetChange(base.alphabet, Alphabet("ab")), messages.append)
    assert (tmp_path / "same" / "lm" / "decoder.json").read_text() == (base_dir / "lm" / "decoder.json").read_text()
    assert "its lm/ is copied" in messages[-1]
    # an added character: greedy until the user builds an LM that knows it
    assert not carry_lm(base, tmp_path / "new", AlphabetChange(base.alphabet, Alphabet(" abc")), messages.append)
    assert not (tmp_path / "new" / "lm").exists() and "not copied" in messages[-1]
    assert not carry_lm(load(conv_bundle), tmp_path / "none", AlphabetChange(base.alphabet, base.alphabet), print)


def test_read_options_takes_train_and_augment_only(tmp_path):
    path = tmp_path / "ft.json"
    path.write_text('{"train": {"max_batch": 8}, "augment": null}')
    assert read_options(path) == ({"max_batch": 8}, None)
    path.write_text('{"train": {"epochs": 2}, "model": {"lstm_units": 8}}')
    with pytest.raises(ValueError, match="keeps the model's model"):
        read_options(path)
    path.write_text('{"train": {"epoch": 2}}')
    with pytest.raises(ValueError, match="unknown TrainConfig keys: epoch"):
        read_options(path)


def test_default_augmentation_is_the_base_models_own(conv_bundle):
    base, own = load(conv_bundle), {"stage": "normalised", "rotate_deg": 0.5}
    assert finetune_augment(base) == "default"  # a bundle that does not record one: the modality's
    base.training["augment"] = own
    assert finetune_augment(base) == own
    assert finetune_augment(base, None) is None  # switched off stays off
    assert finetune_augment(base, {"shear": 0.1}) == {"shear": 0.1}
    resolved = Recipe(augment=finetune_augment(base)).resolve_augment(base.features)
    assert resolved == ImageAugmentConfig(stage="normalised", rotate_deg=0.5)


def test_train_options_are_the_bases_loop_with_finetunings_schedule_on_top(conv_bundle):
    base = load(conv_bundle)
    # a base published from a continued run: its record holds the rate and decay that run ended with
    base.training["train_config"] = {"learning_rate": 3.6e-5, "lr_decay": 0.88, "epochs": 4, "warmup_steps": 200,
                                     "max_batch": 16, "clip_norm": 2.0, "keep_empty": True}
    config = finetune_train_config(base)
    assert (config.max_batch, config.clip_norm, config.keep_empty) == (16, 2.0, True)  # the base's own loop
    assert (config.learning_rate, config.lr_decay) == (1e-3, 1.0)  # not the continued run's tail
    assert (config.epochs, config.warmup_steps) == (20, 0)  # nor its length or warm-up
    chosen = finetune_train_config(base, {"warmup_steps": 30, "learning_rate": 3e-4, "lr_decay": 0.9})
    assert (chosen.warmup_steps, chosen.learning_rate, chosen.lr_decay) == (30, 3e-4, 0.9)
