"""Filters: the 196 encoder filters as a 14 x 14 grid of 28 x 28 grey images."""

import streamlit as st

from app import state
from core import figures

state.page_intro(
    "What does each hidden unit look for?",
    "Each small square is one of the 196 hidden units: it shows which pixels make that unit fire "
    "(light) or stay quiet (dark). Without regularization the filters look like noise; as λ grows they "
    "become smooth strokes and blobs — and some units go **dead** (outlined in red): they never fire.",
    "Filter u is column u of the encoder kernel W1 (784 × 196) reshaped to 28 × 28, scaled to its own "
    "largest absolute weight (grey = 0). Dead = never active on any of the 10,000 test images.",
)
view = state.require_cell(state.selection())
grid = figures.filter_grid(view.weights["W1"], view.arrays["dead_units"])
grid.update_layout(height=820)  # 196 tiles of 28 x 28 pixels need room to be seen
st.plotly_chart(grid, width="stretch")
st.plotly_chart(
    figures.unit_frequency_bars(
        view.arrays["unit_frequency_test"], view.arrays["dead_units"], view.arrays["dense_units"]
    ),
    width="stretch",
)
