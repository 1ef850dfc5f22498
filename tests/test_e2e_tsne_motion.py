"""The t-SNE map moves with λ, in a real browser: Debian's Chromium (headless, software WebGL) on a tiny cache.

Moving λ_a on the t-SNE page makes the points glide: what WebGL draws (regl-scatter2d's positions and
range, as a fraction of the plot) is sampled over time. It starts where the old map was on screen,
passes through several places between, and ends where the new figure puts every point; both maps
move together; a page switch does not replay it; Play in presenter mode glides the same way.
The glide is slowed down (window.__saeGlide.slowdown) so that a loaded machine samples it often.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_e2e import MAIN, open_page, wait_for_page

from serve import CHROMIUM, serve

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
SLOWDOWN = 3  # the glide takes 3 × motion.GLIDE_MS here

# Where WebGL draws the first points of the first four digits, as fractions of each map's plot area, and
# each map's glide (motion.js: the model it shows, how far its glide is), for the page's two maps.
SAMPLE = f"""() => {{
    const all = [...document.querySelectorAll('{MAIN} .js-plotly-plot')];
    const glides = all.filter(gd => gd.layout && gd.layout.meta && gd.layout.meta.glide);
    return (glides.length ? glides : all).slice(0, 2).map(gd => {{
    const scene = gd._fullLayout && gd._fullLayout._plots.xy._scene;
    const groups = scene && scene.scatter2d ? scene.scatter2d.groups : [];
    const points = [];
    for (const g of groups.slice(0, 4)) {{
        if (!g || !g.positions) continue;
        const r = g.range;
        for (let j = 0; j < Math.min(5, g.count); j++)
            points.push([(g.positions[2 * j] - r[0]) / (r[2] - r[0]), (g.positions[2 * j + 1] - r[1]) / (r[3] - r[1])]);
    }}
    const run = gd.__saeGlide;
    const glide = gd.layout && gd.layout.meta && gd.layout.meta.glide;
    return {{points, map: glide ? glide.map : null, at: run ? run.at : null, done: run ? run.done : null,
             t0: run ? run.t0 : null, frames: run ? run.frames : 0,
             labels: ((gd.layout && gd.layout.annotations) || []).map(a => a.text).join(' ')}};
}}); }}"""
LOG = "() => window.__saeGlide ? window.__saeGlide.log.length : -1"


@pytest.fixture(scope="module")
def server(tiny_cache, tmp_path_factory):
    with serve(tiny_cache, log=tmp_path_factory.mktemp("server") / "streamlit.log") as (url, _):
        yield url


def sample_glide(page, played: int, timeout_s: float = 60) -> list[list[dict]]:
    """Samples of both maps from now until two glides (both maps') more than `played` have finished."""
    samples = []
    for _ in range(int(timeout_s / 0.05)):
        samples.append(page.evaluate(SAMPLE))
        if page.evaluate(LOG) >= played + 2:
            return samples
        page.wait_for_timeout(50)
    raise AssertionError(f"no glide finished: {samples[-1]}")


def test_moving_lambda_a_glides_the_points_from_the_old_map_to_the_new(server, chromium):
    page, errors = open_page(chromium, f"{server}/tsne?lambda_k=0&lambda_a=0.001")
    page.wait_for_function("() => window.__saeGlide && window.Plotly && window.Plotly.__saeGlide", timeout=30_000)
    page.evaluate(f"() => {{ window.__saeGlide.slowdown = {SLOWDOWN}; }}")
    before = page.evaluate(SAMPLE)
    assert all(m["t0"] is None and m["map"] for m in before), "the first map of a session is drawn as computed"
    old = np.array(before[0]["points"])

    slider = page.locator('[data-testid="stSidebar"] input[type="range"]').nth(1)  # λ_a
    slider.focus()
    played = page.evaluate(LOG)
    slider.press("Home")  # λ_a = 0
    samples = sample_glide(page, played)
    wait_for_page(page)
    assert "lambda_a=0&" in page.url + "&"
    final = page.evaluate(SAMPLE)
    new = np.array(final[0]["points"])

    raw = [s[0] for s in samples if len(s) == 2 and s[0]["map"] != before[0]["map"] and s[0]["t0"] is not None]
    assert raw, "the raw map glided"
    tracks = [np.array(m["points"]) for m in raw if len(m["points"]) == len(old)]
    # it starts where the old map was on screen (no jump), ...
    np.testing.assert_allclose(tracks[0], old, atol=0.02)
    # ... moves through several places between (each point along its line), ...
    span = np.abs(new - old).max()
    assert span > 0.02, "the two maps differ"
    moving = [t for t in tracks if 0.03 * span < np.abs(t - old).max() < 0.97 * span]
    assert len({round(float(np.abs(t - old).max()), 4) for t in moving}) >= 3, f"only {len(moving)} midway samples"
    progress = [float(np.abs(t - old).sum()) for t in tracks]
    assert all(b >= a - 1e-3 * span for a, b in zip(progress, progress[1:])), "it never goes back"
    # ... and ends exactly where the new figure puts the points
    np.testing.assert_allclose(tracks[-1], new, atol=1e-3)
    for m in final:
        assert m["done"] and m["at"] == 1
    both = [s for s in samples if len(s) == 2 and all(m["t0"] is not None for m in s)]
    assert both and both[-1][0]["t0"] == both[-1][1]["t0"], "the two maps glide together"
    assert page.locator(MAIN).get_by_text("λ_a 0.001 → 0").count() == 1

    # another page and back: the maps are shown as they are, no second glide
    played = page.evaluate(LOG)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Clusters").click()
    page.wait_for_url("**/clusters?**", timeout=30_000)
    wait_for_page(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("t-SNE maps").click()
    page.wait_for_url("**/tsne?**", timeout=30_000)
    wait_for_page(page)
    page.wait_for_timeout(500)
    assert page.evaluate(LOG) == played
    np.testing.assert_allclose(np.array(page.evaluate(SAMPLE)[0]["points"]), new, atol=1e-3)
    assert not errors, errors
    page.close()


def test_play_in_presenter_mode_glides_at_each_step(server, chromium):
    page, errors = open_page(chromium, f"{server}/tsne?lambda_k=0&lambda_a=0&present=1")
    page.wait_for_function("() => window.__saeGlide && window.Plotly && window.Plotly.__saeGlide", timeout=30_000)
    page.locator('[data-testid="stSidebar"] [role="radiogroup"] label').filter(has_text="λ_a").click()  # Play: λ_a
    played = page.evaluate(LOG)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => /lambda_a=0.001/.test(location.search)", timeout=30_000)
    samples = sample_glide(page, played)
    assert any(0 < m["at"] < 1 for s in samples for m in s if m["at"] is not None), "seen midway"
    assert page.evaluate(LOG) == played + 2, "both maps glided once"
    gliding = [s[0] for s in samples if s and s[0]["at"] is not None and s[0]["at"] < 1]
    assert gliding and "λ_a = 0.001" in gliding[0]["labels"], "Play writes the λ large on the map as it glides"
    assert not errors, errors
    page.close()
