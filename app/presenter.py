"""The presenter's tools: presenter mode, the guided tour, and the λ animation.

* Presenter mode (URL `present=1`) hides technical details, downloads and the
  cache's path, and draws text and figures larger (see `app.chrome.chart`).
* The guided tour (URL `tour=N`) is a short story told in steps: each step
  opens a page with chosen λ values and says in one sentence what to notice.
  Its λ values are the smallest or largest of the ready models, so it works on any grid.
* The animation steps λ_k or λ_a through the ready models of the grid, one
  every `ANIMATION_SECONDS`, on whatever page is open; on a page whose figure
  glides from one model to the next (the t-SNE maps) each step waits for the glide.
  Stop keeps the λ written on the page's main figure when it is clicked: the page
  sends it (`STOP_WATCH`), since the server may already be a step ahead of the screen.

The entry point calls `sidebar_tools()` after `selection.sidebar()` and
`tour_banner()` just before the page runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from app import cache, chrome, selection
from app.presentation import motion
from app.presentation.text import fmt
from core.config import same_lambda, snap_lambda

ANIMATION_SECONDS = 1.5
GLIDING = {"tsne": motion.GLIDE_MS / 1000}  # pages whose maps glide to the next model: seconds a step adds
# Stop's watch on the page (stop_watch.js): takes a click on Stop and sends the λ the main figure shows
STOP_WATCH = st.components.v2.component(
    "sae_stop_watch", js=(Path(__file__).parent / "presentation" / "stop_watch.js").read_text()
)
# The page's figure must start within a projector's 720 px: less empty space above the title.
PAGE_CSS = (
    "<style>.st-key-anim-watch {display: none;}"  # Stop's watch draws nothing: no gap in the sidebar either
    " .stMainBlockContainer {padding-top: 3.5rem; padding-bottom: 2rem;}"
    " .stMainBlockContainer h1 {padding-top: 0.25rem; padding-bottom: 0.25rem;}"
    " [data-testid='stMetricLabel'] p {white-space: normal;}</style>"  # a narrow column wraps a label, never cuts it
)
PRESENTER_CSS = PAGE_CSS + (
    "<style>.stMainBlockContainer p, .stMainBlockContainer li {font-size: 1.25rem;}"
    " .stMainBlockContainer h1 {font-size: 2.2rem;}"
    " .stMainBlockContainer .sae-legend {font-size: 1.15rem;}"
    " [data-testid='stMetricLabel'] p {font-size: 1.05rem;}"
    " [data-testid='stMetricValue'], [data-testid='stMetricValue'] p {font-size: 2.4rem;}</style>"
)


# ------------------------------------------------------------------ the tour
@dataclass(frozen=True)
class Step:
    page: str  # the page's file under app/views
    title: str
    text: str  # may name {lk}, {la} (the step's λ values) and {lk_b}, {la_b} (model B's)
    values: dict[str, str] = field(default_factory=dict)  # widget key -> "min" | "max" of its λ axis
    widgets: dict[str, object] = field(default_factory=dict)  # other widgets the step sets (key -> value)


NONE = {"lambda_k": "min", "lambda_a": "min"}
STEPS = (
    Step(
        "overview",
        "Start with the weakest penalties",
        "Start with {start} (λ_k = {lk}, λ_a = {la}). Each point is one trained network; the ringed one is this "
        "model: it redraws digits best, and most of its 196 code units are active for every digit.",
        NONE,
    ),
    Step(
        "filters",
        "What the units look for",
        "With {start}, the filters look like noise: every unit looks at the whole image a little.",
        NONE,
    ),
    Step(
        "filters",
        "A weight penalty smooths the filters",
        "With a strong weight penalty (λ_k = {lk}) the filters turn into smooth strokes and blobs: pieces of digits.",
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
        "With both penalties strong (λ_k = {lk}, λ_a = {la}) some units get a clear job: the one shown is the "
        "most digit-specific. See the digits that excite it most and the digits it fires on; click any filter "
        "to see another unit.",
        {"lambda_k": "max", "lambda_a": "max"},
    ),
    Step(
        "tsne",
        "The code still tells digits apart",
        "Even a sparse code (λ_a = {la}) puts digits of the same kind together: the islands on the map are "
        "digits, though the network never saw a label.",
        {"lambda_k": "min", "lambda_a": "max"},
    ),
    Step(
        "compare",
        "Side by side",
        "The least regularized model (A: λ_k = {lk}, λ_a = {la}) next to a sparse one (B: λ_k = {lk_b}, "
        "λ_a = {la_b}), with the differences spelled out.",
        NONE | {"cmp_lambda_k": "min", "cmp_lambda_a": "max"},
    ),
    Step(
        "digit",
        "Your turn: draw a digit",
        "Draw a digit in the black square (or pick a test digit and smudge it). The sparse network (λ_a = {la}) "
        "describes it with a few dozen units, redraws it, and finds the test digits it thinks are closest; "
        "below, every model of the row redraws your handwriting.",
        {"lambda_k": "min", "lambda_a": "max"},
        {"digit_source": "test", "digit_index": 0, "digit_noise": 0.0, "digit_erase": "none"},
    ),
)
MAP_PAGES = ("tsne", "clusters")


def _pick(hows: tuple[str, str], maps: bool, avoid: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """The ready cell nearest to the grid's corner (λ_k, λ_a) = hows ("min"/"max" each), or None if none fits.

    It fits when it lies in the corner's half of the grid along both axes (a "strong" penalty is stronger
    than the middle of its grid), and differs from `avoid`.
    """
    g = cache.grid()
    axes = (g.lambda_k, g.lambda_a)
    target = [0 if how == "min" else len(values) - 1 for how, values in zip(hows, axes)]
    best, best_d = None, None
    for cell in cache.ready_cells(maps=maps):
        if avoid is not None and cache.same_cell(cell, avoid):
            continue
        pos = [values.index(v) if v in values else 0 for v, values in zip(cell, axes)]
        if any(abs(p - t) > (len(values) - 1) / 2 for p, t, values in zip(pos, target, axes)):
            continue
        d = sum(abs(p - t) for p, t in zip(pos, target))
        if best_d is None or d < best_d:
            best, best_d = cell, d
    return best


def step_values(step: Step) -> dict[str, float] | None:
    """The widget values of a step: the ready cells nearest to what it wants to show; None if none fits."""
    maps = step.page in MAP_PAGES
    out: dict[str, float] = {}
    cell = _pick((step.values["lambda_k"], step.values["lambda_a"]), maps)
    if cell is None:
        return None
    out["lambda_k"], out["lambda_a"] = cell
    if "cmp_lambda_k" in step.values:
        other = _pick((step.values["cmp_lambda_k"], step.values["cmp_lambda_a"]), False, avoid=cell)
        if other is None:
            return None
        out["cmp_lambda_k"], out["cmp_lambda_a"] = other
    return out


def step_text(step: Step, v: dict[str, float]) -> str:
    """A step's sentence, naming the cells it shows."""
    start = "no penalty at all" if v["lambda_k"] == 0 and v["lambda_a"] == 0 else "the weakest penalties ready"
    return step.text.format(
        start=start,
        lk=fmt(v["lambda_k"]),
        la=fmt(v["lambda_a"]),
        lk_b=fmt(v.get("cmp_lambda_k", 0.0)),
        la_b=fmt(v.get("cmp_lambda_a", 0.0)),
    )


def _fitting(n: int, direction: int) -> int:
    """Step n, or the nearest step after it in `direction` (+1/-1) that has ready models; 0 if none."""
    while 1 <= n <= len(STEPS):
        if step_values(STEPS[n - 1]) is not None:
            return n
        n += direction
    return 0


def _tour_from_url() -> int:
    n, notice = selection.int_from_url("tour", len(STEPS) + 1)
    if notice:
        st.toast(f"{notice}; the tour is off.", icon=":material/link:")
    return n or 0  # tour=0: off


def go(n: int, direction: int = 1) -> None:
    """Open tour step n (1-based; 0 ends the tour): its page, its λ values. Stops the animation.

    A step with no ready model that fits is skipped, in `direction`; the banner says so.
    """
    _stop()
    target = n
    n = _fitting(n, direction) if n else 0
    st.session_state["tour"] = n
    st.session_state["_tour_skipped"] = [m for m in range(min(n or target, target), max(n, target) + 1) if m != n]
    if n == 0:
        if target:
            st.toast("No step of the tour has its models ready yet; try again once more are prepared.")
        st.rerun()
    step = STEPS[n - 1]
    if step.page == "units":
        selection.set_widget(unit=None)  # the units page then opens on its most telling unit
    widgets = step.widgets
    if step.page == "digit" and chrome.test_set() is None:
        widgets = {}  # no test digits to start from: the page opens on its empty canvas and says what to do
    selection.set_widget(**step_values(step), **widgets)
    st.switch_page(f"views/{step.page}.py")


def tour_banner(page: str) -> None:
    """The current tour step (page: the open page's file name): what to notice, and the buttons to move on."""
    st.session_state["_maps_page"] = page in MAP_PAGES  # the animation steps through models with maps there
    anim = st.session_state.get("_anim")
    if anim:
        anim["page"] = page  # the animation's steps wait for the page's glide, if it has one
    n = st.session_state.get("tour", 0)
    if not n:
        return
    step = STEPS[n - 1]
    v = step_values(step)
    if v is None:  # its models went away (a cache replaced under the server): the nearest step that works
        go(n)
    text = step_text(step, v)
    here = page == step.page and all(
        st.session_state.get(k) is not None and same_lambda(st.session_state[k], value) for k, value in v.items()
    )
    with st.container(border=True):
        st.markdown(f"**Tour, step {n} of {len(STEPS)}: {step.title}.** {text}")
        skipped = st.session_state.get("_tour_skipped") or []
        if skipped:
            names = ", ".join(str(m) for m in skipped)
            st.caption(f"Step{'s' if len(skipped) > 1 else ''} {names} skipped: no model for it is ready yet.")
        back, nxt, end, show, _ = st.columns([1.4, 1.4, 1.7, 2.3, 1.2])
        first = _fitting(1, 1)
        if back.button("Back", icon=":material/arrow_back:", disabled=n <= first, key="tour-back"):
            go(n - 1, -1)
        last = n >= len(STEPS) or _fitting(n + 1, 1) == 0
        if not last:
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
def step_seconds(page: str | None) -> float:
    """Seconds between two steps of the animation on `page`: a glide from one model's map to the next plays
    in full (motion.GLIDE_MS) before the next step, and the new map stays a moment."""
    return ANIMATION_SECONDS + GLIDING.get(page or "", 0.0)


def next_value(values: list[float], current: float) -> float | None:
    """The value after `current` in `values`, or None at the end."""
    later = [v for v in values if v > current]
    return later[0] if later else None


def _start(axis: str) -> None:
    sel = selection.current()
    values = selection.ready_values(axis, sel, maps=bool(st.session_state.get("_maps_page")))
    if values and getattr(sel, axis) == values[-1]:
        selection.set_widget(**{axis: values[0]})  # at the end: play from the start
    st.session_state["_anim"] = {"axis": axis, "last": time.monotonic(), "shown": getattr(sel, axis)}


def _stop(undo_last_step: bool = False) -> None:
    """Stop at once. undo_last_step (the Stop button): a step taken just before the click, whose page was not
    drawn yet, is undone, so the λ on screen when Stop was pressed is the one that stays."""
    anim = st.session_state.pop("_anim", None)
    if not (undo_last_step and anim and anim.get("shown") is not None):
        return
    recent = time.monotonic() - anim["last"] < ANIMATION_SECONDS
    if recent and not same_lambda(st.session_state.get(anim["axis"], anim["shown"]), anim["shown"]):
        selection.set_widget(**{anim["axis"]: anim["shown"]})


def _stop_as_shown() -> None:
    """Stop clicked in the browser (stop_watch.js): keep the λ the main figure showed at the click.

    The page sends {"axis", "value"} as the figure carries it (`chrome.PLAYING`); anything else, or a λ
    that is not a ready model next to the one selected, stops as the button does (`_stop`). It applies
    even when the animation has just reached its end: the click was made on what was on screen.
    """
    shown = getattr(st.session_state.get("anim-watch"), "stop", None)
    axis, value = (shown.get("axis"), shown.get("value")) if isinstance(shown, dict) else (None, None)
    sel, match = selection.current(), None
    if axis in ("lambda_k", "lambda_a") and isinstance(value, (int, float)):  # NaN or infinity snaps to nothing
        match = snap_lambda(value, selection.ready_values(axis, sel, maps=bool(st.session_state.get("_maps_page"))))
    if match is None:
        _stop(undo_last_step=True)
        return
    _stop()
    if not same_lambda(getattr(sel, axis), match):
        selection.set_widget(**{axis: match})


def page_drawn() -> None:
    """Called after a page drew itself in full: during the animation, the λ on screen (what Stop keeps)."""
    anim = st.session_state.get("_anim")
    if anim:
        anim["shown"] = st.session_state.get(anim["axis"])


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
    if now - anim["last"] < step_seconds(anim.get("page")) * 0.8:
        return  # this run is the page's own, right after a step (or the page's glide still plays)
    drawn = anim.get("shown") is None or same_lambda(anim["shown"], getattr(sel, axis))
    if not drawn and now - anim["last"] < ANIMATION_SECONDS * 3:
        return  # the last step is not on screen yet: wait for it
    maps = bool(st.session_state.get("_maps_page"))
    nxt = next_value(selection.ready_values(axis, sel, maps=maps), getattr(sel, axis))
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
        st.button("Stop", icon=":material/stop:", on_click=_stop, args=(True,), key="anim-stop")
        STOP_WATCH(key="anim-watch", on_stop_change=_stop_as_shown, height=0)  # the browser's Stop, as shown
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
    st.html(PRESENTER_CSS if selection.presenting() else PAGE_CSS)
    selection.to_url(present="1" if selection.presenting() else None, tour=str(st.session_state["tour"] or "") or None)
