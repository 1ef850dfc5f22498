"""What the server does once, as it starts: the first visitor's page then does not wait for it.

A fresh server's first run of a page used to spend about 1 s (2-core development machine) before its first
figure: importing pandas and the app's modules (0.6 s) and listing and checking the cache (0.3 s). The browser
needs about as long again to load Streamlit's page code before it asks for that run, and the server sat idle
meanwhile. `begin()`, called as the server starts (app/streamlit_app.py), does that work in a thread while the
browser loads, and `wait()`, at the top of every run, holds a run that comes before it is done (it would
otherwise do the same work at the same time, both slower). If the work fails, the run does it itself, as
before, and shows what went wrong in its own way: nothing here is shown to a visitor.

The tables' modules (pandas, pyarrow: 0.4-0.8 s) are not needed by the first page's figures. Importing them
first slowed the browser's own loading (two cores) and held the first run back; importing them just after the
first run slowed the browser's fetching of the chart code, and importing them at a fixed time slowed the moves of
a visitor who was moving then. They are imported once a run has ended and no run has begun or ended for IDLE_S
(`run_began()`, `run_ended()`: a pause); a page that shows a table before then imports them itself. A figure
built meanwhile in another thread must not see a half-imported pandas: `plotly_sees_whole_modules()`.

Streamlit's own once-per-process check before a first element is made here too (`streamlits_first_element_check`).
The server's connections are also made to send at once (`switch_off_nagle()`), before it accepts any.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import importlib
import logging
import socket
import threading
import time

# What a first run imports beyond Streamlit itself: Plotly's figures and their JSON, the icon's image library,
# and the app's own modules (with core's readers and numpy). The pages' scripts themselves run in the page.
MODULES = (
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
LATER = ("pandas", "pyarrow")  # what the tables (st.dataframe) import: after the first run (see above)
IDLE_S = 1.0  # ... once no run has begun or ended for this long (the browser has drawn the first page by then)
THREAD = "sae-startup"  # the thread's name
WAIT_S = 20.0  # the longest a run waits for the start-up work (it then does what is left itself)
# Where Plotly's `get_module` is defined and where its modules imported later find it, and Plotly's modules that
# ask `sys.modules` for an optional module (pandas, numpy, PIL) with `get_module(name, should_load=False)`, each
# through its own imported name (a test finds them all)
PLOTLY_GET_MODULE = ("_plotly_utils.optional_imports", "plotly.optional_imports")
PLOTLY_CHECKS = ("_plotly_utils.basevalidators", "_plotly_utils.utils", "plotly.basedatatypes", "plotly.io._json")

log = logging.getLogger("app.startup")
_lock = threading.Lock()
_thread: threading.Thread | None = None
_done = threading.Event()
_runs = threading.Condition()
_last_run: float | None = None  # when a run last began or ended (time.monotonic()); None until one has ended
timings: dict[str, float] = {}  # what each step took (s), logged when done


def _until_quiet() -> None:
    """Until a run has ended and no run has begun or ended for IDLE_S since."""
    with _runs:
        while _last_run is None or (left := IDLE_S - (time.monotonic() - _last_run)) > 0:
            _runs.wait(None if _last_run is None else left)


def _work() -> None:
    try:
        t = time.perf_counter()
        streamlits_first_element_check()  # first: the sooner, the fewer modules it looks through
        timings["streamlit's check"] = time.perf_counter() - t
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
    _until_quiet()
    try:
        plotly_sees_whole_modules()
        for name in LATER:
            t = time.perf_counter()
            importlib.import_module(name)
            timings[name] = time.perf_counter() - t
        log.info("the tables' modules imported: %s", ", ".join(f"{k} {timings[k]:.2f} s" for k in LATER))
    except Exception:  # noqa: BLE001 - a page that shows a table imports them itself, and says what went wrong
        log.warning("importing the tables' modules failed; a page that shows a table does it instead", exc_info=True)


def streamlits_first_element_check() -> None:
    """Do the check Streamlit makes once per process, as the first element of any page is sent, here.

    Streamlit 1.67 asks, before sending a process's first element, whether it runs in Python's interactive
    prompt (`delta_generator._maybe_print_use_warning` -> `env_util.is_repl` -> `inspect.stack()`), and
    `inspect` then looks up the file of every loaded module: 40-100 ms of the server's first run on the 2-core
    development machine, spent before the page's scripts (the first element: app/scripts.py) reached the browser.
    Under `streamlit run` it prints nothing; a later Streamlit without it is left alone.
    """
    from streamlit import delta_generator

    check = getattr(delta_generator, "_maybe_print_use_warning", None)
    if callable(check):
        check()


def begin() -> threading.Thread:
    """Start the start-up work in a thread (once per process); returns that thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_work, name=THREAD, daemon=True)
            _thread.start()
        return _thread


def run_began() -> None:
    """A run has begun (the dashboard's top): the tables' modules are not imported while runs come and go."""
    global _last_run
    with _runs:
        if _last_run is not None:
            _last_run = time.monotonic()
            _runs.notify_all()


def run_ended() -> None:
    """A run has ended (the dashboard's last line): the tables' modules are imported once the server is quiet."""
    global _last_run
    with _runs:
        _last_run = time.monotonic()
        _runs.notify_all()


def _whole(get_module):
    """Plotly's `get_module`, except that a module still being imported in another thread is not there yet."""

    def get_whole_module(name, should_load=True):
        module = get_module(name, should_load)
        # the check CPython's import makes (importlib._bootstrap._find_and_load), and narwhals' (narwhals#4067)
        if not should_load and getattr(getattr(module, "__spec__", None), "_initializing", False):
            return None
        return module

    get_whole_module.plotly_get_module = get_module
    return get_whole_module


def plotly_sees_whole_modules() -> None:
    """Make Plotly's checks for pandas (and numpy, PIL) see a module only once it is whole.

    Plotly asks `sys.modules` whether pandas is there, and if so uses it at once (`isinstance(v, pd.Series)`).
    A module enters `sys.modules` before its code runs, so while one thread imports pandas (the tables, or the
    start-up work), a figure built in another one meets a half-made pandas and fails ("partially initialized
    module 'pandas' has no attribute 'Series'": plotly/plotly.py#2433). Such a module holds no value of its own
    yet, so for Plotly it is not there. Call before any figure is built (app/dashboard.py does, at the top of
    every run); calling again changes nothing.
    """
    from _plotly_utils import optional_imports

    current = optional_imports.get_module
    if hasattr(current, "plotly_get_module"):
        return  # done in this process (every run calls this)
    whole = _whole(current)
    for name in PLOTLY_GET_MODULE + PLOTLY_CHECKS:
        importlib.import_module(name).get_module = whole


def switch_off_nagle() -> None:
    """Have every connection the server accepts send its answers at once (TCP_NODELAY), as asyncio means to.

    Streamlit 1.67 binds its listening socket itself, with protocol number 0, and the connections accepted on it
    inherit that 0; asyncio switches Nagle's algorithm off only on sockets whose protocol reads IPPROTO_TCP
    (`asyncio.base_events._set_nodelay`). With it on, every answer after the first on a kept-alive connection
    waited about 40 ms for the browser's delayed acknowledgement (measured on the development machine: 44 ms per
    request, 0.5-1.5 ms without), so the 70 or so files of Streamlit's own page, fetched over the browser's six
    connections, and the websocket's messages sent in a row, each waited in turn. (uvicorn's own pre-bound sockets
    have the same fault: Kludex/uvicorn#3149.) Called as uvicorn loads the launcher, before the server accepts a
    connection (app/streamlit_app.py); calling it again changes nothing.
    """
    from asyncio import base_events

    current = getattr(base_events, "_set_nodelay", None)
    if current is None or not hasattr(socket, "TCP_NODELAY") or hasattr(current, "sets_nodelay_for_proto_0"):
        return

    def set_nodelay(sock: socket.socket) -> None:
        current(sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM and sock.proto == 0:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    set_nodelay.sets_nodelay_for_proto_0 = True
    base_events._set_nodelay = set_nodelay


def wait(timeout: float = WAIT_S) -> bool:
    """Hold this run until the start-up work is done (at once if it never began); True if it is done."""
    with _lock:
        began = _thread is not None
    return _done.wait(timeout) if began else False
