"""End to end in a real browser: `streamlit run` on a free port, Debian's Chromium driven by Playwright.

Visits every page, moves a slider, checks that the figure changed, and saves a
screenshot of each page (to $SCREENSHOT_DIR if set, else a temporary folder).
Set E2E_CACHE to run it on another cache (for example the full MNIST one).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PAGES = [
    ("overview", "How much does regularization cost"),
    ("filters", "What does each hidden unit look for"),
    ("reconstructions", "From digit to code and back"),
    ("similarity", "Do codes of the same digit look alike"),
    ("tsne", "A map of the codes"),
    ("clusters", "Do the codes fall into natural groups"),
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_cache, tmp_path_factory):
    cache = os.environ.get("E2E_CACHE") or str(tiny_cache)
    port = free_port()
    env = os.environ | {"MODELS_CACHE": cache, "PYTHONUNBUFFERED": "1"}
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app" / "streamlit_app.py"),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def wait_for_app(page, timeout=60_000) -> None:
    """Until the script has finished running and every Plotly figure has drawn."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .every(el => el.querySelector('.main-svg'))""",
        timeout=timeout,
    )
    page.wait_for_timeout(300)


def first_figure_data(page) -> str:
    return page.evaluate(
        "() => { const g = document.querySelector('.js-plotly-plot');"
        " return g ? JSON.stringify(g.data.map(t => [t.x, t.y, t.z, t.customdata && t.customdata.length])) : ''; }"
    )


def test_every_page_in_a_real_browser(server, browser, tmp_path):
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for name, heading in PAGES:
        page.goto(f"{server}/{'' if name == 'overview' else name}?lambda_k=0&lambda_a=0")
        wait_for_app(page)
        assert page.get_by_text(heading).first.is_visible(), name
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert page.locator(".js-plotly-plot").count() >= 1, name
        before = first_figure_data(page)
        # move the λ_k slider one step to the right with the keyboard, as a person would
        slider = page.locator('[data-testid="stSidebar"] input[type="range"]').first
        slider.focus()
        slider.press("ArrowRight")
        wait_for_app(page)
        assert "lambda_k=" in page.url and "lambda_k=0&" not in page.url + "&", name
        if page.locator(".js-plotly-plot").count():
            assert first_figure_data(page) != before, f"{name}: the figure did not change with λ_k"
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert not errors, errors
