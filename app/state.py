"""Shared dashboard state: the cache, the sidebar controls, the URL, and the guards pages use.

Pages stay thin: they call `selection()` for the chosen (lambda_k, lambda_a),
`require_cell()` for its artifacts (or a clear message and a way forward),
and build figures with `core.figures`. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core.config import SweepGrid
from core.results import CellSummary, CellView, load_cell, scan
from core.store import ModelStore
from core.sweep import read_progress

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_KEYS = ("lambda_k", "lambda_a")
LABELS = {"lambda_k": "λ_k — weight penalty (encoder)", "lambda_a": "λ_a — activity penalty (code)"}


def fmt(value: float) -> str:
    """A lambda as people read it: 0, 1.1e-05, 0.0001 -> 1e-04."""
    return "0" if value == 0 else f"{value:.2g}" if 1e-3 <= value < 1 else f"{value:.1e}"


# ----------------------------------------------------------------- the cache
@st.cache_resource
def get_store() -> ModelStore:
    return ModelStore(os.environ.get("MODELS_CACHE") or None)


def cache_token(store: ModelStore) -> tuple:
    """Changes whenever an entry is written: the names and manifest times of the entries."""
    if not store.root.is_dir():
        return ()
    out = []
    with os.scandir(store.root) as it:
        for e in it:
            if e.is_dir() and not e.name.startswith("."):
                try:
                    out.append((e.name, os.stat(os.path.join(e.path, "manifest.json")).st_mtime_ns))
                except OSError:
                    out.append((e.name, 0))
    return tuple(sorted(out))


@st.cache_data(max_entries=4, show_spinner=False)
def _scan(root: str, token: tuple) -> dict[tuple[float, float], CellSummary]:
    return scan(ModelStore(root))


@st.cache_resource(max_entries=12, show_spinner="Loading this model…")  # shared, read-only: no copy per rerun
def _load_cell(root: str, token: tuple, lambda_k: float, lambda_a: float) -> CellView | None:
    return load_cell(ModelStore(root), lambda_k, lambda_a)


def cells() -> dict[tuple[float, float], CellSummary]:
    """Every trained cell in the cache (cached until the cache changes)."""
    store = get_store()
    return _scan(str(store.root), cache_token(store))


def grid() -> SweepGrid:
    """The sliders' values: the default grid plus every cell in the cache."""
    default = SweepGrid.default()
    have = cells()
    return SweepGrid(
        lambda_k=default.lambda_k + tuple(k for k, _ in have),
        lambda_a=default.lambda_a + tuple(a for _, a in have),
    )


# ------------------------------------------------------------ the selection
@dataclass(frozen=True)
class Selection:
    lambda_k: float
    lambda_a: float

    @property
    def cell(self) -> tuple[float, float]:
        return (self.lambda_k, self.lambda_a)


def lambda_from_url(
    name: str, values: tuple[float, ...], fallback: str = "the default"
) -> tuple[float | None, str | None]:
    """The grid value the URL's parameter `name` asks for, or (None, a notice ending "showing <fallback>")."""
    raw = st.query_params.get(name)
    if raw is None:
        return None, None
    for value in values:  # links carry the sliders' labels (1.1e-05), so match those first
        if fmt(value) == raw.strip():
            return value, None
    try:
        v = float(raw)
    except ValueError:
        return None, f"The link's {name} “{raw[:20]}” is not a number; showing {fallback}."
    for value in values:
        if math.isclose(v, value, rel_tol=1e-6, abs_tol=1e-15):
            return value, None
    return None, f"The link's {name} = {raw[:20]} is not in the grid; showing {fallback}."


# Widgets whose value must survive a visit to another page: Streamlit forgets a widget that a run does not
# draw, and st.switch_page drops even the sidebar's; a plain copy (KEEP) restores them.
PERSISTENT = LAMBDA_KEYS + ("present", "anim_axis")
PERSISTENT += ("unit", "cmp_lambda_k", "cmp_lambda_a", "recon_start", "cluster_space", "frontier_x", "compare_show")
PENDING, KEEP = "_pending", "_keep"


def choose(**values) -> None:
    """Ask for new widget values (lambda_k, unit, ...) from code; they are applied at the start of the next run.

    A widget's value cannot be set once it is drawn in a run; call st.rerun() or st.switch_page() after this.
    """
    st.session_state[PENDING] = st.session_state.get(PENDING, {}) | values


def _apply_pending() -> None:
    """At the start of a run: restore forgotten widget values, apply the ones asked for, keep a copy."""
    keep = st.session_state.setdefault(KEEP, {})
    for key, value in keep.items():
        if key not in st.session_state:
            st.session_state[key] = value
    for key, value in st.session_state.pop(PENDING, {}).items():
        st.session_state[key] = value
    for key in PERSISTENT:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]  # marks it as set by code: not cleaned up
            keep[key] = st.session_state[key]


def int_from_url(name: str, upper: int) -> tuple[int | None, str | None]:
    """The URL's parameter `name` as an integer in [0, upper), or (None, a short notice); absent: (None, None)."""
    raw = st.query_params.get(name)
    if raw is None:
        return None, None
    if re.fullmatch(r"[0-9]{1,6}", raw.strip()) and int(raw) < upper:
        return int(raw), None
    return None, f"The link's {name} “{raw[:10]}” does not exist (0 to {upper - 1})"


def forget(key: str) -> None:
    """Drop a widget's value and its kept copy, so the page chooses it afresh."""
    st.session_state.pop(key, None)
    st.session_state.get(KEEP, {}).pop(key, None)


PRESENT_ON, PRESENT_OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def presenting() -> bool:
    """Presenter mode: technical details and downloads hidden, figures and text larger."""
    return bool(st.session_state.get("present"))


def sidebar() -> Selection:
    """Draw the shared controls (call once, from the entry point) and return the selection."""
    _apply_pending()
    notices = []
    if "present" not in st.session_state:  # presenter mode (its switch is in app.presenter) from the link
        raw = (st.query_params.get("present") or "0").strip().lower()
        st.session_state["present"] = raw in PRESENT_ON
        if raw not in PRESENT_ON + PRESENT_OFF:
            notices.append(
                f"The link's present “{raw[:10]}” is not 1/0, yes/no, on/off or true/false; presenter mode is off."
            )
    g = grid()
    values = {"lambda_k": g.lambda_k, "lambda_a": g.lambda_a}
    for name in LAMBDA_KEYS:
        if name not in st.session_state:
            value, notice = lambda_from_url(name, values[name])
            if notice:
                notices.append(notice)
            st.session_state[name] = value if value is not None else values[name][0]
        elif st.session_state[name] not in values[name]:
            st.session_state[name] = values[name][0]
    with st.sidebar:
        st.header("Choose a model")
        for notice in notices:
            st.warning(notice, icon=":material/link:")
        for name in LAMBDA_KEYS:
            st.select_slider(LABELS[name], options=values[name], format_func=fmt, key=name)
        sel = Selection(st.session_state["lambda_k"], st.session_state["lambda_a"])
        _readiness(g, sel)
    st.query_params.update({"lambda_k": fmt(sel.lambda_k), "lambda_a": fmt(sel.lambda_a)})
    return sel


def selection() -> Selection:
    return Selection(st.session_state["lambda_k"], st.session_state["lambda_a"])


def _readiness(g: SweepGrid, sel: Selection) -> None:
    have = cells()
    ready = {c for c, s in have.items() if s.state == "analysed"}
    row = "".join("●" if (k, sel.lambda_a) in ready else "○" for k in g.lambda_k)
    st.caption(f"Ready along λ_k at this λ_a: {row}  (● ready, ○ not yet)")
    n = len(g.lambda_k) * len(g.lambda_a)
    where = "" if presenting() else f" Cache: `{get_store().root}`"
    st.caption(f"{len(ready)} of {n} models in the grid are ready.{where}")


def ready_values(axis: str, sel: Selection) -> list[float]:
    """The grid values of `axis` whose model (the other lambda as selected) is analysed, in order."""
    have = cells()
    g = grid()
    if axis == "lambda_k":
        return [k for k in g.lambda_k if (c := have.get((k, sel.lambda_a))) and c.state == "analysed"]
    return [a for a in g.lambda_a if (c := have.get((sel.lambda_k, a))) and c.state == "analysed"]


# -------------------------------------------------------------- the guards
def find_cell(sel: Selection) -> CellView | None:
    """The cell's artifacts, or None if it is not trained and analysed."""
    store = get_store()
    return _load_cell(str(store.root), cache_token(store), sel.lambda_k, sel.lambda_a)


def require_cell(sel: Selection) -> CellView:
    """The selected cell's artifacts; otherwise a message, a way forward, and st.stop()."""
    view = find_cell(sel)
    if view is not None:
        return view
    st.info(
        f"The model for λ_k = {fmt(sel.lambda_k)}, λ_a = {fmt(sel.lambda_a)} has not been trained and analysed yet.",
        icon=":material/hourglass_empty:",
    )
    job_panel([sel.lambda_k], [sel.lambda_a], label="Train and analyse this model")
    st.stop()


# ------------------------------------------------------------------ the jobs
@st.cache_resource
def _jobs() -> dict:
    """Jobs started by this server, shared by every session: (cells) -> (Popen, log path)."""
    return {}


def _running(cells_wanted: set[tuple[float, float]]) -> bool:
    for key, (proc, _) in list(_jobs().items()):
        if proc.poll() is None and cells_wanted & set(key):
            return True
    progress = read_progress(get_store())
    return any((p["lambda_k"], p["lambda_a"]) in cells_wanted for p in progress.values())


def start_prepare(lambda_k: list[float], lambda_a: list[float]) -> None:
    """Start `python -m core prepare` for these values in its own process (once per cell set)."""
    wanted = {(k, a) for k in lambda_k for a in lambda_a}
    if _running(wanted):
        return
    store = get_store()
    cmd = [sys.executable, "-m", "core", "prepare", "--quiet", "--cache-dir", str(store.root)]
    cmd += ["--lambda-k", *map(repr, lambda_k), "--lambda-a", *map(repr, lambda_a)]
    if os.environ.get("MNIST_PATH"):
        cmd += ["--data", os.environ["MNIST_PATH"]]
    log = Path(tempfile.gettempdir()) / f"sae-prepare-{os.getpid()}-{time.time_ns()}.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    _jobs()[tuple(sorted(wanted))] = (proc, log)


def _job_error(cells_wanted: set[tuple[float, float]]) -> str | None:
    for key, (proc, log) in _jobs().items():
        if cells_wanted & set(key) and proc.poll() not in (None, 0):
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
            return lines[-1] if lines else f"the job stopped with exit code {proc.returncode}"
    return None


def job_panel(lambda_k: list[float], lambda_a: list[float], label: str) -> None:
    """A button that starts training + analysis, and its live progress (polled every second)."""
    wanted = {(k, a) for k in lambda_k for a in lambda_a}
    if not _running(wanted):
        error = _job_error(wanted)
        if error:
            st.error(f"The last attempt failed: {error}", icon=":material/warning:")
        if st.button(label, type="primary", key=f"start-{hash(tuple(sorted(wanted)))}"):
            start_prepare(lambda_k, lambda_a)
            st.rerun()
        return
    _progress_fragment(tuple(sorted(wanted)))


@st.fragment(run_every=1.0)
def _progress_fragment(wanted: tuple) -> None:
    store = get_store()
    progress = [p for p in read_progress(store).values() if (p["lambda_k"], p["lambda_a"]) in set(wanted)]
    done = sum(1 for c in wanted if cells().get(c) is not None and cells()[c].state == "analysed")
    if not _running(set(wanted)):
        st.rerun()  # finished: redraw the whole page with the new model
    with st.status(f"Working: {done} of {len(wanted)} models ready", expanded=True, state="running"):
        if not progress:
            st.write("Starting (loading TensorFlow and the data takes a few seconds)…")
        for p in progress:
            what = "training" if p["stage"] == "train" else "analysing"
            frac = min(1.0, p["done"] / max(1, p["total"]))
            st.progress(
                frac,
                text=f"λ_k = {fmt(p['lambda_k'])}, λ_a = {fmt(p['lambda_a'])}: {what}, "
                f"{p['done']}/{p['total']} ({p['detail']}){eta_text(p)}",
            )


# Typical seconds of each analysis step on one core (measured, lambda = 0), for the ETA.
ANALYSIS_STEP_SECONDS = (0.2, 0.5, 0.1, 0.1, 0.1, 11.0, 3.0, 11.0, 3.0)
TYPICAL_EPOCHS = 50  # early stopping usually ends training between epoch 25 and 60


def eta_text(p: dict) -> str:
    """About how long this cell still needs, from its progress so far (training + analysis)."""
    analysis_total = sum(ANALYSIS_STEP_SECONDS)
    if p["stage"] == "train":
        if p["done"] == 0:
            return ""
        per_epoch = p["elapsed"] / p["done"]
        left = max(TYPICAL_EPOCHS - p["done"], 3) * per_epoch + analysis_total
        return f", about {left:.0f} s left"
    done_share = sum(ANALYSIS_STEP_SECONDS[: p["done"]]) / analysis_total
    left = (1 - done_share) * analysis_total
    return f", about {left:.0f} s left"


def page_intro(title: str, plain: str, technical: str) -> None:
    """A page's title, two or three plain sentences, and the technical detail in an expander."""
    st.title(title)
    st.markdown(plain)
    if not presenting():
        with st.expander("Technical details"):
            st.markdown(technical)


PRESENTER_FONT = 17  # px: Plotly's default is 12, too small for a projector
PRESENTER_SCALE = 1.25


def chart(fig, *, where=st, **kwargs):
    """st.plotly_chart(fig, width="stretch"), larger in presenter mode; returns its selection event."""
    if presenting():
        fig.update_layout(
            font=dict(size=PRESENTER_FONT),
            title=dict(font=dict(size=PRESENTER_FONT + 4)),
            height=int((fig.layout.height or 450) * PRESENTER_SCALE),
        )
    return where.plotly_chart(fig, width="stretch", **kwargs)


def download(label: str, make, file_name: str, *, where=st) -> None:
    """A CSV download button (hidden in presenter mode); `make()` builds the bytes only when clicked."""
    if presenting():
        return
    where.download_button(
        label,
        data=make,
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"download-{file_name}",
    )


def cell_tag(sel: Selection) -> str:
    """A file-name-safe tag of a selection: lk1.1e-05_la0.003."""
    return f"lk{fmt(sel.lambda_k)}_la{fmt(sel.lambda_a)}"


@st.cache_resource(show_spinner="Loading the test images…")
def test_set():
    """(x_test (10000, 28, 28) float32, y_test (10000,)) from the local MNIST, or None if there is none.

    The dashboard never downloads: it reads $MNIST_PATH or Keras' cached file.
    """
    from core.data import DataError, load_mnist, resolve_source

    if resolve_source() is None:
        return None
    try:
        data = load_mnist()
    except DataError:
        return None
    return data.x_test, data.y_test
