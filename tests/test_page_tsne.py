"""The t-SNE page: renders, follows the sliders, offers its CSV; without the slow stage it waits for its maps.
When λ changes, the maps glide from the previous model's to the current one's (Play too)."""

import json

import numpy as np

from app.presentation import motion
from apptest import (
    app,
    arr,
    assert_renders,
    assert_sliders_change_figures,
    charts,
    check_compute_now_starts_one_job,
    check_offers_to_compute_maps,
    check_says_when_maps_are_ready,
    csv_buttons,
    texts,
)
from core.results import find, load_view, scan
from core.store import ModelStore

PAGE = "tsne"


def test_the_tsne_page_renders_without_exception(tiny_cache, monkeypatch):
    assert_renders(app(tiny_cache, monkeypatch, page=PAGE), PAGE)


def test_the_sliders_change_the_tsne_pages_figures(tiny_cache, monkeypatch):
    assert_sliders_change_figures(app(tiny_cache, monkeypatch, page=PAGE))


def test_the_tsne_page_offers_its_data_as_csv(tiny_cache, monkeypatch):
    buttons = csv_buttons(app(tiny_cache, monkeypatch, page=PAGE))
    assert len(buttons) == 1 and "(CSV)" in buttons[0]


def test_without_the_slow_stage_the_tsne_page_offers_to_compute_its_maps(fast_only_cache, monkeypatch):
    check_offers_to_compute_maps(fast_only_cache, monkeypatch, PAGE)


def test_compute_them_now_starts_one_job_for_this_model_first(fast_only_cache, tmp_path, monkeypatch, fake_popen):
    check_compute_now_starts_one_job(fast_only_cache, tmp_path, monkeypatch, fake_popen, PAGE)


def test_while_the_job_computes_the_maps_the_tsne_page_says_when_they_are_ready(fast_only_cache, tmp_path, monkeypatch):
    check_says_when_maps_are_ready(fast_only_cache, tmp_path, monkeypatch, PAGE)


def test_the_two_maps_show_every_test_digit_once(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page=PAGE)
    maps = charts(at)
    assert len(maps) == 2
    assert all(sum(len(t["x"]) if isinstance(t["x"], list) else 1 for t in m["data"]) > 0 for m in maps)


# ------------------------------------------------------------ the map moves with λ (issue 12, part 3)
def map_points(fig: dict) -> np.ndarray:
    """The (n, 2) positions a map figure sends, in the order of test images."""
    index = np.concatenate([arr(t["customdata"]) for t in fig["data"]])
    xy = np.concatenate([np.stack([arr(t["x"]), arr(t["y"])], axis=1) for t in fig["data"]]).astype(np.float64)
    out = np.empty_like(xy)
    out[index] = xy
    return out


def cell_map(cache, cell, space: str) -> np.ndarray:
    s = find(scan(ModelStore(cache)), *cell)
    return load_view(ModelStore(cache), s).arrays[f"tsne_{space}"]


def glides(fig: dict) -> dict:
    return fig["layout"]["meta"]["glide"]


def test_the_maps_are_sent_as_computed_and_name_their_model_for_the_glide(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page=PAGE)
    first = charts(at)
    for fig, space in zip(first, ("raw", "normalised")):
        assert not fig.get("frames")
        assert glides(fig)["slot"] == space and glides(fig)["ms"] == motion.GLIDE_MS
        np.testing.assert_allclose(map_points(fig), cell_map(tiny_cache, (0.0, 0.0), space), atol=1e-6)
    assert glides(first[0])["map"] == glides(first[1])["map"], "one name for a model's two maps: they move together"
    assert not [c for c in texts(at.caption) if "glides" in c], "the first maps of a session: nothing moved"
    assert any("__saeGlide" in h.proto.body for h in at.get("html")), "the page carries the script that glides"

    at.select_slider(key="lambda_a").set_value(1e-3).run()
    assert not at.exception
    moved = charts(at)
    for fig, space in zip(moved, ("raw", "normalised")):
        # the new model's map as computed: the browser turns it onto the map on screen
        np.testing.assert_allclose(map_points(fig), cell_map(tiny_cache, (0.0, 1e-3), space), atol=1e-6)
        assert not fig.get("frames") and len(json.dumps(fig)) < 300_000
    assert glides(moved[0])["map"] != glides(first[0])["map"]
    assert any("λ_a 0 → 0.001" in c and "glides" in c for c in texts(at.caption)), texts(at.caption)
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    assert any("λ_k 0 → 0.001" in c for c in texts(at.caption))


def test_a_rerun_or_presenter_mode_sends_the_same_model_s_maps(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page=PAGE)
    at.select_slider(key="lambda_a").set_value(1e-3).run()
    names = [glides(f)["map"] for f in charts(at)]
    line = [c for c in texts(at.caption) if "glides" in c]
    at.run()
    assert [glides(f)["map"] for f in charts(at)] == names
    assert [c for c in texts(at.caption) if "glides" in c] == line, "a rerun keeps the line of the move before"
    at.toggle(key="present").set_value(True).run()
    figs = charts(at)
    assert [glides(f)["map"] for f in figs] == names, "the browser keeps the map where it is, in its larger text"
    assert figs[0]["layout"]["font"]["size"] >= 16


def test_moving_back_and_forth_builds_each_map_once(tiny_cache, monkeypatch):
    from app.presentation import charts as C

    calls = []
    real = C.tsne_map

    def counting(*args, **kwargs):
        calls.append(kwargs["glide"]["slot"])
        return real(*args, **kwargs)

    monkeypatch.setattr(C, "tsne_map", counting)
    at = app(tiny_cache, monkeypatch, page=PAGE)
    for a in (1e-3, 0.0, 1e-3, 0.0):
        at.select_slider(key="lambda_a").set_value(a).run()
        assert not at.exception
    assert sorted(calls) == ["normalised", "normalised", "raw", "raw"], "two models, each map built once, kept"


def test_play_on_the_tsne_page_glides_at_every_step(tiny_cache, monkeypatch):
    import time

    from app import presenter

    at = app(tiny_cache, monkeypatch, {"present": "1"}, page=PAGE)
    at.radio(key="anim_axis").set_value("lambda_a").run()
    at.button(key="anim-play").click().run()
    assert at.session_state["_anim"]["page"] == "tsne"
    assert presenter.step_seconds("tsne") >= presenter.ANIMATION_SECONDS + motion.GLIDE_MS / 1000
    assert presenter.step_seconds("filters") == presenter.ANIMATION_SECONDS
    before = [glides(f)["map"] for f in charts(at)]
    anim = at.session_state["_anim"]
    at.session_state["_anim"] = anim | {"last": time.monotonic() - presenter.step_seconds("tsne")}  # a step is due
    at.run()
    assert not at.exception
    assert at.session_state["lambda_a"] == 1e-3, "the animation stepped"
    main, other = charts(at)
    assert [glides(f)["map"] for f in (main, other)] != before, "the next model's maps: the browser glides to them"
    assert any(a["text"] == "<b>λ_a = 0.001</b>" for a in main["layout"]["annotations"]), "λ written large"
    np.testing.assert_allclose(map_points(main), cell_map(tiny_cache, (0.0, 1e-3), "raw"), atol=1e-6)
    # a step soon after is not taken: the glide plays in full first
    at.session_state["_anim"] = at.session_state["_anim"] | {"last": time.monotonic() - presenter.ANIMATION_SECONDS}
    at.run()
    assert at.session_state["lambda_a"] == 1e-3


def _local_mnist(monkeypatch, dataset) -> None:
    """The dashboard's local test set (chrome.test_set) is `dataset`'s, as if read from $MNIST_PATH."""
    import core.data

    monkeypatch.setattr(core.data, "resolve_source", lambda path=None: core.data.Path("/local/mnist.npz"))
    monkeypatch.setattr(core.data, "load_mnist", lambda path=None: dataset)


def test_the_maps_show_the_digit_under_the_pointer_when_the_local_test_set_is_theirs(tiny_cache, monkeypatch):
    from conftest import make_data

    data = make_data()  # the tiny cache's own data: its maps are of these test digits, in this order
    _local_mnist(monkeypatch, data)
    at = app(tiny_cache, monkeypatch, page=PAGE)
    for fig in charts(at)[:2]:
        assert fig["layout"]["meta"]["hover_digits"] is True  # the script attaches to these charts only
    html = [h.proto.body for h in at.get("html") if "__saeDigitSprite" in h.proto.body]
    assert len(html) == 1
    geometry = json.loads(html[0].split("window.__saeDigitSprite = ", 1)[1].split(";", 1)[0])
    assert geometry == {"cols": 50, "side": 28, "n": len(data.y_test)}
    assert len(at.get("image")) == 1  # the picture of every test digit (its pixels: test_presentation_images)


def test_the_maps_show_no_digit_picture_from_another_test_set(tiny_cache, monkeypatch):
    from conftest import make_data

    _local_mnist(monkeypatch, make_data(seed=1))  # another test set: its digit i is not the map's point i
    at = app(tiny_cache, monkeypatch, page=PAGE)
    assert not [h for h in at.get("html") if "__saeDigitSprite" in h.proto.body]
    assert not at.get("image")
    assert not at.exception
