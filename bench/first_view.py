"""Benchmark: from an empty cache to a demo, as a new user sees it in Chromium.

    python bench/first_view.py --data ../shared/data/mnist.npz           # the first minutes
    python bench/first_view.py --data ../shared/data/mnist.npz --grid    # ... and the whole grid

Starts `streamlit run` on a fresh temporary cache, opens the dashboard in
headless Chromium, presses Prepare (the job starts: TensorFlow's import and
the data's loading included), and times, from that click:

* first_curve_seconds: the overview shows the default model's live training curve;
* first_view_seconds: the overview shows the default model's finished numbers and curves;
* row_seconds: the original sweep (lambda_a = 0, 10 cells) has its fast stage
  (the overview's curves over lambda_k are complete);
* grid_seconds (with --grid): every cell of the grid has both stages.

It stops the job it started and removes its temporary cache. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the browser helpers live with the tests

from core.config import SweepGrid  # noqa: E402
from core.results import scan  # noqa: E402
from core.store import ModelStore  # noqa: E402

LIVE = (  # a live training curve with at least one epoch on it
    "() => [...document.querySelectorAll('.gtitle')]"
    ".some(t => t.textContent.startsWith('Live: the network is learning'))"
)
FINISHED = (  # the overview's numbers of a finished model
    "() => [...document.querySelectorAll('[data-testid=\"stMetricLabel\"]')]"
    ".some(m => m.textContent.includes('Test loss'))"
)


def cells_with(store: ModelStore, readiness: set[str], cells: list[tuple[float, float]]) -> int:
    listed = scan(store)
    return sum(1 for c in cells if c in listed and listed[c].readiness in readiness)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("MNIST_PATH"), help="mnist.npz (default: $MNIST_PATH)")
    ap.add_argument("--grid", action="store_true", help="also wait for the whole grid (tens of minutes)")
    ap.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    args = ap.parse_args()
    if not args.data:
        sys.exit("error: pass --data path/to/mnist.npz (or set MNIST_PATH)")
    os.environ["MNIST_PATH"] = str(Path(args.data).resolve())
    from serve import browser, serve, wait_for_app

    cache = Path(tempfile.mkdtemp(prefix="sae-first-view-"))
    store = ModelStore(cache)
    grid = SweepGrid.default()
    row = [c.cell for c in grid.cells() if c.lambda_a == grid.lambda_a[0]]
    out: dict[str, float | None] = {}
    try:
        with browser() as b, serve(cache, log=cache.parent / f"{cache.name}.log") as (url, _):
            page = b.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url)
            wait_for_app(page)
            button = page.get_by_role("button", name="Prepare this model now (then the rest of the grid)")
            t0 = time.perf_counter()
            button.click()
            page.wait_for_function(LIVE, timeout=args.timeout * 1000)
            out["first_curve_seconds"] = round(time.perf_counter() - t0, 1)
            print(f"first live curve after {out['first_curve_seconds']} s", flush=True)
            page.wait_for_function(FINISHED, timeout=args.timeout * 1000)
            out["first_view_seconds"] = round(time.perf_counter() - t0, 1)
            print(f"default model's overview after {out['first_view_seconds']} s", flush=True)
            deadline = t0 + args.timeout
            while cells_with(store, {"fast", "complete"}, row) < len(row) and time.perf_counter() < deadline:
                time.sleep(2)
            out["row_seconds"] = round(time.perf_counter() - t0, 1)
            print(f"original sweep (lambda_a = 0) through the fast stage after {out['row_seconds']} s", flush=True)
            if args.grid:
                every = [c.cell for c in grid.cells()]
                while cells_with(store, {"complete"}, every) < len(every) and time.perf_counter() < deadline:
                    time.sleep(5)
                out["grid_seconds"] = round(time.perf_counter() - t0, 1)
                print(f"whole grid, both stages, after {out['grid_seconds']} s", flush=True)
            job = store.job() or {}
            out["workers"] = job.get("workers")
            page.goto(url)  # the page as it stands now, for a look
            wait_for_app(page)
            page.screenshot(path=str(cache.parent / f"{cache.name}.png"))
    finally:
        store.stop_job()
        shutil.rmtree(cache, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
