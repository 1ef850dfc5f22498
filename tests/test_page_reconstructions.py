"""The reconstructions page: renders, follows the sliders, offers its CSV, needs only the fast stage."""

from test_snapshots import (
    check_an_old_entry_says_so,
    check_damaged_snapshots_say_so,
    check_play_steps_through_the_epochs,
    check_the_epochs_are_stored_and_shown,
    check_the_retrain_button_asks_the_job,
)

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


# ------------------------------------------------------------ watch it learn (issue 12, part 2)
FINAL_TITLE = "How the network redraws test digits from their codes"


def test_the_reconstructions_page_shows_the_stored_epochs(tiny_cache, monkeypatch):
    check_the_epochs_are_stored_and_shown(tiny_cache, monkeypatch, "reconstructions", FINAL_TITLE)


def test_play_steps_the_reconstructions_through_the_epochs(tiny_cache, monkeypatch):
    check_play_steps_through_the_epochs(tiny_cache, monkeypatch, "reconstructions", FINAL_TITLE)


def test_a_model_without_snapshots_says_so_on_the_reconstructions_page(tiny_cache, tmp_path, monkeypatch):
    check_an_old_entry_says_so(tiny_cache, tmp_path, monkeypatch, "reconstructions")


def test_the_reconstructions_pages_retrain_button_asks_the_job(tiny_cache, tmp_path, monkeypatch, fake_popen):
    check_the_retrain_button_asks_the_job(tiny_cache, tmp_path, monkeypatch, fake_popen, "reconstructions")


def test_damaged_snapshots_are_not_shown_on_the_reconstructions_page(tiny_cache, tmp_path, monkeypatch):
    check_damaged_snapshots_say_so(tiny_cache, tmp_path, monkeypatch, "reconstructions")
