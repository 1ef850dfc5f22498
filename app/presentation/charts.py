"""Charts: lines, bars, boxes and scatters, one builder per figure of DESIGN §1 (plus the per-unit statistics).

Arrays (or the results table's rows) in, `go.Figure` out. Nothing here
computes an analysis: the arrays come from `core.analysis` (through the
store) exactly as stored. Two-series line charts share one style
(`_two_lines`); 10,000-point scatters use WebGL (`Scattergl`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app.presentation.style import BLUE, DIGIT_COLORS, LEGEND_TOP, MEAN_LINE, ORANGE, VERMILLION, finish, note
from core.analysis import BOX_COLUMNS
from core.config import same_lambda

__all__ = [
    "BOX_COLUMNS",
    "cosine_boxes",
    "density_vs_lambda",
    "frontier",
    "loss_vs_lambda",
    "silhouette_panels",
    "silhouette_vs_k",
    "training_curves",
    "tsne_map",
    "unit_activation_histogram",
    "unit_digit_bars",
    "unit_frequency_bars",
]

LAMBDA_TITLES = {"lambda_k": "λ_k (L2 weight on the encoder kernel W1)", "lambda_a": "λ_a (L2 weight on the code h)"}
SERIES_STYLE = ((BLUE, "solid", "circle"), (VERMILLION, "dash", "diamond"))  # (colour, dash, marker) of series 1, 2


# ------------------------------------------------------------------ helpers


def _other_axis(axis: str) -> str:
    if axis not in LAMBDA_TITLES:
        raise ValueError(f"axis must be 'lambda_k' or 'lambda_a', got {axis!r}")
    return "lambda_a" if axis == "lambda_k" else "lambda_k"


def _same(a: float, b: float) -> bool:
    """Lambdas come back from JSON and linspace: the grid's one rule, `core.config.same_lambda`, not ==."""
    return same_lambda(a, b)


def _slice_rows(rows: Sequence[Mapping], axis: str, fixed: float) -> list[Mapping]:
    """The rows whose other lambda equals `fixed`, sorted by `axis`."""
    other = _other_axis(axis)
    return sorted((r for r in rows if _same(r[other], fixed)), key=lambda r: float(r[axis]))


def _selected_row(rows: Sequence[Mapping], axis: str, selected: float | None) -> Mapping | None:
    if selected is None:
        return None
    return next((r for r in rows if _same(r[axis], selected)), None)


def _selected_trace(x: float, ys: Sequence[float]) -> go.Scatter:
    """A ring around the selected model's point on every curve (one legend entry)."""
    return go.Scatter(
        x=[x] * len(ys),
        y=list(ys),
        mode="markers",
        name="selected model",
        marker=dict(symbol="circle-open", size=18, color="black", line=dict(width=2.5)),
        hovertemplate="selected model<br>λ = %{x:.3g}<br>%{y:.4g}<extra></extra>",
        cliponaxis=False,
    )


def _two_lines(fig: go.Figure, series: Sequence, hover: str, size: int = 8, **trace) -> None:
    """Two lines+markers traces in SERIES_STYLE; series: (x, y, name) each, or None for one not drawn.

    hover: what the tooltip says below the series' name (a Plotly template); trace: more Scatter options.
    """
    for s, (color, dash, symbol) in zip(series, SERIES_STYLE):
        if s is None:
            continue
        x, y, name = s
        fig.add_trace(
            go.Scatter(
                x=list(x),
                y=list(y),
                mode="lines+markers",
                name=name,
                line=dict(color=color, dash=dash),
                marker=dict(symbol=symbol, size=size, color=color),
                hovertemplate=f"{name}<br>{hover}<extra></extra>",
                **trace,
            )
        )


def _lambda_layout(fig: go.Figure, axis: str, fixed: float, title: str, n: int) -> None:
    other = _other_axis(axis)
    sym = "λ_a" if other == "lambda_a" else "λ_k"
    finish(fig, f"{title} ({sym} = {fixed:.3g})", legend=LEGEND_TOP)
    fig.update_xaxes(title_text=LAMBDA_TITLES[axis], exponentformat="e", showexponent="all")
    if n == 0:
        note(fig, f"no analysed models with {sym} = {fixed:.3g}")


# ------------------------------------------------- 1-2. sweeps over lambda


def loss_vs_lambda(rows: Sequence[Mapping], axis: str, fixed: float, selected: float | None = None) -> go.Figure:
    """Final train and test total loss vs `axis` over the grid rows (dicts) whose other lambda is `fixed`."""
    data = _slice_rows(rows, axis, fixed)
    x = [float(r[axis]) for r in data]
    fig = go.Figure()
    series = [
        (x, [float(r[key]) for r in data], f"{name} loss")
        for key, name in (("loss_train", "train"), ("loss_test", "test"))
    ]
    _two_lines(fig, series, "λ = %{x:.3g}<br>loss = %{y:.5g}")
    sel = _selected_row(data, axis, selected)
    if sel is not None:
        fig.add_trace(_selected_trace(float(sel[axis]), [float(sel["loss_train"]), float(sel["loss_test"])]))
    _lambda_layout(fig, axis, fixed, "Final loss vs regularization", len(data))
    fig.update_yaxes(title_text="loss (MSE + penalties)", exponentformat="e")
    return fig


def density_vs_lambda(rows: Sequence[Mapping], axis: str, fixed: float, selected: float | None = None) -> go.Figure:
    """Density and sparsity (1 - density) of the test-set code vs `axis` over the grid rows (dicts)."""
    data = _slice_rows(rows, axis, fixed)
    x = [float(r[axis]) for r in data]
    density = [float(r["density_test"]) for r in data]
    sparsity = [1.0 - d for d in density]  # from density, so the two always sum to 1
    fig = go.Figure()
    series = [(x, density, "density (non-zero entries)"), (x, sparsity, "sparsity (zero entries)")]
    _two_lines(fig, series, "λ = %{x:.3g}<br>%{y:.3f}", cliponaxis=False)  # points at exactly 0 or 1 stay whole
    sel = _selected_row(data, axis, selected)
    if sel is not None:
        d = float(sel["density_test"])
        fig.add_trace(_selected_trace(float(sel[axis]), [d, 1.0 - d]))
    _lambda_layout(fig, axis, fixed, "Density and sparsity of the code h (test set)", len(data))
    fig.update_yaxes(title_text="fraction of code entries", range=[0, 1])
    return fig


# --------------------------------------------------------------- training


def training_curves(history: Mapping) -> go.Figure:
    """Train and test total loss per epoch from a history dict ("loss", "val_loss": (n_epochs,) lists)."""
    fig = go.Figure()
    series = []
    for key, name in (("loss", "train"), ("val_loss", "test")):
        y = [float(v) for v in history.get(key, [])]
        series.append((range(1, len(y) + 1), y, f"{name} loss") if y else None)
    _two_lines(fig, series, "epoch %{x}<br>%{y:.5g}", size=5)
    n_epochs = int(history["last_epoch"]) + 1 if "last_epoch" in history else len(history.get("loss", []))
    finish(fig, f"Training curves ({n_epochs} epochs, early stopping on test loss)", legend=LEGEND_TOP)
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_yaxes(title_text="loss (MSE + penalties, log scale)", type="log", exponentformat="e")
    return fig


# ------------------------------------------------------ 5. cosine boxes


def cosine_boxes(same_box: np.ndarray, diff_box: np.ndarray) -> go.Figure:
    """Box plots of cosine similarity per digit from precomputed stats, same_box and diff_box (10, len(BOX_COLUMNS))."""
    col = {name: i for i, name in enumerate(BOX_COLUMNS)}
    fig = make_subplots(rows=1, cols=2, subplot_titles=("same digit", "different digit"), shared_yaxes=True)
    lowest = 0.0
    for panel, stats in enumerate((np.asarray(same_box), np.asarray(diff_box)), start=1):
        for d in range(stats.shape[0]):
            s = stats[d]
            if s[col["n"]] == 0:  # no pairs for this digit: nothing to draw
                continue
            lowest = min(lowest, float(s[col["lowerfence"]]), float(s[col["min"]]))
            fig.add_trace(
                go.Box(
                    x=[d],
                    q1=[s[col["q1"]]],
                    median=[s[col["median"]]],
                    q3=[s[col["q3"]]],
                    lowerfence=[s[col["lowerfence"]]],
                    upperfence=[s[col["upperfence"]]],
                    mean=[s[col["mean"]]],
                    name=f"digit {d}",
                    legendgroup=f"digit {d}",
                    showlegend=panel == 1,
                    marker_color=DIGIT_COLORS[d % len(DIGIT_COLORS)],
                    boxpoints=False,
                    hovertext=f"digit {d}: {int(s[col['n']])} pairs",
                ),
                row=1,
                col=panel,
            )
    finish(
        fig,
        "Cosine similarity of normalised codes, by digit of the first image of each pair",
        boxmode="overlay",
        legend=dict(title=dict(text="digit")),
    )
    fig.update_xaxes(title_text="digit", tickmode="array", tickvals=list(range(10)), range=[-0.6, 9.6])
    fig.update_yaxes(range=[lowest, 1])
    fig.update_yaxes(title_text="cosine similarity", row=1, col=1)
    return fig


# ------------------------------------------------------------------ 6. t-SNE


def tsne_map(
    embedding: np.ndarray, labels: np.ndarray, title: str, index: np.ndarray | None = None, n_classes: int = 10
) -> go.Figure:
    """t-SNE embedding (n, 2) coloured by digit labels (n,); index (n,) the test-image indices (default 0..n-1)."""
    embedding = np.asarray(embedding)
    labels = np.asarray(labels)
    index = np.arange(len(labels)) if index is None else np.asarray(index)
    fig = go.Figure()
    for d in range(n_classes):
        mask = labels == d
        fig.add_trace(
            go.Scattergl(
                x=embedding[mask, 0],
                y=embedding[mask, 1],
                mode="markers",
                name=str(d),
                customdata=index[mask],
                marker=dict(size=3, color=DIGIT_COLORS[d % len(DIGIT_COLORS)], opacity=0.7),
                hovertemplate=f"digit {d}<br>test image %{{customdata}}<extra></extra>",
            )
        )
    finish(fig, title, legend=dict(title=dict(text="digit"), itemsizing="constant"))
    # t-SNE coordinates have no unit and no meaningful scale: hide the ticks, keep the aspect
    fig.update_xaxes(title_text="t-SNE 1", showticklabels=False, ticks="", showgrid=False, zeroline=False)
    fig.update_yaxes(
        title_text="t-SNE 2", showticklabels=False, ticks="", showgrid=False, zeroline=False, scaleanchor="x"
    )
    return fig


# ----------------------------------------------------- 7. K-means silhouettes


def _downsample_sorted(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, values) of at most max_points evenly spaced entries, the first and last always kept."""
    m = len(values)
    if m <= max_points:
        pos = np.arange(m)
    else:
        pos = np.unique(np.linspace(0, m - 1, max_points).round().astype(np.int64))
    return pos, values[pos]


def silhouette_panels(
    samples: np.ndarray,
    labels: np.ndarray,
    ks: Sequence[int],
    title: str,
    means: np.ndarray | None = None,
    max_points: int = 200,
    n_cols: int = 3,
) -> go.Figure:
    """Classic silhouette plots, one panel per k: samples (len(ks), n) silhouettes, labels (len(ks), n) clusters.

    means (len(ks),) are the dashed lines (default: the mean of each row of
    samples); each cluster's sorted band is downsampled to max_points points.
    """
    samples, labels = np.asarray(samples), np.asarray(labels)
    means = samples.mean(axis=1) if means is None else np.asarray(means)
    n_rows = max(1, math.ceil(len(ks) / n_cols))
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=[f"k = {k}" for k in ks],
        horizontal_spacing=0.06,
        vertical_spacing=0.08,
    )
    palette = px.colors.qualitative.Safe
    n = samples.shape[1]
    gap = max(2, n // 100)  # the original's 10-sample gap is invisible at 10,000 samples
    x_min = min(-0.1, float(samples.min()) if samples.size else 0.0)
    # Collected and added in bulk: make_subplots' per-trace add_trace(row=, col=) and
    # add_vline/add_annotation cost milliseconds each, which made this figure the
    # dashboard's slowest (about 0.5 s for 9 panels x 10 clusters).
    traces, annotations, shapes = [], list(fig.layout.annotations), []
    for p, _k in enumerate(ks):
        axis = "" if p == 0 else str(p + 1)
        y_lower = 0
        for c in np.unique(labels[p]):
            vals = np.sort(samples[p][labels[p] == c])
            pos, v = _downsample_sorted(vals, max_points)
            y = y_lower + pos
            color = palette[int(c) % len(palette)]
            traces.append(
                go.Scatter(
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
            annotations.append(
                dict(
                    x=-0.05,
                    y=y_lower + len(vals) / 2,
                    text=str(c),
                    showarrow=False,
                    font=dict(size=10),
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
    fig.add_traces(traces)
    fig.update_layout(annotations=annotations, shapes=shapes)
    fig.update_xaxes(range=[x_min, 1])
    fig.update_yaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False)
    for c in range(1, n_cols + 1):
        fig.update_xaxes(title_text="silhouette value", row=n_rows, col=c)
    for r in range(1, n_rows + 1):
        fig.update_yaxes(title_text="samples by cluster", row=r, col=1)
    finish(
        fig, f"{title} (bands: clusters, sorted; dashed red: mean silhouette)", height=300 * n_rows, showlegend=False
    )
    return fig


def silhouette_vs_k(means_raw: np.ndarray, means_normalised: np.ndarray, ks: Sequence[int]) -> go.Figure:
    """Mean silhouette vs k for the raw code h and the normalised code h/||h||, both (len(ks),)."""
    fig = go.Figure()
    series = [
        (ks, [float(v) for v in y], name)
        for y, name in ((means_raw, "raw code h"), (means_normalised, "normalised code h/||h||"))
    ]
    _two_lines(fig, series, "k = %{x}<br>mean silhouette %{y:.3f}")
    finish(fig, "K-means: mean silhouette vs number of clusters", legend=LEGEND_TOP)
    fig.update_xaxes(title_text="k (number of clusters)", tickmode="array", tickvals=list(ks))
    fig.update_yaxes(title_text="mean silhouette (-1 to 1)")
    return fig


# --------------------------------------------------- per-unit statistics


def unit_frequency_bars(
    unit_frequency: np.ndarray, dead_units: np.ndarray, dense_units: np.ndarray, dense_threshold: float = 0.5
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
        "How often each hidden unit fires (test set), units sorted",
        bargap=0.1,
        barmode="overlay",
        legend=LEGEND_TOP,
    )
    fig.update_xaxes(title_text="unit rank (most frequent first)")
    fig.update_yaxes(title_text="fraction of test images with h > 0", range=[0, 1])
    return fig


def unit_activation_histogram(hist: np.ndarray, hist_max: float, n_images: int, unit: int) -> go.Figure:
    """A unit's activations over n_images test images: one bar for h = 0 and the histogram (bins,) of h > 0."""
    hist = np.asarray(hist, dtype=np.int64)
    n_active = int(hist.sum())
    n_zero = n_images - n_active
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=["silent (h = 0)"],
            y=[n_zero],
            name=f"silent: {n_zero} images",
            marker_color="#999999",
            hovertemplate="h = 0 on %{y} test images<extra></extra>",
            xaxis="x",
        )
    )
    if n_active and hist_max > 0:
        edges = np.linspace(0.0, float(hist_max), len(hist) + 1)
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=hist,
                width=np.diff(edges),
                customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                name=f"active: {n_active} images",
                marker_color=BLUE,
                hovertemplate="h in (%{customdata[0]:.3g}, %{customdata[1]:.3g}]: %{y} images<extra></extra>",
                xaxis="x2",
            )
        )
    frac = n_active / n_images if n_images else 0.0
    finish(
        fig,
        f"Unit {unit} fires on {frac:.1%} of the {n_images:,} test images",
        xaxis=dict(domain=[0, 0.14], title_text=""),
        xaxis2=dict(domain=[0.2, 1], title_text="activation h when active", anchor="y"),
        yaxis=dict(title_text="test images"),
        bargap=0.05,
        legend=LEGEND_TOP,
    )
    return fig


def unit_digit_bars(label_frequency: np.ndarray, unit: int) -> go.Figure:
    """How often a unit fires on each digit: label_frequency (10,) = fraction of that digit's test images."""
    freq = np.asarray(label_frequency, dtype=np.float64)
    digits = np.arange(len(freq))
    fig = go.Figure(
        go.Bar(
            x=[str(d) for d in digits],
            y=freq,
            marker_color=[DIGIT_COLORS[d % len(DIGIT_COLORS)] for d in digits],
            hovertemplate="fires on %{y:.1%} of the test images of digit %{x}<extra></extra>",
        )
    )
    finish(fig, f"What unit {unit} is for: how often it fires on each digit")
    fig.update_xaxes(title_text="digit", type="category")
    fig.update_yaxes(title_text="fraction of that digit's images", range=[0, 1], tickformat=".0%")
    return fig


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
        "l0_mean_test": "active units per digit (mean L0 of the code, of 196) →  denser code",
        "density_test": "density of the code (fraction of non-zero entries) →  denser code",
    }
    fig = go.Figure()
    lambda_as = sorted({float(r["lambda_a"]) for r in rows})
    symbols = ("circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon")
    palette = px.colors.sequential.Viridis
    for i, la in enumerate(lambda_as):
        group = [r for r in rows if _same(r["lambda_a"], la)]
        color = palette[round(i * (len(palette) - 1) / max(1, len(lambda_as) - 1))]
        fig.add_trace(
            go.Scatter(
                x=[r[x_key] for r in group],
                y=[r[y_key] for r in group],
                customdata=[(r["lambda_k"], r["lambda_a"]) for r in group],
                mode="markers",
                name=f"λ_a = {la:.3g}",
                marker=dict(size=10, color=color, symbol=symbols[i % len(symbols)], line=dict(width=1, color="white")),
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
    fig.update_yaxes(title_text="reconstruction error on the test set (MSE) ↑ worse", type="log")
    return fig
