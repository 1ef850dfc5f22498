"""The "Your digit" page in a real browser: draw with the mouse on the canvas, see the network's answer change.

1280 x 720 in presenter mode, as a projector shows it. Without a stroke the page asks for one; a first
stroke brings the code and the redrawing, a second stroke changes the redrawing. The screenshot (what the
README shows) goes to $SCREENSHOT_DIR if set; E2E_CACHE runs it on another cache (the real one, for the
README), E2E_QUERY opens another model. The nearest test digits need the MNIST file ($MNIST_PATH).
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_e2e import MAIN

from conftest import SHARED_MNIST
from serve import CHROMIUM, serve, wait_for_app

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)
PROJECTOR = {"width": 1280, "height": 720}
QUERY = os.environ.get("E2E_QUERY", "lambda_k=0&lambda_a=0")
CANVAS = f"{MAIN} canvas.upper-canvas"  # Fabric.js draws on two canvases; the upper one takes the pointer
PICTURE = (  # the main figure's picture (a PNG data URI), or null while there is none
    "() => { const g = document.querySelector('[data-testid=stMain] .js-plotly-plot');"
    " return g && g.data && g.data[0] ? g.data[0].source : null; }"
)


@pytest.fixture(scope="module")
def server(tiny_cache, tmp_path_factory):
    cache = os.environ.get("E2E_CACHE") or str(tiny_cache)
    with pytest.MonkeyPatch.context() as mp:
        mnist = os.environ.get("MNIST_PATH") or (str(SHARED_MNIST) if SHARED_MNIST.is_file() else None)
        if mnist:
            mp.setenv("MNIST_PATH", mnist)  # the server reads the test digits from it (the neighbours)
        with serve(cache, log=tmp_path_factory.mktemp("server") / "streamlit.log") as (url, _):
            yield url


def stroke(page, points: list[tuple[float, float]]) -> None:
    """Draw one stroke with the mouse through `points` (canvas pixels, 0..280)."""
    box = page.locator(CANVAS).first.bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=10)
    page.mouse.up()


def redrawn(page, before: str | None) -> str:
    """Wait until the main figure shows another picture than `before`; return it."""
    page.wait_for_function(f"b => ({PICTURE})() !== null && ({PICTURE})() !== b", arg=before, timeout=60_000)
    wait_for_app(page)
    return page.evaluate(PICTURE)


def panels(uri: str) -> tuple[np.ndarray, np.ndarray]:
    """The drawing as the network sees it and its reconstruction, from the main figure's picture."""
    z = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("L"))
    return z[:, :28], z[:, -28:]


def test_a_stroke_drawn_with_the_mouse_changes_the_reconstruction(server, chromium):
    page = chromium.new_page(viewport=PROJECTOR)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/digit?present=1&{QUERY}")
    wait_for_app(page)
    page.wait_for_selector(CANVAS, timeout=60_000)
    assert "Draw a digit in the black square" in page.inner_text(MAIN), "an empty canvas asks for a digit"
    assert page.evaluate(PICTURE) is None, "and shows no figure of zeros"

    stroke(page, [(90, 50), (200, 50), (150, 150), (120, 240)])  # a 7
    first = redrawn(page, None)
    seen, output = panels(first)
    assert seen.max() > 200 and output.max() > 100, "the drawing and its reconstruction are on screen"
    top = page.evaluate(f"() => document.querySelector('{MAIN} .js-plotly-plot').getBoundingClientRect().top")
    assert top < PROJECTOR["height"] - 200, f"the figure starts {top:.0f} px down a 720 px screen"

    stroke(page, [(100, 150), (220, 150)])  # a bar across: a continental 7
    second = redrawn(page, first)
    seen2, output2 = panels(second)
    assert (seen2 != seen).any(), "the new stroke is in the digit the network sees"
    assert np.abs(output2.astype(int) - output.astype(int)).max() > 20, "the reconstruction changed"
    if os.environ.get("SCREENSHOT_DIR"):
        page.mouse.move(PROJECTOR["width"] - 20, PROJECTOR["height"] - 20)  # off the canvas: its toolbar hides
        page.wait_for_timeout(500)
        Path(os.environ["SCREENSHOT_DIR"]).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(os.environ["SCREENSHOT_DIR"]) / "digit.png"))
    assert not errors, errors
    page.close()
