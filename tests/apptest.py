"""Shared helpers of the dashboard's AppTests: open the app on a cache, read its figures, fake a running job.

The page tests (tests/test_page_*.py) and the shell's (tests/test_app_shell.py) drive the dashboard's real script,
app/dashboard.py, with `streamlit.testing.v1.AppTest` on a temporary cache (never models_cache/).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from app.chrome import FIGURE_NAME
from conftest import ROOT
from core.config import ModelConfig, TrainConfig
from core.store import CHECKED_FILE, EntryKey, JobHandle, ModelStore

APP = str(ROOT / "app" / "dashboard.py")
PAGES = ["overview", "filters", "reconstructions", "similarity", "tsne", "clusters", "units", "frontier", "compare"]
_POPEN = subprocess.Popen  # the real one, whatever a test's fake_popen fixture does
MAP_PAGES = ("tsne", "clusters")  # the pages that need the slow stage (t-SNE maps, K-means)
FAST_PAGES = [p for p in PAGES if p not in MAP_PAGES]


def app(cache, monkeypatch, query=None, page: str | None = None) -> AppTest:
    """A fresh session (a new browser tab) of a fresh server on `cache`, run once (then on `page`, if given)."""
    monkeypatch.setenv("MODELS_CACHE", str(cache))
    monkeypatch.delenv("MNIST_PATH", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()  # the store, the cached views, and app.jobs' server state (its one job process)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    if page is not None:
        at.switch_page(f"views/{page}.py").run()
    return at


def session(query=None) -> AppTest:
    """Another session of the same server (same process, shared caches): a second browser tab, run once."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    return at.run()


def arr(v) -> np.ndarray:
    """A figure's array as Plotly's JSON holds it: a list, or base64 {"bdata", "dtype"}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def figure_elements(root) -> list:
    """The figures under `root` (e.g. at.main) in page order: every one is drawn in place (app.chrome.FIGURE)."""
    return [e for e in root if e.type == "bidi_component" and e.proto.component_name.endswith(FIGURE_NAME)]


def figure_spec(element) -> dict:
    """The figure an element of `figure_elements` draws, as Plotly's JSON."""
    return json.loads(element.proto.bytes)


def charts(at) -> list[dict]:
    """The page's figures (the main area's; the sidebar's readiness map is not the page's)."""
    return [figure_spec(e) for e in figure_elements(at.main)]


def sidebar_charts(at) -> list[dict]:
    return [figure_spec(e) for e in figure_elements(at.sidebar)]


def readiness_map(at):
    """The sidebar's readiness map element (its proto has the widget id a click is sent to)."""
    found = [c for c in figure_elements(at.sidebar) if "readiness_map" in c.proto.id]
    assert len(found) == 1, "the sidebar shows one readiness map"
    return found[0]


def click_points(at, chart, points: list[dict]) -> AppTest:
    """Run `at` as if the user had clicked `points` on `chart` (a figure drawn with on_select).

    AppTest has no API for a chart's selection: this sends what the browser would send with the other
    widgets' states, the figure's trigger "selection" ({"points": ...}, figure.js).
    """
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    states = at._tree.get_widget_states()
    click = [{"event": "selection", "value": {"points": points}}]
    states.widgets.append(
        WidgetState(id=_make_trigger_id(chart.proto.id, "events"), json_trigger_value=json.dumps(click))
    )
    return at._tree._runner._run(states)


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` with its size and modification time (to show that looking writes nothing).

    But the record of which contents passed the listing's check (core.store.CHECKED_FILE), which any
    listing of the cache adds to as files settle: it holds no data, only spares the next process a check.
    """
    files = (p for p in root.rglob("*") if p.is_file() and p.name != CHECKED_FILE)
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def copy_cache(src: Path, dst: Path) -> Path:
    """A private copy of a session-wide cache, for a test that writes job files into it."""
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------ a job, faked
def task(lambda_k: float, lambda_a: float, stage: str) -> str:
    """A key of the job file's eta_by_task, as `core.sweep` writes it."""
    return f"{lambda_k!r}|{lambda_a!r}|{stage}"


def fake_job(root: Path, state: str = "running", pid: int | None = None, **fields) -> None:
    """Write the cache's job file as a job with process `pid` (default: this live one) on this host would."""
    store = ModelStore(root)
    store.ensure_writable()
    info = {"pid": os.getpid() if pid is None else pid, "host": socket.gethostname(), "started": time.time()}
    JobHandle(store, info | {"command": "prepare"} | fields).update(state=state)


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = _POPEN([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def fake_training(root: Path, cell: tuple[float, float], epochs: int, total: int = 100) -> None:
    """Write the live progress file of a model of `cell` in training, `epochs` epochs done (as core.sweep does)."""
    loss = [0.1 / (1 + e) for e in range(epochs)]
    key = EntryKey(ModelConfig(lambda_k=cell[0], lambda_a=cell[1]), TrainConfig(), "fake-data")
    ModelStore(root).write_progress(
        key,
        {
            "lambda_k": cell[0],
            "lambda_a": cell[1],
            "stage": "train",
            "done": epochs,
            "total": total,
            "detail": f"test loss {loss[-1]:.5f}",
            "elapsed": 2.0 * epochs,
            "loss": loss,
            "val_loss": [v * 1.1 for v in loss],
        },
    )


# ------------------------------------------------------- checks every page shares
def assert_renders(at, page: str) -> None:
    """The page drew without an exception: a title, at least one figure, technical details in an expander."""
    assert not at.exception
    assert not at.error, f"{page}: {texts(at.error)}"
    assert at.title and charts(at), f"{page} shows a title and at least one figure"
    assert at.expander, "technical details live in an expander"


def assert_sliders_change_figures(at) -> None:
    """Moving either λ slider changes the page's figures, and the link follows."""
    before = charts(at)
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    assert not at.exception
    after_k = charts(at)
    assert [c["data"] for c in after_k] != [c["data"] for c in before]
    at.select_slider(key="lambda_a").set_value(1e-3).run()
    assert [c["data"] for c in charts(at)] != [c["data"] for c in after_k]
    assert at.query_params["lambda_k"] == "0.001" and at.query_params["lambda_a"] == "0.001"


def csv_buttons(at) -> list[str]:
    """The labels of the page's download buttons."""
    return [b.proto.label for b in at.get("download_button")]


def assert_waits_for_maps(at, page: str) -> None:
    """A map page on a model without its slow stage: says so, offers to compute them, draws no figure."""
    assert not at.exception and not at.error
    assert at.title, f"{page} still shows its title"
    assert any("have not been computed yet" in i for i in texts(at.info)), texts(at.info)
    assert [b.label for b in at.main.button] == ["Compute them now"]
    assert charts(at) == [], f"{page} draws no figure without its maps"
    assert readiness_map(at), "the sidebar's readiness map is there"


# ------------------------------------------------ the two maps pages (t-SNE, clusters) without their slow stage
def check_offers_to_compute_maps(fast_only_cache, monkeypatch, page: str) -> None:
    at = app(fast_only_cache, monkeypatch, page=page)
    assert_waits_for_maps(at, page)
    assert texts(at.info) == ["The maps of the model λ_k = 0, λ_a = 0 have not been computed yet."]
    assert not at.get("download_button")


def check_compute_now_starts_one_job(fast_only_cache, tmp_path, monkeypatch, fake_popen, page: str) -> None:
    root = copy_cache(fast_only_cache, tmp_path / "cache")  # the button writes the job's log there
    at = app(root, monkeypatch, {"lambda_k": "0.001", "lambda_a": "0"}, page=page)
    at.main.button[0].click().run()
    assert not at.exception
    assert len(fake_popen) == 1
    cmd = fake_popen[0]["cmd"]
    assert cmd[1:4] == ["-m", "core", "prepare"] and str(root) in cmd
    assert cmd[cmd.index("--first") + 1 : cmd.index("--first") + 3] == ["0.001", "0.0"]
    assert "Compute them now" not in [b.label for b in at.main.button], "no second job from this page"


def check_says_when_maps_are_ready(fast_only_cache, tmp_path, monkeypatch, page: str) -> None:
    root = copy_cache(fast_only_cache, tmp_path / "cache")
    fake_job(root, eta_by_task={task(0.0, 0.0, "slow"): 42.0, task(1e-3, 0.0, "slow"): 300.0})
    at = app(root, monkeypatch, page=page)
    assert not at.exception
    assert texts(at.info) == ["This map is being computed; ready in about 40 s."]
    assert charts(at) == [] and not at.main.button
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    assert texts(at.info) == ["This map is being computed; ready in about 5 min."]
