"""The server's start-up work (app/startup.py) and the launcher that runs it (app/streamlit_app.py).

Each case runs in a fresh Python process: what is imported, and what Streamlit's caches hold, is the point.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from streamlit.web.server.app_discovery import discover_asgi_app

ROOT = Path(__file__).resolve().parent.parent
RESULT = "RESULT "


def _run(code: str, cache: Path) -> dict:
    """Run `code` (which sets `out`, a dict) in a fresh process on `cache`; `out` back."""
    script = f"import sys, json\nsys.path.insert(0, {str(ROOT)!r})\nout = {{}}\n{textwrap.dedent(code)}\n"
    script += f"print({RESULT!r} + json.dumps(out))\n"
    env = os.environ | {"MODELS_CACHE": str(cache)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith(RESULT))
    return json.loads(line[len(RESULT) :]) | {"stderr": proc.stderr}


def test_streamlit_run_serves_the_dashboard_through_the_launcher():
    """`streamlit run app/streamlit_app.py` finds an ASGI app there (so its start-up hook runs), whose script is
    app/dashboard.py; its start-up hook begins the work in a thread and returns at once."""
    found = discover_asgi_app(ROOT / "app" / "streamlit_app.py")
    assert found.is_asgi_app and found.import_string == "streamlit_app:streamlit_app"
    out = _run(
        """
        import asyncio, threading
        sys.path.insert(0, "app")
        import streamlit_app as launcher
        from app import startup
        out["script"] = str(launcher.streamlit_app._script_path)
        out["before"] = startup._thread is not None

        async def enter():
            async with launcher._lifespan(launcher.streamlit_app):
                out["began"] = startup._thread is not None and startup._thread.name == "sae-startup"

        asyncio.run(enter())
        out["done"] = startup.wait(120)
        """,
        ROOT / "no-such-cache",
    )
    assert out["script"] == "dashboard.py"
    assert (out["before"], out["began"], out["done"]) == (False, True, True)


def test_the_start_up_work_imports_the_first_runs_modules_and_lists_the_cache(tiny_cache):
    """After it, the first run lists nothing again: the grid and the results table come from Streamlit's cache
    (the listing is not called), and the modules a first run imports are loaded; TensorFlow is not."""
    out = _run(
        """
        from app import cache, startup
        out["waited_without_start"] = startup.wait(0)  # never began: a run does not wait
        startup.begin()
        out["done"] = startup.wait(120)
        out["modules"] = [m for m in startup.MODULES if m not in sys.modules]
        out["tensorflow"] = "tensorflow" in sys.modules
        out["timed"] = sorted(startup.timings)
        from streamlit import delta_generator, env_util
        asked = []
        env_util.is_repl = lambda: asked.append(1) or False
        delta_generator._maybe_print_use_warning()  # what the first element of the first run calls
        out["asked"] = len(asked)
        listed = []
        real = cache.scan
        cache.scan = lambda store: listed.append(1) or real(store)
        out["grid"] = [list(cache.grid().lambda_k), list(cache.grid().lambda_a)]
        out["rows"] = len(cache.rows())
        out["listed"] = len(listed)
        """,
        tiny_cache,
    )
    assert out["waited_without_start"] is False and out["done"] is True
    assert out["modules"] == [] and out["tensorflow"] is False
    assert out["timed"] == sorted([*startup_modules(), "cache", "streamlit's check"])
    assert out["asked"] == 0, "Streamlit's check before a process's first element was made at start-up"
    assert out["listed"] == 0, "the grid and the table were made at start-up"
    assert out["rows"] == 4 and len(out["grid"][0]) >= 2


def test_the_tables_modules_are_imported_once_runs_pause_after_the_first_not_before(tiny_cache):
    """pandas and pyarrow are not part of what a first run waits for; the start-up work imports them once a
    run has ended and no run has begun or ended for IDLE_S (so not while runs keep coming), and not at all
    before a run has ended."""
    out = _run(
        """
        import time
        from app import startup
        startup.IDLE_S = 2.0
        later = lambda: [m for m in startup.LATER if m in sys.modules]
        startup.begin()
        startup.wait(120)
        time.sleep(3)  # longer than IDLE_S: but no run has ended yet
        out["before_a_run_ended"] = later()
        startup.run_ended()
        for _ in range(30):  # runs keep beginning, 0.1 s apart, for 3 s: never quiet for IDLE_S
            time.sleep(0.1)
            startup.run_began()
        out["while_runs_come"] = later()
        startup._thread.join(60)
        out["after"] = later()
        out["timed"] = sorted(startup.timings)
        from streamlit import delta_generator, env_util
        asked = []
        env_util.is_repl = lambda: asked.append(1) or False
        delta_generator._maybe_print_use_warning()  # what the first element of the first run calls
        out["asked"] = len(asked)
        """,
        tiny_cache,
    )
    assert out["before_a_run_ended"] == [] and out["while_runs_come"] == []
    assert out["after"] == list(startup_later())
    assert out["timed"] == sorted([*startup_modules(), "cache", "streamlit's check", *startup_later()])


NODELAY_CHECK = """
import asyncio, socket
from streamlit.web.server.starlette import starlette_server

async def accepted_nodelay():
    listener = starlette_server._bind_socket("127.0.0.1", 0, 8)  # how Streamlit binds its socket
    seen = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport):
            sock = transport.get_extra_info("socket")
            seen.set_result((listener.proto, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    client = socket.create_connection(listener.getsockname())
    try:
        return await asyncio.wait_for(seen, 30)
    finally:
        client.close()
        server.close()
"""


def test_the_servers_connections_send_without_waiting_for_acknowledgements():
    """Streamlit's listening socket has protocol number 0, so asyncio leaves Nagle's algorithm on for its
    connections (each answer after the first on a kept-alive connection then waits ~40 ms); the launcher
    switches it off for them, as it loads."""
    out = _run(
        NODELAY_CHECK
        + """
out["before"] = asyncio.run(accepted_nodelay())
sys.path.insert(0, "app")
import streamlit_app  # the launcher, as uvicorn loads it
out["after"] = asyncio.run(accepted_nodelay())
from app import startup
startup.switch_off_nagle()  # again: the same
out["again"] = asyncio.run(accepted_nodelay())
""",
        ROOT / "no-such-cache",
    )
    assert out["before"] == [0, 0], "Streamlit binds with protocol 0 and asyncio leaves Nagle on"
    assert out["after"] == [0, 1] and out["again"] == [0, 1]


def _half_imported(name: str):
    """A module as another thread's import leaves it while its code runs: in sys.modules, nothing in it yet."""
    import importlib.machinery
    import types

    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__spec__._initializing = True
    return module


def _figure_json():
    """A figure as the pages build and send them (numpy arrays in traces, Plotly's own JSON)."""
    import numpy as np
    import plotly.graph_objects as go
    from plotly.io.json import to_json_plotly

    fig = go.Figure([go.Heatmap(z=np.arange(6.0).reshape(2, 3)), go.Scatter(x=np.arange(3), y=[1.0, 2.0, 0.5])])
    fig.update_layout(title="t", xaxis={"range": np.array([0, 2])})
    return to_json_plotly(fig.to_dict())


def test_a_figure_built_while_another_thread_imports_pandas_does_not_use_the_half_made_module(monkeypatch):
    """Plotly asks sys.modules for pandas and uses what it finds (plotly/plotly.py#2433): a half-imported
    pandas broke figures. With the dashboard's fix a module still being imported is not there for Plotly."""
    import _plotly_utils.optional_imports as optional_imports
    import pytest

    from app import startup

    expected = _figure_json()
    for name in startup.PLOTLY_GET_MODULE + startup.PLOTLY_CHECKS:  # Plotly's own (a run in this process may
        module = sys.modules[name]  # have fixed it already), put back as it was after the test
        monkeypatch.setattr(module, "get_module", getattr(module.get_module, "plotly_get_module", module.get_module))
    monkeypatch.setitem(sys.modules, "pandas", _half_imported("pandas"))
    with pytest.raises(AttributeError, match="pandas"):
        _figure_json()  # what Plotly does by itself
    startup.plotly_sees_whole_modules()
    startup.plotly_sees_whole_modules()  # twice: the same
    assert _figure_json() == expected
    assert optional_imports.get_module("pandas", should_load=False) is None
    assert optional_imports.get_module("numpy", should_load=False) is sys.modules["numpy"]  # whole: there


def test_every_plotly_module_that_asks_for_an_optional_module_is_covered():
    """The fix replaces `get_module` in each module of Plotly that calls it with should_load=False (each holds
    its own name for it): a Plotly that adds one fails here, not in a visitor's figure."""
    import plotly

    from app import startup

    site = Path(plotly.__file__).resolve().parent.parent
    asking = set()
    for package in ("plotly", "_plotly_utils"):
        for path in (site / package).rglob("*.py"):
            if "tests" not in path.parts and "should_load=False" in path.read_text(encoding="utf-8"):
                asking.add(".".join(path.relative_to(site).with_suffix("").parts))
    asking -= set(startup.PLOTLY_GET_MODULE)  # where get_module is defined (replaced there too)
    assert asking == set(startup.PLOTLY_CHECKS)


def test_the_overview_draws_its_figures_while_pandas_is_half_imported(tiny_cache):
    """The whole first page, with a pandas another thread is still importing: every figure is drawn."""
    out = _run(
        f"""
        import importlib.machinery, types
        from streamlit.testing.v1 import AppTest
        pandas = types.ModuleType("pandas")
        pandas.__spec__ = importlib.machinery.ModuleSpec("pandas", None)
        pandas.__spec__._initializing = True
        sys.modules["pandas"] = pandas
        at = AppTest.from_file({str(ROOT / "app" / "dashboard.py")!r}, default_timeout=60).run()
        out["exceptions"] = [e.value for e in at.exception]
        out["errors"] = [e.value for e in at.error]
        out["figures"] = len(at.get("bidi_component"))
        out["still_half"] = sys.modules["pandas"] is pandas
        """,
        tiny_cache,
    )
    assert out["exceptions"] == [] and out["errors"] == []
    assert out["figures"] >= 2 and out["still_half"]


def test_start_up_work_that_fails_is_logged_and_the_first_run_does_it_itself(tiny_cache):
    out = _run(
        """
        from app import cache, startup
        def broken():
            raise OSError("the disk went away")
        cache.warm = broken
        startup.begin()
        out["done"] = startup.wait(120)
        listed = []
        real = cache.scan
        cache.scan = lambda store: listed.append(1) or real(store)
        out["rows"] = len(cache.rows())
        out["listed"] = len(listed)
        """,
        tiny_cache,
    )
    assert out["done"] is True
    assert "start-up work failed" in out["stderr"] and "the disk went away" in out["stderr"]
    assert out["listed"] == 1 and out["rows"] == 4


def test_the_cache_threads_working_outside_a_run_do_not_fill_the_log_with_streamlits_context_warning():
    """Streamlit warns of every cache call made outside a script run; the start-up work and reading ahead
    make such calls by design. Only their warnings of that kind are dropped."""
    from app import cache

    name = "streamlit.runtime.scriptrunner_utils.script_run_context"
    (kept,) = [f for f in logging.getLogger(name).filters if isinstance(f, cache._Background)]
    missing = logging.LogRecord(
        name, logging.WARNING, __file__, 1, "Thread '%s': missing ScriptRunContext!", ("x",), None
    )
    other = logging.LogRecord(name, logging.WARNING, __file__, 1, "something else", (), None)
    seen: dict[str, tuple[bool, bool]] = {}

    def check(thread: str) -> None:
        seen[thread] = (kept.filter(missing), kept.filter(other))

    for thread in ("sae-startup", "read-ahead", "ScriptRunner.scriptThread"):
        t = threading.Thread(target=check, args=(thread,), name=thread)
        t.start()
        t.join()
    assert seen == {
        "sae-startup": (False, True),
        "read-ahead": (False, True),
        "ScriptRunner.scriptThread": (True, True),
    }


def startup_modules() -> tuple[str, ...]:
    from app import startup

    return startup.MODULES


def startup_later() -> tuple[str, ...]:
    from app import startup

    return startup.LATER
