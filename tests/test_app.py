"""AppTest smoke and behaviour tests of every page, on a tiny prepared cache."""

import base64
import json

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from core.analysis import label_selectivity
from core.results import load_cell
from core.store import ModelStore

APP = str(ROOT / "app" / "streamlit_app.py")
PAGES = ["overview", "filters", "reconstructions", "similarity", "tsne", "clusters", "units", "frontier", "compare"]


def app(cache, monkeypatch, query=None) -> AppTest:
    monkeypatch.setenv("MODELS_CACHE", str(cache))
    monkeypatch.delenv("MNIST_PATH", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    return at.run()


def arr(v) -> np.ndarray:
    """A figure's array as Plotly's JSON holds it: a list, or base64 {"bdata", "dtype"}."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


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
    assert [b.label for b in at.main.button] == ["Train and analyse this model"]


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
    first.main.button[0].click().run()
    assert not first.exception
    assert len(FakeJob.started) == 1
    cmd = FakeJob.started[0]
    assert cmd[1:4] == ["-m", "core", "prepare"] and "--lambda-k" in cmd and str(tiny_cache) in cmd
    second.run()
    assert not second.exception
    assert not second.main.button, "the second user sees the running job, not a second button"
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


# ------------------------------------------------------------- beyond the original (issue 5)


def traces(at, key=None) -> list[dict]:
    """The traces of every figure, or of the figure drawn with `key`."""
    out = []
    for c in at.get("plotly_chart"):
        if key is None or c.proto.id and key in c.proto.id:
            out += json.loads(c.proto.spec)["data"]
    return out


def test_choosing_a_unit_changes_the_unit_view_and_the_url(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    at.switch_page("views/units.py").run()
    assert not at.exception
    first = at.number_input(key="unit").value
    view = load_cell(ModelStore(tiny_cache), 0.0, 0.0)
    freq = view.arrays["unit_frequency_test"]
    sel, preferred = label_selectivity(view.arrays["unit_label_frequency"])
    common = (freq >= 0.01) & (view.arrays["unit_hist"].sum(axis=1) >= 20)
    assert common[first] and sel[first] == sel[common].max()  # opens on a telling unit
    verdict = next(m.value for m in at.markdown if m.value.startswith(f"Unit {first} "))
    # the text agrees with the bar chart: the preferred digit is the one it fires on most often
    assert (f"most often on **{preferred[first]}s**" in verdict) or ("about as often on every digit" in verdict)
    strongest = int(np.argmax(view.arrays["unit_label_mean"][first]))  # what its top digits show
    assert f"most strongly on **{strongest}s**" in verdict or strongest == preferred[first]
    assert at.subheader[0].value == f"Unit {first}" and at.query_params["unit"] == str(first)
    before = [c["data"] for c in charts(at)]
    other = 0 if first != 0 else 1
    at.number_input(key="unit").set_value(other).run()
    assert not at.exception
    assert at.subheader[0].value == f"Unit {other}" and at.query_params["unit"] == str(other)
    after = [c["data"] for c in charts(at)]
    assert after != before
    # the selected tile is framed on the clickable grid, which has one click target per unit
    grid = next(c for c in charts(at) if any(t.get("name") == "units" for t in c["data"]))
    assert [s["name"] for s in grid["layout"]["shapes"] if s["name"].startswith("selected")] == [
        f"selected unit {other}"
    ]
    targets = next(t for t in grid["data"] if t.get("name") == "units")
    assert arr(targets["customdata"]).tolist() == list(range(196))
    # the unit persists across pages, and a link opens it
    at.switch_page("views/tsne.py").run()
    at.switch_page("views/units.py").run()
    assert at.number_input(key="unit").value == other
    linked = app(tiny_cache, monkeypatch, {"unit": "17"})
    linked.switch_page("views/units.py").run()
    assert linked.number_input(key="unit").value == 17


@pytest.mark.parametrize("bad", ["-1", "196", "abc", "²", "1e2", " "])
def test_a_bad_unit_in_the_link_falls_back_with_a_notice(tiny_cache, monkeypatch, bad):
    at = app(tiny_cache, monkeypatch, {"unit": bad})
    at.switch_page("views/units.py").run()
    assert not at.exception
    assert any("does not exist" in w.value for w in at.warning)
    assert 0 <= at.number_input(key="unit").value < 196


def test_the_frontier_has_one_point_per_analysed_cell(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, {"lambda_k": "0.001", "lambda_a": "0.001"})
    at.switch_page("views/frontier.py").run()
    assert not at.exception
    data = charts(at)[0]["data"]
    points = [tuple(c) for t in data if t["name"].startswith("λ_a") for c in t["customdata"]]
    assert sorted(points) == sorted((k, a) for k in (0.0, 1e-3) for a in (0.0, 1e-3))
    ring = next(t for t in data if t["name"] == "selected model")
    front = next(t for t in data if t["name"].startswith("Pareto"))
    assert 1 <= len(front["x"]) <= 4 and len(ring["x"]) == 1
    assert any("are on the front" in m.value for m in at.markdown)
    at.radio(key="frontier_x").set_value("density_test").run()
    assert charts(at)[0]["data"][0]["x"] != data[0]["x"]  # now the density, not active units


def test_the_comparison_shows_both_models_and_their_differences(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    at.switch_page("views/compare.py").run()
    assert not at.exception
    titles = [c["layout"]["title"]["text"] for c in charts(at)]
    assert titles[0].startswith("A: λ_k = 0, λ_a = 0") and titles[1].startswith("B: λ_k = 0, λ_a = 0.001")
    assert any(m.value.startswith("**Model B compared with model A:**") and "dead unit" in m.value for m in at.markdown)
    assert at.query_params["cmp_a"] == "0.001"
    b_before = charts(at)[1]["data"]
    at.select_slider(key="cmp_lambda_k").set_value(1e-3).run()
    assert charts(at)[1]["data"] != b_before and charts(at)[1]["layout"]["title"]["text"].startswith("B: λ_k = 0.001")
    at.segmented_control(key="compare_show").set_value("t-SNE").run()
    assert not at.exception
    assert all(t["type"] == "scattergl" for c in charts(at) for t in c["data"])
    untrained = app(tiny_cache, monkeypatch, {"cmp_k": "1.1e-05", "cmp_a": "0"})
    untrained.switch_page("views/compare.py").run()
    assert any("is not trained" in i.value for i in untrained.info)
    tampered = app(tiny_cache, monkeypatch, {"cmp_k": "1e-3'--", "cmp_a": "7"})
    tampered.switch_page("views/compare.py").run()
    assert not tampered.exception
    warnings = [w.value for w in tampered.warning]
    assert len(warnings) == 2
    assert warnings[0].startswith("The link's cmp_k “1e-3'--” is not a number")
    assert warnings[1].startswith("The link's cmp_a = 7 is not in the grid")
    assert len(charts(tampered)) == 2  # the default model B instead
    plain = app(tiny_cache, monkeypatch, {"cmp_k": "1e-3", "cmp_a": "0.0"})  # numbers, not the sliders' labels
    plain.switch_page("views/compare.py").run()
    assert not plain.warning and plain.session_state["cmp_lambda_k"] == 1e-3


def test_the_tour_advances_and_its_state_is_in_the_url(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    at.button(key="tour-start").click().run()
    assert at.session_state["tour"] == 1 and at.query_params["tour"] == "1"
    assert any(m.value.startswith("**Tour, step 1 of 7") for m in at.markdown)
    at.button(key="tour-next").click().run()
    at.button(key="tour-next").click().run()  # step 3: the strongest weight penalty, filters page
    assert not at.exception
    assert at.query_params["tour"] == "3" and at.title[0].value == "What does each hidden unit look for?"
    assert at.session_state["lambda_k"] == 1e-3 and at.query_params["lambda_k"] == "0.001"
    at.button(key="tour-back").click().run()
    assert at.query_params["tour"] == "2" and at.session_state["lambda_k"] == 0.0
    for _ in range(5):
        at.button(key="tour-next").click().run()
        assert not at.exception
    assert at.query_params["tour"] == "7" and at.title[0].value == "Two models side by side"
    at.button(key="tour-finish").click().run()
    assert at.session_state["tour"] == 0 and "tour" not in at.query_params
    # a link to step 5 opens it; a tampered step is ignored
    linked = app(tiny_cache, monkeypatch, {"tour": "5"})
    assert any(m.value.startswith("**Tour, step 5 of 7") for m in linked.markdown)
    for bad in ("0", "8", "x", "²", "-1"):
        tampered = app(tiny_cache, monkeypatch, {"tour": bad})
        assert not tampered.exception and tampered.session_state["tour"] == 0 and tampered.title


def test_a_tour_link_to_another_page_says_so_and_offers_the_step(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, {"tour": "5"})  # step 5 is the unit explorer at the strongest penalties
    banner = next(m.value for m in at.markdown if m.value.startswith("**Tour, step 5"))
    assert "λ_k = 0.001, λ_a = 0.001" in banner  # the step's own λ, not the ones open now (0, 0)
    assert any("left this step's view" in c.value for c in at.caption)
    at.button(key="tour-show").click().run()
    assert not at.exception and at.title[0].value == "One hidden unit up close"
    assert at.session_state["lambda_k"] == 1e-3 and at.session_state["lambda_a"] == 1e-3
    assert "tour-show" not in [b.key for b in at.button]
    assert not any("left this step's view" in c.value for c in at.caption)


def test_tour_and_animation_take_turns_and_step_5_opens_the_telling_unit(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    at.switch_page("views/units.py").run()
    at.number_input(key="unit").set_value(7).run()
    at.button(key="anim-play").click().run()
    assert at.button(key="tour-start").disabled, "no tour while the animation plays"
    at.button(key="anim-stop").click().run()
    at.button(key="tour-start").click().run()
    assert at.button(key="anim-play").disabled, "no animation during the tour"
    at.session_state["_anim"] = {"axis": "lambda_k", "last": 1e18}  # as if it had been playing
    at.button(key="tour-next").click().run()
    assert "_anim" not in at.session_state, "a tour step stops the animation"
    assert at.session_state["unit"] == 7, "steps that do not show a unit keep the one chosen"
    for _ in range(3):
        at.button(key="tour-next").click().run()
    assert at.title[0].value == "One hidden unit up close"
    assert at.number_input(key="unit").value != 7, "step 5 opens on its own unit, not the one chosen before"


def test_presenter_mode_hides_details_and_downloads_and_is_in_the_url(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    assert at.expander and at.get("download_button")
    at.toggle(key="present").set_value(True).run()
    assert not at.exception and at.query_params["present"] == "1"
    assert not at.expander and not at.get("download_button")
    assert all(c["layout"]["font"]["size"] == 17 for c in charts(at))
    linked = app(tiny_cache, monkeypatch, {"present": "1"})
    assert linked.toggle(key="present").value is True and not linked.expander
    assert app(tiny_cache, monkeypatch, {"present": "yes"}).toggle(key="present").value is True
    odd = app(tiny_cache, monkeypatch, {"present": "maybe"})
    assert odd.toggle(key="present").value is False and any("present" in w.value for w in odd.warning)


def test_play_steps_lambda_through_the_ready_models_and_stops_at_the_end(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    at.button(key="anim-play").click().run()
    assert at.session_state["_anim"]["axis"] == "lambda_k" and at.button(key="anim-stop")
    assert at.session_state["lambda_k"] == 0.0  # the first step waits for its interval
    at.session_state["_anim"] = {"axis": "lambda_k", "last": 0.0}  # as if the interval had passed
    at.run()
    assert not at.exception
    assert at.session_state["lambda_k"] == 1e-3 and at.query_params["lambda_k"] == "0.001"  # the next ready one
    at.session_state["_anim"] = {"axis": "lambda_k", "last": 0.0}
    at.run()
    assert "_anim" not in at.session_state and at.button(key="anim-play")  # the end of the grid: stopped


@pytest.mark.parametrize(
    ("page", "n"),
    [("overview", 2), ("filters", 2), ("reconstructions", 1), ("similarity", 1), ("tsne", 1), ("clusters", 1)]
    + [("units", 1), ("frontier", 1), ("compare", 1)],
)
def test_every_page_offers_its_data_as_csv(tiny_cache, monkeypatch, page, n):
    at = app(tiny_cache, monkeypatch)
    at.switch_page(f"views/{page}.py").run()
    buttons = at.get("download_button")
    assert len(buttons) == n and all("(CSV)" in b.proto.label for b in buttons)


def test_the_filters_page_shows_the_same_firing_frequencies_as_the_unit_explorer(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    at.switch_page("views/filters.py").run()
    bars = next(c for c in charts(at) if c["layout"]["title"]["text"].startswith("How often each hidden unit fires"))
    shown = {int(u): float(y) for t in bars["data"] for u, y in zip(arr(t["customdata"]), arr(t["y"]))}
    hist = load_cell(ModelStore(tiny_cache), 0.0, 0.0).arrays["unit_hist"]
    counts = hist.sum(axis=1) / 200
    assert all(shown[u] == counts[u] for u in shown)  # the exact counts / n, not float32 noise
