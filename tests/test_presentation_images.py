"""Tests for app.presentation.images: every image grid is one PNG picture of the right tiles, with hover per tile."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from app.presentation import images

STEP = 28 + images.GAP  # from one tile's origin to the next


def picture(fig) -> np.ndarray:
    """The figure's picture, fig.data[0] (a PNG data URI), decoded by Pillow as an 8-bit grey array."""
    image = fig.data[0]
    assert image.type == "image" and image.source.startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(image.source.split(",", 1)[1])))
    assert decoded.mode == "L"
    return np.asarray(decoded)


def greys(values, lo: float) -> np.ndarray:
    """The 8-bit greys, before rounding, that show values in [lo, 1] from black to white."""
    return (np.asarray(values, dtype=np.float64) - lo) * (255 / (1 - lo))


def tile(pic: np.ndarray, row: int, col: int) -> np.ndarray:
    return pic[row * STEP : row * STEP + 28, col * STEP : col * STEP + 28]


def markers(fig):
    """The hover and click layer: the figure's last trace, invisible markers."""
    layer = fig.data[-1]
    assert layer.type == "scatter" and layer.mode == "markers" and layer.marker.opacity == 0
    return layer


def tile_under(x: float, y: float) -> tuple[int, int]:
    """(row, col) of the tile whose pixels include the point (x, y), or raise if it falls in a gap."""
    col, cx = divmod(round(x), STEP)
    row, cy = divmod(round(y), STEP)
    assert cx < 28 and cy < 28, f"({x}, {y}) is in a gap"
    return row, col


def outlines(fig, name: str) -> list[tuple[float, float, float, float]]:
    """The rectangles (x0, y0, x1, y1) of the path shape called name."""
    (shape,) = [s for s in fig.layout.shapes if s.name == name]
    assert shape.type == "path"
    number = r"(-?[\d.]+)"
    rects = re.findall(rf"M{number},{number}H{number}V{number}H{number}Z", shape.path)
    assert "".join(re.findall(r"M[^Z]*Z", shape.path)) == shape.path  # nothing but closed rectangles
    return [(float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, back in rects if back == x0]


# ------------------------------------------------------------------ filters


def test_filter_grid_tiles_are_the_scaled_filters():
    rng = np.random.default_rng(1)
    W1 = rng.normal(size=(784, 196)).astype(np.float32)
    W1[:, 7] = 0  # an all-zero filter must not divide by zero
    dead = np.zeros(196, bool)
    dead[[3, 50, 195]] = True
    fig = images.filter_grid(W1, dead)
    pic = picture(fig)
    assert pic.shape == (14 * 30 - 2, 14 * 30 - 2)
    for u in (0, 13, 14, 7, 195):
        r, c = divmod(u, 14)
        w = W1[:, u].reshape(28, 28).astype(np.float64)
        want = w / np.abs(w).max() if np.abs(w).any() else np.zeros_like(w)
        np.testing.assert_allclose(tile(pic, r, c), greys(want, -1), atol=0.5 + 1e-9)  # 8-bit rounding
    assert (tile(pic, 0, 7) == 128).all()  # zero weight: mid grey
    w0 = W1[:, 0].reshape(28, 28)
    assert tile(pic, 0, 0)[np.unravel_index(np.abs(w0).argmax(), w0.shape)] in (0, 255)  # its strongest: black/white
    assert (pic[28:30, :] == 255).all() and (pic[:, 28:30] == 255).all()  # the gaps are background (white)
    assert (pic[:, 418 - 30 : 418 - 28] == 255).all()
    rects = outlines(fig, "dead units")
    assert len(rects) == 3
    r, c = divmod(50, 14)
    assert (c * 30 - 0.5, r * 30 - 0.5, c * 30 + 27.5, r * 30 + 27.5) in rects
    assert fig.layout.shapes[0].line.color == images.VERMILLION
    title = fig.layout.title.text
    assert "3 dead units" in title and "orange" in title and "W1" not in title and "max|w|" not in title
    # rows from the top (a reversed y range), square pixels, the axes exactly the picture
    assert tuple(fig.layout.yaxis.range) == (pic.shape[0] - 0.5, -0.5) and fig.layout.yaxis.scaleanchor == "x"
    assert tuple(fig.layout.xaxis.range) == (-0.5, pic.shape[1] - 0.5)
    assert fig.data[0].hoverinfo == "skip" and fig.data[0].zsmooth is False  # no per-pixel hover; pixelated
    layer = markers(fig)
    assert list(layer.customdata) == list(range(196))
    assert "unit %{customdata}" in layer.hovertemplate and "click" not in layer.hovertemplate
    assert layer.text[50] == " · dead: never active" and layer.text[51] == ""


def test_filter_grid_all_zero_and_no_dead():
    fig = images.filter_grid(np.zeros((784, 196), np.float32))
    pic = picture(fig)
    assert (tile(pic, 0, 0) == 128).all() and (tile(pic, 13, 13) == 128).all()
    assert not fig.layout.shapes and "dead" not in fig.layout.title.text
    assert "no dead units" in images.filter_grid(np.zeros((784, 4)), np.zeros(4, bool)).layout.title.text
    assert "1 dead unit," in images.filter_grid(np.zeros((784, 4)), np.eye(4, dtype=bool)[2]).layout.title.text
    with pytest.raises(ValueError, match="dead_units"):
        images.filter_grid(np.zeros((784, 4)), np.zeros(3, bool))


def test_filter_grid_has_a_key_to_its_greys_instead_of_a_colour_bar():
    W1 = np.random.default_rng(3).normal(size=(784, 9))
    fig = images.filter_grid(W1)
    assert [t.type for t in fig.data] == ["image", "scatter", "scatter"]
    key = fig.data[1]
    assert key.marker.showscale and (key.marker.cmin, key.marker.cmax) == (-1, 1)
    assert key.marker.colorscale[0][1] == "black" and key.marker.colorscale[-1][1] == "white"
    assert list(key.marker.colorbar.ticktext) == ["negative", "0", "positive"]
    assert key.hoverinfo == "skip" and all(v is None for v in key.x)  # nothing to hover or click
    assert [t.type for t in images.filter_grid(W1, colorbar=False).data] == ["image", "scatter"]


# ---------------------------------------------------------- reconstructions


def test_reconstruction_grid_rows():
    rng = np.random.default_rng(2)
    n = 20
    x = rng.random((n, 28, 28)).astype(np.float32)
    code = rng.random((n, 196)).astype(np.float32) * (rng.random((n, 196)) > 0.7)
    code[4] = 0  # an all-zero code: black, not background
    norms = np.linalg.norm(code, axis=1, keepdims=True)
    code_n = np.divide(code, norms, out=np.zeros_like(code), where=norms > 0)
    out = rng.random((n, 28, 28)).astype(np.float32)
    index = np.arange(100, 100 + n, dtype=np.int32)
    fig = images.reconstruction_grid(x, code, code_n, out, index)
    pic = picture(fig)
    assert pic.shape == (4 * 30 - 2, n * 30 - 2)
    exact = dict(atol=0.5 + 1e-6)
    shared = code_n.max()
    for i in (0, 4, n - 1):
        np.testing.assert_allclose(tile(pic, 0, i), greys(x[i], 0), **exact)
        np.testing.assert_allclose(tile(pic, 3, i), greys(out[i], 0), **exact)
        h = code[i].reshape(14, 14).astype(np.float64)
        want = np.kron(h / h.max() if h.max() > 0 else h, np.ones((2, 2)))  # each code to its own max, x2
        np.testing.assert_allclose(tile(pic, 1, i), greys(want, 0), **exact)
        hn = code_n[i].reshape(14, 14).astype(np.float64)
        np.testing.assert_allclose(tile(pic, 2, i), greys(np.kron(hn / shared, np.ones((2, 2))), 0), **exact)
    assert (tile(pic, 1, 4) == 0).all() and (tile(pic, 2, 4) == 0).all()  # all-zero code: black
    assert (pic[28:30, :] == 255).all() and (pic[:, 28:30] == 255).all()
    names = list(fig.layout.yaxis.ticktext)
    assert [name.replace("<br>", " ") for name in names] == [
        "original digit",
        "its code (196 units as 14 × 14)",
        "code scaled to length 1",
        "redrawn by the network",
    ]
    assert list(fig.layout.xaxis.ticktext) == [str(i) for i in index]
    assert "h/||h||" not in fig.layout.title.text and "||" not in "".join(names)
    # hover per tile: 4 rows of n markers, row-major, each on its own tile, saying what the tile is
    layer = markers(fig)
    assert len(layer.x) == 4 * n
    for k, (mx, my, text) in enumerate(zip(layer.x, layer.y, layer.text)):
        row, i = divmod(k, n)
        assert tile_under(mx, my) == (row, i) and f"test image {index[i]}" in text
    assert layer.text[0].startswith("original digit")
    assert f"{int((code[7] > 0).sum())} of 196 units active" in layer.text[n + 7]
    assert "0 of 196 units active" in layer.text[n + 4]
    mse = float(((x[3].astype(np.float64) - out[3]) ** 2).mean())
    assert f"mean squared error {mse:.3g}" in layer.text[3 * n + 3]


# ---------------------------------------------------------------- sizes


def test_figures_at_the_real_sizes_stay_under_300_kb_of_json():
    """196 units of 784 weights, 20 reconstructions, 16 digits: each figure well under 300 KB to send.

    Random weights are the worst case for the PNG (noise does not compress); trained filters are lighter.
    """
    rng = np.random.default_rng(9)
    W1 = rng.normal(size=(784, 196)).astype(np.float32)
    sizes = {
        "filters": len(images.filter_grid(W1, rng.random(196) < 0.1, clickable=True).to_json()),
        "filters, all dead": len(images.filter_grid(W1, np.ones(196, bool), selected=3, clickable=True).to_json()),
        "one filter": len(images.unit_filter(W1[:, 0], 0).to_json()),
    }
    x = rng.random((20, 28, 28)) * (rng.random((20, 28, 28)) > 0.8)  # digit-like: mostly black
    code = rng.random((20, 196)) * (rng.random((20, 196)) > 0.8)
    sizes["reconstructions"] = len(images.reconstruction_grid(x, code, code, x, np.arange(20)).to_json())
    sizes["digits"] = len(images.digit_tiles(x[:16], [f"test image {i}" for i in range(16)], "top").to_json())
    assert max(sizes.values()) < 300_000, sizes
    assert sizes["reconstructions"] < 100_000 and sizes["digits"] < 50_000, sizes


# ------------------------------------------------------- the unit explorer


def test_clickable_filter_grid_has_one_target_per_unit_on_its_tile():
    W1 = np.random.default_rng(0).normal(size=(784, 12))
    fig = images.filter_grid(W1, np.zeros(12, bool), selected=5, clickable=True)
    layer = markers(fig)
    assert fig.data[0].type == "image"
    assert list(layer.customdata) == list(range(12))  # the pages read the unit from a clicked point's customdata
    for x, y, u in zip(layer.x, layer.y, layer.customdata):
        assert tile_under(x, y) == divmod(int(u), 4)  # each marker sits on its own unit's tile (4 columns)
        r, c = divmod(int(u), 4)
        assert (x, y) == (c * 30 + 13.5, r * 30 + 13.5)  # at its centre
    assert "click to explore it" in layer.hovertemplate
    assert [s.name for s in fig.layout.shapes] == ["selected unit 5"]
    (frame,) = fig.layout.shapes
    assert frame.type == "rect" and frame.line.color == images.BLUE and (frame.x0, frame.y0) == (30 - 1.5, 30 - 1.5)
    plain = images.filter_grid(W1, colorbar=False)
    assert len(plain.data) == 2 and "click" not in markers(plain).hovertemplate  # hover per tile all the same


def test_the_nearest_marker_is_the_tile_under_the_pointer():
    """Hover and clicks go to the nearest marker (hoverdistance -1): on the tiles, that is the tile's own unit."""
    fig = images.filter_grid(np.random.default_rng(4).normal(size=(784, 196)), clickable=True)
    assert fig.layout.hovermode == "closest" and fig.layout.hoverdistance == -1
    layer = markers(fig)
    # plotly.js counts every point inside a marker as equally near: wider than a tile on screen, they would tie
    assert layer.marker.size <= 6
    centres = np.column_stack([layer.x, layer.y])
    points = np.random.default_rng(5).uniform(-0.5, 417.5, size=(2000, 2))
    nearest = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    col, cx = np.divmod(np.rint(points[:, 0]).astype(int), 30)
    row, cy = np.divmod(np.rint(points[:, 1]).astype(int), 30)
    on_a_tile = (cx < 28) & (cy < 28)
    assert on_a_tile.sum() > 1500
    np.testing.assert_array_equal(np.asarray(layer.customdata)[nearest[on_a_tile]], (row * 14 + col)[on_a_tile])


def test_unit_filter_is_the_scaled_filter_with_weights_on_hover():
    w = np.random.default_rng(6).normal(size=784)
    fig = images.unit_filter(w, 17)
    pic = picture(fig)
    scaled = w.reshape(28, 28) / np.abs(w).max()
    np.testing.assert_allclose(pic, greys(scaled, -1), atol=0.5 + 1e-9)
    assert len(fig.data) == 1 and fig.data[0].text[3][20] == f"{scaled[3, 20]:+.2f}"  # row 3, column 20
    assert "%{text}" in fig.data[0].hovertemplate and fig.data[0].hoverinfo != "skip"
    assert "unit 17" in fig.layout.title.text and tuple(fig.layout.yaxis.range) == (27.5, -0.5)


def test_digit_tiles():
    imgs = np.random.default_rng(1).random((5, 28, 28))
    captions = [f"image {i}" for i in range(5)]
    tiles = images.digit_tiles(imgs, captions, "top", n_cols=4)
    pic = picture(tiles)
    assert pic.shape == (2 * 30 - 2, 4 * 30 - 2)
    np.testing.assert_allclose(pic[30:58, 0:28], greys(imgs[4], 0), atol=0.5 + 1e-9)
    assert (pic[30:, 30:] == 255).all()  # the three empty places are background
    layer = markers(tiles)
    assert list(layer.text) == captions and layer.hovertemplate == "%{text}<extra></extra>"
    assert [tile_under(x, y) for x, y in zip(layer.x, layer.y)] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]
    empty = images.digit_tiles(np.zeros((0, 28, 28)), [], "top")
    assert [a.text for a in empty.layout.annotations] == ["none"] and len(markers(empty).x) == 0


def test_png_is_exact_8_bit_greys_with_nan_as_background():
    z = np.array([[-1.0, 0.0, 1.0, np.nan], [2.0, -3.0, 0.5, 0.25], [np.nan, np.nan, -0.5, 1 / 255]])
    pic = picture(images.digit_tiles(np.zeros((1, 28, 28)), ["a"], "t", n_cols=1))  # one black tile, no gap
    assert pic.shape == (28, 28) and (pic == 0).all()
    uri = images._png(z, -1, 1)
    got = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    want = np.array([[0, 128, 255, 255], [255, 0, 191, 159], [255, 255, 64, 128]])  # clipped; NaN white
    np.testing.assert_array_equal(got, want)
    grey = np.random.default_rng(7).integers(0, 256, size=(13, 37), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(images._png_bytes(grey)))), grey)


def test_mosaic_places_tiles_row_major_with_background_gaps():
    tiles = [np.full((3, 3), v, dtype=float) for v in range(5)]
    z = images._mosaic(tiles, n_cols=2, side=3)
    assert z.shape == (3 * 5 - 2, 2 * 5 - 2)  # 3 rows of 2 tiles, gaps of GAP = 2 pixels
    for i in range(5):
        r, c = divmod(i, 2)
        assert (z[r * 5 : r * 5 + 3, c * 5 : c * 5 + 3] == i).all()
    assert np.isnan(z[3:5, :]).all() and np.isnan(z[10:, 5:]).all()  # gaps and the empty sixth place
    ids = images._mosaic(range(5), n_cols=2, side=3, fill=-1, dtype=np.int32)  # one value per tile
    assert ids[0, 0] == 0 and ids[10, 5] == -1 and ids[6, 6] == 3


# ------------------------------------------------- options the pages pass


def test_builders_take_the_pages_options_instead_of_pages_editing_figures():
    W1 = np.random.default_rng(2).normal(size=(784, 9))
    plain = images.filter_grid(W1)
    assert any(t.marker.showscale for t in plain.data if t.type == "scatter") and plain.layout.height is None
    grid = images.filter_grid(W1, colorbar=False, title="Click a filter", height=440, margin=dict(l=0, r=0))
    assert not any(t.marker.showscale for t in grid.data if t.type == "scatter")
    assert grid.layout.title.text == "Click a filter" and grid.layout.height == 440
    assert grid.layout.margin.l == 0 and grid.layout.margin.r == 0 and grid.layout.margin.t is None
    one = images.unit_filter(W1[:, 3], 3, height=300, margin=dict(l=0, r=0, t=40, b=0))
    assert one.layout.height == 300 and one.layout.margin.t == 40 and "unit 3" in one.layout.title.text
    tiles = images.digit_tiles(np.zeros((2, 28, 28)), ["a", "b"], "top", height=300)
    assert tiles.layout.height == 300
    x = np.zeros((2, 28, 28))
    recon = images.reconstruction_grid(x, np.zeros((2, 196)), np.zeros((2, 196)), x, np.arange(2), title="B: model")
    assert recon.layout.title.text == "B: model"


def test_digit_sprite_holds_every_digit_in_its_place():
    rng = np.random.default_rng(3)
    x = rng.random((23, 28, 28)).astype(np.float32)  # 23 digits, 5 a row: the last row has 2 and 3 black places
    decoded = Image.open(io.BytesIO(images.digit_sprite(x, cols=5)))
    assert decoded.mode == "L" and decoded.size == (5 * 28, 5 * 28)
    grid = np.asarray(decoded)
    for i in (0, 4, 5, 13, 22):
        r, c = divmod(i, 5)
        np.testing.assert_array_equal(grid[r * 28 : (r + 1) * 28, c * 28 : (c + 1) * 28], np.rint(x[i] * 255))
    assert not grid[4 * 28 :, 3 * 28 :].any()  # after the last digit: black


def test_digit_sprite_of_mnist_fits_streamlits_widest_image():
    # Streamlit scales down a picture wider than 1,460 px: the browser would cut the wrong pixels
    from app.chrome import SPRITE_COLS

    png = images.digit_sprite(np.zeros((10_000, 28, 28)), cols=SPRITE_COLS)
    assert Image.open(io.BytesIO(png)).size == (SPRITE_COLS * 28, 200 * 28)
    assert SPRITE_COLS * 28 <= 1460
