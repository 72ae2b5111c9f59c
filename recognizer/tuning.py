"""``recognizer lm tune``: the language-model weight alpha and the token bonus beta, chosen on a
dev manifest by grid search.

The network runs once over the dev set; every (alpha, beta) pair then only re-decodes its
outputs, with the LM, lexicon and tries loaded once. The best pair has the lowest WER (ties: lower
CER, then the smaller alpha, then the smaller beta); greedy decoding is scored alongside, so
the gain from the LM is visible. :func:`write_decoder` stores the choice in the bundle's
``lm/decoder.json``, copying the LM (and lexicon) into ``lm/`` when they live elsewhere.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from data_prep.manifest import scan_manifest
from recognizer.bundle import write_json_atomic
from recognizer.decoder_config import DECODER_FILE, LM_DIR, DecoderConfig, make_decoder
from recognizer.decoding import GreedyDecoder
from recognizer.inference import Recognizer, read_error
from recognizer.metrics import cer, wer

DEFAULT_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
DEFAULT_BETAS = (-1.0, 0.0, 0.5, 1.0, 2.0, 3.0)


@dataclass
class Score:
    alpha: float | None  # None: greedy decoding
    beta: float | None
    cer: float
    wer: float

    def key(self):
        return (self.wer, self.cer, self.alpha or 0.0, self.beta or 0.0)


@dataclass
class TuneReport:
    greedy: Score
    grid: list[Score]
    best: Score
    samples: int
    failed: list[str]


def tune(recognizer: Recognizer, manifest: str | os.PathLike, config: DecoderConfig,
         alphas=DEFAULT_ALPHAS, betas=DEFAULT_BETAS, progress: bool = False) -> TuneReport:
    """Score every (alpha, beta) of the grid with ``config``'s beam, LM and lexicon on ``manifest``."""
    if not config.lm:
        raise ValueError("nothing to tune: no language model (give --lm, or a bundle with lm/decoder.json)")
    entries, problems = scan_manifest(manifest)
    failed = [str(p) for p in problems]
    seqs, refs = {}, {}
    for i, entry in enumerate(entries):
        try:
            seqs[i] = recognizer.featurise(entry.path)
        except Exception as error:  # noqa: BLE001 (as in inference: an unreadable input is reported, not fatal)
            failed.append(read_error(entry.path, error))
            continue
        refs[i] = recognizer.alphabet.normalise(entry.text)
    if not seqs:
        raise ValueError(f"{manifest}: no usable samples")
    outputs = recognizer.log_probs(seqs)
    keys = sorted(outputs)
    references = [refs[k] for k in keys]

    def score(decoder, alpha, beta) -> Score:
        texts = [decoder.decode(outputs[k]).text for k in keys]
        return Score(alpha, beta, cer(references, texts).rate, wer(references, texts).rate)

    greedy = score(GreedyDecoder(recognizer.alphabet), None, None)
    beam = make_decoder(replace(config, decoder="beam", nbest=1), recognizer.alphabet)
    grid = []
    from tqdm import tqdm

    pairs = [(a, b) for a in alphas for b in betas]
    for alpha, beta in tqdm(pairs, disable=not progress, unit="pair", leave=False):
        grid.append(score(beam.with_weights(alpha, beta), float(alpha), float(beta)))
    best = min(grid, key=Score.key)
    return TuneReport(greedy, grid, best, len(keys), failed)


def write_decoder(bundle_path: str | os.PathLike, config: DecoderConfig) -> Path:
    """Store ``config`` as the bundle's default decoding (``lm/decoder.json``); files it names that
    are not in ``lm/`` yet are copied there, and the stored paths are relative to ``lm/``."""
    folder = Path(bundle_path) / LM_DIR
    folder.mkdir(exist_ok=True)

    def into_folder(path: str | None) -> str | None:
        if path is None:
            return None
        source = Path(path).resolve()
        target = folder / source.name
        if source != target.resolve():
            shutil.copyfile(source, target)
        return source.name

    stored = replace(config, lm=into_folder(config.lm), lexicon=into_folder(config.lexicon))
    path = folder / DECODER_FILE
    write_json_atomic(path, stored.to_dict())
    return path
