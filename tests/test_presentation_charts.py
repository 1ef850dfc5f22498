"""Tests for app.presentation.charts: what each chart shows, on tiny synthetic arrays."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from app.presentation import charts, motion, style
from core import analysis

KS = tuple(range(2, 11))


def make_rows(history: bool = True, train_density: bool = True) -> list[dict]:
    """A 3 x 3 grid table (lambda_k x lambda_a) with distinct, known values.

    history: with Keras' last-epoch losses (history_loss_*); train_density: with density_train.
    Either left out is a cache from before those keys.
    """
    rows = []
    for i, lk in enumerate(np.linspace(0, 1e-4, 3)):
        for j, la in enumerate((0.0, 1e-5, 1e-4)):
            density = 0.9 - 0.2 * i - 0.1 * j
            row = {
                "lambda_k": float(lk),
                "lambda_a": la,
                "loss_train": 0.001 + 0.001 * i + 0.0001 * j,
                "loss_test": 0.0012 + 0.001 * i + 0.0001 * j,
                "mse_train": 0.0008 + 0.0001 * i + 0.00001 * j,
                "mse_test": 0.0009 + 0.0001 * i + 0.00001 * j,
                "density_test": density,
                "sparsity_test": 1 - density,
                "l0_mean_test": 196 * density,
                "n_dead_units": i,
            }
            if history:
                row |= {"history_loss_train": row["loss_train"] * 1.05, "history_loss_test": row["loss_test"] * 0.99}
            if train_density:
                row["density_train"] = density + 0.01
            rows.append(row)
    return rows[::-1]  # unsorted on purpose: the figure must sort by x


def make_box(rng: np.random.Generator, n_classes: int = 10) -> np.ndarray:
    """Plausible BOX_COLUMNS stats per digit: (n_classes, 9), ordered min <= ... <= max."""
    q = np.sort(rng.random((n_classes, 7)), axis=1)  # min, lowerfence, q1, median, q3, upperfence, max
    n = rng.integers(10, 100, n_classes)
    mean = q[:, 3] + 0.01
    cols = dict(zip(("min", "lowerfence", "q1", "median", "q3", "upperfence", "max"), q.T, strict=True))
    cols |= {"n": n, "mean": mean}
    return np.stack([cols[c] for c in charts.BOX_COLUMNS], axis=1).astype(np.float64)


def line_arrays(fig: go.Figure):
    """Every x/y array of the figure's non-image traces."""
    for tr in fig.data:
        if tr.type in ("heatmap", "image", "box"):
            continue
        for a in (tr.x, tr.y):
            if a is not None:
                yield np.asarray(a, dtype=np.float64)


def assert_no_nan(fig: go.Figure) -> None:
    for a in line_arrays(fig):
        assert not np.isnan(a).any()


def assert_titled(fig: go.Figure) -> None:
    assert fig.layout.title.text


def by_name(fig: go.Figure, name: str):
    (trace,) = [t for t in fig.data if t.name == name]
    return trace


# --------------------------------------------------------------- constants


def test_constants():
    assert charts.BOX_COLUMNS == analysis.BOX_COLUMNS
    assert len(style.DIGIT_COLORS) == 10 and len(set(style.DIGIT_COLORS)) == 10


def test_finish_sets_title_and_template_and_leaves_out_unset_options():
    fig = style.finish(go.Figure(), "a title", height=None, margin=dict(l=0), showlegend=False)
    assert fig.layout.title.text == "a title" and fig.layout.height is None
    assert fig.layout.margin.l == 0 and fig.layout.showlegend is False and fig.layout.template.layout


def test_a_figure_built_from_dicts_is_the_figure_finish_makes():
    """style.figure skips Plotly's checks (the overview's first visit: 183-190 -> 109-113 ms); what it makes
    must be exactly what the checked way makes, nested options merged as update_layout merges them."""
    data = [
        dict(type="scatter", x=[0, 1], y=[0.5, 0.25], name="a", line=dict(color=style.BLUE, dash="dash")),
        dict(type="bar", x=["silent"], y=[3], marker=dict(color="#BBBBBB"), xaxis="x2", yaxis="y2"),
    ]
    layout = dict(
        xaxis=dict(title=dict(text="λ"), range=[-0.5, 1.5]),
        yaxis2=dict(anchor="x2"),
        margin=dict(l=10, b=84),
        legend=dict(orientation="h"),
    )
    options = dict(
        height=460,
        width=None,  # left out, as finish leaves it out
        margin=dict(t=86),  # merged into the layout's margin, not replacing it
        legend=dict(yref="container", y=0.9),
        title=dict(yref="container", pad=dict(t=12)),
        showlegend=False,
    )
    fast = style.figure(data, layout, "a title", **options)
    checked = style.finish(go.Figure(data, layout), "a title", **options)
    assert fast.to_plotly_json() == checked.to_plotly_json()
    assert fast.layout.margin.l == 10 and fast.layout.margin.t == 86 and fast.layout.title.pad.t == 12
    assert fast.layout.template.layout.plot_bgcolor == "white"


def _json(spec: dict) -> str:
    """A figure dict as Streamlit sends it (Plotly's JSON of it)."""
    return pio.to_json(spec, validate=False)


def test_a_figure_dict_made_directly_is_the_one_plotly_makes():
    """style.as_dict is what Streamlit sends for a kept figure; it must be exactly Figure.to_dict(), for
    every figure the pages draw (charts and pictures) and for what to_dict treats apart."""
    from app.presentation import images

    rng = np.random.default_rng(5)
    W1 = rng.normal(size=(784, 16)).astype(np.float32)
    x = rng.random((4, 28, 28))
    code = rng.random((4, 16))
    figs = every_figure() | {
        "filter_grid": images.filter_grid(W1, rng.random(16) < 0.3, selected=2, clickable=True),
        "unit_filter": images.unit_filter(W1[:, 0], 0),
        "reconstruction_grid": images.reconstruction_grid(x, code, code, x, np.arange(4)),
        "digit_tiles": images.digit_tiles(x, [f"image {i}" for i in range(4)], "top", n_cols=2),
        "a gliding map": charts.tsne_map(
            rng.normal(size=(200, 2)), rng.integers(0, 10, 200), "The codes", glide=motion.glide_meta("m", "raw")
        ),
        "odd arrays": go.Figure(
            [
                go.Scatter(x=np.arange(5, dtype=np.int64), y=np.arange(5, dtype=np.uint64) * 1000),
                go.Scatter(x=np.array([2**40, 1]), y=np.array([True, False]), text=np.array(["a", "b"])),
                go.Scatter(x=np.arange(6.0)[::2], y=np.zeros(0), customdata=np.ones((3, 2), np.float32)),
                go.Scatter(x=np.arange(3, dtype=np.float16), y=np.arange(12.0).reshape(3, 4)[:, 1]),
            ],
            layout=dict(xaxis=dict(range=np.array([0.0, 4.0])), meta=dict(list=[np.arange(2), {"a": np.arange(2)}])),
            frames=[dict(name="f", data=[dict(type="scatter", x=np.arange(3, dtype=np.int16))])],
        ),
    }
    for name, fig in figs.items():
        assert _json(style.as_dict(fig)) == _json(fig.to_dict()), name


def test_the_trimmed_template_styles_everything_the_figures_draw_as_plotly_white_does():
    """The template keeps plotly_white's look for every kind of trace and plot the dashboard draws."""
    from app.presentation import images

    white = pio.templates["plotly_white"]
    ours = style.template()
    rng = np.random.default_rng(2)
    W1 = rng.normal(size=(784, 16))
    figs = list(every_figure().values()) + [
        images.filter_grid(W1, clickable=True),
        images.digit_tiles(rng.random((2, 28, 28)), ["a", "b"], "t"),
    ]
    for fig in figs:
        for kind in {t.type for t in fig.data}:
            assert kind in style.TRACES_DRAWN or not white.data[kind], kind
            assert ours.data[kind] == white.data[kind], kind
        assert not set(fig.layout.to_plotly_json()) & set(style.LAYOUT_UNUSED)
    assert ours.layout.to_plotly_json() == {
        k: v for k, v in white.layout.to_plotly_json().items() if k not in style.LAYOUT_UNUSED
    }
    assert len(ours.to_plotly_json().__repr__()) < len(white.to_plotly_json().__repr__()) / 2


def test_two_series_charts_share_one_style():
    history = {"loss": [0.05, 0.02], "val_loss": [0.04, 0.03]}
    figs = (
        charts.loss_vs_lambda(make_rows(), "lambda_k", 0.0),
        charts.density_vs_lambda(make_rows(), "lambda_k", 0.0),
        charts.training_curves(history),
        charts.silhouette_vs_k(np.ones(9), np.zeros(9), KS),
    )
    for fig in figs:
        first, second = fig.data[:2]
        assert (first.line.color, first.line.dash) == (style.BLUE, "solid")
        assert (second.line.color, second.line.dash) == (style.VERMILLION, "dash")
        assert second.hovertemplate.startswith(second.name + "<br>")
        assert fig.layout.legend.orientation == "h"
    only_test = charts.training_curves({"loss": [], "val_loss": [0.04, 0.03]})
    assert [t.name for t in only_test.data] == ["test loss"] and only_test.data[0].line.color == style.VERMILLION


# ------------------------------------------------------------ lambda sweeps


GRID_K = tuple(float(v) for v in np.linspace(0, 1e-4, 10))
GRID_A = (0.0, 3e-4, 1e-3, 3e-3, 1e-2)


@pytest.mark.parametrize("axis,fixed", [("lambda_k", 1e-5), ("lambda_a", 5e-5)])
def test_loss_vs_lambda_keeps_the_slice_sorted_and_rings_the_selection(axis, fixed):
    rows = make_rows()
    other = "lambda_a" if axis == "lambda_k" else "lambda_k"
    want = sorted((r for r in rows if np.isclose(r[other], fixed)), key=lambda r: r[axis])
    selected = want[1][axis]
    fig = charts.loss_vs_lambda(rows, axis, fixed, selected)
    # top panel: how well it redraws digits, the reconstruction error
    train, test = by_name(fig, "training set"), by_name(fig, "test set")
    assert list(train.x) == [0, 1, 2]  # one evenly spaced position per value
    assert list(train.customdata) == [r[axis] for r in want]  # the hover says the exact lambda
    assert list(train.y) == [r["mse_train"] for r in want]
    assert list(test.y) == [r["mse_test"] for r in want]
    assert "reconstruction error (MSE)" in test.hovertemplate and "%{customdata:.4g}" in test.hovertemplate
    # bottom panel: the total loss as the original plots it, Keras' last-epoch history
    total_train, total_test = by_name(fig, "training set: total loss"), by_name(fig, "test set: total loss")
    assert list(total_train.y) == [r["history_loss_train"] for r in want]
    assert list(total_test.y) == [r["history_loss_test"] for r in want]
    assert (total_train.xaxis, total_train.yaxis) == ("x2", "y2") and (train.xaxis, train.yaxis) == ("x", "y")
    assert total_train.showlegend is False and train.legendgroup == total_train.legendgroup
    titles = [a.text for a in fig.layout.annotations]
    assert titles[:2] == ["How well it redraws digits: error (MSE)", "What training minimises: loss + penalties"]
    assert "Keras reports" in total_test.hovertemplate
    # both panels on one y scale
    assert fig.layout.yaxis.range == fig.layout.yaxis2.range and fig.layout.yaxis.type == fig.layout.yaxis2.type
    rings = [t for t in fig.data if t.name == "selected model"]
    assert [list(t.x) for t in rings] == [[1, 1], [1, 1]]
    assert list(rings[0].y) == [want[1]["mse_train"], want[1]["mse_test"]]
    assert list(rings[1].y) == [want[1]["history_loss_train"], want[1]["history_loss_test"]]
    assert [t.showlegend for t in rings] == [True, False]
    assert fig.layout.xaxis2.title.text and train.line.color != test.line.color
    assert_titled(fig)
    assert_no_nan(fig)


def test_loss_vs_lambda_draws_the_seed_spread_as_a_band_under_the_originals_losses():
    """Cells trained under several seeds (bench/seed_spread.py) get a min-max band; one seed, none."""
    rows = make_rows()
    assert not [t for t in charts.loss_vs_lambda(rows, "lambda_k", 0.0).data if t.fill]  # one seed each: no band
    for r in rows:
        several = r["lambda_a"] == 0 and r["lambda_k"] > 0
        r["seeds"] = 5 if several else 1
        for g in ("train", "test"):
            v = r[f"history_loss_{g}"]
            r[f"history_loss_{g}_min"], r[f"history_loss_{g}_max"] = (v * 0.97, v * 1.04) if several else (v, v)
    want = sorted((r for r in rows if r["lambda_a"] == 0), key=lambda r: r["lambda_k"])
    fig = charts.loss_vs_lambda(rows, "lambda_k", 0.0)
    bands = [i for i, t in enumerate(fig.data) if t.fill == "tonexty"]
    assert len(bands) == 2
    for i, g in zip(bands, ("train", "test")):
        upper, lower = fig.data[i], fig.data[i - 1]  # the filled trace fills down to the one before it
        assert list(upper.y) == [r[f"history_loss_{g}_max"] for r in want]
        assert list(lower.y) == [r[f"history_loss_{g}_min"] for r in want]
        assert (upper.xaxis, upper.yaxis) == ("x2", "y2") and list(upper.x) == [0, 1, 2]
    assert [fig.data[i].showlegend for i in bands] == [False, True]
    assert fig.data[bands[1]].name == "spread over 5 seeds (min–max)"
    assert bands[1] < fig.data.index(by_name(fig, "test set: total loss"))  # under the lines
    assert fig.layout.yaxis2.range[1] >= max(r["history_loss_test_max"] for r in want)  # the band fits


def test_loss_vs_lambda_without_the_history_shows_the_recomputed_total_and_says_so():
    rows = make_rows(history=False)
    fig = charts.loss_vs_lambda(rows, "lambda_k", 0.0)
    want = sorted((r for r in rows if r["lambda_a"] == 0), key=lambda r: r["lambda_k"])
    assert list(by_name(fig, "training set: total loss").y) == [r["loss_train"] for r in want]
    assert list(by_name(fig, "test set: total loss").y) == [r["loss_test"] for r in want]
    assert fig.layout.annotations[1].text == "What training minimises: loss + penalties (recomputed)"
    assert "recomputed on the final weights" in by_name(fig, "test set: total loss").hovertemplate


def test_loss_vs_lambda_goes_logarithmic_when_the_values_span_decades():
    rows = make_rows()
    assert fig_type(charts.loss_vs_lambda(rows, "lambda_k", 0.0)) == "linear"
    for r in rows:
        r["history_loss_test"] = r["history_loss_train"] = 0.1  # far above the MSE (0.0008..0.001)
    fig = charts.loss_vs_lambda(rows, "lambda_k", 0.0)
    assert fig_type(fig) == "log" and fig.layout.yaxis2.type == "log"
    lo, hi = fig.layout.yaxis.range
    assert lo < np.log10(0.0008) and hi > np.log10(0.1)
    assert "0.001" in fig.layout.yaxis.ticktext and "0.1" in fig.layout.yaxis.ticktext  # written out, not 2..9


def fig_type(fig: go.Figure) -> str:
    return fig.layout.yaxis.type


@pytest.mark.parametrize("build", [charts.loss_vs_lambda, charts.density_vs_lambda])
def test_a_lambda_axis_has_one_position_per_grid_value_even_before_the_grid_is_ready(build):
    rows = [
        {**r, "lambda_k": 0.0, "lambda_a": la}
        for r, la in zip(make_rows(), (1e-2, 3e-4))  # only two of five lambda_a ready, out of order
    ]
    fig = build(rows, "lambda_a", 0.0, 1e-2, grid_values=GRID_A)
    xaxis = fig.layout.xaxis2 if build is charts.loss_vs_lambda else fig.layout.xaxis
    assert list(xaxis.tickvals) == [0, 1, 2, 3, 4]
    assert list(xaxis.ticktext) == ["0", "3e-4", "0.001", "0.003", "0.01"]
    assert list(xaxis.range) == [-0.5, 4.5]  # never from -1 to 1 around a single point
    first = fig.data[0]
    assert list(first.x) == [1, 4]  # 3e-4 and 1e-2 at their own positions, 0 and 3e-4 apart
    sel = by_name(fig, "selected model") if build is charts.density_vs_lambda else fig.data[-2]
    assert set(sel.x) == {4}
    # lambda_k: ten positions, each with its tick; as many labels as lie flat, as people read them, both ends
    k_rows = [{**make_rows()[0], "lambda_k": GRID_K[1], "lambda_a": 0.0}]
    k_axis = build(k_rows, "lambda_k", 0.0, grid_values=GRID_K).layout
    k_axis = k_axis.xaxis2 if build is charts.loss_vs_lambda else k_axis.xaxis
    assert list(k_axis.tickvals) == list(range(10)) and k_axis.tickangle == 0
    assert list(k_axis.ticktext) == ["0", "", "", "3.3e-5", "", "", "6.7e-5", "", "", "1e-4"]
    # presenter mode's larger text: fewer labels on the five λ_a positions, the ends kept
    big = build(rows, "lambda_a", 0.0, 1e-2, grid_values=GRID_A, large_text=True).layout
    big = big.xaxis2 if build is charts.loss_vs_lambda else big.xaxis
    assert list(big.tickvals) == [0, 1, 2, 3, 4] and list(big.ticktext) == ["0", "", "0.001", "", "0.01"]


@pytest.mark.parametrize("n", range(1, 16))
@pytest.mark.parametrize("most", [2, 4, 6])
def test_labelled_ticks_keep_both_ends_at_most_as_many_as_fit_and_evenly_spread(n, most):
    shown = charts.labelled_ticks(n, most)
    assert shown == sorted(set(shown)) and shown[0] == 0 and shown[-1] == n - 1
    assert len(shown) == n if n <= most else len(shown) <= most
    gaps = {b - a for a, b in zip(shown, shown[1:])} or {1}
    if (n - 1) in {g * (len(shown) - 1) for g in gaps}:  # evenly spaced to the end where a step lands there
        assert len(gaps) == 1
    else:  # otherwise no gap more than twice another
        assert max(gaps) <= 2 * min(gaps), (n, most, shown)
    assert charts.labelled_ticks(10, 6) == [0, 3, 6, 9] and charts.labelled_ticks(5, 4) == [0, 2, 4]


def test_a_lambda_axis_without_grid_values_shows_the_values_present_and_any_extra_cell():
    assert charts.lambda_positions([1e-4, 0.0, 1e-4 * (1 + 1e-9)]) == [0.0, 1e-4]
    assert charts.lambda_positions([2e-3], GRID_A) == [0.0, 3e-4, 1e-3, 2e-3, 3e-3, 1e-2]
    assert [charts.lambda_tick(v) for v in (0.0, 5e-5, 1e-4, 3e-4, 1e-3, 0.01, 1.1111e-5)] == [
        "0",
        "5e-5",
        "1e-4",
        "3e-4",
        "0.001",
        "0.01",
        "1.1e-5",
    ]
    assert not any(charts.lambda_tick(v).startswith("0.5") for v in GRID_K)


def test_loss_vs_lambda_without_a_match_or_selection():
    fig = charts.loss_vs_lambda(make_rows(), "lambda_k", 0.123, None)
    assert all(len(t.x) == 0 for t in fig.data)
    assert not [t for t in fig.data if t.name == "selected model"]
    assert any("no analysed models" in a.text for a in fig.layout.annotations)  # says there is nothing to show
    with pytest.raises(ValueError, match="axis"):
        charts.loss_vs_lambda(make_rows(), "lambda_x", 0.0, None)


def test_loss_vs_lambda_single_cell():
    row = make_rows()[0]
    fig = charts.loss_vs_lambda([row], "lambda_a", row["lambda_k"], row["lambda_a"])
    rings = [t for t in fig.data if t.name == "selected model"]
    assert list(rings[0].y) == [row["mse_train"], row["mse_test"]]
    assert list(rings[1].y) == [row["history_loss_train"], row["history_loss_test"]]
    assert list(fig.layout.xaxis.range) == [-0.5, 0.5] and list(fig.layout.xaxis2.ticktext) == ["1e-4"]


def test_density_vs_lambda_shows_train_and_test_and_reads_as_sparsity_too():
    rows = make_rows()
    fig = charts.density_vs_lambda(rows, "lambda_k", 0.0, 5e-5)
    train, test = by_name(fig, "training set"), by_name(fig, "test set")
    want = sorted((r for r in rows if r["lambda_a"] == 0), key=lambda r: r["lambda_k"])
    assert list(test.x) == list(train.x) == [0, 1, 2]
    assert list(test.y) == [r["density_test"] for r in want]
    assert list(train.y) == [r["density_train"] for r in want]
    # hover: exact lambda, and the sparsity (1 - density) beside the density
    np.testing.assert_allclose([c[1] for c in test.customdata], [1 - r["density_test"] for r in want])
    assert [c[0] for c in test.customdata] == [r["lambda_k"] for r in want]
    assert "sparsity" in test.hovertemplate
    sel_row = next(r for r in rows if r["lambda_a"] == 0 and np.isclose(r["lambda_k"], 5e-5))
    sel = by_name(fig, "selected model")
    assert list(sel.x) == [1, 1]
    np.testing.assert_allclose(sel.y, [sel_row["density_train"], sel_row["density_test"]])
    assert list(fig.layout.yaxis.range) == [0, 1]
    assert fig.layout.yaxis.title.text.startswith("density")
    # the right axis reads the same heights as sparsity = 1 - density
    assert list(fig.layout.yaxis2.range) == [1, 0] and fig.layout.yaxis2.overlaying == "y"
    assert "sparsity" in fig.layout.yaxis2.title.text
    assert_no_nan(fig)


def test_density_vs_lambda_without_the_training_set_density_draws_the_test_set():
    fig = charts.density_vs_lambda(make_rows(train_density=False), "lambda_k", 0.0)
    assert [t.name for t in fig.data if t.showlegend is not False] == ["test set"]
    assert by_name(fig, "test set").line.color == style.VERMILLION  # keeps its style
    empty = charts.density_vs_lambda(make_rows(), "lambda_k", 0.5)
    assert any("no analysed models" in a.text for a in empty.layout.annotations)


def test_training_curves():
    history = {"loss": [0.05, 0.02, 0.01], "val_loss": [0.04, 0.02, 0.015], "last_epoch": 2}
    fig = charts.training_curves(history)
    assert list(by_name(fig, "train loss").x) == [1, 2, 3]
    assert list(by_name(fig, "test loss").y) == history["val_loss"]
    assert fig.layout.yaxis.type == "log"
    assert "3 epochs" in fig.layout.title.text
    assert_no_nan(fig)


# ----------------------------------------------------------------- cosine


def test_cosine_boxes_use_the_stats():
    rng = np.random.default_rng(3)
    same, diff = make_box(rng), make_box(rng)
    fig = charts.cosine_boxes(same, diff)
    boxes = [t for t in fig.data if t.type == "box"]
    assert len(boxes) == 20
    col = {c: i for i, c in enumerate(charts.BOX_COLUMNS)}
    for panel, stats in ((0, same), (1, diff)):
        for d in range(10):
            b = boxes[panel * 10 + d]
            assert list(b.x) == [d]
            for key in ("q1", "median", "q3", "lowerfence", "upperfence", "mean"):
                assert getattr(b, key)[0] == stats[d, col[key]]
            assert b.boxpoints is False  # only the statistics are stored: no outlier points to draw
            assert b.marker.color == style.DIGIT_COLORS[d]
            assert b.showlegend is False and b.hoverinfo == "skip"
    # the hover: one invisible point per box, which names the whiskers for what they are
    hovers = [t for t in fig.data if t.name == "statistics"]
    assert [list(t.x) for t in hovers] == [list(range(10))] * 2 and fig.layout.hovermode == "x"
    for t, stats in zip(hovers, (same, diff)):
        assert "whiskers" in t.hovertemplate and "1.5 IQR" in t.hovertemplate and "pairs" in t.hovertemplate
        np.testing.assert_allclose([c[0] for c in t.customdata], stats[:, col["n"]])
        np.testing.assert_allclose([c[5:7] for c in t.customdata], stats[:, [col["lowerfence"], col["upperfence"]]])
    assert [a.text for a in fig.layout.annotations] == ["same digit", "different digit"]
    assert list(fig.layout.yaxis.range) == [0, 1]
    assert fig.layout.showlegend is False  # the x-axis names the digit: no legend to lose "digit 9" from
    assert fig.layout.xaxis.title.text == fig.layout.xaxis2.title.text == "digit"


def test_cosine_boxes_expand_below_zero_and_skip_empty_digits():
    rng = np.random.default_rng(4)
    same = make_box(rng)
    same[2, charts.BOX_COLUMNS.index("lowerfence")] = -0.3
    same[2, charts.BOX_COLUMNS.index("min")] = -0.4
    diff = make_box(rng)
    diff[9] = 0  # a digit with no pairs
    fig = charts.cosine_boxes(same, diff)
    assert len([t for t in fig.data if t.type == "box"]) == 19
    assert [len(t.x) for t in fig.data if t.name == "statistics"] == [10, 9]
    assert fig.layout.yaxis.range[0] == pytest.approx(-0.4)


# ------------------------------------------------------------------ t-SNE


def test_tsne_map_one_trace_per_digit():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 10, 300).astype(np.uint8)
    labels[labels == 7] = 8  # a digit absent from the sample still has its (empty) legend entry
    emb = rng.normal(size=(300, 2)).astype(np.float32)
    fig = charts.tsne_map(emb, labels, "t-SNE of h")
    assert len(fig.data) == 10 and all(t.type == "scattergl" for t in fig.data)
    for d, t in enumerate(fig.data):
        assert t.name == str(d)
        assert len(t.x) == np.sum(labels == d)
        np.testing.assert_array_equal(t.customdata, np.flatnonzero(labels == d))
        np.testing.assert_array_equal(t.y, emb[labels == d, 1])
        assert t.hovertemplate.startswith(f"digit {d}, test image %{{customdata}}")
    # the map fills its panel: no locked aspect, a height of its own
    assert fig.layout.yaxis.scaleanchor is None and fig.layout.height == charts.TSNE_HEIGHT
    assert charts.tsne_map(emb, labels, "t", height=700).layout.height == 700
    assert fig.layout.title.text == "t-SNE of h"
    assert_no_nan(fig)


def test_tsne_map_names_each_island_at_its_median():
    rng = np.random.default_rng(6)
    labels = np.repeat(np.arange(10), 30)
    labels[labels == 4] = 5  # no island for an absent digit
    emb = (rng.normal(size=(300, 2)) + labels[:, None] * 10).astype(np.float32)
    fig = charts.tsne_map(emb, labels, "map")
    islands = {a.name: a for a in fig.layout.annotations}
    assert sorted(islands) == [f"digit {d}" for d in range(10) if d != 4]
    for d in (0, 5, 9):
        a = islands[f"digit {d}"]
        assert a.text == f"<b>{d}</b>" and not a.showarrow
        assert (a.x, a.y) == pytest.approx(tuple(np.median(emb[labels == d], axis=0)))
        assert a.font.size >= 20 and a.bgcolor  # large, on a white background: readable over the dots
        assert a.xref in (None, "x") and a.yref in (None, "y")


def test_a_full_size_tsne_map_sends_lean_data():
    """10,000 points: float32 coordinates and integer indices go out as typed arrays, far below 300 KB."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 10, 10_000).astype(np.uint8)
    emb = rng.normal(size=(10_000, 2)) * 30  # float64 in, as openTSNE returns it
    fig = charts.tsne_map(emb, labels, "map")
    t = fig.data[3]
    assert t.x.dtype == np.float32 and t.y.dtype == np.float32 and t.customdata.dtype.kind == "i"
    text = fig.to_json()
    assert len(text) < 300_000, len(text)
    assert '"bdata"' in text  # base64 typed arrays, not lists of decimals


# ------------------------------------------------------------ silhouettes


def make_silhouettes(n: int = 500, seed: int = 6):
    rng = np.random.default_rng(seed)
    labels = np.stack([rng.integers(0, k, n) for k in KS]).astype(np.int8)
    samples = (rng.random((len(KS), n)) * 1.05 - 0.05).astype(np.float32)
    return samples, labels


def test_silhouette_panels():
    samples, labels = make_silhouettes()
    means = samples.mean(axis=1).astype(np.float64)
    fig = charts.silhouette_panels(samples, labels, KS, "raw code h", means=means, max_points=50)
    xaxes = [k for k in fig.layout if k.startswith("xaxis")]
    assert len(xaxes) == 9
    assert [a.text for a in fig.layout.annotations][:9] == [f"k = {k}" for k in KS]
    for ax in xaxes:
        assert list(fig.layout[ax].range) == [-0.1, 1]
    vlines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(vlines) == 9
    np.testing.assert_allclose([s.x0 for s in vlines], means)
    assert all(s.line.dash == "dash" for s in vlines)
    # one filled band per cluster, each at most max_points (+2 closing points), first and last values kept
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == sum(KS)
    assert all(len(t.x) <= 52 for t in bands)
    k2 = [t for t in bands if t.xaxis == "x"]
    vals = np.sort(samples[0][labels[0] == 0])
    assert k2[0].x[1] == vals[0] and k2[0].x[-2] == vals[-1]
    # cluster ids are written beside their bands
    ids = [a.text for a in fig.layout.annotations if a.xref == "x"]
    assert ids == ["0", "1"]
    assert_no_nan(fig)


def test_a_band_too_thin_for_its_number_is_not_labelled():
    """At 1280 px in presenter mode the numbers of thin bands piled up on each other; a band gets its number
    only where it is as tall as the number (its hover still names it)."""
    samples, labels = make_silhouettes(n=1000)
    # k = 10: clusters 0-3 hold 240 of the 1,000 digits each, clusters 4-9 the other 40
    labels[-1] = np.concatenate([np.repeat(np.arange(4), 240), 4 + np.arange(40) % 6])
    fig = charts.silhouette_panels(samples, labels, KS, "raw code h")  # 3 rows of about 215 px
    last = "x" + str(len(KS))
    ids = [a.text for a in fig.layout.annotations if a.xref == last]
    assert ids == ["0", "1", "2", "3"], ids
    assert any(t.name == "cluster 9" and t.xaxis == last for t in fig.data), "its band is drawn all the same"
    short = charts.silhouette_panels(samples, labels, KS, "raw code h", height=300)  # 100 px a row: none fits
    assert not [a for a in short.layout.annotations if a.xref == last]


def test_silhouette_panels_default_means_and_single_cluster():
    samples, labels = make_silhouettes(n=30)
    labels[:] = 0
    samples[0, 0] = -0.5  # a strongly negative silhouette widens the axis instead of hiding
    fig = charts.silhouette_panels(samples, labels, KS, "one cluster")
    np.testing.assert_allclose([s.x0 for s in fig.layout.shapes], samples.mean(axis=1), rtol=1e-6)
    assert fig.layout.xaxis.range[0] == pytest.approx(-0.5)


def test_silhouette_panels_of_both_spaces_share_one_x_range():
    raw, labels = make_silhouettes(n=40)
    normalised = raw.copy()
    normalised[3, 5] = -0.7
    shared = charts.silhouette_x_range(raw, normalised)
    assert shared == pytest.approx((-0.7, 1.0)) and charts.silhouette_x_range(np.full((2, 3), 0.5)) == (-0.1, 1.0)
    ranges = set()
    for samples in (raw, normalised):
        fig = charts.silhouette_panels(samples, labels, KS, "codes", x_range=shared)
        ranges |= {tuple(fig.layout[ax].range) for ax in fig.layout if ax.startswith("xaxis")}
    assert len(ranges) == 1 and ranges.pop() == pytest.approx(shared)
    # cluster numbers and subplot titles at the layout's font size (12, or 18 presenting), never smaller
    assert all(a.font.size is None for a in fig.layout.annotations)


def test_silhouette_vs_k():
    raw, norm = np.linspace(0.1, 0.2, 9), np.linspace(0.3, 0.1, 9)
    fig = charts.silhouette_vs_k(raw, norm, KS)
    assert len(fig.data) == 2 and fig.data[0].name != fig.data[1].name
    assert list(fig.data[0].x) == list(KS)
    np.testing.assert_allclose(fig.data[1].y, norm)
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert fig.layout.yaxis.rangemode == "tozero"  # the mean silhouette's axis starts at 0 (or below, if negative)
    assert [t.name for t in fig.data] == ["raw code", "code scaled to length 1"]
    assert "h/‖h‖" in fig.data[1].hovertemplate  # the exact symbol stays in the hover
    assert_no_nan(fig)


@pytest.mark.parametrize(
    "raw,normalised,words",
    [
        (0.05, 0.06, "no natural groups: the codes form a continuum"),
        (0.24, 0.1, "no natural groups"),
        (0.3, 0.1, "weak groups"),
        (0.1, 0.49, "weak groups"),
        (0.2, 0.5, "clear groups"),
        (0.8, 0.1, "clear groups"),
    ],
)
def test_silhouette_sentence_says_what_the_numbers_mean(raw, normalised, words):
    means_raw = np.full(9, raw / 2)
    means_raw[3] = raw  # the best k of the raw codes is KS[3] = 5
    means_norm = np.full(9, normalised / 2)
    means_norm[-1] = normalised  # k = 10
    text = charts.silhouette_sentence(means_raw, means_norm, KS)
    assert words in text and text.count(".") <= 3 and "\n" not in text
    best, k, space = (raw, 5, "raw codes") if raw >= normalised else (normalised, 10, "codes scaled to length 1")
    assert f"{best:.2f} (k = {k}, {space})" in text


def test_silhouette_sentence_without_numbers():
    assert "No silhouettes" in charts.silhouette_sentence([float("nan")] * 9, [], KS)


# ------------------------------------------------------- per-unit statistics


def test_unit_frequency_bars():
    rng = np.random.default_rng(8)
    freq = rng.random(196).astype(np.float32)
    freq[[5, 9]] = 0
    dead, dense = freq == 0, freq > 0.5
    fig = charts.unit_frequency_bars(freq, dead, dense)
    assert len(fig.data) == 3
    dense_t, other_t, dead_t = fig.data
    assert len(dense_t.x) == dense.sum() and len(dead_t.x) == 2 and len(other_t.x) == 196 - 2 - dense.sum()
    # all units together, by rank, are the frequencies sorted descending; customdata names the unit
    ranks = np.concatenate([t.x for t in fig.data])
    units = np.concatenate([t.customdata for t in fig.data])
    ys = np.concatenate([t.y for t in fig.data])
    np.testing.assert_array_equal(np.sort(ranks), np.arange(196))
    np.testing.assert_allclose(ys[np.argsort(ranks)], np.sort(freq)[::-1])
    np.testing.assert_allclose(freq[units], ys)
    assert set(dead_t.customdata) == {5, 9}
    assert len({t.name for t in fig.data}) == 3
    assert_no_nan(fig)


def test_full_size_silhouettes_serialise_and_stay_light():
    """At the real size (10,000 test images) the figure's JSON stays small enough to send."""
    samples, labels = make_silhouettes(n=10_000)
    sil = charts.silhouette_panels(samples, labels, KS, "raw code h")
    assert len(sil.to_json()) < 1_000_000


# ------------------------------------------------- unit explorer and frontier


def test_unit_activation_histogram_counts_silent_and_active_images():
    hist = np.array([5, 3, 0, 2])
    fig = charts.unit_activation_histogram(hist, 2.0, 100, 7)
    assert fig.data[0].y == (90,) and list(fig.data[1].y) == [5, 3, 0, 2]
    assert np.allclose(fig.data[1].x, [0.25, 0.75, 1.25, 1.75])
    assert fig.layout.title.text == "Unit 7 fires on 10.0%"  # short: half a page at 1280 px


def test_unit_activation_histogram_gives_the_silent_count_its_own_label_and_the_active_part_its_own_scale():
    hist = np.array([300, 210, 150, 110, 80, 60, 40, 30, 20, 10, 4])  # 1,014 active of 10,000
    fig = charts.unit_activation_histogram(hist, 2.2, 10_000, 17)
    silent, active = fig.data
    (label,) = [a for a in fig.layout.annotations if a.name == "silent"]
    assert label.text.replace("<br>", " ") == "silent 8,986 (90%)"
    assert (label.xref, label.yref, label.y) == ("x", "y", 8986)
    # two panels side by side, each with its own y axis: the 8,986 never squash the 300 flat
    assert (silent.xaxis, silent.yaxis) == ("x", "y") and (active.xaxis, active.yaxis) == ("x2", "y2")
    assert fig.layout.xaxis.domain[1] < fig.layout.xaxis2.domain[0]
    assert fig.layout.yaxis2.anchor == "x2" and fig.layout.yaxis2.range is None  # autoscaled to the histogram
    assert fig.layout.yaxis.range[1] > 10_000  # room above the silent bar for its label
    assert active.name == "active: 1,014 images"
    dead = charts.unit_activation_histogram(np.zeros(4), 0.0, 100, 1)
    assert len(dead.data) == 1 and "0.0%" in dead.layout.title.text


def test_unit_digit_bars():
    fig = charts.unit_digit_bars(np.linspace(0, 0.9, 10), 3)
    assert list(fig.data[0].x) == [str(d) for d in range(10)] and fig.data[0].y[-1] == pytest.approx(0.9)


def test_frontier_has_one_point_per_cell_and_the_front():
    rows = make_rows()
    for r in rows:
        r["l0_mean_test"] = r["density_test"] * 196
        r["mse_test"] = r["loss_test"]
    front = [0, 3]
    fig = charts.frontier(rows, front, selected=(rows[2]["lambda_k"], rows[2]["lambda_a"]))
    points = [t for t in fig.data if t.mode == "markers" and t.name.startswith("λ_a")]
    assert sum(len(t.x) for t in points) == len(rows)
    cells = {tuple(c) for t in points for c in t.customdata}
    assert cells == {(r["lambda_k"], r["lambda_a"]) for r in rows}
    line = next(t for t in fig.data if t.name.startswith("Pareto"))
    assert sorted(line.x) == sorted(rows[i]["l0_mean_test"] for i in front)
    ring = next(t for t in fig.data if t.name == "selected model")
    assert ring.x == (rows[2]["l0_mean_test"],)
    assert fig.layout.height is None and charts.frontier(rows, front, height=560).layout.height == 560


def luminance(color: str) -> float:
    """WCAG relative luminance of "#rrggbb" or "rgb(r, g, b)"."""
    if color.startswith("#"):
        rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    else:
        rgb = [float(v) for v in color[color.index("(") + 1 : -1].split(",")]
    lin = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_frontier_colours_all_read_on_white():
    rows = [
        {"lambda_k": 0.0, "lambda_a": la, "l0_mean_test": 100 - i, "mse_test": 0.001 * (i + 1)}
        for i, la in enumerate(GRID_A)
    ]
    fig = charts.frontier(rows, [0])
    points = [t for t in fig.data if t.name.startswith("λ_a")]
    assert [t.name for t in points] == ["λ_a = 0", "λ_a = 3e-4", "λ_a = 0.001", "λ_a = 0.003", "λ_a = 0.01"]
    assert len({t.marker.color for t in points}) == 5
    for t in points:
        assert luminance(t.marker.color) < 0.45, t.marker.color  # Viridis' yellow end is 0.8: gone
        assert luminance(t.marker.line.color) < 0.05  # dark outlines
    assert list(fig.layout.yaxis.ticktext) == ["0.001", "0.002", "0.005"]  # log ticks written out


# ------------------------------------------------- every chart, for people in a room


def every_figure() -> dict[str, go.Figure]:
    """One figure from every builder, on the small synthetic inputs above."""
    rng = np.random.default_rng(9)
    samples, labels = make_silhouettes(n=60)
    freq = rng.random(196)
    rows = make_rows()
    for r in rows:
        r["mse_test"] = r["loss_test"]
    return {
        "loss_vs_lambda": charts.loss_vs_lambda(rows, "lambda_k", 0.0, 0.0, grid_values=GRID_K),
        "density_vs_lambda": charts.density_vs_lambda(rows, "lambda_a", 0.0, 0.0, grid_values=GRID_A),
        "training_curves": charts.training_curves({"loss": [0.05, 0.02], "val_loss": [0.04, 0.03]}),
        "cosine_boxes": charts.cosine_boxes(make_box(rng), make_box(rng)),
        "tsne_map": charts.tsne_map(rng.normal(size=(200, 2)), rng.integers(0, 10, 200), "Codes scaled to length 1"),
        "silhouette_panels": charts.silhouette_panels(samples, labels, KS, "Codes scaled to length 1"),
        "silhouette_vs_k": charts.silhouette_vs_k(samples.mean(axis=1), samples.mean(axis=1) / 2, KS),
        "unit_frequency_bars": charts.unit_frequency_bars(freq, freq < 0.05, freq > 0.5),
        "unit_activation_histogram": charts.unit_activation_histogram(np.array([5, 3, 0, 2]), 2.0, 100, 7),
        "unit_digit_bars": charts.unit_digit_bars(np.linspace(0, 0.9, 10), 3),
        "frontier": charts.frontier(rows, [0, 3], selected=(0.0, 0.0)),
    }


def test_every_builder_is_in_every_figure():
    assert set(every_figure()) == {n for n in charts.__all__ if n[0].islower() and callable(getattr(charts, n))} - {
        "labelled_ticks",
        "lambda_positions",
        "lambda_tick",
        "silhouette_sentence",
        "silhouette_x_range",
        "sweep_legend",  # not a figure: the HTML line above two of them
    }


def words_people_read(fig: go.Figure) -> list[str]:
    """The title, axis titles, legend names and annotations (subplot titles, labels) of a figure."""
    layout = fig.layout
    out = [layout.title.text or ""]
    out += [layout[k].title.text or "" for k in layout if k.startswith(("xaxis", "yaxis"))]
    out += [t.name or "" for t in fig.data if t.showlegend is not False]
    out += [a.text or "" for a in layout.annotations]
    if layout.legend.title.text:
        out.append(layout.legend.title.text)
    return out


def test_no_jargon_in_what_people_read():
    """Symbols such as h/‖h‖, W1, w / max|w| or L0 stay in the hover text."""
    import re

    for name, fig in every_figure().items():
        for words in words_people_read(fig):
            assert not re.search(charts.JARGON, words), (name, words)
    for jargon in ("normalised code h/||h||", "h/‖h‖", "kernel W1", "w / max|w|", "mean L0 of the code"):
        assert re.search(charts.JARGON, jargon), jargon


def test_no_small_fixed_font_sizes():
    """Text follows the layout's font (12 px, 18 presenting) or is larger than it ever gets."""
    for name, fig in every_figure().items():
        for a in fig.layout.annotations:
            assert a.font.size is None or a.font.size > 18, (name, a.text, a.font.size)
        assert fig.layout.font.size is None, name


def test_a_legend_above_the_plot_sits_in_its_own_band_below_the_title():
    """At 18 px text the title's band and a legend row fit in the top margin, one below the other."""
    figs = every_figure()
    for name in ("loss_vs_lambda", "density_vs_lambda", "training_curves", "silhouette_vs_k", "unit_frequency_bars"):
        layout = figs[name].layout
        height = layout.height or charts.DEFAULT_HEIGHT
        assert (layout.title.yref, layout.title.y, layout.title.yanchor) == ("container", 1.0, "top"), name
        assert layout.legend.yref == "container" and layout.legend.yanchor == "top", name
        legend_top = (1 - layout.legend.y) * height
        assert legend_top >= charts.TITLE_BAND - 0.5, name  # below the title
        assert layout.margin.t >= legend_top + charts.LEGEND_ROW, name  # above the plot


def test_every_builder_takes_a_height():
    import inspect

    figs = every_figure()
    for name in figs:
        assert "height" in inspect.signature(getattr(charts, name)).parameters, name
    assert charts.silhouette_vs_k(np.ones(9), np.zeros(9), KS, height=360).layout.height == 360
    assert (
        charts.cosine_boxes(
            make_box(np.random.default_rng(1)), make_box(np.random.default_rng(2)), height=333
        ).layout.height
        == 333
    )
    loss = charts.loss_vs_lambda(make_rows(), "lambda_k", 0.0, height=460)
    assert (
        loss.layout.height == 460
        and charts.loss_vs_lambda(make_rows(), "lambda_k", 0.0).layout.height == charts.SWEEP_HEIGHT
    )


def test_the_sweep_legend_names_each_line_in_its_own_colour_and_the_seed_band_only_with_seeds():
    one, five = charts.sweep_legend(1), charts.sweep_legend(5)
    for html in (one, five):
        assert html.index("training set") < html.index("test set") < html.index("selected model")
        assert style.BLUE in html.split("training set")[0] and style.VERMILLION in html.split("training set")[1]
        assert "dashed" in html.split("training set")[1].split("test set")[0]  # the test line is dashed, as drawn
    assert "seeds" not in one and "spread over 5 seeds (min–max)" in five


def test_a_sweep_without_its_legend_keeps_no_room_for_it():
    rows = [{"lambda_k": k, "lambda_a": 0.0, "mse_test": 0.01, "mse_train": 0.01, "loss_test": 0.02,
             "loss_train": 0.02, "density_test": 0.3, "density_train": 0.3} for k in (0.0, 1e-4)]  # fmt: skip
    for build in (charts.loss_vs_lambda, charts.density_vs_lambda):
        with_legend, without = build(rows, "lambda_k", 0.0, 0.0), build(rows, "lambda_k", 0.0, 0.0, legend=False)
        assert without.layout.showlegend is False and with_legend.layout.showlegend is not False
        assert with_legend.layout.margin.t - without.layout.margin.t == charts.LEGEND_ROW
        assert without.layout.margin.b == with_legend.layout.margin.b == style.AXIS_BAND
