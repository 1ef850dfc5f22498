"""Reading the cache for the dashboard: the grid's cells, one cell's arrays, the job's live state.

Everything here is cached per server by the store's change token (a listing
of the entries' manifest times that opens no file), so a rerun whose cache
did not change reads nothing from disk. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import streamlit as st

from app.startup import THREAD as STARTUP_THREAD
from core.config import SweepGrid, same_lambda
from core.results import CellSummary, CellView, find, load_view, results_table, scan
from core.store import JOB_FILE, STALE_JOB_SECONDS, ModelStore, _alive

Cell = tuple[float, float]

# The threads of this module that use its Streamlit caches outside any script run, by design: the server's
# start-up work (app.startup) and reading ahead. Streamlit's warning about a thread without a run's context
# ("missing ScriptRunContext") is not about them, and would fill the server's log.
READ_AHEAD_THREAD = "read-ahead"
BACKGROUND_THREADS = (STARTUP_THREAD, READ_AHEAD_THREAD)


class _Background(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return threading.current_thread().name not in BACKGROUND_THREADS or "ScriptRunContext" not in str(record.msg)


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_Background())


@st.cache_resource
def get_store() -> ModelStore:
    return ModelStore(os.environ.get("MODELS_CACHE") or None)


_RUN_TOKEN: list = [None]  # the last run's (its ctx.cursors dict, root, token), replaced in one step


def token() -> tuple:
    """The store's change token, read once per script run (a run asks for it about ten times).

    A run then also sees one consistent listing while a job writes entries; the next run reads it afresh.
    Outside a script run (a background thread) it is read every time.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    store = get_store()
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return store.change_token()
    # ctx.cursors is a new dict at the start of every run; held here, so it is this run's by identity
    root, last = str(store.root), _RUN_TOKEN[0]
    if last is not None and last[0] is ctx.cursors and last[1] == root:
        return last[2]
    tok = store.change_token()
    _RUN_TOKEN[0] = (ctx.cursors, root, tok)
    return tok


@st.cache_resource(show_spinner=False)
def _memo() -> dict[tuple[str, str], tuple[tuple, Any]]:
    """What is derived from the whole listing, by (what, cache root): (change token, value), shared and read-only.

    Looked up by plain tuple equality: Streamlit's own hashing of the arguments (a 50-entry token, on
    every call of a cached function, several per rerun) cost a fifth of a rerun.
    """
    return {}


def _by_token(what: str, root: str, tok: tuple, compute: Callable[[], Any]) -> Any:
    memo = _memo()
    hit = memo.get((what, root))
    if hit is not None and hit[0] == tok:
        return hit[1]
    value = compute()
    memo[(what, root)] = (tok, value)
    return value


def _scan(root: str, token: tuple) -> dict[Cell, CellSummary]:
    return _by_token("scan", root, token, lambda: scan(ModelStore(root)))


VIEWS_KEPT = 24  # cells' arrays kept in memory by the server (2-3 MB each), least recently used dropped first
NEIGHBOURS = 1  # grid steps around the shown cell whose arrays are read ahead, in the background


@st.cache_resource(show_spinner=False)
def _views() -> tuple[OrderedDict, threading.Lock, set]:
    """The server's read-only views by (root, entry, manifest time, readiness), their lock, and the keys in flight."""
    return OrderedDict(), threading.Lock(), set()


def _view_key(root: str, s: CellSummary, tok: tuple) -> tuple:
    stamp = next((t[1:] for t in tok if t[0] == s.entry), None)
    return (root, s.entry, stamp, s.readiness)


def _load(root: str, s: CellSummary, key: tuple) -> CellView | None:
    """The view of `s`, read once and then kept (shared by every session, never edited)."""
    kept, lock, _ = _views()
    with lock:
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    v = load_view(ModelStore(root), s)
    if v is not None:
        with lock:
            kept[key] = v
            while len(kept) > VIEWS_KEPT:
                kept.popitem(last=False)
    return v


def _read_ahead(root: str, tok: tuple, around: Cell) -> None:
    """Read the ready neighbours of `around` in a background thread, so that the next slider step finds them."""
    g, have = _grid(root, tok), _scan(root, tok)
    kept, lock, flying = _views()
    ik = g.lambda_k.index(around[0]) if around[0] in g.lambda_k else None
    ia = g.lambda_a.index(around[1]) if around[1] in g.lambda_a else None
    if ik is None or ia is None:
        return
    todo = []
    for dk in range(-NEIGHBOURS, NEIGHBOURS + 1):
        for da in range(-NEIGHBOURS, NEIGHBOURS + 1):
            if (dk == 0) == (da == 0) or not (0 <= ik + dk < len(g.lambda_k) and 0 <= ia + da < len(g.lambda_a)):
                continue  # the four neighbours along the axes
            s = have.get((g.lambda_k[ik + dk], g.lambda_a[ia + da]))
            if s is None or not s.ready:
                continue
            key = _view_key(root, s, tok)
            with lock:
                if key in kept or key in flying:
                    continue
                flying.add(key)
            todo.append((s, key))
    if not todo:
        return

    def work() -> None:
        for s, key in todo:
            try:
                _load(root, s, key)
            except Exception:  # noqa: BLE001 - reading ahead is a courtesy; the page reads it again if needed
                pass
            finally:
                with lock:
                    flying.discard(key)

    threading.Thread(target=work, name=READ_AHEAD_THREAD, daemon=True).start()


def cells() -> dict[Cell, CellSummary]:
    """Every trained cell in the cache (cached until the cache changes)."""
    store = get_store()
    return _scan(str(store.root), token())


def _rows(root: str, token: tuple) -> list[dict[str, Any]]:
    return _by_token("rows", root, token, lambda: results_table(_scan(root, token)))


def rows() -> list[dict[str, Any]]:
    """The results table of every analysed cell (`core.results.results_table`), until the cache changes."""
    return _rows(str(get_store().root), token())


def rows_table():
    """`rows()` as an Arrow table (what `st.dataframe` sends), made once per cache change, not per rerun."""

    def make():
        import pandas as pd
        import pyarrow as pa

        return pa.Table.from_pandas(pd.DataFrame(rows()), preserve_index=False)

    root, tok = str(get_store().root), token()
    return _by_token("rows_table", root, tok, make)


def warm() -> None:
    """List and check the cache, and derive what every page reads from the listing (app.startup, as the server
    starts): the first run then finds them made, unless the cache changed in between."""
    grid()
    rows()


def same_cell(a: Cell, b: Cell) -> bool:
    return same_lambda(a[0], b[0]) and same_lambda(a[1], b[1])


def summary(lambda_k: float, lambda_a: float) -> CellSummary | None:
    """The listed cell (lambda_k, lambda_a), or None if it has no model yet."""
    return find(cells(), lambda_k, lambda_a)


def view(lambda_k: float, lambda_a: float) -> CellView | None:
    """The cell's arrays once its fast stage is done (with the maps once they are), else None."""
    s = summary(lambda_k, lambda_a)
    if s is None or not s.ready:
        return None
    root, tok = str(get_store().root), token()
    v = _load(root, s, _view_key(root, s, tok))
    _read_ahead(root, tok, s.cell)
    return v


def readiness(lambda_k: float, lambda_a: float) -> str:
    """'missing', 'trained', 'fast' or 'complete'."""
    s = summary(lambda_k, lambda_a)
    return "missing" if s is None else s.readiness


def ready_cells(maps: bool = False) -> list[Cell]:
    """The cells every page but the maps can show (maps: the cells with their maps too)."""
    return [c for c, s in cells().items() if (s.readiness == "complete" if maps else s.ready)]


def identity(view: CellView) -> tuple:
    """What names a cell's arrays for the figure cache: its entry, its manifest's time and size (an entry
    rewritten under the same name, as a retrain with other weights does, is another), how far it is analysed."""
    entry = view.summary.entry
    stamp = next((t[1:] for t in token() if t[0] == entry), None)
    return (entry, stamp, view.summary.readiness)


def _grid(root: str, token: tuple) -> SweepGrid:
    def compute() -> SweepGrid:
        default, have = SweepGrid.default(), _scan(root, token)
        return SweepGrid(
            lambda_k=default.lambda_k + tuple(k for k, _ in have),
            lambda_a=default.lambda_a + tuple(a for _, a in have),
        )

    return _by_token("grid", root, token, compute)


def grid() -> SweepGrid:
    """The sliders' values: the default grid plus every cell in the cache."""
    return _grid(str(get_store().root), token())


# ------------------------------------------------------------- the job, live
@st.cache_data(max_entries=8, show_spinner=False)
def _job_file(path: str, mtime_ns: int, size: int) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def job() -> dict[str, Any] | None:
    """The preparation job's state, as `ModelStore.job` says it; the file is read only when it changed.

    A job that says "running" but whose heartbeat (the file's time) stopped comes back "interrupted".
    """
    path = get_store().root / JOB_FILE
    try:
        stat = os.stat(path)
    except OSError:
        return None
    info = _job_file(str(path), stat.st_mtime_ns, stat.st_size)
    if info is None:
        return None
    age = time.time() - stat.st_mtime
    if info.get("state") in ("running", "stopping") and not _alive(info, age, STALE_JOB_SECONDS):
        info = info | {"state": "interrupted"}
    return info


def job_running() -> bool:
    return (job() or {}).get("state") in ("running", "stopping")


def progress() -> list[dict[str, Any]]:
    """The live progress of every cell being trained or analysed."""
    return list(get_store().progress().values())


def progress_of(lambda_k: float, lambda_a: float) -> dict[str, Any] | None:
    return next(
        (p for p in progress() if same_lambda(p["lambda_k"], lambda_k) and same_lambda(p["lambda_a"], lambda_a)),
        None,
    )


def eta_of(lambda_k: float, lambda_a: float, stage: str) -> float | None:
    """About how many seconds until the running job has done `stage` ("fast" or "slow") of this cell."""
    j = job()
    if not j or j.get("state") not in ("running", "stopping"):
        return None
    for key, seconds in (j.get("eta_by_task") or {}).items():
        k, a, s = key.split("|")
        if s == stage and same_lambda(float(k), lambda_k) and same_lambda(float(a), lambda_a):
            return float(seconds)
    return None
