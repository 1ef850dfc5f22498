"""Benchmark: how fast Stop stops the animation, in headless Chromium, and whether λ stays where it was.

    python bench/stop_latency.py                          # models_cache/, the t-SNE page, 6 tries
    python bench/stop_latency.py --page overview --tries 4 --cache-dir /tmp/c

Per try: open the page at λ_k = 0 (presenter mode), Play λ_k in the sidebar, wait until the animation
has taken a step and then a random 0-2 s more (so Stop lands anywhere in a step: while the server runs
the next model's page, while the t-SNE maps glide, while nothing happens), click Stop with the mouse,
and time

* from the click (its event's time stamp) until the sidebar shows Play again (Stop has taken effect on
  screen: the next frame painted), and
* whether λ_k then stays, for 4 s, the value the main figure showed when Stop was clicked (the λ written
  large on it; the sidebar's slider runs ahead of the figure while the page is redrawn).

The original study has no animation to compare with; issue 11 measured 1.3-1.9 s on the t-SNE page,
and λ moving one more step after Stop in two of four tries. Prints a line per try, then one JSON object.
Reads Streamlit 1.67's DOM (stSidebar, st-key-<widget key> classes, stSlider's thumb value).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the browser helpers live with the tests

from serve import browser, serve, wait_for_app  # noqa: E402

SIDEBAR = "[data-testid=stSidebar]"
# the λ_k slider's value as shown on its thumb
LAMBDA_K = f"() => document.querySelector('{SIDEBAR} .st-key-lambda_k [data-testid=stSliderThumbValue]').textContent"
# the λ_k the audience sees: written large on the page's main figure as drawn, while the animation plays
ON_FIGURE = """() => { const gd = document.querySelector('[data-testid=stMain] .js-plotly-plot');
  const a = ((gd && gd.layout.annotations) || []).find(a => /λ_k = /.test(a.text || ''));
  return a ? a.text.replace(/<[^>]+>/g, '').split('= ')[1] : null; }"""
# from the click's own time stamp (when the mouse was pressed, however busy the page was) to the first frame
# painted with Play back in the sidebar
# and the λ written on the main figure at that moment (what the audience saw when they clicked)
WATCH = """() => {
  const S = (window.__stop = {clicked: null, shown: null, figure: null});
  const onFigure = ON_FIGURE;
  document.addEventListener('click', (e) => {
    if (S.clicked === null && e.target.closest && e.target.closest('.st-key-anim-stop')) {
      S.clicked = e.timeStamp;
      S.figure = onFigure();
    }
  }, {capture: true, once: false});
  const seen = () => document.querySelector('[data-testid=stSidebar] .st-key-anim-play button');
  new MutationObserver((_, obs) => {
    if (S.clicked !== null && S.shown === null && seen()) {
      obs.disconnect();
      requestAnimationFrame(() => { S.shown = performance.now(); });
    }
  }).observe(document.body, {childList: true, subtree: true});
}""".replace("ON_FIGURE", ON_FIGURE)
STAY_S = 4.0  # how long λ must stay put after Stop


def same(a: str | None, b: str | None) -> bool:
    """Two λ as written (1.1e-05, 1.1e-5, 0): the same value to the digits shown."""
    return a is not None and b is not None and float(a) == float(b)


def one_try(page, url: str, rng: random.Random, window_ms: float = 2000) -> dict:
    page.goto(url)  # from the first λ_k each time: the animation must not reach the grid's end before Stop
    wait_for_app(page)
    page.wait_for_timeout(1000)
    page.locator(f"{SIDEBAR} .st-key-anim-play button").click()
    start = page.evaluate(LAMBDA_K)
    page.wait_for_function(f"(v) => ({LAMBDA_K})() !== v", arg=start, timeout=30_000)  # a first step
    page.wait_for_timeout(rng.uniform(0, window_ms))
    box = page.locator(f"{SIDEBAR} .st-key-anim-stop button").bounding_box()
    page.evaluate(WATCH)
    slider = page.evaluate(LAMBDA_K)
    # a click as a person makes it: the mouse pressed where the button is (Playwright's own click first waits
    # until the button has stood still for two animation frames, which a busy page delays by itself)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => window.__stop.shown !== null", timeout=30_000)
    stopped_ms = page.evaluate("() => window.__stop.shown - window.__stop.clicked")
    shown = page.evaluate("() => window.__stop.figure") or slider
    values = set()
    end = time.perf_counter() + STAY_S
    while time.perf_counter() < end:
        values.add(page.evaluate(LAMBDA_K))
        page.wait_for_timeout(100)
    wait_for_app(page)
    moved = not all(same(v, shown) for v in values)
    return {"stop_ms": round(stopped_ms), "shown": shown, "after": sorted(values), "moved": moved}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache-dir", default=str(ROOT / "models_cache"))
    ap.add_argument("--page", default="tsne", help="the page to animate on (default: tsne, whose maps glide)")
    ap.add_argument("--tries", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--window-ms",
        type=float,
        default=2000,
        help="Stop lands at random up to this long after a step shows in the sidebar (default 2000: anywhere in "
        "a step; 400: mostly while the browser still draws the step the server has finished)",
    )
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tries = []
    with serve(args.cache_dir, log=Path("/tmp/stop_latency_server.log")) as (url, _), browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 720})
        path = "" if args.page == "overview" else args.page
        for i in range(args.tries):
            t = one_try(page, f"{url}/{path}?present=1&lambda_k=0&lambda_a=0", rng, args.window_ms)
            tries.append(t)
            print(f"try {i + 1}: Stop shown after {t['stop_ms']} ms; λ_k at the click {t['shown']}, "
                  f"then {', '.join(t['after'])}{'  <- MOVED' if t['moved'] else ''}", flush=True)  # fmt: skip
    ms = [t["stop_ms"] for t in tries]
    summary = {
        "page": args.page,
        "tries": len(tries),
        "stop_ms_median": round(statistics.median(ms)),
        "stop_ms_max": max(ms),
        "moved_after_stop": sum(t["moved"] for t in tries),
    }
    print(f"Stop on {args.page}: median {summary['stop_ms_median']} ms, max {summary['stop_ms_max']} ms; "
          f"λ moved after Stop in {summary['moved_after_stop']} of {len(tries)} tries")  # fmt: skip
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
