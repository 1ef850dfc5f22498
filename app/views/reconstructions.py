"""Reconstructions: test digits, their codes, normalised codes, and what the decoder makes of them."""

import numpy as np
import streamlit as st

from app import chrome, guards, selection
from app.presentation import images, tables
from core import schema as S
from core.analysis import normalise_codes
from core.model import decode, encode

chrome.page_intro(
    "From digit to code and back",
    "Top row: test digits. The next two rows show the 196-number code the network makes of each digit "
    "(as a 14 × 14 picture; bright = strongly active), raw and scaled to the same length. The last row is "
    "the network's attempt to redraw the digit from its code alone. Stronger regularization makes the "
    "codes darker (fewer active units) and the redrawn digits blurrier.",
    "Rows: x; h = relu(x·W1 + b1) reshaped to 14 × 14; h/‖h‖ (an all-zero code stays zero); "
    "sigmoid(h·W2 + b2). Each code image is scaled to its own maximum.",
)
sel = selection.this_run()
view = guards.require_view(sel)
a = view.arrays
test = chrome.test_set()
if test is None:
    st.caption("The first 20 test digits (set MNIST_PATH to the MNIST file to choose others).")
    idx = a[S.RECON_INDEX]
    x, code, code_n, out = a[S.RECON_INPUT], a[S.RECON_CODE], a[S.RECON_CODE_NORMALISED], a[S.RECON_OUTPUT]
else:
    x_test, _ = test
    st.session_state.setdefault("recon_start", 0)
    start = st.number_input(
        "First test digit to show", min_value=0, max_value=len(x_test) - 20, step=20, key="recon_start"
    )
    idx = np.arange(start, start + 20)
    x = x_test[idx]
    code = encode(x, view.weights)
    code_n = normalise_codes(code)[0]
    out = decode(code, view.weights)
chrome.chart(images.reconstruction_grid(x, code, code_n, out, idx))
chrome.download(
    "These digits' codes (CSV)",
    lambda: tables.codes_csv(idx, code, x, out),
    f"codes_{sel.tag}_{int(idx[0])}-{int(idx[-1])}.csv",
)
