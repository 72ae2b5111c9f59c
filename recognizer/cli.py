"""The ``recognizer`` command: transcribe, read, evaluate, train.

Transcripts go to stdout, progress and logs to stderr. An input that cannot be read gives a
one-line error (in jsonl: ``{"path", "error"}`` on its own line), the other inputs still run, and
the exit status is 1 (for ``train``: the run finishes without the samples it could not use).
Usage errors and unusable models or manifests exit with 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_MODELS = {"transcribe": "speech-digits", "read": "handwriting-digits"}
EXIT_INPUT_ERRORS = 1
EXIT_USAGE = 2


def _add_recognise(sub, verb: str, what: str, help_text: str) -> None:
    p = sub.add_parser(verb, help=help_text, description=help_text)
    p.add_argument("inputs", nargs="+", metavar=what, help=f"{what.lower()} files")
    p.add_argument("--model", default=DEFAULT_MODELS[verb],
                   help=f"bundle name or folder (default: {DEFAULT_MODELS[verb]})")
    p.add_argument("--format", choices=("text", "jsonl"), default="text",
                   help="text: the transcript (path<TAB>text for several inputs); jsonl: one JSON object per input")
    p.add_argument("--batch-size", type=int, default=32, help="inputs per forward batch")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recognizer", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_recognise(sub, "transcribe", "AUDIO", "transcribe audio files (wav, flac, ogg, mp3)")
    _add_recognise(sub, "read", "IMAGE", "read handwritten text-line images (png, jpg, tiff, bmp)")

    p = sub.add_parser("evaluate", help="CER and WER of a model on a manifest")
    p.add_argument("manifest", help="TSV, CSV or JSON-lines manifest with path and text")
    p.add_argument("--model", required=True, help="bundle name or folder")
    p.add_argument("--report", metavar="FILE.json", help="write every sample's scores here")
    p.add_argument("--worst", type=int, default=5, help="how many of the worst samples to print")
    p.add_argument("--all", action="store_true", help="print every sample's reference and hypothesis")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    p = sub.add_parser("train", help="train a bundle from manifests")
    p.add_argument("--train", required=True, help="training manifest")
    p.add_argument("--dev", required=True, help="dev manifest (model selection, early stopping)")
    p.add_argument("--out", required=True, help="bundle folder to write (checkpoints and logs inside)")
    p.add_argument("--config", help="recipe JSON: features, alphabet, model, augment, train")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--epochs", type=int, help="override the recipe's train.epochs")
    p.add_argument("--name", help="bundle name (default: the --out folder's name)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    return parser


def _version() -> str:
    from recognizer import __version__

    return __version__


def _progress(flag: bool | None, count: int) -> bool:
    return flag if flag is not None else (sys.stderr.isatty() and count > 1)


def cmd_recognise(args) -> int:
    import recognizer

    model = recognizer.load(args.model, max_batch=args.batch_size)
    verb = model.transcribe if args.command == "transcribe" else model.read
    results = verb(args.inputs, progress=_progress(args.progress, len(args.inputs)))
    several = len(results) > 1
    for result in results:
        if args.format == "jsonl":
            print(result.to_json(), flush=True)
        elif result.ok:
            print(f"{result.path}\t{result.text}" if several else result.text, flush=True)
        if not result.ok:
            print(f"error: {result.error}", file=sys.stderr)
    return EXIT_INPUT_ERRORS if any(not r.ok for r in results) else 0


def cmd_evaluate(args) -> int:
    import recognizer
    from recognizer.bundle import write_json_atomic
    from recognizer.evaluation import evaluate

    model = recognizer.load(args.model)
    report = evaluate(model, args.manifest, progress=_progress(args.progress, 2))
    print(f"model {report.model} on {args.manifest}: {len(report.samples)} samples, {len(report.failed)} failed")
    print(f"CER {report.cer}")
    print(f"WER {report.wer}")
    if report.unknown_chars:
        print("characters outside the model's alphabet: "
              + ", ".join(f"{ch!r} x{n}" for ch, n in report.unknown_chars.items()))
    shown = report.samples if args.all else [s for s in report.worst(args.worst) if s["cer_errors"]]
    if shown:
        print("samples:" if args.all else "worst samples:")
        for s in shown:
            print(f"  {s['cer_errors']:3d} edits  {Path(s['path']).name}\n      ref: {s['reference']}\n      hyp: {s['hypothesis']}")
    for failure in report.failed:
        print(f"error: {failure}", file=sys.stderr)
    if args.report:
        write_json_atomic(args.report, report.to_dict())
    return EXIT_INPUT_ERRORS if report.failed else 0


def cmd_train(args) -> int:
    from recognizer.recipe import Recipe
    from recognizer.training import train

    recipe = Recipe.load(args.config) if args.config else Recipe()
    if args.epochs is not None:
        recipe.train.epochs = args.epochs
    if args.name:
        recipe.name = args.name
    bundle = train(recipe, args.train, args.dev, args.out, resume=args.resume, progress=args.progress)
    skipped = bundle.training.get("skipped_samples", 0)
    if skipped:
        print(f"recognizer train: {skipped} input(s) could not be used (listed above)", file=sys.stderr)
    return EXIT_INPUT_ERRORS if skipped else 0


COMMANDS = {"transcribe": cmd_recognise, "read": cmd_recognise, "evaluate": cmd_evaluate, "train": cmd_train}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from data_prep.errors import InputError

    try:
        return COMMANDS[args.command](args)
    except (InputError, FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"recognizer {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"recognizer {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
