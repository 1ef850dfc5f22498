"""Image grids: the encoder filters, the reconstructions, a unit's top digits, one filter.

Every grid is ONE picture, a PNG of a mosaic sent as an image (`go.Image`,
tens to a couple of hundred kilobytes), never a heatmap of every pixel
(megabytes of JSON) nor one trace per tile. `_mosaic` lays out the tiles
with NaN gaps, `_png` turns it into 8-bit greys with the gaps in the
background's colour. Hover and clicks are per tile: one invisible marker
at each tile's centre (`_tile_markers`), the last trace of the figure;
the picture is the first. Rows run from the top and pixels are square, as
in the images; plotly.js draws a `source` image pixelated (nearest
neighbour, `zsmooth=False`, its default), so a 28x28 tile stays sharp
when it is enlarged.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from app.presentation.style import BLUE, GREYS, VERMILLION, figure, note

__all__ = ["digit_sprite", "digit_tiles", "filter_grid", "reconstruction_grid", "unit_filter"]

GAP = 2  # pixels of background between the tiles of an image grid
BACKGROUND = "white"  # the gaps and the plot around the picture, as the page
BACKGROUND_GREY = 255  # the same colour as an 8-bit grey in the picture
PNG_PREFIX = "data:image/png;base64,"
MARKER_PX = 6  # diameter of the invisible hover markers: radius 3 px, plotly.js' smallest, see _tile_markers
NO_MARK = dict(marker=dict(opacity=0))  # click targets stay invisible when selected or not


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


def _png(z: np.ndarray, lo: float, hi: float) -> str:
    """A grey picture of z as a PNG data URI: lo black, hi white (values clipped), NaN the background.

    8-bit greys, exact to rounding: grey = round((z - lo) / (hi - lo) * 255).
    """
    finite = np.isfinite(z)
    grey = np.full(z.shape, BACKGROUND_GREY, dtype=np.uint8)
    grey[finite] = np.rint((np.clip(z[finite], lo, hi) - lo) * (255 / (hi - lo)))
    return PNG_PREFIX + base64.b64encode(_png_bytes(grey)).decode("ascii")


def _png_bytes(grey: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of grey (h, w) uint8, written by hand.

    Every row unfiltered, deflated at zlib's default level: on these noisy filters that is as small as
    Pillow's adaptive filtering, and about twice as fast (~6 ms for the 418 x 418 filter grid).
    """
    h, w = grey.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = np.hstack([np.zeros((h, 1), np.uint8), grey]).tobytes()  # each row: filter type 0, then its pixels
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8 bits, greyscale, deflate, no filter, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def digit_sprite(images: np.ndarray, cols: int) -> bytes:
    """One PNG of every image (n, side, side) in [0, 1], image i at row i // cols, column i % cols, no gaps.

    Ink white on black, as the reconstructions draw digits (grey = round(255 x)); the places after the last
    image are black. The browser cuts the digit under the pointer out of it (digit_hover.js): MNIST's
    10,000 test digits are one file of about 1.7 MB, built in about 0.3 s.
    """
    x = np.asarray(images, dtype=np.float64)
    n, side = len(x), x.shape[1]
    rows = max(1, math.ceil(n / cols))
    grey = np.zeros((rows * cols, side, side), dtype=np.uint8)
    grey[:n] = np.rint(np.clip(x, 0.0, 1.0) * 255)
    return _png_bytes(grey.reshape(rows, cols, side, side).transpose(0, 2, 1, 3).reshape(rows * side, cols * side))


def _picture(z: np.ndarray, lo: float, hi: float, **kwargs) -> dict:
    """The mosaic z as one image trace, pixel (row i, col j) centred at (x=j, y=i); no hover unless kwargs give one.

    Traces are plain dicts: the figure is built from them as they are (`style.figure`).
    """
    # zsmooth=False (plotly's default, spelled out): plotly.js renders the PNG with image-rendering: pixelated
    image = dict(type="image", source=_png(z, lo, hi), x0=0, y0=0, dx=1, dy=1, zsmooth=False, hoverinfo="skip")
    return image | kwargs


def _tile_markers(
    n: int, n_cols: int, side: int, text: Sequence[str], name: str, customdata=None, hovertemplate: str | None = None
) -> dict:
    """One invisible marker at the centre of each of the first n tiles: hover (and clicks) per tile.

    With layout hoverdistance=-1 (see `_image_figure`) the nearest centre answers anywhere on the
    picture, and on a grid of equal tiles the nearest centre is the tile under the pointer. The markers
    stay small on purpose: plotly.js counts every point inside a marker as equally near, so markers
    wider than a tile on screen (18 px on the unit explorer) would tie and answer for their neighbours.
    """
    r, c = np.divmod(np.arange(n), n_cols)
    centre = (side - 1) / 2
    return dict(
        type="scatter",
        x=c * (side + GAP) + centre,
        y=r * (side + GAP) + centre,
        text=list(text),
        customdata=customdata,
        mode="markers",
        marker=dict(size=MARKER_PX, opacity=0, color=BACKGROUND),
        selected=NO_MARK,
        unselected=NO_MARK,
        showlegend=False,
        name=name,
        hovertemplate=hovertemplate or "%{text}<extra></extra>",
    )


def _frame(i: int, n_cols: int, side: int, pad: float, color: str, width: float, name: str) -> dict:
    """A rectangle around tile i, `pad` pixels outside its edge (a layout shape)."""
    r, c = _tile_origin(i, n_cols, side)
    lo, hi = -0.5 - pad, side - 0.5 + pad
    return dict(type="rect", x0=c + lo, x1=c + hi, y0=r + lo, y1=r + hi, line=dict(color=color, width=width), name=name)


def _outlines(tiles: Sequence[int], n_cols: int, side: int, color: str, width: float, name: str) -> dict:
    """Rectangles on the edges of the given tiles as one path shape (a layout shape): one closed M-H-V-H-Z per tile."""
    lo, hi = -0.5, side - 0.5
    rects = []
    for i in tiles:
        r, c = _tile_origin(int(i), n_cols, side)
        rects.append(f"M{c + lo:g},{r + lo:g}H{c + hi:g}V{r + hi:g}H{c + lo:g}Z")
    return dict(type="path", path="".join(rects), line=dict(color=color, width=width), name=name)


def _image_figure(
    traces: list,
    shape: tuple[int, int],
    title: str,
    visible_axes: bool = False,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    shapes: list | None = None,
    **layout,
) -> go.Figure:
    """A figure of one picture (traces[0]) of `shape` (rows, cols) and its hover layer; layout: see `finish`.

    Fixed axis ranges, exactly the picture: row 0 on top, square pixels, so the markers sit on their tiles.
    """
    height_px, width_px = shape
    axis = dict(showgrid=False, zeroline=False, autorange=False, visible=visible_axes)
    fixed = dict(  # built as plain dicts (style.figure): Plotly's checks took 5-10 ms a figure
        plot_bgcolor=BACKGROUND,
        hovermode="closest",
        hoverdistance=-1,  # hover and clicks answer anywhere on the picture, from the nearest tile's marker
        xaxis=axis | dict(range=[-0.5, width_px - 0.5], constrain="domain") | (xaxis or {}),
        yaxis=axis | dict(range=[height_px - 0.5, -0.5], scaleanchor="x", scaleratio=1) | (yaxis or {}),
        shapes=shapes or (),
    )
    return figure(traces, fixed, title, **layout)


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


def _weight_key() -> dict:
    """A colour bar without data (a picture has none): black = negative, grey = 0, white = positive."""
    return dict(
        type="scatter",
        x=[None],
        y=[None],
        mode="markers",
        marker=dict(
            color=[0],
            colorscale=GREYS,
            cmin=-1,
            cmax=1,
            showscale=True,
            colorbar=dict(
                title=dict(text="weight"),
                tickvals=[-1, 0, 1],
                ticktext=["negative", "0", "positive"],
                thickness=14,
                len=0.5,
                outlinecolor="grey",
                outlinewidth=1,
            ),
        ),
        hoverinfo="skip",
        showlegend=False,
        name="weight key",
    )


def _scaled_filters(W1: np.ndarray, side: int) -> np.ndarray:
    """W1 (side*side, n) as n (side, side) filters, each divided by its own max |w| (all-zero stays zero)."""
    W = np.asarray(W1, dtype=np.float64).T
    m = np.abs(W).max(axis=1, keepdims=True)
    return np.divide(W, m, out=np.zeros_like(W), where=m > 0).reshape(-1, side, side)


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

    Each filter is scaled to its own max |w|, so -1 is black, 0 grey and +1 white. fig.data[0] is the picture,
    fig.data[-1] one invisible marker per tile (customdata = its unit) that answers hover and clicks.
    selected: a unit framed in blue. clickable: the hover says a click explores the unit.
    colorbar: False leaves out the key to the greys (a narrow column). title: instead of the one that counts
    the units.
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
    z = _mosaic(_scaled_filters(W1, side), n_cols, side)
    hover = "unit %{customdata}%{text}" + ("<br>click to explore it" if clickable else "") + "<extra></extra>"
    dead_text = np.where(dead, " · dead: never active", "").tolist()  # per tile; empty for most, to stay light
    traces = [_picture(z, -1, 1)]
    if colorbar:
        traces.append(_weight_key())
    traces.append(_tile_markers(n_units, n_cols, side, dead_text, "units", np.arange(n_units), hover))
    n_dead = int(dead.sum())
    dead_note = {0: "; no dead units", 1: "; 1 dead unit, outlined in orange"}.get(
        n_dead, f"; {n_dead} dead units, outlined in orange"
    )
    title = title or (
        f"What each of the {n_units} hidden units looks for<br>"
        f"black = negative weight, grey = 0, white = positive{dead_note if dead_units is not None else ''}"
    )
    # all the dead units' outlines as ONE path shape: Plotly validates ~1 ms per shape, and there may be 100
    shapes = [_outlines(np.flatnonzero(dead), n_cols, side, VERMILLION, 2, "dead units")] if dead.any() else []
    if selected is not None and 0 <= selected < n_units:
        shapes.append(_frame(int(selected), n_cols, side, 1, BLUE, 4, f"selected unit {selected}"))
    return _image_figure(traces, z.shape, title, shapes=shapes, height=height, margin=margin)


# ------------------------------------------------------ 4. reconstructions


def reconstruction_grid(
    x: np.ndarray,
    code: np.ndarray,
    code_normalised: np.ndarray,
    output: np.ndarray,
    index: np.ndarray,
    *,
    title: str = "How the network redraws test digits from their codes",
    compact: bool = False,
) -> go.Figure:
    """Originals x (n, 28, 28), codes (n, 196) and h/||h|| (n, 196) as 14x14, outputs (n, 28, 28); index (n,).

    Four rows of n tiles, black 0 to white 1. Each code h is scaled to its own max (an all-zero code is
    black). The normalised codes share one scale (the row's max): scaled to their own max they would be
    pixel-identical to the h row, since h/||h|| only rescales h. Codes are enlarged x2 to 28x28.
    Hover per tile: the row, the test image, and what the tile holds (active units, error).
    compact: one-line row names (for large text on a narrow screen: two-line names of 18 px overlap
    when 20 digits share a 1280-pixel screen); the hover keeps the full names.
    """
    x, output = np.asarray(x), np.asarray(output)
    code, code_normalised, index = np.asarray(code), np.asarray(code_normalised), np.asarray(index)
    n, side = x.shape[0], x.shape[1]
    k = code.shape[1] if code.ndim == 2 else 0
    k_side = math.isqrt(k)
    names = [
        "original digit",
        f"its code<br>({k} units as {k_side} × {k_side})",
        "code scaled<br>to length 1",
        "redrawn by<br>the network",
    ]
    scaled = [
        [np.asarray(im, dtype=np.float64) for im in x],
        [_scale_to_max(_as_square(h)) for h in code],
        list(_scale_to_max(np.stack([_as_square(h) for h in code_normalised]))) if n else [],
        [np.asarray(im, dtype=np.float64) for im in output],
    ]
    shown = []  # per tile, row-major
    for row in scaled:
        for im in row:
            up = side // im.shape[0]
            shown.append(np.repeat(np.repeat(im, up, axis=0), up, axis=1) if up > 1 else im)  # 14x14 codes x2
    n_cols = max(n, 1)
    z = _mosaic(shown, n_cols, side, n_rows=len(names))
    active = (code > 0).sum(axis=1) if n else []
    error = ((np.asarray(x, np.float64) - output) ** 2).reshape(n, -1).mean(axis=1) if n else []
    flat = [name.replace("<br>", " ") for name in names]
    hover = (
        [f"{flat[0]}<br>test image {int(i)}" for i in index[:n]]
        + [f"{flat[1]}<br>test image {int(i)}<br>{a} of {k} units active" for i, a in zip(index, active)]
        + [f"{flat[2]}<br>test image {int(i)}<br>the {n} codes here share one grey scale" for i in index[:n]]
        + [f"{flat[3]}<br>test image {int(i)}<br>mean squared error {e:.3g}" for i, e in zip(index, error)]
    )
    traces = [_picture(z, 0, 1), _tile_markers(len(hover), n_cols, side, hover, "tiles")]
    centre = (side - 1) / 2
    return _image_figure(
        traces,
        z.shape,
        title,
        visible_axes=True,
        yaxis=dict(
            tickmode="array",
            tickvals=[r * (side + GAP) + centre for r in range(len(names))],
            ticktext=["digit", "its code", "code, length 1", "redrawn"] if compact else names,
            showline=False,
            ticks="",
        ),
        xaxis=dict(
            title_text="test image index",
            tickmode="array",
            tickvals=[i * (side + GAP) + centre for i in range(n)],
            ticktext=[str(int(i)) for i in index[:n]],
            showline=False,
            ticks="",
        ),
    )


# ------------------------------------------------------ the unit explorer


def unit_filter(
    w: np.ndarray, unit: int, *, title: str | None = None, height: int | None = None, margin: dict | None = None
) -> go.Figure:
    """One encoder filter w (784,) as a 28x28 image scaled to its largest absolute weight (-1 black, +1 white).

    A single tile, so the hover stays per pixel: its row, column and scaled weight (784 short labels).
    """
    img = _scale_to_max(_as_square(w))
    weights = np.char.mod("%+.2f", img).tolist()
    picture = _picture(
        img,
        -1,
        1,
        text=weights,
        hoverinfo="text",
        hovertemplate="row %{y}, column %{x}<br>weight %{text} × its strongest<extra></extra>",
    )
    title = title or f"What unit {unit} looks for"
    return _image_figure([picture], img.shape, title, height=height, margin=margin)


def digit_tiles(
    images: np.ndarray,
    captions: Sequence[str],
    title: str,
    n_cols: int = 8,
    *,
    height: int | None = None,
    margin: dict | None = None,
) -> go.Figure:
    """Images (n, 28, 28) in [0, 1] as one grid, n_cols per row; captions (n,) on hover, one per tile."""
    images = np.asarray(images, dtype=np.float64)
    n = len(images)
    side = images.shape[1] if n else 28
    z = _mosaic(images, n_cols, side)
    traces = [_picture(z, 0, 1), _tile_markers(n, n_cols, side, [str(c) for c in captions[:n]], "digits")]
    fig = _image_figure(traces, z.shape, title, height=height, margin=margin)
    if n == 0:
        note(fig, "none")
    return fig
