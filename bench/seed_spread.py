"""Benchmark: the original procedure's own spread, the original sweep under several seeds.

    python bench/seed_spread.py --data ../shared/data/mnist.npz              # 5 seeds, into models_cache/
    python bench/seed_spread.py --data ... --seeds 3 --max-epochs 5 --cache-dir /tmp/c   # quick look

The original reports one run per lambda_k. Each seed here changes the initial
weights and every epoch's batch order (`TrainConfig.seed`), and early stopping
on the noisy test loss then ends a few epochs earlier or later. For each
lambda_k of the original sweep (lambda_a = 0) this trains the cell once per
seed (cells already in the cache are reused, so a rerun only prints) and
prints the mean, min and max of the final test loss (`history['val_loss'][-1]`,
what the original plots) and of the stopping epoch (`max(history.epoch)`),
and the spread (max - min) / mean. Last line: one JSON object with the same.

The entries go into the dashboard's cache by default, where the overview
draws the seeds' min-max as a band around the shown (seed 0) model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core.config import ORIGINAL_LAMBDA_K, SweepGrid, TrainConfig, same_lambda  # noqa: E402
from core.data import load_mnist  # noqa: E402
from core.store import ModelStore  # noqa: E402
from core.sweep import run_sweep  # noqa: E402


def runs(store: ModelStore, lambda_k: float, configs: dict[int, dict]) -> dict[int, dict]:
    """seed -> the history of the newest intact entry of (lambda_k, 0) trained with that seed's config."""
    out: dict[int, dict] = {}
    for e in store.index():
        k, a = e.cell
        if not (same_lambda(k, lambda_k) and a == 0):
            continue
        for seed, cfg in configs.items():
            if e.config.get("train") == cfg:
                old = out.get(seed)
                if old is None or e.history.get("finished_at", "") > old.get("finished_at", ""):
                    out[seed] = e.history
    return out


def stats(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--cache-dir", default=None, help="default: models_cache/ (or $MODELS_CACHE)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 (default 5)")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--max-epochs", type=int, default=TrainConfig().max_epochs)
    ap.add_argument("--models", type=int, default=len(ORIGINAL_LAMBDA_K), help="the first N lambda_k of the sweep")
    ap.add_argument("--report-only", action="store_true", help="train nothing: the table of the seeds cached so far")
    args = ap.parse_args()

    store = ModelStore(args.cache_dir)
    lambda_k = ORIGINAL_LAMBDA_K[: args.models]
    grid = SweepGrid(lambda_k, (0.0,))
    configs = {s: TrainConfig(seed=s, max_epochs=args.max_epochs) for s in range(args.seeds)}
    if not args.report_only:
        data = load_mnist(args.data)
        t = time.perf_counter()
        for seed, cfg in configs.items():
            run_sweep(grid, cfg, data, store, jobs=args.jobs, progress=False)
            print(f"seed {seed}: trained or found ({time.perf_counter() - t:.0f} s so far)", file=sys.stderr)
    dicts = {s: c.to_dict() for s, c in configs.items()}

    rows = []
    for k in lambda_k:
        got = runs(store, k, dicts)
        missing = sorted(set(dicts) - set(got))
        if missing and not args.report_only:
            raise SystemExit(f"lambda_k={k:g}: no model for seeds {missing} (training failed?)")
        if len(got) < 2:
            continue  # --report-only: not enough seeds of this lambda_k cached yet
        loss = [got[s]["final_val_loss"] for s in sorted(got)]
        epoch = [got[s]["last_epoch"] for s in sorted(got)]
        row = {"lambda_k": k, "test_loss": stats(loss), "stop_epoch": stats(epoch), "seeds": len(got)}
        row["test_loss"]["spread"] = (row["test_loss"]["max"] - row["test_loss"]["min"]) / row["test_loss"]["mean"]
        row["test_loss"]["seed0"] = got[0]["final_val_loss"] if 0 in got else None
        rows.append(row)

    if not rows:
        raise SystemExit("no lambda_k has two seeds cached yet.")
    print(f"up to {len(configs)} seeds, original sweep (lambda_a = 0), max {args.max_epochs} epochs")
    print(
        f"{'lambda_k':>9} {'seeds':>5} | {'test loss mean':>14} {'min':>9} {'max':>9} {'spread':>7} | "
        f"{'stop epoch mean':>15} {'min':>4} {'max':>4}"
    )
    for r in rows:
        tl, ep = r["test_loss"], r["stop_epoch"]
        print(
            f"{r['lambda_k']:>9.3g} {r['seeds']:>5} | "
            f"{tl['mean']:>14.6f} {tl['min']:>9.6f} {tl['max']:>9.6f} {tl['spread']:>6.1%} | "
            f"{ep['mean']:>15.1f} {ep['min']:>4.0f} {ep['max']:>4.0f}"
        )
    print(
        json.dumps(
            {
                "seeds": len(configs),
                "max_epochs": args.max_epochs,
                "max_test_loss_spread": round(max(r["test_loss"]["spread"] for r in rows), 4),
                "max_stop_epoch_range": max(r["stop_epoch"]["max"] - r["stop_epoch"]["min"] for r in rows),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
