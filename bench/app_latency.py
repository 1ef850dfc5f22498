"""Benchmark: how fast the dashboard answers, on a prepared cache.

    python bench/app_latency.py                       # models_cache/ (run `python -m core prepare` first)
    python bench/app_latency.py --cache-dir /tmp/c

Measures (1) per page, the server-side time of a rerun after a λ_k slider
change (Streamlit's AppTest runs the real script in this process; the first
visit of each model, which reads it from disk, is reported separately from
the median), and of the pages' own controls (another unit in the unit
explorer, model B's λ_k on the compare page, with filters and with t-SNE
maps shown), (2) the time from `streamlit run` to the first page fully
drawn in headless Chromium, and (3) the resident memory of the Streamlit
server after every page has been shown in the browser. Targets: rerun
<= 0.3 s, first page <= 5 s, memory <= 600 MB. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the browser helpers live with the tests

PAGES = ["overview", "filters", "reconstructions", "similarity", "tsne", "clusters", "units", "frontier", "compare"]


def lambda_k_values(cache: str) -> tuple[float, ...]:
    """The λ_k slider's values (the app's grid: the default grid plus the cache's cells)."""
    from core.config import SweepGrid
    from core.results import scan
    from core.store import ModelStore

    return SweepGrid(SweepGrid.default().lambda_k + tuple(k for k, _ in scan(ModelStore(cache)))).lambda_k


def rerun_times(cache: str, changes: int) -> dict:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["MODELS_CACHE"] = cache
    out = {}
    for page in PAGES:
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=120).run()
        at.switch_page(f"views/{page}.py").run()
        options = lambda_k_values(cache)
        first, warm = [], []
        for i in range(changes):
            value = options[(i + 1) % len(options)]
            t = time.perf_counter()
            at.select_slider(key="lambda_k").set_value(value).run()
            (first if i < len(options) - 1 else warm).append(time.perf_counter() - t)
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
        out[page] = {
            "median_s": round(statistics.median(first + warm), 3),
            "first_visit_median_s": round(statistics.median(first), 3),
            "revisit_median_s": round(statistics.median(warm), 3) if warm else None,
        }
    return out


def control_times(cache: str, changes: int) -> dict:
    """Median rerun after a page's own control changes (the models already loaded once)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["MODELS_CACHE"] = cache
    options = lambda_k_values(cache)
    cases = {
        "units: another unit": ("units", None, lambda at, i: at.number_input(key="unit").set_value((i * 37) % 196)),
        "compare: model B's λ_k (filters)": (
            "compare",
            None,
            lambda at, i: at.select_slider(key="cmp_lambda_k").set_value(options[(i + 1) % len(options)]),
        ),
        "compare: model B's λ_k (t-SNE maps)": (
            "compare",
            lambda at: at.segmented_control(key="compare_show").set_value("t-SNE").run(),
            lambda at, i: at.select_slider(key="cmp_lambda_k").set_value(options[(i + 1) % len(options)]),
        ),
    }
    out = {}
    for name, (page, setup, change) in cases.items():
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(ROOT / "app" / "streamlit_app.py"), default_timeout=120).run()
        at.switch_page(f"views/{page}.py").run()
        if setup:
            setup(at)
        for i in range(len(options)):  # every model read once, so only the rerun is timed
            change(at, i).run()
        times = []
        for i in range(changes):
            t = time.perf_counter()
            change(at, i).run()
            times.append(time.perf_counter() - t)
            if at.exception:
                raise RuntimeError(f"{name}: {at.exception[0].value}")
        out[name] = round(statistics.median(times), 3)
    return out


def browser_start(cache: str) -> dict:
    import psutil

    from serve import browser, serve, wait_for_app

    with browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        with serve(cache) as (url, proc):
            page.goto(url)
            wait_for_app(page)
            first_page = time.perf_counter() - t0
            for name in PAGES[1:]:
                page.goto(f"{url}/{name}")
                wait_for_app(page)
            server = psutil.Process(proc.pid)
            rss = server.memory_info().rss + sum(c.memory_info().rss for c in server.children(recursive=True))
            imported_tf = any("tensorflow" in m.path for m in server.memory_maps())
    return {
        "first_page_s": round(first_page, 2),
        "memory_mb": round(rss / 2**20),
        "server_loaded_tensorflow": imported_tf,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", default=str(ROOT / "models_cache"))
    ap.add_argument("--changes", type=int, default=15, help="slider changes per page")
    args = ap.parse_args()
    start = browser_start(args.cache_dir)
    reruns = rerun_times(args.cache_dir, args.changes)
    print(f"{'page':<16} {'median':>7} {'first visit':>12} {'revisit':>8}")
    for page, r in reruns.items():
        print(f"{page:<16} {r['median_s']:>7.3f} {r['first_visit_median_s']:>12.3f} {r['revisit_median_s'] or 0:>8.3f}")
    controls = control_times(args.cache_dir, args.changes)
    for name, t in controls.items():
        print(f"{name:<40} {t:>7.3f}")
    print(
        f"streamlit run -> first page drawn in Chromium: {start['first_page_s']} s; "
        f"server memory after all pages: {start['memory_mb']} MB"
    )
    summary = {
        "rerun_median_s": {p: r["median_s"] for p, r in reruns.items()},
        "control_median_s": controls,
        "max_rerun_median_s": max([r["median_s"] for r in reruns.values()] + list(controls.values())),
        **start,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
