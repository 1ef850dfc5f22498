"""t-SNE: 2-D maps of the 10,000 test codes, raw and normalised, coloured by digit."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, tables
from core import schema as S

chrome.page_intro(
    "A map of the codes",
    "Each dot is one test digit, placed near digits with similar codes; its colour is the digit it really is. "
    "Separate islands mean the code tells digits apart — though the network never saw a label.",
)
sel = selection.this_run()
view = guards.require_view(sel, maps=True)
labels = view.arrays[S.LABELS_TEST]
left, right = st.columns(2)
for where, space, title in (
    (left, "raw", "The codes as they are"),
    (right, "normalised", "The codes scaled to length 1"),
):
    fig = chrome.figure(
        ("tsne", space, *cache.identity(view)),
        lambda s=space, t=title: charts.tsne_map(view.arrays[S.tsne_array(s)], labels, t, height=480),
    )
    chrome.chart(fig, where=where, main=space == "raw")
chrome.explain(
    "Left: the codes as the network makes them; right: each code scaled to length 1, so that only which units "
    "fire (and in what proportion) counts, not how strongly.",
    "openTSNE (perplexity 30, FFT gradients), seeded; every map starts from the same layout (the pixel PCA "
    "of the test images), so maps of neighbouring λ values are comparable. Left: raw codes h; right: h/‖h‖.",
)
chrome.download("Map coordinates (CSV)", lambda: tables.tsne_csv(view), f"tsne_{sel.tag}.csv")
