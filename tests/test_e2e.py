"""End to end in a real browser: `streamlit run` on a free port, Debian's Chromium driven by Playwright.

Visits every page, moves a slider, checks that the figure changed, clicks a
filter to open its unit view, and saves a screenshot of each page (to $SCREENSHOT_DIR if set, else a temporary folder).
Set E2E_CACHE to run it on another cache (for example the full MNIST one) and
E2E_QUERY to start from another model (default lambda_k=0&lambda_a=0).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import pytest

from serve import CHROMIUM, serve, wait_for_app

PAGES = [
    ("overview", "How much does regularization cost"),
    ("filters", "What does each hidden unit look for"),
    ("reconstructions", "From digit to code and back"),
    ("similarity", "Do codes of the same digit look alike"),
    ("tsne", "A map of the codes"),
    ("clusters", "Do the codes fall into natural groups"),
    ("units", "One hidden unit up close"),
    ("frontier", "What does a sparse code cost"),
    ("compare", "Two models side by side"),
]

MAIN = "[data-testid=stMain]"  # the page itself, not the sidebar (its readiness map is a figure too)

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def server(tiny_cache, tmp_path_factory):
    cache = os.environ.get("E2E_CACHE") or str(tiny_cache)
    with serve(cache, log=tmp_path_factory.mktemp("server") / "streamlit.log") as (url, proc):
        yield url, proc


def wait_for_page(page) -> None:
    """Until the app is idle and at least one figure is drawn (every page these tests open has one)."""
    wait_for_app(page)
    page.wait_for_function(
        "() => { const g = document.querySelector('[data-testid=stMain] .js-plotly-plot');"
        " return g && g._fullLayout && g.data; }",
        timeout=60_000,
    )
    wait_for_app(page)
    page.wait_for_timeout(300)  # let Plotly finish its transitions before comparing or screenshotting


def open_page(chromium, url: str, viewport: dict | None = None):
    """(page, errors): a new tab on `url`, drawn (`wait_for_page`); errors collects the page's script errors."""
    page = chromium.new_page(viewport=viewport or {"width": 1280, "height": 720})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    wait_for_page(page)
    return page, errors


def first_figure_data(page) -> str:
    """The first figure's data as the browser holds it (points, box statistics, custom data)."""
    return page.evaluate(
        """() => { const g = document.querySelector('[data-testid=stMain] .js-plotly-plot');
                   return g ? JSON.stringify(g.data.map(t => [t.x, t.y, t.z, t.q1, t.median, t.q3, t.source,
                                                             t.customdata && t.customdata.length])) : ''; }"""
    )


def test_every_page_in_a_real_browser(server, chromium, tmp_path):
    import psutil

    server, proc = server
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    query = os.environ.get("E2E_QUERY", "lambda_k=0&lambda_a=0")
    start_k = urllib.parse.parse_qs(query)["lambda_k"][0]
    for name, heading in PAGES:
        page.goto(f"{server}/{'' if name == 'overview' else name}?{query}")
        wait_for_page(page)
        assert page.get_by_text(heading).first.is_visible(), name
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert page.locator(MAIN + " .js-plotly-plot").count() >= 1, name
        before = first_figure_data(page)
        # move the λ_k slider with the keyboard, as a person would: End = the strongest penalty
        slider = page.locator('[data-testid="stSidebar"] input[type="range"]').first
        slider.focus()
        slider.press("End")
        wait_for_page(page)
        now_k = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["lambda_k"][0]
        assert now_k != start_k, f"{name}: the URL did not follow the slider"
        assert page.locator(MAIN + " .js-plotly-plot").count() >= 1, f"{name}: no figure after moving λ_k"
        # the URL changes with the slider, the figure when the rerun's delta arrives: wait for it, a while
        changed = False
        for _ in range(50):
            if first_figure_data(page) != before:
                changed = True
                break
            page.wait_for_timeout(200)
        assert changed, f"{name}: the figure did not change with λ_k"
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert not errors, errors
    # the dashboard shows cached models without TensorFlow (about 1.5 GB and 5 s per process)
    assert not any("tensorflow" in m.path for m in psutil.Process(proc.pid).memory_maps())


def click_tile(page, unit: int, n_cols: int = 14, side: int = 28, gap: int = 2) -> None:
    """Click the centre of a unit's tile in the first figure's plot area (rows from the top)."""
    area = page.locator(MAIN + " .js-plotly-plot .nsewdrag").first.bounding_box()
    extent = n_cols * (side + gap) - gap  # the grid's width and height in pixels of the images
    r, c = divmod(unit, n_cols)
    fx = (c * (side + gap) + side / 2) / extent
    fy = (r * (side + gap) + side / 2) / extent
    page.mouse.click(area["x"] + fx * area["width"], area["y"] + fy * area["height"])


def test_clicking_a_filter_opens_its_unit(server, chromium):
    server, _ = server
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    query = os.environ.get("E2E_QUERY") or "lambda_k=0.001&lambda_a=0.001"  # not the defaults: they must survive
    page.goto(f"{server}/filters?{query}")
    wait_for_page(page)
    click_tile(page, 100)
    page.wait_for_url("**/units?**", timeout=30_000)
    wait_for_page(page)
    assert page.get_by_text("One hidden unit up close").first.is_visible()
    now = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert now["unit"] == ["100"]
    assert {k: now[k] for k in ("lambda_k", "lambda_a")} == {
        k: v for k, v in urllib.parse.parse_qs(query).items() if k in ("lambda_k", "lambda_a")
    }, "the model chosen must not change when the unit view opens"
    assert page.get_by_text("Unit 100", exact=True).first.is_visible()
    # on the unit page itself, a click on another filter shows that unit
    click_tile(page, 3)
    page.wait_for_function("() => location.search.includes('unit=3&') || location.search.endsWith('unit=3')")
    wait_for_page(page)
    assert page.get_by_text("Unit 3", exact=True).first.is_visible()
    # the sidebar's page links keep the model too
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Sparsity–fidelity trade-off").click()
    page.wait_for_url("**/frontier?**", timeout=30_000)
    wait_for_page(page)
    assert page.get_by_text("What does a sparse code cost").first.is_visible()
    after = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert after["lambda_k"] == now["lambda_k"] and after["lambda_a"] == now["lambda_a"]
    assert not errors, errors


def test_presenter_mode_and_the_tour_in_a_real_browser(server, chromium, tmp_path):
    server, _ = server
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/?present=1&tour=1")
    wait_for_page(page)
    assert page.get_by_text("Tour, step 1 of 8").first.is_visible()
    assert page.get_by_text("Technical details").count() == 0  # presenter mode hides them
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/filters?**", timeout=30_000)
    wait_for_page(page)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert query["tour"] == ["2"] and query["present"] == ["1"]
    assert page.get_by_text("Tour, step 2 of 8").first.is_visible()
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    page.screenshot(path=str(shots / "tour.png"))
    # a copied link reopens the same step in a fresh tab
    other = chromium.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(page.url)
    wait_for_page(other)
    assert other.get_by_text("Tour, step 2 of 8").first.is_visible()
    assert not errors, errors


def url_query(page) -> dict:
    return {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query).items()}


def test_clicking_a_point_of_the_frontier_chooses_its_model(server, chromium):
    server, _ = server
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/frontier?lambda_k=0&lambda_a=0")
    wait_for_page(page)
    # where the browser drew the first point of the last λ_a group, and which model it is
    target = page.evaluate(
        """() => { const g = document.querySelector('[data-testid=stMain] .js-plotly-plot');
                   const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, box = g.getBoundingClientRect();
                   const groups = g.data.filter(t => t.name.startsWith('λ_a'));
                   const t = groups[groups.length - 1];
                   return {x: box.left + xa._offset + xa.l2p(t.x[0]),
                           y: box.top + ya._offset + ya.l2p(Math.log10(t.y[0])),
                           cell: Array.from(t.customdata[0])}; }"""
    )
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function("() => !location.search.includes('lambda_a=0&') && !location.search.endsWith('lambda_a=0')")
    wait_for_page(page)
    q = url_query(page)
    assert (float(q["lambda_k"]), float(q["lambda_a"])) == tuple(target["cell"])


def test_clicking_a_dot_of_the_readiness_map_chooses_its_model(server, chromium):
    """The sidebar's map is drawn in place (app.chrome.chart): a real click on a dot reaches the server."""
    server, _ = server
    page, errors = open_page(chromium, f"{server}/?lambda_k=0&lambda_a=0")
    # where the browser drew the dot of another ready model
    target = page.evaluate(
        """() => { const g = document.querySelector('[data-testid=stSidebar] .js-plotly-plot');
                   g.scrollIntoView({block: 'center'});
                   const xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, box = g.getBoundingClientRect();
                   for (const t of g._fullData) {
                     if (!t.customdata || t.hoverinfo === 'skip') continue;
                     for (let i = 0; i < t.customdata.length; i++) {
                       const cell = Array.from(t.customdata[i]).slice(0, 2).map(Number);
                       if (t.name && t.name.startsWith('ready') && (cell[0] !== 0 || cell[1] !== 0))
                         return {x: box.left + xa._offset + xa.d2p(t.x[i]),
                                 y: box.top + ya._offset + ya.d2p(t.y[i]), cell};
                     }
                   }
                   return {names: g._fullData.map(t => t.name)}; }"""
    )
    assert "cell" in target, f"a ready model's dot on the map: {target}"
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function("() => !/lambda_k=0(&|$)/.test(location.search) || !/lambda_a=0(&|$)/.test(location.search)")
    wait_for_page(page)
    q = url_query(page)
    assert (float(q["lambda_k"]), float(q["lambda_a"])) == tuple(target["cell"])
    assert not errors, errors
    page.close()


def test_play_steps_lambda_in_a_real_browser(server, chromium):
    server, _ = server
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/tsne?lambda_k=0&lambda_a=0")
    wait_for_page(page)
    before = first_figure_data(page)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => !/lambda_k=0(&|$)/.test(location.search)", timeout=20_000)
    wait_for_page(page)
    assert url_query(page)["lambda_k"] != "0"
    assert first_figure_data(page) != before, "the page did not follow the animation"


# Play, then as soon as Stop is watched (stop_watch.js) and the main figure is labelled: make the figure show
# `value` (or the other λ_k of the tiny grid: as when the server is a step ahead of the screen), click Stop
# (null after 20 s without that: nothing clicked)
PLANT_AND_STOP = """(value) => new Promise((done) => {
  const until = performance.now() + 20000;
  const tick = () => {
    const btn = document.querySelector('[data-testid=stSidebar] .st-key-anim-stop button');
    const gd = document.querySelector('[data-testid=stMain] .js-plotly-plot');
    const meta = gd && gd.layout && gd.layout.meta && gd.layout.meta.sae_playing;
    if (performance.now() > until) return done(null);
    if (!btn || !meta || document.documentElement.dataset.saeStopWatch !== 'on') return requestAnimationFrame(tick);
    gd.layout.meta.sae_playing = value || {axis: 'lambda_k', value: meta.value === 0 ? 0.001 : 0};
    btn.click();
    done(gd.layout.meta.sae_playing.value);
  };
  tick();
})"""


def test_stop_keeps_the_lambda_on_the_figure_even_when_the_server_is_a_step_ahead(server, chromium):
    server, _ = server
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/?lambda_k=0&lambda_a=0")
    wait_for_page(page)
    play = page.locator("[data-testid=stSidebar] .st-key-anim-play button")
    for planted in (None, {"axis": "lambda_k", "value": 0.123}, {"axis": "lambda_a", "value": "0.001"}):
        play.click()
        kept = page.evaluate(PLANT_AND_STOP, planted)
        assert kept is not None, "no Stop watched, or no λ on the main figure, while playing"
        play.wait_for(timeout=20_000)  # stopped: Play is back
        wait_for_app(page)
        page.wait_for_timeout(2_000)  # the animation's interval: no step after Stop
        wait_for_app(page)
        assert play.is_visible() and not page.locator("[data-testid=stException]").count()
        lam = float(url_query(page)["lambda_k"])
        if planted is None:  # what the figure showed, not what the server had reached
            assert lam == kept, (lam, kept)
        else:  # a value that is no ready model, or not a number: Stop as the button does, on a λ of the grid
            assert lam in (0.0, 1e-3) and url_query(page)["lambda_a"] == "0", planted
    assert not errors, errors
    page.close()
