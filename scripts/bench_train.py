#!/usr/bin/env python3
"""Training and inference throughput of the BiLSTM stack: ours ("fused"), stock Keras, PyTorch.

All three are measured in ONE run, interleaved round by round (fused, keras, torch, fused, ...),
so that load from anything else on the machine hits them alike; each number is the median over
all timed steps of all rounds.

Configurations (issue 1 / 1.5):

* speech (the reference): 80 log-mel features, conv1d front-end (256, 256) with strides (2, 2),
  3 x BiLSTM(256), 30 classes, sparse CTC, Adam, batch 16 x 400 frames;
* handwriting: 32 features (column height), conv1d (128,) stride (2,), 2 x BiLSTM(128),
  batch 32 x 300 columns.

Reported: training input frames (columns) per second, forward-only inference frames per second
and, for speech, the real-time factor (compute seconds / audio seconds, 10 ms frames), and the
ratios fused / keras and fused / torch. ``"auto"`` (what bundles use) is ``fused`` in training
and, on a CPU with native bfloat16, ``fused_bf16`` in inference; the header says which.
Inference runs at the training batch unless ``--infer-batch`` says otherwise (the inference API
batches up to 32 inputs: ``recognizer.inference.Recognizer``, ``max_batch``).

TensorFlow runs as ``import recognizer`` sets it up (``--onednn package``: oneDNN off unless
``TF_ENABLE_ONEDNN_OPTS`` is set), so the numbers are what the package's users get.

The PyTorch peer (2.13 CPU) lives in its own virtual environment, never in the package's: by
default ``build/venv-bench-torch`` (git-ignored), created on first use with
``pip install torch==2.13.0 numpy`` (``--torch-venv`` to choose another, ``--no-torch`` to skip).
It runs as a long-lived subprocess of this script (``--torch-worker``) that measures on request and
answers in JSON, which is how the rounds interleave.

    python scripts/bench_train.py                 # full run (a few minutes on 2 cores)
    python scripts/bench_train.py --quick         # tiny sizes: a smoke test
    python scripts/bench_train.py --configs speech --no-train --no-torch --rounds 8   # inference
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TORCH_VENV = ROOT / "build" / "venv-bench-torch"

CONFIGS = {
    # name: features, conv channels, conv strides, lstm units, lstm layers, classes, batch, frames
    "speech": dict(features=80, channels=(256, 256), strides=(2, 2), units=256, layers=3,
                   classes=30, batch=16, frames=400, unit="frames"),
    "handwriting": dict(features=32, channels=(128,), strides=(2,), units=128, layers=2,
                        classes=80, batch=32, frames=300, unit="columns"),
}
KERNEL = 5
DROPOUT = 0.1
LABEL_FRACTION = 0.1  # labels per input frame: 40 labels for 400 frames (T' = 100 after /4)


def make_batch(rng, cfg, batch=None):
    """Random features, full lengths, random labels (1..C-1) of a fixed length."""
    import numpy as np

    B, T, F = batch or cfg["batch"], cfg["frames"], cfg["features"]
    feats = rng.standard_normal((B, T, F)).astype("float32")
    lengths = np.full((B,), T, dtype="int32")
    n_lab = max(1, int(T * LABEL_FRACTION))
    labels = rng.integers(1, cfg["classes"], size=(B, n_lab)).astype("int32")
    return feats, lengths, labels


# ----------------------------------------------------------------------------------------------
# PyTorch worker (runs inside the torch venv; imports no TensorFlow and nothing of the package)


def torch_worker():
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            blocks, c_in = [], cfg["features"]
            for c, s in zip(cfg["channels"], cfg["strides"]):
                blocks.append(nn.ModuleDict(dict(conv=nn.Conv1d(c_in, c, KERNEL, stride=s, padding=KERNEL // 2),
                                                 norm=nn.LayerNorm(c))))
                c_in = c
            self.blocks = nn.ModuleList(blocks)
            self.lstm = nn.LSTM(c_in, cfg["units"], num_layers=cfg["layers"], bidirectional=True,
                                batch_first=True, dropout=DROPOUT)
            self.drop = nn.Dropout(DROPOUT)
            self.head = nn.Linear(2 * cfg["units"], cfg["classes"])

        def forward(self, x):  # (B, T, F)
            for b in self.blocks:
                x = torch.relu(b["norm"](b["conv"](x.transpose(1, 2)).transpose(1, 2)))
            x, _ = self.lstm(x)
            return torch.log_softmax(self.head(self.drop(x)), dim=-1)

    models = {}

    def setup(name, cfg):
        rng = np.random.default_rng(0)
        feats, lengths, labels = make_batch(rng, cfg)
        net = Net(cfg)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        ctc = nn.CTCLoss(blank=0, zero_infinity=True)
        x = torch.from_numpy(feats)
        y = torch.from_numpy(labels).long()
        out_len = int(lengths[0])
        for s in cfg["strides"]:
            out_len = -(-out_len // s)
        in_lens = torch.full((cfg["batch"],), out_len, dtype=torch.long)
        lab_lens = torch.full((cfg["batch"],), labels.shape[1], dtype=torch.long)

        def train():
            net.train()
            opt.zero_grad(set_to_none=True)
            logp = net(x)
            loss = ctc(logp.transpose(0, 1), y, in_lens, lab_lens)
            loss.backward()
            opt.step()
            return loss.item()

        x_infer = torch.from_numpy(make_batch(np.random.default_rng(1), cfg, cfg["infer_batch"])[0])

        def infer():
            net.eval()
            with torch.inference_mode():
                return float(net(x_infer)[0, 0, 0])

        models[name] = dict(train=train, infer=infer)

    for line in sys.stdin:
        req = json.loads(line)
        if req["cmd"] == "setup":
            setup(req["name"], req["cfg"])
            out = {"ok": True, "threads": torch.get_num_threads(), "version": torch.__version__}
        elif req["cmd"] == "time":
            fn = models[req["name"]][req["mode"]]
            times = []
            for _ in range(req["steps"]):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            out = {"times": times}
        else:
            break
        print(json.dumps(out), flush=True)


class TorchPeer:
    def __init__(self, venv: Path, omp_wait: str):
        python = venv / "bin" / "python"
        if not python.exists():
            print(f"creating the PyTorch peer's venv in {venv} (pip install torch==2.13.0 numpy) ...",
                  file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0", "numpy"], check=True)
        env = dict(os.environ)
        if omp_wait != "default":
            env["OMP_WAIT_POLICY"] = omp_wait.upper()
        self.proc = subprocess.Popen([str(python), __file__, "--torch-worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the PyTorch worker died")
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.close()
        except Exception:
            pass
        self.proc.wait(timeout=30)


# ----------------------------------------------------------------------------------------------
# TensorFlow side


def tf_contestant(name, cfg, impl):
    import keras
    import numpy as np
    import tensorflow as tf

    from recognizer.model import ModelConfig, build_model

    keras.utils.set_random_seed(0)
    mc = ModelConfig(frontend="conv1d", conv_channels=cfg["channels"], conv_kernel=KERNEL,
                     conv_strides=cfg["strides"], lstm_units=cfg["units"], lstm_layers=cfg["layers"],
                     dropout=DROPOUT, lstm_impl=impl)
    model = build_model(cfg["features"], cfg["classes"], mc)
    opt = keras.optimizers.Adam(1e-3)
    rng = np.random.default_rng(0)
    feats, lengths, labels = make_batch(rng, cfg)
    feats, lengths = tf.constant(feats), tf.constant(lengths)
    label_lengths = tf.fill([cfg["batch"]], labels.shape[1])
    sparse = tf.sparse.from_dense(tf.constant(labels))  # labels are 1..C-1, never 0

    @tf.function
    def train_step(x, n, y, ny):
        with tf.GradientTape() as tape:
            logp, out_len = model(x, n, training=True)
            loss = tf.reduce_mean(tf.nn.ctc_loss(y, logp, ny, out_len, logits_time_major=False, blank_index=0))
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        opt.apply_gradients(zip(grads, variables))
        return loss

    @tf.function
    def infer_step(x, n):
        return model(x, n, training=False)[0]

    infer_feats, infer_lengths, _ = make_batch(np.random.default_rng(1), cfg, cfg["infer_batch"])
    infer_feats, infer_lengths = tf.constant(infer_feats), tf.constant(infer_lengths)

    def train():
        return float(train_step(feats, lengths, sparse, label_lengths))

    def infer():
        return float(infer_step(infer_feats, infer_lengths)[0, 0, 0])

    return dict(train=train, infer=infer)


def time_fn(fn, steps):
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=8, help="timed steps per contestant per round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--batch", type=int, help="batch size of the speech configuration (default 16)")
    ap.add_argument("--frames", type=int, help="frames per input of the speech configuration (default 400)")
    ap.add_argument("--infer-batch", type=int, help="inference batch of the speech configuration (default: --batch)")
    ap.add_argument("--configs", default="speech,handwriting")
    ap.add_argument("--impls", default="fused,fused_bf16,keras", help="our BiLSTMStack implementations to time")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke test")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    ap.add_argument("--no-infer", action="store_true", help="training only")
    ap.add_argument("--no-train", action="store_true", help="inference only")
    ap.add_argument("--torch-venv", type=Path, default=DEFAULT_TORCH_VENV)
    ap.add_argument("--torch-omp-wait", choices=["passive", "active", "default"], default="passive",
                    help="OMP_WAIT_POLICY of the PyTorch peer. Default passive: when other jobs share the "
                         "cores, OpenMP's spinning barriers (the default) slow PyTorch 10-100x on this "
                         "machine; passive costs it little on an idle machine")
    ap.add_argument("--verbose", action="store_true", help="print every step's time")
    ap.add_argument("--warmup", type=int, default=4, help="untimed steps per contestant and mode")
    ap.add_argument("--intra-threads", type=int, default=0, help="TensorFlow intra-op threads (0: one per core)")
    ap.add_argument("--inter-threads", type=int, default=0, help="TensorFlow inter-op threads (0: one per core)")
    ap.add_argument("--onednn", choices=["package", "on", "off"], default="package",
                    help="TensorFlow's oneDNN kernels: as `import recognizer` leaves them (default), or forced")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.torch_worker:
        return torch_worker()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.onednn != "package":
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if args.onednn == "on" else "0"
    sys.path.insert(0, str(ROOT))
    import recognizer  # noqa: F401  (before TensorFlow: the package's environment defaults apply)

    configs = {k: dict(CONFIGS[k]) for k in args.configs.split(",")}
    if args.batch:
        configs.get("speech", {})["batch"] = args.batch
    if args.frames:
        configs.get("speech", {})["frames"] = args.frames
    if args.quick:
        args.steps, args.rounds = 2, 1
        for cfg in configs.values():
            cfg.update(batch=2, frames=48, units=16, channels=tuple(16 for _ in cfg["channels"]))
    for name, cfg in configs.items():
        cfg["infer_batch"] = (args.infer_batch if name == "speech" and args.infer_batch and not args.quick
                              else cfg["batch"])
    impls = args.impls.split(",")
    modes = [m for m, skip in (("train", args.no_train), ("infer", args.no_infer)) if not skip]

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.intra_threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_threads)
    load_before = os.getloadavg()
    torch_peer = None if args.no_torch else TorchPeer(args.torch_venv, args.torch_omp_wait)
    contestants = {}  # (config, who) -> dict(train=, infer=)
    info = {}
    for cname, cfg in configs.items():
        for impl in impls:
            contestants[(cname, impl)] = tf_contestant(cname, cfg, impl)
        if torch_peer:
            info["torch"] = torch_peer.ask(cmd="setup", name=cname, cfg=cfg)
            contestants[(cname, "torch")] = {
                m: (lambda steps, m=m, c=cname: torch_peer.ask(cmd="time", name=c, mode=m, steps=steps)["times"])
                for m in modes
            }

    def measure(key, mode, steps):
        fn = contestants[key][mode]
        if key[1] == "torch":
            return fn(steps)
        return time_fn(fn, steps)

    # Warm-up: compile (tf.function tracing, XLA) and let allocators settle; not timed.
    for key in contestants:
        for mode in modes:
            measure(key, mode, args.warmup)

    times = {(key, mode): [] for key in contestants for mode in modes}
    for r in range(args.rounds):
        for cname in configs:
            for mode in modes:
                for key in [k for k in contestants if k[0] == cname]:
                    time.sleep(0.2)  # let the previous contestant's spinning threads park
                    t = measure(key, mode, args.steps)
                    times[(key, mode)] += t
                    if args.verbose:
                        print(f"  {key} {mode}: " + " ".join(f"{x:.3f}" for x in t), file=sys.stderr)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    if torch_peer:
        torch_peer.close()

    results = []
    from recognizer.bilstm import resolve_implementation

    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default")
    print(f"TensorFlow {tf.__version__}, torch {info.get('torch', {}).get('version', '-')}, "
          f"{os.cpu_count()} CPUs; median of {args.rounds} rounds x {args.steps} steps, interleaved")
    print(f"TF_ENABLE_ONEDNN_OPTS={onednn}; auto = {resolve_implementation('auto')} in training, "
          f"{resolve_implementation('auto', training=False)} in inference")
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f}"
          + ("" if args.no_torch else f"; torch OMP_WAIT_POLICY {args.torch_omp_wait}"))
    if max(load_before[0], load_after[0]) > (os.cpu_count() or 1):
        print("WARNING: other jobs were using the cores; absolute numbers are low, ratios are noisier")
    for cname, cfg in configs.items():
        T, unit = cfg["frames"], cfg["unit"]
        print(f"\n{cname}: batch {cfg['batch']} x {T} {unit} x {cfg['features']}, conv {cfg['channels']} strides "
              f"{cfg['strides']}, {cfg['layers']} x BiLSTM({cfg['units']}), {cfg['classes']} classes")
        for mode in modes:
            B = cfg["batch"] if mode == "train" else cfg["infer_batch"]
            rates = {}
            for key in [k for k in contestants if k[0] == cname]:
                med = statistics.median(times[(key, mode)])
                rates[key[1]] = B * T / med
                row = dict(config=cname, mode=mode, who=key[1], batch=B, median_s=med, per_s=B * T / med)
                if cname == "speech":
                    row["rtf"] = med / (B * T * 0.01)
                results.append(row)
            label = "training" if mode == "train" else f"inference (forward only, batch {B})"
            print(f"  {label}, input {unit}/s:")
            for who, rate in rates.items():
                extra = ""
                if cname == "speech" and mode == "infer":
                    extra = f"   RTF {B * T / rate / (B * T * 0.01):.5f}"
                print(f"    {who:10s} {rate / 1000:8.2f} k{extra}")
            ours = [w for w in rates if w.startswith("fused")]
            for mine in ours:
                for base in [w for w in rates if w not in ours]:
                    print(f"    {mine} / {base}: {rates[mine] / rates[base]:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(main())
