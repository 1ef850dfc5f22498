"""Clusters: K-means silhouettes for k = 2..10 on the raw and normalised codes."""

import streamlit as st

from app import chrome, guards, selection
from app.presentation import charts, tables
from core import schema as S

chrome.page_intro(
    "Do the codes fall into natural groups?",
    "We ask an algorithm (K-means) to split the codes into k groups, for k = 2 to 10, and measure how "
    "well each digit fits its group (the *silhouette*: near 1 = clearly in its group, near 0 = on a "
    "border, below 0 = probably in the wrong group). The red dashed line is the average.",
    "K-means (k-means++, seeded) on the 10,000 test codes; per-sample silhouettes from one pairwise "
    "distance matrix, equal to scikit-learn's `silhouette_samples`. Bands: each cluster's sorted values.",
)
sel = selection.this_run()
view = guards.require_view(sel, maps=True)
a = view.arrays
ks = tuple(view.meta.config["kmeans_ks"])
chrome.chart(charts.silhouette_vs_k(a[S.silhouette_mean_array("raw")], a[S.silhouette_mean_array("normalised")], ks))
space = st.radio(
    "Codes",
    ["raw", "normalised"],
    horizontal=True,
    key="cluster_space",
    format_func={"raw": "Raw codes h", "normalised": "Normalised codes h/‖h‖"}.get,
)
title = "Raw codes" if space == "raw" else "Normalised codes"
chrome.chart(charts.silhouette_panels(a[S.silhouette_array(space)], a[S.kmeans_labels_array(space)], ks, title))
chrome.download("Mean silhouette per k (CSV)", lambda: tables.clusters_csv(view), f"clusters_{sel.tag}.csv")
