"""How figures are kept and sent: a kept figure's dict is made once and is the figure's own."""

import json

import plotly.graph_objects as go
import plotly.io as pio
import plotly.tools

from app import chrome


def _build(calls: list) -> go.Figure:
    calls.append(1)
    return go.Figure(go.Scatter(x=[0, 1, 2], y=[3.0, 1.0, 2.0], name="a"), layout=dict(title="t"))


def test_a_kept_figure_is_built_once_and_sent_as_it_is_without_a_copy_per_draw(monkeypatch):
    calls = []
    fig = chrome.figure(("test_chrome", "kept"), lambda: _build(calls))
    assert chrome.figure(("test_chrome", "kept"), lambda: _build(calls)) is fig and len(calls) == 1
    copies = []
    real = chrome.as_dict
    monkeypatch.setattr(chrome, "as_dict", lambda f: copies.append(1) or real(f))
    first, second = chrome.sendable(fig), chrome.sendable(fig)
    # what Streamlit's plotly_chart does with it, twice (two reruns)
    specs = [plotly.tools.return_figure_from_figure_or_data(f, validate_figure=True) for f in (first, second)]
    assert specs[0] is specs[1] and len(copies) == 1, "the figure's dict is made on the first draw only"
    assert json.loads(pio.to_json(specs[0], validate=False)) == json.loads(fig.to_json())


def test_a_figure_not_kept_is_sent_itself():
    fig = go.Figure(go.Bar(y=[1, 2]))
    assert chrome.sendable(fig) is fig


def test_a_clickable_chart_carries_the_modes_streamlit_would_set_after_drawing_it():
    """Streamlit's chart sets click, hover and drag modes on a selectable figure after its first drawing,
    which drew it a second time; the figure now arrives with them. The kept dict itself is not changed."""
    kept = chrome.figure(("test", "clickable"), lambda: go.Figure(go.Scatter(y=[1, 2])), sized=False)
    spec = chrome.sendable(kept, clickable=True).to_dict()
    assert {k: spec["layout"][k] for k in chrome.CLICKABLE} == {
        "clickmode": "event+select",
        "hovermode": "closest",
        "dragmode": "pan",
    }
    plain = chrome.sendable(kept).to_dict()
    assert not any(k in plain["layout"] for k in chrome.CLICKABLE), "the kept dict is shared: left as it was"
    own = go.Figure(go.Scatter(y=[1]), layout=dict(dragmode="zoom"))
    sent = chrome.sendable(own, clickable=True)
    assert sent.layout.dragmode == "zoom" and sent.layout.clickmode == "event+select", "a figure's own mode stays"
