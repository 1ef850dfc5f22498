"""What the dashboard reads: the grid's cells and one cell's finished artifacts.

The app knows lambda values, not data fingerprints, so cells are found by
scanning the cache. With no training / analysis config given, any is
accepted (the newest entry of a cell wins): the dashboard shows whatever the
user trained, with `--max-epochs 5` or the defaults alike. Entries trained
with another seed than the default (`bench/seed_spread.py`) never replace
the shown one: they are its replicates, listed in `CellSummary.seeds`. Only
`core.store` opens the files; this module only arranges what it returns.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from core.analysis import ANALYSIS_VERSION
from core.config import (
    DEFAULT_LAMBDA_A,
    ORIGINAL_LAMBDA_K,
    AnalysisConfig,
    TrainConfig,
    same_lambda,
    snap_lambda,
)
from core.schema import FastMeta, Readiness, Snapshots
from core.store import IndexEntry, ModelStore, SnapshotStatus

DEFAULT_SEED = TrainConfig().seed  # the seed whose model the dashboard shows; other seeds are replicates


@dataclass(frozen=True)
class SeedRun:
    """One training of a cell under one seed, as the original reports it (`history['val_loss'][-1]`...)."""

    seed: int
    final_loss: float
    final_val_loss: float
    last_epoch: int


@dataclass(frozen=True)
class CellSummary:
    """One trained cell of the cache, with its headline numbers (no arrays).

    readiness: "trained" (model only), "fast" (its fast analysis stage: every page but the
        maps) or "complete" (both stages).
    meta: the fast stage's scalars (losses split in terms, densities, dead units...), None until then.
    seeds: the cell trained the same way under every seed in the cache (this entry's included),
        by seed; more than one when the seed study ran (`bench/seed_spread.py`).
    """

    lambda_k: float
    lambda_a: float
    readiness: Readiness
    entry: str
    history: dict[str, Any]
    meta: FastMeta | None = None
    seeds: tuple[SeedRun, ...] = ()

    @property
    def cell(self) -> tuple[float, float]:
        return (self.lambda_k, self.lambda_a)

    @property
    def ready(self) -> bool:
        """Its fast stage is there: every page but the t-SNE and cluster maps can show it."""
        return self.readiness in ("fast", "complete")


@dataclass(frozen=True)
class CellView:
    """Everything the dashboard shows for one cell whose fast stage is done.

    weights: W1 (784, 196), b1, W2 (196, 784), b2.
    arrays: the fast stage's arrays, and the slow stage's once it is done (`core.schema`).
    store: where the entry lives: its training snapshots are read from there on first use (`snapshots`),
        only by the pages that show them.
    """

    summary: CellSummary
    weights: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray]
    store: ModelStore | None = field(default=None, repr=False, compare=False)

    @cached_property
    def _snapshots(self) -> tuple[Snapshots | None, SnapshotStatus]:
        if self.store is None:
            return None, "absent"
        return self.store.load_snapshots(self.summary.entry)

    @property
    def snapshots(self) -> Snapshots | None:
        """The model's training snapshots (W1 and 20 test digits at log-spaced epochs), or None."""
        return self._snapshots[0]

    @property
    def snapshot_status(self) -> SnapshotStatus:
        """Whether the snapshots are "present", "absent" (trained before they were recorded) or "damaged"."""
        return self._snapshots[1]

    @property
    def meta(self) -> FastMeta:
        assert self.summary.meta is not None
        return self.summary.meta

    @property
    def history(self) -> dict[str, Any]:
        return self.summary.history

    @property
    def has_maps(self) -> bool:
        """The slow stage (t-SNE maps, K-means silhouettes) is there."""
        return self.summary.readiness == "complete"


def _dict(cfg) -> dict | None:
    return None if cfg is None else cfg.to_dict()


def _shown_first(e: IndexEntry) -> tuple[bool, str]:
    """Which entry of a cell the dashboard shows: the default seed's, then the newest."""
    seed = e.config.get("train", {}).get("seed", DEFAULT_SEED)
    return (seed == DEFAULT_SEED, e.history.get("finished_at", ""))


def _without_seed(e: IndexEntry) -> tuple:
    """What must match for two entries to be the same training under another seed."""
    train = {k: v for k, v in e.config.get("train", {}).items() if k != "seed"}
    return (repr(sorted(train.items())), repr(e.config.get("model")), e.config.get("data_fingerprint"))


def _seed_runs(entries: list[IndexEntry], shown: IndexEntry) -> tuple[SeedRun, ...]:
    """The newest entry per seed among `entries` trained like `shown`, as SeedRuns sorted by seed."""
    like, newest = _without_seed(shown), {}
    for e in entries:
        seed = e.config.get("train", {}).get("seed")
        if not isinstance(seed, int) or _without_seed(e) != like:
            continue
        if seed not in newest or e.history.get("finished_at", "") > newest[seed].history.get("finished_at", ""):
            newest[seed] = e
    newest[shown.config.get("train", {}).get("seed", DEFAULT_SEED)] = shown
    runs = []
    for seed, e in sorted(newest.items()):
        h = e.history
        try:
            runs.append(SeedRun(seed, float(h["final_loss"]), float(h["final_val_loss"]), int(h["last_epoch"])))
        except (KeyError, TypeError, ValueError):
            continue  # an older history without these numbers: not part of the spread
    return tuple(runs)


def _canonical(cell: tuple[float, float]) -> tuple[float, float]:
    """The cell as the default grid names it, when it names the same lambdas (`same_lambda`)."""
    k, a = cell
    return (snap_lambda(k, ORIGINAL_LAMBDA_K) or k, snap_lambda(a, DEFAULT_LAMBDA_A) or a)


def _by_cell(store: ModelStore) -> dict[tuple[float, float], list[IndexEntry]]:
    """Every intact entry by cell, from the cheap index.

    Entries whose lambdas differ from a default grid value only in the last bits (typed rounded on the
    command line by an older release) belong to that grid value's cell.
    """
    out: dict[tuple[float, float], list[IndexEntry]] = {}
    for e in store.index():
        out.setdefault(_canonical(e.cell), []).append(e)
    return out


def _summary(e: IndexEntry, analysis_cfg: AnalysisConfig | None, seeds: tuple[SeedRun, ...] = ()) -> CellSummary:
    cfg = _dict(analysis_cfg)
    fast = e.stage("fast", ANALYSIS_VERSION, cfg)
    meta = None
    if fast is not None:
        try:
            meta = FastMeta.from_dict(fast)
        except (KeyError, TypeError, ValueError):
            meta = None  # written by other code with the same version: recomputed like a damaged one
    readiness: Readiness = "trained"
    if meta is not None:
        readiness = "complete" if e.stage("slow", ANALYSIS_VERSION, cfg) is not None else "fast"
    k, a = _canonical(e.cell)
    return CellSummary(k, a, readiness, e.name, e.history, meta, seeds)


def scan(
    store: ModelStore, train_cfg: TrainConfig | None = None, analysis_cfg: AnalysisConfig | None = None
) -> dict[tuple[float, float], CellSummary]:
    """Every intact cell in `store` (trained with `train_cfg`, if given), by (lambda_k, lambda_a)."""
    wanted, out = _dict(train_cfg), {}
    for cell, es in _by_cell(store).items():
        mine = [e for e in es if wanted is None or e.config.get("train") == wanted]
        if mine:
            shown = max(mine, key=_shown_first)
            out[cell] = _summary(shown, analysis_cfg, _seed_runs(es, shown))
    return out


def load_view(store: ModelStore, summary: CellSummary) -> CellView | None:
    """The arrays of a listed cell whose fast stage is done, or None (not analysed, damaged or gone).

    Its training snapshots are not read here, only when a page asks for them (`CellView.snapshots`).
    """
    if not summary.ready or summary.meta is None:
        return None
    model = store.load_entry(summary.entry)
    fast = store.load_stage(summary.entry, "fast", ANALYSIS_VERSION, summary.meta.config)
    if model is None or fast is None:
        return None
    arrays = fast[0]
    if summary.readiness == "complete":
        slow = store.load_stage(summary.entry, "slow", ANALYSIS_VERSION, summary.meta.config)
        if slow is None:  # damaged since it was listed: show the rest, the maps will be recomputed
            summary = replace(summary, readiness="fast")
        else:
            arrays = arrays | slow[0]
    return CellView(summary, model.weights, arrays, store)


def find(cells: Mapping[tuple[float, float], CellSummary], lambda_k: float, lambda_a: float) -> CellSummary | None:
    """The listed cell that names the same lambdas (see `core.config.same_lambda`), or None."""
    hit = cells.get((lambda_k, lambda_a))
    if hit is not None:
        return hit
    return next((c for (k, a), c in cells.items() if same_lambda(k, lambda_k) and same_lambda(a, lambda_a)), None)


def load_cell(
    store: ModelStore,
    lambda_k: float,
    lambda_a: float,
    train_cfg: TrainConfig | None = None,
    analysis_cfg: AnalysisConfig | None = None,
) -> CellView | None:
    """The cell (lambda_k, lambda_a) with its fast stage done, or None (not analysed yet, or damaged)."""
    summary = find(scan(store, train_cfg, analysis_cfg), lambda_k, lambda_a)
    return None if summary is None else load_view(store, summary)


# ------------------------------------------------------ the grid as a table
def results_table(cells: Mapping[tuple[float, float], CellSummary]) -> list[dict[str, Any]]:
    """One row per analysed cell (fast stage done), sorted by (lambda_a, lambda_k): the grid's results table.

    Two kinds of loss, both the total (MSE + both penalties):
    * history_loss_train, history_loss_test: what the original notebook plots, Keras'
      `history['loss'][-1]` (the mean of the last epoch's batch losses, taken while the weights
      still moved) and `history['val_loss'][-1]` (the test set at the last epoch's end);
    * loss_train, loss_test (and their terms): one fresh pass over the whole set with the final
      weights, from the analysis. On the training set the two differ by a few percent.
    Densities (fraction of non-zero code entries, what the original calls sparsity) on both sets.
    The seed study's spread: seeds (how many trainings of the cell under different seeds are
    cached) and the min and max over them of the original's two losses and of the epochs.
    """
    rows = []
    for (lk, la), c in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if not c.ready or c.meta is None:
            continue
        m = c.meta
        runs = c.seeds or (SeedRun(0, c.history["loss"][-1], c.history["val_loss"][-1], c.history["last_epoch"]),)
        rows.append(
            {
                "lambda_k": lk,
                "lambda_a": la,
                "epochs": c.history["last_epoch"] + 1,
                "history_loss_train": float(c.history["loss"][-1]),
                "history_loss_test": float(c.history["val_loss"][-1]),
                "loss_train": m.loss_train.total,
                "loss_test": m.loss_test.total,
                "mse_train": m.loss_train.mse,
                "mse_test": m.loss_test.mse,
                "activity_penalty_test": m.loss_test.activity,
                "kernel_penalty": m.loss_test.kernel,
                "density_train": m.density_train,
                "sparsity_train": m.sparsity_train,
                "density_test": m.density_test,
                "sparsity_test": m.sparsity_test,
                "l0_mean_test": m.l0_mean_test,
                "n_dead_units": m.n_dead_units,
                "n_dense_units": m.n_dense_units,
                "mean_activation_test": m.mean_activation_test,
                "n_zero_codes_test": m.n_zero_codes_test,
                "seeds": len(runs),
                "history_loss_train_min": min(float(r.final_loss) for r in runs),
                "history_loss_train_max": max(float(r.final_loss) for r in runs),
                "history_loss_test_min": min(float(r.final_val_loss) for r in runs),
                "history_loss_test_max": max(float(r.final_val_loss) for r in runs),
                "epochs_min": min(r.last_epoch for r in runs) + 1,
                "epochs_max": max(r.last_epoch for r in runs) + 1,
                "entry": c.entry,
            }
        )
    return rows


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
