"""The process environment TensorFlow and XLA run in, set before TensorFlow is first used.

XLA's CPU compiler loads every compiled kernel as its own small in-memory object, and each
object takes three memory mappings (code, read-only data, data) that are never merged. A
process that reaches the kernel's limit (``vm.max_map_count``, 65,530 by default on Linux) dies
with "LLVM compilation error: Cannot allocate memory": speech-en's training did, in its second
epoch, when the fused LSTM's backward loop was recompiled for every new longest length (fixed
in :mod:`recognizer.bilstm`; compiles are now one per (batch, time) shape, a few dozen per
run). For long runs, and as a guard against the next such cause:

* a training process (:func:`configure_training`, run when :mod:`recognizer.training` is
  imported) has XLA emit a compiled function's kernels together (no per-fusion emitters, no
  split for parallel code generation): 2.7x fewer mappings per shape at the same training
  speed (``scripts/bench_train.py``). Inference keeps XLA's defaults: its bf16 path ran 15-25%
  slower with these flags (a very long inference job may want the raised limit too). The
  flags are added to ``XLA_FLAGS`` only on the TensorFlow versions where they were measured,
  because XLA aborts on a flag it does not know, and never over a flag the user set; XLA reads
  them at its first compile, so they apply to processes that train before they compile
  anything else;
* :func:`map_limit_warning`, which training prints when the limit looks too low for a long run.
"""
from __future__ import annotations

import os
from importlib import metadata

# (flag, value): kernels emitted and code-generated together rather than one object per fusion
# and per split part; each alone changes nothing measurable, together 90 mappings per new shape
# of 3 x BiLSTM(256) instead of 240, with compiles no slower
XLA_FEWER_MAPPINGS = (
    ("xla_cpu_use_fusion_emitters", "false"),
    ("xla_cpu_parallel_codegen_split_count", "1"),
)
# TensorFlow releases on which the flags above exist and were measured
XLA_FLAGS_VERIFIED = ("2.21",)
MAP_LIMIT_FILE = "/proc/sys/vm/max_map_count"
MAP_LIMIT_ADVISED = 262144


def tensorflow_version() -> str | None:
    for dist in ("tensorflow-cpu", "tensorflow", "tensorflow-intel", "tensorflow-macos"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def xla_flags(current: str, version: str | None) -> str:
    """``current`` XLA_FLAGS with the fewer-mappings flags added where they are known to exist."""
    if version is None or not version.startswith(XLA_FLAGS_VERIFIED):
        return current
    added = [f"--{name}={value}" for name, value in XLA_FEWER_MAPPINGS if name not in current]
    return " ".join([current.strip(), *added]).strip()


def configure(environ=os.environ) -> None:
    """Quiet TensorFlow's start-up chatter and keep oneDNN off (both overridable from the environment)."""
    environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def configure_training(environ=os.environ) -> None:
    """Add the fewer-mappings XLA flags for a training process (see the module docstring)."""
    flags = xla_flags(environ.get("XLA_FLAGS", ""), tensorflow_version())
    if flags:
        environ["XLA_FLAGS"] = flags


def map_limit_warning(path: str = MAP_LIMIT_FILE) -> str | None:
    """A one-line warning if this Linux machine's memory-map limit is low for a long training run."""
    try:
        limit = int(open(path).read().strip())
    except (OSError, ValueError):
        return None  # not Linux, or not readable: nothing to say
    if limit >= MAP_LIMIT_ADVISED:
        return None
    return (f"warning: vm.max_map_count is {limit}; XLA's compiled kernels can exhaust it in a long run "
            f"(the process then dies with 'Cannot allocate memory'; resume continues from the last "
            f"checkpoint). Raise it: sudo sysctl -w vm.max_map_count={MAP_LIMIT_ADVISED}")
