"""On a projector: 1280×720, presenter mode, a partly prepared grid, in a real browser.

The opening page and every tour step show a figure (never a "not ready" box), every page's main
figure starts within the first 720 px, and chart text (tick labels, legends, axis titles) is at
least 16 px. Screenshots (what the README shows) go to $SCREENSHOT_DIR if set; E2E_CACHE runs it on
another cache (the real one, for the README) and E2E_QUERY opens another model first.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_e2e import MAIN, PAGES, wait_for_page

from conftest import SHARED_MNIST
from core.results import scan
from core.store import ModelStore
from serve import CHROMIUM, serve, wait_for_app

MNIST = os.environ.get("MNIST_PATH") or (str(SHARED_MNIST) if SHARED_MNIST.is_file() else "")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
PROJECTOR = {"width": 1280, "height": 720}


QUERY = os.environ.get("E2E_QUERY", "")


@pytest.fixture(scope="module")
def server(tiny_cache, tmp_path_factory):
    """The tiny grid without its default model (0, 0): the dashboard must land elsewhere (or $E2E_CACHE)."""
    root = os.environ.get("E2E_CACHE")
    if not root:
        root = tmp_path_factory.mktemp("partial") / "cache"
        shutil.copytree(tiny_cache, root)
        for cell, summary in scan(ModelStore(root)).items():
            if cell == (0.0, 0.0):
                shutil.rmtree(root / summary.entry)
    with pytest.MonkeyPatch.context() as mp:
        if MNIST:
            mp.setenv("MNIST_PATH", MNIST)  # the tour's last step smudges a test digit from it
        with serve(root, log=tmp_path_factory.mktemp("server") / "streamlit.log") as (url, proc):
            yield url


def main_figure_top(page) -> float:
    """The top of the page's first figure, in px from the top of the window (the page is not scrolled)."""
    return page.evaluate(f"() => document.querySelector('{MAIN} .js-plotly-plot').getBoundingClientRect().top")


def not_ready_boxes(page) -> list[str]:
    return [
        t
        for t in page.locator(f"{MAIN} [data-testid=stAlert]").all_inner_texts()
        if "prepared" in t or "being computed" in t or "not been computed" in t
    ]


def smallest_chart_text(page) -> dict[str, float]:
    """The smallest font size (px) of tick labels, legend entries and axis titles over the main area's figures,
    with the first small texts found ("small": [text, px])."""
    return page.evaluate(
        f"""() => {{
            const scoped = sel => sel.split(',').map(s => '{MAIN} .js-plotly-plot ' + s.trim()).join(', ');
            const all = sel => Array.from(document.querySelectorAll(scoped(sel)));
            const px = e => parseFloat(getComputedStyle(e).fontSize);
            const size = sel => Math.min(...all(sel).map(px), 999);
            const small = all('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text').filter(e => px(e) < 16)
                .slice(0, 3).map(e => [e.textContent, px(e)]);
            return {{ticks: size('.xtick text, .ytick text'), legend: size('.legendtext'),
                    axis_titles: size('.g-xtitle text, .g-ytitle text'), small: small}};
        }}"""
    )


def cut_off(page) -> list[str]:
    """Text in the main area that its box cuts off or scrolls: metric labels and values, segmented controls."""
    return page.evaluate(
        f"""() => Array.from(document.querySelectorAll(
                '{MAIN} [data-testid=stMetricValue] *, {MAIN} [data-testid=stMetricLabel] *, '
                + '{MAIN} [data-testid=stButtonGroup] [role=radiogroup]'))
            .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
    )


# a figure's titles and notes: each inside its figure, none over another (found on the real grid at 1280 px in
# presenter mode: the overview's "Density of the code (λ_k = …" and the unit explorer's titles ran past their
# half-page figures, the silent bar's label sat on the histogram's axis title, the clusters' numbers piled up)
FIGURE_TEXT = """() => {
  const out = [];
  for (const gd of document.querySelectorAll('[data-testid=stMain] .js-plotly-plot')) {
    const box = gd.getBoundingClientRect();
    const texts = [...gd.querySelectorAll('.gtitle, .g-gtitle text, [class*=title] > text, .annotation-text')]
      .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
      .filter(t => {  // a t-SNE map's island labels sit where the digits lie: islands may overlap, by the data
        const a = t.closest('.annotation'), i = a && a.getAttribute('data-index');
        const spec = i !== null && i !== undefined && gd._fullLayout.annotations[+i];
        return !(spec && String(spec.name || '').startsWith('digit '));
      });
    const rects = texts.map(t => t.getBoundingClientRect());
    texts.forEach((t, i) => {
      const r = rects[i];
      if (r.left < box.left - 1 || r.right > box.right + 1) out.push('outside its figure: ' + t.textContent);
      for (let j = i + 1; j < texts.length; j++) {
        const q = rects[j];
        const w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
        const h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
        if (w > 2 && h > 2 && !t.contains(texts[j]) && !texts[j].contains(t))
          out.push('over each other: ' + t.textContent + ' / ' + texts[j].textContent);
      }
    });
  }
  return out;
}"""


def shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def test_every_page_at_1280x720_in_presenter_mode(server, chromium):
    page = chromium.new_page(viewport=PROJECTOR)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for name, title in PAGES:
        page.goto(f"{server}/{'' if name == 'overview' else name}?present=1&{QUERY}")
        wait_for_page(page)
        assert title in page.inner_text(MAIN), name
        assert not not_ready_boxes(page), f"{name} opens on a ready model"
        top = main_figure_top(page)
        shot(page, name)
        assert top < PROJECTOR["height"] - 100, f"{name}: the main figure starts {top:.0f} px down a 720 px screen"
        text = smallest_chart_text(page)
        assert text["ticks"] >= 16, f"{name}: tick labels {text}"
        assert text["legend"] >= 16 and text["axis_titles"] >= 16, f"{name}: {text}"
        assert "Technical details" not in page.inner_text(MAIN), name
        assert not cut_off(page), f"{name}: text cut off at 1280 px: {cut_off(page)}"
        assert not page.evaluate(FIGURE_TEXT), f"{name}: {page.evaluate(FIGURE_TEXT)}"
    assert not errors, errors
    page.close()


def test_every_tour_step_at_1280x720_shows_a_figure(server, chromium):
    page = chromium.new_page(viewport=PROJECTOR)
    page.goto(f"{server}/?present=1&{QUERY}")
    wait_for_page(page)
    page.get_by_role("button", name="Start the guided tour").click()
    steps = 0
    banner = ""
    while True:
        page.wait_for_function(  # the next step's banner, not the last step's page on its way out
            "b => { const p = [...document.querySelectorAll('[data-testid=stMain] p')]"
            ".find(p => p.textContent.includes('Tour, step')); return p && p.textContent !== b; }",
            arg=banner,
            timeout=60_000,
        )
        wait_for_app(page)
        steps += 1
        banner = page.locator(f"{MAIN} p", has_text="Tour, step").first.inner_text()
        if "Your turn" in banner and not MNIST:  # no test digit to start from: the empty canvas, no figure yet
            assert page.get_by_text("Draw", exact=True).first.is_visible(), banner
        else:
            wait_for_page(page)  # (it waits for a figure: the empty canvas has none)
            assert main_figure_top(page) < PROJECTOR["height"] - 60, banner
        assert not not_ready_boxes(page), banner
        shot(page, "tour" if steps == 1 else f"tour_{steps}")
        nxt = page.get_by_role("button", name="Next")
        if not nxt.count():
            break
        nxt.click()
        wait_for_app(page)
        assert steps < 10
    assert steps >= 5, "most steps have a ready model on this grid"
    page.close()


# A λ axis of the real grid's size (the tiny grid's two values never crowd), drawn by Plotly in half a page:
# 402 px wide at 1280 x 720 and 722 px at 1920 x 1080 (measured on the overview, with and without presenter mode)
GRID_K = tuple(float(v) for v in np.linspace(0, 1e-4, 10))
GRID_A = (0.0, 3e-4, 1e-3, 3e-3, 1e-2)
AXIS_LABELS = """([spec, width]) => {
    const gd = document.createElement('div'); document.body.appendChild(gd);
    const fig = JSON.parse(spec);
    return Plotly.newPlot(gd, fig.data, Object.assign(fig.layout, {width: width}), {staticPlot: true}).then(() => {
        const labels = [...gd.querySelectorAll('.xtick text, .x2tick text')].filter(t => t.textContent);
        const boxes = labels.map(t => t.getBoundingClientRect());
        const out = {texts: labels.map(t => t.textContent), margin: gd.layout.margin.b, used: gd._fullLayout._size.b,
            tilted: labels.filter(t => (t.getAttribute('transform') || '').includes('rotate')).length,
            overlaps: boxes.slice(1).filter((b, i) => b.left < boxes[i].right + 4).length,
            px: labels.length ? parseFloat(getComputedStyle(labels[0]).fontSize) : 0};
        gd.remove(); return out;
    });
}"""


def test_a_lambda_axis_of_the_whole_grid_lies_flat_and_fits_half_a_page_in_and_out_of_presenter_mode(
    chromium, monkeypatch
):
    from plotly.offline import get_plotlyjs

    from app import chrome
    from app.presentation import charts

    rows = [
        {"lambda_k": k, "lambda_a": a, "mse_train": 1e-3 + k + a, "mse_test": 1e-3 + k + a, "density_test": 0.5}
        | {"density_train": 0.5, "history_loss_train": 2e-3 + k + a, "history_loss_test": 2e-3 + k + a}
        for k in GRID_K
        for a in GRID_A
    ]
    page = chromium.new_page()
    page.set_content("<html><body></body></html>")
    page.add_script_tag(content=get_plotlyjs())
    for presenting in (False, True):
        monkeypatch.setattr(chrome, "presenting", lambda p=presenting: p)
        for axis, values in (("lambda_k", GRID_K), ("lambda_a", GRID_A)):
            for build in (charts.loss_vs_lambda, charts.density_vs_lambda):
                fig = build(rows, axis, 0.0, 0.0, grid_values=values, legend=False, large_text=presenting)
                chrome._size(fig)  # presenter mode's text, as the page enlarges it
                for width in (402, 722):
                    got = page.evaluate(AXIS_LABELS, [fig.to_json(), width])
                    where = f"{build.__name__} over {axis}, {width} px, presenting={presenting}: {got}"
                    assert got["px"] == (18 if presenting else 12), where
                    assert not got["tilted"] and not got["overlaps"], where
                    assert got["texts"][0] == "0" and got["texts"][-1] == charts.lambda_tick(values[-1]), where
                    assert len(got["texts"]) >= 3, where  # ends and at least one between
                    assert got["used"] == got["margin"], f"Plotly grew the bottom margin (a second drawing): {where}"
    page.close()


# While playing: the λ written large on the main figure, and every other text of that figure it overlaps
LABEL_OVERLAPS = """() => new Promise((done) => {
  const until = performance.now() + 20000;
  const tick = () => {
    const gd = [...document.querySelectorAll('[data-testid=stMain] .js-plotly-plot')]
      .find(g => g.layout && g.layout.meta && g.layout.meta.sae_playing && g._fullLayout);
    const label = gd && [...gd.querySelectorAll('.annotation')].find(a => /^λ_[ka] = /.test(a.textContent));
    if (!label) return performance.now() > until ? done(null) : requestAnimationFrame(tick);
    const box = label.getBoundingClientRect(), chart = gd.getBoundingClientRect();
    const hits = [...gd.querySelectorAll('text')].filter(t => t.textContent.trim() && !label.contains(t))
      .filter(t => { const b = t.getBoundingClientRect();
        return b.width && b.left < box.right - 1 && box.left < b.right - 1
          && b.top < box.bottom - 1 && box.top < b.bottom - 1; })
      .map(t => t.textContent);
    done({label: label.textContent, hits: hits, inside: box.top >= chart.top - 1 && box.right <= chart.right + 1});
  };
  tick();
})"""


def test_while_playing_the_lambda_written_on_the_main_figure_covers_none_of_its_text(server, chromium):
    page = chromium.new_page(viewport=PROJECTOR)
    for name, _ in PAGES:
        page.goto(f"{server}/{'' if name == 'overview' else name}?present=1&{QUERY}")
        wait_for_page(page)
        page.locator("[data-testid=stSidebar] .st-key-anim-play button").click()
        got = page.evaluate(LABEL_OVERLAPS)
        assert got is not None, f"{name}: no λ written on the main figure while playing"
        assert got["inside"] and not got["hits"], f"{name}: {got}"
    page.close()
