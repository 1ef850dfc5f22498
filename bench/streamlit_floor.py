"""Benchmark: how far the dashboard is from the floor of Streamlit and Plotly on this machine.

    python bench/streamlit_floor.py                   # models_cache/ for the dashboard's side
    python bench/streamlit_floor.py --moves 12 --figures 1,2,5

The floor is the smallest app that does what a dashboard page does: a λ slider in the sidebar and N
Plotly line charts (10 points each) whose highlighted point moves with the slider, each N twice: drawn
by Streamlit's chart (st.plotly_chart, with Streamlit's whole plotly.js), and drawn in place as the
dashboard draws its figures (app/presentation/figure.js with the page's scripts, app/scripts.py, which
load the dashboard's own Plotly bundle). Measured the way
bench/app_latency.py measures the dashboard, in the same run, on the same machine:

* the first page: from `streamlit run` to the first figure drawn in a fresh headless Chromium
  (1280 x 720) that opens it;
* a move: from the slider's key press to the page's first figure redrawn with the new value
  (app_latency.INSTRUMENT), median and 90th percentile over --moves key presses.

Then the dashboard's overview (its figures and the sidebar's readiness map) on --cache-dir the same way,
and its ratio to each floor with as many figures. What the floor shows is what no change to the
dashboard can go below with these two libraries, drawn each way, on this machine (issue 14's targets: first page
<= 3 s, a move redrawn <= 300 ms at the 90th percentile). Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import app_latency as al  # noqa: E402 - the dashboard's own benchmark: its instrument and its plan

sys.path.insert(0, str(ROOT))
from app.scripts import BUNDLE  # noqa: E402 - the dashboard's own Plotly, which the floor apps drawn in place load

FLOOR_APP = """import streamlit as st
import plotly.graph_objects as go
{setup}
VALUES = [0, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3]
with st.sidebar:
    k = st.select_slider("λ_k", VALUES, key="lambda_k")
i = VALUES.index(k)
for n in range({figures}):
    fig = go.Figure([go.Scatter(x=list(range(10)), y=[j * j + n for j in range(10)], mode="lines+markers"),
                     go.Scatter(x=[i], y=[i * i + n], mode="markers", marker=dict(size=16))])
    fig.update_layout(height=450, title=f"figure {{n + 1}}: λ_k = {{k}}", showlegend=False)
    {draw}
"""
# how the floor app draws its figures: Streamlit's chart, or in place as the dashboard does (app/chrome.py's
# FIGURE: the same figure.js and the page scripts that load Plotly, without the rest of the dashboard)
KINDS = {
    "chart": ("", "st.plotly_chart(fig)"),
    "in place": (
        f"""import sys
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from app.scripts import page_scripts
page_scripts()
FIGURE = st.components.v2.component(
    "floor_figure", js=Path({str(ROOT / "app" / "presentation" / "figure.js")!r}).read_text(), isolate_styles=False
)""",
        'FIGURE(data=fig.to_json().encode(), key=f"fig{{n}}")',
    ),
}


@contextlib.contextmanager
def started(script: Path, cache: str | None = None):
    """(url, the time.perf_counter() at its start) of `streamlit run script` (tests/serve.py)."""
    from serve import serve

    t0 = time.perf_counter()
    with serve(cache, script=script, timeout=120) as (url, _):
        yield url, t0


def first_figure(page, target: str, t0: float) -> float:
    page.goto(target)
    page.wait_for_selector(f"{al.MAIN} .js-plotly-plot .main-svg", timeout=120_000)
    return time.perf_counter() - t0


def moves(page, slider, n: int, last: int, start: int = 0) -> list[float]:
    """Key presses back and forth between slider positions start..last; ms to the main figure redrawn."""
    from serve import wait_for_app

    wait_for_app(page)
    page.wait_for_timeout(500)
    page.evaluate(al.INSTRUMENT)
    out, pos, step = [], start, 1
    for _ in range(n):
        if not start <= pos + step <= last:
            step = -step
        page.evaluate("() => window.__bench.arm()")
        slider.press("ArrowRight" if step > 0 else "ArrowLeft")
        page.wait_for_function("() => window.__bench.done(500, 15000)", polling=100, timeout=60_000)
        r = page.evaluate("() => window.__bench.result()")
        if r["main_ms"] is not None and not r["same_data"]:
            out.append(r["main_ms"])
        pos += step
    return out


def stats(ms: list[float]) -> dict:
    if not ms:
        return {"median_ms": None, "p90_ms": None, "n": 0}
    s = sorted(ms)
    return {
        "median_ms": round(statistics.median(s)),
        "p90_ms": round(s[min(len(s) - 1, int(0.9 * len(s)))]),
        "n": len(s),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", default=str(ROOT / "models_cache"))
    ap.add_argument("--moves", type=int, default=12, help="key presses per app")
    ap.add_argument("--figures", default="1,2,5", help="the floor apps' numbers of figures")
    args = ap.parse_args()
    from serve import browser

    out: dict = {"floor": {}, "dashboard": None}
    with browser() as b, tempfile.TemporaryDirectory() as tmp:
        # static serving (the project's config) serves a script's static/ folder: the floor apps drawn in place
        # load the dashboard's own Plotly bundle from there, as the dashboard does
        (Path(tmp) / "static").mkdir()
        shutil.copy(BUNDLE, Path(tmp) / "static" / BUNDLE.name)
        for n in [int(x) for x in args.figures.split(",")]:
            for kind, (setup, draw) in KINDS.items():
                script = Path(tmp) / f"floor_{n}_{kind.replace(' ', '_')}.py"
                script.write_text(FLOOR_APP.format(figures=n, setup=setup, draw=draw))
                page = b.new_page(viewport={"width": 1280, "height": 720})
                with started(script) as (url, t0):
                    first = first_figure(page, url, t0)
                    ms = moves(page, page.locator(al.SLIDER).first, args.moves, last=9)
                page.close()
                out["floor"][f"{n} {kind}"] = r = {"figures": n, "kind": kind, "first_page_s": round(first, 2)}
                r["move"] = stats(ms)
                print(f"  floor, {n} figure(s), {kind}: first page {first:.2f} s, move {r['move']}", file=sys.stderr)

        state = al.cache_state(args.cache_dir)
        run = al.adjacent_run(state, False)
        if run is None or len(run[1]) < 2:
            out["dashboard"] = {"skipped": "needs two neighbouring ready models in one λ_a row"}
        else:
            a, idx = run
            page = b.new_page(viewport={"width": 1280, "height": 720})
            with started(ROOT / "app" / "streamlit_app.py", str(Path(args.cache_dir).resolve())) as (url, t0):
                first = first_figure(page, al._page_url(url, "overview", (state["lambda_k"][idx[0]], a)), t0)
                slider = al._lambda_k_slider(page)
                # idx holds neighbouring positions on the λ_k slider: move within them only
                ms = moves(page, slider, args.moves, last=idx[-1], start=idx[0])
                figures = page.locator(".js-plotly-plot").count()  # the page's and the sidebar's map
            page.close()
            out["dashboard"] = {"first_page_s": round(first, 2), "move": stats(ms), "figures": figures}

    print(f"{'app':40s} {'first page':>10s} {'move median':>12s} {'move p90':>9s}")
    for r in out["floor"].values():
        name = f"floor: slider + {r['figures']} figure(s), {r['kind']}"
        print(f"{name:40s} {r['first_page_s']:>8.2f} s {r['move']['median_ms']:>9} ms {r['move']['p90_ms']:>6} ms")
    d = out["dashboard"]
    if d and "skipped" not in d:
        name = f"dashboard: overview ({d['figures']} figures)"
        print(f"{name:40s} {d['first_page_s']:>8.2f} s {d['move']['median_ms']:>9} ms {d['move']['p90_ms']:>6} ms")
        sizes = sorted({r["figures"] for r in out["floor"].values()})
        n = d["figures"] if d["figures"] in sizes else (max(sizes) if sizes else None)
        for kind in KINDS:
            same = out["floor"].get(f"{n} {kind}")
            if same and same["move"]["p90_ms"]:
                ratio = {
                    "first_page": round(d["first_page_s"] / same["first_page_s"], 2),
                    "move_p90": round(d["move"]["p90_ms"] / same["move"]["p90_ms"], 2),
                }
                out.setdefault("ratio_to_floor", {})[f"{n} {kind}"] = ratio
                print(
                    f"dashboard / floor with {n} figures, {kind}: first page {ratio['first_page']}x, "
                    f"move p90 {ratio['move_p90']}x"
                )
    elif d:
        print(f"dashboard: skipped ({d['skipped']})")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
