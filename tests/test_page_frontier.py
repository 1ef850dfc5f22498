"""The trade-off page: renders, follows the sliders, offers its CSV; one point per analysed model, a click chooses."""

from apptest import (
    app,
    arr,
    assert_renders,
    assert_sliders_change_figures,
    charts,
    click_points,
    csv_buttons,
    figure_elements,
    texts,
)


def test_the_frontier_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page="frontier"), "frontier")


def test_the_sliders_move_the_frontiers_ring(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page="frontier"))


def test_the_frontier_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page="frontier"))
    assert len(buttons) == 1 and "(CSV)" in buttons[0]


def test_the_frontier_needs_only_the_fast_stage(fast_only_cache, monkeypatch):
    at = app(fast_only_cache, monkeypatch, page="frontier")
    assert_renders(at, "frontier")
    points = [tuple(c) for t in charts(at)[0]["data"] if t["name"].startswith("λ_a") for c in t["customdata"]]
    assert len(points) == 4


def test_the_frontier_has_one_point_per_analysed_cell(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, {"lambda_k": "0.001", "lambda_a": "0.001"}, page="frontier")
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


def test_the_caption_says_where_the_chosen_model_stands(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page="frontier")
    assert any(c.startswith("The chosen model (ringed) is") for c in texts(at.caption))
    away = app(tiny_cache, monkeypatch, page="frontier")
    away.select_slider(key="lambda_k").set_value(1.1e-05).run()
    assert any("not analysed yet" in c for c in texts(away.caption))
    assert not any(t["name"] == "selected model" for t in charts(away)[0]["data"])


def test_a_click_on_a_point_chooses_its_model(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page="frontier")
    chart = next(c for c in figure_elements(at.main) if "frontier_chart" in c.proto.id)
    click_points(at, chart, [{"customdata": [1e-3, 1e-3], "curve_number": 1, "point_number": 0, "point_index": 0}])
    assert not at.exception
    assert at.session_state["lambda_k"] == 1e-3 and at.session_state["lambda_a"] == 1e-3
    assert at.query_params["lambda_k"] == "0.001" and at.query_params["lambda_a"] == "0.001"
    ring = next(t for t in charts(at)[0]["data"] if t["name"] == "selected model")
    row = next(t for t in charts(at)[0]["data"] if [1e-3, 1e-3] in [list(c) for c in t.get("customdata", [])])
    i = [list(c) for c in row["customdata"]].index([1e-3, 1e-3])
    assert arr(ring["x"])[0] == arr(row["x"])[i]
