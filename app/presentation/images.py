"""Image grids: the encoder filters, the reconstructions, a unit's top digits, one filter.

Every grid is ONE grey heatmap of a mosaic, a composite array whose gaps
are NaN (drawn as background, without hover), never one trace per tile:
`_mosaic` lays out the tiles for all of them. Rows run from the top and
pixels are square, as in the images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from app.presentation.style import BLUE, GREYS, VERMILLION, finish, note

__all__ = ["digit_tiles", "filter_grid", "reconstruction_grid", "unit_filter"]

GAP = 2  # pixels of background between the tiles of an image grid


# ------------------------------------------------------------------ helpers


def _tile_origin(i: int, n_cols: int, side: int) -> tuple[int, int]:
    """Top-left pixel (row, col) of tile i in a row-major grid with GAP-pixel gaps."""
    r, c = divmod(i, n_cols)
    return r * (side + GAP), c * (side + GAP)


def _mosaic(
    tiles: Sequence, n_cols: int, side: int, n_rows: int | None = None, fill=np.nan, dtype=np.float64
) -> np.ndarray:
    """Tiles, each (side, side) or one value for the whole tile, row-major in one (height, width) array.

    n_rows: default as many as the tiles need (at least one); the gaps and empty places hold `fill`.
    """
    n_rows = n_rows or max(1, math.ceil(len(tiles) / n_cols))
    canvas = np.full((n_rows * (side + GAP) - GAP, n_cols * (side + GAP) - GAP), fill, dtype=dtype)
    for i, tile in enumerate(tiles):
        r, c = _tile_origin(i, n_cols, side)
        canvas[r : r + side, c : c + side] = tile
    return canvas


def _frame(i: int, n_cols: int, side: int, pad: float, color: str, width: float, name: str) -> dict:
    """A rectangle around tile i, `pad` pixels outside its edge (a layout shape)."""
    r, c = _tile_origin(i, n_cols, side)
    lo, hi = -0.5 - pad, side - 0.5 + pad
    return dict(type="rect", x0=c + lo, x1=c + hi, y0=r + lo, y1=r + hi, line=dict(color=color, width=width), name=name)


def _grey_heatmap(z: np.ndarray, customdata: np.ndarray | None, hovertemplate: str, zmin: float = 0) -> go.Heatmap:
    """Grey images without a colour bar; NaN gaps are background and have no hover."""
    return go.Heatmap(
        z=z,
        customdata=customdata,
        colorscale=GREYS,
        zmin=zmin,
        zmax=1,
        showscale=False,
        hoverongaps=False,
        hovertemplate=hovertemplate,
    )


def _image_figure(heatmap: go.Heatmap, title: str, visible_axes: bool = False, **layout) -> go.Figure:
    """A figure of one image heatmap: row 0 on top, square pixels, white background; layout: see `finish`."""
    fig = finish(go.Figure(heatmap), title, plot_bgcolor="white", **layout)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, showgrid=False, zeroline=False)
    fig.update_xaxes(showgrid=False, zeroline=False, constrain="domain")
    if not visible_axes:
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig


def _scale_to_max(a: np.ndarray) -> np.ndarray:
    """a / max|a| (float64); an all-zero array stays zero."""
    a = np.asarray(a, dtype=np.float64)
    m = np.abs(a).max() if a.size else 0.0
    return a / m if m > 0 else np.zeros_like(a)


def _as_square(v: np.ndarray) -> np.ndarray:
    """A flat vector of length s*s as an (s, s) image, row-major."""
    v = np.asarray(v).ravel()
    s = math.isqrt(v.size)
    if s * s != v.size:
        raise ValueError(f"cannot reshape {v.size} values to a square image")
    return v.reshape(s, s)


# ------------------------------------------------------------- 3. filters


def filter_grid(
    W1: np.ndarray,
    dead_units: np.ndarray | None = None,
    n_cols: int | None = None,
    selected: int | None = None,
    clickable: bool = False,
    *,
    colorbar: bool = True,
    title: str | None = None,
    height: int | None = None,
    margin: dict | None = None,
) -> go.Figure:
    """The encoder filters W1 (784, n_units) as one grid of 28x28 images; dead_units (n_units,) bool outlined.

    selected: a unit framed in blue. clickable: adds one invisible marker per tile (customdata = the
    unit) on top of the heatmap, because a heatmap's pixels cannot be selected by a click.
    colorbar: False leaves out the colour bar (a narrow column). title: instead of the one that counts the units.
    """
    W1 = np.asarray(W1)
    n_pixels, n_units = W1.shape
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise ValueError(f"W1 has {n_pixels} rows, not a square image")
    dead = np.zeros(n_units, dtype=bool) if dead_units is None else np.asarray(dead_units, dtype=bool)
    if dead.shape != (n_units,):
        raise ValueError(f"dead_units has shape {dead.shape}, expected ({n_units},)")
    n_cols = n_cols or max(1, math.ceil(math.sqrt(n_units)))  # 196 units -> 14 x 14
    z = _mosaic([_scale_to_max(W1[:, u].reshape(side, side)) for u in range(n_units)], n_cols, side)
    unit = _mosaic(range(n_units), n_cols, side, fill=-1, dtype=np.int32)  # customdata: whose pixel it is
    height_px, width_px = z.shape
    heatmap = go.Heatmap(
        z=z,
        customdata=unit,
        colorscale=GREYS,
        zmin=-1,
        zmax=1,
        hoverongaps=False,
        hovertemplate="unit %{customdata}<br>w / max|w| = %{z:.2f}<extra></extra>",
        showscale=colorbar,
        colorbar=dict(title=dict(text="w / max|w|<br>(each unit<br>scaled to its<br>own max)")),
    )
    dead_note = f", {int(dead.sum())} dead (outlined)" if dead_units is not None else ""
    title = title or f"Encoder filters W1: {n_units} units{dead_note}; black = negative, white = positive"
    # shapes in one layout update: fig.add_shape revalidates the figure each call (~5 ms per shape)
    shapes = [_frame(int(u), n_cols, side, 0, VERMILLION, 2, f"dead unit {u}") for u in np.flatnonzero(dead)]
    if selected is not None and 0 <= selected < n_units:
        shapes.append(_frame(int(selected), n_cols, side, 1, BLUE, 4, f"selected unit {selected}"))
    fig = _image_figure(heatmap, title, shapes=shapes, height=height, margin=margin)
    if clickable:
        origins = np.array([_tile_origin(u, n_cols, side) for u in range(n_units)], dtype=np.float64)
        centre = (side - 1) / 2
        invisible = dict(marker=dict(opacity=0))
        fig.add_trace(
            go.Scatter(
                x=origins[:, 1] + centre,
                y=origins[:, 0] + centre,
                customdata=np.arange(n_units),
                mode="markers",
                marker=dict(size=22, opacity=0, color="white"),
                selected=invisible,
                unselected=invisible,
                showlegend=False,
                name="units",
                hovertemplate="unit %{customdata}: click to explore it<extra></extra>",
            )
        )
    # fixed ranges: the click targets must not pad the axes, so a tile sits where the image says
    fig.update_xaxes(range=[-0.5, width_px - 0.5], autorange=False)
    fig.update_yaxes(range=[height_px - 0.5, -0.5], autorange=False)
    return fig


# ------------------------------------------------------ 4. reconstructions


def reconstruction_grid(
    x: np.ndarray,
    code: np.ndarray,
    code_normalised: np.ndarray,
    output: np.ndarray,
    index: np.ndarray,
    *,
    title: str = "Reconstructions: image, code h (14x14), h/||h||, and the decoder's output",
) -> go.Figure:
    """Originals x (n, 28, 28), codes (n, 196) and h/||h|| (n, 196) as 14x14, outputs (n, 28, 28); index (n,).

    Each code h is scaled to its own max (an all-zero code is black). The
    normalised codes share one scale (the row's max): scaled to their own max
    they would be pixel-identical to the h row, since h/||h|| only rescales h.
    """
    x, output = np.asarray(x), np.asarray(output)
    code, code_normalised = np.asarray(code), np.asarray(code_normalised)
    n, side = x.shape[0], x.shape[1]
    rows = [
        ("original", x, [np.asarray(im, dtype=np.float64) for im in x]),
        ("code h", code, [_scale_to_max(_as_square(h)) for h in code]),
        ("h / ||h||", code_normalised, list(_scale_to_max(np.stack([_as_square(h) for h in code_normalised])))),
        ("reconstruction", output, [np.asarray(im, dtype=np.float64) for im in output]),
    ]
    shown, values, indices = [], [], []  # per tile, row-major: the image, the value before scaling, the test index
    for _, raw, scaled in rows:
        for i in range(n):
            up = np.ones((side // scaled[i].shape[0],) * 2)  # 14x14 codes are upscaled x2 to 28x28
            shown.append(np.kron(scaled[i], up))
            values.append(np.kron(raw[i] if raw[i].ndim == 2 else _as_square(raw[i]), up))
            indices.append(index[i])
    n_cols = max(n, 1)
    z = _mosaic(shown, n_cols, side, n_rows=len(rows))
    custom = np.stack([_mosaic(t, n_cols, side, n_rows=len(rows)) for t in (indices, values)], axis=-1)
    fig = _image_figure(
        _grey_heatmap(z, custom, "test image %{customdata[0]}<br>value %{customdata[1]:.3g}<extra></extra>"),
        title,
        visible_axes=True,
    )
    centre = (side - 1) / 2
    fig.update_yaxes(
        tickmode="array",
        tickvals=[r * (side + GAP) + centre for r in range(len(rows))],
        ticktext=[name for name, _, _ in rows],
        showline=False,
        ticks="",
    )
    fig.update_xaxes(
        title_text="test image index",
        tickmode="array",
        tickvals=[i * (side + GAP) + centre for i in range(n)],
        ticktext=[str(int(i)) for i in index],
        ticks="",
    )
    return fig


# ------------------------------------------------------ the unit explorer


def unit_filter(w: np.ndarray, unit: int, *, height: int | None = None, margin: dict | None = None) -> go.Figure:
    """One encoder filter w (784,) as a 28x28 image scaled to its largest absolute weight."""
    img = _scale_to_max(_as_square(w))
    heatmap = _grey_heatmap(img, None, "pixel (%{y}, %{x})<br>w / max|w| = %{z:.2f}<extra></extra>", zmin=-1)
    return _image_figure(heatmap, f"Filter of unit {unit}", height=height, margin=margin)


def digit_tiles(
    images: np.ndarray,
    captions: Sequence[str],
    title: str,
    n_cols: int = 8,
    *,
    height: int | None = None,
    margin: dict | None = None,
) -> go.Figure:
    """Images (n, 28, 28) in [0, 1] as one grid, n_cols per row; captions (n,) on hover."""
    images = np.asarray(images, dtype=np.float64)
    n = len(images)
    side = images.shape[1] if n else 28
    z = _mosaic(images, n_cols, side)
    text = _mosaic(captions[:n], n_cols, side, fill="", dtype=object)
    fig = _image_figure(_grey_heatmap(z, text, "%{customdata}<extra></extra>"), title, height=height, margin=margin)
    if n == 0:
        note(fig, "none")
    return fig
