"""Compare two models side by side: the one chosen in the sidebar (A) and a second one (B)."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, images, tables, text
from core import schema as S

chrome.page_intro(
    "Two models side by side",
    "Model **A** is the one chosen in the sidebar; choose model **B** below. Their numbers, filters, "
    "reconstructions and maps are shown next to each other, and the differences are spelled out.",
    "All numbers are on the 10,000 test images; percentages are relative to model A. The reconstructions "
    "are the same 20 test digits for both models.",
)
sel_a = selection.this_run()
view_a = guards.require_view(sel_a)
g = cache.grid()


def default_b() -> tuple[float, float]:
    """B differs from A in the activity penalty: the strongest ready one (or the weakest, if A has it)."""
    others = [v for v in selection.ready_values("lambda_a", sel_a) if v != sel_a.lambda_a]
    if not others:
        return sel_a.cell
    return sel_a.lambda_k, max(others) if max(others) > sel_a.lambda_a else min(others)


if "cmp_lambda_k" not in st.session_state or "cmp_lambda_a" not in st.session_state:
    default = default_b()
    for i, (key, values) in enumerate((("cmp_lambda_k", g.lambda_k), ("cmp_lambda_a", g.lambda_a))):
        value, notice = selection.lambda_from_url(key, values, "another model B")  # the sidebar's rules
        if notice:
            st.warning(notice, icon=":material/link:")
        st.session_state[key] = default[i] if value is None else value

c1, c2 = st.columns(2)
c1.select_slider("Model B: λ_k", options=g.lambda_k, format_func=text.fmt, key="cmp_lambda_k")
c2.select_slider("Model B: λ_a", options=g.lambda_a, format_func=text.fmt, key="cmp_lambda_a")
sel_b = selection.Selection(st.session_state["cmp_lambda_k"], st.session_state["cmp_lambda_a"])
selection.to_url(cmp_lambda_k=text.fmt(sel_b.lambda_k), cmp_lambda_a=text.fmt(sel_b.lambda_a))
view_b = guards.require_view(sel_b)  # or what is going on with model B, and stop

name_a, name_b = text.model_label("A", *sel_a.cell), text.model_label("B", *sel_b.cell)
if sel_a == sel_b:
    st.warning("A and B are the same model; choose another λ for B.", icon=":material/info:")
st.markdown("**Model B compared with model A:** " + "; ".join(text.differences(view_a.meta, view_b.meta)) + ".")
st.table(text.comparison_table(view_a.meta, view_b.meta, name_a, name_b), hide_index=True)

st.session_state.setdefault("compare_show", "filters")
show = st.segmented_control(
    "Show",
    ["filters", "reconstructions", "t-SNE"],
    key="compare_show",
    format_func={"filters": "Filters", "reconstructions": "Reconstructions", "t-SNE": "t-SNE maps"}.get,
)
left, right = st.columns(2)
for where, view, name, letter in ((left, view_a, name_a, "A"), (right, view_b, name_b, "B")):
    a = view.arrays
    if show == "reconstructions":
        shown = [
            a[k][:10] for k in ("recon_input", "recon_code", "recon_code_normalised", "recon_output", "recon_index")
        ]
        fig = images.reconstruction_grid(*shown, title=name)
    elif show == "t-SNE" and not view.has_maps:
        where.info(f"{name}: its t-SNE map is still being computed.", icon=":material/hourglass_top:")
        continue
    elif show == "t-SNE":
        fig = charts.tsne_map(a[S.tsne_array("raw")], a[S.LABELS_TEST], name)
    else:
        fig = images.filter_grid(view.weights["W1"], a[S.DEAD_UNITS], colorbar=False, height=520, title=name)
    chrome.chart(fig, where=where, key=f"compare-{letter}")

chrome.download(
    "This comparison (CSV)",
    lambda: tables.comparison_csv(view_a, view_b),
    f"compare_{sel_a.tag}_vs_{sel_b.tag}.csv",
)
