"""Run the dashboard on a free local port, and open a headless browser on it.

Used by the end-to-end test and bench/app_latency.py: `streamlit run`
headless on 127.0.0.1, ready once `/_stcore/health` answers; Debian's Chromium
driven by Playwright with the flags this machine needs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(
    cache: str | os.PathLike | None,
    log: Path | None = None,
    timeout: float = 60,
    script: str | os.PathLike = ROOT / "app" / "streamlit_app.py",
) -> Iterator[tuple[str, subprocess.Popen]]:
    """(url, process) of `streamlit run app/streamlit_app.py` on `cache` (or of another script), stopped on exit."""
    port = free_port()
    env = os.environ | {"PYTHONUNBUFFERED": "1"} | ({"MODELS_CACHE": str(cache)} if cache is not None else {})
    cmd = [sys.executable, "-m", "streamlit", "run", str(script)]
    cmd += ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1"]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                detail = log.read_text()[-2000:] if log else f"exit code {proc.poll()}"
                raise RuntimeError(f"streamlit did not start: {detail}")
            time.sleep(0.05)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if log:
            out.close()


@contextlib.contextmanager
def browser():
    """A headless Chromium (Debian's) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Until the script has finished running and every Plotly figure has drawn."""
    page.wait_for_selector(READY, timeout=timeout)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"], .sae-figure')]
                 .every(el => el.querySelector('.main-svg') && !el.matches('[data-sae-pending]'))""",
        timeout=timeout,
    )
