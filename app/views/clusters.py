"""Clusters: K-means silhouettes for k = 2..10 on the raw and normalised codes."""

import streamlit as st

from app import exports, state
from core import figures

state.page_intro(
    "Do the codes fall into natural groups?",
    "We ask an algorithm (K-means) to split the codes into k groups, for k = 2 to 10, and measure how "
    "well each digit fits its group (the *silhouette*: near 1 = clearly in its group, near 0 = on a "
    "border, below 0 = probably in the wrong group). The red dashed line is the average.",
    "K-means (k-means++, seeded) on the 10,000 test codes; per-sample silhouettes from one pairwise "
    "distance matrix, equal to scikit-learn's `silhouette_samples`. Bands: each cluster's sorted values.",
)
sel = state.selection()
view = state.require_cell(sel)
a = view.arrays
ks = tuple(view.meta["config"]["kmeans_ks"])
state.chart(figures.silhouette_vs_k(a["silhouette_mean_raw"], a["silhouette_mean_normalised"], ks))
space = st.radio(
    "Codes",
    ["raw", "normalised"],
    horizontal=True,
    key="cluster_space",
    format_func={"raw": "Raw codes h", "normalised": "Normalised codes h/‖h‖"}.get,
)
title = "Raw codes" if space == "raw" else "Normalised codes"
state.chart(figures.silhouette_panels(a[f"silhouette_{space}"], a[f"kmeans_labels_{space}"], ks, title))
state.download("Mean silhouette per k (CSV)", lambda: exports.clusters_csv(view), f"clusters_{state.cell_tag(sel)}.csv")
