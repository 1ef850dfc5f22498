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
few epochs earlier or later). Prints a per-model table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import ORIGINAL_LAMBDA_K, ModelConfig, SweepGrid, TrainConfig  # noqa: E402
from core.data import load_mnist  # noqa: E402
from core.store import ModelStore  # noqa: E402
from core.sweep import run_sweep  # noqa: E402


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
    args = ap.parse_args()
    from joblib.externals.loky import get_reusable_executor

    data = load_mnist(args.data)
    lambdas = ORIGINAL_LAMBDA_K[: args.models]
    grid = SweepGrid(lambda_k=lambdas, lambda_a=(0.0,))
    ours = {}
    for precision in args.precision:
        cfg = TrainConfig(max_epochs=args.max_epochs, precision=precision)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            results = run_sweep(grid, cfg, data, ModelStore(tmp), jobs=args.jobs, progress=False)
            ours[precision] = (time.perf_counter() - t0, {r.lambda_k: r for r in results})
        # each run pays its own worker start-up (TensorFlow import), as a user's sweep does
        get_reusable_executor().shutdown(wait=True)
        print(f"ours ({precision}): {ours[precision][0]:.1f} s", flush=True)

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

    head = f"{'lambda_k':>9} {'lambda_a':>8} | {'ref ep':>6} {'ref train':>9} {'ref test':>9} {'ref s':>6}"
    for p in args.precision:
        head += f" | {p[:4] + ' ep':>7} {'train':>9} {'test':>9} {'s':>5} {'test diff':>9}"
    print(head)
    summary = {
        "models": len(lambdas),
        "reference_batches": args.reference_batches,
        "reference_seconds": round(ref_seconds, 1),
    }
    for p in args.precision:
        diffs = [abs(ours[p][1][lk].final_val_loss / ref[lk].val_loss[-1] - 1) for lk in lambdas]
        epochs = [abs(ours[p][1][lk].last_epoch - ref[lk].last_epoch) for lk in lambdas]
        summary[p] = {
            "seconds": round(ours[p][0], 1),
            "speedup": round(ref_seconds / ours[p][0], 2),
            "max_rel_test_loss_diff": round(max(diffs), 4),
            "max_epoch_diff": max(epochs),
        }
    for lk in lambdas:
        r = ref[lk]
        line = (
            f"{lk:>9.3g} {0:>8.3g} | {r.last_epoch + 1:>6} {r.loss[-1]:>9.6f} {r.val_loss[-1]:>9.6f} {r.seconds:>6.1f}"
        )
        for p in args.precision:
            o = ours[p][1][lk]
            diff = o.final_val_loss / r.val_loss[-1] - 1
            line += f" | {o.last_epoch + 1:>7} {o.final_loss:>9.6f} {o.final_val_loss:>9.6f}"
            line += f" {o.seconds:>5.1f} {diff:>+9.2%}"
        print(line)
    head_p = args.precision[0]
    summary |= {k: summary[head_p][k] for k in ("speedup", "max_rel_test_loss_diff", "max_epoch_diff")}
    summary["headline_precision"] = head_p
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
