"""The reconstructions page: renders, follows the sliders, offers its CSV, needs only the fast stage."""

from apptest import app, assert_renders, assert_sliders_change_figures, csv_buttons


def test_the_reconstructions_page_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page="reconstructions"), "reconstructions")


def test_the_sliders_change_the_reconstructions(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page="reconstructions"))


def test_the_reconstructions_page_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page="reconstructions"))
    assert len(buttons) == 1 and "(CSV)" in buttons[0]


def test_the_reconstructions_page_needs_only_the_fast_stage(fast_only_cache, monkeypatch):
    assert_renders(app(fast_only_cache, monkeypatch, page="reconstructions"), "reconstructions")
