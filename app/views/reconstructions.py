"""Reconstructions: test digits, their codes, normalised codes, and what the decoder makes of them."""

import numpy as np
import streamlit as st

from app import cache, chrome, epochs, guards, selection
from app.presentation import images, snapshots, tables
from core import schema as S
from core.analysis import normalise_codes
from core.model import decode, encode

chrome.page_intro(
    "From digit to code and back",
    "Top: test digits. Middle: the 196-number code the network makes of each (bright = active). "
    "Bottom: the digit redrawn from its code alone.",
)
sel = selection.this_run()
view = guards.require_view(sel)
a = view.arrays
epoch = epochs.control(view, "reconstructions")  # None: the final model
snaps = view.snapshots
# a retrain that records the snapshots may replace the entry under its name: its figures are other ones
ident = (*cache.identity(view), snaps.digest if snaps is not None else None)
test = chrome.test_set()
start = int(st.session_state.get("recon_start", 0)) if test is not None else None


if epoch is not None:  # a snapshot of training: the digits the trainer followed (the first 20)
    i = snaps.at(epoch)
    idx, x, code, out = snaps.index, snaps.inputs, snaps.codes(i), snaps.outputs(i)
    code_n = normalise_codes(code)[0]
elif start is None:  # the 20 digits stored with the analysis
    idx = a[S.RECON_INDEX]
    x, code, code_n, out = a[S.RECON_INPUT], a[S.RECON_CODE], a[S.RECON_CODE_NORMALISED], a[S.RECON_OUTPUT]
else:
    idx = np.arange(start, start + 20)
    x = test[0][idx]
    code = encode(x, view.weights)  # 20 digits: well under a millisecond
    code_n = normalise_codes(code)[0]
    out = decode(code, view.weights)
compact = selection.presenting()  # one-line row names: large text must not overlap on a projector
if epoch is None:
    fig = chrome.figure(
        ("reconstructions", *ident, start),
        lambda: images.reconstruction_grid(x, code, code_n, out, idx, compact=compact),
    )
else:
    fig = chrome.figure(
        ("reconstructions", "epoch", *ident, epoch),
        lambda: snapshots.reconstructions_at(snaps, epoch, compact=compact),
    )
chrome.chart(fig, main=True)
epochs.unavailable(view)
if test is None:
    if not selection.presenting():
        st.caption("The first 20 test digits (set MNIST_PATH to the MNIST file to choose others).")
else:
    st.session_state.setdefault("recon_start", 0)
    st.number_input(
        "First test digit to show",
        min_value=0,
        max_value=len(test[0]) - 20,
        step=20,
        key="recon_start",
        disabled=epoch is not None,
        help="Before the last epoch, the pictures are the snapshots the trainer kept: of the first 20 test digits."
        if epoch is not None
        else None,
    )
chrome.explain(
    "Stronger regularization makes the codes darker (fewer active units) and the redrawn digits blurrier."
    + (" Press **Play** to watch the network learn to redraw them, from grey blurs." if snaps else ""),
    "Rows: x; h = relu(x·W1 + b1) reshaped to 14 × 14, each code scaled to its own maximum; h/‖h‖ (an all-zero "
    "code stays zero), all on one scale, the row's maximum — scaled to their own maximum they would look exactly "
    "like the row above; sigmoid(h·W2 + b2). The epochs before the last are snapshots the trainer kept before "
    "training and after epochs 1, 2, 4, 8, … of the first 20 test digits (codes as 16-bit floats, redrawn "
    "digits as 8-bit greys).",
)
chrome.download(
    "These digits' codes (CSV)",
    lambda: tables.codes_csv(idx, code, x, out),
    f"codes_{sel.tag}{'' if epoch is None else f'_epoch{epoch}'}_{int(idx[0])}-{int(idx[-1])}.csv",
)
