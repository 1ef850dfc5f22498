"""Tests for app.presentation.charts: what each chart shows, on tiny synthetic arrays."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from app.presentation import charts, style
from core import analysis

KS = tuple(range(2, 11))


def make_rows() -> list[dict]:
    """A 3 x 3 grid table (lambda_k x lambda_a) with distinct, known values."""
    rows = []
    for i, lk in enumerate(np.linspace(0, 1e-4, 3)):
        for j, la in enumerate((0.0, 1e-5, 1e-4)):
            density = 0.9 - 0.2 * i - 0.1 * j
            rows.append(
                {
                    "lambda_k": float(lk),
                    "lambda_a": la,
                    "loss_train": 0.001 + 0.001 * i + 0.0001 * j,
                    "loss_test": 0.0012 + 0.001 * i + 0.0001 * j,
                    "mse_test": 0.001,
                    "density_test": density,
                    "sparsity_test": 1 - density,
                    "l0_mean_test": 196 * density,
                    "n_dead_units": i,
                }
            )
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


@pytest.mark.parametrize("axis,fixed", [("lambda_k", 1e-5), ("lambda_a", 5e-5)])
def test_loss_vs_lambda_keeps_the_slice_sorted_and_rings_the_selection(axis, fixed):
    rows = make_rows()
    other = "lambda_a" if axis == "lambda_k" else "lambda_k"
    want = sorted((r for r in rows if np.isclose(r[other], fixed)), key=lambda r: r[axis])
    selected = want[1][axis]
    fig = charts.loss_vs_lambda(rows, axis, fixed, selected)
    train, test = by_name(fig, "train loss"), by_name(fig, "test loss")
    assert list(train.x) == [r[axis] for r in want]
    assert list(train.y) == [r["loss_train"] for r in want]
    assert list(test.y) == [r["loss_test"] for r in want]
    sel = by_name(fig, "selected model")
    assert list(sel.x) == [selected, selected]
    assert list(sel.y) == [want[1]["loss_train"], want[1]["loss_test"]]
    assert fig.layout.yaxis.title.text == "loss (MSE + penalties)"
    assert fig.layout.xaxis.title.text and fig.layout.xaxis.exponentformat == "e"
    assert train.line.color != test.line.color
    assert_titled(fig)
    assert_no_nan(fig)


def test_loss_vs_lambda_without_a_match_or_selection():
    fig = charts.loss_vs_lambda(make_rows(), "lambda_k", 0.123, None)
    assert all(len(t.x) == 0 for t in fig.data)
    assert not [t for t in fig.data if t.name == "selected model"]
    assert fig.layout.annotations  # says there is nothing to show
    with pytest.raises(ValueError, match="axis"):
        charts.loss_vs_lambda(make_rows(), "lambda_x", 0.0, None)


def test_loss_vs_lambda_single_cell():
    row = make_rows()[0]
    fig = charts.loss_vs_lambda([row], "lambda_a", row["lambda_k"], row["lambda_a"])
    assert list(by_name(fig, "selected model").y) == [row["loss_train"], row["loss_test"]]


def test_density_vs_lambda_sums_to_one_and_rings_the_selection():
    rows = make_rows()
    fig = charts.density_vs_lambda(rows, "lambda_k", 0.0, 5e-5)
    dens = by_name(fig, "density (non-zero entries)")
    spars = by_name(fig, "sparsity (zero entries)")
    np.testing.assert_allclose(np.add(dens.y, spars.y), 1.0)
    assert list(dens.x) == [0.0, 5e-5, 1e-4]
    want = next(r for r in rows if r["lambda_a"] == 0 and np.isclose(r["lambda_k"], 5e-5))
    sel = by_name(fig, "selected model")
    assert list(sel.x) == [want["lambda_k"]] * 2
    np.testing.assert_allclose(sel.y, [want["density_test"], 1 - want["density_test"]])
    assert list(fig.layout.yaxis.range) == [0, 1]
    assert fig.layout.yaxis.title.text == "fraction of code entries"
    assert_no_nan(fig)


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
            assert b.boxpoints is False
            assert b.marker.color == style.DIGIT_COLORS[d]
    assert [a.text for a in fig.layout.annotations] == ["same digit", "different digit"]
    assert list(fig.layout.yaxis.range) == [0, 1]


def test_cosine_boxes_expand_below_zero_and_skip_empty_digits():
    rng = np.random.default_rng(4)
    same = make_box(rng)
    same[2, charts.BOX_COLUMNS.index("lowerfence")] = -0.3
    same[2, charts.BOX_COLUMNS.index("min")] = -0.4
    diff = make_box(rng)
    diff[9] = 0  # a digit with no pairs
    fig = charts.cosine_boxes(same, diff)
    assert len([t for t in fig.data if t.type == "box"]) == 19
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
    assert fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.title.text == "t-SNE of h"
    assert_no_nan(fig)


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


def test_silhouette_panels_default_means_and_single_cluster():
    samples, labels = make_silhouettes(n=30)
    labels[:] = 0
    samples[0, 0] = -0.5  # a strongly negative silhouette widens the axis instead of hiding
    fig = charts.silhouette_panels(samples, labels, KS, "one cluster")
    np.testing.assert_allclose([s.x0 for s in fig.layout.shapes], samples.mean(axis=1), rtol=1e-6)
    assert fig.layout.xaxis.range[0] == pytest.approx(-0.5)


def test_silhouette_vs_k():
    raw, norm = np.linspace(0.1, 0.2, 9), np.linspace(0.3, 0.1, 9)
    fig = charts.silhouette_vs_k(raw, norm, KS)
    assert len(fig.data) == 2 and fig.data[0].name != fig.data[1].name
    assert list(fig.data[0].x) == list(KS)
    np.testing.assert_allclose(fig.data[1].y, norm)
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert_no_nan(fig)


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
    assert "10.0% of the 100" in fig.layout.title.text
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
