"""t-SNE: 2-D maps of the 10,000 test codes, raw and normalised, coloured by digit."""

import streamlit as st

from app import chrome, guards, selection
from app.presentation import charts, tables
from core import schema as S

chrome.page_intro(
    "A map of the codes",
    "Each dot is one test digit, placed so that digits with similar codes sit close together; the colour "
    "is the digit it really is. Clean, separate islands mean the code separates the digits well — even "
    "though the network was never told which digit is which.",
    "openTSNE (perplexity 30, FFT gradients), seeded; every map starts from the same layout (the pixel PCA "
    "of the test images), so maps of neighbouring λ values are comparable. Left: raw codes h; right: h/‖h‖.",
)
sel = selection.this_run()
view = guards.require_view(sel, maps=True)
labels = view.arrays[S.LABELS_TEST]
left, right = st.columns(2)
chrome.chart(charts.tsne_map(view.arrays[S.tsne_array("raw")], labels, "Raw codes h"), where=left)
chrome.chart(charts.tsne_map(view.arrays[S.tsne_array("normalised")], labels, "Normalised codes h/‖h‖"), where=right)
chrome.download("Map coordinates (CSV)", lambda: tables.tsne_csv(view), f"tsne_{sel.tag}.csv")
