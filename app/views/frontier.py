"""The sparsity-fidelity frontier: every analysed model as one point, the Pareto front drawn."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, tables, text
from core.results import pareto_front

chrome.page_intro(
    "What does a sparse code cost?",
    "Each point is one trained network: further **left**, its code uses fewer units per digit; further "
    "**down**, it redraws digits more faithfully. The ringed one is the model chosen in the sidebar; click a point to "
    "choose another.",
)
sel = selection.this_run()
cells = cache.cells()
rows = cache.rows()
if not rows:
    st.info("No model is analysed yet; the trade-off appears as soon as one is.", icon=":material/hourglass_empty:")
    guards.stop()

x_key = st.session_state.get("frontier_x", "l0_mean_test")
front = pareto_front([r[x_key] for r in rows], [r["mse_test"] for r in rows])


def _clicked() -> None:
    """A click on a point chooses its model (the callback runs before the sidebar is drawn)."""
    points = selection.clicked_points("frontier_chart")
    if points and points[0].get("customdata") is not None:
        lk, la = (float(v) for v in points[0]["customdata"])
        if (lk, la) in cells:
            selection.set_widget(lambda_k=lk, lambda_a=la)


fig = chrome.figure(
    ("frontier", x_key, sel.cell, cache.token()),
    lambda: charts.frontier(rows, front, selected=sel.cell, x_key=x_key, height=500),
)
chrome.chart(fig, key="frontier_chart", on_select=_clicked, selection_mode="points", main=True)
st.radio(
    "Sparsity measured as",
    ["l0_mean_test", "density_test"],
    format_func={"l0_mean_test": "active units per digit", "density_test": "density of the code"}.get,
    horizontal=True,
    key="frontier_x",
)
st.markdown(text.frontier_summary(rows, front, x_key))
st.caption(text.frontier_caption(rows, front, sel.cell))
chrome.explain(
    "You cannot have both for free: the dashed line joins the best trade-offs — for every model on it, no other "
    "model is both sparser and more faithful.",
    "x: the mean number of non-zero code entries per test image (L0), or the density (fraction of non-zero "
    "entries); y: the reconstruction MSE on the test set (without the penalties), log scale. Pareto front: "
    "the models not dominated in (x, y), both to be minimised.",
)
chrome.download("Results of every model (CSV)", lambda: tables.results_csv(cells), "results_grid.csv")
