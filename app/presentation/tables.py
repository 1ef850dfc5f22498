"""The CSV files the pages offer, one function per page, and the compare page's metrics.

A model's data in (a CellView, or the cells), bytes out. The data are
exactly the stored arrays (full float precision), one row per meaningful
thing: a model, a unit, a test image, a digit, a k.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from app.presentation.units import units_columns
from core import schema as S
from core.analysis import BOX_COLUMNS, SPACES
from core.results import CellSummary, CellView, results_table
from core.schema import FastMeta

__all__ = [
    "COMPARED",
    "Metric",
    "clusters_csv",
    "codes_csv",
    "comparison_csv",
    "comparison_rows",
    "csv_bytes",
    "filters_csv",
    "history_csv",
    "results_csv",
    "similarity_csv",
    "tsne_csv",
    "units_csv",
]


def csv_bytes(columns: Mapping[str, Sequence] | Sequence[Mapping[str, Any]]) -> bytes:
    """CSV (UTF-8, header first) of equal-length columns {name: values} or of rows [{name: value}]."""
    if isinstance(columns, Mapping):
        names = list(columns)
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns have different lengths: {sorted(lengths)}")
        rows = zip(*(columns[n] for n in names))
    else:
        names = list(columns[0]) if columns else []
        rows = ([r[n] for n in names] for r in columns)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def _cell(v: Any) -> Any:
    """Plain Python scalars; floats as the shortest text that reads back to the same value in their own
    precision (a float32 0.7036 is written 0.7036, not 0.7035999894142151)."""
    if isinstance(v, np.floating) and v.dtype != np.float64:
        return str(v)
    if hasattr(v, "item"):
        v = v.item()
    return repr(v) if isinstance(v, float) else v


# ------------------------------------------------------------ one per page
def results_csv(cells: Mapping[tuple[float, float], CellSummary]) -> bytes:
    """The grid's results table: one row per analysed model."""
    return csv_bytes(results_table(cells))


def history_csv(view: CellView) -> bytes:
    """The selected model's training curves: one row per epoch."""
    h = view.history
    n = len(h["loss"])
    cols = {"epoch": np.arange(1, n + 1), "train_loss": h["loss"], "test_loss": h["val_loss"]}
    if len(h.get("epoch_seconds", ())) == n:
        cols["seconds"] = h["epoch_seconds"]
    return csv_bytes(cols)


def units_csv(view: CellView) -> bytes:
    """One row per hidden unit: the columns of `units.units_columns`."""
    return csv_bytes(units_columns(view))


def filters_csv(view: CellView) -> bytes:
    """The encoder's filters: one row per unit, its bias and its 784 weights (pixel r_c = row r, column c)."""
    W1 = view.weights["W1"]
    side = int(round(W1.shape[0] ** 0.5))
    cols = {"unit": np.arange(W1.shape[1]), "bias": view.weights["b1"]}
    cols |= {f"w_{i // side}_{i % side}": W1[i] for i in range(W1.shape[0])}
    return csv_bytes(cols)


def codes_csv(index: np.ndarray, code: np.ndarray, x: np.ndarray, output: np.ndarray) -> bytes:
    """The shown test images' codes: index, reconstruction MSE, active units, then h_0..h_195."""
    mse = np.square(np.asarray(output, dtype=np.float64) - x).reshape(len(x), -1).mean(axis=1)
    cols = {"test_index": index, "reconstruction_mse": mse, "active_units": np.count_nonzero(code, axis=1)}
    cols |= {f"h_{u}": code[:, u] for u in range(code.shape[1])}
    return csv_bytes(cols)


def similarity_csv(view: CellView) -> bytes:
    """Box statistics of the cosine similarities: one row per (digit, same/different)."""
    rows = []
    for group in ("same", "diff"):
        box = view.arrays[S.COS_SAME_BOX if group == "same" else S.COS_DIFF_BOX]
        for d, stats in enumerate(box):
            rows.append(
                {"digit": d, "pairs": "same digit" if group == "same" else "different digits"}
                | {c: (int(v) if c == "n" else float(v)) for c, v in zip(BOX_COLUMNS, stats)}
            )
    return csv_bytes(rows)


def tsne_csv(view: CellView) -> bytes:
    """Both t-SNE maps: one row per test image with its label."""
    a = view.arrays
    cols = {"test_index": np.arange(len(a[S.LABELS_TEST])), "label": a[S.LABELS_TEST]}
    for space in SPACES:
        cols[f"{space}_x"], cols[f"{space}_y"] = a[S.tsne_array(space)][:, 0], a[S.tsne_array(space)][:, 1]
    return csv_bytes(cols)


def clusters_csv(view: CellView) -> bytes:
    """Mean silhouette of every k, raw and normalised codes."""
    a = view.arrays
    ks = view.meta.config["kmeans_ks"]
    return csv_bytes({"k": ks} | {f"silhouette_mean_{s}": a[S.silhouette_mean_array(s)] for s in SPACES})


# ------------------------------------------------------------ two models
class Metric(NamedTuple):
    """A number the compare page sets side by side: its label, how to read it from the meta, how to show it."""

    label: str
    get: Callable[[FastMeta], float]
    spec: str  # a format spec; "%" ones are fractions, whose differences are shown in percentage points


COMPARED = (
    Metric("test loss (total)", lambda m: m.loss_test.total, "{:.5f}"),
    Metric("test reconstruction error (MSE)", lambda m: m.loss_test.mse, "{:.5f}"),
    Metric("sparsity of the code", lambda m: m.sparsity_test, "{:.1%}"),
    Metric("active units per digit", lambda m: m.l0_mean_test, "{:.1f}"),
    Metric("dead units", lambda m: m.n_dead_units, "{:.0f}"),
    Metric("dense units", lambda m: m.n_dense_units, "{:.0f}"),
)


def comparison_rows(a: CellView, b: CellView) -> list[dict]:
    """The comparison as data: one row per metric, model A, model B and B - A."""
    return [
        {
            "metric": m.label,
            "model_A": m.get(a.meta),
            "model_B": m.get(b.meta),
            "B_minus_A": m.get(b.meta) - m.get(a.meta),
        }
        for m in COMPARED
    ]


def comparison_csv(a: CellView, b: CellView) -> bytes:
    """The compare page's CSV: both models' λ values, then `comparison_rows`."""
    head = [
        {"metric": "lambda_k", "model_A": a.summary.lambda_k, "model_B": b.summary.lambda_k, "B_minus_A": ""},
        {"metric": "lambda_a", "model_A": a.summary.lambda_a, "model_B": b.summary.lambda_a, "B_minus_A": ""},
    ]
    return csv_bytes(head + comparison_rows(a, b))
