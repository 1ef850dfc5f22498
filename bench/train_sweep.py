"""Benchmark: the original sweep trained the original's way (Keras `fit`) and ours, in one run.

    python bench/train_sweep.py --data ../shared/data/mnist.npz            # full sweep
    python bench/train_sweep.py --data ... --models 2 --max-epochs 3       # quick look

Ours = `core.sweep.run_sweep` (fast engine, one model per core) into a fresh
temporary cache, timed from the call to its return (worker start-up and
TensorFlow import included). Reference = the original notebook's loop: one
`model.fit` after another in this process, TensorFlow using every core. Both
start every model from the same seeded initial weights.

`--reference-batches same` (default) feeds `fit` the same shuffled batches as
ours, so the loss comparison measures the engines and nothing else.
`--reference-batches keras` lets `fit(shuffle=True)` shuffle with its own
generator, exactly as the original; then the final losses also differ by
the original's own run-to-run spread (up to ~7% here: early stopping ends a
few epochs earlier or later).

`--stacked` also trains the same models with `core.train.train_stacked` (all
in one compiled step, in this process, TensorFlow using every core or the GPU)
and reports it as another engine, timed without the TensorFlow import.

Each engine's achieved matmul rate is printed beside the rate of a plain
`tf.matmul` loop over the training shapes measured in the same run (in a
fresh single-threaded process, as the fast engine runs). An epoch of one model
counts 5 products of 2*B*784*196 FLOP per batch (forward X.W1 and h.W2,
backward dW2, dh and dW1) plus 2 of 2*n_test*784*196 for the test-set
evaluation. Prints a per-model table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core.config import ORIGINAL_LAMBDA_K, ModelConfig, SweepGrid, TrainConfig  # noqa: E402
from core.data import load_mnist  # noqa: E402
from core.store import ModelStore  # noqa: E402
from core.sweep import run_sweep  # noqa: E402


class Outcome(NamedTuple):
    """One trained model as the tables need it, whichever engine trained it."""

    last_epoch: int
    final_loss: float
    final_val_loss: float
    seconds: float


def epoch_flop(n_train: int, n_test: int, n_in: int = 784, n_hidden: int = 196) -> float:
    """Matrix-product FLOP of one epoch of one model: 5 products per training row, 2 per test row."""
    return 2.0 * n_in * n_hidden * (5 * n_train + 2 * n_test)


def matmul_rate(precision: str, models: int = 1, batch: int = 256, min_seconds: float = 0.5) -> float:
    """GFLOP/s of a plain loop over a training step's products in the training shapes, best of three.

    The five products of a training step, as the engine's graph runs them
    (the backward ones through transpose flags); `models` > 1 gives the
    stacked shapes: one wide encoder product and batched decoder products.
    """
    from core.train import import_tensorflow

    tf = import_tensorflow()
    dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
    n_in, n_hidden, k = 784, 196, models
    rng = np.random.default_rng(0)

    def rand(*shape):
        return tf.constant(rng.random(shape, dtype=np.float32), dtype)

    x, w1, dh_all = rand(batch, n_in), rand(n_in, k * n_hidden), rand(batch, k * n_hidden)
    lead = (k,) if k > 1 else ()  # one model: plain 2-D products, as `train` runs them
    h, w2, dy = rand(*lead, batch, n_hidden), rand(*lead, n_hidden, n_in), rand(*lead, batch, n_in)
    steps = 50  # long enough that the loop's start is noise, short enough to repeat

    @tf.function
    def loop():
        acc = tf.constant(0.0, tf.float32)
        for _ in tf.range(steps):
            products = (
                tf.matmul(x, w1),  # forward X.W1, all encoders
                tf.matmul(h, w2),  # forward h.W2
                tf.matmul(h, dy, transpose_a=True),  # dW2
                tf.matmul(dy, w2, transpose_b=True),  # dh
                tf.matmul(x, dh_all, transpose_a=True),  # dW1
            )
            # one element of each keeps every product alive at no cost
            acc += tf.add_n([tf.cast(tf.reshape(p, [-1])[0], tf.float32) for p in products])
        return acc

    loop()  # trace and warm up
    flop = steps * 5 * 2.0 * batch * n_in * n_hidden * k
    best = float("inf")
    for _ in range(3):
        reps, t0 = 0, time.perf_counter()
        while reps == 0 or time.perf_counter() - t0 < min_seconds:
            loop().numpy()
            reps += 1
        best = min(best, (time.perf_counter() - t0) / reps)
    return flop / best / 1e9


def measure_peaks(precisions: list[str], models: int, stacked: bool) -> dict:
    """Matmul rates from a fresh process pinned to one thread, as the fast engine's workers are."""
    cmd = [sys.executable, __file__, "--measure-matmul", "--models", str(models), "--precision", *precisions]
    cmd += ["--stacked"] if stacked else []
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _measure_matmul_main(precisions: list[str], models: int, stacked: bool) -> None:
    from core.train import import_tensorflow

    tf = import_tensorflow(threads=1)
    tf.config.experimental.enable_tensor_float_32_execution(False)  # float32 as the engines run it on a GPU
    peaks = {p: round(matmul_rate(p), 2) for p in precisions}
    stacked_peaks = {p: round(matmul_rate(p, models=models), 2) for p in precisions} if stacked else {}
    print(json.dumps({"peak": peaks, "stacked_peak": stacked_peaks}))


def rate_line(name: str, gflops: float, peak: float, precision: str, note: str = "") -> str:
    """The readable line: achieved rate and its share of the measured matmul rate."""
    short = "bf16" if precision == "bfloat16" else "float32"
    return f"{name}: {gflops:.1f} GFLOP/s = {gflops / peak:.0%} of the measured {short} matmul rate{note}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--models", type=int, default=len(ORIGINAL_LAMBDA_K), help="first N lambda_k of the sweep")
    ap.add_argument("--max-epochs", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument(
        "--precision",
        nargs="+",
        default=["bfloat16", "float32"],
        choices=("bfloat16", "float32"),
        help="fast-engine precisions to run (the first is the headline speedup)",
    )
    ap.add_argument("--reference-batches", choices=("same", "keras"), default="same")
    ap.add_argument("--stacked", action="store_true", help="also time train_stacked on the same models (for a GPU)")
    ap.add_argument("--measure-matmul", action="store_true", help=argparse.SUPPRESS)  # the peak-rate child process
    args = ap.parse_args()
    if args.measure_matmul:
        _measure_matmul_main(args.precision, args.models, args.stacked)
        return
    from joblib.externals.loky import get_reusable_executor

    data = load_mnist(args.data)
    lambdas = ORIGINAL_LAMBDA_K[: args.models]
    grid = SweepGrid(lambda_k=lambdas, lambda_a=(0.0,))
    # engine name -> (seconds from the call to its return, outcome per lambda_k)
    ours: dict[str, tuple[float, dict[float, Outcome]]] = {}
    for precision in args.precision:
        cfg = TrainConfig(max_epochs=args.max_epochs, precision=precision)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            results = run_sweep(grid, cfg, data, ModelStore(tmp), jobs=args.jobs, progress=False)
            seconds = time.perf_counter() - t0
        ours[f"fast_{precision}"] = (
            seconds,
            {r.lambda_k: Outcome(r.last_epoch, r.final_loss, r.final_val_loss, r.seconds) for r in results},
        )
        # each run pays its own worker start-up (TensorFlow import), as a user's sweep does
        get_reusable_executor().shutdown(wait=True)
        print(f"ours ({precision}): {seconds:.1f} s", flush=True)

    # the reference and the stacked step in this process, TensorFlow on every core as the original ran
    # (core.train pins every training process to TRAINING_THREADS, for the same bits whatever the jobs)
    from core.train import import_tensorflow

    import_tensorflow(threads=os.cpu_count())
    device = "every core"
    if args.stacked:
        from core.train import gpu_available, train_stacked

        # imports TensorFlow here, so no stacked timing includes the import
        device = "the GPU" if gpu_available() else "every core"
        for precision in args.precision:
            cfg = TrainConfig(max_epochs=args.max_epochs, precision=precision)
            t0 = time.perf_counter()
            results = train_stacked([ModelConfig(lambda_k=lk) for lk in lambdas], cfg, data)
            seconds = time.perf_counter() - t0
            ours[f"stacked_{precision}"] = (
                seconds,
                {lk: Outcome(r.last_epoch, r.loss[-1], r.val_loss[-1], r.seconds) for lk, r in zip(lambdas, results)},
            )
            print(f"stacked ({precision}, {len(lambdas)} models in one step): {seconds:.1f} s", flush=True)

    from core.model import init_weights
    from core.train import _train_keras

    order = "ours" if args.reference_batches == "same" else "keras"
    ref = {}
    t0 = time.perf_counter()
    for lk in lambdas:
        model_cfg, ref_cfg = ModelConfig(lambda_k=lk), TrainConfig(max_epochs=args.max_epochs, engine="keras")
        r = _train_keras(model_cfg, ref_cfg, data, init_weights(model_cfg, ref_cfg.seed), None, batch_order=order)
        ref[lk] = r
        print(f"reference lambda_k={lk:.3g}: {r.last_epoch + 1} epochs, {r.seconds:.1f} s", flush=True)
    ref_seconds = time.perf_counter() - t0

    labels = {
        "fast_bfloat16": "bf16",
        "fast_float32": "f32",
        "stacked_bfloat16": "st bf16",
        "stacked_float32": "st f32",
    }
    head = f"{'lambda_k':>9} {'lambda_a':>8} | {'ref ep':>6} {'ref train':>9} {'ref test':>9} {'ref s':>6}"
    for name in ours:
        head += f" | {labels[name] + ' ep':>10} {'train':>9} {'test':>9} {'s':>5} {'test diff':>9}"
    print(head)
    summary = {
        "models": len(lambdas),
        "reference_batches": args.reference_batches,
        "reference_seconds": round(ref_seconds, 1),
    }
    for name, (seconds, outcomes) in ours.items():
        diffs = [abs(outcomes[lk].final_val_loss / ref[lk].val_loss[-1] - 1) for lk in lambdas]
        epochs = [abs(outcomes[lk].last_epoch - ref[lk].last_epoch) for lk in lambdas]
        # the fast engine's entries keep their historical keys: the precision alone
        summary[name.removeprefix("fast_")] = {
            "seconds": round(seconds, 1),
            "speedup": round(ref_seconds / seconds, 2),
            "max_rel_test_loss_diff": round(max(diffs), 4),
            "max_epoch_diff": max(epochs),
        }
    for lk in lambdas:
        r = ref[lk]
        line = (
            f"{lk:>9.3g} {0:>8.3g} | {r.last_epoch + 1:>6} {r.loss[-1]:>9.6f} {r.val_loss[-1]:>9.6f} {r.seconds:>6.1f}"
        )
        for _, outcomes in ours.values():
            o = outcomes[lk]
            diff = o.final_val_loss / r.val_loss[-1] - 1
            line += f" | {o.last_epoch + 1:>10} {o.final_loss:>9.6f} {o.final_val_loss:>9.6f}"
            line += f" {o.seconds:>5.1f} {diff:>+9.2%}"
        print(line)

    # Achieved matmul rates: the FLOP of the epochs each model actually trained over
    # the engine's training time (the fast engine: the sum of its models' single-threaded
    # loops; the stacked engine: its one loop; Keras: its fits, on every core).
    per_epoch = epoch_flop(len(data.x_train), len(data.x_test))
    peak_precisions = sorted(set(args.precision) | {"float32"})
    measured = measure_peaks(peak_precisions, len(lambdas), args.stacked)
    peaks, stacked_peaks = measured["peak"], measured["stacked_peak"]

    def gflops(outcomes: list, seconds: float) -> float:
        return sum(o.last_epoch + 1 for o in outcomes) * per_epoch / seconds / 1e9

    rates = {"keras_float32": gflops(list(ref.values()), sum(r.seconds for r in ref.values()))}
    for name, (_, outcomes) in ours.items():
        times = [o.seconds for o in outcomes.values()]
        rates[name] = gflops(list(outcomes.values()), max(times) if name.startswith("stacked") else sum(times))
    for name, rate in rates.items():
        kind, precision = name.split("_")
        if kind == "fast":
            print(rate_line(f"fast engine {precision}", rate, peaks[precision], precision, " (one thread per model)"))
        elif kind == "stacked":
            note = f" (on {device}; {rate / stacked_peaks[precision]:.0%} of the same loop in the stacked shapes)"
            print(
                rate_line(
                    f"stacked engine {precision} ({len(lambdas)} models)", rate, peaks[precision], precision, note
                )
            )
        else:
            print(rate_line("keras fit float32", rate, peaks["float32"], "float32", " (fit uses every core)"))
    for precision in peak_precisions:
        print(f"measured matmul rate, one thread, training shapes, {precision}: {peaks[precision]:.1f} GFLOP/s")

    head_p = args.precision[0]
    summary |= {k: summary[head_p][k] for k in ("speedup", "max_rel_test_loss_diff", "max_epoch_diff")}
    summary["headline_precision"] = head_p
    summary["gflops"] = {name: round(rate, 2) for name, rate in rates.items()}
    summary["peak_gflops"] = peaks
    if args.stacked:
        summary["stacked_peak_gflops"] = stacked_peaks
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
