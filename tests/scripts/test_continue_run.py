"""scripts/continue_run.py: where a recipe's schedule goes on from its published bundle."""
import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "continue_run.py"
spec = importlib.util.spec_from_file_location("continue_run", SCRIPT)
continue_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(continue_run)

RECIPE = {"train": {"epochs": 40, "learning_rate": 0.001, "lr_decay": 0.92, "patience": 6},
          "augment": {"rotate_deg": 0.5}}


def continue_options(tmp_path: Path, scores: dict, history: list[dict] | None = None) -> dict:
    """What ``continue_run.py`` writes for a bundle with these scores (and training history) and :data:`RECIPE`."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    config = {"scores": scores, **({"training": {"history": history}} if history is not None else {})}
    (bundle / "config.json").write_text(json.dumps(config))
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(RECIPE))
    continue_run.main(str(bundle), str(recipe), str(tmp_path / "out.json"))
    return json.loads((tmp_path / "out.json").read_text())


def test_a_trained_bundle_continues_from_its_best_epoch_with_the_annealed_rate(tmp_path):
    options = continue_options(tmp_path, {"dev": {"cer": 0.03, "epoch": 16}})
    assert options["train"]["epochs"] == 24
    assert options["train"]["learning_rate"] == pytest.approx(0.001 * 0.92 ** 16, rel=1e-3)
    assert options["train"]["patience"] == 6  # the recipe's own options, not fine-tuning's
    assert options["augment"] == RECIPE["augment"]
    assert options["train"]["warmup_steps"] == continue_run.WARMUP_STEPS  # fresh Adam moments


def test_a_recipe_that_sets_its_own_warmup_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setitem(RECIPE, "train", {**RECIPE["train"], "warmup_steps": 50})
    assert continue_options(tmp_path, {"dev": {"epoch": 16}})["train"]["warmup_steps"] == 50


def test_a_continued_bundle_counts_its_base_epochs_and_its_own():
    base_scores = {"dev": {"epoch": 16}}
    training = {"finetuned_from": {"name": "handwriting-en", "scores": base_scores}}
    assert continue_run.continued_epoch(training, {"dev": {"epoch": 3}}) == 19
    # and a second continuation starts where the published first one ended
    twice = {"finetuned_from": {"scores": {"dev": {"epoch": 3, "recipe_epoch": 19}}}}
    assert continue_run.continued_epoch(twice, {"dev": {"epoch": 2}}) == 21
    assert continue_run.continued_epoch({}, {"dev": {"epoch": 5}}) is None


def test_a_later_stage_counts_its_own_epochs():
    stage_one = {"finetuned_from": {"scores": {"dev": {"epoch": 3, "recipe_epoch": 26}}}}
    assert continue_run.continued_epoch(stage_one, {"dev": {"epoch": 4}}, stage="wide") == 4
    # continued from a published bundle of that stage, it goes on counting
    stage_two = {"finetuned_from": {"scores": {"dev": {"epoch": 4, "recipe_epoch": 4, "recipe_stage": "wide"}}}}
    assert continue_run.continued_epoch(stage_two, {"dev": {"epoch": 2}}, stage="wide") == 6
    assert continue_run.recipe_stage({"dev": {"epoch": 1}}) == ""


def test_a_stage_without_augment_options_keeps_the_models_own(tmp_path, monkeypatch):
    monkeypatch.delitem(RECIPE, "augment")
    assert "augment" not in continue_options(tmp_path, {"dev": {"epoch": 3}})


def test_published_recipe_epoch_sets_where_the_next_run_starts(tmp_path):
    options = continue_options(tmp_path, {"dev": {"epoch": 3, "recipe_epoch": 19}})
    assert options["train"]["epochs"] == 21
    assert options["train"]["learning_rate"] == pytest.approx(0.001 * 0.92 ** 19, rel=1e-3)


def test_the_rate_goes_on_from_the_bundles_own_history_halvings_included(tmp_path):
    """A run halved on plateau twice trained its best epoch at a quarter of the schedule's rate."""
    history = [{"epoch": 0, "dev_cer": 0.03},
               {"epoch": 6, "dev_cer": 0.028, "learning_rate": 2.5e-4},
               {"epoch": 7, "dev_cer": 0.027, "learning_rate": 4.0e-5},
               {"epoch": 8, "dev_cer": 0.029, "learning_rate": 3.7e-5}]  # after the best: not the bundle's
    options = continue_options(tmp_path, {"dev": {"epoch": 7, "recipe_epoch": 23}}, history)
    assert options["train"]["epochs"] == 17
    assert options["train"]["learning_rate"] == pytest.approx(4.0e-5 * 0.92, rel=1e-3)


def test_a_history_without_the_best_epochs_rate_falls_back_to_the_schedule(tmp_path):
    options = continue_options(tmp_path, {"dev": {"epoch": 0}}, [{"epoch": 0, "dev_cer": 0.03}])
    assert options["train"]["learning_rate"] == pytest.approx(0.001)


def test_a_finished_schedule_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="already at epoch 40"):
        continue_options(tmp_path, {"dev": {"epoch": 40}})
    assert not (tmp_path / "out.json").exists()
