"""Overview: loss and sparsity of the code against both regularizers, the selected model's numbers."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, tables, text
from core.results import results_table

chrome.page_intro(
    "How much does regularization cost, and what does it buy?",
    "Each point is one trained network; the ringed one is the model chosen in the sidebar. A stronger "
    "activity penalty λ_a makes the network redraw digits a little worse (**loss goes up**) with a code that "
    "uses fewer of its 196 units (**sparsity goes up**). The weight penalty λ_k costs loss too, but watch "
    "what it does to sparsity when λ_a is on: shrinking the weights makes the code *denser* again. Small "
    "zig-zags come from early stopping, which ends each training run at a slightly different point.",
    "Loss is the total that Keras reports: reconstruction MSE + λ_a·Σh²/batch + λ_k·ΣW1², final epoch, "
    "train and test set. *Density* is what the original notebook called sparsity: the fraction of non-zero "
    "entries of the code h over the whole test set; sparsity = 1 − density. Training: Adam, batch 256, "
    "early stopping on the test loss (patience 3, min_delta 1e-4).",
)
sel = selection.this_run()
view = guards.require_view(sel)
m, h = view.meta, view.history

cols = st.columns(6)
cols[0].metric("Test loss (total)", f"{m.loss_test.total:.5f}")
cols[1].metric("Reconstruction error (MSE)", f"{m.loss_test.mse:.5f}")
cols[2].metric("Sparsity of the code", f"{m.sparsity_test:.1%}", help="Fraction of code entries that are zero")
cols[3].metric(
    "Active units (of 196)", f"{m.l0_mean_test:.0f}", help="Mean number of non-zero code entries per test digit"
)
cols[4].metric("Dead units", m.n_dead_units, help="Units that never fire on any test digit")
cols[5].metric("Epochs trained", h["last_epoch"] + 1)

rows = results_table(cache.cells())
for axis, fixed, other in (("lambda_k", sel.lambda_a, "λ_a"), ("lambda_a", sel.lambda_k, "λ_k")):
    name = "λ_k (weight penalty)" if axis == "lambda_k" else "λ_a (activity penalty)"
    st.subheader(f"Against {name}, at {other} = {text.fmt(fixed)}")
    selected = sel.lambda_k if axis == "lambda_k" else sel.lambda_a
    left, right = st.columns(2)
    chrome.chart(charts.loss_vs_lambda(rows, axis, fixed, selected), where=left)
    chrome.chart(charts.density_vs_lambda(rows, axis, fixed, selected), where=right)

if not selection.presenting():
    with st.expander("Training curves of the selected model"):
        chrome.chart(charts.training_curves(h))
        st.markdown(text.loss_sentence(m.loss_test))

    with st.expander("Results of every model (table)"):
        st.dataframe(rows, hide_index=True, height=300)
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
