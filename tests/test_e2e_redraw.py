"""The page's scripts (app/scripts.py), in a real browser: Debian's Chromium on a tiny cache.

* figure.js: after a move, each changed figure is drawn once and an unchanged one not at all.
* figure.js: a figure keeps its place from run to run; after a move the same <div>
  shows the new model's figure (redrawn by Plotly.react), as a fresh page shows it.
* the preload: the browser starts loading the dashboard's Plotly bundle while the server runs the first
  page, and loads it once (never Streamlit's 4.7 MB module, unless the bundle cannot be fetched); and the
  code of every kind of element the pages show, before any such element has arrived.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import plotly.offline
import pytest
from test_e2e import MAIN, open_page, wait_for_page

from app import scripts
from app.presentation import style
from serve import CHROMIUM, serve, wait_for_app

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)

# every Plotly.react call (the script's wrapper inside) and every drawing Plotly really made, per figure
COUNT = """() => {
  const P = window.Plotly, C = (window.__count = {calls: 0, drawn: 0});
  const react = P.react;
  P.react = function (gd) { C.calls += 1; return react.apply(this, arguments); };
  const hook = () => { for (const gd of document.querySelectorAll('.js-plotly-plot'))
    if (!gd.__counted) { gd.__counted = true; gd.on('plotly_afterplot', () => { C.drawn += 1; }); } };
  new MutationObserver(hook).observe(document.body, {childList: true, subtree: true});
  hook();
}"""
# every figure on the page, the sidebar's map included, as its data and layout
ALL_FIGURES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd =>
  JSON.stringify([gd.data, gd.layout], (k, v) => (k && k[0] === '_' ? undefined : v)))"""
# the chart code the page fetched, in order: (file, when it was asked for)
LOADS = """() => performance.getEntriesByType('resource')
  .map(r => [r.name.split('?')[0].split('/').pop(), r.startTime])
  .filter(([name]) => name === 'plotly-sae.min.js' || /^PlotlyChart\\./.test(name))
  .map(([name, t]) => [name.startsWith('PlotlyChart') ? 'PlotlyChart' : name, t])"""
FIGURES = f"""() => [...document.querySelectorAll('{MAIN} .js-plotly-plot')].map(gd =>
  JSON.stringify([gd.data, (gd.layout.images || []).map(i => i.source), gd.layout.title && gd.layout.title.text],
                 (k, v) => (k && k[0] === '_' ? undefined : v)))"""


@pytest.fixture(scope="module")
def server(tiny_cache, tmp_path_factory):
    with serve(tiny_cache, log=tmp_path_factory.mktemp("server") / "streamlit.log") as (url, _):
        yield url


def test_after_a_move_each_changed_figure_is_drawn_once_and_an_unchanged_one_not_at_all(server, chromium):
    page, errors = open_page(chromium, f"{server}/?lambda_k=0&lambda_a=0")
    page.wait_for_function("() => window.Plotly && window.Plotly.__saeRedraw", timeout=30_000)
    page.evaluate(COUNT)
    before = page.evaluate(ALL_FIGURES)

    slider = page.locator('[data-testid="stSidebar"] input[type="range"]').first  # λ_k
    slider.press("End")  # the tiny grid's other λ_k (between them: the default grid's, not prepared)
    page.wait_for_url("**lambda_k=0.001**", timeout=30_000)
    wait_for_page(page)
    page.wait_for_timeout(1000)
    after = page.evaluate(ALL_FIGURES)
    count = page.evaluate("() => Object.assign({}, window.__count)")
    changed = sum(a != b for a, b in zip(before, after))
    assert len(after) == len(before) and changed >= 2, (changed, len(after))
    assert count["calls"] == changed, f"Plotly was asked to draw the {changed} changed figures once each: {count}"
    assert count["drawn"] >= changed

    # a run that sends the same figures again (opening the training curves adds one figure below them)
    page.get_by_text("Training curves").first.click()
    page.wait_for_function(f"() => document.querySelectorAll('{MAIN} .js-plotly-plot').length > {len(after) - 1}")
    wait_for_page(page)
    page.wait_for_timeout(1000)
    again = page.evaluate("() => Object.assign({}, window.__count)")
    assert page.evaluate(ALL_FIGURES)[: len(after)] == after, "the figures on screen are unchanged"
    assert again["calls"] - count["calls"] == 1, f"only the new figure was drawn: {count} -> {again}"
    assert not errors, errors
    page.close()


def test_a_move_redraws_the_figures_in_place_with_the_new_models_figures(server, chromium):
    page, errors = open_page(chromium, f"{server}/?lambda_k=0&lambda_a=0")
    page.wait_for_function("() => window.Plotly && window.Plotly.__saeRedraw", timeout=30_000)
    # tag every figure's element: an element Streamlit mounted anew would not carry the tag
    tagged = page.evaluate(
        f"() => [...document.querySelectorAll('{MAIN} .js-plotly-plot')].map((gd, i) => (gd.__tag = i + 1))"
    )
    assert len(tagged) >= 2, "the overview shows several figures"
    before = page.evaluate(FIGURES)
    slider = page.locator('[data-testid="stSidebar"] input[type="range"]').first  # λ_k
    slider.press("End")
    page.wait_for_url("**lambda_k=0.001**", timeout=30_000)
    wait_for_page(page)
    page.wait_for_timeout(1000)
    after = page.evaluate(FIGURES)
    tags = page.evaluate(f"() => [...document.querySelectorAll('{MAIN} .js-plotly-plot')].map(gd => gd.__tag)")
    assert tags == tagged, f"the same elements, redrawn in place: {tags}"
    assert after != before, "they show the new model"
    fresh, _ = open_page(chromium, f"{server}/?lambda_k=0.001&lambda_a=0")
    assert [json.loads(f) for f in fresh.evaluate(FIGURES)] == [json.loads(f) for f in after]
    fresh.close()
    assert not errors, errors
    page.close()


# every figure's element, as tall as the figure Plotly drew in it (the page below it is laid out by it)
HEIGHTS = f"""() => [...document.querySelectorAll('{MAIN} .js-plotly-plot, [data-testid=stSidebar] .js-plotly-plot')]
  .map(gd => [gd.offsetHeight, gd._fullLayout.height])"""


@pytest.mark.parametrize("page_name", ["", "reconstructions"])
def test_a_figure_keeps_its_height_move_after_move(server, chromium, page_name):
    """A figure drawn in place fills its element (Plotly's responsive mode): the element must be as tall as
    the figure, or the page below slides under it. It once collapsed to 0 px on every other move for a figure
    without a height of its own (the reconstructions)."""
    page, errors = open_page(chromium, f"{server}/{page_name}?lambda_k=0&lambda_a=0")
    slider = page.locator('[data-testid="stSidebar"] input[type="range"]').first  # λ_k
    for key in ["End", "Home", "End"]:
        slider.press(key)
        page.wait_for_url(f"**lambda_k={'0.001' if key == 'End' else '0&'}**", timeout=30_000)
        wait_for_page(page)
        heights = page.evaluate(HEIGHTS)
        assert len(heights) >= 2 and all(h == full for h, full in heights), heights
    assert not errors, errors
    page.close()


def test_the_chart_code_starts_loading_while_the_server_runs_the_first_page_and_loads_once(server, chromium):
    """The preload is what loads Plotly for the figures drawn in place (they arrive in the same run's first
    messages as the page's scripts, so "before the first figure" is a race of a few ms, not a property):
    the dashboard's own bundle is asked for while the server still runs the first page, and only once;
    Streamlit's chart module not at all. It is the plotly.js Python writes figures for, with the trace
    types the dashboard draws."""
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    page.add_init_script(
        """(() => { new MutationObserver(() => {
             const app = document.querySelector('[data-testid=stApp]');
             if (!window.__firstRunEnd && app && document.querySelector('.sae-figure') &&
                 app.getAttribute('data-test-script-state') === 'notRunning')
               window.__firstRunEnd = performance.now();
           }).observe(document, {childList: true, subtree: true, attributes: true}); })()"""
    )
    page.goto(f"{server}/?lambda_k=0&lambda_a=0")
    wait_for_page(page)
    assert page.evaluate("() => window.__saePreload") is True
    loads = page.evaluate(LOADS)
    assert [name for name, _ in loads] == ["plotly-sae.min.js"], f"the bundle alone is fetched, once: {loads}"
    assert loads[0][1] < page.evaluate("() => window.__firstRunEnd"), "it was asked for while the first run went on"
    version, traces = page.evaluate("() => [Plotly.version, Object.keys(Plotly.PlotSchema.get().traces).sort()]")
    assert version == plotly.offline.get_plotlyjs_version()
    assert traces == sorted(style.TRACES_DRAWN)
    # the scripts' container takes no room on the page
    box = page.locator(".st-key-sae-scripts").first
    assert box.count() == 1 and box.bounding_box() is None
    page.close()


def test_where_the_bundle_cannot_be_fetched_the_page_draws_with_streamlits_plotly(server, chromium):
    """A server started without the project's config serves no static files: the page then loads Streamlit's
    own chart module and draws every figure all the same."""
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/app/static/plotly-sae.min.js", lambda route: route.fulfill(status=404, body="Not Found"))
    page.goto(f"{server}/?lambda_k=0&lambda_a=0")
    wait_for_page(page)
    assert [name for name, _ in page.evaluate(LOADS)] == ["plotly-sae.min.js", "PlotlyChart"]
    assert page.evaluate(f"() => document.querySelectorAll('{MAIN} .js-plotly-plot').length") >= 4
    assert not page.locator(".sae-figure", has_text="could not be drawn").count()
    assert not errors, errors
    page.close()


def test_a_page_asks_nothing_of_any_other_server(server, chromium):
    """A projector's laptop may be offline: the pages load everything from the dashboard's own server (the tab's
    icon was a Material icon from Google's servers)."""
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    for name in ("", "tsne", "units"):
        page.goto(f"{server}/{name}?lambda_k=0&lambda_a=0")
        wait_for_page(page)
    here = urlparse(server).netloc
    assert asked and all(urlparse(u).netloc == here for u in asked if urlparse(u).scheme in ("http", "https")), [
        u for u in asked if urlparse(u).netloc != here
    ][:5]
    page.close()


# the modules Streamlit's page imports only when an element of their kind first arrives (index.js: import(`./X.js`))
LAZY = set(
    re.findall(r"import\(`\./([A-Za-z]+\.[\w-]+\.js)`\)", next(scripts.STREAMLIT_JS.glob("index.*.js")).read_text())
)
FETCHED = """() => performance.getEntriesByType('resource').map(r => r.name.split('?')[0].split('/').pop())"""


def _kinds(files: list[str]) -> set[str]:
    """The kinds of element (Streamlit's names: Slider, BidiComponent...) whose code is among `files`."""
    return {f.split(".")[0] for f in set(files) & LAZY}


def test_the_preload_asks_for_the_code_of_the_elements_before_any_of_them_arrives(tmp_path, chromium):
    """A page that sends nothing but the page's scripts still gets the code of every kind of element the
    dashboard's pages show (the sidebar's sliders, the figures' component...): it is asked for as the run
    starts, not when the first such element arrives late in the server's first run."""
    script = tmp_path / "only_scripts.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(Path(scripts.__file__).parent.parent)!r})\n"
        "from app.scripts import page_scripts\npage_scripts()\n"
    )
    assert len(scripts.ELEMENTS) == len(scripts.ELEMENT_KINDS), "each kind is one of Streamlit's modules"
    with serve(None, script=script) as (url, _):
        page = chromium.new_page()
        page.goto(url)
        wait_for_app(page)
        page.wait_for_function(f"() => ({FETCHED})().some(f => f.startsWith('BidiComponent.'))", timeout=30_000)
        page.wait_for_timeout(500)
        kinds = _kinds(page.evaluate(FETCHED))
        page.close()
    assert set(scripts.ELEMENT_KINDS) <= kinds, set(scripts.ELEMENT_KINDS) - kinds


def test_every_kind_of_element_the_first_page_shows_is_preloaded(server, chromium):
    """The overview (the first page a visitor sees) shows no kind of element whose code the preload leaves out
    (but the scripts' own Html, which carries the preload): a new kind of element in the sidebar or on the
    overview must be added to app.scripts.ELEMENT_KINDS."""
    page, errors = open_page(chromium, f"{server}/?lambda_k=0&lambda_a=0")
    kinds = _kinds(page.evaluate(FETCHED))
    page.close()
    assert "Slider" in kinds and "BidiComponent" in kinds, kinds  # what the test reads is what the page fetched
    assert kinds - {"Html"} <= set(scripts.ELEMENT_KINDS), kinds - {"Html"} - set(scripts.ELEMENT_KINDS)
    assert not errors, errors


# every figure of the page with margins given: (sent, drawn) top and bottom, where Plotly drew them
MARGINS = f"""() => [...document.querySelectorAll('{MAIN} .js-plotly-plot')].map(gd => {{
  const m = gd.layout.margin || {{}}, s = gd._fullLayout._size;
  return {{title: (gd.layout.title || {{}}).text, t: [m.t, Math.round(s.t)], b: [m.b, Math.round(s.b)],
           r: [m.r, Math.round(s.r)]}}; }})"""


@pytest.mark.parametrize("present", ["", "&present=1"])
def test_figures_are_drawn_in_the_margins_they_were_sent_with(server, chromium, present):
    """A legend or axis that needs more room than its figure's margin makes Plotly grow the margin and draw the
    whole figure again (about half of a redraw's time). Every margin the dashboard sets holds what is in it."""
    checked = 0
    for page_name in ("", "tsne", "clusters", "units"):
        page, errors = open_page(chromium, f"{server}/{page_name}?lambda_k=0&lambda_a=0{present}")
        for fig in page.evaluate(MARGINS):
            for side in ("t", "b", "r"):
                sent, drawn = fig[side]
                if sent is not None:
                    checked += 1
                    assert drawn == sent, (page_name or "overview", fig["title"], side, sent, drawn)
        assert not errors, errors
        page.close()
    assert checked >= 12


# A stand-in for Streamlit's Plotly: react(gd, fig) "draws" by noting the chart and the frame it was drawn
# in, so that the order and the pacing of the drawings can be read back.
STAND_IN = """() => {
  const log = (window.__drawn = []);
  let frame = 0;
  (function tick() { frame += 1; requestAnimationFrame(tick); })();
  window.Plotly = {react: (gd, fig) => { log.push([gd.id, frame]); gd._fullLayout = {}; gd.data = fig.data;
                                          gd.layout = fig.layout; return Promise.resolve(gd); }};
}"""
# charts as a page holds them: `top` px from the top of a 720 px window, in the page or in the sidebar
CHARTS = """(tops) => tops.map(([id, top, where]) => {
  const gd = document.createElement('div');
  gd.id = id;
  gd.style.cssText = `position:absolute;left:0;top:${top}px;width:400px;height:300px`;
  let parent = document.body;
  if (where === 'sidebar') {
    parent = document.querySelector('[data-testid=stSidebar]') || document.createElement('section');
    parent.setAttribute('data-testid', 'stSidebar');
    document.body.appendChild(parent);
  }
  parent.appendChild(gd);
  return id;
})"""
# as Streamlit mounts a page's new figures: every chart handed its figure in the same task
MOUNT = """(ids) => {
  window.__settled = [];
  for (const id of ids) {
    const gd = document.getElementById(id);
    Plotly.react(gd, {data: [{y: [1, 2, 3], name: id}], layout: {title: {text: id}}})
      .then(() => window.__settled.push(id));
  }
  return window.__drawn.map(([id]) => id);
}"""


@pytest.fixture
def stand_in(chromium):
    from app.scripts import REDRAW

    tab = chromium.new_page(viewport={"width": 1280, "height": 720})
    tab.set_content("<html><body style='margin:0;height:3000px'></body></html>")
    tab.evaluate(STAND_IN)
    tab.add_script_tag(content=REDRAW)
    tab.wait_for_function("() => window.Plotly.__saeRedraw === true")
    yield tab
    tab.close()


def test_the_first_figure_in_sight_is_drawn_at_once_and_the_rest_one_per_frame_those_in_sight_first(stand_in):
    tab = stand_in
    # the sidebar's map (mounted first: the sidebar comes first in the page), the main figure, one below the
    # fold, two more in sight (one partly), one above the window (scrolled past)
    charts = [["map", 300, "sidebar"], ["main", 100], ["below", 900], ["beside", 100], ["partly", 600], ["above", -400]]
    ids = tab.evaluate(CHARTS, charts)
    drawn_at_once = tab.evaluate(MOUNT, ids)
    assert drawn_at_once == ["main"], "only the page's first figure in sight is drawn in the task that mounts them"
    tab.wait_for_function("() => window.__settled.length === 6", timeout=10_000)
    drawn = tab.evaluate("() => window.__drawn")
    assert [d[0] for d in drawn] == ["main", "beside", "partly", "map", "below", "above"], (
        "the page's figures in sight first, in page order, then the sidebar's, then those out of sight"
    )
    frames = [f for _, f in drawn]
    assert all(b > a for a, b in zip(frames, frames[1:])), f"one drawing per frame: {frames}"
    assert sorted(tab.evaluate("() => window.__settled")) == sorted(ids)


def test_a_chart_gone_before_its_turn_is_not_drawn_and_a_lone_figure_is_drawn_at_once(stand_in):
    tab = stand_in
    tab.evaluate(CHARTS, [["main", 100], ["replaced", 200]])
    # Streamlit replaces that chart before its turn: in the same task, so that its turn (the next frame)
    # cannot come first on a busy machine, as it could between two calls from here
    mount_and_replace = (
        f"(ids) => {{ const drawn = ({MOUNT})(ids); document.getElementById('replaced').remove(); return drawn; }}"
    )
    assert tab.evaluate(mount_and_replace, ["main", "replaced"]) == ["main"]
    tab.wait_for_function("() => window.__settled.length === 2", timeout=10_000)
    assert [d[0] for d in tab.evaluate("() => window.__drawn")] == ["main"], (
        "a chart no longer on the page is not drawn"
    )
    tab.wait_for_timeout(100)  # a later task: the page is idle again
    tab.evaluate(CHARTS, [["next", 300]])
    assert tab.evaluate(MOUNT, ["next"]) == ["main", "next"], "a figure handed over alone is drawn at once"
