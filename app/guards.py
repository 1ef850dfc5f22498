"""The guards pages use: the selected model's arrays, or a clear word on when they will be there.

`require_view(sel)` returns the cell's arrays once its fast stage is done;
`require_view(sel, maps=True)` also needs the slow stage (the t-SNE and
cluster pages). Otherwise the page shows what is going on instead — the
network learning live while it trains, "being computed, ready in about N s"
while the job works on it, or a way to prepare it — refreshes itself until
the cell lands, and ends there (`stop`).
"""

from __future__ import annotations

from typing import NoReturn

import streamlit as st

from app import cache, jobs
from app.chrome import chart
from app.presentation import progress as look
from app.presentation.text import fmt
from app.selection import Selection, presenting
from core.results import CellView


class PageEnds(BaseException):  # noqa: N818 - not an error: the page has said all it can
    """The page ends here; the app still draws what follows the page (the sidebar's map), unlike st.stop()."""


def stop() -> NoReturn:
    """End the page here (caught in app/dashboard.py, which then draws the sidebar's map and panel).

    Not st.stop(): after it, every Streamlit call would stop the run too, and the sidebar's map, drawn
    after the page, would be missing.
    """
    raise PageEnds


def require_view(sel: Selection, *, maps: bool = False) -> CellView:
    """The selected cell's arrays (with its maps, if `maps`); otherwise its waiting panel, and `stop()`."""
    view = cache.view(*sel.cell)
    if view is not None and (view.has_maps or not maps):
        return view
    stage = "slow" if view is not None else "fast"
    st.session_state["_waiting"] = (sel.cell, stage)
    jobs.ask_once(sel.cell)
    if jobs.running():
        _waiting(sel, stage)
    else:
        _idle(sel, stage)
    stop()


def _idle(sel: Selection, stage: str) -> None:
    """Nothing is working on this cell: say so, and offer to prepare it (not in presenter mode)."""
    name = f"λ_k = {fmt(sel.lambda_k)}, λ_a = {fmt(sel.lambda_a)}"
    if stage == "slow":
        st.info(f"The maps of the model {name} have not been computed yet.", icon=":material/hourglass_empty:")
    else:
        st.info(f"The model {name} has not been prepared yet.", icon=":material/hourglass_empty:")
    if presenting():
        st.caption("Choose a ready model (a filled dot on the map in the sidebar).")
        return
    error = jobs.last_error()
    if error:
        st.error(f"The last preparation failed: {error}", icon=":material/warning:")
    label = "Compute them now" if stage == "slow" else "Prepare this model now (then the rest of the grid)"
    if st.button(label, type="primary", icon=":material/play_arrow:", key="job-cell"):
        jobs.ask([sel.cell])
        st.rerun()
    if stage == "slow":
        st.caption("Computing a model's two maps takes about a minute; this page shows them when they are ready.")
    else:
        st.caption(
            "Training one model takes about a minute on a laptop; the first one is shown learning, live. "
            "Every other model of the grid follows, while you look around."
        )


@st.fragment(run_every=1.0)
def _waiting(sel: Selection, stage: str) -> None:
    """The job works (or will): the live curves while this cell trains, else when it will be ready."""
    view = cache.view(*sel.cell)
    if view is not None and (stage == "fast" or view.has_maps):
        st.rerun(scope="app")
    working = cache.progress_of(*sel.cell)
    eta = cache.eta_of(*sel.cell, stage)
    st.info(look.wait_sentence(stage, eta, working), icon=":material/hourglass_top:")
    if working is not None and working.get("stage") == "train" and stage == "fast":
        chart(look.live_curves(working))
        st.caption(
            "Each epoch the network sees all 60,000 training digits once; the curves are its reconstruction "
            "loss (plus the penalties) on the training and test digits, measured by the trainer as it goes."
        )
    if not jobs.running():
        st.rerun(scope="app")
