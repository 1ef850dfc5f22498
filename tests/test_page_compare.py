"""The compare page: renders, follows the sliders, offers its CSV; both models, their differences, model B's link."""

from apptest import app, assert_renders, assert_sliders_change_figures, charts, csv_buttons, texts


def test_the_compare_page_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page="compare"), "compare")


def test_the_sliders_change_model_a(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page="compare"))


def test_the_compare_page_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page="compare"))
    assert len(buttons) == 1 and "(CSV)" in buttons[0]


def test_the_compare_page_needs_only_the_fast_stage(fast_only_cache, monkeypatch):
    at = app(fast_only_cache, monkeypatch, page="compare")
    assert_renders(at, "compare")
    assert len(charts(at)) == 2
    at.segmented_control(key="compare_show").set_value("reconstructions").run()
    assert not at.exception and not at.error and len(charts(at)) == 2


def test_t_sne_side_by_side_waits_for_the_maps(fast_only_cache, monkeypatch):
    at = app(fast_only_cache, monkeypatch, page="compare")
    at.segmented_control(key="compare_show").set_value("t-SNE").run()
    assert not at.exception
    assert not at.error, texts(at.error)


def test_the_comparison_shows_both_models_and_their_differences(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page="compare")
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
    unprepared = app(tiny_cache, monkeypatch, {"cmp_k": "1.1e-05", "cmp_a": "0"}, page="compare")
    assert any("λ_k = 1.1e-05, λ_a = 0 has not been prepared yet" in i for i in texts(unprepared.info))
    plain = app(tiny_cache, monkeypatch, {"cmp_k": "1e-3", "cmp_a": "0.0"}, page="compare")  # numbers, not labels
    assert not plain.warning and plain.session_state["cmp_lambda_k"] == 1e-3


def test_a_tampered_link_to_model_b_falls_back_to_the_default_b(tiny_cache, monkeypatch):
    tampered = app(tiny_cache, monkeypatch, {"cmp_k": "1e-3'--", "cmp_a": "7"}, page="compare")
    assert not tampered.exception
    assert len(tampered.warning) == 2
    assert len(charts(tampered)) == 2  # the default model B instead
    assert tampered.query_params["cmp_a"] == "0.001" and tampered.query_params["cmp_k"] == "0"


def test_a_tampered_link_to_model_b_names_the_links_own_parameters(tiny_cache, monkeypatch):
    tampered = app(tiny_cache, monkeypatch, {"cmp_k": "1e-3'--", "cmp_a": "7"}, page="compare")
    warnings = [w.value for w in tampered.warning]
    assert len(warnings) == 2
    assert warnings[0].startswith("The link's cmp_k “1e\\-3'\\-\\-” is not a number")  # shown as typed, not as Markdown
    assert warnings[1].startswith("The link's cmp_a = 7 is not in the grid")
