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
    copy_cache,
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
def frame_points(fig: dict, name: str) -> np.ndarray:
    """The (n, 2) positions of a frame (or of the figure's data, name None), in the order of test images."""
    traces = fig["data"] if name is None else next(f for f in fig["frames"] if f["name"] == name)["data"]
    index = np.concatenate([arr(t["customdata"]) for t in fig["data"]])
    xy = np.concatenate([np.stack([arr(t["x"]), arr(t["y"])], axis=1) for t in traces]).astype(np.float64)
    out = np.empty_like(xy)
    out[index] = xy
    return out


def cell_map(cache, cell, space: str) -> np.ndarray:
    s = find(scan(ModelStore(cache)), *cell)
    return load_view(ModelStore(cache), s).arrays[f"tsne_{space}"]


def test_the_first_map_of_a_session_is_drawn_as_computed(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page=PAGE)
    for fig, space in zip(charts(at), ("raw", "normalised")):
        assert not fig.get("frames") and "glide" not in fig["layout"]["meta"]
        np.testing.assert_allclose(frame_points(fig, None), cell_map(tiny_cache, (0.0, 0.0), space), atol=1e-6)
    assert not [c for c in texts(at.caption) if "glides" in c]
    assert any("__saeGlide" in h.proto.body for h in at.get("html")), "the page carries the script that glides"


def test_moving_lambda_a_glides_from_the_previous_map_to_the_current_one(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page=PAGE)
    at.select_slider(key="lambda_a").set_value(1e-3).run()
    assert not at.exception
    figs = charts(at)
    assert len(figs) == 2
    for fig, space in zip(figs, ("raw", "normalised")):
        g = fig["layout"]["meta"]["glide"]
        assert [f["name"] for f in fig["frames"]] == ["from", "to"] and g["slot"] == space and g["count"] == 2
        old, new = cell_map(tiny_cache, (0.0, 0.0), space), cell_map(tiny_cache, (0.0, 1e-3), space)
        start, end, _ = motion.glide(old, motion.IDENTITY, new)
        q = g["scale"]
        np.testing.assert_allclose(frame_points(fig, "from") / q, old, atol=1 / q)  # the map on screen before
        np.testing.assert_allclose(frame_points(fig, "to") / q, end, atol=1 / q)  # the new map, aligned on it
        np.testing.assert_array_equal(frame_points(fig, None), frame_points(fig, "to"))  # what it shows
        assert len(json.dumps(fig)) < 300_000
    assert figs[0]["layout"]["meta"]["glide"]["group"] == figs[1]["layout"]["meta"]["glide"]["group"]
    assert any("λ_a 0 → 0.001" in c and "glides" in c for c in texts(at.caption)), texts(at.caption)


def test_each_glide_starts_from_the_map_as_it_was_shown(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page=PAGE)
    at.select_slider(key="lambda_a").set_value(1e-3).run()
    before = charts(at)
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    after = charts(at)
    for b, a in zip(before, after):
        np.testing.assert_array_equal(frame_points(a, "from"), frame_points(b, "to"))  # no jump as a glide starts
        assert a["layout"]["meta"]["glide"]["token"] != b["layout"]["meta"]["glide"]["token"]
    assert any("λ_k 0 → 0.001" in c for c in texts(at.caption))


def test_a_rerun_or_presenter_mode_keeps_the_same_glide(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page=PAGE)
    at.select_slider(key="lambda_a").set_value(1e-3).run()
    tokens = [f["layout"]["meta"]["glide"]["token"] for f in charts(at)]
    at.run()
    assert [f["layout"]["meta"]["glide"]["token"] for f in charts(at)] == tokens, "the same figure: nothing replays"
    at.toggle(key="present").set_value(True).run()
    figs = charts(at)
    assert [f["layout"]["meta"]["glide"]["token"] for f in figs] == tokens, "the browser plays a token once"
    assert figs[0]["layout"]["font"]["size"] >= 16


def test_moving_back_and_forth_builds_each_glide_once(tiny_cache, monkeypatch):
    from app.presentation import charts as C

    calls = []
    real = C.tsne_glide

    def counting(*args, **kwargs):
        calls.append(kwargs["slot"])
        return real(*args, **kwargs)

    monkeypatch.setattr(C, "tsne_glide", counting)
    at = app(tiny_cache, monkeypatch, page=PAGE)
    for a in (1e-3, 0.0, 1e-3, 0.0):
        at.select_slider(key="lambda_a").set_value(a).run()
        assert not at.exception
    assert sorted(calls) == ["normalised", "normalised", "raw", "raw"], "there and back: two glides per map, kept"


def test_after_a_map_that_is_gone_the_new_map_is_drawn_as_computed(tiny_cache, tmp_path, monkeypatch):
    root = copy_cache(tiny_cache, tmp_path / "cache")
    at = app(root, monkeypatch, page=PAGE)
    entry = find(scan(ModelStore(root)), 0.0, 0.0).entry
    at.session_state["_tsne_shown"] = at.session_state["_tsne_shown"] | {"id": (entry, "trained")}  # not that map
    at.select_slider(key="lambda_a").set_value(1e-3).run()
    assert not at.exception
    assert all(not f.get("frames") for f in charts(at))


def test_play_on_the_tsne_page_glides_at_every_step(tiny_cache, monkeypatch):
    import time

    from app import presenter

    at = app(tiny_cache, monkeypatch, {"present": "1"}, page=PAGE)
    at.radio(key="anim_axis").set_value("lambda_a").run()
    at.button(key="anim-play").click().run()
    assert at.session_state["_anim"]["page"] == "tsne"
    assert presenter.step_seconds("tsne") >= presenter.ANIMATION_SECONDS + motion.GLIDE_MS / 1000
    assert presenter.step_seconds("filters") == presenter.ANIMATION_SECONDS
    anim = at.session_state["_anim"]
    at.session_state["_anim"] = anim | {"last": time.monotonic() - presenter.step_seconds("tsne")}  # a step is due
    at.run()
    assert not at.exception
    assert at.session_state["lambda_a"] == 1e-3, "the animation stepped"
    main, other = charts(at)
    for fig in (main, other):
        assert [f["name"] for f in fig["frames"]] == ["from", "to"], "the same glide as a slider move"
    assert any(a["text"] == "<b>λ_a = 0.001</b>" for a in main["layout"]["annotations"]), "λ written large"
    np.testing.assert_allclose(
        frame_points(main, "from") / main["layout"]["meta"]["glide"]["scale"],
        cell_map(tiny_cache, (0.0, 0.0), "raw"),
        atol=1 / main["layout"]["meta"]["glide"]["scale"],
    )
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
