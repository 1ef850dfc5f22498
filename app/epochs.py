"""Watch it learn: the epoch control of the Filters and Reconstructions pages.

`control(view, page)` draws, above the page's figure, a slider over the epochs whose snapshots the
trainer kept (before training, after epochs 1, 2, 4, 8, ... and the last: `core.train.Snapshotter`)
and a Play button, and returns the epoch to show — None for the final model, which the page draws
as it always did (the default, so the page looks as before). Play steps through the epochs like the
sidebar's λ animation (`app.presenter`), lightly: a small fragment reruns the page every
`EPOCH_SECONDS` with the next epoch, and stops on the last.

A model trained before snapshots were recorded (or whose snapshot file is damaged) gets no control:
its page looks as before, and `unavailable` says so in one line below the figure and, outside
presenter mode, offers to retrain it (`app.jobs.retrain`): its entry stays on screen until the new
training lands, then the control appears.
"""

from __future__ import annotations

import time

import streamlit as st

from app import cache, jobs
from app.presentation.snapshots import epoch_label, unavailable_sentence
from app.selection import presenting, set_widget
from core.results import CellView

EPOCH_SECONDS = 1.0  # one epoch's picture on screen while playing
RETRAIN_SHOWN_SECONDS = 120.0  # after a click, "retraining" is said this long even before the job reports the cell


def control(view: CellView, page: str) -> int | None:
    """The epoch control for `view` on `page` ("filters" or "reconstructions"); the epoch to show, None for the last.

    One row above the page's figure: Play and the slider. A model without usable snapshots gets no control
    (None): its page looks as before, and `unavailable` says why below the figure.
    """
    snaps = view.snapshots
    if snaps is None:
        _stop()
        return None
    epochs = snaps.epochs
    play = st.session_state.get("_epoch_play")
    if play and play.get("page") != page:  # left the page it played on
        _stop()
        play = None
    if st.session_state.get("epoch") not in epochs:  # the default, or another model's epoch: the final one
        st.session_state["epoch"] = epochs[-1]
    # one slim row above the figure (few elements: each costs every rerun); the slider's end labels would
    # push the figure below a projector's 720 px
    st.html("<style>.st-key-epoch-control [data-testid='stSliderTickBar'] {display: none;}</style>")
    row = st.container(key="epoch-control", horizontal=True, vertical_alignment="center", gap="medium")
    if play:
        row.button("Stop", icon=":material/stop:", key="epoch-stop", on_click=_stop)
    else:
        row.button(
            "Play",
            icon=":material/play_arrow:",
            key="epoch-play",
            on_click=_start,
            args=(epochs, page),
            help="Shows the network's pictures after each of these epochs of its training, one a second.",
        )
    row.select_slider(
        "Epochs of training",
        options=epochs,
        format_func=lambda e: epoch_label(e, epochs[-1]),
        key="epoch",
        disabled=bool(play),
        label_visibility="collapsed",
    )
    if play:
        _player(epochs)
    epoch = int(st.session_state["epoch"])
    return None if epoch == epochs[-1] else epoch


def _start(epochs: list[int], page: str) -> None:
    """Play from the epoch on screen (from the start if it is the last one)."""
    if st.session_state.get("epoch") in (None, epochs[-1]):
        set_widget(epoch=epochs[0])
    st.session_state["_epoch_play"] = {"page": page, "last": time.monotonic()}


def _stop() -> None:
    st.session_state.pop("_epoch_play", None)


@st.fragment(run_every=EPOCH_SECONDS)
def _player(epochs: list[int]) -> None:
    """While playing: every EPOCH_SECONDS, the next epoch and a rerun of the page; at the last one, stop."""
    play = st.session_state.get("_epoch_play")
    if not play or play.pop("stepped", False):
        return  # this run draws the step just taken: however long it took, that epoch is shown before the next
    now = time.monotonic()
    if now - play["last"] < EPOCH_SECONDS * 0.8:
        return  # a tick too soon after the last step
    later = [e for e in epochs if e > st.session_state.get("epoch", epochs[-1])]
    if later:
        play.update(last=now, stepped=True)
        set_widget(epoch=later[0])
    else:
        _stop()
    st.rerun(scope="app")


def unavailable(view: CellView) -> None:
    """Below the figure of a model without usable snapshots: one line that says so and, outside presenter mode,
    a button that retrains it to record them (nothing for a model that has them)."""
    if view.snapshots is not None:
        return
    cell = view.summary.cell
    asked = st.session_state.get("_retrain", {}).get(cell)
    training = (cache.progress_of(*cell) or {}).get("stage") == "train"  # its maps being made is not a retrain
    if training or (asked is not None and time.time() - asked < RETRAIN_SHOWN_SECONDS and jobs.running()):
        st.caption(
            ":material/hourglass_top: Retraining this model to record snapshots of its training; "
            "the epoch control appears above the picture when it is done (about a minute)."
        )
        st.session_state["_waiting"] = (cell, "snapshots")  # the sidebar redraws the page when the cache changes
        return
    line = unavailable_sentence(view.snapshot_status)
    if presenting():
        st.caption(f":material/history_toggle_off: {line}")
        return
    row = st.container(horizontal=True, vertical_alignment="center", gap="medium")
    row.caption(f":material/history_toggle_off: {line}", width="content")
    if row.button(
        "Retrain to record them",
        icon=":material/replay:",
        key="job-retrain",
        help="Trains this model again (about a minute on a laptop), recording its snapshots; it stays on "
        "screen meanwhile. Models of the grid that are not ready yet are prepared after it.",
    ):
        jobs.retrain(cell, view.summary.entry)
        st.session_state.setdefault("_retrain", {})[cell] = time.time()
        st.rerun()
