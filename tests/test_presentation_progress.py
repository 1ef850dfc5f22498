"""The preparation as people see it (app.presentation.progress): the readiness map, live curves, times, sentences."""

from __future__ import annotations

import numpy as np
import pytest

from app.presentation.progress import LOOK, about, job_sentence, live_curves, readiness_map, wait_sentence

LK = (0.0, 1e-5, 1e-4, 1e-3)  # uneven steps, as the grid's λ values are
LA = (0.0, 3e-4, 1e-2)


def points(fig) -> list[tuple[int, int, tuple[float, float], str]]:
    """(x, y, customdata, trace name) of every grid dot (not the ring)."""
    out = []
    for t in fig.data:
        if t.name == "chosen":
            continue
        out += [(x, y, tuple(c), t.name) for x, y, c in zip(t.x, t.y, t.customdata)]
    return out


def ring(fig):
    return next((t for t in fig.data if t.name == "chosen"), None)


def test_the_map_has_one_dot_per_cell_carrying_its_lambdas():
    states = {(1e-5, 0.0): "complete", (1e-3, 3e-4): "fast", (0.0, 1e-2): "working", (1e-4, 0.0): "trained"}
    fig = readiness_map(LK, LA, states)
    dots = points(fig)
    assert len(dots) == len(LK) * len(LA)
    assert sorted(c for _, _, c, _ in dots) == sorted((k, a) for k in LK for a in LA)
    for x, y, (k, a), _ in dots:
        assert (LK[x], LA[y]) == (k, a), "a dot sits at its cell's place and carries [λ_k, λ_a]"


def test_the_dots_are_evenly_spaced_whatever_the_lambdas():
    fig = readiness_map(LK, LA, {})
    assert sorted({x for x, *_ in points(fig)}) == list(range(len(LK)))
    assert sorted({y for _, y, *_ in points(fig)}) == list(range(len(LA)))
    assert list(fig.layout.xaxis.tickvals) == list(range(len(LK)))
    assert list(fig.layout.yaxis.ticktext) == ["0", "3.0e-04", "0.01"]


def test_each_state_has_its_own_look_and_a_missing_cell_is_hollow():
    states = {(1e-5, 0.0): "complete", (1e-3, 3e-4): "fast", (0.0, 1e-2): "working", (1e-4, 0.0): "trained"}
    fig = readiness_map(LK, LA, states)
    by_name = {name: [c for *_, c, n in points(fig) if n == name] for name in {n for *_, n in points(fig)}}
    for cell, state in states.items():
        assert by_name[LOOK[state][0]] == [cell]
    assert len(by_name[LOOK["missing"][0]]) == len(LK) * len(LA) - len(states)
    hollow = next(t for t in fig.data if t.name == LOOK["missing"][0])
    filled = next(t for t in fig.data if t.name == LOOK["complete"][0])
    assert hollow.marker.color == "white" and filled.marker.color != "white"


def test_the_chosen_cell_is_ringed_and_only_a_cell_of_the_grid():
    fig = readiness_map(LK, LA, {}, selected=(1e-4, 3e-4))
    r = ring(fig)
    assert (r.x[0], r.y[0]) == (LK.index(1e-4), LA.index(3e-4))
    assert r.hoverinfo == "skip", "a click on the ring is a click on the dot below"
    assert ring(readiness_map(LK, LA, {}, selected=(5.0, 0.0))) is None
    assert ring(readiness_map(LK, LA, {})) is None


def test_the_map_cannot_be_dragged_or_zoomed():
    fig = readiness_map(LK, LA, {})
    assert fig.layout.dragmode is False and fig.layout.xaxis.fixedrange and fig.layout.yaxis.fixedrange


def test_live_curves_plot_the_epochs_so_far():
    loss = [0.5, 0.3, 0.2, 0.15, 0.12]
    fig = live_curves({"loss": loss, "val_loss": [v * 1.1 for v in loss]})
    assert fig.layout.title.text == "Live: the network is learning — epoch 5"
    assert [len(t.y) for t in fig.data] == [5, 5]
    assert np.allclose(fig.data[0].y, loss)
    assert live_curves({"loss": [], "val_loss": []}).layout.title.text.startswith("Live: the network is starting")


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(None, ""), (1.0, "about 5 s"), (42.0, "about 40 s"), (89.0, "about 90 s"), (300.0, "about 5 min")],
)
def test_about_says_a_duration_as_people_do(seconds, said):
    assert about(seconds) == said


def test_the_wait_counts_down():
    """Replaces the old eta_text test: the job's eta_by_task gives seconds; what people read never goes up."""
    said = [about(s) for s in (3000.0, 600.0, 120.0, 60.0, 20.0, 4.0)]

    def seconds(text: str) -> float:
        n, unit = text.removeprefix("about ").split()
        return float(n) * (60 if unit == "min" else 1)

    assert [seconds(s) for s in said] == sorted((seconds(s) for s in said), reverse=True)


def test_the_job_sentence_says_how_far_and_how_long():
    assert job_sentence({"state": "running", "eta_seconds": 125.0}, 3, 1, 50) == (
        "Preparing: 3 of 50 models ready (1 with their maps), about 2 min left."
    )
    assert job_sentence({"state": "running"}, 3, 3, 50) == "Preparing: 3 of 50 models ready."
    assert job_sentence({"state": "interrupted"}, 3, 3, 50).startswith("Preparation was interrupted")
    assert job_sentence(None, 0, 0, 50) == "0 of 50 models ready."
    assert job_sentence({"state": "finished"}, 50, 50, 50) == "50 of 50 models ready."


def test_the_wait_sentence_names_the_stage_and_the_time():
    assert wait_sentence("slow", 42.0, None) == "This map is being computed; ready in about 40 s."
    assert wait_sentence("fast", None, None) == "This model is being prepared."
    training = {"stage": "train", "done": 7}
    said = wait_sentence("fast", 42.0, training)
    assert said == "This model is being prepared: training, epoch 7; ready in about 40 s."
    assert wait_sentence("slow", None, {"stage": "slow"}) == "This map is being computed: analysing."
