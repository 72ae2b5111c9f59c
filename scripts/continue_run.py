"""Write the ``recognizer finetune --config`` that continues a recipe from its published bundle.

    python scripts/continue_run.py pretrained/handwriting-en scripts/recipes/handwriting_en.json OUT.json

A recipe resumes from ``runs/``, which a new machine does not have. The published bundle holds
the weights of the epoch it was taken at, so ``recognizer finetune`` can go on from there with the
recipe's own training options and augmentation, for the epochs left, from the learning rate the
run had reached (:func:`next_rate`, halvings on plateau included). Adam's moments start afresh, so
the rate warms up over the first :data:`WARMUP_STEPS` steps (a fresh Adam's first updates are
full-rate in every direction; without a warm-up the first continuation spent two epochs recovering).
The epoch reached is ``scores.dev.recipe_epoch`` where a continued bundle was published
(:func:`recipe_epoch`), else the bundle's best dev epoch. A recipe of several stages (a stage
fine-tuned from the one before) counts epochs per stage: a bundle published from a later stage
names it in ``scores.dev.recipe_stage`` (stage 1 names none), and ``RECIPE`` is that stage's options.
"""
import json
import sys
from typing import Any

#: Steps over which a continued run's learning rate rises to the recipe's (under half an epoch of either recipe).
WARMUP_STEPS = 200


def recipe_epoch(scores: dict[str, Any]) -> int:
    """The recipe epoch a bundle's weights were taken at, from its ``scores``."""
    dev = scores["dev"]
    return int(dev.get("recipe_epoch", dev["epoch"]))


def next_rate(config: dict[str, Any], train: dict[str, Any]) -> float:
    """The rate of the epoch after the bundle's: the rate its history records for that epoch, annealed once.

    The recipe's schedule alone (``learning_rate * lr_decay ** epochs``) would forget the halvings on
    plateau the run went through and restart several times too fast; it is the fallback for a
    bundle without a history.
    """
    epoch = int(config["scores"]["dev"]["epoch"])
    decay = train.get("lr_decay", 1.0)
    used = [r["learning_rate"] for r in config.get("training", {}).get("history", [])
            if r.get("epoch") == epoch and "learning_rate" in r]
    if not used:
        return train["learning_rate"] * decay ** recipe_epoch(config["scores"])
    return used[-1] * decay


def recipe_stage(scores: dict[str, Any]) -> str:
    """The recipe stage a bundle's weights come from ("" for the first)."""
    return scores["dev"].get("recipe_stage", "")


def continued_epoch(training: dict[str, Any], scores: dict[str, Any], stage: str = "") -> int | None:
    """The recipe epoch of ``stage`` that a fine-tuned run reached; None for a run trained from scratch.

    A run continued from a bundle of the same stage adds its epochs to the base's; a run that
    began ``stage`` from an earlier stage's weights has only its own.
    """
    base = training.get("finetuned_from")
    if not base:
        return None
    own = int(scores["dev"]["epoch"])
    return recipe_epoch(base["scores"]) + own if recipe_stage(base["scores"]) == stage else own


def main(bundle: str, recipe: str, out: str) -> None:
    with open(f"{bundle}/config.json", encoding="utf-8") as f:
        config = json.load(f)
    with open(recipe, encoding="utf-8") as f:
        recipe_config = json.load(f)
    train = recipe_config["train"]
    done = recipe_epoch(config["scores"])
    left = train["epochs"] - done
    if left < 1:
        sys.exit(f"{bundle}: already at epoch {done} of the recipe's {train['epochs']}")
    rate = next_rate(config, train)
    train = {"warmup_steps": WARMUP_STEPS, **train, "learning_rate": float(f"{rate:.4g}"), "epochs": left}
    options = {"train": train, **({"augment": recipe_config["augment"]} if "augment" in recipe_config else {})}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(options, f, indent=2)
    print(f"continuing {bundle} from recipe epoch {done}: learning rate {rate:.4g}, warmed up over "
          f"{train['warmup_steps']} steps, up to {left} more epochs")


if __name__ == "__main__":
    main(*sys.argv[1:])
