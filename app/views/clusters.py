"""Clusters: K-means silhouettes for k = 2..10 on the raw and normalised codes."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, tables
from core import schema as S

chrome.page_intro(
    "Do the codes fall into natural groups?",
    "K-means splits the codes into k groups; the *silhouette* says how well a digit fits its group "
    "(1 = clearly, 0 = on a border, below 0 = probably in the wrong group).",
)
sel = selection.this_run()
view = guards.require_view(sel, maps=True)
a = view.arrays
ident = cache.identity(view)
ks = tuple(view.meta.config["kmeans_ks"])
raw, normalised = a[S.silhouette_mean_array("raw")], a[S.silhouette_mean_array("normalised")]
chrome.chart(
    chrome.figure(("clusters", "vs_k", *ident), lambda: charts.silhouette_vs_k(raw, normalised, ks)),
    main=True,
)
st.markdown(charts.silhouette_sentence(raw, normalised, ks))


@st.fragment
def panels() -> None:
    """The silhouette plot per k, for the codes chosen here (only this part reruns when they change)."""
    space = st.radio(
        "Codes",
        ["raw", "normalised"],
        horizontal=True,
        key="cluster_space",
        format_func={"raw": "The codes as they are", "normalised": "The codes scaled to length 1"}.get,
    )
    title = "The codes as they are" if space == "raw" else "The codes scaled to length 1"
    x_range = charts.silhouette_x_range(*(a[S.silhouette_array(s)] for s in ("raw", "normalised")))  # both spaces
    fig = chrome.figure(
        ("clusters", "panels", space, *ident),
        lambda: charts.silhouette_panels(
            a[S.silhouette_array(space)], a[S.kmeans_labels_array(space)], ks, title, x_range=x_range
        ),
    )
    chrome.chart(fig)


panels()
chrome.explain(
    "We ask K-means to split the 10,000 test codes into k groups, for k = 2 to 10. The red dashed line is the "
    "average silhouette of each split.",
    "K-means (k-means++, seeded) on the 10,000 test codes; per-sample silhouettes from one pairwise "
    "distance matrix, equal to scikit-learn's `silhouette_samples`. Bands: each cluster's sorted values.",
)
chrome.download("Mean silhouette per k (CSV)", lambda: tables.clusters_csv(view), f"clusters_{sel.tag}.csv")
