"""The clusters page: renders, follows the sliders, offers its CSV; without the slow stage it waits for its maps."""

from apptest import (
    app,
    assert_renders,
    assert_sliders_change_figures,
    check_compute_now_starts_one_job,
    check_offers_to_compute_maps,
    check_says_when_maps_are_ready,
    csv_buttons,
)

PAGE = "clusters"


def test_the_clusters_page_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page=PAGE), PAGE)


def test_the_sliders_change_the_clusters_pages_figures(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page=PAGE))


def test_the_clusters_page_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page=PAGE))
    assert len(buttons) == 1 and "(CSV)" in buttons[0]


def test_without_the_slow_stage_the_clusters_page_offers_to_compute_its_maps(fast_only_cache, monkeypatch):
    check_offers_to_compute_maps(fast_only_cache, monkeypatch, PAGE)


def test_compute_them_now_starts_one_job_for_this_model_first(fast_only_cache, tmp_path, monkeypatch, fake_popen):
    check_compute_now_starts_one_job(fast_only_cache, tmp_path, monkeypatch, fake_popen, PAGE)


def test_while_the_job_computes_the_maps_the_clusters_page_says_when_they_are_ready(
    fast_only_cache, tmp_path, monkeypatch
):
    check_says_when_maps_are_ready(fast_only_cache, tmp_path, monkeypatch, PAGE)
