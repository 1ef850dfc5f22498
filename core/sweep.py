"""The grid runner: train every (lambda_k, lambda_a) cell that is not cached yet.

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

from core.config import ModelConfig, SweepGrid, TrainConfig
from core.data import Dataset
from core.store import EntryKey, LockBusy, ModelStore, _write_atomic

log = logging.getLogger(__name__)
PROGRESS_SUFFIX = ".progress.json"
BACKENDS = ("loky", "dask")


class SweepError(Exception):
    """The sweep cannot run; the message is one sentence for the user."""


@dataclass(frozen=True)
class CellResult:
    """What happened to one cell."""

    lambda_k: float
    lambda_a: float
    status: str  # "trained" | "cached"
    entry: str
    last_epoch: int
    final_loss: float
    final_val_loss: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def progress_path(store: ModelStore, key: EntryKey) -> Path:
    return store.root / (key.name + PROGRESS_SUFFIX)


def read_progress(store: ModelStore) -> dict[str, dict[str, Any]]:
    """Progress of every model being trained in `store`, by entry name."""
    out = {}
    if store.root.is_dir():
        for p in store.root.glob("*" + PROGRESS_SUFFIX):
            with contextlib.suppress(OSError, ValueError):
                out[p.name[: -len(PROGRESS_SUFFIX)]] = json.loads(p.read_text())
    return out


def _result(key: EntryKey, status: str, history: dict, entry: str) -> CellResult:
    return CellResult(
        key.model.lambda_k,
        key.model.lambda_a,
        status,
        entry,
        int(history["last_epoch"]),
        float(history["final_loss"]),
        float(history["final_val_loss"]),
        float(history["seconds"]),
    )


def train_cell(
    model_cfg: ModelConfig, train_cfg: TrainConfig, data: Dataset, cache_root: str, threads: int = 1
) -> CellResult:
    """Train one cell unless it is cached; safe to call from many processes at once.

    If another live process holds the cell's lock, wait for it and return its result.
    """
    store = ModelStore(cache_root)
    key = EntryKey(model_cfg, train_cfg, data.fingerprint)
    while True:
        cached = store.load(key)
        if cached is not None:
            return _result(key, "cached", cached.history, cached.path.name)
        try:
            with store.lock(key) as heartbeat:
                cached = store.load(key)  # another process may have finished it meanwhile
                if cached is not None:
                    return _result(key, "cached", cached.history, cached.path.name)
                return _train_and_save(store, key, data, heartbeat, threads)
        except LockBusy as busy:
            log.info("%s; waiting for it", busy)
            time.sleep(1.0)


def _train_and_save(store: ModelStore, key: EntryKey, data: Dataset, heartbeat, threads: int) -> CellResult:
    """Train under the lock, reporting progress to `<entry>.progress.json` every epoch."""
    from core.train import train  # imports TensorFlow: only in the worker that trains

    ppath = progress_path(store, key)
    started = time.time()

    def on_epoch(epoch: int, logs: dict) -> None:
        heartbeat()
        info = {
            "lambda_k": key.model.lambda_k,
            "lambda_a": key.model.lambda_a,
            "epoch": epoch,
            "max_epochs": key.train.max_epochs,
            "loss": logs["loss"],
            "val_loss": logs["val_loss"],
            "elapsed": time.time() - started,
            "pid": os.getpid(),
        }
        _write_atomic(ppath, json.dumps(info).encode())

    try:
        result = train(key.model, key.train, data, on_epoch=on_epoch, threads=threads)
        entry = store.save(key, result.weights, result.history(), source=data.source)
    finally:
        with contextlib.suppress(FileNotFoundError):
            ppath.unlink()
    return _result(key, "trained", result.history(), entry.name)


def order_cells(cells: list[ModelConfig]) -> list[ModelConfig]:
    """Longest first: stronger regularization trains for more epochs, so start it early."""
    return sorted(cells, key=lambda c: c.lambda_k / 1e-4 + c.lambda_a / 1e-4, reverse=True)


class _ProgressDisplay:
    """A terminal progress bar: models done with ETA, plus one line per model in training."""

    def __init__(self, store: ModelStore, keys: list[EntryKey], enabled: bool):
        self.store, self.names = store, {k.name for k in keys}
        self.enabled = enabled
        self.stop = threading.Event()
        self.bars: dict[str, Any] = {}
        if enabled:
            from tqdm import tqdm

            self.tqdm = tqdm
            self.total = tqdm(total=len(keys), desc="models", unit="model", position=0, dynamic_ncols=True)
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()

    def done(self, result: CellResult) -> None:
        if self.enabled:
            self.total.write(
                f"{result.status:>7}  lambda_k={result.lambda_k:.3g} lambda_a={result.lambda_a:.3g}  "
                f"epochs={result.last_epoch + 1} test_loss={result.final_val_loss:.5f} {result.seconds:.0f}s"
            )
            self.total.update(1)

    def _poll(self) -> None:
        while not self.stop.wait(0.5):
            progress = {n: p for n, p in read_progress(self.store).items() if n in self.names}
            for name in list(self.bars):
                if name not in progress:
                    self.bars.pop(name).close()
            for name, p in progress.items():
                bar = self.bars.get(name)
                if bar is None:
                    label = f"lk={p['lambda_k']:.2g} la={p['lambda_a']:.2g}"
                    bar = self.tqdm(total=p["max_epochs"], desc=label, unit="epoch", leave=False, dynamic_ncols=True)
                    self.bars[name] = bar
                bar.n = p["epoch"] + 1
                bar.set_postfix(test_loss=f"{p['val_loss']:.5f}", refresh=True)

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
    jobs: int | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
) -> list[CellResult]:
    """Train every cell of `grid` not yet in `store`; returns one result per cell."""
    import joblib

    if backend not in BACKENDS:
        raise SweepError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    store.ensure_writable()
    cells = order_cells(grid.cells())
    keys = [EntryKey(c, train_cfg, data.fingerprint) for c in cells]
    cached = {k.name for k in keys if store.load(k) is not None}
    todo = [c for c, k in zip(cells, keys) if k.name not in cached]
    results = [_result(k, "cached", store.load(k).history, k.name) for k in keys if k.name in cached]
    display = _ProgressDisplay(store, keys, progress)
    for r in results:
        display.done(r)
    try:
        if todo:
            n_jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
            tasks = [joblib.delayed(train_cell)(c, train_cfg, data, str(store.root)) for c in todo]
            with _backend(backend, scheduler, n_jobs) as (name, n):
                parallel = joblib.Parallel(n_jobs=n, backend=name, return_as="generator_unordered")
                for r in parallel(tasks):
                    display.done(r)
                    results.append(r)
    finally:
        display.close()
    by_cell = {(r.lambda_k, r.lambda_a): r for r in results}
    return [by_cell[(c.lambda_k, c.lambda_a)] for c in grid.cells()]


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
