"""t-SNE: 2-D maps of the 10,000 test codes, raw and normalised, coloured by digit."""

import streamlit as st

from app import exports, state
from core import figures

state.page_intro(
    "A map of the codes",
    "Each dot is one test digit, placed so that digits with similar codes sit close together; the colour "
    "is the digit it really is. Clean, separate islands mean the code separates the digits well — even "
    "though the network was never told which digit is which.",
    "openTSNE (perplexity 30, FFT gradients), seeded; every map starts from the same layout (the pixel PCA "
    "of the test images), so maps of neighbouring λ values are comparable. Left: raw codes h; right: h/‖h‖.",
)
sel = state.selection()
view = state.require_cell(sel)
labels = view.arrays["labels_test"]
left, right = st.columns(2)
state.chart(figures.tsne_map(view.arrays["tsne_raw"], labels, "Raw codes h"), where=left)
state.chart(figures.tsne_map(view.arrays["tsne_normalised"], labels, "Normalised codes h/‖h‖"), where=right)
state.download("Map coordinates (CSV)", lambda: exports.tsne_csv(view), f"tsne_{state.cell_tag(sel)}.csv")
