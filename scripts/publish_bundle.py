"""Copy a trained bundle into pretrained/ with its measured test scores in config.json.

    python scripts/publish_bundle.py runs/speech-digits pretrained/speech-digits \
        test=runs/speech-digits/test.report.json isolated=runs/speech-digits/test.isolated.report.json
    python scripts/publish_bundle.py --half runs/handwriting-en pretrained/handwriting-en heldout_fonts=...

Each NAME=REPORT is a ``recognizer evaluate --report`` file; its CER and WER (with edit counts and
the manifest) land in ``config.json`` under ``scores.NAME``. The model card is written by hand
from the same reports. With ``--half`` the weights are stored in float16 (half the size; the
network computes in float32), for bundles that must leave room for an ``lm/`` in their budget.
A run continued from a published bundle (``--continue`` of a recipe) records the recipe epoch its
weights reached in ``scores.dev.recipe_epoch``, where the next ``--continue`` starts; a bundle
from a later stage of a recipe is published with ``--stage NAME`` (``scores.dev.recipe_stage``),
so that the epoch counts within that stage.
"""
import argparse
import json
import shutil
from pathlib import Path

from continue_run import continued_epoch
from recognizer.bundle import CONFIG, WEIGHTS, read_config, write_half_precision_weights, write_json_atomic


def main(run: str, dest: str, *reports: str, half: bool = False, stage: str = "") -> None:
    config = read_config(run)
    reached = continued_epoch(config["training"], config["scores"], stage)
    if reached is not None:
        config["scores"]["dev"]["recipe_epoch"] = reached
    if stage:
        config["scores"]["dev"]["recipe_stage"] = stage
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("dest")
    parser.add_argument("reports", nargs="*", metavar="NAME=REPORT")
    parser.add_argument("--half", action="store_true", help="store the weights in float16")
    parser.add_argument("--stage", default="", help="the recipe stage the run is (default: the first)")
    args = parser.parse_args()
    main(args.run, args.dest, *args.reports, half=args.half, stage=args.stage)
