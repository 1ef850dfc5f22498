"""The t-SNE maps' digit picture (app/presentation/digit_hover.js), in a real browser: Debian's Chromium.

The script is given a page like the dashboard's: the hidden picture of every test digit
(images.digit_sprite, as chrome.digit_hover sends it) and a chart that Plotly would have drawn, here a
stand-in with Plotly's `on`. Plotly's hover event for point i draws test digit i, enlarged, beside the
pointer; leaving the point hides it. The app's side (which page sends the picture, and when) is in
tests/test_page_tsne.py.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from app.chrome import DIGIT_HOVER, SPRITE_KEY
from app.presentation.images import digit_sprite
from serve import CHROMIUM

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
COLS, N = 7, 30
ZOOM = 4  # digit_hover.js draws a 28 px digit at 112 px

# a chart as Plotly leaves it: a .js-plotly-plot div with `on` (Plotly's events) and its layout
CHART = """(meta) => {
  const gd = document.createElement('div');
  gd.className = 'js-plotly-plot';
  gd.style.cssText = 'position:absolute;left:400px;top:300px;width:300px;height:300px';
  gd.layout = {meta};
  gd.handlers = {};
  gd.on = (name, f) => { gd.handlers[name] = f; };
  document.body.appendChild(gd);
  gd.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
  return true;
}"""
HOVER = """([i, x, y]) => {
  const gd = document.querySelectorAll('.js-plotly-plot')[0];
  gd.handlers.plotly_hover({points: [{customdata: i}], event: {clientX: x, clientY: y}});
  const box = document.querySelector('.sae-digit-hover');
  if (!box || box.style.display === 'none') return null;
  const c = box.querySelector('canvas'), r = box.getBoundingClientRect();
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const grey = [];
  for (let k = 0; k < px.length; k += 4) grey.push(px[k]);
  return {shown: window.__saeDigitHover.shown, width: c.width, grey, right: r.right, bottom: r.bottom};
}"""


@pytest.fixture
def page(chromium):
    rng = np.random.default_rng(0)
    digits = rng.random((N, 28, 28))
    png = base64.b64encode(digit_sprite(digits, COLS)).decode()
    tab = chromium.new_page(viewport={"width": 1280, "height": 720})
    tab.set_content(
        f'<html><body><div class="st-key-{SPRITE_KEY}" style="display:none">'
        f'<img src="data:image/png;base64,{png}"></div></body></html>'
    )
    tab.wait_for_function(f"() => document.querySelector('.st-key-{SPRITE_KEY} img').naturalWidth === {COLS * 28}")
    tab.add_script_tag(content=f"window.__saeDigitSprite = {json.dumps({'cols': COLS, 'side': 28, 'n': N})};")
    tab.add_script_tag(content=DIGIT_HOVER)
    yield tab, np.rint(digits * 255)
    tab.close()


def test_hovering_a_point_of_a_map_draws_its_test_digit_beside_the_pointer(page):
    tab, greys = page
    tab.evaluate(CHART, {"hover_digits": True})
    for i in (0, 6, 7, 29):  # the first, the end of a row, the start of the next, the last
        got = tab.evaluate(HOVER, [i, 600, 450])
        assert got is not None and got["shown"] == i and got["width"] == 28 * ZOOM
        drawn = np.array(got["grey"]).reshape(28 * ZOOM, 28 * ZOOM)
        np.testing.assert_array_equal(drawn[ZOOM // 2 :: ZOOM, ZOOM // 2 :: ZOOM], greys[i])  # pixelated, exact
        assert got["right"] < 600 and got["bottom"] < 450  # above and left of the pointer: Plotly's label is right


def test_leaving_the_point_hides_the_digit(page):
    tab, _ = page
    tab.evaluate(CHART, {"hover_digits": True})
    assert tab.evaluate(HOVER, [3, 600, 450]) is not None
    tab.evaluate("() => document.querySelector('.js-plotly-plot').handlers.plotly_unhover({})")
    assert tab.evaluate("() => document.querySelector('.sae-digit-hover').style.display") == "none"
    assert tab.evaluate("() => window.__saeDigitHover.shown") is None


def test_no_digit_for_another_chart_or_an_index_outside_the_test_set(page):
    tab, _ = page
    tab.evaluate(CHART, {"hover_digits": True})
    assert tab.evaluate(HOVER, [N, 600, 450]) is None  # no such test digit
    assert tab.evaluate(HOVER, [-1, 600, 450]) is None
    tab.evaluate("() => document.querySelector('.js-plotly-plot').remove()")
    tab.evaluate(CHART, {})  # a filter grid's tiles carry customdata too: not digits
    assert tab.evaluate(HOVER, [3, 600, 450]) is None
