"""Compare two models side by side: the one chosen in the sidebar (A) and a second one (B)."""

import streamlit as st

from app import exports, state
from core import figures
from core.results import differences

state.page_intro(
    "Two models side by side",
    "Model **A** is the one chosen in the sidebar; choose model **B** below. Their numbers, filters, "
    "reconstructions and maps are shown next to each other, and the differences are spelled out.",
    "All numbers are on the 10,000 test images; percentages are relative to model A. The reconstructions "
    "are the same 20 test digits for both models.",
)
sel_a = state.selection()
view_a = state.require_cell(sel_a)
g = state.grid()


def default_b() -> tuple[float, float]:
    """B differs from A in the activity penalty: the strongest ready one (or the weakest, if A has it)."""
    others = [v for v in state.ready_values("lambda_a", sel_a) if v != sel_a.lambda_a]
    if not others:
        return sel_a.cell
    return sel_a.lambda_k, max(others) if max(others) > sel_a.lambda_a else min(others)


if "cmp_lambda_k" not in st.session_state or "cmp_lambda_a" not in st.session_state:
    default = default_b()
    for i, (key, param, values) in enumerate(
        (("cmp_lambda_k", "cmp_k", g.lambda_k), ("cmp_lambda_a", "cmp_a", g.lambda_a))
    ):
        value, notice = state.lambda_from_url(param, values, "another model B")  # the sidebar's rules
        if notice:
            st.warning(notice, icon=":material/link:")
        st.session_state[key] = default[i] if value is None else value

c1, c2 = st.columns(2)
c1.select_slider("Model B: λ_k", options=g.lambda_k, format_func=state.fmt, key="cmp_lambda_k")
c2.select_slider("Model B: λ_a", options=g.lambda_a, format_func=state.fmt, key="cmp_lambda_a")
sel_b = state.Selection(st.session_state["cmp_lambda_k"], st.session_state["cmp_lambda_a"])
st.query_params.update({"cmp_k": state.fmt(sel_b.lambda_k), "cmp_a": state.fmt(sel_b.lambda_a)})
view_b = state.find_cell(sel_b)
if view_b is None:
    st.info(
        f"Model B (λ_k = {state.fmt(sel_b.lambda_k)}, λ_a = {state.fmt(sel_b.lambda_a)}) is not trained and "
        "analysed yet.",
        icon=":material/hourglass_empty:",
    )
    state.job_panel([sel_b.lambda_k], [sel_b.lambda_a], label="Train and analyse model B")
    st.stop()


def name(sel: state.Selection, letter: str) -> str:
    return f"{letter}: λ_k = {state.fmt(sel.lambda_k)}, λ_a = {state.fmt(sel.lambda_a)}"


if sel_a == sel_b:
    st.warning("A and B are the same model; choose another λ for B.", icon=":material/info:")
st.markdown("**Model B compared with model A:** " + "; ".join(differences(view_a.meta, view_b.meta)) + ".")

rows = exports.comparison_rows(view_a, view_b)
style = {"dead units": "{:.0f}", "dense units": "{:.0f}", "active units per digit": "{:.1f}", "sparsity": "{:.1%}"}


def shown(metric: str, value: float, signed: bool = False) -> str:
    kind = metric.split(" of ")[0]
    if signed and kind == "sparsity":
        return f"{value * 100:+.1f} points"
    f = style.get(kind, "{:.5f}")
    return (f.replace("{:", "{:+") if signed else f).format(value)


st.table(
    {
        "": [r["metric"] for r in rows],
        name(sel_a, "A"): [shown(r["metric"], r["model_A"]) for r in rows],
        name(sel_b, "B"): [shown(r["metric"], r["model_B"]) for r in rows],
        "B − A": [shown(r["metric"], r["B_minus_A"], signed=True) for r in rows],
    },
    hide_index=True,
)

st.session_state.setdefault("compare_show", "filters")
show = st.segmented_control(
    "Show",
    ["filters", "reconstructions", "t-SNE"],
    key="compare_show",
    format_func={"filters": "Filters", "reconstructions": "Reconstructions", "t-SNE": "t-SNE maps"}.get,
)
left, right = st.columns(2)
for where, sel, view, letter in ((left, sel_a, view_a, "A"), (right, sel_b, view_b, "B")):
    a = view.arrays
    if show == "reconstructions":
        fig = figures.reconstruction_grid(
            a["recon_input"][:10],
            a["recon_code"][:10],
            a["recon_code_normalised"][:10],
            a["recon_output"][:10],
            a["recon_index"][:10],
        )
    elif show == "t-SNE":
        fig = figures.tsne_map(a["tsne_raw"], a["labels_test"], "t-SNE of the codes h")
    else:
        fig = figures.filter_grid(view.weights["W1"], a["dead_units"])
        fig.update_traces(showscale=False, selector=dict(type="heatmap"))
        fig.update_layout(height=520)
    fig.update_layout(title=dict(text=name(sel, letter)))
    state.chart(fig, where=where, key=f"compare-{letter}")

state.download(
    "This comparison (CSV)",
    lambda: exports.comparison_csv(view_a, view_b),
    f"compare_{state.cell_tag(sel_a)}_vs_{state.cell_tag(sel_b)}.csv",
)
