"""scripts/recipe_common.sh: a training run that skipped inputs is still scored; a failed one stops the recipe;
a fine-tuned stage resumes its run and keeps the model's characters."""
import subprocess
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parents[2] / "scripts" / "recipe_common.sh"


def run_recipe_train(tmp_path: Path, trainer_status: int,
                     stage: str = "recipe_train pub recipe.json out train.tsv dev.tsv") -> subprocess.CompletedProcess:
    """``stage`` with a stand-in ``recognizer`` that exits with ``trainer_status``, then one more step."""
    fake = tmp_path / ".venv" / "bin" / "recognizer"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(f'#!/bin/sh\necho "recognizer $*"\nexit {trainer_status}\n')
    fake.chmod(0o755)
    script = f'set -euo pipefail; source "{COMMON}"; continue=0; {stage}; echo "scoring"'
    return subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True)


@pytest.mark.parametrize("status", [0, 1])
def test_a_trained_model_goes_on_to_be_scored(tmp_path, status):
    done = run_recipe_train(tmp_path, status)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "recognizer train --config recipe.json --train train.tsv --dev dev.tsv --out out", "scoring"]


def test_a_failed_training_run_stops_the_recipe_with_its_status(tmp_path):
    done = run_recipe_train(tmp_path, 3)
    assert done.returncode == 3
    assert "scoring" not in done.stdout


FINETUNE = "recipe_finetune pretrained/hw runs/hw stage2.json runs/hw-wide train.tsv dev.tsv"


@pytest.mark.parametrize("status", [0, 1])
def test_a_fine_tuned_stage_starts_from_its_base_then_resumes(tmp_path, status):
    first = run_recipe_train(tmp_path, status, FINETUNE)
    assert first.returncode == 0
    assert first.stdout.splitlines() == [
        "recognizer finetune --model runs/hw --config stage2.json --keep-alphabet --name hw "
        "--train train.tsv --dev dev.tsv --out runs/hw-wide", "scoring"]
    (tmp_path / "runs" / "hw-wide" / "checkpoints").mkdir(parents=True)
    (tmp_path / "runs" / "hw-wide" / "checkpoints" / "latest").write_text("3")
    assert run_recipe_train(tmp_path, 0, FINETUNE).stdout.splitlines()[0].endswith("--out runs/hw-wide --resume")


def test_a_failed_fine_tuned_stage_stops_the_recipe(tmp_path):
    done = run_recipe_train(tmp_path, 2, FINETUNE)
    assert done.returncode == 2 and "scoring" not in done.stdout
