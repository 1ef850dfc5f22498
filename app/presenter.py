"""The presenter's tools: presenter mode, the guided tour, and the λ animation.

* Presenter mode (URL `present=1`) hides technical details, downloads and the
  cache's path, and draws text and figures larger (see `app.chrome.chart`).
* The guided tour (URL `tour=N`) is a short story told in steps: each step
  opens a page with chosen λ values and says in one sentence what to notice.
  Its λ values are the smallest or largest of the ready models, so it works on any grid.
* The animation steps λ_k or λ_a through the ready models of the grid, one
  every `ANIMATION_SECONDS`, on whatever page is open.

The entry point calls `sidebar_tools()` after `selection.sidebar()` and
`tour_banner()` just before the page runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import streamlit as st

from app import cache, selection
from app.presentation.text import fmt

ANIMATION_SECONDS = 1.5


# ------------------------------------------------------------------ the tour
@dataclass(frozen=True)
class Step:
    page: str  # the page's file under app/views
    title: str
    text: str  # may name {lk}, {la} (the step's λ values) and {lk_b}, {la_b} (model B's)
    values: dict[str, str] = field(default_factory=dict)  # widget key -> "min" | "max" of its λ axis


def _axis(key: str) -> str:
    return "lambda_k" if key.endswith("lambda_k") else "lambda_a"


NONE = {"lambda_k": "min", "lambda_a": "min"}
STEPS = (
    Step(
        "overview",
        "No regularization",
        "Start with no penalty at all (λ_k = {lk}, λ_a = {la}). Each point is one trained network; the ringed "
        "one redraws digits best, and almost every one of its 196 code units is active for every digit.",
        NONE,
    ),
    Step(
        "filters",
        "What the units look for, unregularized",
        "Without regularization the filters look like noise: every unit looks at the whole image a little.",
        NONE,
    ),
    Step(
        "filters",
        "A weight penalty smooths the filters",
        "With the strongest weight penalty (λ_k = {lk}) the filters turn into smooth strokes and blobs: "
        "pieces of digits.",
        {"lambda_k": "max", "lambda_a": "min"},
    ),
    Step(
        "frontier",
        "Sparsity costs accuracy",
        "The activity penalty buys a sparse code (λ_a = {la}: few active units per digit) at the price of "
        "blurrier reconstructions. The dashed line joins the best trade-offs: no model beats them on both.",
        {"lambda_k": "min", "lambda_a": "max"},
    ),
    Step(
        "units",
        "One unit up close",
        "With both penalties at their strongest (λ_k = {lk}, λ_a = {la}) some units get a clear job: the one "
        "shown is the most digit-specific. See the digits that excite it most and the digits it fires on; "
        "click any filter to see another unit.",
        {"lambda_k": "max", "lambda_a": "max"},
    ),
    Step(
        "tsne",
        "The code still tells digits apart",
        "Even the sparse code (λ_a = {la}) puts digits of the same kind together: the islands on the map "
        "are digits, though the network never saw a label.",
        {"lambda_k": "min", "lambda_a": "max"},
    ),
    Step(
        "compare",
        "Side by side",
        "The unregularized model (A: λ_a = {la}) next to the sparsest one (B: λ_a = {la_b}), with the "
        "differences spelled out.",
        NONE | {"cmp_lambda_k": "min", "cmp_lambda_a": "max"},
    ),
)


def step_values(step: Step) -> dict[str, float]:
    """The widget values of a step: the smallest or largest λ of the ready (analysed) models."""
    ready = cache.ready_cells() or [(0.0, 0.0)]
    axes = {"lambda_k": [k for k, _ in ready], "lambda_a": [a for _, a in ready]}
    return {key: (min if how == "min" else max)(axes[_axis(key)]) for key, how in step.values.items()}


def _tour_from_url() -> int:
    n, notice = selection.int_from_url("tour", len(STEPS) + 1)
    if notice:
        st.toast(f"{notice}; the tour is off.", icon=":material/link:")
    return n or 0  # tour=0: off


def go(n: int) -> None:
    """Open tour step n (1-based; 0 ends the tour): its page, its λ values. Stops the animation."""
    _stop()
    st.session_state["tour"] = n
    if n == 0:
        st.rerun()
    step = STEPS[n - 1]
    if step.page == "units":
        selection.set_widget(unit=None)  # the units page then opens on its most telling unit
    selection.set_widget(**step_values(step))
    st.switch_page(f"views/{step.page}.py")


def tour_banner(page: str) -> None:
    """The current tour step (page: the open page's file name): what to notice, and the buttons to move on."""
    n = st.session_state.get("tour", 0)
    if not n:
        return
    step = STEPS[n - 1]
    v = step_values(step)
    sel = selection.current()
    text = step.text.format(
        lk=fmt(v.get("lambda_k", sel.lambda_k)),
        la=fmt(v.get("lambda_a", sel.lambda_a)),
        lk_b=fmt(v.get("cmp_lambda_k", 0.0)),
        la_b=fmt(v.get("cmp_lambda_a", 0.0)),
    )
    here = page == step.page and all(st.session_state.get(k) == value for k, value in v.items())
    with st.container(border=True):
        st.markdown(f"**Tour, step {n} of {len(STEPS)}: {step.title}.** {text}")
        back, nxt, end, show, _ = st.columns([1, 1, 1.5, 2, 2.5])
        if back.button("Back", icon=":material/arrow_back:", disabled=n == 1, key="tour-back"):
            go(n - 1)
        if n < len(STEPS):
            if nxt.button("Next", icon=":material/arrow_forward:", type="primary", key="tour-next"):
                go(n + 1)
        elif nxt.button("Finish", icon=":material/check:", type="primary", key="tour-finish"):
            go(0)
        if end.button("End tour", icon=":material/close:", key="tour-end"):
            go(0)
        if not here and show.button("Show this step", icon=":material/replay:", key="tour-show"):
            go(n)
        if not here:
            st.caption("You have left this step's view; *Show this step* goes back to it.")


# ------------------------------------------------------------- the animation
def next_value(values: list[float], current: float) -> float | None:
    """The value after `current` in `values`, or None at the end."""
    later = [v for v in values if v > current]
    return later[0] if later else None


def _start(axis: str) -> None:
    sel = selection.current()
    values = selection.ready_values(axis, sel)
    if values and getattr(sel, axis) == values[-1]:
        selection.set_widget(**{axis: values[0]})  # at the end: play from the start
    st.session_state["_anim"] = {"axis": axis, "last": time.monotonic()}


def _stop() -> None:
    st.session_state.pop("_anim", None)


@st.fragment(run_every=ANIMATION_SECONDS)
def _player() -> None:
    """While playing: every ANIMATION_SECONDS, the next λ of the grid and a rerun of the whole page."""
    anim = st.session_state.get("_anim")
    if not anim:
        return
    sel = selection.current()
    axis = anim["axis"]
    st.caption(f"Playing {'λ_k' if axis == 'lambda_k' else 'λ_a'} = {fmt(getattr(sel, axis))}…")
    now = time.monotonic()
    if now - anim["last"] < ANIMATION_SECONDS * 0.8:
        return  # this run is the page's own, right after a step
    nxt = next_value(selection.ready_values(axis, sel), getattr(sel, axis))
    if nxt is None:
        _stop()
    else:
        anim["last"] = now
        selection.set_widget(**{axis: nxt})
    st.rerun(scope="app")


def _animation_controls() -> None:
    anim = st.session_state.get("_anim")
    st.markdown("**Animate**")
    axis = st.radio(
        "Step through",
        ["lambda_k", "lambda_a"],
        format_func={"lambda_k": "λ_k", "lambda_a": "λ_a"}.get,
        horizontal=True,
        key="anim_axis",
        disabled=bool(anim),
        help="Steps the chosen λ through the ready models of the grid, on the page that is open.",
    )
    if anim:
        st.button("Stop", icon=":material/stop:", on_click=_stop, key="anim-stop")
        _player()
    else:
        touring = bool(st.session_state.get("tour"))
        st.button(
            "Play",
            icon=":material/play_arrow:",
            on_click=_start,
            args=(axis,),
            key="anim-play",
            disabled=touring,
            help="End the tour first: each of its steps shows chosen λ values." if touring else None,
        )


# ------------------------------------------------------------------ sidebar
def sidebar_tools() -> None:
    """Presenter mode, the tour's start button and the animation, below the λ sliders; URL state."""
    if "tour" not in st.session_state:
        st.session_state["tour"] = _tour_from_url()
    with st.sidebar:
        st.divider()
        _animation_controls()
        st.divider()
        st.toggle(
            "Presenter mode",
            key="present",
            help="Hides technical details and downloads, and draws text and figures larger.",
        )
        if not st.session_state["tour"]:
            playing = bool(st.session_state.get("_anim"))
            # one thing at a time: the tour sets its own λ, and a click during playback can be lost
            if st.button(
                "Start the guided tour",
                icon=":material/tour:",
                key="tour-start",
                disabled=playing,
                help="Stop the animation first." if playing else None,
            ):
                go(1)
    if selection.presenting():
        st.html(
            "<style>.stMainBlockContainer p, .stMainBlockContainer li {font-size: 1.2rem;}"
            " .stMainBlockContainer h1 {font-size: 2.6rem;}</style>"
        )
    selection.to_url(present="1" if selection.presenting() else None, tour=str(st.session_state["tour"] or "") or None)
