"""The CSV files the dashboard's pages offer: one function per page, CellView (or cells) in, bytes out.

No Streamlit here, so what each file holds is tested directly. The data
are exactly the stored arrays (full float precision), one row per
meaningful thing: a model, a unit, a test image, a digit, a k.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from core.analysis import BOX_COLUMNS, SPACES, label_selectivity
from core.results import CellSummary, CellView, csv_bytes, results_table


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


def units_columns(view: CellView) -> dict[str, np.ndarray]:
    """One entry per hidden unit: what the units table shows and the CSV holds."""
    a = view.arrays
    status = np.where(a["dead_units"], "dead", np.where(a["dense_units"], "dense", "normal"))
    selectivity, preferred = label_selectivity(a["unit_label_frequency"])
    fires_on = a["unit_hist"].sum(axis=1)  # the exact count of test images with h > 0
    return {
        "unit": np.arange(len(status)),
        "fires_on_images": fires_on,
        "fires_on_fraction": fires_on / len(a["labels_test"]),
        "mean_activation": a["unit_mean_test"],
        "max_activation": a["unit_hist_max"],
        "selectivity": selectivity,
        "preferred_digit": preferred,
        "status": status,
    }


def units_csv(view: CellView) -> bytes:
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
        box = view.arrays[f"cos_{group}_box"]
        for d, stats in enumerate(box):
            rows.append(
                {"digit": d, "pairs": "same digit" if group == "same" else "different digits"}
                | {c: (int(v) if c == "n" else float(v)) for c, v in zip(BOX_COLUMNS, stats)}
            )
    return csv_bytes(rows)


def tsne_csv(view: CellView) -> bytes:
    """Both t-SNE maps: one row per test image with its label."""
    a = view.arrays
    cols = {"test_index": np.arange(len(a["labels_test"])), "label": a["labels_test"]}
    for space in SPACES:
        cols[f"{space}_x"], cols[f"{space}_y"] = a[f"tsne_{space}"][:, 0], a[f"tsne_{space}"][:, 1]
    return csv_bytes(cols)


def clusters_csv(view: CellView) -> bytes:
    """Mean silhouette of every k, raw and normalised codes."""
    a = view.arrays
    ks = view.meta["config"]["kmeans_ks"]
    return csv_bytes({"k": ks} | {f"silhouette_mean_{s}": a[f"silhouette_mean_{s}"] for s in SPACES})


COMPARED = (
    ("test loss (total)", lambda m: m["loss_test"]["total"]),
    ("test reconstruction error (MSE)", lambda m: m["loss_test"]["mse"]),
    ("sparsity of the code", lambda m: m["sparsity_test"]),
    ("active units per digit", lambda m: m["l0_mean_test"]),
    ("dead units", lambda m: m["n_dead_units"]),
    ("dense units", lambda m: m["n_dense_units"]),
)


def comparison_rows(a: CellView, b: CellView) -> list[dict]:
    """The compare page's table: one row per metric, model A, model B and B - A."""
    return [
        {"metric": name, "model_A": get(a.meta), "model_B": get(b.meta), "B_minus_A": get(b.meta) - get(a.meta)}
        for name, get in COMPARED
    ]


def comparison_csv(a: CellView, b: CellView) -> bytes:
    head = [
        {"metric": "lambda_k", "model_A": a.summary.lambda_k, "model_B": b.summary.lambda_k, "B_minus_A": ""},
        {"metric": "lambda_a", "model_A": a.summary.lambda_a, "model_B": b.summary.lambda_a, "B_minus_A": ""},
    ]
    return csv_bytes(head + comparison_rows(a, b))


__all__ = [
    "codes_csv",
    "clusters_csv",
    "comparison_csv",
    "comparison_rows",
    "filters_csv",
    "history_csv",
    "results_csv",
    "similarity_csv",
    "tsne_csv",
    "units_columns",
    "units_csv",
]
