"""The command line: `python -m core train|status ...`.

Every mistake in the input (a bad number, an unknown backend, missing or
wrong data, an unwritable cache folder) prints one sentence and exits with
code 2 before anything is written.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys

from core.config import ORIGINAL_LAMBDA_A, ORIGINAL_LAMBDA_K, ConfigError, SweepGrid, TrainConfig, check_lambda
from core.store import ModelStore, StoreError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # read "-1e-5" as a (negative) value, so that it gets a clear message, not "expected one argument"
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def error(self, message: str) -> None:  # one sentence, no usage dump
        self.exit(EXIT_USAGE, f"error: {message} (see `python -m core {self.prog.split()[-1]} --help`)\n")


def _lambda(text: str) -> float:
    try:
        return check_lambda("a lambda value", text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {text!r}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"the seed must be zero or positive, got {text!r}")
    return v


def _grid_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("grid")
    g.add_argument(
        "--lambda-k",
        nargs="+",
        type=_lambda,
        default=list(ORIGINAL_LAMBDA_K),
        metavar="V",
        help="kernel-regularizer values (default: the original sweep, linspace(0, 1e-4, 10))",
    )
    g.add_argument(
        "--lambda-a",
        nargs="+",
        type=_lambda,
        default=list(ORIGINAL_LAMBDA_A),
        metavar="V",
        help="activity-regularizer values (default: 0)",
    )
    t = p.add_argument_group("training")
    t.add_argument("--max-epochs", type=_positive_int, default=TrainConfig.max_epochs, help="default: %(default)s")
    t.add_argument("--seed", type=_seed, default=TrainConfig.seed, help="default: %(default)s")
    t.add_argument(
        "--engine",
        choices=("fast", "keras"),
        default="fast",
        help="fast: our compiled loop (default); keras: plain Model.fit, the reference",
    )
    t.add_argument(
        "--precision",
        choices=("bfloat16", "float32"),
        default=None,
        help="matmul input type of the fast engine (default bfloat16; float32 equals Keras)",
    )
    p.add_argument("--cache-dir", default=None, help="cache folder (default: models_cache/, or $MODELS_CACHE)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Train and inspect the sparse-autoencoder grid.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    tr = sub.add_parser("train", help="train every cell of the grid that is not cached yet")
    _grid_args(tr)
    tr.add_argument(
        "--data", default=None, help="mnist.npz or a folder of IDX files (default: $MNIST_PATH, then Keras)"
    )
    tr.add_argument("--jobs", type=_positive_int, default=None, help="models trained at once (default: one per core)")
    tr.add_argument(
        "--backend", choices=("loky", "dask"), default="loky", help="joblib backend: loky (local processes) or dask"
    )
    tr.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running dask scheduler, e.g. tcp://10.0.0.5:8786 (with --backend dask)",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")

    st = sub.add_parser("status", help="show which cells of the grid are cached")
    _grid_args(st)
    st.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _configs(args) -> tuple[SweepGrid, TrainConfig]:
    grid = SweepGrid(lambda_k=tuple(args.lambda_k), lambda_a=tuple(args.lambda_a))
    train_cfg = TrainConfig(max_epochs=args.max_epochs, seed=args.seed, engine=args.engine, precision=args.precision)
    return grid, train_cfg


def cmd_train(args) -> int:
    from core.data import load_mnist
    from core.sweep import run_sweep

    if args.scheduler and args.backend != "dask":
        raise ConfigError("--scheduler needs --backend dask.")
    grid, train_cfg = _configs(args)
    store = ModelStore(args.cache_dir)
    data = load_mnist(args.data)
    store.ensure_writable()
    results = run_sweep(
        grid,
        train_cfg,
        data,
        store,
        jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=not args.quiet,
    )
    trained = sum(r.status == "trained" for r in results)
    print(f"{len(results)} models in {store.root}: {trained} trained now, {len(results) - trained} already cached.")
    return 0


def grid_status(grid: SweepGrid, train_cfg: TrainConfig, store: ModelStore) -> dict:
    """Which cells of `grid` have an intact entry trained with `train_cfg` (any data)."""
    from core.sweep import read_progress

    wanted = train_cfg.to_dict()
    ready: dict[tuple[float, float], dict] = {}
    for e in store.entries():
        if e.config["train"] == wanted:
            m = e.config["model"]
            ready[(m["lambda_k"], m["lambda_a"])] = {
                "entry": e.path.name,
                "data_fingerprint": e.config["data_fingerprint"],
                "last_epoch": e.history["last_epoch"],
                "final_val_loss": e.history["final_val_loss"],
            }
    training = {(p["lambda_k"], p["lambda_a"]): p for p in read_progress(store).values()}
    cells = []
    for c in grid.cells():
        cell = (c.lambda_k, c.lambda_a)
        state = "ready" if cell in ready else "training" if cell in training else "missing"
        cells.append({"lambda_k": c.lambda_k, "lambda_a": c.lambda_a, "state": state, **ready.get(cell, {})})
    return {
        "cache_dir": str(store.root),
        "train": wanted,
        "cells": cells,
        "damaged": [{"entry": n, "problem": p} for n, p in store.damaged()],
    }


def cmd_status(args) -> int:
    grid, train_cfg = _configs(args)
    status = grid_status(grid, train_cfg, ModelStore(args.cache_dir))
    if args.json:
        print(json.dumps(status, indent=1))
        return 0
    mark = {"ready": "#", "training": "~", "missing": "."}
    by_cell = {(c["lambda_k"], c["lambda_a"]): c["state"] for c in status["cells"]}
    print(f"cache: {status['cache_dir']}   (# ready, ~ training, . missing)")
    print("lambda_a \\ lambda_k  " + " ".join(f"{k:>8.2g}" for k in grid.lambda_k))
    for a in grid.lambda_a:
        print(f"{a:>19.3g}  " + " ".join(f"{mark[by_cell[(k, a)]]:>8}" for k in grid.lambda_k))
    n_ready = sum(c["state"] == "ready" for c in status["cells"])
    print(f"{n_ready} of {len(status['cells'])} cells ready.")
    for d in status["damaged"]:
        print(f"damaged entry {d['entry']}: {d['problem']} (it will be retrained)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from core.data import DataError
    from core.sweep import SweepError

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return {"train": cmd_train, "status": cmd_status}[args.command](args)
    except (ConfigError, DataError, StoreError, SweepError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: finished models are cached; run the same command again to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
