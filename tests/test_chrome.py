"""How figures are kept and sent: a kept figure's dict is made once and is the figure's own."""

import dataclasses
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
    # what a reader of the kept figure gets, twice (two reruns)
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


def test_a_kept_figure_is_sent_in_place_as_its_json_made_once(monkeypatch):
    calls = []
    fig = chrome.figure(("test_chrome", "bytes"), lambda: _build(calls))
    made = []
    real = chrome.to_json_plotly
    monkeypatch.setattr(chrome, "to_json_plotly", lambda d: made.append(1) or real(d))
    first, second = chrome.figure_bytes(fig), chrome.figure_bytes(fig)
    assert first is second and len(made) == 1, "the JSON is made on the first draw only"
    assert json.loads(first) == json.loads(fig.to_json()), "exactly the figure Plotly would write"
    own = go.Figure(go.Bar(y=[1, 2]))
    assert json.loads(chrome.figure_bytes(own)) == json.loads(own.to_json())
    own.update_layout(title="changed")  # a figure not kept may change: its JSON is made each time
    assert json.loads(chrome.figure_bytes(own))["layout"]["title"]["text"] == "changed"


PLACES_APP = """
import plotly.graph_objects as go
import streamlit as st
from app import chrome

k = st.slider("k", 0, 9, 0, key="k")
for i in range(2):  # one line, two figures: told apart by their order
    chrome.chart(go.Figure(go.Scatter(y=[k, i])))
chrome.chart(go.Figure(go.Bar(y=[k])), key="own-key")
chrome.chart(go.Figure(go.Bar(y=[k])), key="clicky", on_select=lambda: None, selection_mode="points")


@st.fragment
def part():
    chrome.chart(go.Figure(go.Scatter(y=[k, 5])))


part()
"""


def test_a_figure_keeps_its_place_on_the_page_whatever_it_shows(monkeypatch):
    """The figures drawn in place have the same identity in every run (the browser redraws the same <div>,
    presentation/figure.js), even when what they show changes; a clickable one too, by its own key."""
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    from apptest import figure_elements, figure_spec

    at = AppTest.from_string(PLACES_APP, default_timeout=60).run()
    assert not at.exception
    before = figure_elements(at.main)
    assert [e.type for e in before] == ["bidi_component"] * 5
    ids = [e.proto.id for e in before]
    assert len(set(ids)) == 5
    assert "own-key" in ids[2] and "clicky" in ids[3] and all("fig-" in i for i in ids[:2] + ids[4:]), ids
    at.slider(key="k").set_value(7).run()
    after = figure_elements(at.main)
    assert [e.proto.id for e in after] == ids, "the same places"
    assert figure_spec(after[0])["data"][0]["y"] != figure_spec(before[0])["data"][0]["y"], "a new figure"
    # the fragment alone reruns (as the browser asks): its figure keeps the place it had in the full run
    fragments = list(at._fragment_storage._fragments)
    assert len(fragments) == 1
    run_script = LocalScriptRunner._run_script
    monkeypatch.setattr(
        LocalScriptRunner,
        "_run_script",
        lambda self, data: run_script(self, dataclasses.replace(data, fragment_id_queue=fragments)),
    )
    alone = at._tree._runner._run(at._tree.get_widget_states())
    assert not alone.exception
    assert len(figure_elements(alone.main)) == 1, "only the fragment ran"
    assert figure_elements(alone.main)[-1].proto.id == ids[4]
