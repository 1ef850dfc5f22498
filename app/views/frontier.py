"""The sparsity-fidelity frontier: every analysed model as one point, the Pareto front drawn."""

import streamlit as st

from app import exports, state
from core import figures
from core.results import pareto_front, results_table

state.page_intro(
    "What does a sparse code cost?",
    "Each point is one trained network. Further **left**, its code uses fewer units per digit (sparser); "
    "further **down**, it redraws digits more faithfully. You cannot have both for free: the dashed line "
    "joins the best trade-offs — for every model on it, no other model is both sparser and more faithful. "
    "Click a point to choose that model.",
    "x: the mean number of non-zero code entries per test image (L0), or the density (fraction of non-zero "
    "entries); y: the reconstruction MSE on the test set (without the penalties), log scale. Pareto front: "
    "the models not dominated in (x, y), both to be minimised.",
)
sel = state.selection()
cells = state.cells()
rows = results_table(cells)
if not rows:
    st.info("No model is analysed yet; the trade-off appears as soon as one is.", icon=":material/hourglass_empty:")
    st.stop()

x_key = st.radio(
    "Sparsity measured as",
    ["l0_mean_test", "density_test"],
    format_func={"l0_mean_test": "active units per digit", "density_test": "density of the code"}.get,
    horizontal=True,
    key="frontier_x",
)
front = pareto_front([r[x_key] for r in rows], [r["mse_test"] for r in rows])


def _clicked() -> None:
    """A click on a point chooses its model (the callback runs before the sidebar is drawn)."""
    points = st.session_state["frontier_chart"].selection.points
    if points and points[0].get("customdata") is not None:
        lk, la = (float(v) for v in points[0]["customdata"])
        if (lk, la) in cells:
            st.session_state["lambda_k"], st.session_state["lambda_a"] = lk, la


fig = figures.frontier(rows, front, selected=sel.cell, x_key=x_key)
fig.update_layout(height=560)
state.chart(fig, key="frontier_chart", on_select=_clicked, selection_mode="points")

chosen = next((r for r in rows if (r["lambda_k"], r["lambda_a"]) == sel.cell), None)
on_front = chosen is not None and rows.index(chosen) in front
best = min(rows, key=lambda r: r["mse_test"])
sparsest = min(rows, key=lambda r: r[x_key])
st.markdown(
    f"Of the **{len(rows)}** models, **{len(front)}** are on the front. The most faithful "
    f"(λ_k = {state.fmt(best['lambda_k'])}, λ_a = {state.fmt(best['lambda_a'])}) uses "
    f"{best['l0_mean_test']:.0f} units per digit; the sparsest (λ_k = {state.fmt(sparsest['lambda_k'])}, "
    f"λ_a = {state.fmt(sparsest['lambda_a'])}) uses {sparsest['l0_mean_test']:.0f} and redraws digits with "
    f"{sparsest['mse_test'] / best['mse_test']:.1f}× the error."
)
if chosen is None:
    st.caption("The model chosen in the sidebar is not analysed yet, so it is not on the chart.")
else:
    st.caption(
        f"The chosen model (ringed) is {'on' if on_front else 'not on'} the front"
        + ("." if on_front else ": another model is both sparser and more faithful.")
    )
state.download("Results of every model (CSV)", lambda: exports.results_csv(cells), "results_grid.csv")
