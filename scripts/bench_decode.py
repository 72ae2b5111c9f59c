#!/usr/bin/env python3
"""Decoding speed and agreement: our prefix beam search (without and with a word LM), TensorFlow's
``ctc_beam_search_decoder``, and pyctcdecode, all on the same network outputs.

Two sets of outputs:

* ``random``: speech-en-sized outputs (16 x 400 frames over the speech-en alphabet, 28 characters
  + blank), peaky like a trained network's: each item spells an English sentence (spoken form of
  the ``fortunes`` prose) along a random CTC alignment, with noise and, on some frames, a close
  second label, so that beams have choices to make. 400 frames of speech-en (10 ms hop, time
  subsampling 2) are 8 s of audio. Its word LM (order 3) is built from the other sentences;
* ``digits``: the shipped ``speech-digits`` network's outputs on the FSDD test manifest
  (``data/fsdd/test.tsv``, from ``python -m data_prep compose-fsdd``); its word LM is built from
  the training transcripts;
* ``speech-en``: the shipped ``speech-en`` network's outputs on its held-out voices
  (``data/speech-en/test.tsv``, from ``scripts/train_speech_en``), decoded with the bundle's own
  LMs as they ship (``lm/word.arpa.gz`` at its tuned alpha 1.0, beta 4.0, and the default
  ``lm/decoder.json``: the character LM) and the bundle's pruning: the real-time factor that
  decoding adds to ``recognizer transcribe``.

Reported per set: seconds for the whole set, ratios to ours, and how often the best hypotheses
agree (same text, whitespace tidied). Every decoder gets the same float32 arrays: near-ties
between hypotheses are common, and float64 copies of the inputs would break some of them the
other way. pyctcdecode (0.5, numpy < 2) cannot share TensorFlow's
environment: it runs in ``build/venv-bench-pyctcdecode`` (created on first use with
``pip install pyctcdecode "numpy<2"``; ``--pyctcdecode-venv`` to choose another, ``--no-pyctcdecode``
to skip) as a subprocess that reads the outputs from an ``.npz`` file. All decoders run one input at
a time on one thread, with pyctcdecode's pruning (``token_min_logp`` -5, ``beam_prune_logp`` -10)
for ours too; kenlm is not installed, so pyctcdecode runs without LM. pyctcdecode is timed twice:
``decode_beams`` runs the same search as ours; ``decode``, its top-1 API, also prunes beams that
share their recent history, which is faster and finds other texts on hard inputs. The LM rows give the
real-time factor that decoding adds (decoding seconds / audio seconds).

    python scripts/bench_decode.py                 # all sets, beam 64 and 100 (a few minutes)
    python scripts/bench_decode.py --quick         # small sizes: a smoke test
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENV = ROOT / "build" / "venv-bench-pyctcdecode"
SPEECH_EN_CHARS = "abcdefghijklmnopqrstuvwxyz' "
SPEECH_EN_FRAME_SECONDS = 0.02  # 10 ms hop x subsampling 2
TOKEN_MIN_LOGP = -5.0
BEAM_PRUNE_LOGP = -10.0


# ----------------------------------------------------------------------------------------------
# pyctcdecode worker (runs inside its own venv; imports nothing of the package)


def pyctcdecode_worker(npz: str, labels_json: str, widths: str, rounds: str) -> None:
    import numpy as np
    from pyctcdecode import build_ctcdecoder

    labels = json.loads(labels_json)
    data = np.load(npz)
    items = [data[k] for k in sorted(data.files, key=int)]
    decoder = build_ctcdecoder(labels)
    options = {"token_min_logp": TOKEN_MIN_LOGP, "beam_prune_logp": BEAM_PRUNE_LOGP}
    modes = {
        # decode_beams: the full search; decode: its top-1 API, which also prunes beams that share
        # their recent history (prune_history=True), a different and faster search
        "decode_beams": lambda item, width: decoder.decode_beams(item, beam_width=width, **options)[0][0],
        "decode": lambda item, width: decoder.decode(item, beam_width=width, **options),
    }
    out = {}
    for width in map(int, widths.split(",")):
        out[width] = {}
        for mode, decode in modes.items():
            decode(items[0], width)  # warm-up
            best, texts = None, []
            for _ in range(int(rounds)):
                start = time.perf_counter()
                texts = [decode(item, width) for item in items]
                elapsed = time.perf_counter() - start
                best = elapsed if best is None else min(best, elapsed)
            out[width][mode] = {"seconds": best, "texts": texts}
    print(json.dumps(out))


def run_pyctcdecode(venv: Path, items, labels, widths, rounds: int) -> dict:
    import numpy as np

    from peer_venv import peer_python

    python = peer_python(venv, "pyctcdecode", "numpy<2")
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "outputs.npz"
        np.savez(npz, **{str(i): x.astype(np.float32) for i, x in enumerate(items)})
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        done = subprocess.run([str(python), __file__, "--pyctcdecode-worker", str(npz), json.dumps(labels),
                               ",".join(map(str, widths)), str(rounds)],
                              capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pyctcdecode worker failed:\n{done.stderr[-2000:]}")
    return {int(k): v for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


# ----------------------------------------------------------------------------------------------
# outputs


def random_outputs(n_items: int, n_frames: int, seed: int = 0):
    """Peaky log posteriors spelling English sentences, the text they spell, and the sentences."""
    import numpy as np

    from data_prep.english_text import fortune_records, sentences, spoken_form

    rng = np.random.default_rng(seed)
    spoken = [s for s in (spoken_form(x) for x in sentences(fortune_records())) if s and len(s) > 20]
    chars = SPEECH_EN_CHARS
    v = len(chars) + 1
    items, texts, sources = [], [], []
    for _ in range(n_items):
        text = spoken[rng.integers(len(spoken))]
        path: list[int] = []
        spelt = []
        for ch in text:
            run = [chars.index(ch) + 1] * int(rng.integers(1, 3))
            gap = [0] * int(rng.integers(0 if spelt and spelt[-1] != ch else 1, 3))
            if len(path) + len(gap) + len(run) > n_frames:
                break
            path += gap + run
            spelt.append(ch)
        path += [0] * (n_frames - len(path))
        logits = rng.normal(0.0, 1.0, size=(n_frames, v))
        logits[np.arange(n_frames), path] += rng.uniform(5.0, 12.0, size=n_frames)
        # some frames hesitate between the right label and another one, and some get it wrong
        close = rng.random(n_frames) < 0.1
        rivals = rng.integers(0, v, size=n_frames)
        logits[close, rivals[close]] = logits[close, np.array(path)[close]] + rng.uniform(-2.0, 0.5, close.sum())
        items.append((logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)).astype(np.float32))
        texts.append(" ".join("".join(spelt).split()))
        sources.append(text)
    return items, texts, sources


def model_outputs(name: str, manifest: Path, limit: int | None):
    """A shipped model's outputs on a manifest, its alphabet, audio seconds, and the references."""
    import numpy as np

    import recognizer
    from data_prep.manifest import scan_manifest

    model = recognizer.load(name)
    entries, _ = scan_manifest(manifest)
    entries = entries[:limit] if limit else entries
    seqs = {i: model.featurise(e.path) for i, e in enumerate(entries)}
    outputs = model.log_probs(seqs)
    items = [outputs[i].astype(np.float32) for i in range(len(entries))]
    seconds = sum(len(seqs[i]) * seqs[i].step for i in range(len(entries)))
    return model, items, seconds, [e.text for e in entries]


# ----------------------------------------------------------------------------------------------
# our decoders and TensorFlow's


def time_ours(decoder, items, rounds: int):
    decoder.decode(items[0])  # compile or load the cached kernels
    best, texts = None, None
    for _ in range(rounds):
        start = time.perf_counter()
        texts = [decoder.decode(x).text for x in items]
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, texts


def time_tensorflow(items, alphabet, width: int, rounds: int):
    """tf.nn.ctc_beam_search_decoder on the padded batch (blank moved last, as TF expects)."""
    import numpy as np
    import tensorflow as tf

    b, t, v = len(items), max(len(x) for x in items), items[0].shape[1]
    batch = np.full((t, b, v), -1e4, np.float32)
    batch[:, :, 0] = 0.0
    for i, x in enumerate(items):
        batch[: len(x), i] = x
    inputs = tf.constant(np.roll(batch, -1, axis=2))  # our blank 0 -> TF's blank v-1
    lengths = tf.constant([len(x) for x in items], tf.int32)
    decode = tf.function(lambda x, n: tf.nn.ctc_beam_search_decoder(x, n, beam_width=width, top_paths=1)[0][0])
    decode(inputs, lengths)
    best = None
    for _ in range(rounds):
        start = time.perf_counter()
        sparse = decode(inputs, lengths)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    dense = tf.sparse.to_dense(sparse, default_value=-1).numpy()
    texts = [" ".join(alphabet.decode([c + 1 for c in row if c >= 0]).split()) for row in dense]
    return best, texts


def load_lm_timed(path: Path, label: str):
    """An ARPA model, saying how long it took to load (a cost paid once per process, not per file)."""
    from recognizer.lm import NgramModel

    start = time.perf_counter()
    lm = NgramModel.load(path)
    print(f"{label} {path.name}: loaded in {time.perf_counter() - start:.1f} s")
    return lm


def agreement(a, b) -> float:
    tidy = lambda s: " ".join(s.split())
    return sum(tidy(x) == tidy(y) for x, y in zip(a, b)) / len(a)


@dataclass
class LmRun:
    """One decoding with a language model, timed after the LM-free runs of a set."""

    label: str
    lm: object  # NgramModel
    alpha: float
    beta: float
    token_min_logp: float = TOKEN_MIN_LOGP
    beam_prune_logp: float = BEAM_PRUNE_LOGP


def bench_set(name, items, alphabet, audio_seconds, lm_runs, widths, args, references=None):
    from recognizer.beam_search import BeamDecoder
    from recognizer.metrics import wer

    print(f"\n{name}: {len(items)} inputs, {sum(len(x) for x in items)} frames, {items[0].shape[1]} classes, "
          f"{audio_seconds:.1f} s of audio")
    pyctc = {}
    if not args.no_pyctcdecode:
        labels = [""] + list(alphabet.chars)
        pyctc = run_pyctcdecode(args.pyctcdecode_venv, items, labels, widths, args.rounds)
    rows = []
    for width in widths:
        ours_s, ours = time_ours(BeamDecoder(alphabet, width=width, token_min_logp=TOKEN_MIN_LOGP,
                                             beam_prune_logp=BEAM_PRUNE_LOGP), items, args.rounds)
        tf_s, tf_texts = time_tensorflow(items, alphabet, width, args.rounds)
        print(f"  beam {width}, no LM:")
        print(f"    ours                      {ours_s:8.3f} s   RTF {ours_s / audio_seconds:.5f}")
        print(f"    TensorFlow                {tf_s:8.3f} s   {tf_s / ours_s:6.1f}x ours   "
              f"same best: {100 * agreement(ours, tf_texts):5.1f}%")
        row = {"set": name, "width": width, "ours_s": ours_s, "tf_s": tf_s, "agree_tf": agreement(ours, tf_texts)}
        for mode, result in pyctc.get(width, {}).items():
            p_s, p_texts = result["seconds"], result["texts"]
            print(f"    pyctcdecode {mode + ':':13s} {p_s:8.3f} s   {p_s / ours_s:6.1f}x ours   "
                  f"same best: {100 * agreement(ours, p_texts):5.1f}%")
            row.update({f"pyctcdecode_{mode}_s": p_s, f"agree_pyctcdecode_{mode}": agreement(ours, p_texts)})
        # our default pruning keeps more candidates than pyctcdecode's, as TensorFlow (which prunes
        # no labels) does
        loose_s, loose = time_ours(BeamDecoder(alphabet, width=width), items, args.rounds)
        print(f"    ours, default pruning     {loose_s:8.3f} s   same best as TensorFlow: "
              f"{100 * agreement(loose, tf_texts):5.1f}%, as ours above: {100 * agreement(loose, ours):5.1f}%")
        row.update(ours_default_s=loose_s, agree_tf_default=agreement(loose, tf_texts))
        if references is not None:
            row["wer_no_lm"] = wer(references, ours).rate
        rows.append(row)
    width = args.lm_width
    no_lm_texts = {}  # per pruning: the LM runs' baseline, decoded once
    for run in lm_runs:
        pruning = {"token_min_logp": run.token_min_logp, "beam_prune_logp": run.beam_prune_logp}
        decoder = BeamDecoder(alphabet, width=width, lm=run.lm, alpha=run.alpha, beta=run.beta, **pruning)
        lm_s, lm_texts = time_ours(decoder, items, args.rounds)
        print(f"  beam {width} with {run.label} ({len(run.lm.vocab)} tokens, order {run.lm.order}, "
              f"alpha {run.alpha}, beta {run.beta}; token_min_logp {run.token_min_logp}, "
              f"beam_prune_logp {run.beam_prune_logp}):")
        print(f"    ours                      {lm_s:8.3f} s   decoding adds RTF {lm_s / audio_seconds:.5f}")
        row = {"set": name, "width": width, "lm": run.label, "ours_lm_s": lm_s, "rtf_lm": lm_s / audio_seconds}
        if references is not None:
            key = tuple(pruning.values())
            if key not in no_lm_texts:
                no_lm_texts[key] = [BeamDecoder(alphabet, width=width, **pruning).decode(x).text for x in items]
            base = no_lm_texts[key]
            row.update(wer_no_lm=wer(references, base).rate, wer_lm=wer(references, lm_texts).rate)
            print(f"    WER: {100 * row['wer_no_lm']:.2f}% without LM, {100 * row['wer_lm']:.2f}% with it")
        rows.append(row)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="random,digits,speech-en")
    ap.add_argument("--widths", default="64,100", help="beam widths to compare")
    ap.add_argument("--lm-width", type=int, default=64, help="beam width of the LM runs")
    ap.add_argument("--alpha", type=float, default=0.5, help="random and digits sets' word LM weight")
    ap.add_argument("--beta", type=float, default=1.0, help="random and digits sets' word bonus")
    ap.add_argument("--items", type=int, default=16, help="random set: inputs")
    ap.add_argument("--frames", type=int, default=400, help="random set: frames per input")
    ap.add_argument("--digits-manifest", type=Path, default=ROOT / "data" / "fsdd" / "test.tsv")
    ap.add_argument("--digits-limit", type=int, help="use only the first N inputs of the digits manifest")
    ap.add_argument("--word-lm", type=Path, help="word LM for the random set (default: built from fortunes)")
    ap.add_argument("--speech-en-manifest", type=Path, default=ROOT / "data" / "speech-en" / "test.tsv")
    ap.add_argument("--speech-en-limit", type=int, default=200, help="the first N inputs of that manifest")
    ap.add_argument("--speech-en-word-weights", default="1.0,4.0",
                    help="alpha,beta of speech-en's word LM (its tuned values, MODEL_CARD.md)")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds (the best counts)")
    ap.add_argument("--quick", action="store_true", help="small sizes, one round: a smoke test")
    ap.add_argument("--no-pyctcdecode", action="store_true")
    ap.add_argument("--pyctcdecode-venv", type=Path, default=DEFAULT_VENV)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--pyctcdecode-worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.pyctcdecode_worker:
        return pyctcdecode_worker(*args.pyctcdecode_worker)
    if args.quick:
        args.items, args.frames, args.rounds, args.digits_limit = 4, 120, 1, args.digits_limit or 40
        args.speech_en_limit = min(args.speech_en_limit, 20)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    sys.path.insert(0, str(ROOT))
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from recognizer.alphabet import Alphabet
    from recognizer.lm.build import build_lm

    widths = [int(w) for w in args.widths.split(",")]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; token_min_logp {TOKEN_MIN_LOGP}, "
          f"beam_prune_logp {BEAM_PRUNE_LOGP}; best of {args.rounds} rounds")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        if "random" in args.sets:
            alphabet = Alphabet(SPEECH_EN_CHARS, lowercase=True)
            items, texts, used = random_outputs(args.items, args.frames)
            lm_path = args.word_lm
            if lm_path is None:  # from the other sentences: the LM must not know the test text
                from data_prep.english_text import (
                    fortune_records,
                    sentences,
                    spoken_form,
                )

                text = Path(tmp) / "fortunes.txt"
                spoken = (spoken_form(s) for s in sentences(fortune_records()))
                text.write_text("\n".join(s for s in spoken if s and s not in used) + "\n", encoding="utf-8")
                lm_path = Path(tmp) / "word.arpa"
                build_lm([text], "word", 3, lm_path, alphabet=alphabet)
            lm = load_lm_timed(lm_path, "word LM")
            seconds = args.items * args.frames * SPEECH_EN_FRAME_SECONDS
            results += bench_set("random (speech-en sized)", items, alphabet, seconds,
                                 [LmRun("the word LM", lm, args.alpha, args.beta)], widths, args, texts)
        if "digits" in args.sets:
            model, items, seconds, references = model_outputs("speech-digits", args.digits_manifest,
                                                              args.digits_limit)
            train = args.digits_manifest.with_name("train.tsv")
            text = Path(tmp) / "digits.txt"
            from data_prep.manifest import scan_manifest

            text.write_text("\n".join(e.text for e in scan_manifest(train)[0]) + "\n", encoding="utf-8")
            build_lm([text], "word", 3, Path(tmp) / "digits.arpa")
            lm = load_lm_timed(Path(tmp) / "digits.arpa", "word LM")
            results += bench_set("digits (speech-digits on FSDD test)", items, model.alphabet, seconds,
                                 [LmRun("the word LM", lm, args.alpha, args.beta)], widths, args, references)
        if "speech-en" in args.sets:
            model, items, seconds, references = model_outputs("speech-en", args.speech_en_manifest,
                                                              args.speech_en_limit)
            shipped = model.bundle.decoder_config()
            alpha, beta = map(float, args.speech_en_word_weights.split(","))
            pruning = {"token_min_logp": shipped.token_min_logp, "beam_prune_logp": shipped.beam_prune_logp}
            runs = []
            for label, path, weights in (("its word LM", model.bundle.lm_dir / "word.arpa.gz", (alpha, beta)),
                                         ("its default LM", Path(shipped.lm), (shipped.alpha, shipped.beta))):
                runs.append(LmRun(f"{label} {path.name}", load_lm_timed(path, "speech-en"), *weights, **pruning))
            results += bench_set("speech-en on its held-out voices", items, model.alphabet, seconds, runs, widths,
                                 args, references)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
