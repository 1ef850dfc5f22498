"""Watch it learn, in a real browser: Play on the epoch control of the Filters and Reconstructions pages steps the
page's picture through the training snapshots, one epoch a second, and stops on the final model.

`streamlit run` on the tiny cache (its models trained 2 epochs: snapshots before training and after epochs 1 and 2),
headless Chromium at 1280x720. Screenshots go to $SCREENSHOT_DIR if set; E2E_CACHE and E2E_QUERY run it on another
cache and model (the README's screenshot: a real model with its snapshots).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from test_e2e import MAIN, open_page

from serve import CHROMIUM, serve

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
QUERY = os.environ.get("E2E_QUERY", "lambda_k=0&lambda_a=0")
FINAL_TITLES = {
    "filters": "What each of the 196 hidden units looks for",
    "reconstructions": "How the network redraws test digits from their codes",
}


@pytest.fixture(scope="module")
def server(tiny_cache, tmp_path_factory):
    cache = os.environ.get("E2E_CACHE") or str(tiny_cache)
    with serve(cache, log=tmp_path_factory.mktemp("server") / "streamlit.log") as (url, _):
        yield url


def shown(page) -> tuple[str, str]:
    """(the main figure's title, the start of its picture's data) as the browser draws them now."""
    return tuple(
        page.evaluate(
            """() => { const g = document.querySelector('[data-testid=stMain] .js-plotly-plot');
                       if (!g || !g.layout || !g.data) return ['', ''];
                       const t = g.layout.title; const src = (g.data[0] && g.data[0].source) || '';
                       return [(t && t.text) || '', src.slice(-64)]; }"""
        )
    )


@pytest.mark.parametrize("name", ["filters", "reconstructions"])
def test_play_animates_the_training_epochs(server, chromium, name):
    page, errors = open_page(chromium, f"{server}/{name}?{QUERY}")
    final = shown(page)
    assert final[0].startswith(FINAL_TITLES[name]), final[0]  # the page opens as before: the final model
    page.locator(MAIN).get_by_role("button", name="Play").click()
    frames = []  # every distinct (title, picture) the browser drew, in order
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = shown(page)
        if now[0] and (frames or now != final) and (not frames or now != frames[-1]):  # from Play's first frame
            frames.append(now)
            if len(frames) == 2 and os.environ.get("SCREENSHOT_DIR"):
                page.screenshot(path=str(Path(os.environ["SCREENSHOT_DIR"]) / f"snapshots_{name}_playing.png"))
        if len(frames) > 1 and now == final and page.locator(MAIN).get_by_role("button", name="Play").count():
            break  # back on the final model, stopped
        page.wait_for_timeout(100)
    titles = [t for t, _ in frames]
    assert titles[0].startswith("Before training"), titles  # Play starts from the first snapshot
    assert any(t.startswith("After 1 epoch") for t in titles), titles
    assert frames[-1] == final, "it stops on the final model"
    assert len({p for _, p in frames}) >= 3, "the picture changed from epoch to epoch"
    order = [0 if t.startswith("Before") else 1 if t.startswith("After") else 2 for t in titles]
    assert order == sorted(order), titles  # forwards only
    assert not errors, errors
    page.close()
