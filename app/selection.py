"""The selection and the URL: the λ sliders, widget values set from code, links that reopen a view.

* `sidebar()` draws the λ sliders (from the link on a first visit) and returns the `Selection`;
  pages receive it from the entry point and never read the sliders again.
* `set_widget(key=value)` is the one way code changes a widget's value (a click on a chart,
  a tour step, the animation): values are applied at the start of the next run, before any
  widget is drawn; `None` drops a value so that its page chooses afresh.
* The keys that survive a page switch and the URL parameters come from `app.keys`.
* Two λ values are the same cell by `core.config.same_lambda`, here as everywhere.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import streamlit as st

from app import cache
from app.keys import KEPT, URL_PARAMS
from app.presentation.text import fmt, literal
from core.config import snap_lambda

LAMBDA_KEYS = ("lambda_k", "lambda_a")
LABELS = {"lambda_k": "λ_k — weight penalty (encoder)", "lambda_a": "λ_a — activity penalty (code)"}
PENDING, KEEP = "_pending", "_keep"
PRESENT_ON, PRESENT_OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Selection:
    """The model chosen in the sidebar."""

    lambda_k: float
    lambda_a: float

    @property
    def cell(self) -> tuple[float, float]:
        return (self.lambda_k, self.lambda_a)

    @property
    def tag(self) -> str:
        """A file-name-safe tag: lk1.1e-05_la0.003."""
        return f"lk{fmt(self.lambda_k)}_la{fmt(self.lambda_a)}"


def set_widget(**values) -> None:
    """Set widgets' values from code (None: forget it); they apply at the start of the next run.

    A widget's value cannot change once it is drawn in a run: call st.rerun() or
    st.switch_page() after this, unless called from a widget's callback (which runs
    before the page, so the page already sees the new value).
    """
    st.session_state.setdefault(PENDING, {}).update(values)
    _apply_pending()


def _apply_pending() -> None:
    """Restore the kept widget values Streamlit dropped, apply the ones set from code, keep a copy.

    A value whose widget is drawn already in this run stays pending: it applies at the start of the next.
    """
    keep = st.session_state.setdefault(KEEP, {})
    for key, value in keep.items():
        if key not in st.session_state:
            _assign(key, value)
    pending = st.session_state.setdefault(PENDING, {})
    for key, value in list(pending.items()):
        if value is None:
            if _assign(key, None):
                keep.pop(key, None)
                pending.pop(key)
        elif _assign(key, value):
            pending.pop(key)
    for key in KEPT:
        if key in st.session_state and key not in pending:
            _assign(key, st.session_state[key])  # marks it as set by code: not cleaned up
            keep[key] = st.session_state[key]


def _assign(key: str, value) -> bool:
    """Set (or, for None, drop) a session key's value; False if its widget is drawn already in this run."""
    try:
        if value is None:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = value
    except st.errors.StreamlitAPIException:
        return False
    return True


def lambda_from_url(
    name: str, values: tuple[float, ...], fallback: str = "the default"
) -> tuple[float | None, str | None]:
    """The grid value the URL's parameter `name` asks for, or (None, a notice ending "showing <fallback>")."""
    param = URL_PARAMS.get(name, name)  # what the visitor's link calls it
    raw = st.query_params.get(param)
    if raw is None:
        return None, None
    for value in values:  # links carry the sliders' labels (1.1e-05), so match those first
        if fmt(value) == raw.strip():
            return value, None
    try:
        v = float(raw)
    except ValueError:
        return None, f"The link's {param} “{literal(raw[:20])}” is not a number; showing {fallback}."
    hit = snap_lambda(v, values)
    if hit is not None:
        return hit, None
    return None, f"The link's {param} = {literal(raw[:20])} is not in the grid; showing {fallback}."


def int_from_url(name: str, upper: int) -> tuple[int | None, str | None]:
    """The URL's parameter `name` as an integer in [0, upper), or (None, a short notice); absent: (None, None)."""
    param = URL_PARAMS.get(name, name)
    raw = st.query_params.get(param)
    if raw is None:
        return None, None
    if re.fullmatch(r"[0-9]{1,6}", raw.strip()) and int(raw) < upper:
        return int(raw), None
    return None, f"The link's {param} “{literal(raw[:10])}” does not exist (0 to {upper - 1})"


def to_url(**values: str | None) -> None:
    """Write session keys' values into the URL under their parameters (None removes one)."""
    for key, value in values.items():
        param = URL_PARAMS[key]
        if value is None:
            st.query_params.pop(param, None)
        elif st.query_params.get(param) != value:
            st.query_params[param] = value


def presenting() -> bool:
    """Presenter mode: technical details and downloads hidden, figures and text larger."""
    return bool(st.session_state.get("present"))


def nearest_ready(cell: tuple[float, float], maps: bool = False) -> tuple[float, float] | None:
    """The ready cell (with its maps, if `maps`) nearest to `cell` in grid steps, or None if none is ready.

    Distance: steps along λ_k plus steps along λ_a of the sliders' grid; ties go to the smaller λs.
    """
    ready = cache.ready_cells(maps=maps)
    if not ready:
        return None
    g = cache.grid()

    def steps(values: tuple[float, ...], v: float) -> int:
        hit = snap_lambda(v, values)
        return values.index(hit) if hit is not None else 0

    ik, ia = steps(g.lambda_k, cell[0]), steps(g.lambda_a, cell[1])
    return min(
        ready,
        key=lambda c: (abs(steps(g.lambda_k, c[0]) - ik) + abs(steps(g.lambda_a, c[1]) - ia), c[1], c[0]),
    )


def _land_on_ready(maps: bool) -> str | None:
    """First run of a session: if the chosen model is not ready, choose the nearest ready one; a one-line notice."""
    cell = (st.session_state["lambda_k"], st.session_state["lambda_a"])
    near = nearest_ready(cell, maps)
    if near is None or cache.same_cell(near, cell):
        return None
    st.session_state["lambda_k"], st.session_state["lambda_a"] = near
    return (
        f"Showing λ_k = {fmt(near[0])}, λ_a = {fmt(near[1])}, the nearest ready model: "
        f"λ_k = {fmt(cell[0])}, λ_a = {fmt(cell[1])} is not ready yet."
    )


def sidebar(maps: bool = False) -> tuple[Selection, list[str], str | None]:
    """Draw the λ sliders (call once a run, from the entry point).

    maps: the page needs the cells' maps (a first visit lands on a model that has them).
    Returns the selection, notices about the link, and a one-line note when a first visit
    landed on the nearest ready model instead of the one asked for.
    """
    _apply_pending()
    notices = []
    landed = None
    if "present" not in st.session_state:  # presenter mode (its switch is in app.presenter) from the link
        raw = (st.query_params.get("present") or "0").strip().lower()
        st.session_state["present"] = raw in PRESENT_ON
        if raw not in PRESENT_ON + PRESENT_OFF:
            notices.append(
                f"The link's present “{literal(raw[:10])}” is not 1/0, yes/no, on/off or true/false; "
                "presenter mode is off."
            )
    g = cache.grid()
    values = {"lambda_k": g.lambda_k, "lambda_a": g.lambda_a}
    first = not all(name in st.session_state for name in LAMBDA_KEYS)
    for name in LAMBDA_KEYS:
        if name not in st.session_state:
            value, notice = lambda_from_url(name, values[name])
            if notice:
                notices.append(notice)
            st.session_state[name] = value if value is not None else values[name][0]
        elif st.session_state[name] not in values[name]:
            snapped = snap_lambda(st.session_state[name], values[name])
            st.session_state[name] = snapped if snapped is not None else values[name][0]
    if first:
        landed = _land_on_ready(maps)
    with st.sidebar:
        st.header("Choose a model")
        for name in LAMBDA_KEYS:
            st.select_slider(LABELS[name], options=values[name], format_func=fmt, key=name)
    sel = Selection(st.session_state["lambda_k"], st.session_state["lambda_a"])
    to_url(lambda_k=fmt(sel.lambda_k), lambda_a=fmt(sel.lambda_a))
    _run.selection = sel
    return sel, notices, landed


_run = threading.local()


def this_run() -> Selection:
    """The selection `sidebar()` returned in this run: what a page shows."""
    return _run.selection


def current() -> Selection:
    """The selection of this run (for the presenter's tools, which run beside the pages)."""
    return Selection(st.session_state["lambda_k"], st.session_state["lambda_a"])


def ready_values(axis: str, sel: Selection, maps: bool = False) -> list[float]:
    """The grid values of `axis` whose model (the other λ as selected) is ready (with its maps, if `maps`)."""
    ready = set(cache.ready_cells(maps=maps))
    g = cache.grid()
    if axis == "lambda_k":
        return [k for k in g.lambda_k if (k, sel.lambda_a) in ready]
    return [a for a in g.lambda_a if (sel.lambda_k, a) in ready]


def clicked_points(key: str) -> list[dict]:
    """The points of the click that made this run on the figure drawn with `key` and on_select (else []).

    A figure drawn in place (app.chrome.chart) sends a click as its trigger "selection", {"points": [...]}.
    """
    selected = getattr(st.session_state.get(key), "selection", None)
    points = selected.get("points") if isinstance(selected, dict) else None
    return list(points) if isinstance(points, list) else []


def chooser(widget_key: str, target: str, field: str = "customdata"):
    """A chart's on_select callback: the clicked point's `field` (an int) becomes widget `target`'s value."""

    def on_select() -> None:
        points = clicked_points(widget_key)
        if points and points[0].get(field) is not None:
            value = points[0][field]
            set_widget(**{target: int(value[0] if isinstance(value, list) else value)})

    return on_select
