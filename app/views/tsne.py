"""t-SNE: 2-D maps of the 10,000 test codes, raw and normalised, coloured by digit.

When λ changes (a slider, a click, the tour, Play), the points glide from the maps on screen to the new
model's, turned onto them: the browser does it (app.presentation.motion). The server sends each model's
maps as computed, built once and kept, whichever model they are reached from; the session remembers only
which model the page showed last (`SHOWN`), for the line that says what changed.
"""

import hashlib

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, motion, tables
from app.presentation.text import fmt
from core import schema as S
from core.config import same_lambda

SHOWN = "_tsne_shown"  # session: the model the maps show {"cell", "id"} and the one before ("via": its cell, or None)
TITLES = {"raw": "The codes as they are", "normalised": "The codes scaled to length 1"}


def follow(sel: selection.Selection, view) -> dict:
    """The model the maps show now, and the one they showed before it (the same dict for a rerun)."""
    ident = cache.identity(view)
    shown = st.session_state.get(SHOWN)
    if shown is not None and shown["id"] == ident:
        return shown  # the same model: a rerun, presenter mode, back from another page
    now = {"cell": sel.cell, "id": ident, "via": shown["cell"] if shown is not None else None}
    st.session_state[SHOWN] = now
    return now


def map_name(ident: tuple) -> str:
    """A model's maps' name for the page's script: the same for both spaces, another for another model."""
    return hashlib.blake2b(repr(ident).encode(), digest_size=8).hexdigest()


def tsne_figure(view, space: str):
    """The map of `space` as computed, kept per model; the browser glides to it from the map on screen."""
    arr, labels, title, ident = S.tsne_array(space), view.arrays[S.LABELS_TEST], TITLES[space], cache.identity(view)

    def build():
        glide = motion.glide_meta(map_name(ident), space)
        return charts.tsne_map(view.arrays[arr], labels, title, height=480, glide=glide)

    return chrome.figure(("tsne", space, *ident), build)


def moved(shown: dict) -> str | None:
    """One line under a glide: which λ changed, from what to what (None when the maps did not move)."""
    via = shown["via"]
    if via is None:
        return None
    changed = [
        f"{name} {fmt(old)} → {fmt(new)}"
        for name, old, new in zip(("λ_k", "λ_a"), via, shown["cell"])
        if not same_lambda(old, new)
    ]
    if not changed:
        return None
    return f"{', '.join(changed)}: each dot glides from its place on the previous map to its place on this one."


chrome.page_intro(
    "A map of the codes",
    "Each dot is one test digit, placed near digits with similar codes; its colour is the digit it really is. "
    "Separate islands mean the code tells digits apart — though the network never saw a label.",
)
sel = selection.this_run()
view = guards.require_view(sel, maps=True)
shown = follow(sel, view)
figures = {space: tsne_figure(view, space) for space in S.SPACES}  # both built before either is sent
for where, space in zip(st.columns(2), S.SPACES):
    chrome.chart(figures[space], where=where, main=space == "raw", label_inside=True)
line = moved(shown)
if line:
    st.caption(f":material/moving: {line}")
chrome.explain(
    "Left: the codes as the network makes them; right: each code scaled to length 1, so that only which units "
    "fire (and in what proportion) counts, not how strongly. When you change λ, the dots glide from the old "
    "map to the new one: watch islands form and dissolve.",
    "openTSNE (perplexity 30, FFT gradients), seeded; every map starts from the same layout (the pixel PCA "
    "of the test images), so maps of neighbouring λ values are comparable. Before the glide your browser turns "
    "(or mirrors), scales and shifts the new map onto the old one as shown (orthogonal Procrustes on the "
    "10,000 points), so the motion is the points' own, not a spin; the CSV has the maps as computed. "
    "Left: raw codes h; right: h/‖h‖.",
)
chrome.download("Map coordinates (CSV)", lambda: tables.tsne_csv(view), f"tsne_{sel.tag}.csv")
st.html(f"<script>{motion.SCRIPT}</script>", unsafe_allow_javascript=True)  # the glide, in the browser
chrome.digit_hover(view.arrays[S.LABELS_TEST])  # the digit under the pointer, as a picture
