"""Overview: loss and sparsity of the code against both regularizers, the selected model's numbers."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, tables, text

chrome.page_intro(
    "How much does regularization cost, and what does it buy?",
    "Each point is one trained network; the ringed one is the model chosen in the sidebar.",
)
sel = selection.this_run()
view = guards.require_view(sel)
m, h = view.meta, view.history
g, token = cache.grid(), cache.token()
seeds = max((r.get("seeds", 1) for r in cache.rows()), default=1)


def lambda_figures(axis: str, main: bool) -> None:
    """The loss and the density of the code against one λ (the other as selected), side by side."""
    fixed = sel.lambda_a if axis == "lambda_k" else sel.lambda_k
    selected = sel.lambda_k if axis == "lambda_k" else sel.lambda_a
    values = g.lambda_k if axis == "lambda_k" else g.lambda_a
    st.html(charts.sweep_legend(seeds))  # both figures' legend, one line above them (none inside)
    left, right = st.columns(2)
    for where, builder in ((left, charts.loss_vs_lambda), (right, charts.density_vs_lambda)):
        fig = chrome.figure(
            ("overview", builder.__name__, axis, fixed, selected, values, token),
            lambda b=builder: b(
                cache.rows(),
                axis,
                fixed,
                selected,
                grid_values=values,
                height=None if main else 460,
                legend=False,
                large_text=selection.presenting(),
            ),
        )
        chrome.chart(fig, where=where, main=main and where is left, beside_main=main and where is right)


lambda_figures("lambda_k", main=True)
cols = st.columns(5)
cols[0].metric(
    "Redrawing error", f"{m.loss_test.mse:.5f}", help="Mean squared error of the redrawn test digits (test MSE)"
)
cols[1].metric("Sparsity of the code", f"{m.sparsity_test:.1%}", help="Fraction of code entries that are zero")
cols[2].metric("Active units (of 196)", f"{m.l0_mean_test:.0f}", help="Mean number of non-zero code entries per digit")
cols[3].metric("Dead units", m.n_dead_units, help="Units that never fire on any test digit")
cols[4].metric("Epochs trained", h["last_epoch"] + 1)
st.markdown(
    "**Left:** how well the network redraws digits (reconstruction error, lower is better), next to the total "
    "loss that training minimises (the error plus the penalties), as the original study plots it. "
    "**Right:** how many of the 196 code units a digit uses. A stronger activity penalty λ_a makes the code "
    "sparser and the redrawn digits a little worse; the weight penalty λ_k costs accuracy too, and when λ_a is on "
    "it makes the code *denser* again."
)
st.subheader(f"Against λ_a (activity penalty), at λ_k = {text.fmt(sel.lambda_k)}")
lambda_figures("lambda_a", main=False)
chrome.explain(
    "Small zig-zags come from early stopping, which ends each training run at a slightly different point."
    + (
        f" The shaded bands show how far the total loss moves when the same model is trained again with "
        f"{seeds} different random starts: differences inside a band are chance, not the penalty."
        if seeds > 1
        else ""
    ),
    "Reconstruction error: the mean squared error between a digit and its reconstruction, on the 10,000 test "
    "(and 60,000 training) images with the final weights. Total loss, as the original plots it: Keras' "
    "`history['loss'][-1]` (the mean of the last epoch's batch losses) and `history['val_loss'][-1]`, i.e. MSE + "
    "λ_a·Σh²/batch + λ_k·ΣW1². *Density* is what the original notebook called sparsity: the fraction of non-zero "
    "entries of the code h, on the test and the training set; sparsity = 1 − density. Training: Adam, batch 256, "
    "early stopping on the test loss (patience 3, min_delta 1e-4).",
)

if not selection.presenting():
    if curves := chrome.opened("Training curves of the selected model", key="overview_curves"):
        with curves:
            fig = chrome.figure(("overview", "curves", *cache.identity(view)), lambda: charts.training_curves(h))
            chrome.chart(fig)
            st.markdown(text.loss_sentence(m.loss_test))

    if table := chrome.opened("Results of every model (table)", key="overview_table"):
        with table:
            st.dataframe(cache.rows_table(), hide_index=True, height=300)
    c1, c2 = st.columns(2)
    chrome.download(
        "Results of every model (CSV)", lambda: tables.results_csv(cache.cells()), "results_grid.csv", where=c1
    )
    chrome.download(
        "Training curves of this model (CSV)",
        lambda: tables.history_csv(view),
        f"history_{sel.tag}.csv",
        where=c2,
    )
