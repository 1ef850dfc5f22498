"""The grid runner: train and analyse every (lambda_k, lambda_a) cell not yet done.

Cells run through `joblib`, one model per worker process (the fast engine is
single-threaded, see `core.train`), on local processes (`loky`) or on a dask
cluster (`dask`, local or at a scheduler address) with the same code. Each
worker takes the cell's lock, trains, writes the entry and removes the lock,
so an interrupted sweep keeps every finished model and the next run resumes
with the rest. While training, a worker writes `<entry>.progress.json` in the
cache every epoch; the caller (a terminal progress bar, later the dashboard)
reads those files, which works for every backend that shares the cache folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import AnalysisConfig, ModelConfig, SweepGrid, TrainConfig
from core.data import Dataset
from core.store import EntryKey, LockBusy, ModelStore, _write_atomic

log = logging.getLogger(__name__)
PROGRESS_SUFFIX = ".progress.json"
BACKENDS = ("loky", "dask")


class SweepError(Exception):
    """The sweep cannot run; the message is one sentence for the user."""


@dataclass(frozen=True)
class CellResult:
    """What happened to one cell.

    status: "trained" (now), "cached" (before) or "untrained" (analysis asked, no model).
    analysis: "analysed" (now), "cached" (before) or "skipped" (not asked, or no model).
    """

    lambda_k: float
    lambda_a: float
    status: str
    analysis: str
    entry: str
    last_epoch: int | None = None
    final_loss: float | None = None
    final_val_loss: float | None = None
    seconds: float | None = None
    analysis_seconds: float | None = None
    density_test: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def progress_path(store: ModelStore, key: EntryKey) -> Path:
    return store.root / (key.name + PROGRESS_SUFFIX)


def read_progress(store: ModelStore) -> dict[str, dict[str, Any]]:
    """Progress of every model being trained or analysed in `store`, by entry name."""
    out = {}
    if store.root.is_dir():
        for p in store.root.glob("*" + PROGRESS_SUFFIX):
            with contextlib.suppress(OSError, ValueError):
                out[p.name[: -len(PROGRESS_SUFFIX)]] = json.loads(p.read_text())
    return out


def _result(key: EntryKey, status: str, history: dict | None, analysis: str, meta: dict | None) -> CellResult:
    h, m = history or {}, meta or {}
    return CellResult(
        key.model.lambda_k,
        key.model.lambda_a,
        status,
        analysis,
        key.name,
        h.get("last_epoch"),
        h.get("final_loss"),
        h.get("final_val_loss"),
        h.get("seconds"),
        m.get("seconds_total"),
        m.get("density_test"),
    )


def process_cell(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: Dataset,
    cache_root: str,
    stages: tuple[str, ...] = ("train",),
    analysis_cfg: AnalysisConfig | None = None,
    threads: int = 1,
) -> CellResult:
    """Train and/or analyse one cell, whatever is not cached yet; safe from many processes at once.

    If another live process holds the cell's lock, wait for it, then use its work.
    """
    store = ModelStore(cache_root)
    key = EntryKey(model_cfg, train_cfg, data.fingerprint)
    analysis_cfg = analysis_cfg or AnalysisConfig()

    def done() -> CellResult | None:
        return _already_done(model_cfg, train_cfg, data, store, stages, analysis_cfg)

    while True:
        result = done()
        if result is not None:
            return result
        try:
            with store.lock(key) as heartbeat:
                result = done()  # another process may have finished it meanwhile
                if result is not None:
                    return result
                return _work(store, key, data, stages, analysis_cfg, heartbeat, threads)
        except LockBusy as busy:
            log.info("%s; waiting for it", busy)
            time.sleep(1.0)


def train_cell(model_cfg: ModelConfig, train_cfg: TrainConfig, data: Dataset, cache_root: str, threads: int = 1):
    """Train one cell unless it is cached (see `process_cell`)."""
    return process_cell(model_cfg, train_cfg, data, cache_root, ("train",), threads=threads)


def _work(store, key, data, stages, analysis_cfg, heartbeat, threads) -> CellResult:
    """Under the lock: train if needed, analyse if asked, reporting to `<entry>.progress.json`."""
    ppath = progress_path(store, key)
    started = time.time()

    def report(stage: str, done: int, total: int, detail: str) -> None:
        heartbeat()
        info = {
            "lambda_k": key.model.lambda_k,
            "lambda_a": key.model.lambda_a,
            "stage": stage,
            "done": done,
            "total": total,
            "detail": detail,
            "elapsed": time.time() - started,
            "pid": os.getpid(),
        }
        _write_atomic(ppath, json.dumps(info).encode())

    try:
        model = store.load(key)
        status = "cached"
        if model is None:
            from core.train import train  # imports TensorFlow: only in the worker that trains

            def on_epoch(epoch: int, logs: dict) -> None:
                report("train", epoch + 1, key.train.max_epochs, f"test loss {logs['val_loss']:.5f}")

            report("train", 0, key.train.max_epochs, "starting")
            result = train(key.model, key.train, data, on_epoch=on_epoch, threads=threads)
            store.save(key, result.weights, result.history(), source=data.source)
            model, status = store.load(key), "trained"
        if "analyze" not in stages:
            return _result(key, status, model.history, "skipped", None)
        from core.analysis import ANALYSIS_STEPS, analyze

        steps = iter(range(len(ANALYSIS_STEPS)))
        arrays, meta = analyze(
            model.weights,
            key.model,
            data,
            analysis_cfg,
            n_jobs=threads,
            progress=lambda step: report("analyze", next(steps), len(ANALYSIS_STEPS), step),
        )
        store.save_analysis(key, arrays, meta)
        return _result(key, status, model.history, "analysed", meta)
    finally:
        with contextlib.suppress(FileNotFoundError):
            ppath.unlink()


def order_cells(cells: list[ModelConfig]) -> list[ModelConfig]:
    """Longest first: stronger regularization trains for more epochs, so start it early."""
    return sorted(cells, key=lambda c: c.lambda_k / 1e-4 + c.lambda_a / 1e-4, reverse=True)


class _ProgressDisplay:
    """A terminal progress bar: cells done with ETA, plus one line per cell in progress."""

    def __init__(self, store: ModelStore, keys: list[EntryKey], enabled: bool):
        self.store, self.names = store, {k.name for k in keys}
        self.enabled = enabled
        self.stop = threading.Event()
        self.bars: dict[str, Any] = {}
        if enabled:
            from tqdm import tqdm

            self.tqdm = tqdm
            self.total = tqdm(total=len(keys), desc="cells", unit="cell", position=0, dynamic_ncols=True)
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()

    def done(self, r: CellResult) -> None:
        if self.enabled:
            line = f"lambda_k={r.lambda_k:<9.3g} lambda_a={r.lambda_a:<9.3g} model {r.status}"
            if r.last_epoch is not None:
                line += f" ({r.last_epoch + 1} epochs, test loss {r.final_val_loss:.5f}, {r.seconds:.0f} s)"
            if r.analysis != "skipped":
                line += f", analysis {r.analysis}"
                if r.density_test is not None:
                    line += f" (test density {r.density_test:.3f}, {r.analysis_seconds:.0f} s)"
            self.total.write(line)
            self.total.update(1)

    def _poll(self) -> None:
        while not self.stop.wait(0.5):
            progress = {n: p for n, p in read_progress(self.store).items() if n in self.names}
            for name in list(self.bars):
                if name not in progress:
                    self.bars.pop(name).close()
            for name, p in progress.items():
                label = f"lk={p['lambda_k']:.2g} la={p['lambda_a']:.2g} {p['stage']}"
                bar = self.bars.get(name)
                if bar is None:
                    bar = self.tqdm(total=p["total"], desc=label, leave=False, dynamic_ncols=True)
                    self.bars[name] = bar
                bar.total, bar.n = p["total"], p["done"]
                bar.set_description(label, refresh=False)
                bar.set_postfix_str(p["detail"], refresh=True)

    def close(self) -> None:
        if self.enabled:
            self.stop.set()
            self.thread.join()
            for bar in self.bars.values():
                bar.close()
            self.total.close()


def run_sweep(
    grid: SweepGrid,
    train_cfg: TrainConfig,
    data: Dataset,
    store: ModelStore,
    *,
    stages: tuple[str, ...] = ("train",),
    analysis_cfg: AnalysisConfig | None = None,
    jobs: int | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
) -> list[CellResult]:
    """Do `stages` ("train", "analyze") for every cell of `grid` not yet done; one result per cell."""
    import joblib

    if backend not in BACKENDS:
        raise SweepError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    store.ensure_writable()
    cells = order_cells(grid.cells())
    keys = [EntryKey(c, train_cfg, data.fingerprint) for c in cells]
    display = _ProgressDisplay(store, keys, progress)
    results: list[CellResult] = []
    todo = []
    # cells with nothing to do are answered here, without starting a worker
    for cell in cells:
        r = _already_done(cell, train_cfg, data, store, stages, analysis_cfg)
        if r is None:
            todo.append(cell)
        else:
            results.append(r)
            display.done(r)
    try:
        if todo:
            cores = os.cpu_count() or 1
            n_jobs = max(1, min(jobs or cores, len(todo)))
            threads = max(1, cores // n_jobs)  # one cell alone gets every core
            root = str(store.root)
            tasks = [
                joblib.delayed(process_cell)(c, train_cfg, data, root, stages, analysis_cfg, threads) for c in todo
            ]
            with _backend(backend, scheduler, n_jobs) as (name, n):
                parallel = joblib.Parallel(n_jobs=n, backend=name, return_as="generator_unordered")
                for r in parallel(tasks):
                    display.done(r)
                    results.append(r)
    finally:
        display.close()
    by_cell = {(r.lambda_k, r.lambda_a): r for r in results}
    return [by_cell[(c.lambda_k, c.lambda_a)] for c in grid.cells()]


def _already_done(cell, train_cfg, data, store, stages, analysis_cfg) -> CellResult | None:
    """The cell's result if `stages` are all done for it already (or cannot be), else None."""
    from core.analysis import ANALYSIS_VERSION

    key = EntryKey(cell, train_cfg, data.fingerprint)
    model = store.load(key)
    if model is None:
        return None if "train" in stages else _result(key, "untrained", None, "skipped", None)
    if "analyze" not in stages:
        return _result(key, "cached", model.history, "skipped", None)
    found = store.load_analysis(key, ANALYSIS_VERSION, (analysis_cfg or AnalysisConfig()).to_dict(), arrays=False)
    return None if found is None else _result(key, "cached", model.history, "cached", found[1])


@contextlib.contextmanager
def _backend(backend: str, scheduler: str | None, n_jobs: int):
    """(joblib backend, n_jobs) for the chosen backend; starts a dask client if asked."""
    if backend == "loky":
        yield ("loky" if n_jobs > 1 else "sequential"), n_jobs
        return
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as e:
            raise SweepError(f"the dask scheduler at {scheduler} could not be reached ({e}).") from None
        cluster = None
    else:
        cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        # An instance, not the name "dask": joblib 1.6 passes `nesting_level` to a
        # backend built by name, and its dask backend forwards unknown keywords
        # to every task (TypeError: Batch.__call__() got ... 'nesting_level').
        from joblib._dask import DaskDistributedBackend

        yield DaskDistributedBackend(client=client), -1
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
