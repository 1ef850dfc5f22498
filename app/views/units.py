"""Unit explorer: one hidden unit up close, chosen by clicking its filter, by number, or in the units table."""

import numpy as np
import streamlit as st

from app import exports, state
from core import figures
from core.analysis import top_images

state.page_intro(
    "One hidden unit up close",
    "Click any filter on the left (or type a unit's number) to see what that unit does: the test digits that "
    "make it fire most, how often it fires, and on which digits. A unit that fires mostly on one digit has a "
    "clear job; a **dead** unit never fires, a **dense** one fires on more than half of all digits.",
    "Activation h_u = relu(x·W1[:, u] + b1[u]) over the 10,000 test images. Histogram: the non-zero values "
    "(30 bins up to the unit's maximum), h = 0 counted apart. Top 16: the largest h_u, ties by index. "
    "Selectivity, from how often the unit fires on each digit (the bar chart): the preferred digit's share "
    "of those ten frequencies, rescaled so 0 = as often on every digit and 1 = on one digit only "
    "(0 for a dead unit). Units firing on fewer than 20 test digits are called nearly dead.",
)
sel = state.selection()
view = state.require_cell(sel)
a = view.arrays
n_units = view.weights["W1"].shape[1]
n_images = len(a["labels_test"])
RARE = 20  # a unit firing on fewer test digits is "nearly dead": its preferences mean little
SELECTIVE = 0.1  # below this selectivity a unit is said to fire alike on every digit


units = exports.units_columns(view)  # per unit: firing count and fraction, selectivity, preferred digit...


def telling_unit() -> int:
    """The unit to open on: the most selective of those firing on at least 1% (and RARE) of the test digits."""
    freq = units["fires_on_fraction"]
    common = (freq >= 0.01) & (units["fires_on_images"] >= RARE)
    if not common.any():
        return int(np.argmax(freq))
    return int(np.argmax(np.where(common, units["selectivity"], -1.0)))


if "unit" not in st.session_state or not 0 <= st.session_state["unit"] < n_units:
    url_unit, notice = state.int_from_url("unit", n_units)
    if notice:
        st.warning(f"{notice}; showing another.", icon=":material/link:")
    st.session_state["unit"] = url_unit if url_unit is not None else telling_unit()


def _clicked() -> None:
    """A click on a filter: that unit (the callback runs before the page, so it may set the widget)."""
    points = st.session_state["unit_grid"].selection.points
    if points and points[0].get("customdata") is not None:
        st.session_state["unit"] = int(points[0]["customdata"])


def _row_chosen() -> None:
    rows = st.session_state["units_table"].selection.rows  # positions in the data, whatever the sort
    if rows:
        st.session_state["unit"] = int(rows[0])


left, right = st.columns([5, 7], gap="large")
with left:
    unit = st.number_input("Unit", min_value=0, max_value=n_units - 1, step=1, key="unit")
    grid = figures.filter_grid(view.weights["W1"], a["dead_units"], selected=unit, clickable=True)
    grid.update_layout(height=440, title=dict(text="Click a filter to explore its unit"), margin=dict(l=0, r=0))
    grid.update_traces(showscale=False, selector=dict(type="heatmap"))
    state.chart(grid, key="unit_grid", on_select=_clicked, selection_mode="points")
st.query_params["unit"] = str(unit)

n_fire = int(units["fires_on_images"][unit])
freq = n_fire / n_images
dead, dense = bool(a["dead_units"][unit]), bool(a["dense_units"][unit])
preferred, selectivity = int(units["preferred_digit"][unit]), float(units["selectivity"][unit])
with right:
    if dead:
        verdict = "is **dead**: it fires on none of the test digits, so it carries no information."
    elif n_fire < RARE:
        verdict = (
            f"fires on only {n_fire} of the {n_images:,} test digits: too few to say what it is for "
            "(it is nearly dead)."
        )
    else:
        kind = "a **dense** unit, " if dense else ""
        liking = "about as often on every digit" if selectivity < SELECTIVE else f"most often on **{preferred}s**"
        strongest = int(np.argmax(a["unit_label_mean"][unit]))  # the digit with the largest mean activation
        strength = f", most strongly on **{strongest}s**" if selectivity < SELECTIVE or strongest != preferred else ""
        verdict = (
            f"is {kind}firing on {freq:.1%} of the test digits, {liking} "
            f"(selectivity {selectivity:.2f} on a 0–1 scale){strength}."
        )
    st.subheader(f"Unit {unit}")
    st.markdown(f"Unit {unit} {verdict}")
    c1, c2 = st.columns([2, 3])
    fig = figures.unit_filter(view.weights["W1"][:, unit], unit)
    fig.update_layout(height=300, margin=dict(l=0, r=0, t=40, b=0))
    state.chart(fig, where=c1)
    imgs = top_images(a, unit)
    idx = a["unit_top_index"][unit][: len(imgs)]
    vals = a["unit_top_value"][unit][: len(imgs)]
    labels = a["labels_test"][idx]
    captions = [f"test image {i}: digit {d}, h = {v:.3g}" for i, d, v in zip(idx, labels, vals)]
    tiles = figures.digit_tiles(imgs, captions, f"The {len(imgs)} digits that excite it most", n_cols=4)
    tiles.update_layout(height=300, margin=dict(l=0, r=0, t=40, b=0))
    state.chart(tiles, where=c2)
    state.chart(figures.unit_activation_histogram(a["unit_hist"][unit], a["unit_hist_max"][unit], n_images, unit))
    state.chart(figures.unit_digit_bars(a["unit_label_frequency"][unit], unit))

st.subheader("All units")
st.caption("Sort by any column; choose a row to explore that unit.")
table = {
    "unit": units["unit"],
    "fires on": units["fires_on_fraction"] * 100,
    "mean activation": units["mean_activation"],
    "selectivity": units["selectivity"],
    "preferred digit": np.where(units["preferred_digit"] >= 0, units["preferred_digit"].astype(str), "–"),
    "status": units["status"],
}
st.dataframe(
    table,
    hide_index=True,
    height=320,
    key="units_table",
    on_select=_row_chosen,
    selection_mode="single-row",
    column_config={
        "fires on": st.column_config.ProgressColumn("fires on", format="%.1f%%", min_value=0, max_value=100),
        "mean activation": st.column_config.NumberColumn(format="%.4f"),
        "selectivity": st.column_config.ProgressColumn(format="%.2f", min_value=0, max_value=1),
    },
)
state.download("Units table (CSV)", lambda: exports.units_csv(view), f"units_{state.cell_tag(sel)}.csv")
