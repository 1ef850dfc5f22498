"""The command line: `python -m core train|analyze|prepare|status ...`.

    train    train every cell of the grid not cached yet (default: the original sweep)
    analyze  analyse every trained cell not analysed yet (default: the dashboard's grid)
    prepare  train + analyse: what a presenter runs once before a demo (the dashboard's grid)
    status   show which cells are trained and analysed, and the preparation job
    stop     stop the running preparation job (finished stages are kept)
    export   write the cache's complete entries into one zip file
    import   check a zip file made by export, then add its entries to the cache

train, analyze and prepare run as the cache's one preparation job
(`core.sweep.run_job`); while a job runs, they hand their cells to it.

Every mistake in the input (a bad number, an unknown backend, missing or
wrong data, an unreachable dask scheduler, an unwritable cache folder) prints
one sentence and exits with code 2 before anything is written. A worker
process killed during a job (the OOM killer) costs its cells one more try in
a new worker, then a one-line failure per cell (exit code 1). When the reader
of the output stops reading (`status --json | head -1`), the command ends
quietly with the shell's code for a closed pipe, 141.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import time

from core.config import ConfigError, SweepGrid, TrainConfig, check_lambda
from core.store import ModelStore, StoreError

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # read "-1e-5" and "-inf" as (negative) values, so that they get a clear message, not "expected one argument"
        self._negative_number_matcher = re.compile(
            r"^-((\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|inf|infinity|nan)$", re.IGNORECASE
        )

    def error(self, message: str) -> None:  # one sentence, no usage dump
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


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


def _scheduler(text: str) -> str:
    from core.sweep import SweepError, check_scheduler_address

    try:
        return check_scheduler_address(text)
    except SweepError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


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
        type=_scheduler,
        default=None,
        metavar="ADDRESS",
        help="address of a running dask scheduler, e.g. tcp://10.0.0.5:8786 (with --backend dask)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--stack",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train up to N cells at once in one stacked step (default: 10 with a GPU, else 1)",
    )
    p.add_argument(
        "--first",
        nargs=2,
        type=_lambda,
        default=None,
        metavar=("LAMBDA_K", "LAMBDA_A"),
        help="the cell to do first (default: the smallest lambdas, the dashboard's opening model)",
    )


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

    sp = sub.add_parser("stop", help="stop the running preparation job (finished stages are kept)")
    sp.add_argument("--cache-dir", default=None, help="cache folder (default: models_cache/, or $MODELS_CACHE)")

    st = sub.add_parser("status", help="show which cells are trained and analysed")
    _grid_args(st, default, "the dashboard's grid")
    st.add_argument("--json", action="store_true", help="machine-readable output")

    ex = sub.add_parser("export", help="write the cache's complete entries into one zip file, to carry elsewhere")
    ex.add_argument("bundle", metavar="BUNDLE.zip", help="the zip file to write (replaced if it exists)")
    ex.add_argument("--cache-dir", default=None, help="cache folder (default: models_cache/, or $MODELS_CACHE)")

    im = sub.add_parser("import", help="check a zip file written by export, then add its entries to the cache")
    im.add_argument("bundle", metavar="BUNDLE.zip", help="the zip file to read")
    im.add_argument("--cache-dir", default=None, help="cache folder (default: models_cache/, or $MODELS_CACHE)")
    return parser


def _configs(args) -> tuple[SweepGrid, TrainConfig]:
    grid = SweepGrid(lambda_k=tuple(args.lambda_k), lambda_a=tuple(args.lambda_a))
    train_cfg = TrainConfig(max_epochs=args.max_epochs, seed=args.seed, engine=args.engine, precision=args.precision)
    return grid, train_cfg


def cmd_run(args) -> int:
    """train / analyze / prepare: run this cache's job, or hand the cells to the job already running."""
    from core.data import load_mnist
    from core.store import JobBusy
    from core.sweep import run_job

    if args.scheduler and args.backend != "dask":
        raise ConfigError("--scheduler needs --backend dask.")
    grid, train_cfg = _configs(args)
    store = ModelStore(args.cache_dir)
    first = tuple(args.first) if args.first else None
    cells = ([first] if first else []) + [c.cell for c in grid.cells()]
    if _joined(store, cells, first):
        return 0
    data = load_mnist(args.data)
    started = time.perf_counter()
    try:
        results = run_job(
            grid,
            train_cfg,
            data,
            store,
            command=args.command,
            jobs=args.jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            progress=not args.quiet,
            first=first,
            inline=False,
            stack=args.stack,
        )
    except JobBusy:  # a job started while the data was loading
        if _joined(store, cells, first):
            return 0
        raise StoreError("another preparation job holds this cache; try again in a few seconds.") from None
    minutes = (time.perf_counter() - started) / 60
    line = f"{len(results)} cells in {store.root} ({minutes:.1f} min):"
    if args.command != "analyze":
        trained = sum(r.status == "trained" for r in results)
        line += f" {trained} trained now, {sum(r.status == 'cached' for r in results)} already cached."
    if args.command != "train":
        analysed = sum(r.analysis == "analysed" for r in results)
        line += f" {analysed} analysed now, {sum(r.analysis == 'cached' for r in results)} already analysed;"
        line += f" maps of {sum(r.maps in ('analysed', 'cached') for r in results)}."
        untrained = sum(r.status == "untrained" for r in results)
        if untrained:
            line += f" {untrained} not trained yet (run `python -m core prepare`)."
    if (store.job() or {}).get("state") == "stopped":
        line += " Stopped on request: finished stages are kept; run the same command again to resume."
    print(line)
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"failed: lambda_k={r.lambda_k:g} lambda_a={r.lambda_a:g}: {r.error}", file=sys.stderr)
    return 1 if failed else 0


def _joined(store: ModelStore, cells: list, first) -> bool:
    """If a job is running on this cache, hand it `cells` and say so; True if it was."""
    from core.sweep import join_job

    job = join_job(store, cells, front=first is not None)
    if job is None:
        return False
    since = time.strftime("%H:%M:%S", time.localtime(job.get("started", time.time())))
    print(
        f"A preparation job is already running on {store.root} (process {job.get('pid')} on {job.get('host')}, "
        f"since {since}); your {len(cells)} cells are in its queue. Follow it with `python -m core status` "
        "or in the dashboard."
    )
    return True


def grid_status(grid: SweepGrid, train_cfg: TrainConfig, store: ModelStore) -> dict:
    """Which cells of `grid` have an intact entry trained with `train_cfg` (any data), and the job's state."""
    from core.results import find, scan

    listed = scan(store, train_cfg)
    working = {}
    for p in store.progress().values():
        working[(p["lambda_k"], p["lambda_a"])] = "training" if p.get("stage") == "train" else "analysing"
    cells = []
    for c in grid.cells():
        found = find(listed, c.lambda_k, c.lambda_a)
        busy = next((w for (k, a), w in working.items() if find({(k, a): 1}, c.lambda_k, c.lambda_a)), None)
        row = {
            "lambda_k": c.lambda_k,
            "lambda_a": c.lambda_a,
            "state": busy or (found.readiness if found else "missing"),
        }
        if found is not None:
            row |= {
                "entry": found.entry,
                "readiness": found.readiness,
                "last_epoch": found.history.get("last_epoch"),
                "final_val_loss": found.history.get("final_val_loss"),
            }
        cells.append(row)
    return {
        "cache_dir": str(store.root),
        "train": train_cfg.to_dict(),
        "cells": cells,
        "job": store.job(),
        "damaged": [{"entry": n, "problem": p} for n, p in store.damaged()],
    }


def cmd_status(args) -> int:
    grid, train_cfg = _configs(args)
    status = grid_status(grid, train_cfg, ModelStore(args.cache_dir))
    if args.json:
        print(json.dumps(status, indent=1))
        return 0
    mark = {"complete": "#", "fast": "o", "trained": "+", "training": "~", "analysing": "~", "missing": "."}
    by_cell = {(c["lambda_k"], c["lambda_a"]): c["state"] for c in status["cells"]}
    print(f"cache: {status['cache_dir']}")
    print("  (# analysed, o analysed but for the maps, + trained, ~ in progress, . missing)")
    print("lambda_a \\ lambda_k  " + " ".join(f"{k:>8.2g}" for k in grid.lambda_k))
    for a in grid.lambda_a:
        print(f"{a:>19.3g}  " + " ".join(f"{mark[by_cell[(k, a)]]:>8}" for k in grid.lambda_k))
    n = len(status["cells"])
    readiness = [c.get("readiness") for c in status["cells"]]
    n_trained = sum(r is not None for r in readiness)
    n_fast = sum(r in ("fast", "complete") for r in readiness)
    n_complete = sum(r == "complete" for r in readiness)
    print(f"{n_trained} of {n} cells trained, {n_fast} analysed, {n_complete} with their maps.")
    job = status["job"] or {}
    if job.get("state") in ("running", "stopping"):
        left = job.get("eta_seconds") or 0
        print(f"job: running (process {job.get('pid')} on {job.get('host')}), about {left:.0f} s left.")
    elif job.get("state") == "interrupted":
        print("job: interrupted (its process is gone); run `python -m core prepare` to resume.")
    elif job:
        print(f"job: {job.get('state')}.")
    for d in status["damaged"]:
        print(f"damaged entry {d['entry']}: {d['problem']} (it will be retrained)")
    return 0


def cmd_export(args) -> int:
    from core.bundle import export_bundle

    store = ModelStore(args.cache_dir)
    started = time.perf_counter()
    report = export_bundle(store, args.bundle)
    for name, problem in report.skipped:
        print(f"skipped {name}: {problem}", file=sys.stderr)
    n = len(report.entries)
    print(
        f"{n} {'entry' if n == 1 else 'entries'} from {store.root} written to {report.path} "
        f"({report.size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)."
    )
    return 0


def cmd_import(args) -> int:
    from core.bundle import describe_other_libraries, import_bundle

    store = ModelStore(args.cache_dir)
    started = time.perf_counter()
    r = import_bundle(store, args.bundle)
    line = (
        f"{r.total} entries in {args.bundle}: {len(r.installed)} installed, {len(r.replaced)} replaced "
        f"(damaged or different here), {len(r.already)} already there"
    )
    if r.busy:
        line += f", {len(r.busy)} left alone (being trained here right now)"
    print(f"{line}; cache {store.root} ({time.perf_counter() - started:.1f} s).")
    note = describe_other_libraries(r)
    if note:
        print(note, file=sys.stderr)
    return 0


def cmd_stop(args) -> int:
    store = ModelStore(args.cache_dir)
    job = store.running_job()
    if job is None:
        print("No preparation job is running on this cache.")
        return 0
    store.request_stop()
    print(f"Asked the job (process {job.get('pid')}) to stop; finished stages are kept.")
    return 0


COMMANDS = {"status": cmd_status, "stop": cmd_stop, "export": cmd_export, "import": cmd_import}


def main(argv: list[str] | None = None) -> int:
    from core.bundle import BundleError
    from core.data import DataError
    from core.sweep import SweepError

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        code = COMMANDS.get(args.command, cmd_run)(args)
        sys.stdout.flush()  # here, not at exit: a closed pipe is then caught below
        return code
    except (BundleError, ConfigError, DataError, StoreError, SweepError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # whoever read our output stopped reading (`python -m core status | head -1`): end quietly,
        # as other command-line tools do, with the shell's code for a closed pipe (128 + SIGPIPE)
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("\ninterrupted: finished models are cached; run the same command again to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
