"""``python -m data_prep SUB-COMMAND``: the dataset tools, one module per sub-command.

Each module in :data:`COMMANDS` provides ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
adding a tool is one line here. ``args.shared_data`` (the shared ``data`` folder) and ``args.repo``
are filled in for every sub-command, so none of them has to guess where it runs.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from data_prep.errors import InputError
from data_prep.paths import repo_root, shared_data_dir

COMMANDS: dict[str, str] = {
    "compose-fsdd": "data_prep.compose_fsdd",
    "compose-mnist": "data_prep.compose_mnist",
    "synth-speech": "data_prep.synth_speech",
    "synth-lines": "data_prep.synth_lines",
    "merge": "data_prep.merge_manifests",
    "pad-takes": "data_prep.pad_takes",
    "nonspeech": "data_prep.nonspeech",
    "import": "data_prep.import_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data_prep", description=__doc__.splitlines()[0])
    subs = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subs.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    parser.set_defaults(shared_data=shared_data_dir(), repo=repo_root())
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (FileNotFoundError, InputError) as error:  # a missing or bad input: one line, not a traceback
        print(f"data_prep {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
