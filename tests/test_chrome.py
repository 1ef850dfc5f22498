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
    real = go.Figure.to_dict
    monkeypatch.setattr(go.Figure, "to_dict", lambda self: copies.append(1) or real(self))
    first, second = chrome.sendable(fig), chrome.sendable(fig)
    # what Streamlit's plotly_chart does with it, twice (two reruns)
    specs = [plotly.tools.return_figure_from_figure_or_data(f, validate_figure=True) for f in (first, second)]
    assert specs[0] is specs[1] and len(copies) == 1, "the figure's dict is made on the first draw only"
    assert json.loads(pio.to_json(specs[0], validate=False)) == json.loads(fig.to_json())


def test_a_figure_not_kept_is_sent_itself():
    fig = go.Figure(go.Bar(y=[1, 2]))
    assert chrome.sendable(fig) is fig
