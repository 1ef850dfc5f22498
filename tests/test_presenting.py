"""Presenting on a partly prepared grid: land only on ready models, tour steps that exist, B differs from A,
presenter-sized text, and links whose text is shown as typed (never as Markdown)."""

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from app.presentation.text import literal
from apptest import PAGES, app, charts, texts
from core.results import scan
from core.store import ModelStore

STEPS = 8


@pytest.fixture(scope="module")
def partial_cache(tiny_cache, tmp_path_factory) -> Path:
    """The tiny grid with two of its four cells gone: the default (0, 0) and (0.001, 0.001)."""
    root = tmp_path_factory.mktemp("partial") / "cache"
    shutil.copytree(tiny_cache, root)
    for name, summary in scan(ModelStore(root)).items():
        if name in ((0.0, 0.0), (1e-3, 1e-3)):
            shutil.rmtree(root / summary.entry)
    assert sorted(scan(ModelStore(root))) == [(0.0, 1e-3), (1e-3, 0.0)]
    return root


READY = {(0.0, 1e-3), (1e-3, 0.0)}


def cell(at) -> tuple[float, float]:
    return (at.session_state["lambda_k"], at.session_state["lambda_a"])


def landing_notes(at) -> list[str]:
    return [c for c in texts(at.caption) if "nearest ready model" in c]


def assert_shows_a_figure(at, where: str) -> None:
    assert not at.exception, where
    assert not any("not been prepared" in i or "being prepared" in i for i in texts(at.info)), where
    assert charts(at), f"{where}: a figure, not a 'not ready' box"


def test_the_default_view_lands_on_the_nearest_ready_model_and_says_so(partial_cache, monkeypatch):
    at = app(partial_cache, monkeypatch)
    assert cell(at) == (0.0, 1e-3), "two λ_a steps from (0, 0), the other ready model is ten λ_k steps away"
    assert_shows_a_figure(at, "overview")
    [note] = landing_notes(at)
    assert "λ_k = 0, λ_a = 0.001" in note and "λ_k = 0, λ_a = 0 is not ready yet" in note
    assert at.query_params["lambda_a"] == "0.001", "the link names what is shown"


def test_a_link_to_an_unready_model_opens_the_nearest_ready_one_with_a_notice(partial_cache, monkeypatch):
    at = app(partial_cache, monkeypatch, {"lambda_k": "0.001", "lambda_a": "0.001"})
    assert cell(at) == (1e-3, 0.0)
    assert_shows_a_figure(at, "overview")
    assert any("λ_k = 0.001, λ_a = 0.001 is not ready yet" in n for n in landing_notes(at))
    # a model chosen on purpose afterwards is shown as it is: not ready, with what is going on
    at.select_slider(key="lambda_a").set_value(1e-3).run()
    assert cell(at) == (1e-3, 1e-3) and any("has not been prepared yet" in i for i in texts(at.info))


def test_a_link_to_a_ready_model_opens_it_without_a_notice(partial_cache, monkeypatch):
    at = app(partial_cache, monkeypatch, {"lambda_k": "0.001", "lambda_a": "0"})
    assert cell(at) == (1e-3, 0.0) and not landing_notes(at)


def test_every_page_on_a_partial_grid_opens_on_a_ready_model(partial_cache, monkeypatch):
    for page in PAGES:
        at = app(partial_cache, monkeypatch, {"lambda_k": "0", "lambda_a": "0"}, page=page)
        assert cell(at) in READY, page
        assert_shows_a_figure(at, page)


def test_the_tour_on_a_partial_grid_lands_only_on_ready_models(partial_cache, monkeypatch):
    at = app(partial_cache, monkeypatch, {"present": "1"})
    at.button(key="tour-start").click().run()
    seen = []
    for _ in range(STEPS):
        step = at.session_state["tour"]
        banner = next(m.value for m in at.markdown if m.value.startswith("**Tour, step"))
        seen.append(step)
        assert cell(at) in READY, f"step {step}"
        lk, la = cell(at)
        if step == 8:  # your digit: with no MNIST file here, no test digit to start from: the canvas's prompt
            assert at.title[0].value.startswith("What does the network make of your handwriting")
            assert at.session_state["digit_source"] == "draw" and at.main.info
        else:
            assert_shows_a_figure(at, f"step {step}")
        assert "λ_a = 0.003" not in banner and "λ_a = 0.01" not in banner, "names only what it shows"
        if step == 7:
            assert (at.session_state["cmp_lambda_k"], at.session_state["cmp_lambda_a"]) in READY - {cell(at)}
        nxt = [b for b in at.button if b.key in ("tour-next", "tour-finish")]
        if nxt[0].key == "tour-finish":
            break
        nxt[0].click().run()
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert seen[0] == 1 and len(seen) >= 4, seen
    assert 5 not in seen and 7 not in seen, "no model with both penalties strong; no sparse B beside A"
    # step 1 names the cell it shows, not a pair that does not exist
    at = app(partial_cache, monkeypatch)
    at.button(key="tour-start").click().run()
    banner = next(m.value for m in at.markdown if m.value.startswith("**Tour, step 1"))
    lk, la = cell(at)
    assert f"λ_a = {la:g}" in banner and "no penalty at all" not in banner


def test_a_tour_step_with_no_ready_model_is_skipped_with_a_note(tiny_cache, tmp_path, monkeypatch):
    root = tmp_path / "cache"
    shutil.copytree(tiny_cache, root)
    for c, summary in scan(ModelStore(root)).items():
        if c != (0.0, 0.0):
            shutil.rmtree(root / summary.entry)  # only the unregularized model is left
    at = app(root, monkeypatch)
    at.button(key="tour-start").click().run()
    assert at.session_state["tour"] == 1
    at.button(key="tour-next").click().run()
    assert at.session_state["tour"] == 2 and cell(at) == (0.0, 0.0)
    assert [b for b in at.button if b.key == "tour-finish"], "no later step has a model: step 2 is the last"
    assert not [b for b in at.button if b.key == "tour-next"]


def test_the_tour_says_which_steps_it_skipped(partial_cache, monkeypatch):
    at = app(partial_cache, monkeypatch)
    at.button(key="tour-start").click().run()
    while at.session_state["tour"] < 4:
        at.button(key="tour-next").click().run()
    at.button(key="tour-next").click().run()
    assert at.session_state["tour"] == 6
    assert any(c == "Step 5 skipped: no model for it is ready yet." for c in texts(at.caption)), texts(at.caption)
    at.button(key="tour-back").click().run()
    assert at.session_state["tour"] == 4, "Back skips it too"


def test_compare_chooses_a_model_b_other_than_a(partial_cache, tiny_cache, monkeypatch):
    for root in (partial_cache, tiny_cache):
        at = app(root, monkeypatch, page="compare")
        b = (at.session_state["cmp_lambda_k"], at.session_state["cmp_lambda_a"])
        assert b != cell(at), root
        assert not any("same model" in w.value for w in at.warning)
    # a link that names A as B gets another B
    at = app(tiny_cache, monkeypatch, {"cmp_k": "0", "cmp_a": "0"}, page="compare")
    assert (at.session_state["cmp_lambda_k"], at.session_state["cmp_lambda_a"]) != (0.0, 0.0)


def test_presenter_mode_draws_chart_text_at_projector_size(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, {"present": "1"})
    for page in PAGES:
        at.switch_page(f"views/{page}.py").run()
        for fig in charts(at):
            layout = fig["layout"]
            assert layout["font"]["size"] >= 16, page
            assert layout["legend"]["font"]["size"] >= 16, page
            for ann in layout.get("annotations", []):
                assert ann.get("font", {}).get("size", 16) >= 16, (page, ann.get("text"))
    plain = app(tiny_cache, monkeypatch)
    assert all(f["layout"].get("font", {}).get("size", 12) < 16 for f in charts(plain)), "normal size otherwise"


def test_presenter_mode_keeps_the_ring_but_not_its_legend_entry(tiny_cache, monkeypatch):
    """At 18 px a third legend entry wraps a half-page legend onto three rows; the page says what the ring is."""

    def rings(at):
        return [t for f in charts(at) for t in f["data"] if t.get("name") == "selected model"]

    plain, shown = app(tiny_cache, monkeypatch), app(tiny_cache, monkeypatch, {"present": "1"})
    assert any(t.get("showlegend", True) for t in rings(plain))
    assert rings(shown) and not any(t.get("showlegend", True) for t in rings(shown))
    assert any("ringed one is the model chosen" in m.value for m in shown.markdown)


def test_presenter_mode_shows_no_developer_notes(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, {"present": "1"})
    for page in PAGES:
        at.switch_page(f"views/{page}.py").run()
        words = " ".join(texts(at.caption) + texts(at.markdown) + texts(at.info))
        assert "MNIST_PATH" not in words and "python -m core" not in words, page
        assert str(tiny_cache) not in words, page
        assert not at.get("download_button"), page
        controls = ("epoch-",)  # what a presenter plays: the epoch control's Play and Stop
        assert not [b.key for b in at.main.button if not b.key.startswith(controls)], page


@pytest.mark.parametrize(
    "param, value",
    [
        ("lambda_k", "[Login](//evil.example/x)"),
        ("lambda_a", "**big** :red[alarm]"),
        ("unit", "[x](javascript:alert(1))"),
        ("present", "<b>hi</b>_under_"),
        ("cmp_k", "![img](//evil.example/i.png)"),
    ],
)
def test_text_from_a_link_is_shown_as_typed_never_as_markdown(tiny_cache, monkeypatch, param, value):
    page = {"unit": "units", "cmp_k": "compare"}.get(param)
    at = app(tiny_cache, monkeypatch, {param: value}, page=page)
    if page:  # a page's own parameter is read when the page opens
        at = app(tiny_cache, monkeypatch, {param: value})
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception
    notes = [w.value for w in at.warning if "The link's" in w.value]
    assert notes, "the bad parameter is reported"
    shown = literal(value[: 10 if param in ("unit", "present") else 20])
    assert any(shown in n for n in notes), (shown, notes)
    for n in notes:  # no Markdown mark from the link reaches the page unescaped
        quoted = n[n.index("“") + 1 : n.rindex("”")]
        assert not re.search(r"(?<!\\)[\[\]()*_:<>!]", quoted), quoted


def test_a_rerun_after_a_slider_change_opens_no_cache_file(tiny_cache, monkeypatch):
    import builtins
    import io

    import numpy as np

    at = app(tiny_cache, monkeypatch)
    for page in ("overview", "filters", "units"):  # every model read once
        at.switch_page(f"views/{page}.py").run()
        for k in (1e-3, 0.0):
            at.select_slider(key="lambda_k").set_value(k).run()
    opened = []
    real_open, real_load = builtins.open, np.load

    def spy_open(f, *args, **kwargs):
        if str(tiny_cache) in str(f):
            opened.append(str(f))
        return real_open(f, *args, **kwargs)

    def spy_load(f, *args, **kwargs):
        opened.append(str(f))
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(np, "load", spy_load)
    for k in (1e-3, 0.0, 1e-3):
        at.select_slider(key="lambda_k").set_value(k).run()
        assert not at.exception
    assert opened == [], opened


def test_a_rerun_lists_the_cache_once_and_converts_no_table(tiny_cache, monkeypatch):
    """The store's change token (a stat of every entry's manifest) is read once per run, not once per
    question a run asks; the overview's results table goes to Streamlit as an Arrow table made once."""
    from streamlit import dataframe_util

    from app import cache
    from core.store import ModelStore

    at = app(tiny_cache, monkeypatch)
    at.session_state["overview_table"] = True  # the table of every model is drawn while its expander is open
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    reads, tables = [], []
    real_token, real_convert = ModelStore.change_token, dataframe_util.convert_pandas_df_to_arrow_bytes
    monkeypatch.setattr(ModelStore, "change_token", lambda self: reads.append(1) or real_token(self))
    monkeypatch.setattr(
        dataframe_util, "convert_pandas_df_to_arrow_bytes", lambda *a, **k: tables.append(1) or real_convert(*a, **k)
    )
    for k in (0.0, 1e-3, 0.0):
        at.select_slider(key="lambda_k").set_value(k).run()
        assert not at.exception
    assert len(reads) == 3, f"one listing per run: {len(reads)} in 3 runs"
    assert tables == [], "Streamlit converted no table: the results table is Arrow already, made once"
    shown = at.expander[-1].dataframe[0].value
    assert len(shown) == len(cache.rows()) and list(shown.columns) == list(cache.rows()[0])


def test_a_figure_is_built_once_per_model_and_options(tiny_cache, monkeypatch):
    from app.presentation import images

    calls = []
    real = images.filter_grid

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(images, "filter_grid", counting)
    at = app(tiny_cache, monkeypatch, page="filters")
    assert len(calls) == 1
    for k in (1e-3, 0.0, 1e-3, 0.0):
        at.select_slider(key="lambda_k").set_value(k).run()
    assert len(calls) == 2, "one build per model; moving back costs no figure work"
    first = json.dumps(charts(at)[0]["data"][-1]["customdata"])
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    assert json.dumps(charts(at)[0]["data"][-1]["customdata"]) == first  # the same figure, from the cache
    at.toggle(key="present").set_value(True).run()
    assert len(calls) == 3, "presenter mode has its own, larger figure"


def test_an_entry_rewritten_under_its_name_gets_its_figures_built_again(tiny_cache, tmp_path, monkeypatch):
    """A retrain whose weights differ replaces the entry under the same folder name: not the old figures."""
    from app.presentation import images
    from apptest import copy_cache

    root = copy_cache(tiny_cache, tmp_path / "cache")
    calls = []
    real = images.filter_grid
    monkeypatch.setattr(images, "filter_grid", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = app(root, monkeypatch, page="filters")
    at.run()
    assert len(calls) == 1
    manifest = root / scan(ModelStore(root))[(0.0, 0.0)].entry / "manifest.json"
    os.utime(manifest, ns=(manifest.stat().st_atime_ns, manifest.stat().st_mtime_ns + 10**9))  # rewritten
    at.run()
    assert not at.exception and len(calls) == 2


def test_building_a_figure_does_not_copy_the_template(monkeypatch):
    import copy

    import numpy as np
    import plotly.graph_objects as go

    from app.presentation import charts as C
    from app.presentation import style

    templates = []
    real = copy.deepcopy

    def spy(obj, *args, **kwargs):
        if isinstance(obj, (go.layout.Template, dict)) and "layout" in obj and "data" in obj:
            templates.append(obj)
        return real(obj, *args, **kwargs)

    style.use_template()
    monkeypatch.setattr(copy, "deepcopy", spy)
    rows = [
        {"lambda_k": 0.0, "lambda_a": a, "loss_train": 0.01, "loss_test": 0.01, "mse_train": 0.01, "mse_test": 0.01}
        | {"density_test": 0.5, "density_train": 0.5, "history_loss_train": 0.01, "history_loss_test": 0.01}
        for a in (0.0, 1e-3)
    ]
    figs = [C.loss_vs_lambda(rows, "lambda_a", 0.0), C.unit_digit_bars(np.full(10, 0.1), 3)]
    assert templates == [], "no figure deep-copies the template"
    assert all(f.layout.template.layout.plot_bgcolor == "white" for f in figs), "yet every figure has it"


def test_during_play_the_main_figure_shows_the_lambda_large_and_stop_keeps_the_one_on_screen(tiny_cache, monkeypatch):
    import time

    at = app(tiny_cache, monkeypatch, page="filters")
    at.button(key="anim-play").click().run()
    [main, *_] = charts(at)
    labels = [a for a in main["layout"].get("annotations", []) if a["text"] == "<b>λ_k = 0</b>"]
    assert labels and labels[0]["font"]["size"] >= 30, "λ written large on the page's main figure"
    assert all("λ_k =" not in a["text"] for f in charts(at)[1:] for a in f["layout"].get("annotations", []))
    # a step taken just before Stop was pressed, whose page was not drawn yet, is undone
    at.session_state["_anim"] = {"axis": "lambda_k", "last": time.monotonic(), "shown": 0.0}
    at.session_state["lambda_k"] = 1e-3  # as the animation's step sets it, before its page is drawn
    at.button(key="anim-stop").click().run()
    assert "_anim" not in at.session_state and at.session_state["lambda_k"] == 0.0
    plain = charts(at)[0]
    assert not [a for a in plain["layout"].get("annotations", []) if "λ_k =" in a["text"]], "no label once stopped"


def test_on_a_half_page_map_the_playing_lambda_sits_in_the_maps_empty_corner_not_on_its_title(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch, page="tsne")
    at.button(key="anim-play").click().run()
    label = [a for a in charts(at)[0]["layout"].get("annotations", []) if a["text"].startswith("<b>λ_k =")]
    assert label and (label[0]["x"], label[0]["xanchor"], label[0]["yanchor"]) == (0, "left", "top")
    at = app(tiny_cache, monkeypatch, page="filters")
    still = charts(at)[0]["layout"]
    at.button(key="anim-play").click().run()
    playing = charts(at)[0]["layout"]
    label = [a for a in playing.get("annotations", []) if a["text"].startswith("<b>λ_k =")]
    assert (label[0]["x"], label[0]["xanchor"], label[0]["yanchor"]) == (1, "right", "top")
    # a band of its own at the top, taken from the plot: the title moves down by the band, the figure's
    # height stays (nothing on the page moves), and the label's top is the figure's top
    band = playing["margin"]["t"] - still["margin"]["t"]
    assert band >= 30 and playing["height"] == still["height"]
    height = still["height"]
    before = (1 - still["title"]["y"]) * height if "y" in still["title"] else still["margin"]["t"] / 2  # Plotly's
    assert abs((1 - playing["title"]["y"]) * height - before - band) < 0.5 and playing["title"]["yref"] == "container"
    plot = playing["height"] - playing["margin"]["t"] - playing["margin"]["b"]
    assert abs((label[0]["y"] - 1) * plot - playing["margin"]["t"]) < 0.5, "the label's top at the figure's top"


def test_while_playing_the_figure_beside_the_main_one_gets_the_same_band_and_no_label(tiny_cache, monkeypatch):
    at = app(tiny_cache, monkeypatch)  # the overview: the loss chart (main) and the density chart in one row
    still = [c["layout"] for c in charts(at)[:2]]
    at.button(key="anim-play").click().run()
    playing = [c["layout"] for c in charts(at)[:2]]
    bands = [p["margin"]["t"] - s["margin"]["t"] for p, s in zip(playing, still)]
    assert bands[0] >= 30 and bands[0] == bands[1], "both titles and plots move down alike: the row stays level"
    assert [p["height"] for p in playing] == [s["height"] for s in still]
    labelled = [any("λ_k =" in a["text"] for a in p.get("annotations", [])) for p in playing]
    assert labelled == [True, False], "the λ is written once, on the main figure"


def test_the_tours_last_step_hands_the_audience_a_digit_to_smudge_or_redraw(tiny_cache, monkeypatch, mnist_path):
    at = app(tiny_cache, monkeypatch)
    monkeypatch.setenv("MNIST_PATH", str(mnist_path))  # after app(), which hides it
    at.button(key="tour-start").click().run()
    while at.session_state["tour"] < STEPS:
        at.button(key="tour-next").click().run()
    assert not at.exception
    assert at.title[0].value.startswith("What does the network make of your handwriting")
    assert at.session_state["digit_source"] == "test" and at.session_state["digit_index"] == 0
    banner = next(m.value for m in at.markdown if m.value.startswith("**Tour, step 8"))
    assert "Your turn" in banner and f"λ_a = {cell(at)[1]:g}" in banner
    assert_shows_a_figure(at, "step 8")
    assert [b for b in at.button if b.key == "tour-finish"]
