"""``python -m data_prep import FORMAT SRC --out MANIFEST``: a public dataset layout -> a manifest.

One sub-command per format (:data:`data_prep.importers.FORMATS`), its options generated from the
format's ``Config`` dataclass so that the command line and the typed config cannot drift apart.
``--dev-out DEV --dev-fraction F`` also holds out about F of the samples (whole pages, chapters or
speakers at a time) as a dev manifest. The summary (imported, skipped by reason with examples)
goes to stderr, and with ``--summary FILE.json`` to a file.
"""
from __future__ import annotations

import argparse
import json
import sys
import typing
from dataclasses import MISSING, fields

from data_prep.importers import FORMATS, importer
from data_prep.importers.common import run_import

HELP = "import a dataset layout (DeepSpeech, NeMo, LibriSpeech, Common Voice, Kaldi, IAM, PAGE, ALTO, ...)"


def _add_config_options(parser: argparse.ArgumentParser, config_class: type) -> None:
    hints = typing.get_type_hints(config_class)
    group = parser.add_argument_group("format options")
    for f in fields(config_class):
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        default = f.default if f.default is not MISSING else None
        if hints[f.name] is bool:
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction if default else "store_true",
                               default=default, help=help_text)
        else:
            hint = hints[f.name]
            kind = next((t for t in (int, float, str) if t is hint or t in typing.get_args(hint)), str)
            group.add_argument(flag, dest=f.name, type=kind, default=default, metavar=f.name.upper(), help=help_text)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")
    for name in FORMATS:
        module = importer(name)
        sub = subs.add_parser(name, help=module.HELP, description=(module.__doc__ or module.HELP).strip())
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
        sub.add_argument("src", metavar="SRC", help="the dataset's file or folder")
        sub.add_argument("--out", required=True, metavar="MANIFEST", help="manifest to write (.tsv, .csv or .jsonl); "
                         "new files (cut audio, line crops) go to a folder named after it, beside it")
        sub.add_argument("--dev-out", metavar="MANIFEST", help="also write a dev manifest, held out of --out")
        sub.add_argument("--dev-fraction", type=_fraction, default=0.1, metavar="F",
                         help="share of samples for --dev-out (default 0.1), whole pages/chapters/speakers at a time")
        sub.add_argument("--seed", type=int, default=0, help="seed of the dev split")
        sub.add_argument("--summary", metavar="FILE.json", help="write the summary here too")
        sub.add_argument("--examples", type=int, default=3, metavar="N", help="examples shown per skip reason")
        sub.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
        _add_config_options(sub, module.Config)


def run(args: argparse.Namespace) -> int:
    module = importer(args.format)
    config = module.Config(**{f.name: getattr(args, f.name) for f in fields(module.Config)})
    summary = run_import(args.format, module, args.src, args.out, config, dev_out=args.dev_out,
                         dev_fraction=args.dev_fraction, seed=args.seed, progress=args.progress,
                         keep_examples=args.examples)
    print(summary.render(), file=sys.stderr)
    if args.dev_out and not summary.dev:
        print(f"warning: the dev manifest {args.dev_out} is empty (too few samples to hold some out)", file=sys.stderr)
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as handle:
            json.dump(summary.to_dict(), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
    return 0
