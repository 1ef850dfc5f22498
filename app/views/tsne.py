"""t-SNE: 2-D maps of the 10,000 test codes, raw and normalised, coloured by digit.

When λ changes (a slider, a click, the tour, Play), the points glide from the map on screen to the new
model's map, aligned on it (app.presentation.motion): the session remembers which map is on screen and
how it was turned (`SHOWN`). The first map of a session, or one after a map that is gone, is drawn as is.
"""

import hashlib

import streamlit as st

from app import cache, chrome, guards, selection
from app.presentation import charts, motion, tables
from app.presentation.text import fmt
from core import schema as S
from core.config import same_lambda

SHOWN = "_tsne_shown"  # session: the maps on screen {"cell", "id", "pose": {space: Pose}, "via": the map before}
TITLES = {"raw": "The codes as they are", "normalised": "The codes scaled to length 1"}


def follow(sel: selection.Selection, view) -> dict:
    """What this session's maps show now: the same as before, or a glide from the maps on screen to `view`'s."""
    ident = cache.identity(view)
    shown = st.session_state.get(SHOWN)
    if shown is not None and shown["id"] == ident:
        return shown  # the same model: the same figure (a rerun, presenter mode, back from another page)
    now = {"cell": sel.cell, "id": ident, "pose": {s: motion.IDENTITY for s in S.SPACES}, "via": None}
    old = cache.view(*shown["cell"]) if shown is not None else None
    if old is not None and old.has_maps and cache.identity(old) == shown["id"]:
        for space in S.SPACES:
            arr = S.tsne_array(space)
            _, _, now["pose"][space] = motion.glide(old.arrays[arr], shown["pose"][space], view.arrays[arr])
        now["via"] = {k: shown[k] for k in ("cell", "id", "pose")}
    st.session_state[SHOWN] = now
    return now


def token(shown: dict, space: str | None = None) -> str:
    """Names one glide (the browser plays each once): from which map, turned how, to which (space None: both)."""
    via = shown["via"]
    poses = tuple(motion.pose_key(via["pose"][s]) for s in ([space] if space else S.SPACES))
    text = repr((space, via["id"], poses, shown["id"]))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def tsne_figure(shown: dict, view, space: str):
    """The map of `space`: a glide from the map before if there is one, else the map as computed."""
    arr, labels, title = S.tsne_array(space), view.arrays[S.LABELS_TEST], TITLES[space]
    via, ident = shown["via"], cache.identity(view)
    if via is None:
        return chrome.figure(
            ("tsne", space, *ident), lambda: charts.tsne_map(view.arrays[arr], labels, title, height=480)
        )

    def build():
        old = cache.view(*via["cell"])
        if old is None or not old.has_maps or cache.identity(old) != via["id"]:  # gone since: no glide
            return charts.tsne_map(motion.apply(shown["pose"][space], view.arrays[arr]), labels, title, height=480)
        start, end, _ = motion.glide(old.arrays[arr], via["pose"][space], view.arrays[arr])
        return charts.tsne_glide(
            start, end, labels, title, token=token(shown, space), slot=space, group=token(shown), count=2, height=480
        )

    key = ("tsne-glide", space, *via["id"], motion.pose_key(via["pose"][space]), *ident)
    return chrome.figure(key, build)


def moved(shown: dict) -> str | None:
    """One line under a glide: which λ changed, from what to what (None when the maps did not move)."""
    via = shown["via"]
    if via is None:
        return None
    changed = [
        f"{name} {fmt(old)} → {fmt(new)}"
        for name, old, new in zip(("λ_k", "λ_a"), via["cell"], shown["cell"])
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
figures = {space: tsne_figure(shown, view, space) for space in S.SPACES}  # both built before either is sent
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
    "of the test images), so maps of neighbouring λ values are comparable. Before the glide the new map is "
    "turned (or mirrored), scaled and shifted onto the old one as shown (orthogonal Procrustes on the 10,000 "
    "points), so the motion is the points' own, not a spin; the CSV has the maps as computed. "
    "Left: raw codes h; right: h/‖h‖.",
)
chrome.download("Map coordinates (CSV)", lambda: tables.tsne_csv(view), f"tsne_{sel.tag}.csv")
st.html(f"<script>{motion.SCRIPT}</script>", unsafe_allow_javascript=True)  # the glide, in the browser
chrome.digit_hover(view.arrays[S.LABELS_TEST])  # the digit under the pointer, as a picture
