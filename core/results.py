"""What the dashboard reads: the grid's cells and one cell's finished artifacts.

The app knows lambda values, not data fingerprints, so cells are found by
scanning the cache. With no training / analysis config given, any is
accepted (the newest entry of a cell wins): the dashboard shows whatever the
user trained, with `--max-epochs 5` or the defaults alike. Only
`core.store` opens the files; this module only arranges what it returns.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.analysis import ANALYSIS_VERSION
from core.config import AnalysisConfig, TrainConfig
from core.store import ModelStore


@dataclass(frozen=True)
class CellSummary:
    """One trained cell of the cache, with its headline numbers (no arrays).

    state: "analysed" (everything the dashboard shows is there) or "trained".
    meta: the analysis scalars (losses split in terms, densities, dead units...),
        empty until analysed.
    """

    lambda_k: float
    lambda_a: float
    state: str
    entry: str
    history: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def cell(self) -> tuple[float, float]:
        return (self.lambda_k, self.lambda_a)


@dataclass(frozen=True)
class CellView:
    """Everything the dashboard shows for one analysed cell.

    weights: W1 (784, 196), b1, W2 (196, 784), b2.
    arrays: the analysis arrays (see core.analysis.analyze).
    """

    summary: CellSummary
    weights: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray]

    @property
    def meta(self) -> dict[str, Any]:
        return self.summary.meta

    @property
    def history(self) -> dict[str, Any]:
        return self.summary.history


def _dict(cfg) -> dict | None:
    return None if cfg is None else cfg.to_dict()


def _newest_by_cell(store: ModelStore, train_cfg: TrainConfig | None) -> dict:
    """The newest intact entry of every cell (trained with `train_cfg`, if given)."""
    wanted = _dict(train_cfg)
    out = {}
    for e in store.entries():
        if wanted is None or e.config.get("train") == wanted:
            if e.cell not in out or e.history.get("finished_at", "") > out[e.cell].history.get("finished_at", ""):
                out[e.cell] = e
    return out


def scan(
    store: ModelStore, train_cfg: TrainConfig | None = None, analysis_cfg: AnalysisConfig | None = None
) -> dict[tuple[float, float], CellSummary]:
    """Every intact cell in `store` (trained with `train_cfg`, if given), by (lambda_k, lambda_a)."""
    out = {}
    for cell, e in _newest_by_cell(store, train_cfg).items():
        found = store.load_analysis(e.key, ANALYSIS_VERSION, _dict(analysis_cfg), arrays=False)
        state, meta = ("analysed", found[1]) if found else ("trained", {})
        out[cell] = CellSummary(cell[0], cell[1], state, e.path.name, e.history, meta)
    return out


def load_cell(
    store: ModelStore,
    lambda_k: float,
    lambda_a: float,
    train_cfg: TrainConfig | None = None,
    analysis_cfg: AnalysisConfig | None = None,
) -> CellView | None:
    """The analysed cell (lambda_k, lambda_a), or None if it is not trained and analysed (or damaged)."""
    e = _newest_by_cell(store, train_cfg).get((lambda_k, lambda_a))
    if e is None:
        return None
    found = store.load_analysis(e.key, ANALYSIS_VERSION, _dict(analysis_cfg))
    if found is None:
        return None
    arrays, meta = found
    summary = CellSummary(lambda_k, lambda_a, "analysed", e.path.name, e.history, meta)
    return CellView(summary, e.weights, arrays)


# ------------------------------------------------------ the grid as a table
def results_table(cells: Mapping[tuple[float, float], CellSummary]) -> list[dict[str, Any]]:
    """One row per analysed cell, sorted by (lambda_a, lambda_k): the grid's results table."""
    rows = []
    for (lk, la), c in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if c.state != "analysed":
            continue
        m = c.meta
        rows.append(
            {
                "lambda_k": lk,
                "lambda_a": la,
                "epochs": c.history["last_epoch"] + 1,
                "loss_train": m["loss_train"]["total"],
                "loss_test": m["loss_test"]["total"],
                "mse_train": m["loss_train"]["mse"],
                "mse_test": m["loss_test"]["mse"],
                "activity_penalty_test": m["loss_test"]["activity"],
                "kernel_penalty": m["loss_test"]["kernel"],
                "density_test": m["density_test"],
                "sparsity_test": m["sparsity_test"],
                "l0_mean_test": m["l0_mean_test"],
                "n_dead_units": m["n_dead_units"],
                "n_dense_units": m["n_dense_units"],
                "mean_activation_test": m["mean_activation_test"],
                "n_zero_codes_test": m["n_zero_codes_test"],
                "entry": c.entry,
            }
        )
    return rows


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


# ------------------------------------------------ trade-offs and comparisons
def pareto_front(x: Sequence[float], y: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats on both (lower x and lower y, one strictly), by x."""
    pts = sorted(range(len(x)), key=lambda i: (x[i], y[i]))
    front, best_y = [], math.inf
    for i in pts:
        if y[i] < best_y:
            front.append(i)
            best_y = y[i]
    return front


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Plain sentences on how model B differs from model A; a, b: analysis meta dicts."""

    def pct(new: float, old: float) -> str:
        return "unchanged" if old == 0 or abs(new / old - 1) < 0.005 else f"{new / old - 1:+.0%}"

    out = []
    dead = b["n_dead_units"] - a["n_dead_units"]
    out.append(
        "the same number of dead units"
        if dead == 0
        else f"{abs(dead)} {'more' if dead > 0 else 'fewer'} dead unit{'s' if abs(dead) != 1 else ''}"
        f" ({a['n_dead_units']} → {b['n_dead_units']})"
    )
    l0a, l0b = a["l0_mean_test"], b["l0_mean_test"]
    out.append(f"{l0b:.0f} instead of {l0a:.0f} active units per digit ({pct(l0b, l0a)})")
    mse_a, mse_b = a["loss_test"]["mse"], b["loss_test"]["mse"]
    verdict = "" if pct(mse_b, mse_a) == "unchanged" else (" (worse)" if mse_b > mse_a else " (better)")
    out.append(f"test reconstruction error (MSE) {pct(mse_b, mse_a)}{verdict}")
    sp = (b["sparsity_test"] - a["sparsity_test"]) * 100
    out.append(
        f"sparsity {a['sparsity_test']:.0%} → {b['sparsity_test']:.0%}"
        + ("" if abs(sp) < 0.5 else f" ({sp:+.0f} percentage points)")
    )
    return out
