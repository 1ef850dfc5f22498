"""The overview page: renders, follows the sliders, offers its CSV; a model not ready yet says what is going on."""

from apptest import (
    app,
    arr,
    assert_renders,
    assert_sliders_change_figures,
    charts,
    csv_buttons,
    fake_job,
    fake_training,
    task,
    texts,
)


def test_the_overview_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page="overview"), "overview")


def test_the_sliders_change_the_overviews_figures(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page="overview"))


def test_the_overview_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page="overview"))
    assert len(buttons) == 2 and all("(CSV)" in b for b in buttons)


def test_the_overview_needs_only_the_fast_stage(fast_only_cache, monkeypatch):
    at = app(fast_only_cache, monkeypatch, page="overview")
    assert_renders(at, "overview")
    assert at.metric and not at.info


def test_a_model_not_prepared_says_so_and_offers_one_button(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)
    at.select_slider(key="lambda_k").set_value(1.1e-05).run()  # chosen on purpose (a link lands on a ready one)
    assert not at.exception
    assert any("λ_k = 1.1e-05, λ_a = 0 has not been prepared yet" in i for i in texts(at.info))
    assert [b.label for b in at.main.button] == ["Prepare this model now (then the rest of the grid)"]
    assert charts(at) == []


def test_while_the_job_works_on_the_model_the_page_says_when_it_is_ready(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    fake_job(root, eta_by_task={task(0.0, 0.0, "fast"): 42.0, task(0.0, 0.0, "slow"): 300.0})
    at = app(root, monkeypatch)
    assert not at.exception
    assert texts(at.info) == ["This model is being prepared; ready in about 40 s."]
    assert not at.main.button, "no second Prepare while the job runs"
    assert charts(at) == []


def test_the_overview_shows_the_network_learning_live(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    fake_job(root, eta_by_task={task(0.0, 0.0, "fast"): 42.0})
    fake_training(root, (0.0, 0.0), epochs=5)
    at = app(root, monkeypatch)
    assert not at.exception
    assert texts(at.info) == ["This model is being prepared: training, epoch 5; ready in about 40 s."]
    (live,) = charts(at)
    assert live["layout"]["title"]["text"] == "Live: the network is learning — epoch 5"
    assert len(live["data"]) == 2 and all(len(arr(t["y"])) == 5 for t in live["data"])
    assert arr(live["data"][0]["y"])[-1] < arr(live["data"][0]["y"])[0]  # the losses written, as written
    fake_training(root, (0.0, 0.0), epochs=6)  # the next epoch lands
    at.run()
    assert [len(arr(t["y"])) for t in charts(at)[0]["data"]] == [6, 6]
    assert charts(at)[0]["layout"]["title"]["text"].endswith("epoch 6")


def test_live_curves_are_only_those_of_the_selected_model(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    fake_job(root, eta_by_task={task(0.0, 0.0, "fast"): 42.0})
    fake_training(root, (1e-3, 0.0), epochs=5)  # another model trains
    at = app(root, monkeypatch)
    assert not at.exception
    assert texts(at.info) == ["This model is being prepared; ready in about 40 s."]
    assert charts(at) == []


def test_seed_replicates_show_as_a_band_and_never_replace_the_model(tiny_cache, tiny_data, tmp_path, monkeypatch):
    from apptest import copy_cache
    from conftest import build_train_cfg
    from core.config import SweepGrid
    from core.store import ModelStore
    from core.sweep import run_sweep

    root = copy_cache(tiny_cache, tmp_path / "cache")
    for seed in (1, 2):
        run_sweep(
            SweepGrid((0.0, 1e-3), (0.0,)),
            build_train_cfg(max_epochs=2, seed=seed),
            tiny_data,
            ModelStore(root),
            jobs=1,
            progress=False,
        )
    at = app(root, monkeypatch, page="overview")
    assert not at.exception and at.metric, "seed 0's analysed model is still the one shown"
    loss = charts(at)[0]
    bands = [t for t in loss["data"] if t.get("fill") == "tonexty"]
    assert len(bands) == 2 and bands[1]["name"] == "spread over 3 seeds (min–max)"
    assert any("3 different random starts" in m.value for m in at.markdown)


def test_the_lambda_figures_share_one_legend_line_above_them(tiny_cache, monkeypatch):
    """Plotly's legend had only its plot's width and wrapped onto three rows; one line of the page says it."""
    for query in ({}, {"present": "1"}):
        at = app(tiny_cache, monkeypatch, query)
        sweeps = [f for f in charts(at) if f["layout"]["title"]["text"].startswith(("Error and loss", "Code density"))]
        assert len(sweeps) == 4
        for fig in sweeps:
            assert fig["layout"]["showlegend"] is False
            names = {t.get("name") for t in fig["data"]}
            assert {"training set", "test set"} <= names  # the lines the line names, drawn as before
        legends = [h.proto.body for h in at.get("html") if 'class="sae-legend"' in h.proto.body]
        assert len(legends) == 2  # one above each pair
        for body in legends:
            for label in ("training set", "test set", "selected model"):
                assert label in body
            assert "seeds" not in body  # the tiny cache has one seed per model: no band to name


def test_the_curves_and_the_table_are_made_only_when_their_expander_is_open(tiny_cache, monkeypatch):
    """Closed (as a page opens), they cost a move no figure and the first page no table code; opened, they show."""
    at = app(tiny_cache, monkeypatch, page="overview")
    titles = [f["layout"]["title"]["text"] for f in charts(at)]
    assert {e.label for e in at.expander} >= {"Training curves of the selected model", "Results of every model (table)"}
    assert not any(t.startswith("Training curves") for t in titles) and not at.dataframe
    at.session_state["overview_curves"] = True  # what a click on the expander sets
    at.session_state["overview_table"] = True
    at.run()
    titles = [f["layout"]["title"]["text"] for f in charts(at)]
    assert sum(t.startswith("Training curves") for t in titles) == 1 and len(titles) == 5
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 4  # one row per model of the tiny grid
    at.session_state["overview_curves"] = False
    at.run()
    assert not any(f["layout"]["title"]["text"].startswith("Training curves") for f in charts(at))
