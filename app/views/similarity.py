"""Similarity: cosine similarity of codes, same digit vs different digit."""

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, tables
from core import schema as S

chrome.page_intro(
    "Do codes of the same digit look alike?",
    "1 = two codes point the same way, 0 = nothing in common. Left: pairs of the same digit; right: pairs of "
    "different digits. A good code keeps the left boxes high and the right ones low.",
)
sel = selection.this_run()
view = guards.require_view(sel)
fig = chrome.figure(
    ("similarity", *cache.identity(view)),
    lambda: charts.cosine_boxes(view.arrays[S.COS_SAME_BOX], view.arrays[S.COS_DIFF_BOX]),
)
chrome.chart(fig, main=True)
if view.meta.n_zero_codes_cosine:
    st.caption(f"{view.meta.n_zero_codes_cosine} of these digits have an all-zero code.")
chrome.explain(
    "For 1,000 test digits we compare every code with every other one; watch how the gap changes with λ.",
    "Cosine similarity S = ĥĥᵀ of the L2-normalised codes of the first 1,000 test images; each ordered "
    "pair i ≠ j goes to digit label(i), in the left panel if label(j) = label(i). Boxes: quartiles; "
    "whiskers: furthest values within 1.5 IQR; ◆ mean. Only these box statistics are stored, so the single "
    "outlying pairs beyond the whiskers (which the original draws as points) are not shown. An all-zero code "
    "has no direction: its similarity with anything counts as 0.",
)
chrome.download("Box statistics (CSV)", lambda: tables.similarity_csv(view), f"similarity_{sel.tag}.csv")
