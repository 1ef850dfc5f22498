"""The filters page: renders, follows the sliders, offers its CSV, shows the unit explorer's firing frequencies."""

from apptest import app, arr, assert_renders, assert_sliders_change_figures, charts, csv_buttons
from core.results import load_cell
from core.store import ModelStore


def test_the_filters_page_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page="filters"), "filters")


def test_the_sliders_change_the_filters_pages_figures(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page="filters"))


def test_the_filters_page_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page="filters"))
    assert len(buttons) == 2 and all("(CSV)" in b for b in buttons)


def test_the_filters_page_needs_only_the_fast_stage(fast_only_cache, monkeypatch):
    assert_renders(app(fast_only_cache, monkeypatch, page="filters"), "filters")


def test_the_filters_page_shows_the_same_firing_frequencies_as_the_unit_explorer(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page="filters")
    bars = next(c for c in charts(at) if c["layout"]["title"]["text"].startswith("How often each hidden unit fires"))
    shown = {int(u): float(y) for t in bars["data"] for u, y in zip(arr(t["customdata"]), arr(t["y"]))}
    hist = load_cell(ModelStore(tiny_cache), 0.0, 0.0).arrays["unit_hist"]
    counts = hist.sum(axis=1) / 200
    assert all(shown[u] == counts[u] for u in shown)  # the exact counts / n, not float32 noise
