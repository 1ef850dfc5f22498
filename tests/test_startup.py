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
    assert out["timed"] == sorted([*startup_modules(), "cache"])
    assert out["listed"] == 0, "the grid and the table were made at start-up"
    assert out["rows"] == 4 and len(out["grid"][0]) >= 2


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
