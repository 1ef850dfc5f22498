"""End to end from an empty cache, as a new user: press Prepare, watch the network learn, see the overview, and a
t-SNE page that first says "being computed" and then shows the map.

Real MNIST (skips without it), every model trained for at most E2E_MAX_EPOCHS epochs (a quick rehearsal, the
dashboard's SAE_MAX_EPOCHS), in the one preparation job the button starts; the test stops that job at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.store import ModelStore
from serve import CHROMIUM, browser, serve, wait_for_app

MAX_EPOCHS = 8  # long enough (seconds) for the live curve to be seen, short enough for CI
MAIN = "[data-testid=stMain]"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


def main_has(page, text: str) -> bool:
    return page.locator(MAIN).get_by_text(text).count() > 0


def test_prepare_from_an_empty_cache_in_a_real_browser(tmp_path, mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_PATH", str(mnist_path))
    monkeypatch.setenv("SAE_MAX_EPOCHS", str(MAX_EPOCHS))
    cache = tmp_path / "cache"
    store = ModelStore(cache)
    errors: list[str] = []
    try:
        with browser() as b, serve(cache, log=tmp_path / "streamlit.log") as (url, _):
            page = b.new_page(viewport={"width": 1280, "height": 720})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            wait_for_app(page)
            assert main_has(page, "has not been prepared yet")
            assert page.locator(MAIN + " .js-plotly-plot").count() == 0  # nothing to show, and nothing faked
            page.get_by_role("button", name="Prepare this model now (then the rest of the grid)").click()
            # the network learning, live: the trainer's own epochs, growing
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=stMain] .gtitle')]"
                ".some(t => t.textContent.startsWith('Live: the network is learning'))",
                timeout=180_000,
            )
            assert store.running_job() is not None
            # then the default model's finished overview
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=stMetricLabel]')]"
                ".some(m => m.textContent.includes('Redrawing error'))",
                timeout=180_000,
            )
            assert not main_has(page, "Live:")
            # the maps come later: the t-SNE page says so, asks for them, and shows them when they land
            page.goto(f"{url}/tsne")
            page.wait_for_selector(f"{MAIN} [data-testid=stAlert]", timeout=60_000)
            said = page.locator(f"{MAIN} [data-testid=stAlert]").all_inner_texts()
            page.screenshot(path=str(tmp_path / "tsne-waiting.png"))
            assert any("This map is being computed" in t for t in said), said
            page.wait_for_function(
                "() => { const g = document.querySelector('[data-testid=stMain] .js-plotly-plot');"
                " return g && g.data && g.data.some(t => t.type === 'scattergl'); }",
                timeout=300_000,
            )
            wait_for_app(page)
            assert page.locator(f"{MAIN} .js-plotly-plot").count() == 2  # raw and normalised maps
        assert not errors, errors
    finally:
        store.stop_job()
