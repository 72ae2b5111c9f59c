#!/usr/bin/env python3
"""Build the language models a bundle ships in its ``lm/`` folder, from general English text.

Text: the prose collections of Debian's ``fortunes`` cut into sentences
(:mod:`data_prep.english_text`), in their spoken form for speech models (lowercase letters,
apostrophe, space: numbers as words) or as written for handwriting models; licence texts are never
used. Sentences that are, or contain, transcripts of the bundle's dev or test manifests
(``--exclude``) are dropped, so an LM never knows the evaluation data. Written into ``--out``:

* ``word.arpa.gz``: a word n-gram model (``--word-order``, default 3);
* ``char.arpa.gz``: a character n-gram model (``--char-order``, default 7);
* ``lexicon.txt.gz``: the words of the text and of the ``wamerican`` word list that the bundle's
  alphabet can spell (for ``--lexicon``);
* ``decoder.json``: beam search with the word LM (alpha 0.5, beta 1.0 until ``lm tune`` picks);
* ``sources.json``: where the text came from, and how much of it.

    python scripts/build_lms.py --model speech-en --form spoken --exclude data/speech-en/dev.tsv data/speech-en/test.tsv
    recognizer lm tune --model speech-en data/speech-en/dev.tsv

then put the tuned greedy and LM scores of the test set side by side in the model card.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIN_EXCLUDED_PART = 12  # characters: a dev/test transcript this long inside a sentence drops it


def english_sentences(form: str, fortunes: str) -> list[str]:
    from data_prep.english_text import fortune_records, sentences, spoken_form

    written = sentences(fortune_records(fortunes))
    if form == "written":
        return written
    spoken = (spoken_form(s) for s in written)
    return [s for s in spoken if s]


def excluded_texts(manifests: list[str], alphabet) -> set[str]:
    from data_prep.manifest import scan_manifest

    texts: set[str] = set()
    for manifest in manifests:
        entries, _ = scan_manifest(manifest)
        texts.update(alphabet.normalise(e.text) for e in entries)
    return texts


def held_out_filter(texts: set[str], shortest: int = MIN_EXCLUDED_PART):
    """A test: is a sentence one of ``texts``, or does it hold one of at least ``shortest`` characters?

    Handwriting test lines are pieces of sentences (``line_texts.chunks``), so an LM that kept the
    whole sentence would know the line; a short piece ("the end") is too common to drop for.
    """
    long_parts = [t for t in texts if len(t) >= shortest]
    return lambda sentence: sentence in texts or any(t in sentence for t in long_parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="bundle name or folder (its alphabet decides what is kept)")
    ap.add_argument("--form", choices=("spoken", "written"), required=True,
                    help="spoken: numbers as words, no punctuation (speech); written: as printed (handwriting)")
    ap.add_argument("--out", type=Path, help="folder for the LMs (default: the bundle's lm/)")
    ap.add_argument("--exclude", nargs="*", default=[], metavar="MANIFEST",
                    help="manifests whose transcripts must not be in the LM text (dev, test)")
    ap.add_argument("--word-order", type=int, default=3)
    ap.add_argument("--char-order", type=int, default=7)
    ap.add_argument("--fortunes", default="/usr/share/games/fortunes")
    ap.add_argument("--words", default="/usr/share/dict/words", help="word list for the lexicon")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    from recognizer.alphabet import Alphabet
    from recognizer.bundle import LM_DIR, read_config, resolve
    from recognizer.decoder_config import DecoderConfig
    from recognizer.lm.build import build_lm
    from recognizer.lm.lexicon import spell
    from recognizer.lm.textfile import open_text
    from recognizer.lm.tokens import word_tokens

    bundle = resolve(args.model)
    alphabet = Alphabet.from_dict(read_config(bundle)["alphabet"])
    out = args.out or bundle / LM_DIR
    out.mkdir(parents=True, exist_ok=True)

    sentences = english_sentences(args.form, args.fortunes)
    held_out = held_out_filter(excluded_texts(args.exclude, alphabet))
    kept = [s for s in sentences if not held_out(alphabet.normalise(s))]
    text = out / "text.txt"
    text.write_text("\n".join(kept) + "\n", encoding="utf-8")
    print(f"{len(kept)} sentences ({len(sentences) - len(kept)} dropped for holding dev/test transcripts)",
          file=sys.stderr)

    summaries = {}
    for unit, order in (("word", args.word_order), ("char", args.char_order)):
        summaries[unit] = build_lm([text], unit, order, out / f"{unit}.arpa.gz", alphabet=alphabet)
        counts = ", ".join(str(n) for n in summaries[unit]["ngrams"])
        print(f"{out / f'{unit}.arpa.gz'}: order {order}, n-grams {counts}", file=sys.stderr)

    words = set()
    for sentence in kept:
        words.update(word_tokens(alphabet.normalise(sentence)))
    with open(args.words, encoding="utf-8", errors="replace") as handle:
        words.update(alphabet.normalise(w.strip()) for w in handle if "'s" not in w)
    lexicon = sorted(w for w in words if spell(w, alphabet) is not None)
    with open_text(out / "lexicon.txt.gz", "w") as handle:
        handle.write("\n".join(lexicon) + "\n")
    text.unlink()  # the ARPA files and sources.json say what it was; it is rebuilt from the sources

    config = DecoderConfig(decoder="beam", lm="word.arpa.gz", alpha=0.5, beta=1.0)
    (out / "decoder.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    sources = {"form": args.form, "fortunes": args.fortunes, "word_list": args.words,
               "sentences": len(kept), "excluded_manifests": args.exclude, "lexicon_words": len(lexicon),
               "models": {u: {k: s[k] for k in ("order", "sentences", "tokens", "vocabulary", "ngrams", "discounts")}
                          for u, s in summaries.items()}}
    (out / "sources.json").write_text(json.dumps(sources, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}; next: recognizer lm tune --model {args.model} DEV_MANIFEST", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
