"""What the dashboard reads: the grid's cells and one cell's finished artifacts.

The app knows lambda values, not data fingerprints, so cells are found by
scanning the cache. With no training / analysis config given, any is
accepted (the newest entry of a cell wins): the dashboard shows whatever the
user trained, with `--max-epochs 5` or the defaults alike. Only
`core.store` opens the files; this module only arranges what it returns.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

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
