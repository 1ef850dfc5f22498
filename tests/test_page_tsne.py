"""The t-SNE page: renders, follows the sliders, offers its CSV; without the slow stage it waits for its maps."""

from apptest import (
    app,
    assert_renders,
    assert_sliders_change_figures,
    assert_waits_for_maps,
    charts,
    copy_cache,
    csv_buttons,
    fake_job,
    task,
    texts,
)

PAGE = "tsne"


def test_the_tsne_page_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page=PAGE), PAGE)


def test_the_sliders_change_the_tsne_pages_figures(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page=PAGE))


def test_the_tsne_page_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page=PAGE))
    assert len(buttons) == 1 and "(CSV)" in buttons[0]


def test_without_the_slow_stage_the_tsne_page_offers_to_compute_its_maps(fast_only_cache, monkeypatch):
    at = app(fast_only_cache, monkeypatch, page=PAGE)
    assert_waits_for_maps(at, PAGE)
    assert texts(at.info) == ["The maps of the model λ_k = 0, λ_a = 0 have not been computed yet."]
    assert not at.get("download_button")


def test_compute_them_now_starts_one_job_for_this_model_first(fast_only_cache, tmp_path, monkeypatch, fake_popen):
    root = copy_cache(fast_only_cache, tmp_path / "cache")  # the button writes the job's log there
    at = app(root, monkeypatch, {"lambda_k": "0.001", "lambda_a": "0"}, page=PAGE)
    at.main.button[0].click().run()
    assert not at.exception
    assert len(fake_popen) == 1
    cmd = fake_popen[0]["cmd"]
    assert cmd[1:4] == ["-m", "core", "prepare"] and str(root) in cmd
    assert cmd[cmd.index("--first") + 1 : cmd.index("--first") + 3] == ["0.001", "0.0"]
    assert "Compute them now" not in [b.label for b in at.main.button], "no second job from this page"


def test_while_the_job_computes_the_maps_the_tsne_page_says_when_they_are_ready(fast_only_cache, tmp_path, monkeypatch):
    root = copy_cache(fast_only_cache, tmp_path / "cache")
    fake_job(root, eta_by_task={task(0.0, 0.0, "slow"): 42.0, task(1e-3, 0.0, "slow"): 300.0})
    at = app(root, monkeypatch, page=PAGE)
    assert not at.exception
    assert texts(at.info) == ["This map is being computed; ready in about 40 s."]
    assert charts(at) == [] and not at.main.button
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    assert texts(at.info) == ["This map is being computed; ready in about 5 min."]


def test_the_two_maps_show_every_test_digit_once(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page=PAGE)
    maps = charts(at)
    assert len(maps) == 2
    assert all(sum(len(t["x"]) if isinstance(t["x"], list) else 1 for t in m["data"]) > 0 for m in maps)
