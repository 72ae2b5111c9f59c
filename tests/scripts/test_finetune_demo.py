"""scripts/finetune_demo.py scratch-recipe: the from-scratch comparison trains like the fine-tuning,
whatever schedule the base bundle's last run recorded."""
import importlib.util
import json
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
spec = importlib.util.spec_from_file_location("finetune_demo", SCRIPTS / "finetune_demo.py")
finetune_demo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(finetune_demo)


def test_scratch_recipe_takes_the_bases_loop_and_finetunings_schedule(tmp_path):
    from recognizer.finetune import FINETUNE_TRAIN

    base = tmp_path / "base"
    base.mkdir()
    # a base published from a continued run: its record holds that run's tail rate and decay
    config = {"format": 1, "name": "hw", "features": {"kind": "columns", "height": 40}, "model": {"lstm_units": 8},
              "alphabet": {"chars": ["a"]},
              "training": {"train_config": {"learning_rate": 3.6e-5, "lr_decay": 0.88, "warmup_steps": 200,
                                            "max_batch": 16, "epochs": 4}}}
    (base / "config.json").write_text(json.dumps(config))
    out = tmp_path / "scratch.json"
    assert finetune_demo.main(["scratch-recipe", str(base), "--epochs", "7", "--out", str(out)]) == 0
    recipe = json.loads(out.read_text())
    assert recipe["features"] == config["features"] and recipe["model"] == config["model"]
    assert "alphabet" not in recipe  # from the data
    train = recipe["train"]
    assert train["max_batch"] == 16  # the base's loop
    assert (train["learning_rate"], train["lr_decay"], train["warmup_steps"]) == (
        FINETUNE_TRAIN["learning_rate"], FINETUNE_TRAIN["lr_decay"], FINETUNE_TRAIN["warmup_steps"])
    assert train["epochs"] == train["patience"] == train["lr_patience"] == 7  # every epoch at the full rate
