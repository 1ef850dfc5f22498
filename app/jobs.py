"""The preparation job from the dashboard: start it, hand it cells, stop or resume it, show its progress.

There is one job per cache (`core.sweep.run_job`, the same as `python -m core
prepare` in a terminal): a session that asks for cells while it runs hands
them to that job's queue (`ModelStore.request`, they move to the front)
instead of starting a process; within this server a lock makes sure two
sessions clicking at once start one process. The job's state lives in the
cache folder, so it survives a page reload and is the same for every
session; a killed job shows as interrupted, with Resume.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import streamlit as st

from app import cache, chrome
from app.presentation import progress as look
from app.selection import Selection, clicked_points, presenting, set_widget
from core.config import SweepGrid

ROOT = Path(__file__).resolve().parent.parent
REFRESH_SECONDS = 2.0  # how often an open page looks at the job while it runs
MAX_EPOCHS_VAR = "SAE_MAX_EPOCHS"  # set it to train the dashboard's models for at most that many epochs


@st.cache_resource
def _server() -> dict:
    """This server's spawn lock and the job process it started last (shared by every session)."""
    return {"lock": threading.Lock(), "proc": None}


def running() -> bool:
    server = _server()
    proc = server["proc"]
    return cache.job_running() or (proc is not None and proc.poll() is None)


def ask(cells: list[tuple[float, float]]) -> str:
    """Ask for these cells: "queued" in the running job (at the front), or "started" a job for the grid.

    A started job does the dashboard's whole grid, these cells first.
    """
    store = cache.get_store()
    server = _server()
    with server["lock"]:
        if running():
            store.request(cells, front=True)
            return "queued"
        grid = SweepGrid.default()
        extra = [c for c in cells[1:] if c not in {g.cell for g in grid.cells()}]
        if extra:  # cells outside the grid: the job takes them from its queue when it starts
            store.request(extra, front=True)
        cmd = [sys.executable, "-m", "core", "prepare", "--quiet", "--cache-dir", str(store.root)]
        cmd += ["--lambda-k", *map(repr, grid.lambda_k), "--lambda-a", *map(repr, grid.lambda_a)]
        if cells:
            cmd += ["--first", repr(cells[0][0]), repr(cells[0][1])]
        if os.environ.get("MNIST_PATH"):
            cmd += ["--data", os.environ["MNIST_PATH"]]
        if os.environ.get(MAX_EPOCHS_VAR, "").isdigit() and int(os.environ[MAX_EPOCHS_VAR]) > 0:
            cmd += ["--max-epochs", os.environ[MAX_EPOCHS_VAR]]  # a quick rehearsal: every model trained briefly
        store.ensure_writable()
        with open(store.job_log, "w") as log:
            server["proc"] = subprocess.Popen(
                cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        return "started"


def retrain(cell: tuple[float, float], entry: str) -> str:
    """Ask for `cell` to be trained again, with its entry's own training config, to record its training snapshots.

    The job (the running one, or one started for the grid as `ask` does, this cell first) takes the
    request from its queue; the entry on screen stays until the new training is saved
    (`core.store.ModelStore.save_retrained`). Returns "queued" or "started".
    """
    store = cache.get_store()
    model = store.load_entry(entry)
    train = model.config.get("train") if model is not None else None
    store.ensure_writable()
    store.request([cell], front=True, retrain=True, train=train if isinstance(train, dict) else None)
    return "queued" if running() else ask([cell])


def ask_once(cell: tuple[float, float]) -> None:
    """While a job runs, hand it the cell a page waits for (once per session and cell)."""
    asked = st.session_state.setdefault("_asked", set())
    if cell not in asked and running():
        asked.add(cell)
        cache.get_store().request([cell], front=True)


def stop() -> None:
    cache.get_store().request_stop()


def last_error() -> str | None:
    """The last line of the job's log if the job this server started failed, else None."""
    proc = _server()["proc"]
    if proc is None or proc.poll() in (None, 0):
        return None
    job = cache.job() or {}
    if job.get("state") == "finished":
        return None
    try:
        lines = [ln for ln in cache.get_store().job_log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    return lines[-1] if lines else f"the preparation stopped with exit code {proc.returncode}"


# -------------------------------------------------------------- the sidebar
def _states() -> dict[tuple[float, float], str]:
    states = {c: s.readiness for c, s in cache.cells().items()}
    for p in cache.progress():
        states[(p["lambda_k"], p["lambda_a"])] = "working"
    return states


def _map_clicked() -> None:
    points = clicked_points("readiness_map")
    if points and points[0].get("customdata"):
        k, a = points[0]["customdata"][:2]
        set_widget(lambda_k=float(k), lambda_a=float(a))


def sidebar_panel(sel: Selection, where) -> None:
    """The grid's readiness map (a click chooses a model) and the preparation's progress and controls,
    in `where` (a container in the sidebar)."""
    with where:
        if running():
            # the panel looks at the job every few seconds: no "running" flicker in the corner for that
            st.html("<style>[data-testid='stStatusWidget'] {visibility: hidden;}</style>")
            _live_panel(sel)
        else:
            _panel(sel)


def _map_figure(lambda_k: tuple, lambda_a: tuple, states: tuple, selected: tuple):
    """The readiness map, built once per grid state; the ring around the chosen cell is appended to its
    dict (a move to another model rebuilds nothing: building the map takes about 10 ms)."""
    base = chrome.figure(
        ("readiness_map", lambda_k, lambda_a, states),
        lambda: look.readiness_map(lambda_k, lambda_a, dict(states), None),
        sized=False,
    )
    sent = chrome.sendable(base, clickable=True)
    ring = look.chosen_ring(lambda_k, lambda_a, selected)
    if ring is None:
        return sent
    spec = sent.to_dict()
    return chrome.Sendable({**spec, "data": [*spec["data"], ring]})


def _grid_map(sel: Selection, on_select) -> tuple[int, int, int]:
    """Draw the readiness map; (models ready, with their maps, in the grid)."""
    g = cache.grid()
    states = _states()
    chrome.chart(
        _map_figure(g.lambda_k, g.lambda_a, tuple(sorted(states.items())), sel.cell),
        key="readiness_map",
        on_select=on_select,
        selection_mode="points",
        config={"displayModeBar": False},
    )
    st.caption(
        ":blue[●] ready, light :blue[●] ready but for its maps, :orange[●] being prepared, ○ not yet. "
        "Click a dot to choose that model."
    )
    n_ready = sum(s in ("fast", "complete") for s in states.values())
    return n_ready, sum(s == "complete" for s in states.values()), len(g.lambda_k) * len(g.lambda_a)


def _panel(sel: Selection) -> None:
    n_ready, n_maps, n_total = _grid_map(sel, _map_clicked)
    job = cache.job()
    st.caption(look.job_sentence(job, n_ready, n_maps, n_total))
    error = last_error()
    if error and not presenting():
        st.error(f"The last preparation failed: {error}", icon=":material/warning:")
    if presenting() or n_maps >= n_total:
        return
    interrupted = (job or {}).get("state") == "interrupted"
    label = "Resume preparing" if interrupted else "Prepare the rest"
    if st.button(label, icon=":material/play_arrow:", key="job-prepare", width="stretch"):
        ask([sel.cell])
        st.rerun()
    st.caption(
        "Or bring a grid prepared elsewhere: `python -m core export grid.zip` there, "
        "`python -m core import grid.zip` here."
    )


@st.fragment(run_every=REFRESH_SECONDS)
def _live_panel(sel: Selection) -> None:
    """While the job runs: the map and the progress, refreshed; the page reruns when its model lands."""
    if st.session_state.pop("_map_clicked_rerun", False):
        st.rerun(scope="app")
    _panel_running(sel)
    seen = st.session_state.get("_seen_token")
    now = cache.token()
    st.session_state["_seen_token"] = now
    if seen is not None and seen != now and _page_waits():
        st.rerun(scope="app")  # a stage landed: redraw the page (the sliders keep their values)
    if not running():
        st.rerun(scope="app")  # the job ended: show the final state and the buttons


def _panel_running(sel: Selection) -> None:
    n_ready, n_maps, n_total = _grid_map(sel, _map_clicked_live)
    job = cache.job()
    st.progress(min(1.0, (n_ready + n_maps) / (2 * n_total)), text=look.job_sentence(job, n_ready, n_maps, n_total))
    if not presenting():
        st.button("Stop preparing", icon=":material/stop:", key="job-stop", on_click=stop, width="stretch")


def _map_clicked_live() -> None:
    _map_clicked()
    st.session_state["_map_clicked_rerun"] = True


def _page_waits() -> bool:
    """Does the page on screen wait for something the cache did not have when it was drawn?"""
    return bool(st.session_state.get("_waiting"))
