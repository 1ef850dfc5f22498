"""AppTest smoke and behaviour tests of every page, on a tiny prepared cache."""

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import ROOT

APP = str(ROOT / "app" / "streamlit_app.py")
PAGES = ["overview", "filters", "reconstructions", "similarity", "tsne", "clusters"]


def app(cache, monkeypatch, query=None) -> AppTest:
    monkeypatch.setenv("MODELS_CACHE", str(cache))
    monkeypatch.delenv("MNIST_PATH", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    return at.run()


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(tiny_cache, monkeypatch, page):
    at = app(tiny_cache, monkeypatch)
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception
    assert at.title and charts(at), f"{page} shows a title and at least one figure"
    assert at.expander, "technical details live in an expander"


@pytest.mark.parametrize("page", PAGES)
def test_sliders_change_every_pages_figures(tiny_cache, monkeypatch, page):
    at = app(tiny_cache, monkeypatch)
    at.switch_page(f"views/{page}.py").run()
    before = charts(at)
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    assert not at.exception
    after_k = charts(at)
    assert [c["data"] for c in after_k] != [c["data"] for c in before]
    at.select_slider(key="lambda_a").set_value(1e-3).run()
    assert [c["data"] for c in charts(at)] != [c["data"] for c in after_k]
    assert at.query_params["lambda_k"] == "0.001" and at.query_params["lambda_a"] == "0.001"


def test_sliders_offer_the_grid_with_readable_labels(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    k = at.select_slider(key="lambda_k")
    # the default grid's ten values plus the cache's 1e-3, labelled without float noise
    assert k.options == [
        "0",
        "1.1e-05",
        "2.2e-05",
        "3.3e-05",
        "4.4e-05",
        "5.6e-05",
        "6.7e-05",
        "7.8e-05",
        "8.9e-05",
        "1.0e-04",
        "0.001",
    ]
    assert at.select_slider(key="lambda_a").options == ["0", "3.0e-04", "0.001", "0.003", "0.01"]


def test_a_link_opens_the_same_view(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, {"lambda_k": "0.001", "lambda_a": "0"})
    assert not at.exception
    assert at.session_state["lambda_k"] == 1e-3 and at.session_state["lambda_a"] == 0.0


@pytest.mark.parametrize("bad", ["abc", "1e-3; DROP", "nan", "7", ""])
def test_malformed_url_parameters_fall_back_with_a_notice(tiny_cache, monkeypatch, bad):
    at = app(tiny_cache, monkeypatch, {"lambda_k": bad})
    assert not at.exception
    assert at.session_state["lambda_k"] == 0.0
    assert any("showing the default" in w.value for w in at.warning)


def test_an_untrained_cell_says_so_and_offers_one_button(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, {"lambda_k": "1.1e-05", "lambda_a": "0"})
    assert not at.exception
    assert any("has not been trained" in i.value for i in at.info)
    assert [b.label for b in at.button] == ["Train and analyse this model"]


def test_empty_cache_shows_the_guidance_screen(tmp_path, monkeypatch):
    at = app(tmp_path / "empty", monkeypatch)
    assert not at.exception
    assert any("No trained models yet" in i.value for i in at.info)
    assert at.button[0].label.startswith("Prepare all 50 models")
    assert not (tmp_path / "empty").exists()  # looking does not write


class FakeJob:
    """Stands in for the `python -m core prepare` process the button starts."""

    started: list = []

    def __init__(self, cmd, **kwargs):
        FakeJob.started.append(cmd)
        self.returncode = None

    def poll(self):
        return None


def test_two_users_pressing_train_start_one_job(tiny_cache, monkeypatch):
    import subprocess

    FakeJob.started = []
    monkeypatch.setattr(subprocess, "Popen", FakeJob)
    first = app(tiny_cache, monkeypatch, {"lambda_k": "1.1e-05", "lambda_a": "0"})
    second = AppTest.from_file(APP, default_timeout=60)  # another browser tab: same server, new session
    second.query_params.update({"lambda_k": "1.1e-05", "lambda_a": "0"})
    second.run()
    first.button[0].click().run()
    assert not first.exception
    assert len(FakeJob.started) == 1
    cmd = FakeJob.started[0]
    assert cmd[1:4] == ["-m", "core", "prepare"] and "--lambda-k" in cmd and str(tiny_cache) in cmd
    second.run()
    assert not second.exception
    assert not second.button, "the second user sees the running job, not a second button"
    assert len(FakeJob.started) == 1


def test_eta_counts_down_through_training_and_analysis():
    from app.state import eta_text

    early = eta_text({"stage": "train", "done": 5, "elapsed": 5.0})
    late = eta_text({"stage": "train", "done": 45, "elapsed": 45.0})
    analysing = eta_text({"stage": "analyze", "done": 7, "elapsed": 1.0})
    seconds = [float(t.split("about ")[1].split(" s")[0]) for t in (early, late, analysing)]
    assert seconds[0] > seconds[1] > seconds[2] > 0
    assert eta_text({"stage": "train", "done": 0, "elapsed": 0.0}) == ""


def test_a_failing_page_shows_a_message_not_a_traceback(tiny_cache, monkeypatch):
    from core import figures

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(figures, "filter_grid", broken)
    at = app(tiny_cache, monkeypatch)
    at.switch_page("views/filters.py").run()
    assert not at.exception
    assert any("Something went wrong" in e.value for e in at.error)
