"""Your digit: draw a digit (or smudge a test digit) and see its code, its redrawing, and its nearest test digits.

Only the part under the canvas reruns after a stroke (a fragment): one decoded PNG, one forward pass per
model of the strip, one search over the test codes, which are computed once per model and kept.
"""

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from app import cache, chrome, guards, selection
from app.presentation import digit as look
from app.presentation.text import fmt
from core import digit
from core.config import same_lambda
from core.store import ModelStore

CANVAS = 280  # px: MNIST's 28 x 28 frame, 10 screen pixels per pixel
FACTOR = CANVAS // digit.SIDE
STROKE = 22  # px: about MNIST's stroke width once a digit the height of the canvas is scaled to 20 pixels
N_NEIGHBOURS = 5
SOURCES = {"draw": "Draw", "test": "Smudge a test digit"}
PENS = {"ink": "Ink", "eraser": "Eraser"}
AXES = {"lambda_k": "λ_k (weight penalty)", "lambda_a": "λ_a (activity penalty)"}
TIGHT = dict(l=0, r=0, t=40, b=0)

chrome.page_intro(
    "What does the network make of your handwriting?",
    "Draw a digit in the black square (or smudge a test digit): the network turns it into a code of 196 numbers "
    "and redraws it from that code alone.",
)
sel = selection.this_run()
view = guards.require_view(sel)
test = chrome.test_set()  # None without a local MNIST file: then only drawings, and no neighbours
root = str(cache.get_store().root)


def _stamps() -> dict[str, tuple]:
    """Every entry's manifest time, from the cache's change token (one listing): a rewritten entry is read again."""
    return {t[0]: tuple(t[1:]) for t in cache.token()}


@st.cache_resource(max_entries=32, show_spinner=False)  # a row and a column of the grid, and more
def _weights(root: str, entry: str, stamp: tuple) -> dict | None:
    """A model's weights only (the strip needs nothing else), read once per server."""
    model = ModelStore(root).load_entry(entry)
    return None if model is None else model.weights


@st.cache_resource(max_entries=4, show_spinner="Encoding the 10,000 test digits for this model (once)…")
def _index(entry: str, stamp: tuple, _weights: dict, _x_test: np.ndarray) -> digit.CodeIndex:
    """The test digits' codes under the model `entry`, for the neighbour search (one per model, kept)."""
    return digit.index_codes(_x_test, _weights)


def _clicked() -> None:
    """A click on a unit of the code opens the unit explorer on that unit."""
    selection.chooser("digit_code", "unit")()
    st.session_state["_open_unit"] = True


def _clear() -> None:
    st.session_state["digit_clears"] = st.session_state.get("digit_clears", 0) + 1


def _another() -> None:
    rng = np.random.default_rng()
    st.session_state["digit_index"] = int(rng.integers(0, len(test[0])))


def _pen() -> None:
    """Under the canvas: ink or eraser, and a fresh canvas."""
    c1, c2 = st.columns([1.6, 1], vertical_alignment="center")
    with c1:
        st.segmented_control(
            "Pen",
            list(PENS),
            format_func=PENS.get,
            default="ink",
            required=True,
            key="digit_pen",
            label_visibility="collapsed",
            width="stretch",
        )
    c2.button("Clear", icon=":material/delete:", on_click=_clear, key="digit_clear", width="stretch")


def _drawing(source: str) -> tuple[np.ndarray | None, str]:
    """The canvas and its controls; (the digit in MNIST's form, or None if there is none yet; the prompt)."""
    colour = "#000000" if st.session_state.get("digit_pen") == "eraser" else "#FFFFFF"
    clears = st.session_state.get("digit_clears", 0)
    if source == "draw":
        result = st_canvas(
            stroke_width=STROKE,
            stroke_color=colour,
            background_color="#000000",
            width=CANVAS,
            height=CANVAS,
            return_image_data=True,
            key=f"digit_canvas_draw_{clears}",
        )
        _pen()
        rgba = result.image_data
        x = None if rgba is None else digit.to_mnist(digit.ink(rgba))
        return x, "Draw a digit in the black square with the mouse (or a finger): the network's answer appears here."
    i = int(st.session_state.setdefault("digit_index", 0))
    noise = float(st.session_state.get("digit_noise", 0.0))
    erase = st.session_state.get("digit_erase", "none")
    base = digit.smudge(test[0][i], noise, erase, seed=i)
    result = st_canvas(
        stroke_width=STROKE,
        stroke_color=colour,
        background_image=look.png(base, FACTOR),
        width=CANVAS,
        height=CANVAS,
        return_image_data=True,
        key=f"digit_canvas_test_{i}_{clears}",
    )
    _pen()
    c1, c2 = st.columns([1.1, 1], vertical_alignment="bottom")
    c1.number_input("Test digit", min_value=0, max_value=len(test[0]) - 1, step=1, key="digit_index")
    c2.button("Random", icon=":material/casino:", on_click=_another, key="digit_another", width="stretch")
    st.slider("Noise", 0.0, 0.5, step=0.05, key="digit_noise", help="Gaussian noise of this standard deviation")
    st.selectbox("Erase", list(digit.ERASE), key="digit_erase")
    x = digit.paint_over(base, result.image_data)
    x = None if digit.nearly_empty(x) else x
    return x, "Nothing is left of this digit: draw on it with the ink, or erase less."


def _strip(x: np.ndarray, axis: str, stamps: dict[str, tuple]) -> None:
    """Every ready model of the sidebar's λ_a row (or λ_k column): its redrawing of x, its active units."""
    cells = cache.cells()  # the cache is listed once per stroke, not once per model
    fixed = sel.lambda_a if axis == "lambda_k" else sel.lambda_k
    row = sorted(
        (c for c in cells.values() if c.ready and same_lambda(c.cell[1 if axis == "lambda_k" else 0], fixed)),
        key=lambda c: c.cell,
    )
    tiles, labels, hover, chosen = [], [], [], None
    for s in row:
        cell, v = s.cell, s.cell[0 if axis == "lambda_k" else 1]
        if cache.same_cell(cell, sel.cell):
            weights, chosen = view.weights, len(tiles)
        else:
            weights = _weights(root, s.entry, stamps.get(s.entry, ()))
        if weights is None:
            continue
        p = digit.forward(x, weights)
        tiles.append(p.output)
        labels.append(f"{fmt(v)}<br>{p.active}")
        hover.append(f"λ_k = {fmt(cell[0])}, λ_a = {fmt(cell[1])}<br>{p.active} of {p.code.size} units active")
    other = "λ_a" if axis == "lambda_k" else "λ_k"
    fixed = fmt(sel.lambda_a if axis == "lambda_k" else sel.lambda_k)
    name = "λ_k" if axis == "lambda_k" else "λ_a"
    fig = look.tile_row(
        tiles,
        labels,
        hover,
        f"Redrawn by every ready model with {other} = {fixed}",
        selected=chosen,
        axis_title=f"{name}; under it, how many code units are active",
        height=260,
        margin=TIGHT,
    )
    chrome.chart(fig)


@st.fragment
def workbench() -> None:
    """The canvas and everything drawn from it: only this part reruns after a stroke."""
    left, right = st.columns([1.2, 2], gap="small")
    with left:
        sources = list(SOURCES) if test is not None else ["draw"]
        source = st.segmented_control(
            "Start from",
            sources,
            format_func=SOURCES.get,
            default="draw",
            required=True,
            key="digit_source",
            label_visibility="collapsed",
        )
        st.space("medium")  # room for the canvas's own toolbar (undo, redo, clear), shown above it on hover
        x, prompt = _drawing(source)
    with right:
        if x is None:
            st.info(prompt, icon=":material/draw:")
            return
        stamps = _stamps()
        p = digit.forward(x, view.weights)
        chrome.chart(
            look.code_figure(x, p.code, p.output, height=260, margin=TIGHT),
            key="digit_code",
            on_select=_clicked,
            selection_mode="points",
            main=True,
        )
        if st.session_state.pop("_open_unit", False):
            st.switch_page("views/units.py")
        if test is None:
            if not selection.presenting():
                st.caption("Set MNIST_PATH to the MNIST file to see the test digits nearest to yours.")
        else:
            entry = view.summary.entry
            index = _index(entry, stamps.get(entry, ()), view.weights, test[0])
            ids, scores, how = digit.nearest(p.code, index, N_NEIGHBOURS)
            labels = test[1][ids]
            if how == "cosine":
                ticks = [f"a {d}<br>{s:.2f}" for d, s in zip(labels, scores)]
                title = "Nearest test digits · code similarity"
                hover = [f"test image {i}: a {d}<br>cosine similarity {s:.3f}" for i, d, s in zip(ids, labels, scores)]
            else:
                ticks = [f"a {d}<br> " for d in labels]
                title = "Its code is all zeros: the test digits with the smallest codes"
                hover = [f"test image {i}: a {d}<br>code length {s:.3g}" for i, d, s in zip(ids, labels, scores)]
            chrome.chart(look.tile_row(test[0][ids], ticks, hover, title, height=230, margin=TIGHT))
    axis = st.segmented_control(
        "Across the grid",
        list(AXES),
        format_func=AXES.get,
        default="lambda_k",
        required=True,
        key="digit_axis",
    )
    _strip(x, axis, stamps)


workbench()
chrome.explain(
    "Each penalty treats your handwriting its own way. The activity penalty λ_a switches units off: at its "
    "strongest, with no weight penalty, only a few dozen of the 196 stay active and the redrawn digit turns "
    "blurry and average; a weight penalty λ_k on top makes the code denser again (the strip across the grid). "
    "Under each nearest test digit: how alike its code is to yours (1 = the same direction). Try a sloppy 7, "
    "a 4 with an open top, or erase half of a test digit — and move the sliders.",
    "- **Your drawing in MNIST's form**, as MNIST's own digits were made: the bounding box of the ink is "
    "scaled, aspect ratio kept, so that its larger side is 20 pixels (by area averaging, so it is anti-aliased), "
    "and put in the 28 × 28 frame, moved by whole pixels so that its centre of mass is at pixel (14, 14) — where "
    "the MNIST test digits have theirs. A canvas with almost no ink (or only a dot) is not a digit yet.\n"
    "- **A test digit** stays where it is: *Erase* blacks out a part of its 28 × 28 frame, *Noise* adds Gaussian "
    "noise of that standard deviation (the same noise for the same digit), clipped to [0, 1], and your strokes "
    "are painted over it in place (the canvas shrunk back to 28 × 28 by area averaging).\n"
    "- **The network**, in numpy on the server: the code h = relu(x·W1 + b1), shown 14 × 14 and scaled to its "
    "own maximum (active = h > 0); the redrawing sigmoid(h·W2 + b2).\n"
    "- **Nearest test digits**: the largest cosine similarity (the number under each) between your code and "
    "the codes of the 10,000 test digits under this model, computed once per model; an all-zero code has no "
    "direction, so then the test digits whose codes are smallest.",
)
