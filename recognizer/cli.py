"""Speech and handwritten-line recognition: transcribe, read, evaluate, train, finetune, average, doctor, lm.

Transcripts go to stdout, progress and logs to stderr. An input that cannot be read gives a
one-line error (in jsonl: ``{"path", "error"}`` on its own line), the other inputs still run, and
the exit status is 1 (for ``train``: the run finishes without the samples it could not use).
Usage errors and unusable models, manifests, language models or lexicons exit with 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_MODELS = {"transcribe": "speech-en", "read": "handwriting-en"}
EXIT_INPUT_ERRORS = 1
EXIT_USAGE = 2


def _add_decoder_options(p) -> None:
    g = p.add_argument_group("decoder options (default: the bundle's lm/decoder.json, else greedy)")
    g.add_argument("--decoder", choices=("greedy", "beam"),
                   help="greedy (best path) or beam (prefix beam search); an LM, lexicon, hotword, "
                        "--nbest or --beam-width alone choose beam")
    g.add_argument("--beam-width", type=int, metavar="N", help="states kept per frame (default 64)")
    g.add_argument("--lm", metavar="FILE.arpa|none", help="character or word n-gram LM (ARPA); none: no LM")
    g.add_argument("--lm-unit", choices=("char", "word"), help="the LM's unit (default: guessed from its tokens)")
    g.add_argument("--alpha", type=float, help="LM weight (default 0.5)")
    g.add_argument("--beta", type=float, help="bonus per LM token: per word or per character (default 1.0)")
    g.add_argument("--lexicon", metavar="FILE|none", help="allowed words, one per line (digits and punctuation "
                                                           "stay allowed between words); none: no lexicon")
    g.add_argument("--hotword", action="append", dest="hotwords", metavar="WORD[:WEIGHT]",
                   help="favour a word or phrase (weight: natural-log bonus, default 10); repeatable")
    g.add_argument("--nbest", type=int, metavar="N", help="alternatives to report with their scores")


def _decoder_options(args) -> dict:
    return {"decoder": args.decoder, "beam_width": args.beam_width, "lm": args.lm, "lm_unit": args.lm_unit,
            "alpha": args.alpha, "beta": args.beta, "lexicon": args.lexicon, "hotwords": args.hotwords,
            "nbest": args.nbest}


def _add_recognise(sub, verb: str, what: str, help_text: str, formats: tuple[str, ...]) -> None:
    p = sub.add_parser(verb, help=help_text, description=help_text)
    p.add_argument("inputs", nargs="+", metavar=what, help=f"{what.lower()} files")
    p.add_argument("--model", default=DEFAULT_MODELS[verb],
                   help=f"bundle name or folder (default: {DEFAULT_MODELS[verb]})")
    p.add_argument("--format", choices=formats, default="text",
                   help="text: the transcript (path<TAB>text for several inputs); jsonl: one JSON object per "
                        "input" + ("; srt, vtt: subtitles" if "srt" in formats else ""))
    if "srt" in formats:
        p.add_argument("--output-dir", metavar="DIR",
                       help="write subtitles to DIR/NAME.srt|vtt (needed for several inputs; one input: stdout)")
    p.add_argument("--batch-size", type=int, default=32, help="inputs per forward batch")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    _add_decoder_options(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recognizer", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_recognise(sub, "transcribe", "AUDIO", "transcribe audio files (wav, flac, ogg, mp3)",
                   ("text", "jsonl", "srt", "vtt"))
    _add_recognise(sub, "read", "IMAGE", "read handwritten text-line images (png, jpg, tiff, bmp)",
                   ("text", "jsonl"))

    p = sub.add_parser("evaluate", help="CER and WER of a model on a manifest")
    p.add_argument("manifest", help="TSV, CSV or JSON-lines manifest with path and text")
    p.add_argument("--model", required=True, help="bundle name or folder")
    p.add_argument("--report", metavar="FILE.json", help="write every sample's scores here")
    p.add_argument("--worst", type=int, default=5, help="how many of the worst samples to print")
    p.add_argument("--all", action="store_true", help="print every sample's reference and hypothesis")
    p.add_argument("--by", action="append", default=[], metavar="COLUMN",
                   help="also score each value of this manifest column apart (speaker, font, ...); repeatable")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    _add_decoder_options(p)

    p = sub.add_parser("train", help="train a bundle from manifests")
    p.add_argument("--train", required=True, help="training manifest")
    p.add_argument("--dev", required=True, help="dev manifest (model selection, early stopping)")
    p.add_argument("--out", required=True, help="bundle folder to write (checkpoints and logs inside)")
    p.add_argument("--config", help="recipe JSON: features, alphabet, model, augment, train")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--epochs", type=int, help="override the recipe's train.epochs")
    p.add_argument("--name", help="bundle name (default: the --out folder's name)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)

    p = sub.add_parser("finetune", help="adapt a trained bundle to new data (a speaker, a hand, new characters)",
                       description="Continue training a bundle on new manifests, keeping its features and "
                                   "network. If the training transcripts use other characters, the output layer "
                                   "is rebuilt for them, keeping the trained weights of every shared character.")
    p.add_argument("--model", required=True, help="bundle name or folder to start from")
    p.add_argument("--train", required=True, help="training manifest")
    p.add_argument("--dev", required=True, help="dev manifest (model selection, early stopping)")
    p.add_argument("--out", required=True, help="bundle folder to write (checkpoints and logs inside)")
    p.add_argument("--epochs", type=int, help="most epochs (default 20)")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3, halved on plateau)")
    p.add_argument("--freeze", default="none", metavar="none|frontend|lstm:N",
                   help="keep these layers as they are: the front-end, or it and the lowest N BiLSTM layers")
    p.add_argument("--keep-alphabet", action="store_true",
                   help="keep the model's characters that the training data lacks (default: drop them)")
    p.add_argument("--config", metavar="FILE.json", help="recipe-style JSON with train and augment sections only")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--name", help="bundle name (default: the --out folder's name)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)

    p = sub.add_parser("average", help="average the weights of models of one lineage into a new bundle",
                       description="Write a bundle whose weights are the weighted mean of several models' weights: "
                                   "the last epochs of one run, or a model and a fine-tuned descendant of it. "
                                   "Features, alphabet and network must be the same. The first model's "
                                   "configuration and lm/ are kept; scores are left empty, to be measured again.")
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="bundle names or folders, or training checkpoints (OUT/checkpoints/epoch-NNNN)")
    p.add_argument("--out", required=True, help="bundle folder to write")
    p.add_argument("--weights", type=_floats, metavar="W1,W2,...",
                   help="each model's share, in order (default: equal); normalised to sum to 1")
    p.add_argument("--name", help="bundle name (default: the first model's)")

    p = sub.add_parser("doctor", help="check a manifest before training: files, lengths, characters, duplicates",
                       description="Report what a training or fine-tuning run could not use (missing or "
                                   "unreadable files, empty transcripts, transcripts too long for CTC) and what it "
                                   "would not notice (duplicates, overlap with dev, new characters), then a verdict. "
                                   "Exit status 0: all usable; 1: problems found; 2: the manifest cannot be read.")
    p.add_argument("manifest", help="TSV, CSV or JSON-lines manifest with path and text")
    p.add_argument("--model", help="bundle name or folder: its alphabet, features and subsampling for exact checks")
    p.add_argument("--dev", metavar="MANIFEST", help="dev manifest to check for overlap with this one")
    p.add_argument("--json", metavar="FILE.json", help="write the findings here too")
    p.add_argument("--examples", type=int, default=3, metavar="N", help="examples shown per finding (default 3)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    lm = sub.add_parser("lm", help="build n-gram language models, tune their weights")
    lm_sub = lm.add_subparsers(dest="lm_command", required=True, metavar="LM_COMMAND")
    p = lm_sub.add_parser("build", help="train a Kneser-Ney n-gram LM on text files and write ARPA",
                          description="Train an interpolated modified Kneser-Ney n-gram model on text "
                                      "(one sentence per line) and write it in ARPA format.")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="UTF-8 text files, one sentence per line")
    p.add_argument("--unit", choices=("char", "word"), required=True,
                   help="char: every character (spaces as <space>); word: words of letters")
    p.add_argument("--order", type=int, required=True, metavar="N", help="n-gram order")
    p.add_argument("--out", required=True, metavar="FILE.arpa", help="ARPA file; a name ending in .gz is gzip-compressed")
    p.add_argument("--lowercase", action="store_true", help="lowercase the text first")
    p.add_argument("--model", help="keep to this bundle's alphabet: other characters become spaces")

    p = lm_sub.add_parser("tune", help="grid-search alpha and beta on a dev manifest, store the best in the bundle",
                          description="Decode a dev manifest with every (alpha, beta) of a grid, report CER "
                                      "and WER against greedy decoding, and write the best pair into the "
                                      "bundle's lm/decoder.json (copying the LM into lm/ if needed).")
    p.add_argument("dev", metavar="MANIFEST", help="dev manifest (never the test set)")
    p.add_argument("--model", required=True, help="bundle name or folder")
    p.add_argument("--alphas", type=_floats, metavar="A,B,...", help="alpha values (default: 0 to 2)")
    p.add_argument("--betas", type=_floats, metavar="A,B,...", help="beta values (default: -1 to 3)")
    p.add_argument("--no-write", action="store_true", help="only report, leave the bundle as it is")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    _add_decoder_options(p)
    return parser


def _floats(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _version() -> str:
    from recognizer import __version__

    return __version__


def _progress(flag: bool | None, count: int) -> bool:
    return flag if flag is not None else (sys.stderr.isatty() and count > 1)


def _load(args, **options):
    """The model with the bundle's decoding, changed by the decoder options given."""
    from recognizer.bundle import load as load_bundle
    from recognizer.inference import Recognizer

    bundle = load_bundle(args.model)
    config = bundle.decoder_config().override(**_decoder_options(args))
    return Recognizer(bundle, decoder=config, **options)


def cmd_recognise(args) -> int:
    subtitles = args.format in ("srt", "vtt")
    output_dir = getattr(args, "output_dir", None)
    if subtitles and len(args.inputs) > 1 and not output_dir:
        raise ValueError(f"--format {args.format} with several inputs needs --output-dir")
    model = _load(args, max_batch=args.batch_size)
    verb = model.transcribe if args.command == "transcribe" else model.read
    results = verb(args.inputs, progress=_progress(args.progress, len(args.inputs)))
    several = len(results) > 1
    written: set[Path] = set()
    for result in results:
        if not result.ok:
            if args.format == "jsonl":
                print(result.to_json(), flush=True)
            print(f"error: {result.error}", file=sys.stderr)
        elif args.format == "jsonl":
            print(result.to_json(), flush=True)
        elif subtitles:
            _write_subtitles(result, args.format, output_dir, written)
        elif len(result.nbest) > 1:
            for rank, hypothesis in enumerate(result.nbest, start=1):
                prefix = f"{result.path}\t" if several else ""
                print(f"{prefix}{rank}\t{hypothesis.score:.4f}\t{hypothesis.text}", flush=True)
        else:
            print(f"{result.path}\t{result.text}" if several else result.text, flush=True)
    return EXIT_INPUT_ERRORS if any(not r.ok for r in results) else 0


def _write_subtitles(result, fmt: str, output_dir: str | None, written: set[Path]) -> None:
    from recognizer.subtitles import subtitles

    text = subtitles(result.words, fmt)
    if output_dir is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = Path(result.path).stem
    target, n = folder / f"{stem}.{fmt}", 1
    while target in written:  # two inputs with the same name: stem-2.srt, ...
        n += 1
        target = folder / f"{stem}-{n}.{fmt}"
    written.add(target)
    target.write_text(text, encoding="utf-8")
    print(f"{result.path} -> {target}", file=sys.stderr)


def cmd_evaluate(args) -> int:
    from recognizer.bundle import write_json_atomic
    from recognizer.evaluation import evaluate

    model = _load(args)
    report = evaluate(model, args.manifest, progress=_progress(args.progress, 2), by=args.by)
    print(f"model {report.model} on {args.manifest}: {len(report.samples)} samples, {len(report.failed)} failed")
    print(f"decoder {report.decoder}")
    print(f"CER {report.cer}")
    print(f"WER {report.wer}")
    if report.unknown_chars:
        print("characters outside the model's alphabet: "
              + ", ".join(f"{ch!r} x{n}" for ch, n in report.unknown_chars.items()))
    for column in report.columns:
        groups = report.by(column)
        width = max(len(value or "(none)") for value in groups) if groups else 0
        print(f"by {column}:")
        for value, (count, c, w) in groups.items():
            print(f"  {value or '(none)':<{width}}  {count:5d} samples  CER {c}  WER {w}")
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


def cmd_finetune(args) -> int:
    from recognizer.finetune import FinetuneConfig, finetune, read_options

    train_options, augment = read_options(args.config) if args.config else ({}, "default")
    train_options.update({k: v for k, v in (("epochs", args.epochs), ("learning_rate", args.lr)) if v is not None})
    config = FinetuneConfig(freeze=args.freeze, keep_alphabet=args.keep_alphabet)
    bundle = finetune(args.model, args.train, args.dev, args.out, config, train_options, augment=augment,
                      name=args.name or "", resume=args.resume, progress=args.progress)
    skipped = bundle.training.get("skipped_samples", 0)
    if skipped:
        print(f"recognizer finetune: {skipped} input(s) could not be used (listed above)", file=sys.stderr)
    return EXIT_INPUT_ERRORS if skipped else 0


def cmd_average(args) -> int:
    from recognizer.averaging import average
    from recognizer.bundle import read_config

    out = average(args.models, args.out, weights=args.weights, name=args.name or "")
    shares = ", ".join(f"{part['model']} x{part['weight']:.3g}"
                       for part in read_config(out)["training"]["averaged_from"])
    print(f"recognizer average: {out} = mean of {shares}", file=sys.stderr)
    return 0


def cmd_doctor(args) -> int:
    from recognizer.doctor import diagnose

    report = diagnose(args.manifest, model=args.model, dev=args.dev, progress=_progress(args.progress, 2),
                      examples=args.examples)
    print(report.render())
    if args.json:
        report.save(args.json)
    return report.exit_status


def cmd_lm(args) -> int:
    return {"build": cmd_lm_build, "tune": cmd_lm_tune}[args.lm_command](args)


def cmd_lm_build(args) -> int:
    from recognizer.lm.build import build_lm

    if args.order < 1:
        raise ValueError(f"--order must be at least 1, got {args.order}")
    alphabet = None
    if args.model:
        from recognizer.alphabet import Alphabet
        from recognizer.bundle import read_config, resolve

        alphabet = Alphabet.from_dict(read_config(resolve(args.model))["alphabet"])
    summary = build_lm(args.texts, args.unit, args.order, args.out, lowercase=args.lowercase, alphabet=alphabet)
    counts = ", ".join(f"{k}-grams {n}" for k, n in enumerate(summary["ngrams"], start=1))
    print(f"{args.out}: {args.unit} {args.order}-gram model from {summary['sentences']} sentences, "
          f"{summary['tokens']} tokens, vocabulary {summary['vocabulary']}; {counts}", file=sys.stderr)
    if summary["fallback_orders"]:
        print(f"note: too little text to estimate the discounts of order(s) "
              f"{', '.join(map(str, summary['fallback_orders']))}; used the fallback 0.5, 1.0, 1.5", file=sys.stderr)
    return 0


def cmd_lm_tune(args) -> int:
    from recognizer.tuning import DEFAULT_ALPHAS, DEFAULT_BETAS, tune, write_decoder

    model = _load(args)
    config = model.decoder_config
    report = tune(model, args.dev, config, args.alphas or DEFAULT_ALPHAS, args.betas or DEFAULT_BETAS,
                  progress=_progress(args.progress, 2))
    print(f"model {model.name} on {args.dev}: {report.samples} samples, {len(report.failed)} failed; "
          f"beam width {config.beam_width}, LM {config.lm}")
    print(f"{'alpha':>6} {'beta':>6} {'CER':>8} {'WER':>8}")
    print(f"{'greedy':>13} {100 * report.greedy.cer:7.2f}% {100 * report.greedy.wer:7.2f}%")
    for score in report.grid:
        mark = "  <- best" if score is report.best else ""
        print(f"{score.alpha:6.2f} {score.beta:6.2f} {100 * score.cer:7.2f}% {100 * score.wer:7.2f}%{mark}")
    for failure in report.failed:
        print(f"error: {failure}", file=sys.stderr)
    if not args.no_write:
        from dataclasses import replace

        best = replace(config, decoder="beam", alpha=report.best.alpha, beta=report.best.beta, nbest=1, hotwords=[])
        path = write_decoder(model.bundle.path, best)
        print(f"wrote alpha {report.best.alpha}, beta {report.best.beta} to {path}", file=sys.stderr)
    return EXIT_INPUT_ERRORS if report.failed else 0


COMMANDS = {"transcribe": cmd_recognise, "read": cmd_recognise, "evaluate": cmd_evaluate, "train": cmd_train,
            "finetune": cmd_finetune, "average": cmd_average,
            "doctor": cmd_doctor, "lm": cmd_lm}


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
