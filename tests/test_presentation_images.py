"""Tests for app.presentation.images: every image grid is one heatmap of the right tiles."""

from __future__ import annotations

import numpy as np
import pytest

from app.presentation import images

# ------------------------------------------------------------------ filters


def test_filter_grid_tiles_are_the_scaled_filters():
    rng = np.random.default_rng(1)
    W1 = rng.normal(size=(784, 196)).astype(np.float32)
    W1[:, 7] = 0  # an all-zero filter must not divide by zero
    dead = np.zeros(196, bool)
    dead[[3, 50, 195]] = True
    fig = images.filter_grid(W1, dead)
    (hm,) = fig.data
    z, unit = np.asarray(hm.z), np.asarray(hm.customdata)
    assert z.shape == (14 * 30 - 2, 14 * 30 - 2)
    for u in (0, 13, 14, 7, 195):
        r, c = divmod(u, 14)
        tile = z[r * 30 : r * 30 + 28, c * 30 : c * 30 + 28]
        w = W1[:, u].reshape(28, 28).astype(np.float64)
        want = w / np.abs(w).max() if np.abs(w).any() else np.zeros_like(w)
        np.testing.assert_allclose(tile, want, rtol=1e-6)
        assert unit[r * 30 + 5, c * 30 + 20] == u
    assert np.isnan(z[28:30, :]).all() and np.isnan(z[:, 28:30]).all()  # the gaps are background
    assert (unit[28:30, :] == -1).all()
    assert np.nanmax(np.abs(z)) <= 1
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 3
    r, c = divmod(50, 14)
    assert any(s.x0 == c * 30 - 0.5 and s.y0 == r * 30 - 0.5 for s in rects)
    assert "3 dead" in fig.layout.title.text
    # rows from the top (a reversed y range), square pixels, the axes exactly the image
    assert tuple(fig.layout.yaxis.range) == (z.shape[0] - 0.5, -0.5) and fig.layout.yaxis.scaleanchor == "x"
    assert tuple(fig.layout.xaxis.range) == (-0.5, z.shape[1] - 0.5)
    assert "unit" in hm.hovertemplate and "max|w|" in hm.hovertemplate


def test_filter_grid_all_zero_and_no_dead():
    fig = images.filter_grid(np.zeros((784, 196), np.float32))
    assert np.nanmax(np.abs(fig.data[0].z)) == 0
    assert not fig.layout.shapes
    with pytest.raises(ValueError, match="dead_units"):
        images.filter_grid(np.zeros((784, 4)), np.zeros(3, bool))


# ---------------------------------------------------------- reconstructions


def test_reconstruction_grid_rows():
    rng = np.random.default_rng(2)
    n = 20
    x = rng.random((n, 28, 28)).astype(np.float32)
    code = rng.random((n, 196)).astype(np.float32) * (rng.random((n, 196)) > 0.7)
    code[4] = 0  # an all-zero code: black, not NaN
    norms = np.linalg.norm(code, axis=1, keepdims=True)
    code_n = np.divide(code, norms, out=np.zeros_like(code), where=norms > 0)
    out = rng.random((n, 28, 28)).astype(np.float32)
    index = np.arange(100, 100 + n, dtype=np.int32)
    fig = images.reconstruction_grid(x, code, code_n, out, index)
    (hm,) = fig.data
    z, custom = np.asarray(hm.z), np.asarray(hm.customdata)
    assert z.shape == (4 * 30 - 2, n * 30 - 2)

    def tile(row, i):
        return z[row * 30 : row * 30 + 28, i * 30 : i * 30 + 28]

    for i in (0, 4, n - 1):
        np.testing.assert_allclose(tile(0, i), x[i], rtol=1e-6)
        np.testing.assert_allclose(tile(3, i), out[i], rtol=1e-6)
        h = code[i].reshape(14, 14).astype(np.float64)
        want = np.kron(h / h.max() if h.max() > 0 else h, np.ones((2, 2)))
        np.testing.assert_allclose(tile(1, i), want, rtol=1e-6)
        assert custom[40, i * 30 + 3, 0] == index[i]
    assert (tile(1, 4) == 0).all() and (tile(2, 4) == 0).all()
    assert not np.isnan(tile(2, 0)).any() and np.nanmax(z) <= 1
    assert list(fig.layout.yaxis.ticktext) == ["original", "code h", "h / ||h||", "reconstruction"]
    assert list(fig.layout.xaxis.ticktext) == [str(i) for i in index]


# ---------------------------------------------------------------- sizes


def test_full_size_filter_grid_serialises_and_stays_light():
    """At the real size (196 units) the figure's JSON stays small enough to send."""
    rng = np.random.default_rng(9)
    grid = images.filter_grid(rng.normal(size=(784, 196)).astype(np.float32), rng.random(196) < 0.1)
    assert len(grid.data) == 1 and len(grid.to_json()) < 5_000_000


# ------------------------------------------------------- the unit explorer


def test_clickable_filter_grid_has_one_target_per_unit_on_its_tile():
    W1 = np.random.default_rng(0).normal(size=(784, 12))
    fig = images.filter_grid(W1, np.zeros(12, bool), selected=5, clickable=True)
    heat, targets = fig.data[0], fig.data[1]
    assert list(targets.customdata) == list(range(12))
    for x, y, u in zip(targets.x, targets.y, targets.customdata):
        assert heat.customdata[int(y)][int(x)] == u  # each marker sits on its own unit's tile
    assert [s.name for s in fig.layout.shapes] == ["selected unit 5"]
    assert len(images.filter_grid(W1).data) == 1  # not clickable: the heatmap only


def test_digit_tiles():
    imgs = np.random.default_rng(1).random((5, 28, 28))
    tiles = images.digit_tiles(imgs, [f"image {i}" for i in range(5)], "top", n_cols=4)
    z = np.asarray(tiles.data[0].z, dtype=float)
    assert z.shape == (2 * 30 - 2, 4 * 30 - 2)
    np.testing.assert_array_equal(z[30:58, 0:28], imgs[4])
    assert tiles.data[0].customdata[30][0] == "image 4"


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
    assert plain.data[0].showscale is not False and plain.layout.height is None
    grid = images.filter_grid(W1, colorbar=False, title="Click a filter", height=440, margin=dict(l=0, r=0))
    assert grid.data[0].showscale is False
    assert grid.layout.title.text == "Click a filter" and grid.layout.height == 440
    assert grid.layout.margin.l == 0 and grid.layout.margin.r == 0 and grid.layout.margin.t is None
    one = images.unit_filter(W1[:, 3], 3, height=300, margin=dict(l=0, r=0, t=40, b=0))
    assert one.layout.height == 300 and one.layout.margin.t == 40 and "unit 3" in one.layout.title.text
    tiles = images.digit_tiles(np.zeros((2, 28, 28)), ["a", "b"], "top", height=300)
    assert tiles.layout.height == 300
    x = np.zeros((2, 28, 28))
    recon = images.reconstruction_grid(x, np.zeros((2, 196)), np.zeros((2, 196)), x, np.arange(2), title="B: model")
    assert recon.layout.title.text == "B: model"
