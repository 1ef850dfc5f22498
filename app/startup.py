"""What the server does once, as it starts: the first visitor's page then does not wait for it.

A fresh server's first run of a page used to spend about 1 s (2-core development machine) before its first
figure: importing pandas and the app's modules (0.6 s) and listing and checking the cache (0.3 s). The browser
needs about as long again to load Streamlit's page code before it asks for that run, and the server sat idle
meanwhile. `begin()`, called as the server starts (app/streamlit_app.py), does that work in a thread while the
browser loads, and `wait()`, at the top of every run, holds a run that comes before it is done (it would
otherwise do the same work at the same time, both slower). If the work fails, the run does it itself, as
before, and shows what went wrong in its own way: nothing here is shown to a visitor.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

# What a first run imports beyond Streamlit itself, heaviest first: pandas (which must be whole before any
# figure is built: see app/dashboard.py), Plotly's figures and their JSON, the icon's image library, and the
# app's own modules (with core's readers and numpy). The pages' scripts themselves run in the page.
MODULES = (
    "pandas",
    "plotly.graph_objects",
    "plotly.io",
    "PIL.Image",
    "app.guards",
    "app.jobs",
    "app.presenter",
    "app.selection",
    "app.presentation.charts",
    "app.presentation.tables",
    "app.presentation.text",
)
THREAD = "sae-startup"  # the thread's name
WAIT_S = 20.0  # the longest a run waits for the start-up work (it then does what is left itself)

log = logging.getLogger("app.startup")
_lock = threading.Lock()
_thread: threading.Thread | None = None
_done = threading.Event()
timings: dict[str, float] = {}  # what each step took (s), logged when done


def _work() -> None:
    try:
        for name in MODULES:
            t = time.perf_counter()
            importlib.import_module(name)
            timings[name] = time.perf_counter() - t
        from app import cache

        t = time.perf_counter()
        cache.warm()
        timings["cache"] = time.perf_counter() - t
        log.info("start-up work done: %s", ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
    except Exception:  # noqa: BLE001 - the first run does this work itself and reports a problem its own way
        log.warning("start-up work failed; the first page does it instead", exc_info=True)
    finally:
        _done.set()


def begin() -> threading.Thread:
    """Start the start-up work in a thread (once per process); returns that thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_work, name=THREAD, daemon=True)
            _thread.start()
        return _thread


def wait(timeout: float = WAIT_S) -> bool:
    """Hold this run until the start-up work is done (at once if it never began); True if it is done."""
    with _lock:
        began = _thread is not None
    return _done.wait(timeout) if began else False
