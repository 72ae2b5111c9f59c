"""Language models for decoding: n-gram models (ARPA), their training, tokens, and word tries.

>>> from recognizer.lm import NgramModel, build_kneser_ney
>>> model, summary = build_kneser_ney([["the", "cat"], ["the", "dog"]], order=2)
>>> round(10 ** model.log10_prob("cat", ["the"]), 3)
0.5...

Nothing here imports TensorFlow.
"""
from recognizer.lm.kneser_ney import build_kneser_ney
from recognizer.lm.ngram import NgramModel, NgramOrder

__all__ = ["NgramModel", "NgramOrder", "build_kneser_ney"]
