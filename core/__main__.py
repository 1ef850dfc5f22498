"""The command line: `python -m core train|analyze|prepare|status ...`.

    train    train every cell of the grid not cached yet (default: the original sweep)
    analyze  analyse every trained cell not analysed yet (default: the dashboard's grid)
    prepare  train + analyse: what a presenter runs once before a demo (the dashboard's grid)
    status   show which cells are trained and analysed

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
import time

from core.config import ConfigError, SweepGrid, TrainConfig, check_lambda
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


def _int_at_least(minimum: int):
    """An argparse type: a whole number >= minimum, with a one-sentence error."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"expected a number of at least {minimum}, got {text!r}")
        return v

    return parse


_positive_int = _int_at_least(1)
_seed = _int_at_least(0)


def _grid_args(p: argparse.ArgumentParser, default: SweepGrid, name: str) -> None:
    g = p.add_argument_group("grid")
    g.add_argument(
        "--lambda-k",
        nargs="+",
        type=_lambda,
        default=list(default.lambda_k),
        metavar="V",
        help=f"kernel-regularizer values (default: {name}: linspace(0, 1e-4, 10))",
    )
    g.add_argument(
        "--lambda-a",
        nargs="+",
        type=_lambda,
        default=list(default.lambda_a),
        metavar="V",
        help=f"activity-regularizer values (default: {name}: {' '.join(f'{v:g}' for v in default.lambda_a)})",
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


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="mnist.npz or a folder of IDX files (default: $MNIST_PATH, then Keras)")
    p.add_argument("--jobs", type=_positive_int, default=None, help="cells worked on at once (default: one per core)")
    p.add_argument(
        "--backend", choices=("loky", "dask"), default="loky", help="joblib backend: loky (local processes) or dask"
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running dask scheduler, e.g. tcp://10.0.0.5:8786 (with --backend dask)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Train, analyse and inspect the sparse-autoencoder grid.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    original, default = SweepGrid.original(), SweepGrid.default()

    tr = sub.add_parser("train", help="train every cell of the grid that is not cached yet")
    _grid_args(tr, original, "the original sweep")
    _run_args(tr)

    an = sub.add_parser("analyze", help="analyse every trained cell of the grid not analysed yet")
    _grid_args(an, default, "the dashboard's grid")
    _run_args(an)

    pr = sub.add_parser("prepare", help="train and analyse every cell of the grid (run once before a demo)")
    _grid_args(pr, default, "the dashboard's grid")
    _run_args(pr)

    st = sub.add_parser("status", help="show which cells are trained and analysed")
    _grid_args(st, default, "the dashboard's grid")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _configs(args) -> tuple[SweepGrid, TrainConfig]:
    grid = SweepGrid(lambda_k=tuple(args.lambda_k), lambda_a=tuple(args.lambda_a))
    train_cfg = TrainConfig(max_epochs=args.max_epochs, seed=args.seed, engine=args.engine, precision=args.precision)
    return grid, train_cfg


STAGES = {"train": ("train",), "analyze": ("analyze",), "prepare": ("train", "analyze")}


def cmd_run(args) -> int:
    """train / analyze / prepare."""
    from core.data import load_mnist
    from core.sweep import run_sweep

    if args.scheduler and args.backend != "dask":
        raise ConfigError("--scheduler needs --backend dask.")
    grid, train_cfg = _configs(args)
    store = ModelStore(args.cache_dir)
    data = load_mnist(args.data)
    store.ensure_writable()
    started = time.perf_counter()
    results = run_sweep(
        grid,
        train_cfg,
        data,
        store,
        stages=STAGES[args.command],
        jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=not args.quiet,
    )
    minutes = (time.perf_counter() - started) / 60
    trained = sum(r.status == "trained" for r in results)
    line = f"{len(results)} cells in {store.root} ({minutes:.1f} min):"
    if args.command != "analyze":
        line += f" {trained} trained now, {sum(r.status == 'cached' for r in results)} already cached."
    if args.command != "train":
        analysed = sum(r.analysis == "analysed" for r in results)
        line += f" {analysed} analysed now, {sum(r.analysis == 'cached' for r in results)} already analysed."
        untrained = sum(r.status == "untrained" for r in results)
        if untrained:
            line += f" {untrained} not trained yet (run `python -m core prepare`)."
    print(line)
    return 0


def grid_status(grid: SweepGrid, train_cfg: TrainConfig, store: ModelStore) -> dict:
    """Which cells of `grid` have an intact entry trained with `train_cfg` (any data)."""
    from core.analysis import ANALYSIS_VERSION
    from core.config import AnalysisConfig
    from core.sweep import read_progress

    wanted = train_cfg.to_dict()
    analysis_cfg = AnalysisConfig().to_dict()
    ready: dict[tuple[float, float], dict] = {}
    for e in store.entries():
        if e.config["train"] == wanted:
            m = e.config["model"]
            analysed = store.load_analysis(e.key, ANALYSIS_VERSION, analysis_cfg, arrays=False) is not None
            ready[(m["lambda_k"], m["lambda_a"])] = {
                "entry": e.path.name,
                "data_fingerprint": e.config["data_fingerprint"],
                "last_epoch": e.history["last_epoch"],
                "final_val_loss": e.history["final_val_loss"],
                "analysed": analysed,
            }
    training = {(p["lambda_k"], p["lambda_a"]): p for p in read_progress(store).values()}
    cells = []
    for c in grid.cells():
        cell = (c.lambda_k, c.lambda_a)
        if cell in training:
            state = "training" if training[cell].get("stage") == "train" else "analysing"
        elif cell in ready:
            state = "analysed" if ready[cell]["analysed"] else "trained"
        else:
            state = "missing"
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
    mark = {"analysed": "#", "trained": "+", "training": "~", "analysing": "~", "missing": "."}
    by_cell = {(c["lambda_k"], c["lambda_a"]): c["state"] for c in status["cells"]}
    print(f"cache: {status['cache_dir']}   (# analysed, + trained, ~ in progress, . missing)")
    print("lambda_a \\ lambda_k  " + " ".join(f"{k:>8.2g}" for k in grid.lambda_k))
    for a in grid.lambda_a:
        print(f"{a:>19.3g}  " + " ".join(f"{mark[by_cell[(k, a)]]:>8}" for k in grid.lambda_k))
    n = len(status["cells"])
    n_trained = sum(c["state"] in ("trained", "analysed") for c in status["cells"])
    n_analysed = sum(c["state"] == "analysed" for c in status["cells"])
    print(f"{n_trained} of {n} cells trained, {n_analysed} of {n} analysed.")
    for d in status["damaged"]:
        print(f"damaged entry {d['entry']}: {d['problem']} (it will be retrained)")
    return 0


def main(argv: list[str] | None = None) -> int:
    from core.data import DataError
    from core.sweep import SweepError

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return cmd_status(args) if args.command == "status" else cmd_run(args)
    except (ConfigError, DataError, StoreError, SweepError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: finished models are cached; run the same command again to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
