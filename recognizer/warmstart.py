"""Warm start: a trained bundle's network carried over to another alphabet.

Only the output layer depends on the alphabet (one unit per character plus the blank); every
other layer is copied as it is. In the output layer (``head``, a Dense layer with kernel
``(D, V)`` and bias ``(V,)``) each label of the new alphabet takes the kernel column and bias of
the *same character* in the old one, so shared characters start exactly as trained whatever
their new ids; the blank (id 0) keeps its own; removed characters' units are dropped.

A new character's unit starts the way the layer's own initialiser would start it: kernel column
drawn from Glorot uniform over the new layer's fan-in and fan-out (Keras' Dense default), so its
logit starts small next to the trained characters' and does not disturb what the model already
reads; its bias is the mean bias of the old non-blank labels, so it starts with the prior of a
typical trained character instead of an arbitrary one (a trained head's biases are not zero).
The draw is seeded, so a run is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizer.alphabet import BLANK, Alphabet
from recognizer.bundle import Bundle, build_bundle


@dataclass(frozen=True)
class AlphabetChange:
    """How a model's alphabet (``old``) becomes the fine-tuning alphabet (``new``)."""

    old: Alphabet
    new: Alphabet

    @property
    def added(self) -> tuple[str, ...]:
        return tuple(c for c in self.new.chars if c not in self.old)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(c for c in self.old.chars if c not in self.new)

    @property
    def kept(self) -> tuple[str, ...]:
        return tuple(c for c in self.new.chars if c in self.old)

    @property
    def unchanged(self) -> bool:
        return self.old == self.new

    def source_ids(self) -> np.ndarray:
        """For each new id (blank included), the old id carrying the same label, or -1 if new."""
        ids = [BLANK] + [self.old.index(c) if c in self.old else -1 for c in self.new.chars]
        return np.array(ids, dtype=np.int64)

    def describe(self) -> str:
        """One line for the log: what was kept, added and removed."""
        if self.unchanged:
            return f"alphabet unchanged ({len(self.new)} characters)"
        parts = [f"alphabet {len(self.old)} -> {len(self.new)} characters: {len(self.kept)} kept with their "
                 "trained weights"]
        if self.added:
            parts.append(f"{len(self.added)} added, starting fresh: {_listed(self.added)}")
        if self.removed:
            parts.append(f"{len(self.removed)} removed (not in the training data): {_listed(self.removed)}")
        if not self.added and not self.removed:
            parts.append("reordered")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return {"kept": len(self.kept), "added": list(self.added), "removed": list(self.removed)}


def _listed(chars: tuple[str, ...]) -> str:
    return " ".join(repr(c) for c in chars)


def remap_head(kernel: np.ndarray, bias: np.ndarray, change: AlphabetChange,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The output layer's weights for ``change.new`` from those for ``change.old`` (see module doc)."""
    if kernel.shape[1] != change.old.size or bias.shape != (change.old.size,):
        raise ValueError(f"output layer has {kernel.shape[1]} units, the alphabet needs {change.old.size}")
    source = change.source_ids()
    fan_in, fan_out = kernel.shape[0], change.new.size
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    new_kernel = rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(kernel.dtype)
    old_chars = bias[1:]
    new_bias = np.full(fan_out, old_chars.mean() if old_chars.size else 0.0, dtype=bias.dtype)
    shared = source >= 0
    new_kernel[:, shared] = kernel[:, source[shared]]
    new_bias[shared] = bias[source[shared]]
    return new_kernel, new_bias


def warm_start(base: Bundle, alphabet: Alphabet, seed: int = 0, **bundle_fields) -> tuple[Bundle, AlphabetChange]:
    """A new bundle for ``alphabet`` with ``base``'s features, network and trained weights.

    Build it inside a ``tf.distribute`` strategy's scope to train it there. ``bundle_fields``
    (``name``, ``training``) go to the new bundle.
    """
    change = AlphabetChange(base.alphabet, alphabet)
    bundle = build_bundle(base.features, alphabet, base.model_config, **bundle_fields)
    old_layers = {layer.name: layer for layer in base.model.layers}
    for layer in bundle.model.layers:
        if not layer.weights:
            continue
        old = old_layers[layer.name]
        if layer.name == "head":
            kernel, bias = old.get_weights()
            layer.set_weights(list(remap_head(kernel, bias, change, np.random.default_rng(seed))))
        else:
            layer.set_weights(old.get_weights())
    return bundle, change
