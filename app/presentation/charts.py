"""Charts: lines, bars, boxes and scatters, one builder per figure of DESIGN §1 (plus the per-unit statistics).

Arrays (or the results table's rows) in, `go.Figure` out. Nothing here
computes an analysis: the arrays come from `core.analysis` (through the
store) exactly as stored. Two-series line charts share one style
(`_line_traces`); 10,000-point scatters use WebGL (`Scattergl`) and send
float32/integer arrays, which Plotly encodes as compact typed arrays.

For a room: a λ axis has one evenly spaced position per grid value; text
follows the layout's font size (the caller sets 18 px when presenting) and
the title and a legend above the plot have bands of their own (`_header`);
what people read says things in words, symbols such as h/‖h‖ stay in the
hover text (`JARGON`). Subplot grids are laid out as one dict (`_panels`):
`make_subplots` cost about 90 ms a figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.colors as colors
import plotly.graph_objects as go

from app.presentation import motion
from app.presentation.style import (
    AXIS_BAND,
    BLUE,
    DIGIT_COLORS,
    MEAN_LINE,
    ORANGE,
    VERMILLION,
    figure,
    finish,
    note,
)
from app.presentation.text import fmt
from core.analysis import BOX_COLUMNS
from core.config import same_lambda

__all__ = [
    "BOX_COLUMNS",
    "cosine_boxes",
    "density_vs_lambda",
    "frontier",
    "lambda_positions",
    "labelled_ticks",
    "lambda_tick",
    "loss_vs_lambda",
    "silhouette_panels",
    "silhouette_sentence",
    "silhouette_vs_k",
    "silhouette_x_range",
    "sweep_legend",
    "training_curves",
    "tsne_map",
    "unit_activation_histogram",
    "unit_digit_bars",
    "unit_frequency_bars",
]

LAMBDA_TITLES = {"lambda_k": "λ_k — weight penalty", "lambda_a": "λ_a — activity penalty"}
SERIES_STYLE = ((BLUE, "solid", "circle"), (VERMILLION, "dash", "diamond"))  # (colour, dash, marker) of series 1, 2
SWEEP_HEIGHT = 520  # px: the λ sweeps' default height (the loss chart has two panels)
TSNE_HEIGHT = 520  # px: a t-SNE map's default height, about as tall as its half-page panel is wide
FRONTIER_LIGHTEST = 0.75  # where the trade-off chart's palette stops along Viridis (its end is yellow)
OUTLINE = "#222222"  # dark marker outlines: light colours stay visible on white
ISLAND_LABEL_SIZE = 24  # px: a digit's name on its t-SNE island, larger than any base font (12, or 18 presenting)
DEFAULT_HEIGHT = 450  # px: Plotly's (and Streamlit's) height of a figure that sets none
# px: the title's band at the top, and a legend row below it: a row at 18 px text is 37-39 px tall and
# Plotly keeps 4 px from it to the plot (measured in Chromium); less, and Plotly grows the top margin and
# draws the figure a second time
TITLE_BAND, LEGEND_ROW = 48, 44
SUBPLOT_TITLE_ROW = 30  # px: a subplot title's row above the plot
TSNE_LEGEND_BAND = 72  # px right of a t-SNE map for its legend of digits (65 px at 18 px text, measured)
# most λ tick labels on a half-page axis, so that they lie flat (never tilted, never overlapping) at 12 px text
# and at presenter mode's 18 px in a projector's 1280 px page; the other positions keep their tick and grid line
LAMBDA_LABELS, LAMBDA_LABELS_LARGE = 6, 4
JARGON = r"\bh/|\|\|?h\|\|?|‖|\bW_?1\b|max\s*\|w\||\bL0\b"  # symbols kept to hover text, never in what people read


# ------------------------------------------------------------------ helpers


def _other_axis(axis: str) -> str:
    if axis not in LAMBDA_TITLES:
        raise ValueError(f"axis must be 'lambda_k' or 'lambda_a', got {axis!r}")
    return "lambda_a" if axis == "lambda_k" else "lambda_k"


def _sym(axis: str) -> str:
    return "λ_k" if axis == "lambda_k" else "λ_a"


def _same(a: float, b: float) -> bool:
    """Lambdas come back from JSON and linspace: the grid's one rule, `core.config.same_lambda`, not ==."""
    return same_lambda(a, b)


def lambda_tick(value: float) -> str:
    """A λ as an axis tick: `text.fmt` without its padding zeros (0, 1.1e-5, 3e-4, 0.001, 0.01), never 0.5e-4."""
    return fmt(value).replace(".0e", "e").replace("e-0", "e-").replace("e+0", "e+")


def lambda_positions(present: Sequence[float], grid_values: Sequence[float] | None = None) -> list[float]:
    """The λ values an axis shows, one evenly spaced position each: the grid's and any other present, sorted."""
    out: list[float] = []
    for v in sorted(float(v) for v in [*(grid_values or ()), *present]):
        if not any(_same(v, w) for w in out):
            out.append(v)
    return out


def _position(values: Sequence[float], v: float) -> int:
    return next(i for i, w in enumerate(values) if _same(w, v))


def _slice_rows(rows: Sequence[Mapping], axis: str, fixed: float) -> list[Mapping]:
    """The rows whose other lambda equals `fixed`, sorted by `axis`."""
    other = _other_axis(axis)
    return sorted((r for r in rows if _same(r[other], fixed)), key=lambda r: float(r[axis]))


def _selected_row(rows: Sequence[Mapping], axis: str, selected: float | None) -> Mapping | None:
    if selected is None:
        return None
    return next((r for r in rows if _same(r[axis], selected)), None)


def _number(row: Mapping, key: str) -> float | None:
    """row[key] as a float, or None where the row lacks it (older caches) or it is not a number."""
    v = row.get(key)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _selected_trace(x: float, ys: Sequence[float], lam: float, sym: str, **trace) -> dict:
    """A ring around the selected model's point on every curve (one legend entry), as a trace dict."""
    return dict(
        type="scatter",
        x=[x] * len(ys),
        y=list(ys),
        mode="markers",
        name="selected model",
        marker=dict(symbol="circle-open", size=18, color="black", line=dict(width=2.5)),
        hovertemplate=f"selected model<br>{sym} = {lam:.4g}<br>%{{y:.4g}}<extra></extra>",
        cliponaxis=False,
        **trace,
    )


def _line_traces(series: Sequence, hover: str, size: int = 8, **trace) -> list[dict]:
    """Two lines+markers trace dicts in SERIES_STYLE; series: (x, y, name) or (x, y, name, options) each, or None.

    None: a series not drawn (the other keeps its style). hover: what the tooltip says below the series'
    name (a Plotly template); trace: Scatter options of both; options: of that series alone.
    """
    out = []
    for s, (color, dash, symbol) in zip(series, SERIES_STYLE):
        if s is None:
            continue
        x, y, name, *more = s
        options = dict(
            type="scatter",
            mode="lines+markers",
            name=name,
            line=dict(color=color, dash=dash),
            marker=dict(symbol=symbol, size=size, color=color),
            hovertemplate=f"{name}<br>{hover}<extra></extra>",
        )
        out.append(options | dict(x=list(x), y=list(y)) | trace | (more[0] if more else {}))
    return out


def _header(height: int | None, legend_rows: int = 1, below: int = 0) -> dict:
    """Layout options (for `finish`): the title pinned to the top edge, the legend in a band just below it.

    Plotly centres the title in the top margin, where a legend above the plot collides with it once the
    fonts grow (presenter mode: 18 px text, 22 px titles). Sized for those: TITLE_BAND px for the title,
    LEGEND_ROW px per legend row, `below` px more for what sits above the plot (a subplot's title).
    height: the figure's (None: DEFAULT_HEIGHT).
    """
    return dict(
        title=dict(yref="container", y=1.0, yanchor="top", pad=dict(t=12)),
        legend=dict(
            orientation="h",
            yref="container",
            y=1 - TITLE_BAND / (height or DEFAULT_HEIGHT),
            yanchor="top",
            xanchor="right",
            x=1.0,
        ),
        margin=dict(t=TITLE_BAND + legend_rows * LEGEND_ROW + 8 + below),
    )


def _panels(
    n_rows: int,
    n_cols: int,
    titles: Sequence[str],
    h_spacing: float = 0.1,
    v_spacing: float = 0.1,
    share_x: bool = False,
    share_y: bool = False,
) -> dict:
    """The layout of a grid of subplots, as `make_subplots` lays it out, as one dict.

    make_subplots costs about 90 ms a figure (it validates update after update); this costs nothing.
    Axes are numbered row by row from the top left (x, x2, ...); titles sit above their panels at the
    layout's font size (make_subplots fixes them at 16 px). share_x: one column's x axes match the
    bottom one, whose ticks alone are labelled; share_y: one row's y axes match the first's.
    """
    width = (1 - h_spacing * (n_cols - 1)) / n_cols
    tall = (1 - v_spacing * (n_rows - 1)) / n_rows
    layout: dict = {"annotations": []}
    for r in range(n_rows):
        for c in range(n_cols):
            i = r * n_cols + c + 1
            n = "" if i == 1 else str(i)
            x0, y1 = c * (width + h_spacing), 1 - r * (tall + v_spacing)
            layout[f"xaxis{n}"] = dict(anchor=f"y{n}", domain=[x0, x0 + width])
            layout[f"yaxis{n}"] = dict(anchor=f"x{n}", domain=[max(0.0, y1 - tall), y1])
            if share_x and r < n_rows - 1:
                layout[f"xaxis{n}"] |= dict(matches=f"x{(n_rows - 1) * n_cols + c + 1}", showticklabels=False)
            if share_y and c > 0:
                layout[f"yaxis{n}"] |= dict(matches=f"y{'' if r == 0 else r * n_cols + 1}", showticklabels=False)
            if i <= len(titles):
                layout["annotations"].append(
                    dict(
                        text=titles[i - 1],
                        x=x0 + width / 2,
                        y=y1,
                        xref="paper",
                        yref="paper",
                        xanchor="center",
                        yanchor="bottom",
                        showarrow=False,
                    )
                )
    return layout


def labelled_ticks(n: int, most: int) -> list[int]:
    """Which of n evenly spaced positions carry a label, at most `most` of them (at least 2): all where they
    fit, else the first, the last and evenly spaced ones between (every third of ten: 0, 3, 6, 9)."""
    most = max(2, most)
    if n <= most:
        return list(range(n))
    for step in range(2, n):  # a step that lands on the last position: evenly spaced to the end
        if (n - 1) % step == 0 and (n - 1) // step + 1 <= most:
            return list(range(0, n, step))
    step = math.ceil((n - 1) / (most - 1))  # n - 1 prime: evenly spaced, the last one labelled instead of its neighbour
    out = list(range(0, n - 1, step))
    if len(out) > 1 and n - 1 - out[-1] < step / 2:
        out.pop()
    return [*out, n - 1]


def _lambda_axis(positions: Sequence[float], large_text: bool = False) -> dict:
    """An x axis with one evenly spaced position per λ in positions, labelled as people read it.

    Every position has its tick and grid line; labels lie flat, as many as fit (`labelled_ticks`: fewer with
    presenter mode's large_text): ten labels side by side crowd a half-page chart and Plotly tilts them.
    """
    n = len(positions)
    shown = set(labelled_ticks(n, LAMBDA_LABELS_LARGE if large_text else LAMBDA_LABELS))
    return dict(
        tickmode="array",
        tickvals=list(range(n)),
        ticktext=[lambda_tick(v) if i in shown else "" for i, v in enumerate(positions)],
        tickangle=0,
        range=[-0.5, max(n, 1) - 0.5],
        showgrid=True,
        zeroline=False,
    )


def _lambda_figure(
    traces: list[dict],
    layout: dict,
    axis: str,
    fixed: float,
    title: str,
    n: int,
    height: int | None,
    below: int = 0,
    legend: bool = True,
) -> go.Figure:
    """A figure over λ from its trace and layout dicts, titled; legend False: none (the page draws
    `sweep_legend` above it instead). Built by `style.figure`, without Plotly's validation."""
    sym = _sym(_other_axis(axis))
    header = _header(height, legend_rows=1 if legend else 0, below=below)
    header["margin"]["b"] = AXIS_BAND
    if not legend:
        header |= dict(showlegend=False)
    fig = figure(traces, layout, f"{title} ({sym} = {fmt(fixed)})", height=height, **header)
    if n == 0:
        note(fig, f"no analysed models with {sym} = {fmt(fixed)} yet")
    return fig


# ------------------------------------------------- 1-2. sweeps over lambda

MSE_TITLE = "How well it redraws digits: error (MSE)"
TOTAL_TITLE = "What training minimises: loss + penalties"
PANEL_GAP = 56  # px between the loss chart's two panels: the lower one's title and the upper one's last tick


def loss_vs_lambda(
    rows: Sequence[Mapping],
    axis: str,
    fixed: float,
    selected: float | None = None,
    *,
    grid_values: Sequence[float] | None = None,
    height: int | None = None,
    legend: bool = True,
    large_text: bool = False,
) -> go.Figure:
    """Two panels over `axis`, for the grid rows (dicts) whose other lambda is `fixed`, train and test each.

    Top: the reconstruction error (mse_train, mse_test), how well the network redraws digits. Bottom: the
    total loss training minimises, as the original plots it: Keras' last-epoch history_loss_train and
    history_loss_test (the full-pass loss_train, loss_test where a row lacks them, labelled so).
    grid_values: every value of `axis` in the grid, one position each (default: those in rows).
    Both panels share one y scale, logarithmic when the values span more than a decade.
    legend: False for none (a page showing it beside `density_vs_lambda` draws `sweep_legend` above both).
    large_text: the page shows presenter mode's larger text: fewer λ labels, so that they lie flat.
    """
    _other_axis(axis)
    data = _slice_rows(rows, axis, fixed)
    positions = lambda_positions([float(r[axis]) for r in data], grid_values)
    sym = _sym(axis)
    keras = bool(data) and all(
        _number(r, "history_loss_train") is not None and _number(r, "history_loss_test") is not None for r in data
    )
    total_keys = ("history_loss_train", "history_loss_test") if keras else ("loss_train", "loss_test")
    total_how = "last epoch, as Keras reports it" if keras else "recomputed on the final weights"
    height = height or SWEEP_HEIGHT
    plot_height = height - TITLE_BAND - LEGEND_ROW - SUBPLOT_TITLE_ROW - 100  # about
    layout = _panels(
        2,
        1,
        (MSE_TITLE, TOTAL_TITLE if keras else f"{TOTAL_TITLE} (recomputed)"),
        v_spacing=min(0.3, PANEL_GAP / max(plot_height, 1)),
        share_x=True,
    )
    traces, values = [], []
    for row, (keys, measure) in enumerate(
        ((("mse_train", "mse_test"), "reconstruction error (MSE)"), (total_keys, f"total loss ({total_how})")), 1
    ):
        series = []
        for key, name, group in zip(keys, ("training set", "test set"), ("train", "test")):
            pts = [(r, v) for r in data if (v := _number(r, key)) is not None]
            values += [v for _, v in pts]
            opts = dict(customdata=[float(r[axis]) for r, _ in pts], legendgroup=group, showlegend=row == 1)
            label = name if row == 1 else f"{name}: total loss"
            series.append(([_position(positions, float(r[axis])) for r, _ in pts], [v for _, v in pts], label, opts))
        ax = "" if row == 1 else "2"
        hover = f"{measure}<br>{sym} = %{{customdata:.4g}}<br>%{{y:.5g}}"
        traces += _line_traces(series, hover, xaxis=f"x{ax}", yaxis=f"y{ax}")
    if keras:
        bands = _seed_bands(data, axis, positions, sym)
        traces = bands + traces  # drawn first: under the lines
        values += [v for b in bands for v in b["y"] if v is not None]
    sel = _selected_row(data, axis, selected)
    if sel is not None:
        lam = float(sel[axis])
        for row, keys in ((1, ("mse_train", "mse_test")), (2, total_keys)):
            ys = [v for k in keys if (v := _number(sel, k)) is not None]
            ax = "" if row == 1 else "2"
            traces.append(
                _selected_trace(
                    _position(positions, lam),
                    ys,
                    lam,
                    sym,
                    showlegend=row == 1,
                    legendgroup="selected",
                    xaxis=f"x{ax}",
                    yaxis=f"y{ax}",
                )
            )
    # one y range for both panels, so the gap between error and total loss reads at a glance
    # (set, not `matches`: Plotly.js 3 mis-ranges these matched axes)
    y = dict(exponentformat="e", nticks=4, **_shared_range(values))
    for k in ("xaxis", "xaxis2"):
        layout[k] |= _lambda_axis(positions, large_text)
    layout["xaxis2"]["title"] = dict(text=LAMBDA_TITLES[axis])
    layout["yaxis"] |= y
    layout["yaxis2"] |= y
    return _lambda_figure(
        traces, layout, axis, fixed, "Error and loss", len(data), height, below=SUBPLOT_TITLE_ROW, legend=legend
    )


def sweep_legend(seeds: int = 1) -> str:
    """The legend of `loss_vs_lambda` and `density_vs_lambda` side by side, as one line of HTML above both.

    Plotly's own legend has only its plot's width (about 240 px in half of a 1280 px page): there it
    wrapped onto two or three rows, crowded the panels' titles, and made Plotly grow the top margin and
    draw every figure twice. Text wraps here as the page's does, at the page's size (class sae-legend,
    enlarged with the rest in presenter mode). seeds > 1: the total loss's band of the seed study too.
    """

    def line(color: str, dash: str, marker: str) -> str:  # the line and its marker, as Plotly draws them
        style = "dashed" if dash == "dash" else "solid"
        glyph = "●" if marker == "circle" else "◆"
        return (
            f'<span style="display:inline-block;width:2.1em;border-top:2px {style} {color};position:relative;'
            f'top:-0.3em;text-align:center;line-height:0"><span style="color:{color};font-size:0.9em">'
            f"{glyph}</span></span>"
        )

    ring = '<span style="display:inline-block;width:0.8em;height:0.8em;border:2px solid;border-radius:50%"></span>'
    band = f'<span style="display:inline-block;width:2.1em;height:0.7em;background:{_rgba(VERMILLION, 0.25)}"></span>'
    (c1, d1, m1), (c2, d2, m2) = SERIES_STYLE
    entries = [(line(c1, d1, m1), "training set"), (line(c2, d2, m2), "test set"), (ring, "selected model")]
    if seeds > 1:
        entries.append((band, f"spread over {seeds} seeds (min–max)"))
    items = "".join(
        f'<span style="display:inline-flex;align-items:center;gap:0.4em;margin-right:1.1em;white-space:nowrap">'
        f"{mark}{label}</span>"
        for mark, label in entries
    )
    return f'<div class="sae-legend" style="line-height:1.9">{items}</div>'


def _seed_bands(data: Sequence[Mapping], axis: str, positions, sym: str) -> list[dict]:
    """The seed study's min-max of the original's two losses as bands in the lower panel, where any
    row has more than one seed (`core.results.results_table`'s seeds and history_loss_*_min/_max)."""
    many = [r for r in data if (_number(r, "seeds") or 1) > 1]
    if not many:
        return []
    n = max(int(r["seeds"]) for r in many)
    out = []
    for group, color, name in (("train", BLUE, "training set"), ("test", VERMILLION, "test set")):
        lo_key, hi_key = f"history_loss_{group}_min", f"history_loss_{group}_max"
        pts = [(r, lo, hi) for r in data if (lo := _number(r, lo_key)) is not None and (hi := _number(r, hi_key))]
        x = [_position(positions, float(r[axis])) for r, _, _ in pts]
        seeds = [int(_number(r, "seeds") or 1) for r, _, _ in pts]
        common = dict(type="scatter", x=x, mode="lines", line=dict(width=0, color=color), xaxis="x2", yaxis="y2")
        out.append(dict(y=[lo for _, lo, _ in pts], showlegend=False, legendgroup="seeds", hoverinfo="skip", **common))
        out.append(
            dict(
                y=[hi for _, _, hi in pts],
                fill="tonexty",
                fillcolor=_rgba(color, 0.18),
                name=f"spread over {n} seeds (min–max)" if group == "test" else f"{name}: seed spread",
                showlegend=group == "test",
                legendgroup="seeds",
                customdata=[[float(r[axis]), s, lo, hi] for (r, lo, hi), s in zip(pts, seeds)],
                hovertemplate=f"{name}, %{{customdata[1]}} seeds<br>{sym} = %{{customdata[0]:.4g}}<br>"
                "min %{customdata[2]:.5g}, max %{customdata[3]:.5g}<extra></extra>",
                **common,
            )
        )
    return out


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _shared_range(values: Sequence[float]) -> dict:
    """A y axis over positive values: from 0, or logarithmic when they span more than a decade."""
    if not values or min(values) <= 0:
        return dict(type="linear", rangemode="tozero")
    lo, hi = min(values), max(values)
    if hi / lo <= 10:
        return dict(type="linear", range=[0, hi * 1.08])
    pad = 0.06 * (math.log10(hi) - math.log10(lo))
    return dict(type="log", range=[math.log10(lo) - pad, math.log10(hi) + pad], **_log_ticks(values))


def _log_ticks(values: Sequence[float]) -> dict:
    """Ticks at 1, 2 and 5 per decade over positive values, written out (0.002, 0.005, 0.01):
    Plotly's own log ticks write the minor ones as lone digits (2 ... 9) that crowd at large fonts."""
    pos = [float(v) for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not pos:
        return {}
    lo, hi = min(pos), max(pos)
    ticks = [
        m * 10.0**e
        for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
        for m in (1, 2, 5)
        if lo / 1.6 <= m * 10.0**e <= hi * 1.6
    ]
    if len(ticks) > 7:  # many decades: the powers of ten alone
        ticks = [t for t in ticks if f"{t:.0e}".startswith("1")]
    if sum(lo <= t <= hi for t in ticks) < 2:  # a narrow range: Plotly's own ticks do better
        return {}
    return dict(tickmode="array", tickvals=ticks, ticktext=[f"{t:.3g}" for t in ticks])


def density_vs_lambda(
    rows: Sequence[Mapping],
    axis: str,
    fixed: float,
    selected: float | None = None,
    *,
    grid_values: Sequence[float] | None = None,
    height: int | None = None,
    legend: bool = True,
    large_text: bool = False,
) -> go.Figure:
    """Density of the code (fraction of non-zero entries) on the training and test sets vs `axis`.

    rows: the grid's results (dicts with density_test, and density_train where known: rows without it
    draw the test set alone). The right axis reads the same heights as sparsity = 1 - density.
    grid_values: every value of `axis` in the grid, one position each (default: those in rows).
    legend: False for none, large_text: fewer λ labels (see `loss_vs_lambda`).
    """
    _other_axis(axis)
    data = _slice_rows(rows, axis, fixed)
    positions = lambda_positions([float(r[axis]) for r in data], grid_values)
    sym = _sym(axis)
    series = []
    for key, name in (("density_train", "training set"), ("density_test", "test set")):
        pts = [(r, v) for r in data if (v := _number(r, key)) is not None]
        opts = dict(customdata=[(float(r[axis]), 1.0 - v) for r, v in pts])
        series.append(
            ([_position(positions, float(r[axis])) for r, _ in pts], [v for _, v in pts], name, opts) if pts else None
        )
    if not any(series):
        series[1] = ([], [], "test set")
    hover = f"{sym} = %{{customdata[0]:.4g}}<br>density %{{y:.3f}} (sparsity %{{customdata[1]:.3f}})"
    traces = _line_traces(series, hover, cliponaxis=False)  # points at exactly 0 or 1 stay whole
    # the right axis, reversed, reads the same heights as sparsity; an empty trace makes Plotly draw it
    traces.append(dict(type="scatter", x=[], y=[], yaxis="y2", showlegend=False, hoverinfo="skip"))
    sel = _selected_row(data, axis, selected)
    if sel is not None:
        lam = float(sel[axis])
        ys = [v for k in ("density_train", "density_test") if (v := _number(sel, k)) is not None]
        traces.append(_selected_trace(_position(positions, lam), ys, lam, sym))
    layout = dict(
        xaxis=_lambda_axis(positions, large_text) | dict(title=dict(text=LAMBDA_TITLES[axis])),
        yaxis=dict(title=dict(text="density: share of non-zero entries"), range=[0, 1]),
        yaxis2=dict(
            title=dict(text="sparsity = 1 − density"),
            range=[1, 0],
            overlaying="y",
            side="right",
            showgrid=False,
            zeroline=False,
        ),
    )
    return _lambda_figure(traces, layout, axis, fixed, "Code density", len(data), height or SWEEP_HEIGHT, legend=legend)


# --------------------------------------------------------------- training


def training_curves(history: Mapping, *, height: int | None = None) -> go.Figure:
    """Train and test total loss per epoch from a history dict ("loss", "val_loss": (n_epochs,) lists)."""
    series = []
    for key, name in (("loss", "train"), ("val_loss", "test")):
        y = [float(v) for v in history.get(key, [])]
        series.append((range(1, len(y) + 1), y, f"{name} loss") if y else None)
    n_epochs = int(history["last_epoch"]) + 1 if "last_epoch" in history else len(history.get("loss", []))
    layout = dict(
        xaxis=dict(title=dict(text="epoch"), rangemode="tozero"),
        yaxis=dict(
            title=dict(text="total loss incl. penalties (log scale)"),
            type="log",
            exponentformat="e",
            **_log_ticks([v for s in series if s for v in s[1]]),
        ),
    )
    return figure(
        _line_traces(series, "epoch %{x}<br>%{y:.5g}", size=5),
        layout,
        f"Training curves ({n_epochs} epochs, early stopping on test loss)",
        height=height,
        **_header(height),
    )


# ------------------------------------------------------ 5. cosine boxes


def cosine_boxes(same_box: np.ndarray, diff_box: np.ndarray, *, height: int | None = None) -> go.Figure:
    """Box plots of cosine similarity per digit from precomputed stats, same_box and diff_box (10, len(BOX_COLUMNS)).

    Only the statistics are stored, not the pairs themselves, so the outlier points the original draws
    beyond the whiskers cannot be shown (boxpoints=False). Plotly's own box hover would call the
    whiskers' ends "min" and "max": an invisible point per box says what they are instead (hovermode
    "x": anywhere above a digit). The x-axis names the digits, so there is no legend.
    """
    col = {name: i for i, name in enumerate(BOX_COLUMNS)}
    layout = _panels(1, 2, ("same digit", "different digit"), share_y=True)
    traces, lowest = [], 0.0
    hover = (
        "digit %{x} (first image): %{customdata[0]:,} pairs<br>"
        "median %{customdata[1]:.3f} · box %{customdata[2]:.3f}–%{customdata[3]:.3f} · mean %{customdata[4]:.3f}<br>"
        "whiskers %{customdata[5]:.3f}–%{customdata[6]:.3f}: furthest pairs within 1.5 IQR<br>"
        "all pairs %{customdata[7]:.3f}–%{customdata[8]:.3f} (outliers not drawn: not stored)<extra></extra>"
    )
    order = ("n", "median", "q1", "q3", "mean", "lowerfence", "upperfence", "min", "max")
    for panel, stats in enumerate((np.asarray(same_box), np.asarray(diff_box)), start=1):
        drawn = [d for d in range(stats.shape[0]) if stats[d, col["n"]] > 0]  # no pairs: nothing to draw
        axes = dict(xaxis=f"x{'' if panel == 1 else panel}", yaxis=f"y{'' if panel == 1 else panel}")
        traces.append(
            go.Scatter(
                x=drawn,
                y=[float(stats[d, col["median"]]) for d in drawn],
                customdata=[[float(stats[d, col[c]]) for c in order] for d in drawn],
                mode="markers",
                marker=dict(size=1, opacity=0),
                hoverlabel=dict(bgcolor=[DIGIT_COLORS[d % len(DIGIT_COLORS)] for d in drawn]),
                name="statistics",
                showlegend=False,
                hovertemplate=hover,
                **axes,
            )
        )
        for d in drawn:
            s = stats[d]
            lowest = min(lowest, float(s[col["lowerfence"]]), float(s[col["min"]]))
            traces.append(
                go.Box(
                    x=[d],
                    q1=[s[col["q1"]]],
                    median=[s[col["median"]]],
                    q3=[s[col["q3"]]],
                    lowerfence=[s[col["lowerfence"]]],
                    upperfence=[s[col["upperfence"]]],
                    mean=[s[col["mean"]]],
                    name=f"digit {d}",
                    showlegend=False,
                    marker_color=DIGIT_COLORS[d % len(DIGIT_COLORS)],
                    boxpoints=False,
                    hoverinfo="skip",
                    **axes,
                )
            )
    x = dict(title=dict(text="digit"), tickmode="array", tickvals=list(range(10)), range=[-0.6, 9.6])
    layout["xaxis"] |= x
    layout["xaxis2"] |= x
    layout["yaxis"] |= dict(range=[lowest, 1], title=dict(text="cosine similarity"))
    layout["yaxis2"] |= dict(range=[lowest, 1])
    fig = go.Figure(data=traces, layout=layout)
    finish(
        fig,
        "Cosine similarity of the codes of two images",
        boxmode="overlay",
        showlegend=False,
        hovermode="x",
        height=height,
    )
    return fig


# ------------------------------------------------------------------ 6. t-SNE


def tsne_map(
    embedding: np.ndarray,
    labels: np.ndarray,
    title: str,
    index: np.ndarray | None = None,
    n_classes: int = 10,
    *,
    height: int | None = None,
    glide: dict | None = None,
) -> go.Figure:
    """t-SNE embedding (n, 2) coloured by digit labels (n,); index (n,) the test-image indices (default 0..n-1).

    Each digit's name is written on its island (the median of its points). The map fills its panel
    (height: default TSNE_HEIGHT), with a margin of 4% of its span around the points (`motion.map_range`).
    Coordinates go out as float32 and indices as integers, which Plotly sends as compact typed arrays: a
    10,000-point map is about 150 KB of JSON.

    glide: `motion.glide_meta(...)`, for a map that moves with λ: the page's script (motion.SCRIPT) then
    glides the points from the map on screen to this one, turned onto it. The figure itself is the map as
    computed either way, so a model's map is built once, wherever it is reached from.
    """
    embedding = np.asarray(embedding, dtype=np.float32)
    labels = np.asarray(labels)
    index = np.arange(len(labels)) if index is None else np.asarray(index)
    index = index.astype(np.int16 if len(index) == 0 or (index.min() >= 0 and index.max() < 2**15) else np.int32)
    masks = _digit_masks(labels, n_classes)
    centres = _centres(embedding, masks)
    ranges = motion.map_range(embedding)
    traces, islands = [], []
    for d, mask in enumerate(masks):
        x, y = embedding[mask, 0], embedding[mask, 1]
        color = DIGIT_COLORS[d % len(DIGIT_COLORS)]
        traces.append(
            dict(
                type="scattergl",
                x=x,
                y=y,
                mode="markers",
                name=str(d),
                customdata=index[mask],
                marker=dict(size=3, color=color, opacity=0.7),
                hovertemplate=f"digit {d}, test image %{{customdata}}<extra></extra>",
            )
        )
        if d in centres:
            islands.append(
                dict(
                    x=centres[d][0],
                    y=centres[d][1],
                    text=f"<b>{d}</b>",
                    showarrow=False,
                    font=dict(size=ISLAND_LABEL_SIZE, color="black"),
                    bgcolor="rgba(255,255,255,0.8)",
                    bordercolor=color,
                    borderwidth=2,
                    borderpad=1,
                    name=f"digit {d}",
                )
            )
    # t-SNE coordinates have no unit and no meaningful scale: hide the ticks; the map fills its panel
    # and no room kept for them (automargin), which would grow the margins and draw the map a second time
    axis = dict(title=dict(text=""), showticklabels=False, ticks="", showgrid=False, zeroline=False, automargin=False)
    layout = dict(
        xaxis=axis | dict(range=list(ranges[0])),
        yaxis=axis | dict(range=list(ranges[1])),
        margin=dict(l=8, r=TSNE_LEGEND_BAND, b=8, t=TITLE_BAND + 8),
        annotations=islands,
        legend=dict(title=dict(text="digit"), itemsizing="constant"),
    )
    # hover_digits: the page's script shows point i's test image beside the label (chrome.digit_hover)
    layout["meta"] = {"hover_digits": True} | ({"glide": glide} if glide else {})
    return figure(traces, layout, title, height=height or TSNE_HEIGHT)


def _digit_masks(labels: np.ndarray, n_classes: int) -> list[np.ndarray]:
    """Which points are digit d, for each d < n_classes."""
    labels = np.asarray(labels)
    return [labels == d for d in range(n_classes)]


def _centres(points: np.ndarray, masks: list[np.ndarray]) -> dict[int, list[float]]:
    """Each present digit's island centre: the median of its points, [x, y]."""
    return {d: [float(v) for v in np.median(points[m], axis=0)] for d, m in enumerate(masks) if m.any()}


# ----------------------------------------------------- 7. K-means silhouettes


def _downsample_sorted(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, values) of at most max_points evenly spaced entries, the first and last always kept."""
    m = len(values)
    if m <= max_points:
        pos = np.arange(m)
    else:
        pos = np.unique(np.linspace(0, m - 1, max_points).round().astype(np.int64))
    return pos, values[pos]


def silhouette_x_range(*samples: np.ndarray) -> tuple[float, float]:
    """One x range for silhouette panels of every samples array given (raw and normalised): (≤ -0.1, 1)."""
    low = min((float(np.min(s)) for s in samples if np.size(s)), default=0.0)
    return (min(-0.1, low), 1.0)


SILHOUETTE_MARGINS_PX = 140  # about what a silhouette figure's title and bottom axis take of its height
SILHOUETTE_LABEL_PX = 22  # a cluster's number needs a band this tall (presenter mode's 18 px text, and air)


def silhouette_panels(
    samples: np.ndarray,
    labels: np.ndarray,
    ks: Sequence[int],
    title: str,
    means: np.ndarray | None = None,
    max_points: int = 200,
    n_cols: int = 3,
    *,
    x_range: tuple[float, float] | None = None,
    height: int | None = None,
) -> go.Figure:
    """Classic silhouette plots, one panel per k: samples (len(ks), n) silhouettes, labels (len(ks), n) clusters.

    means (len(ks),) are the dashed lines (default: the mean of each row of samples); each cluster's
    sorted band is downsampled to max_points points. Every panel has one x range: x_range (pass
    `silhouette_x_range(raw, normalised)` so both spaces' figures match), default that of samples.
    """
    samples, labels = np.asarray(samples), np.asarray(labels)
    means = samples.mean(axis=1) if means is None else np.asarray(means)
    n_rows = max(1, math.ceil(len(ks) / n_cols))
    layout = _panels(n_rows, n_cols, [f"k = {k}" for k in ks], h_spacing=0.06, v_spacing=0.12)
    palette = colors.qualitative.Safe
    n = samples.shape[1]
    gap = max(2, n // 100)  # the original's 10-sample gap is invisible at 10,000 samples
    x_min, x_max = silhouette_x_range(samples) if x_range is None else x_range
    # One layout dict and one Figure of plain dicts (style.figure): make_subplots, per-trace add_trace(row=, col=)
    # and add_vline/add_annotation cost milliseconds each, which made this figure the dashboard's slowest (about
    # 0.5 s for 9 panels x 10 clusters); validating its 90 traces still took about 40 ms.
    traces, annotations, shapes = [], layout["annotations"], []
    fig_height = height or 300 * n_rows
    # a panel's height in px, about (the figure less its title and axis margins, shared by the rows, less
    # the gaps between them): a cluster's number is written only where its band is as tall as the number,
    # so that thin bands' numbers do not pile up (the band's hover still names its cluster)
    panel_px = max(fig_height - SILHOUETTE_MARGINS_PX, 1) / n_rows * 0.85
    for p, _k in enumerate(ks):
        axis = "" if p == 0 else str(p + 1)
        y_lower = 0
        y_total = n + gap * (len(np.unique(labels[p])) - 1)
        for c in np.unique(labels[p]):
            vals = np.sort(samples[p][labels[p] == c])
            pos, v = _downsample_sorted(vals, max_points)
            y = y_lower + pos
            color = palette[int(c) % len(palette)]
            traces.append(
                dict(
                    type="scatter",
                    x=np.concatenate([[0.0], v, [0.0]]),
                    y=np.concatenate([[y[0]], y, [y[-1]]]),
                    fill="toself",
                    mode="lines",
                    line=dict(width=0.5, color=color),
                    fillcolor=color,
                    name=f"cluster {c}",
                    showlegend=False,
                    hovertemplate=f"cluster {c}: {len(vals)} samples<br>silhouette %{{x:.3f}}<extra></extra>",
                    xaxis=f"x{axis}",
                    yaxis=f"y{axis}",
                )
            )
            if len(vals) / y_total * panel_px >= SILHOUETTE_LABEL_PX:
                annotations.append(  # the cluster's number left of its band, at the layout's font size
                    dict(
                        x=0,
                        y=y_lower + len(vals) / 2,
                        xanchor="right",
                        xshift=-3,
                        text=str(c),
                        showarrow=False,
                        xref=f"x{axis}",
                        yref=f"y{axis}",
                    )
                )
            y_lower += len(vals) + gap
        shapes.append(
            dict(
                type="line",
                x0=float(means[p]),
                x1=float(means[p]),
                y0=0,
                y1=1,
                xref=f"x{axis}",
                yref=f"y{axis} domain",
                line=dict(color=MEAN_LINE, dash="dash", width=1.5),
            )
        )
    for i in range(1, n_rows * n_cols + 1):
        n = "" if i == 1 else str(i)
        layout[f"xaxis{n}"]["range"] = [x_min, x_max]
        layout[f"yaxis{n}"] |= dict(showticklabels=False, ticks="", showgrid=False, zeroline=False)
        if (i - 1) % n_cols == 0:
            layout[f"yaxis{n}"]["title"] = dict(text="digits by cluster")
    bottom_middle = (n_rows - 1) * n_cols + (n_cols + 1) // 2
    layout[f"xaxis{'' if bottom_middle == 1 else bottom_middle}"]["title"] = dict(text="silhouette (−1 to 1)")
    layout["shapes"] = shapes
    return figure(traces, layout, f"{title}: silhouettes by cluster (red: mean)", height=fig_height, showlegend=False)


SPACE_NAMES = ("raw code", "code scaled to length 1")  # the two spaces K-means runs in, as people read them


def silhouette_vs_k(
    means_raw: np.ndarray, means_normalised: np.ndarray, ks: Sequence[int], *, height: int | None = None
) -> go.Figure:
    """Mean silhouette vs k for the raw code h and the normalised code h/||h||, both (len(ks),), from 0 up."""
    hover = "k = %{x}<br>mean silhouette %{y:.3f}<extra></extra>"
    series = [
        (ks, [float(v) for v in y], name, dict(hovertemplate=f"{name}<br>{symbol}<br>{hover}"))
        for y, name, symbol in zip((means_raw, means_normalised), SPACE_NAMES, ("h", "h/‖h‖"))
    ]
    layout = dict(
        xaxis=dict(title=dict(text="k (number of clusters)"), tickmode="array", tickvals=list(ks)),
        yaxis=dict(title=dict(text="mean silhouette (-1 to 1)"), rangemode="tozero"),
    )
    title = "K-means: mean silhouette vs number of clusters"
    return figure(_line_traces(series, hover), layout, title, height=height, **_header(height))


SILHOUETTE_GROUPS = (  # (lowest best mean silhouette, what it means), after Kaufman & Rousseeuw's reading
    (0.5, "clear groups: the codes fall into separate clusters"),
    (0.25, "weak groups: there is some structure, but the clusters overlap a lot"),
    (-math.inf, "no natural groups: the codes form a continuum rather than separate clusters"),
)


def silhouette_sentence(means_raw: Sequence[float], means_normalised: Sequence[float], ks: Sequence[int]) -> str:
    """One plain sentence on what the mean silhouettes (len(ks),) of the two spaces mean, with the best k."""
    best = [
        (float(v), k, name)
        for means, name in zip((means_raw, means_normalised), ("raw codes", "codes scaled to length 1"))
        for v, k in zip(means, ks)
        if not math.isnan(float(v))
    ]
    if not best:
        return "No silhouettes were computed for this model."
    value, k, name = max(best, key=lambda b: b[0])
    meaning = next(text for low, text in SILHOUETTE_GROUPS if value >= low)
    return (
        f"The mean silhouette reaches at most {value:.2f} (k = {k}, {name}), where 1 would mean perfectly "
        f"separate groups and 0 none. That means {meaning}."
    )


# --------------------------------------------------- per-unit statistics


def unit_frequency_bars(
    unit_frequency: np.ndarray,
    dead_units: np.ndarray,
    dense_units: np.ndarray,
    dense_threshold: float = 0.5,
    *,
    height: int | None = None,
) -> go.Figure:
    """Per-unit firing frequency (n_units,) sorted descending; dead and dense (n_units,) bool coloured apart.

    Dead units fire on no image, so their bars have zero height: they are
    drawn as markers on the axis instead. dense_threshold only labels the legend.
    """
    freq = np.asarray(unit_frequency, dtype=np.float64)
    dead, dense = np.asarray(dead_units, dtype=bool), np.asarray(dense_units, dtype=bool)
    order = np.argsort(-freq, kind="stable")  # rank r shows unit order[r]
    rank = np.arange(len(freq))
    f, is_dead, is_dense = freq[order], dead[order], dense[order]
    other = ~is_dead & ~is_dense
    fig = go.Figure()
    for mask, name, color in (
        (is_dense, f"dense (fires on > {dense_threshold:.0%} of images)", ORANGE),
        (other, "other units", BLUE),
    ):
        fig.add_trace(
            go.Bar(
                x=rank[mask],
                y=f[mask],
                customdata=order[mask],
                name=f"{name}: {int(mask.sum())}",
                marker_color=color,
                hovertemplate="unit %{customdata}<br>fires on %{y:.1%} of test images<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=rank[is_dead],
            y=np.zeros(int(is_dead.sum())),
            customdata=order[is_dead],
            mode="markers",
            name=f"dead (never fires): {int(is_dead.sum())}",
            marker=dict(symbol="x-thin", size=8, color=VERMILLION, line=dict(width=2, color=VERMILLION)),
            hovertemplate="unit %{customdata}<br>dead: fires on no test image<extra></extra>",
            cliponaxis=False,
        )
    )
    finish(
        fig,
        "How often each hidden unit fires (test set)",
        bargap=0.1,
        barmode="overlay",
        showlegend=True,
        height=height,
        **_header(height, legend_rows=2),
    )
    fig.update_xaxes(title_text="unit rank (most frequent first)")
    fig.update_yaxes(title_text="share of test images it fires on", range=[0, 1], tickformat=".0%")
    return fig


def unit_activation_histogram(
    hist: np.ndarray, hist_max: float, n_images: int, unit: int, *, height: int | None = None
) -> go.Figure:
    """A unit's activations over n_images test images: h = 0 (silent) apart, and the histogram (bins,) of h > 0.

    The silent images (often 90% of them) get their own small panel, bar and label, and the active
    histogram its own y scale, so the silent count never squashes the active part flat.
    """
    hist = np.asarray(hist, dtype=np.int64)
    n_active = int(hist.sum())
    n_zero = n_images - n_active
    share = n_zero / n_images if n_images else 0.0
    traces = [
        dict(
            type="bar",
            x=["silent"],
            y=[n_zero],
            name=f"silent: {n_zero:,} images",
            marker=dict(color="#BBBBBB"),
            hovertemplate="silent (h = 0) on %{y:,} test images<extra></extra>",
            xaxis="x",
            yaxis="y",
        )
    ]
    if n_active and hist_max > 0:
        edges = np.linspace(0.0, float(hist_max), len(hist) + 1)
        traces.append(
            dict(
                type="bar",
                x=(edges[:-1] + edges[1:]) / 2,
                y=np.asarray(hist),
                width=np.diff(edges),
                customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                name=f"active: {n_active:,} images",
                marker=dict(color=BLUE),
                hovertemplate="h in (%{customdata[0]:.3g}, %{customdata[1]:.3g}]: %{y} images<extra></extra>",
                xaxis="x2",
                yaxis="y2",
            )
        )
    frac = n_active / n_images if n_images else 0.0
    layout = dict(
        # the silent bar's panel has headroom for its label; the histogram has its own scale
        xaxis=dict(domain=[0, 0.13], title=dict(text=""), fixedrange=True),
        yaxis=dict(range=[0, max(n_images, 1) * 1.45], showticklabels=False, showgrid=False, fixedrange=True),
        # no y title: in a half-page figure it sat on the silent bar's label (the bars' hover says "images")
        xaxis2=dict(domain=[0.34, 1], title=dict(text="activation when it fires")),
        yaxis2=dict(anchor="x2", rangemode="tozero"),
        annotations=[
            dict(
                x="silent",
                y=n_zero,
                xref="x",
                yref="y",
                yanchor="bottom",
                text=f"silent<br>{n_zero:,}<br>({share:.0%})",
                showarrow=False,
                name="silent",
            )
        ],
        bargap=0.05,
        showlegend=False,
    )
    # short titles: the figure is half a page wide, and a projector's 1280 px leave it about 400
    return figure(traces, layout, f"Unit {unit} fires on {frac:.1%}", height=height)


def unit_digit_bars(label_frequency: np.ndarray, unit: int, *, height: int | None = None) -> go.Figure:
    """How often a unit fires on each digit: label_frequency (10,) = fraction of that digit's test images."""
    freq = np.asarray(label_frequency, dtype=np.float64)
    digits = range(len(freq))
    bars = dict(
        type="bar",
        x=[str(d) for d in digits],
        y=freq,
        marker=dict(color=[DIGIT_COLORS[d % len(DIGIT_COLORS)] for d in digits]),
        hovertemplate="fires on %{y:.1%} of the test images of digit %{x}<extra></extra>",
    )
    layout = dict(
        xaxis=dict(title=dict(text="digit"), type="category"),
        yaxis=dict(title=dict(text="fraction of that digit's images"), range=[0, 1], tickformat=".0%"),
    )
    return figure([bars], layout, f"How often unit {unit} fires, by digit", height=height)


# ------------------------------------------------ the sparsity-fidelity frontier


def frontier(
    rows: Sequence[Mapping],
    front: Sequence[int],
    selected: tuple[float, float] | None = None,
    x_key: str = "l0_mean_test",
    y_key: str = "mse_test",
    *,
    height: int | None = None,
) -> go.Figure:
    """Every analysed cell (rows of dicts with lambda_k, lambda_a, x_key, y_key) as one point.

    Colour and symbol: lambda_a; front: indices into rows of the Pareto front (drawn as a line);
    selected: the (lambda_k, lambda_a) ringed. customdata of every point: (lambda_k, lambda_a).
    """
    x_titles = {
        "l0_mean_test": "active units per digit (mean, of 196) →  denser code",
        "density_test": "density of the code (fraction of non-zero entries) →  denser code",
    }
    fig = go.Figure()
    lambda_as = sorted({float(r["lambda_a"]) for r in rows})
    symbols = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon")
    # Viridis from dark purple to green, stopping before its light yellows: every colour reads on white
    palette = colors.sample_colorscale("Viridis", np.linspace(0, FRONTIER_LIGHTEST, max(2, len(lambda_as))))
    for i, la in enumerate(lambda_as):
        group = [r for r in rows if _same(r["lambda_a"], la)]
        color = palette[i]
        fig.add_trace(
            go.Scatter(
                x=[r[x_key] for r in group],
                y=[r[y_key] for r in group],
                customdata=[(r["lambda_k"], r["lambda_a"]) for r in group],
                mode="markers",
                name=f"λ_a = {lambda_tick(la)}",
                marker=dict(size=11, color=color, symbol=symbols[i % len(symbols)], line=dict(width=1, color=OUTLINE)),
                hovertemplate="λ_k = %{customdata[0]:.3g}, λ_a = %{customdata[1]:.3g}<br>"
                + "x = %{x:.4g}<br>test MSE = %{y:.4g}<extra></extra>",
            )
        )
    pts = sorted((rows[i] for i in front), key=lambda r: float(r[x_key]))
    fig.add_trace(
        go.Scatter(
            x=[r[x_key] for r in pts],
            y=[r[y_key] for r in pts],
            mode="lines",
            name="Pareto front (best trade-offs)",
            line=dict(color=VERMILLION, width=2, dash="dash", shape="hv"),
            hoverinfo="skip",
        )
    )
    sel = next(
        (r for r in rows if selected and _same(r["lambda_k"], selected[0]) and _same(r["lambda_a"], selected[1])), None
    )
    if sel is not None:
        fig.add_trace(
            go.Scatter(
                x=[sel[x_key]],
                y=[sel[y_key]],
                mode="markers",
                name="selected model",
                marker=dict(symbol="circle-open", size=22, color="black", line=dict(width=3)),
                hoverinfo="skip",
            )
        )
    finish(
        fig,
        f"Sparsity–fidelity trade-off: {len(rows)} trained networks",
        legend=dict(title=dict(text="activity penalty")),
        clickmode="event+select",
        height=height,
    )
    fig.update_xaxes(title_text=x_titles.get(x_key, x_key))
    fig.update_yaxes(title_text="error (test MSE) ↑ worse", type="log", **_log_ticks([r[y_key] for r in rows]))
    return fig
