"""scripts/publish_bundle.py: a run's weights and config land in pretrained/ with its test scores and recipe epoch."""
import importlib.util
import json
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))  # publish_bundle imports continue_run beside it
spec = importlib.util.spec_from_file_location("publish_bundle", SCRIPTS / "publish_bundle.py")
publish_bundle = importlib.util.module_from_spec(spec)
spec.loader.exec_module(publish_bundle)
sys.path.remove(str(SCRIPTS))

REPORT = {"manifest": "data/test.tsv", "samples": 10, "cer": 0.05, "cer_errors": 5, "cer_length": 100,
          "wer": 0.2, "wer_errors": 4, "wer_length": 20, "worst": ["not copied"]}


def publish(tmp_path: Path, base_scores: dict, stage: str = "") -> dict:
    run = tmp_path / "run"
    run.mkdir()
    config = {"format": 1, "name": "hw", "training": {"finetuned_from": {"scores": base_scores}},
              "scores": {"dev": {"cer": 0.03, "epoch": 4}}}
    (run / "config.json").write_text(json.dumps(config))
    (run / "model.weights.h5").write_bytes(b"weights")
    (tmp_path / "test.report.json").write_text(json.dumps(REPORT))
    publish_bundle.main(str(run), str(tmp_path / "out"), f"test={tmp_path / 'test.report.json'}", stage=stage)
    assert (tmp_path / "out" / "model.weights.h5").read_bytes() == b"weights"
    return json.loads((tmp_path / "out" / "config.json").read_text())["scores"]


def test_scores_and_the_recipe_epoch_reached(tmp_path):
    scores = publish(tmp_path, {"dev": {"epoch": 7, "recipe_epoch": 23}})
    assert scores["dev"]["recipe_epoch"] == 27 and "recipe_stage" not in scores["dev"]
    assert scores["test"] == {k: v for k, v in REPORT.items() if k != "worst"}


def test_a_later_stage_is_named_and_counts_its_own_epochs(tmp_path):
    scores = publish(tmp_path, {"dev": {"epoch": 3}}, stage="wide")
    assert scores["dev"]["recipe_stage"] == "wide" and scores["dev"]["recipe_epoch"] == 4
