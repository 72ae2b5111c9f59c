"""Copy a trained bundle into pretrained/ with its measured test scores in config.json.

    python scripts/publish_bundle.py runs/speech-digits pretrained/speech-digits \
        test=runs/speech-digits/test.report.json isolated=runs/speech-digits/test.isolated.report.json
    python scripts/publish_bundle.py --half runs/handwriting-en pretrained/handwriting-en heldout_fonts=...

Each NAME=REPORT is a ``recognizer evaluate --report`` file; its CER and WER (with edit counts and
the manifest) land in ``config.json`` under ``scores.NAME``. The model card is written by hand
from the same reports. With ``--half`` the weights are stored in float16 (half the size; the
network computes in float32), for bundles that must leave room for an ``lm/`` in their budget.
A run continued from a published bundle (``--continue`` of a recipe) records the recipe epoch its
weights reached in ``scores.dev.recipe_epoch``, where the next ``--continue`` starts.
"""
import json
import shutil
import sys
from pathlib import Path

from continue_run import continued_epoch
from recognizer.bundle import CONFIG, WEIGHTS, read_config, write_half_precision_weights, write_json_atomic


def main(run: str, dest: str, *reports: str, half: bool = False) -> None:
    config = read_config(run)
    reached = continued_epoch(config["training"], config["scores"])
    if reached is not None:
        config["scores"]["dev"]["recipe_epoch"] = reached
    for item in reports:
        name, path = item.split("=", 1)
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        config["scores"][name] = {key: report[key] for key in
                                  ("manifest", "samples", "cer", "cer_errors", "cer_length", "wer", "wer_errors",
                                   "wer_length")}
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    if half:
        write_half_precision_weights(Path(run) / WEIGHTS, out / WEIGHTS)
    else:
        shutil.copyfile(Path(run) / WEIGHTS, out / WEIGHTS)
    write_json_atomic(out / CONFIG, config)
    print(f"published {run} -> {out} with scores: {', '.join(config['scores'])}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*[a for a in args if a != "--half"], half="--half" in args)
