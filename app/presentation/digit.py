"""The "Your digit" page's figures: the digit, its code and its redrawing; a row of models; the nearest test digits.

Built the way `app.presentation.images` builds its grids (one PNG picture per figure, invisible markers
for hover and clicks), with its helpers; each tile's caption is a tick label under it, so a presenter's
audience reads it without hovering. Also the canvas's background when a test digit is smudged (`png`).
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from app.presentation.images import BACKGROUND, GAP, _frame, _mosaic, _picture, _png_bytes, _tile_markers
from app.presentation.style import BLUE, ORANGE, TEMPLATE, note, use_template

__all__ = ["code_figure", "png", "tile_row"]

SIDE = 28
PANEL_GAP = 6  # pixels (of the 28 x 28 images) between the three panels of `code_figure`
CLICK_PX = 9  # code_figure: how near (screen px) a code unit's centre the pointer must be to answer
NO_MARK = dict(marker=dict(opacity=0))
# a row of pictures in a taller figure sits under its title, not in the middle of the space
TOP = dict(showticklabels=False, showline=False, ticks="", fixedrange=True, constraintoward="top")
FRAME_PAD = 1.5  # pixels around a framed tile: the axes reach this far beyond the picture, so the frame shows


def png(x: np.ndarray, factor: int = 1) -> bytes:
    """A grey PNG of x (h, w) in [0, 1] (black 0, white 1), each pixel enlarged to factor x factor."""
    grey = np.rint(np.clip(np.asarray(x, np.float64), 0, 1) * 255).astype(np.uint8)
    if factor > 1:
        grey = np.repeat(np.repeat(grey, factor, axis=0), factor, axis=1)
    return _png_bytes(grey)


@functools.cache
def _light_template() -> dict:
    """The dashboard's template (`style.TEMPLATE`) without what a picture never uses (trace defaults, colour
    scales, 3-D scenes...): a tenth of its size, sent with every figure of every stroke."""
    if pio.templates.default != TEMPLATE:
        use_template()
    full = pio.templates[TEMPLATE].to_plotly_json()["layout"]
    keep = ("font", "title", "xaxis", "yaxis", "hoverlabel", "hovermode", "paper_bgcolor", "plot_bgcolor")
    keep += ("annotationdefaults", "shapedefaults")
    return {"layout": {k: full[k] for k in keep if k in full}}


def _figure(traces: list, shape: tuple[int, int], title: str, *, xaxis: dict, yaxis: dict, **layout) -> go.Figure:
    """A figure of one picture (traces[0]) of `shape` (rows, cols), as `images._image_figure` makes one.

    The page builds these at every stroke, so they are built the cheap way: the whole layout given to the
    constructor (a fraction of `update_layout`'s cost) and Plotly's validation skipped (a third of the time
    again; tests/test_page_digit.py validates every figure these builders make). Square pixels, row 0 on
    top; options given as None are left out."""
    rows, cols = shape
    axis = dict(showgrid=False, zeroline=False, autorange=False, fixedrange=True)
    fixed = dict(
        template=copy.deepcopy(_light_template()),  # each figure its own: shared ones must never change
        title=dict(text=title),
        plot_bgcolor=BACKGROUND,
        hovermode="closest",
        xaxis=axis | dict(range=[-0.5, cols - 0.5], constrain="domain") | xaxis,
        yaxis=axis | dict(range=[rows - 0.5, -0.5], scaleanchor="x", scaleratio=1) | yaxis,
    )
    layout = fixed | {k: v for k, v in layout.items() if v is not None}
    return go.Figure(dict(data=traces, layout=layout), _validate=False)


def _scaled(code: np.ndarray) -> np.ndarray:
    code = np.asarray(code, np.float64)
    m = code.max() if code.size else 0.0
    return code / m if m > 0 else np.zeros_like(code)


def code_figure(
    x: np.ndarray,
    code: np.ndarray,
    output: np.ndarray,
    *,
    title: str | None = "Active units outlined: click one",
    height: int | None = None,
    margin: dict | None = None,
) -> go.Figure:
    """Three panels: the digit x (28, 28) as the network sees it, its code (196,) as 14 x 14 (scaled to its
    own largest value, active units outlined in orange) and the reconstruction (28, 28).

    Each code unit answers hover and clicks (customdata = its unit, the figure's last trace); the other two
    panels do not. The code's cells are 2 x 2 pixels of the picture, so the three panels are the same size.
    """
    x, output = np.asarray(x, np.float64), np.asarray(output, np.float64)
    code = np.asarray(code, np.float64).ravel()
    k = code.size
    k_side = math.isqrt(k)
    if k_side * k_side != k:
        raise ValueError(f"a code of {k} units is not a square")
    up = SIDE // k_side
    width = 3 * SIDE + 2 * PANEL_GAP
    z = np.full((SIDE, width), np.nan)
    offsets = [0, SIDE + PANEL_GAP, 2 * (SIDE + PANEL_GAP)]
    z[:, offsets[0] : offsets[0] + SIDE] = x
    code_picture = np.kron(_scaled(code).reshape(k_side, k_side), np.ones((up, up)))  # each unit 2 x 2 pixels
    z[: k_side * up, offsets[1] : offsets[1] + k_side * up] = code_picture
    z[:, offsets[2] : offsets[2] + SIDE] = output
    active = np.flatnonzero(code > 0)
    r, c = np.divmod(np.arange(k), k_side)
    state = np.where(code > 0, np.char.mod("h = %.3g", code), "silent (h = 0)")
    markers = dict(
        type="scatter",
        x=offsets[1] + c * up + (up - 1) / 2,
        y=r * up + (up - 1) / 2,
        text=state.tolist(),
        customdata=np.arange(k),
        mode="markers",
        marker=dict(size=6, opacity=0, color="white"),
        selected=NO_MARK,
        unselected=NO_MARK,
        showlegend=False,
        name="units",
        hovertemplate="unit %{customdata}: %{text}<br>click to explore it<extra></extra>",
    )
    rects = "".join(  # one closed outline per active unit, in one path shape (Plotly validates each shape)
        f"M{x0:g},{y0:g}H{x0 + up:g}V{y0 + up:g}H{x0:g}Z"
        for x0, y0 in zip(offsets[1] + c[active] * up - 0.5, r[active] * up - 0.5)
    )
    shapes = [dict(type="path", path=rects, line=dict(color=ORANGE, width=1.5), name="active units")] if rects else []
    labels = ["your digit<br> ", f"its code<br>{active.size} of {k} active", "redrawn<br> "]
    fig = _figure(
        [_picture(z, 0, 1), markers],
        z.shape,
        title or "",
        xaxis=dict(
            tickmode="array",
            tickvals=[o + (SIDE - 1) / 2 for o in offsets],
            ticktext=labels,
            showline=False,
            ticks="",
            fixedrange=True,
        ),
        yaxis=TOP,
        shapes=shapes or None,
        hoverdistance=CLICK_PX,
        height=height,
        margin=margin,
    )
    if active.size == 0:
        fig.add_annotation(
            text="every unit<br>is silent",
            x=offsets[1] + (SIDE - 1) / 2,
            y=(SIDE - 1) / 2,
            showarrow=False,
            font=dict(color="white"),
        )
    return fig


def tile_row(
    images: np.ndarray | Sequence[np.ndarray],
    labels: Sequence[str],
    hover: Sequence[str],
    title: str,
    *,
    selected: int | None = None,
    axis_title: str | None = None,
    height: int | None = None,
    margin: dict | None = None,
) -> go.Figure:
    """Images (n, 28, 28) in [0, 1] in one row, each with its label (a tick label under it) and hover text.

    selected: a tile framed in blue (the model chosen in the sidebar).
    """
    images = [np.asarray(im, np.float64) for im in images]
    n = len(images)
    z = _mosaic(images, max(n, 1), SIDE)
    centre = (SIDE - 1) / 2
    shapes = []
    labels = list(labels[:n])
    if selected is not None and 0 <= selected < n:
        shapes.append(_frame(int(selected), max(n, 1), SIDE, 1, BLUE, 3, "the sidebar's model"))
        labels[selected] = f"<b>{labels[selected]}</b>".replace("<br>", "</b><br><b>")
    pad = FRAME_PAD + 0.5
    fig = _figure(
        [_picture(z, 0, 1), _tile_markers(n, max(n, 1), SIDE, [str(h) for h in hover], "tiles")],
        z.shape,
        title,
        xaxis=dict(
            tickmode="array",
            tickvals=[i * (SIDE + GAP) + centre for i in range(n)],
            ticktext=labels,
            showline=False,
            ticks="",
            fixedrange=True,
            **({"title": dict(text=axis_title)} if axis_title else {}),
            tickangle=0,  # a λ per tile, side by side; turned labels would need twice the height
            range=[-pad, z.shape[1] - 1 + pad],
        ),
        yaxis=TOP | dict(range=[z.shape[0] - 1 + pad, -pad]),
        shapes=shapes or None,
        hoverdistance=-1,  # the nearest tile's marker answers anywhere on the picture (see images._tile_markers)
        height=height,
        margin=margin,
    )
    if n == 0:
        note(fig, "none")
    return fig
