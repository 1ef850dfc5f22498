"""Filters: the 196 encoder filters as a 14 x 14 grid of 28 x 28 grey images."""

import streamlit as st

from app import exports, state
from core import figures

state.page_intro(
    "What does each hidden unit look for?",
    "Each small square is one of the 196 hidden units: it shows which pixels make that unit fire "
    "(light) or stay quiet (dark). Without regularization the filters look like noise; as λ grows they "
    "become smooth strokes and blobs — and some units go **dead** (outlined in red): they never fire.",
    "Filter u is column u of the encoder kernel W1 (784 × 196) reshaped to 28 × 28, scaled to its own "
    "largest absolute weight (grey = 0). Dead = never active on any of the 10,000 test images.",
)
sel = state.selection()
view = state.require_cell(sel)


def _clicked() -> None:
    points = st.session_state["filters_grid"].selection.points
    if points and points[0].get("customdata") is not None:
        state.choose(unit=int(points[0]["customdata"]))
        st.session_state["_open_unit"] = True


st.caption("Click a filter to explore its unit.")
grid = figures.filter_grid(view.weights["W1"], view.arrays["dead_units"], clickable=True)
grid.update_layout(height=820)  # 196 tiles of 28 x 28 pixels need room to be seen
state.chart(grid, key="filters_grid", on_select=_clicked, selection_mode="points")
if st.session_state.pop("_open_unit", False):
    st.switch_page("views/units.py")
state.chart(
    figures.unit_frequency_bars(  # the exact counts / n, as the unit explorer shows them
        exports.units_columns(view)["fires_on_fraction"], view.arrays["dead_units"], view.arrays["dense_units"]
    )
)
c1, c2 = st.columns(2)
state.download(
    "Filters: weights of every unit (CSV)",
    lambda: exports.filters_csv(view),
    f"filters_{state.cell_tag(sel)}.csv",
    where=c1,
)
state.download("Units table (CSV)", lambda: exports.units_csv(view), f"units_{state.cell_tag(sel)}.csv", where=c2)
