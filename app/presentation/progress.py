"""What people see of the preparation: the grid's readiness map, live training curves, times and progress.

Pure functions of the cache's listing and the job's state (dicts); no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from app.presentation.charts import training_curves
from app.presentation.style import BLUE, ORANGE, finish
from app.presentation.text import fmt

# readiness -> (label, marker colour, filled)
LOOK = {
    "complete": ("ready", BLUE, True),
    "fast": ("ready but for its maps", "#56B4E9", True),
    "trained": ("trained, not analysed", "#999999", True),
    "working": ("being prepared now", ORANGE, True),
    "missing": ("not prepared yet", "#999999", False),
}


def about(seconds: float | None) -> str:
    """A duration as people say it: "about 40 s", "about 3 min", "" when unknown."""
    if seconds is None:
        return ""
    if seconds < 90:
        return f"about {max(5, round(seconds / 5) * 5):.0f} s"
    return f"about {round(seconds / 60):.0f} min"


def readiness_map(
    lambda_k: Sequence[float],
    lambda_a: Sequence[float],
    states: Mapping[tuple[float, float], str],
    selected: tuple[float, float] | None = None,
    height: int = 190,
) -> go.Figure:
    """The grid as dots, one per (λ_k, λ_a) cell, one evenly spaced step per grid value.

    states: cell -> "complete", "fast", "trained", "working" or "missing" (absent: missing).
    Each dot's customdata is [λ_k, λ_a], so a click can choose that model.
    """
    fig = go.Figure()
    for state, (label, color, filled) in LOOK.items():
        xs, ys, data = [], [], []
        for j, a in enumerate(lambda_a):
            for i, k in enumerate(lambda_k):
                if states.get((k, a), "missing") == state:
                    xs.append(i)
                    ys.append(j)
                    data.append([k, a])
        if not xs:
            continue
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name=label,
                customdata=data,
                marker=dict(
                    size=11,
                    color=color if filled else "white",
                    line=dict(color=color, width=1.5),
                    symbol="circle",
                ),
                hovertemplate=f"λ_k = %{{customdata[0]:.3g}}, λ_a = %{{customdata[1]:.3g}}<br>{label}<extra></extra>",
            )
        )
    ring = chosen_ring(lambda_k, lambda_a, selected)
    if ring is not None:
        fig.add_trace(go.Scatter(ring))
    finish(fig, "", height=height, margin=dict(l=0, r=24, t=4, b=0), showlegend=False, dragmode=False)
    fig.update_xaxes(
        tickvals=list(range(len(lambda_k))),
        ticktext=[fmt(k) if i in (0, len(lambda_k) - 1) else "" for i, k in enumerate(lambda_k)],
        title_text="λ_k →",
        title_standoff=0,
        showgrid=False,
        zeroline=False,
        fixedrange=True,
    )
    fig.update_yaxes(
        tickvals=list(range(len(lambda_a))),
        ticktext=[fmt(a) for a in lambda_a],
        title_text="λ_a",
        showgrid=False,
        zeroline=False,
        fixedrange=True,
    )
    return fig


def chosen_ring(
    lambda_k: Sequence[float], lambda_a: Sequence[float], selected: tuple[float, float] | None
) -> dict | None:
    """The readiness map's ring around the chosen cell, as a trace's dict (None if it is not on the grid).

    A dict, so that the map drawn for another chosen cell is the same figure with another ring appended
    (`app.jobs`), without building the map again.
    """
    if selected is None or selected[0] not in lambda_k or selected[1] not in lambda_a:
        return None
    return dict(
        type="scatter",
        x=[list(lambda_k).index(selected[0])],
        y=[list(lambda_a).index(selected[1])],
        mode="markers",
        name="chosen",
        marker=dict(size=19, color="rgba(0,0,0,0)", line=dict(color="black", width=2)),
        hoverinfo="skip",
        showlegend=False,
    )


def live_curves(progress: Mapping[str, Any]) -> go.Figure:
    """The training curves of a model being trained right now, from its progress (the epochs so far)."""
    fig = training_curves({"loss": progress.get("loss", []), "val_loss": progress.get("val_loss", [])})
    n = len(progress.get("loss", []))
    title = f"Live: the network is learning — epoch {n}" if n else "Live: the network is starting to learn…"
    return finish(fig, title)


def job_sentence(job: Mapping[str, Any] | None, n_ready: int, n_maps: int, n_total: int) -> str:
    """One line on the grid's preparation: how far it is, and how long it still needs."""
    done = f"{n_ready} of {n_total} models ready" + (f" ({n_maps} with their maps)" if n_maps < n_ready else "")
    state = (job or {}).get("state")
    if state in ("running", "stopping"):
        left = about(job.get("eta_seconds"))
        return f"Preparing: {done}" + (f", {left} left." if left else ".")
    if state == "interrupted":
        return f"Preparation was interrupted (its process is gone): {done}."
    return f"{done}."


def wait_sentence(stage: str, eta: float | None, working: Mapping[str, Any] | None) -> str:
    """Why this view is not there yet, and when it will be."""
    what = "This map is being computed" if stage == "slow" else "This model is being prepared"
    if working is not None:
        if working.get("stage") == "train":
            return f"{what}: training, epoch {working.get('done', 0)}" + (f"; ready in {about(eta)}." if eta else ".")
        return f"{what}: analysing" + (f"; ready in {about(eta)}." if eta else ".")
    if eta is not None:
        return f"{what}; ready in {about(eta)}."
    return f"{what}."
