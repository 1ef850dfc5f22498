"""Compare two models side by side: the one chosen in the sidebar (A) and a second one (B)."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, images, tables, text
from core import schema as S
from core.config import same_lambda

chrome.page_intro(
    "Two models side by side",
    "Model **A** is the one chosen in the sidebar; choose model **B** here.",
)
sel_a = selection.this_run()
view_a = guards.require_view(sel_a)
g = cache.grid()


def default_b() -> tuple[float, float]:
    """A ready model other than A: A's λ_k with the strongest other ready λ_a (the weakest if A has the
    strongest), else the nearest ready model to A's opposite corner."""
    others = [v for v in selection.ready_values("lambda_a", sel_a) if not same_lambda(v, sel_a.lambda_a)]
    if others:
        return sel_a.lambda_k, max(others) if max(others) > sel_a.lambda_a else min(others)
    ready = [c for c in cache.ready_cells() if not cache.same_cell(c, sel_a.cell)]
    if not ready:
        return sel_a.cell
    return max(ready, key=lambda c: (abs(g.lambda_k.index(c[0]) - g.lambda_k.index(sel_a.lambda_k)), c[1]))


if "cmp_lambda_k" not in st.session_state or "cmp_lambda_a" not in st.session_state:
    default = default_b()
    asked = []
    for key, values in (("cmp_lambda_k", g.lambda_k), ("cmp_lambda_a", g.lambda_a)):
        value, notice = selection.lambda_from_url(key, values, "another model B")  # the sidebar's rules
        if notice:
            st.warning(notice, icon=":material/link:")
        asked.append(value)
    if None in asked or cache.same_cell(tuple(asked), sel_a.cell):
        asked = list(default)  # B differs from A, unless nothing else is ready
    st.session_state["cmp_lambda_k"], st.session_state["cmp_lambda_a"] = asked


@st.fragment
def compare() -> None:
    """Model B's sliders and everything that depends on B: only this part reruns when B changes."""
    c1, c2, c3 = st.columns([1, 1, 2])  # "Show" whole on one line, at presenter mode's text in a 1280 px page too
    c1.select_slider("Model B: λ_k", options=g.lambda_k, format_func=text.fmt, key="cmp_lambda_k")
    c2.select_slider("Model B: λ_a", options=g.lambda_a, format_func=text.fmt, key="cmp_lambda_a")
    st.session_state.setdefault("compare_show", "filters")
    show = c3.segmented_control(
        "Show",
        ["filters", "reconstructions", "t-SNE"],
        key="compare_show",
        format_func={"filters": "Filters", "reconstructions": "Reconstructions", "t-SNE": "t-SNE maps"}.get,
    )
    sel_b = selection.Selection(st.session_state["cmp_lambda_k"], st.session_state["cmp_lambda_a"])
    selection.to_url(cmp_lambda_k=text.fmt(sel_b.lambda_k), cmp_lambda_a=text.fmt(sel_b.lambda_a))
    view_b = guards.require_view(sel_b)  # or what is going on with model B, and stop
    name_a, name_b = text.model_label("A", *sel_a.cell), text.model_label("B", *sel_b.cell)
    if sel_a == sel_b:
        st.warning("A and B are the same model; choose another λ for B.", icon=":material/info:")
    left, right = st.columns(2)
    for where, view, name, letter in ((left, view_a, name_a, "A"), (right, view_b, name_b, "B")):
        a = view.arrays
        if show == "t-SNE" and not view.has_maps:
            where.info(f"{name}: its t-SNE map is still being computed.", icon=":material/hourglass_top:")
            continue
        fig = chrome.figure(
            ("compare", show, *cache.identity(view), name), lambda a=a, v=view, n=name: _figure(show, a, v, n)
        )
        chrome.chart(fig, where=where, key=f"compare-{letter}", main=letter == "A", beside_main=letter == "B")
    if show == "t-SNE":
        chrome.digit_hover(view_a.arrays[S.LABELS_TEST])  # the digit under the pointer, as a picture
    st.markdown("**Model B compared with model A:** " + "; ".join(text.differences(view_a.meta, view_b.meta)) + ".")
    st.table(text.comparison_table(view_a.meta, view_b.meta, name_a, name_b), hide_index=True)
    chrome.download(
        "This comparison (CSV)",
        lambda: tables.comparison_csv(view_a, view_b),
        f"compare_{sel_a.tag}_vs_{sel_b.tag}.csv",
    )


def _figure(show: str, a, view, name: str):
    if show == "reconstructions":
        shown = [
            a[k][:10] for k in (S.RECON_INPUT, S.RECON_CODE, S.RECON_CODE_NORMALISED, S.RECON_OUTPUT, S.RECON_INDEX)
        ]
        return images.reconstruction_grid(*shown, title=name)
    if show == "t-SNE":
        return charts.tsne_map(a[S.tsne_array("raw")], a[S.LABELS_TEST], name, height=420)
    return images.filter_grid(view.weights["W1"], a[S.DEAD_UNITS], colorbar=False, height=420, title=name)


compare()
chrome.explain(
    "Their numbers, filters, reconstructions and maps are shown next to each other, and the differences are "
    "spelled out.",
    "All numbers are on the 10,000 test images; percentages are relative to model A. The reconstructions "
    "are the same 10 test digits for both models.",
)
