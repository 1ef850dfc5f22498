"""Filters: the 196 encoder filters as a 14 x 14 grid of 28 x 28 grey images."""

import streamlit as st

from app import cache, chrome, epochs, guards, selection
from app.presentation import charts, images, snapshots, tables, units
from core import schema as S

chrome.page_intro(
    "What does each hidden unit look for?",
    "Each square is one of the 196 hidden units: light pixels make it fire, dark ones keep it quiet. "
    "Click a square to explore that unit.",
)
sel = selection.this_run()
view = guards.require_view(sel)
epoch = epochs.control(view, "filters")  # None: the final model
snaps = view.snapshots
# a retrain that records the snapshots may replace the entry under its name: its figures are other ones
ident = (*cache.identity(view), snaps.digest if snaps is not None else None)


def _clicked() -> None:
    """A click on a filter opens the unit explorer on that unit."""
    selection.chooser("filters_grid", "unit")()
    st.session_state["_open_unit"] = True


# the grid as large as before, less empty space around it: with the epoch control above, it still ends
# within a projector's 720 px
SIZE = dict(height=480, margin=dict(t=80, b=20))
if epoch is None:
    grid = chrome.figure(
        ("filters", "grid", *ident),
        lambda: images.filter_grid(view.weights["W1"], view.arrays[S.DEAD_UNITS], clickable=True, **SIZE),
    )
else:  # a snapshot of training
    grid = chrome.figure(("filters", "epoch", *ident, epoch), lambda: snapshots.filters_at(snaps, epoch, **SIZE))
chrome.chart(grid, key="filters_grid", on_select=_clicked, selection_mode="points", main=True)
epochs.unavailable(view)
if st.session_state.pop("_open_unit", False):
    st.switch_page("views/units.py")
chrome.explain(
    "Without regularization the filters look like noise; as λ grows they become smooth strokes and blobs — "
    "and some units go **dead** (outlined in orange): they never fire."
    + (" Press **Play** to watch them form during training, from random noise." if snaps else ""),
    "Filter u is column u of the encoder kernel W1 (784 × 196) reshaped to 28 × 28, scaled to its own "
    "largest absolute weight (grey = 0). Dead = never active on any of the 10,000 test images (of the "
    "final model; earlier epochs are not outlined). The epochs before the last are snapshots the trainer "
    "kept before training and after epochs 1, 2, 4, 8, …, each filter stored to 8 bits of its largest weight.",
)
chrome.chart(
    chrome.figure(
        ("filters", "frequency", *ident),
        lambda: charts.unit_frequency_bars(  # the exact counts / n, as the unit explorer shows them
            units.units_columns(view)["fires_on_fraction"], view.arrays[S.DEAD_UNITS], view.arrays[S.DENSE_UNITS]
        ),
    )
)
c1, c2 = st.columns(2)
chrome.download(
    "Filters: weights of every unit (CSV)",
    lambda: tables.filters_csv(view),
    f"filters_{sel.tag}.csv",
    where=c1,
)
chrome.download("Units table (CSV)", lambda: tables.units_csv(view), f"units_{sel.tag}.csv", where=c2)
