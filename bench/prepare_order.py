"""Benchmark: `python -m core prepare` of an earlier revision and of this one, side by side, in one run.

    python bench/prepare_order.py --data ../shared/data/mnist.npz --before fa41d80
    python bench/prepare_order.py --data ... --before fa41d80 --lambda-k 0 5.6e-5 1e-4 --lambda-a 0 1e-2

Checks out `--before` (a git revision) into a temporary worktree and starts
both revisions' `prepare` at the same moment on the same grid, each into its
own fresh cache with one worker (so each has one of a 2-core machine's cores,
and a slow day slows both alike). It times, for each:

* default_ready_s: the default model (both lambdas at their smallest) is analysed;
* row_ready_s: every cell of the first lambda_a row (the original sweep) is analysed;
* all_analysed_s: every cell is analysed (earlier revisions: one stage; this one: the fast stage);
* total_s: the command returned (this revision: the slow stage included).

A cell counts as analysed when its manifest lists its analysis (an earlier
revision's `analysis.npz`, this one's `analysis_fast.npz`). The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANALYSED = ("analysis.npz", "analysis_fast.npz")  # before and after the analysis was split in stages


def analysed_cells(cache: Path) -> set[tuple[float, float]]:
    """The cells whose entry's manifest lists an analysis, read from the JSON files alone."""
    out = set()
    if not cache.is_dir():
        return out
    for entry in cache.iterdir():
        try:
            files = json.loads((entry / "manifest.json").read_text())["files"]
            model = json.loads((entry / "config.json").read_text())["model"]
        except (OSError, ValueError, KeyError):
            continue
        if any(name in files for name in ANALYSED):
            out.add((float(model["lambda_k"]), float(model["lambda_a"])))
    return out


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("MNIST_PATH"), help="mnist.npz (default: $MNIST_PATH)")
    ap.add_argument("--before", required=True, help="the earlier git revision to compare with")
    ap.add_argument("--lambda-k", nargs="+", type=float, default=None, help="default: the dashboard's grid")
    ap.add_argument("--lambda-a", nargs="+", type=float, default=None)
    ap.add_argument("--max-epochs", type=int, default=None)
    args = ap.parse_args()
    if not args.data:
        sys.exit("error: pass --data path/to/mnist.npz (or set MNIST_PATH)")
    sys.path.insert(0, str(ROOT))
    from core.config import SweepGrid

    default = SweepGrid.default()
    grid = SweepGrid(tuple(args.lambda_k or default.lambda_k), tuple(args.lambda_a or default.lambda_a))
    cells = [c.cell for c in grid.cells()]
    first, row = cells[0], [c for c in cells if c[1] == grid.lambda_a[0]]
    work = Path(tempfile.mkdtemp(prefix="sae-prepare-order-"))
    tree = work / "before"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.before], cwd=ROOT, check=True)
    runs = {"before": tree, "after": ROOT}
    grid_args = ["--lambda-k", *map(repr, grid.lambda_k), "--lambda-a", *map(repr, grid.lambda_a)]
    if args.max_epochs:
        grid_args += ["--max-epochs", str(args.max_epochs)]
    procs, marks = {}, {name: {} for name in runs}
    try:
        t0 = time.perf_counter()
        for name, cwd in runs.items():
            cmd = [sys.executable, "-m", "core", "prepare", "--jobs", "1", "--quiet", "--data", str(args.data)]
            cmd += ["--cache-dir", str(work / f"{name}-cache"), *grid_args]
            procs[name] = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        while any(p.poll() is None for p in procs.values()):
            time.sleep(2)
            now = round(time.perf_counter() - t0, 1)
            for name in runs:
                have = analysed_cells(work / f"{name}-cache")

                def done(want, have=have) -> bool:
                    return all(any(close(k, a) and close(la, b) for a, b in have) for k, la in want)

                m = marks[name]
                if "default_ready_s" not in m and done([first]):
                    m["default_ready_s"] = now
                if "row_ready_s" not in m and done(row):
                    m["row_ready_s"] = now
                if "all_analysed_s" not in m and done(cells):
                    m["all_analysed_s"] = now
                if "total_s" not in m and procs[name].poll() is not None:
                    m["total_s"] = now
                    m["exit_code"] = procs[name].returncode
        now = round(time.perf_counter() - t0, 1)
        for name in runs:
            marks[name].setdefault("total_s", now)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(cells)} cells, one worker each, side by side (seconds from the start):")
    print(f"{'':<16} {'before':>8} {'after':>8} {'after/before':>13}")
    for key in ("default_ready_s", "row_ready_s", "all_analysed_s", "total_s"):
        b, a = marks["before"].get(key), marks["after"].get(key)
        ratio = f"{a / b:.2f}" if a is not None and b else "-"
        print(f"{key:<16} {b if b is not None else '-':>8} {a if a is not None else '-':>8} {ratio:>13}")
    print(json.dumps({"cells": len(cells), "before": marks["before"], "after": marks["after"]}))


if __name__ == "__main__":
    main()
