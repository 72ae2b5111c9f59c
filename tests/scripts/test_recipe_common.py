"""scripts/recipe_common.sh: a training run that skipped inputs is still scored; a failed one stops the recipe."""
import subprocess
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parents[2] / "scripts" / "recipe_common.sh"


def run_recipe_train(tmp_path: Path, trainer_status: int) -> subprocess.CompletedProcess:
    """``recipe_train`` with a stand-in ``recognizer`` that exits with ``trainer_status``, then one more step."""
    fake = tmp_path / ".venv" / "bin" / "recognizer"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho "recognizer $*"\nexit {trainer_status}\n')
    fake.chmod(0o755)
    script = (f'set -euo pipefail; source "{COMMON}"; continue=0; '
              'recipe_train pub recipe.json out train.tsv dev.tsv; echo "scoring"')
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
