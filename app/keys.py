"""Every session key of the dashboard, declared once.

A key is a widget's value (a slider, a switch, a chart's selection, a button)
or a piece of state the app keeps for a visitor (the tour's step, the
animation). The table says which URL parameter carries it, if any, and
whether its value must survive a visit to another page: Streamlit forgets a
widget that a run does not draw, and `st.switch_page` drops even the
sidebar's, so `app.selection` keeps a plain copy of those and restores them.
A test fails when a page uses a key that is not declared here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionKey:
    """One session key.

    Args:
        name: the key in st.session_state (or the start of a family of keys, with prefix=True).
        doc: what it holds.
        url: the URL parameter that carries it (a copied link reopens the same view), or None.
        keep: its value survives a page switch.
        prefix: `name` starts a family of keys (e.g. one download button per file).
    """

    name: str
    doc: str
    url: str | None = None
    keep: bool = False
    prefix: bool = False


TABLE = (
    # the selection, in the sidebar
    SessionKey("lambda_k", "the selected model's λ_k (sidebar slider)", url="lambda_k", keep=True),
    SessionKey("lambda_a", "the selected model's λ_a (sidebar slider)", url="lambda_a", keep=True),
    SessionKey("readiness_map", "the sidebar's map of the grid (a click chooses that model)"),
    SessionKey("sae-scripts", "the hidden container of the page's own scripts (app/scripts.py)"),
    SessionKey("sae-digit-sprite", "the hidden container of the test digits' picture, for the maps' hover"),
    SessionKey(
        "fig-", "a figure drawn in place without a key of its own: its page and line (app.chrome.chart)", prefix=True
    ),
    # presenter tools
    SessionKey("present", "presenter mode (switch)", url="present", keep=True),
    SessionKey("tour", "the guided tour's step, 0 when off", url="tour"),
    SessionKey("tour-", "the tour's buttons (back, next, finish, end, show, start)", prefix=True),
    SessionKey("anim_axis", "which λ Play steps through", keep=True),
    SessionKey("anim-", "the animation's Play and Stop buttons, and Stop's watch on the figure shown", prefix=True),
    SessionKey("_anim", "the animation while it plays: its axis, last step, and the λ last drawn in full"),
    SessionKey("_maps_page", "the open page needs models with maps (the animation steps through those)"),
    SessionKey("_tour_skipped", "tour steps skipped on the way to this one (no model for them is ready)"),
    # preparation
    SessionKey("job-", "the preparation job's buttons (prepare, stop, resume, compute, retrain)", prefix=True),
    SessionKey("_asked", "cells this session already asked the job for"),
    SessionKey("_waiting", "the (cell, stage) the page on screen waits for, if any"),
    SessionKey("_seen_token", "the cache's change token when the sidebar last looked"),
    SessionKey("_map_clicked_rerun", "a click on the readiness map asks for a rerun of the whole page"),
    SessionKey("_compile_retried", "the page's script failed to compile (Python 3.11's thread fault): compiling again"),
    # pages
    SessionKey("overview_curves", "overview: the selected model's training curves are open (drawn only then)"),
    SessionKey("overview_table", "overview: the table of every model is open (drawn only then)"),
    SessionKey("unit", "unit explorer: the chosen unit", url="unit", keep=True),
    SessionKey("unit_grid", "unit explorer: the filter grid (a click chooses a unit)"),
    SessionKey("units_table", "unit explorer: the units table (a row chooses a unit)"),
    SessionKey("filters_grid", "filters page: the filter grid (a click opens the unit explorer)"),
    SessionKey("_open_unit", "filters page: the unit a click asked the unit explorer to open"),
    SessionKey("recon_start", "reconstructions: the first test image shown", keep=True),
    SessionKey("epoch", "filters and reconstructions: the epoch of training shown (the last one by default)"),
    SessionKey("epoch-", "filters and reconstructions: the epoch control (its row, Play and Stop)", prefix=True),
    SessionKey("_epoch_play", "the epoch animation while it plays: its page and when it last stepped"),
    SessionKey("_retrain", "cells this session asked to retrain (to record their training snapshots), with when"),
    SessionKey(
        "digit_",
        "your digit: its canvas (fresh after Clear), pen, test digit and smudges, the strip's axis, the code's clicks",
        prefix=True,
    ),
    SessionKey("_tsne_shown", "t-SNE page: the model its maps show and the one before (the line under a glide)"),
    SessionKey("cluster_space", "clusters: raw or normalised codes", keep=True),
    SessionKey("frontier_x", "trade-off: what the x axis shows", keep=True),
    SessionKey("frontier_chart", "trade-off: the chart (a click chooses that model)"),
    SessionKey("cmp_lambda_k", "compare: model B's λ_k", url="cmp_k", keep=True),
    SessionKey("cmp_lambda_a", "compare: model B's λ_a", url="cmp_a", keep=True),
    SessionKey("compare_show", "compare: which figures side by side", keep=True),
    SessionKey("compare-", "compare: model B's sliders' containers", prefix=True),
    SessionKey("download-", "a CSV download button", prefix=True),
    # the machinery of app.selection
    SessionKey("_pending", "widget values set from code, applied at the start of the next run"),
    SessionKey("_keep", "the kept copies of the keys that survive a page switch"),
)
KEYS = {k.name: k for k in TABLE}
KEPT = tuple(k.name for k in TABLE if k.keep and not k.prefix)
URL_PARAMS = {k.name: k.url for k in TABLE if k.url}


def declared(name: str) -> bool:
    """Is `name` a declared session key (or a member of a declared family)?"""
    return name in KEYS or any(k.prefix and name.startswith(k.name) for k in TABLE)
