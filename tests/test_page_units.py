"""The unit explorer: renders, follows the sliders, offers its CSV; a unit is chosen by number, click or link."""

import numpy as np
import pytest

from app.presentation import units
from apptest import (
    app,
    arr,
    assert_renders,
    assert_sliders_change_figures,
    charts,
    click_points,
    csv_buttons,
    figure_elements,
)
from core.analysis import label_selectivity
from core.results import load_cell
from core.store import ModelStore


def test_the_unit_explorer_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page="units"), "units")


def test_the_sliders_change_the_unit_explorers_figures(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page="units"))


def test_the_unit_explorer_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page="units"))
    assert len(buttons) == 1 and "(CSV)" in buttons[0]


def test_the_unit_explorer_needs_only_the_fast_stage(fast_only_cache, monkeypatch):
    assert_renders(app(fast_only_cache, monkeypatch, page="units"), "units")


def test_choosing_a_unit_changes_the_unit_view_and_the_url(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page="units")
    assert not at.exception
    first = at.number_input(key="unit").value
    view = load_cell(ModelStore(tiny_cache), 0.0, 0.0)
    _, preferred = label_selectivity(view.arrays["unit_label_frequency"])
    assert first == units.telling_unit(units.units_columns(view))  # the rule: test_presentation_units.py
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
    linked = app(tiny_cache, monkeypatch, {"unit": "17"}, page="units")
    assert linked.number_input(key="unit").value == 17


def test_a_click_on_a_filter_chooses_its_unit(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page="units")
    grid = next(c for c in figure_elements(at.main) if "unit_grid" in c.proto.id)
    click_points(at, grid, [{"customdata": 42, "curve_number": 1, "point_number": 42, "point_index": 42}])
    assert not at.exception
    assert at.number_input(key="unit").value == 42 and at.subheader[0].value == "Unit 42"
    assert at.query_params["unit"] == "42"


@pytest.mark.parametrize("bad", ["-1", "196", "abc", "²", "1e2", " "])
def test_a_bad_unit_in_the_link_falls_back_with_a_notice(tiny_cache, monkeypatch, bad):
    at = app(tiny_cache, monkeypatch, {"unit": bad}, page="units")
    assert not at.exception
    assert any("does not exist" in w.value for w in at.warning)
    assert 0 <= at.number_input(key="unit").value < 196
