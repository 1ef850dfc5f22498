"""The "Your digit" page: a drawing (sent as the canvas would send it) gives its code, its redrawing by every model
of the row, and its five nearest test digits; an empty canvas gives a prompt; a test digit can be smudged."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.proto.WidgetStates_pb2 import WidgetState

from apptest import FIGURE_NAME, app, arr, charts, click_points, figure_elements, texts
from core import digit
from core.results import load_cell
from core.store import ModelStore

PAGE = "views/digit.py"


def open_page(cache, monkeypatch, mnist=None, query=None):
    """A fresh session on the digit page; with the MNIST file at `mnist` (the test digits), if given."""
    at = app(cache, monkeypatch, query)
    if mnist is not None:
        monkeypatch.setenv("MNIST_PATH", str(mnist))
    return at.switch_page(PAGE).run()


def as_canvas(ink: np.ndarray) -> np.ndarray:
    """Ink (280, 280) in [0, 1] as the page's canvas shows it: white strokes on an opaque black square, RGBA."""
    grey = np.rint(np.clip(ink, 0, 1) * 255).astype(np.uint8)
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


def draw(at, rgba: np.ndarray):
    """Run `at` as if the visitor had just finished a stroke and the canvas showed `rgba` (a PNG data URL, as the
    streamlit-drawable-canvas component sends it with return_image_data=True)."""
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    canvas = [c for c in at.get("bidi_component") if not c.proto.component_name.endswith(FIGURE_NAME)]
    assert len(canvas) == 1, "the page shows one canvas"
    states = at._tree.get_widget_states()
    drawing = {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}}
    states.widgets.append(WidgetState(id=canvas[0].proto.id, json_value=json.dumps(drawing)))
    return at._tree._runner._run(states)


def plain(tick: str) -> str:
    return tick.replace("<b>", "").replace("</b>", "")


def figure(at, title_start: str) -> dict:
    found = [c for c in charts(at) if c["layout"]["title"]["text"].startswith(title_start)]
    assert len(found) == 1, [c["layout"]["title"]["text"] for c in charts(at)]
    return found[0]


def picture(fig: dict) -> np.ndarray:
    """The figure's picture (its first trace, a PNG) as 8-bit greys; the gaps between tiles are white (255)."""
    uri = fig["data"][0]["source"]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("L"))


def grey(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(np.asarray(x, np.float64), 0, 1) * 255).astype(np.uint8)


def same(shown: np.ndarray, x: np.ndarray) -> bool:
    """The 8-bit picture shows x (to rounding)."""
    return shown.shape == x.shape and int(np.abs(shown.astype(int) - grey(x)).max()) <= 1


@pytest.fixture(scope="module")
def mnist_test(mnist_path):
    with np.load(mnist_path) as f:
        return f["x_test"].astype(np.float32) / 255, f["y_test"]


def a_seven() -> np.ndarray:
    ink = np.zeros((280, 280), np.float32)
    ink[40:62, 50:230] = 1
    ink[62:250, 190:212] = 1
    return ink


def test_an_empty_canvas_gets_a_prompt_not_a_figure(tiny_cache, monkeypatch):
    at = open_page(tiny_cache, monkeypatch)
    assert not at.exception and not at.error
    assert at.title and "Draw a digit" in " ".join(texts(at.info))
    assert charts(at) == [], "no figure of zeros"
    dot = np.zeros((280, 280), np.float32)
    dot[130:150, 130:150] = 1  # one click of the pen: nearly empty
    at = draw(at, as_canvas(dot))
    assert not at.exception and charts(at) == [] and "Draw a digit" in " ".join(texts(at.info))


def test_a_drawing_gives_its_code_its_redrawing_across_the_row_and_five_neighbours(
    tiny_cache, monkeypatch, mnist_path, mnist_test
):
    at = open_page(tiny_cache, monkeypatch, mnist_path)
    rgba = as_canvas(a_seven())
    at = draw(at, rgba)
    assert not at.exception and not at.error, texts(at.error)
    assert not at.info, "no prompt once there is a digit"
    x = digit.to_mnist(digit.ink(rgba))
    store = ModelStore(tiny_cache)
    mine = digit.forward(x, load_cell(store, 0.0, 0.0).weights)

    # the code: the digit as the network sees it, its code (a click target per unit), its redrawing
    code = figure(at, "Active units outlined")
    z = picture(code)
    assert same(z[:, :28], x), "the drawing in MNIST's form"
    assert same(z[:, -28:], mine.output), "the selected model's redrawing"
    assert arr(code["data"][-1]["customdata"]).tolist() == list(range(196))
    assert f"{mine.active} of 196 active" in code["layout"]["xaxis"]["ticktext"][1]
    outlined = code["layout"]["shapes"][0]["path"].count("M") if code["layout"].get("shapes") else 0
    assert outlined == mine.active

    # the strip: every ready model of the λ_a = 0 row, its redrawing and its active units
    strip = figure(at, "Redrawn by every ready model with λ_a = 0")
    expected = [digit.forward(x, load_cell(store, k, 0.0).weights) for k in (0.0, 1e-3)]
    assert [plain(t) for t in strip["layout"]["xaxis"]["ticktext"]] == [
        f"0<br>{expected[0].active}",
        f"0.001<br>{expected[1].active}",
    ]
    z = picture(strip)
    assert same(z[:, :28], expected[0].output) and same(z[:, -28:], expected[1].output)
    assert [s["name"] for s in strip["layout"]["shapes"]] == ["the sidebar's model"]

    # the five test digits nearest in code space, with their labels
    x_test, y_test = mnist_test
    ids, scores, how = digit.nearest(mine.code, digit.index_codes(x_test, load_cell(store, 0.0, 0.0).weights), 5)
    near = figure(at, "Nearest test digits")
    assert how == "cosine"
    assert near["layout"]["xaxis"]["ticktext"] == [f"a {y_test[i]}<br>{s:.2f}" for i, s in zip(ids, scores)]
    assert same(picture(near)[:, :28], x_test[ids[0]])

    # another model in the sidebar: the same drawing, that model's answer
    at.select_slider(key="lambda_k").set_value(1e-3).run()
    assert not at.exception
    z = picture(figure(at, "Active units outlined"))
    assert same(z[:, -28:], expected[1].output)
    strip = figure(at, "Redrawn by every ready model")
    assert strip["layout"]["xaxis"]["ticktext"][1].startswith("<b>0.001"), "the sidebar's model is in bold"


def test_the_strip_can_run_down_the_lambda_a_column(tiny_cache, monkeypatch):
    at = draw(open_page(tiny_cache, monkeypatch), as_canvas(a_seven()))
    at.segmented_control(key="digit_axis").set_value("lambda_a").run()
    assert not at.exception
    strip = figure(at, "Redrawn by every ready model with λ_k = 0")
    assert [plain(t).split("<br>")[0] for t in strip["layout"]["xaxis"]["ticktext"]] == ["0", "0.001"]


def test_without_the_mnist_file_a_drawing_still_gets_its_code(tiny_cache, monkeypatch):
    at = draw(open_page(tiny_cache, monkeypatch), as_canvas(a_seven()))
    assert not at.exception and len(charts(at)) == 2, "the code and the strip, no neighbours"
    assert any("MNIST_PATH" in c for c in texts(at.main.caption))
    assert at.segmented_control(key="digit_source").options == ["Draw"], "no test digits to smudge"


def test_a_test_digit_can_be_smudged_and_finds_itself(tiny_cache, monkeypatch, mnist_path, mnist_test):
    at = open_page(tiny_cache, monkeypatch, mnist_path)
    at.segmented_control(key="digit_source").set_value("test").run()
    assert not at.exception and not at.info
    x_test, y_test = mnist_test
    near = figure(at, "Nearest test digits")
    assert near["layout"]["xaxis"]["ticktext"][0] == f"a {y_test[0]}<br>1.00", "test digit 0 is nearest to itself"
    assert same(picture(figure(at, "Active units outlined"))[:, :28], x_test[0])

    at.number_input(key="digit_index").set_value(3).run()
    at.selectbox(key="digit_erase").set_value("top half").run()
    at.slider(key="digit_noise").set_value(0.2).run()
    assert not at.exception
    shown = picture(figure(at, "Active units outlined"))[:, :28]
    assert same(shown, digit.smudge(x_test[3], 0.2, "top half", seed=3))

    # strokes are painted over it in place: the eraser over everything leaves nothing, and a prompt
    black = np.zeros((280, 280, 4), np.uint8)
    black[..., 3] = 255
    at = draw(at, black)
    assert not at.exception and charts(at) == [] and "Nothing is left" in " ".join(texts(at.info))


def test_a_click_on_a_unit_of_the_code_opens_the_unit_explorer(tiny_cache, monkeypatch):
    at = draw(open_page(tiny_cache, monkeypatch), as_canvas(a_seven()))
    chart = next(c for c in figure_elements(at.main) if "digit_code" in c.proto.id)
    at = click_points(at, chart, [{"customdata": 42, "curve_number": 1, "point_number": 42, "point_index": 42}])
    assert not at.exception
    assert at.session_state["unit"] == 42
    assert at.title[0].value == "One hidden unit up close"


def test_presenter_mode_hides_the_technical_details(tiny_cache, monkeypatch):
    at = draw(open_page(tiny_cache, monkeypatch, query={"present": "1"}), as_canvas(a_seven()))
    assert not at.exception and charts(at)
    assert not at.expander, "no technical details in presenter mode"
    assert not at.main.caption, "no developer notes"
    at.toggle(key="present").set_value(False).run()
    assert [e.label for e in at.expander] == ["Technical details"]


def test_the_page_needs_only_the_fast_stage(fast_only_cache, monkeypatch):
    at = draw(open_page(fast_only_cache, monkeypatch), as_canvas(a_seven()))
    assert not at.exception and not at.error and len(charts(at)) == 2


def test_the_figures_built_without_plotlys_validation_are_valid():
    """The page builds its figures at every stroke without Plotly's validation (app.presentation.digit):
    validating them here, every kind, catches a property Plotly does not know."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from app.presentation import digit as look

    def check(fig) -> None:  # Plotly accepts it, and reads it as it stands (no magic_underscore left to expand)
        assert json.loads(pio.to_json(go.Figure(fig.to_dict()))) == json.loads(pio.to_json(fig))

    rng = np.random.default_rng(0)
    x, out = rng.random((28, 28)), rng.random((28, 28))
    for code in (rng.random(196) * (rng.random(196) > 0.5), np.zeros(196)):
        check(look.code_figure(x, code, out, height=260, margin=dict(l=0, r=0, t=40, b=0)))
    silent = look.code_figure(x, np.zeros(196), out)
    assert "silent" in silent.layout.annotations[0].text and not silent.layout.shapes
    for selected in (None, 1):
        check(look.tile_row([x, out, x], ["a", "b", "c"], ["1", "2", "3"], "t", selected=selected, axis_title="λ"))
    empty = look.tile_row([], [], [], "nothing")
    check(empty)
    assert empty.layout.annotations[0].text == "none"
