"""The preparation job: train and analyse the grid's cells in the order that serves a demo.

One job per cache at a time (`ModelStore.claim_job`), whoever starts it: the
dashboard's Prepare button and `python -m core prepare|train|analyze` in a
terminal run the same `run_job`, and a second start joins the running job
instead (its cells go into that job's queue). The job works cell by cell:

* the order (`demo_order`): the default model first; then the original sweep
  (lambda_a = 0, so the overview's curves appear); then the rest of the grid,
  spread over the sliders' range (extremes before neighbours);
* each cell's training is followed at once by the fast analysis stage (a few
  seconds: every page but the maps works then); the slow stages (t-SNE,
  K-means) come after every fast one, in the same order;
* a session that asks for a cell (`ModelStore.request`) moves it to the front;
  `ModelStore.request_stop` stops the job, keeping every finished stage;
* a session may ask for a cached cell to be trained again (`retrain`, the
  dashboard's button for entries trained before training snapshots were
  recorded): its entry stays until the new training is saved
  (`ModelStore.save_retrained`).

Tasks run one model per worker process (`loky`, the fast engine is
single-threaded, see `core.train`) or on a dask cluster (local, or at a
scheduler address) with the same code. Each worker takes the cell's lock,
does the task's stages and writes them to the cache, so an interrupted job
keeps every finished stage and the next run resumes with the rest. While
training, a worker writes the epochs' losses to `<entry>.progress.json`
(the dashboard draws them live); the job's own state, with its heartbeat,
is in the cache's job file.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.config import AnalysisConfig, ModelConfig, SweepGrid, TrainConfig, same_lambda
from core.data import Dataset
from core.schema import STAGES
from core.store import EntryKey, JobBusy, LockBusy, ModelStore, pid_alive

log = logging.getLogger(__name__)
BACKENDS = ("loky", "dask")
Work = Literal["train", "fast", "slow"]
Command = Literal["prepare", "train", "analyze"]
ModelStatus = Literal["trained", "cached", "untrained", "failed"]  # trained now, before, not at all, failed now
StageStatus = Literal["analysed", "cached", "skipped"]  # an analysis stage done now, before, or not asked
# What each command does to a cell, as tasks run in turn: training goes with the fast stage,
# so a model is worth showing the moment its task ends; the slow stage is a task of its own.
TASKS: dict[str, tuple[tuple[Work, ...], ...]] = {
    "prepare": (("train", "fast"), ("slow",)),
    "train": (("train",),),
    "analyze": (("fast",), ("slow",)),
}
# Until this job has timed a task of each kind: typical seconds on one core, for a first ETA.
TYPICAL_SECONDS = {0: 60.0, 1: 30.0}
TYPICAL_EPOCHS = 55  # a first guess of where early stopping ends a run (the README's table has the real spread)
FAST_STAGE_SECONDS = 5.0  # the fast analysis right after training
STACK_ON_GPU = 10  # cells trained at once on a GPU: the default grid's rows are 10 wide


class SweepError(Exception):
    """The job cannot run; the message is one sentence for the user."""


@dataclass(frozen=True)
class CellResult:
    """What happened to one cell.

    status: "trained" (now), "cached" (before) or "untrained" (analysis asked, no model).
    analysis: the fast stage: "analysed" (now), "cached" (before) or "skipped" (not asked, or no model).
    maps: the slow stage, the same way.
    error: why a task of this cell failed, if one did.
    """

    lambda_k: float
    lambda_a: float
    status: ModelStatus
    analysis: StageStatus
    entry: str
    last_epoch: int | None = None
    final_loss: float | None = None
    final_val_loss: float | None = None
    seconds: float | None = None
    analysis_seconds: float | None = None
    density_test: float | None = None
    maps: StageStatus = "skipped"
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


# ------------------------------------------------------------- one cell
def process_cell(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: Dataset | DataRef,
    cache_root: str,
    stages: tuple[Work, ...] = ("train",),
    analysis_cfg: AnalysisConfig | None = None,
    threads: int = 1,
    retrain: bool = False,
) -> CellResult:
    """Do `stages` ("train", "fast", "slow") of one cell, whatever is not cached yet; safe from many processes.

    If another live process holds the cell's lock, wait for it (saying who it is), then use its work.
    threads: the slow analysis's threads (t-SNE, K-means); training always runs with the fixed
    `core.train.TRAINING_THREADS`, so its numbers do not depend on how many workers share the machine.
    retrain: train the cell even if it is cached (with "train" in `stages`): a model trained before training
    snapshots were recorded gets them (`ModelStore.save_retrained` keeps the entry if the weights come out
    the same, as they do on the same machine, else replaces it once the new one is complete).
    """
    data = data.load() if isinstance(data, DataRef) else data
    store = ModelStore(cache_root)
    key = EntryKey(model_cfg, train_cfg, data.fingerprint)
    analysis_cfg = analysis_cfg or AnalysisConfig()
    retrain = retrain and "train" in stages
    said = False

    def done() -> CellResult | None:
        return None if retrain else _already_done(key, store, stages, analysis_cfg)

    while True:
        result = done()
        if result is not None:
            return result
        try:
            with store.lock(key) as heartbeat:
                result = done()  # another process may have finished it meanwhile
                if result is not None:
                    return result
                return _work(store, key, data, stages, analysis_cfg, heartbeat, threads, retrain)
        except LockBusy as busy:
            if not said:
                log.warning("%s; waiting for it.", busy)
                said = True
            time.sleep(1.0)


def process_cells(
    model_cfgs: list[ModelConfig],
    train_cfg: TrainConfig,
    data: Dataset | DataRef,
    cache_root: str,
    stages: tuple[Work, ...] = ("train", "fast"),
    analysis_cfg: AnalysisConfig | None = None,
    threads: int = 1,
) -> list[CellResult]:
    """`process_cell` for several cells, training the untrained ones together with the stacked step.

    On a GPU one step trains K models for about the price of one (`core.train.train_stacked`);
    every model's numbers equal training it alone, to float32 round-off. A cell whose lock
    another live process holds is left to that process and done one by one afterwards.
    """
    data = data.load() if isinstance(data, DataRef) else data
    store = ModelStore(cache_root)
    analysis_cfg = analysis_cfg or AnalysisConfig()
    keys = [EntryKey(c, train_cfg, data.fingerprint) for c in model_cfgs]
    results: dict[int, CellResult] = {}
    with contextlib.ExitStack() as locks:
        mine = []
        for i, key in enumerate(keys):
            try:
                beat = locks.enter_context(store.lock(key))
            except LockBusy:
                continue
            mine.append((i, key, beat))
        todo = [(i, key, beat) for i, key, beat in mine if "train" in stages and store.load(key) is None]
        if todo:
            from core.train import train_stacked

            live = {i: {"loss": [], "val_loss": []} for i, _, _ in todo}

            def on_epoch(m: int, epoch: int, logs: dict) -> None:
                i, key, beat = todo[m]
                beat()
                live[i]["loss"].append(float(logs["loss"]))
                live[i]["val_loss"].append(float(logs["val_loss"]))
                store.write_progress(
                    key,
                    {"lambda_k": key.model.lambda_k, "lambda_a": key.model.lambda_a, "stage": "train"}
                    | {"done": epoch + 1, "total": train_cfg.max_epochs, "detail": f"test loss {logs['val_loss']:.5f}"}
                    | live[i],
                )

            try:
                trained = train_stacked([key.model for _, key, _ in todo], train_cfg, data, on_epoch=on_epoch)
                for (_, key, _), result in zip(todo, trained):
                    store.save(key, result.weights, result.history(), source=data.source, snapshots=result.snapshots)
            finally:
                for _, key, _ in todo:
                    store.clear_progress(key)
        for i, key, beat in mine:
            r = _work(store, key, data, tuple(s for s in stages if s != "train"), analysis_cfg, beat, threads)
            trained_now = any(i == j for j, _, _ in todo)
            results[i] = replace(r, status="trained") if trained_now else r
    for i, cfg in enumerate(model_cfgs):  # the cells other processes held
        if i not in results:
            results[i] = process_cell(cfg, train_cfg, data, cache_root, stages, analysis_cfg, threads)
    return [results[i] for i in range(len(model_cfgs))]


def gpu_present() -> bool:
    """Is there an NVIDIA GPU here? Asked of the driver, without importing TensorFlow."""
    import subprocess

    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return False
    try:
        out = subprocess.run([nvidia_smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def train_cell(model_cfg: ModelConfig, train_cfg: TrainConfig, data: Dataset, cache_root: str, threads: int = 1):
    """Train one cell unless it is cached (see `process_cell`)."""
    return process_cell(model_cfg, train_cfg, data, cache_root, ("train",), threads=threads)


def _work(store, key, data, stages, analysis_cfg, heartbeat, threads, retrain: bool = False) -> CellResult:
    """Under the lock: train if needed (or asked to `retrain`), then the asked analysis stages, reporting progress."""
    from core.analysis import ANALYSIS_VERSION, STAGE_STEPS

    started = time.time()
    live: dict[str, list[float]] = {"loss": [], "val_loss": []}

    def report(stage: str, done: int, total: int, detail: str) -> None:
        heartbeat()
        store.write_progress(
            key,
            {
                "lambda_k": key.model.lambda_k,
                "lambda_a": key.model.lambda_a,
                "stage": stage,
                "done": done,
                "total": total,
                "detail": detail,
                "elapsed": time.time() - started,
                "patience": key.train.patience,
            }
            | live,
        )

    cfg = analysis_cfg.to_dict()
    status, analysis, maps = "cached", "skipped", "skipped"
    fast_meta = None
    try:
        model = store.load(key)
        if model is None or (retrain and "train" in stages):
            if "train" not in stages:
                return _result(key, "untrained", None, "skipped", None)
            from core.train import train  # imports TensorFlow: only in the worker that trains

            def on_epoch(epoch: int, logs: dict) -> None:
                live["loss"].append(float(logs["loss"]))
                live["val_loss"].append(float(logs["val_loss"]))
                report("train", epoch + 1, key.train.max_epochs, f"test loss {logs['val_loss']:.5f}")

            report("train", 0, key.train.max_epochs, "starting")
            result = train(key.model, key.train, data, on_epoch=on_epoch)  # fixed thread pools, see core.train
            how = (key, result.weights, result.history(), data.source, result.snapshots)
            if model is None:
                store.save(*how)
            else:  # the cached entry stays until this one is saved
                outcome = store.save_retrained(*how)
                log.info("%s trained again: its entry was %s.", key.name, outcome)
            model, status = store.load(key), "trained"
        for stage in STAGES:
            if stage not in stages:
                continue
            found = store.load_stage(key, stage, ANALYSIS_VERSION, cfg)
            if found is not None:
                if stage == "fast":
                    fast_meta, analysis = found[1], "cached"
                else:
                    maps = "cached"
                continue
            steps = STAGE_STEPS[stage]
            step_no = iter(range(len(steps)))

            def say(step: str, stage=stage, steps=steps, step_no=step_no) -> None:
                report(stage, next(step_no), len(steps), step)

            arrays, meta = _analyze(stage, model.weights, key.model, data, analysis_cfg, threads, say)
            store.save_stage(key, stage, arrays, meta.to_dict())
            if stage == "fast":
                fast_meta, analysis = meta.to_dict(), "analysed"
            else:
                maps = "analysed"
        return _result(key, status, model.history, analysis, fast_meta, maps)
    finally:
        store.clear_progress(key)


def _analyze(stage, weights, model_cfg, data, cfg, threads, say):
    from core.analysis import analyze_fast, analyze_slow

    if stage == "fast":
        return analyze_fast(weights, model_cfg, data, cfg, progress=say)
    return analyze_slow(weights, data, cfg, n_jobs=threads, progress=say)


def _result(key: EntryKey, status: str, history, analysis: str, meta: dict | None, maps: str = "skipped"):
    h, m = history or {}, meta or {}
    seconds = m.get("seconds") or {}
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
        round(sum(seconds.values()), 3) if seconds else None,
        m.get("density_test"),
        maps,
    )


def _already_done(key: EntryKey, store: ModelStore, stages, analysis_cfg: AnalysisConfig) -> CellResult | None:
    """The cell's result if `stages` are all done for it already (or cannot be), else None."""
    from core.analysis import ANALYSIS_VERSION

    model = store.load(key)
    if model is None:
        return None if "train" in stages else _result(key, "untrained", None, "skipped", None)
    cfg = analysis_cfg.to_dict()
    fast = store.load_stage(key, "fast", ANALYSIS_VERSION, cfg) if "fast" in stages else None
    if "fast" in stages and fast is None:
        return None
    if "slow" in stages and store.load_stage(key, "slow", ANALYSIS_VERSION, cfg) is None:
        return None
    return _result(
        key,
        "cached",
        model.history,
        "cached" if fast else "skipped",
        fast[1] if fast else None,
        "cached" if "slow" in stages else "skipped",
    )


# ------------------------------------------------------------ the order
def demo_order(grid: SweepGrid, first: tuple[float, float] | None = None) -> list[ModelConfig]:
    """The grid's cells in the order that serves a demo.

    `first` (default: both lambdas at their smallest, the dashboard's opening model); then
    the rest of the original sweep's row (lambda_a = its smallest value) from its ends
    inwards; then the rest of the grid, each next cell the one farthest (in slider
    positions, each slider's range counting as 1) from every cell already ordered, so
    that every slider position soon has a ready model near it.
    """
    ks, As = list(grid.lambda_k), list(grid.lambda_a)
    cells = {(i, j): ModelConfig(lambda_k=k, lambda_a=a) for j, a in enumerate(As) for i, k in enumerate(ks)}
    start = (0, 0)
    if first is not None:
        hit = [ij for ij, c in cells.items() if same_lambda(c.lambda_k, first[0]) and same_lambda(c.lambda_a, first[1])]
        start = hit[0] if hit else start
    order = [start]
    row = [(i, 0) for i in _ends_inwards(len(ks)) if (i, 0) != start]
    order += row
    rest = [ij for ij in cells if ij not in order]
    sx, sy = max(1, len(ks) - 1), max(1, len(As) - 1)  # each slider's whole range counts as 1

    def gap(ij: tuple[int, int]) -> float:
        return min(((ij[0] - o[0]) / sx) ** 2 + ((ij[1] - o[1]) / sy) ** 2 for o in order)

    while rest:
        # farthest from what is ordered; ties: the smaller lambda_a, then the smaller lambda_k
        far = max(rest, key=lambda ij: (round(gap(ij), 9), -ij[1], -ij[0]))
        order.append(far)
        rest.remove(far)
    return [cells[ij] for ij in order]


def _ends_inwards(n: int) -> list[int]:
    """0, n-1, then the middles of the gaps, largest gap first: 10 -> 0 9 4 2 6 1 3 5 7 8 (every index once)."""
    if n <= 0:
        return []
    out = [0] + ([n - 1] if n > 1 else [])
    gaps = [(0, n - 1)]
    while gaps:
        gaps.sort(key=lambda g: g[1] - g[0], reverse=True)
        lo, hi = gaps.pop(0)
        if hi - lo < 2:
            continue
        mid = (lo + hi) // 2
        out.append(mid)
        gaps += [(lo, mid), (mid, hi)]
    return out


def order_cells(cells: list[ModelConfig]) -> list[ModelConfig]:
    """Longest first: stronger regularization trains for more epochs (the `train` command's order)."""
    return sorted(cells, key=lambda c: c.lambda_k / 1e-4 + c.lambda_a / 1e-4, reverse=True)


@dataclass
class TaskQueue:
    """The job's pending tasks: (cell, phase) in order, phase i of a cell only after its phase i-1.

    phases: the stages each phase does (TASKS[command]).
    """

    phases: tuple[tuple[Work, ...], ...]
    pending: list[tuple[ModelConfig, int]] = field(default_factory=list)
    running: set[tuple[float, float]] = field(default_factory=set)
    # cells asked to be trained again: their training config (None: the job's) for every phase, and
    # those whose training task has not been handed out yet
    train_of: dict[tuple[float, float], TrainConfig | None] = field(default_factory=dict)
    forced: set[tuple[float, float]] = field(default_factory=set)

    @classmethod
    def of(cls, cells: list[ModelConfig], phases) -> TaskQueue:
        return cls(phases, [(c, p) for p in range(len(phases)) for c in cells])

    def _find(self, cell: tuple[float, float]) -> list[tuple[ModelConfig, int]]:
        return [t for t in self.pending if same_lambda(t[0].lambda_k, cell[0]) and same_lambda(t[0].lambda_a, cell[1])]

    def ask(
        self, cell: tuple[float, float], front: bool, retrain: bool = False, train: TrainConfig | None = None
    ) -> None:
        """A session asked for `cell`: its remaining tasks move to the front (or a new cell joins the queue).

        retrain: every phase of the cell again, its training even if it is cached, with `train` (None: the job's).
        """
        mine = self._find(cell)
        if retrain:
            model = mine[0][0] if mine else ModelConfig(lambda_k=cell[0], lambda_a=cell[1])
            self.pending = [t for t in self.pending if t not in mine]
            mine = [(model, p) for p in range(len(self.phases))]
            self.train_of[model.cell] = train
            if any("train" in stages for stages in self.phases):
                self.forced.add(model.cell)
        elif not mine:
            if any(same_lambda(k, cell[0]) and same_lambda(a, cell[1]) for k, a in self.running):
                return
            model = ModelConfig(lambda_k=cell[0], lambda_a=cell[1])
            mine = [(model, p) for p in range(len(self.phases))]
        else:
            self.pending = [t for t in self.pending if t not in mine]
        if front:
            self.pending = sorted(mine, key=lambda t: t[1]) + self.pending
        else:
            self.pending += mine

    def next(self) -> tuple[ModelConfig, int] | None:
        """The first pending task whose cell is not being worked on and whose earlier phases are done."""
        for task in self.pending:
            cell, phase = (task[0].lambda_k, task[0].lambda_a), task[1]
            if cell in self.running:
                continue
            if any(t[1] < phase for t in self._find(cell)):
                continue
            self.pending.remove(task)
            self.running.add(cell)
            return task
        return None

    def next_of_phase(self, phase: int) -> tuple[ModelConfig, int] | None:
        """The first pending task of `phase` that could run now (to go with another in one batch)."""
        for task in self.pending:
            if task[1] != phase or task[0].cell in self.running or task[0].cell in self.train_of:
                continue
            self.pending.remove(task)
            self.running.add(task[0].cell)
            return task
        return None

    def finished(self, cell: tuple[float, float]) -> None:
        self.running.discard(cell)

    def how(self, task: tuple[ModelConfig, int], job_train: TrainConfig) -> tuple[TrainConfig, bool]:
        """(the training config of the task's cell, whether this task retrains it); call once, as it is handed out."""
        cell = task[0].cell
        retrain = cell in self.forced and "train" in self.phases[task[1]]
        if retrain:
            self.forced.discard(cell)
        return self.train_of.get(cell) or job_train, retrain

    def count(self, phase: int) -> int:
        return sum(t[1] == phase for t in self.pending)


# ------------------------------------------------------------- data and pools
@dataclass(frozen=True)
class DataRef:
    """A dataset saved as plain .npy files for worker processes to map, not copy (no pickle anywhere)."""

    folder: str
    fingerprint: str
    source: str

    @classmethod
    def save(cls, data: Dataset, folder: Path) -> DataRef:
        for name in ("x_train", "y_train", "x_test", "y_test"):
            np.save(folder / f"{name}.npy", getattr(data, name), allow_pickle=False)
        return cls(str(folder), data.fingerprint, data.source)

    def load(self) -> Dataset:
        arrays = {
            n: np.load(Path(self.folder) / f"{n}.npy", mmap_mode="r", allow_pickle=False)
            for n in ("x_train", "y_train", "x_test", "y_test")
        }
        return Dataset(**arrays, fingerprint=self.fingerprint, source=self.source)


DATA_PREFIX = "sae-data-"  # + the coordinator's pid: the workers' copy of the data, in the temporary folder


def _remove_orphaned_data() -> None:
    """Remove the data folders of coordinators that are gone (killed with -9: their `finally` never ran).

    The data of a sweep is a few hundred MB of float32 images; without this, every killed
    job would leave its copy in the temporary folder for good.
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{DATA_PREFIX}*-*"):
        pid = folder.name[len(DATA_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


class _InlinePool:
    """Runs each task in this process when it is submitted: for one worker and tests."""

    def submit(self, fn, *args) -> cf.Future:
        f: cf.Future = cf.Future()
        try:
            f.set_result(fn(*args))
        except Exception as e:  # noqa: BLE001 - handed to the caller through the future
            f.set_exception(e)
        return f

    def kill(self) -> None:
        pass


class _ProcessPool:
    """Worker processes (loky) that a Stop can kill at once, and that come back after a worker is killed.

    When a worker dies (the OOM killer, kill -9), loky fails every task in flight and refuses new
    ones; the next `submit` then starts a fresh set of workers.
    """

    def __init__(self, n: int):
        self.n = n
        self.ex = self._start()

    def _start(self):
        from joblib.externals.loky import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self.n)

    def submit(self, fn, *args) -> cf.Future:
        try:
            return self.ex.submit(fn, *args)
        except cf.BrokenExecutor:
            log.warning("a worker process was killed; starting new workers.")
            self.ex.shutdown(wait=False, kill_workers=True)
            self.ex = self._start()
            return self.ex.submit(fn, *args)

    def kill(self) -> None:
        self.ex.shutdown(wait=False, kill_workers=True)


class _DaskPool:
    """Tasks on a dask cluster; a Stop cancels what it submitted (a running task finishes on its worker)."""

    def __init__(self, client):
        self.client, self.futures = client, []

    def submit(self, fn, *args) -> cf.Future:
        fut = self.client.submit(fn, *args, pure=False)
        self.futures.append(fut)
        return fut

    def kill(self) -> None:
        self.client.cancel(self.futures)


SCHEDULER_TIMEOUT = "15s"  # how long to try to reach a dask scheduler before saying it cannot be reached
_SCHEDULER_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


def check_scheduler_address(address: str) -> str:
    """`address` if it has the form of a dask scheduler's address ([tcp://]host:port), else SweepError."""
    m = _SCHEDULER_ADDRESS.match(address.strip())
    if m is None or not 0 < int(m.group(2)) < 65536:
        raise SweepError(f"{address!r} is not a dask scheduler address; give one like tcp://10.0.0.5:8786.")
    return address.strip()


def connect_scheduler(address: str):
    """A dask Client of the scheduler at `address`; SweepError (one sentence) if it does not answer."""
    from dask.distributed import Client

    try:
        return Client(check_scheduler_address(address), timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError) as e:
        raise SweepError(f"the dask scheduler at {address!r} could not be reached ({e}).") from None


@contextlib.contextmanager
def _pool(backend: str, scheduler: str | None, n_jobs: int, inline: bool, data: Dataset) -> Iterator[tuple[Any, Any]]:
    """(pool, the data as its workers receive it)."""
    if backend == "loky":
        if inline:
            yield _InlinePool(), data
            return
        _remove_orphaned_data()
        folder = Path(tempfile.mkdtemp(prefix=f"{DATA_PREFIX}{os.getpid()}-"))
        pool = _ProcessPool(n_jobs)
        try:
            yield pool, DataRef.save(data, folder)
        finally:
            pool.ex.shutdown(wait=False, kill_workers=True)
            shutil.rmtree(folder, ignore_errors=True)
        return
    from dask.distributed import Client, LocalCluster

    if scheduler:
        client, cluster = connect_scheduler(scheduler), None
    else:
        cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        yield _DaskPool(client), client.scatter(data, broadcast=True)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ------------------------------------------------------------------ the job
def run_job(
    grid: SweepGrid,
    train_cfg: TrainConfig,
    data: Dataset,
    store: ModelStore,
    *,
    command: Command = "prepare",
    analysis_cfg: AnalysisConfig | None = None,
    jobs: int | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    progress: bool = True,
    first: tuple[float, float] | None = None,
    inline: bool | None = None,
    stack: int | None = None,
) -> list[CellResult]:
    """Do `command` for every cell of `grid` not done yet, as this cache's one job; one result per cell.

    JobBusy if another live job holds the cache (join it with `store.request` instead).
    inline: run in this process (default: when one worker is enough); else worker processes,
    which a Stop kills at once.
    stack: train up to this many cells at once in one worker with the stacked step (default:
    10 when there is a GPU, so one worker keeps it busy; else 1, one model per core).
    """
    if backend not in BACKENDS:
        raise SweepError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    if command not in TASKS:
        raise SweepError(f"unknown command {command!r}.")
    if backend == "dask" and scheduler:  # before anything is written: an unreachable one leaves no trace
        connect_scheduler(scheduler).close()
    store.ensure_writable()
    analysis_cfg = analysis_cfg or AnalysisConfig()
    phases = TASKS[command]
    cells = demo_order(grid, first) if command != "train" else order_cells(grid.cells())
    if first is not None and command == "train":
        head = ModelConfig(lambda_k=first[0], lambda_a=first[1])
        cells = [head] + [
            c for c in cells if not (same_lambda(c.lambda_k, head.lambda_k) and same_lambda(c.lambda_a, head.lambda_a))
        ]
    results: dict[tuple[float, float], CellResult] = {}
    queue = TaskQueue.of([], phases)
    # cells with nothing left to do are answered here, without starting a worker
    for cell in cells:
        key = EntryKey(cell, train_cfg, data.fingerprint)
        for phase, stages in enumerate(phases):
            r = _already_done(key, store, stages, analysis_cfg)
            if r is None:  # this phase, and every later one, has work to do
                queue.pending += [(cell, p) for p in range(phase, len(phases))]
                break
            results[cell.cell] = _merge(results.get(cell.cell), r)
    queue.pending.sort(key=lambda t: t[1])  # every cell's first phase before any second one
    if stack is None:
        stack = STACK_ON_GPU if "train" in phases[0] and gpu_present() else 1
    cores = os.cpu_count() or 1
    n_first = len({t[0].cell for t in queue.pending if t[1] == 0}) or len(queue.pending)
    n_jobs = max(1, min(jobs or (1 if stack > 1 else cores), max(n_first, 1)))
    threads = max(1, cores // n_jobs)  # the analysis's threads; training's are fixed (core.train.TRAINING_THREADS)
    if inline is None:
        inline = n_jobs == 1 and backend == "loky"
    info = {
        "command": command,
        "grid": grid.to_dict(),
        "train": train_cfg.to_dict(),
        "data_source": data.source,
        "workers": n_jobs,
        "stack": stack,
        "cells_total": len(cells),
    }
    display = _ProgressDisplay(store, len(cells), progress)
    for r in results.values():
        if _finished(r, phases):
            display.done(r)
    try:
        with store.claim_job(info) as job:
            plan = _Plan(train_cfg, data, analysis_cfg, phases, backend, scheduler, n_jobs, threads, inline, stack)
            stopped = _run(queue, job, store, plan, results, display)
            if stopped:
                job.final = "stopped"
    finally:
        display.close()
    order = {c.cell: i for i, c in enumerate(grid.cells())}
    return sorted(results.values(), key=lambda r: (order.get((r.lambda_k, r.lambda_a), len(order)), r.lambda_a))


@dataclass(frozen=True)
class _Plan:
    """What the coordinator's loop runs, and how."""

    train_cfg: TrainConfig
    data: Dataset
    analysis_cfg: AnalysisConfig
    phases: tuple[tuple[Work, ...], ...]
    backend: str
    scheduler: str | None
    n_jobs: int
    threads: int
    inline: bool
    stack: int


def _run(queue: TaskQueue, job, store: ModelStore, plan: _Plan, results: dict, display: _ProgressDisplay) -> bool:
    """The coordinator's loop; True if it was stopped."""
    phases, n_jobs, stack = plan.phases, plan.n_jobs, plan.stack
    durations: dict[int, list[float]] = {p: [] for p in range(len(phases))}
    errors: list[str] = []
    beat = threading.Event()
    beater = threading.Thread(target=_heartbeat, args=(job, beat), daemon=True)
    beater.start()
    in_flight: dict[cf.Future, list[tuple[ModelConfig, int, float]]] = {}
    retried: set[tuple[tuple[float, float], int]] = set()  # (cell, phase) whose worker was killed once already
    stopped = False

    def flat() -> list[tuple[ModelConfig, int, float]]:
        return [t for batch in in_flight.values() for t in batch]

    try:
        with _pool(plan.backend, plan.scheduler, n_jobs, plan.inline, plan.data) as (pool, sent):
            while True:
                for req in store.take_requests():
                    train = _train_config(req.get("train"))
                    for cell in req["cells"]:
                        queue.ask(cell, req["front"], retrain=bool(req.get("retrain")), train=train)
                if store.stop_requested():
                    stopped = True
                    pool.kill()
                    break
                while len(in_flight) < n_jobs and (task := queue.next()) is not None:
                    batch = [task]
                    train_cfg, retrain = queue.how(task, plan.train_cfg)
                    own = task[0].cell in queue.train_of  # a cell asked to be retrained goes alone
                    if stack > 1 and "train" in phases[task[1]] and not own:  # more cells of the phase, at once
                        while len(batch) < stack and (more := queue.next_of_phase(task[1])) is not None:
                            batch.append(more)
                    now = time.monotonic()
                    in_flight_batch = [(cell, phase, now) for cell, phase in batch]
                    job.update(current=[[c.lambda_k, c.lambda_a, p] for c, p, _ in flat() + in_flight_batch])
                    how = (train_cfg, sent, str(store.root), phases[task[1]], plan.analysis_cfg, plan.threads)
                    if retrain:
                        fut = pool.submit(process_cell, task[0], *how, True)
                    elif len(batch) == 1:
                        fut = pool.submit(process_cell, task[0], *how)
                    else:
                        fut = pool.submit(process_cells, [cell for cell, _ in batch], *how)
                    in_flight[fut] = in_flight_batch
                if not in_flight:
                    break
                done, _ = cf.wait(list(in_flight), timeout=0.5, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    batch = in_flight.pop(fut)
                    for cell, _, _ in batch:
                        queue.finished(cell.cell)
                    try:
                        got = fut.result()
                        got = got if isinstance(got, list) else [got]
                        for _, phase, t0 in batch:
                            durations[phase].append((time.monotonic() - t0) / len(batch))
                    except Exception as e:  # noqa: BLE001 - one task's failure does not end the job
                        what = _failure(e)
                        got = []
                        if isinstance(e, cf.BrokenExecutor):
                            # a loky worker died and took every task in flight with it: each of those
                            # cells once more, in new workers (only one of them can have been the cause)
                            again = [(cell, phase) for cell, phase, _ in batch if (cell.cell, phase) not in retried]
                            retried.update((cell.cell, phase) for cell, phase in again)
                            queue.pending = again + queue.pending
                            for cell, _ in again:
                                log.warning(
                                    "cell lambda_k=%s lambda_a=%s: %s; trying it once more.",
                                    cell.lambda_k,
                                    cell.lambda_a,
                                    what,
                                )
                            batch = [t for t in batch if t[0].cell not in {c.cell for c, _ in again}]
                        for cell, _, _ in batch:
                            errors.append(f"λ_k = {cell.lambda_k:.3g}, λ_a = {cell.lambda_a:.3g}: {what}")
                            log.error("cell lambda_k=%s lambda_a=%s failed: %s", cell.lambda_k, cell.lambda_a, what)
                            got.append(CellResult(cell.lambda_k, cell.lambda_a, "failed", "skipped", "", error=what))
                            queue.pending = [t for t in queue.pending if t[0].cell != cell.cell]
                    for (cell, _, _), r in zip(batch, got):
                        merged = _merge(results.get(cell.cell), r)
                        results[cell.cell] = merged
                        if _finished(merged, phases) or merged.error:
                            display.done(merged)
                job.update(
                    **_job_progress(queue, results, phases, durations, n_jobs, flat(), store),
                    errors=errors[-5:],
                    current=[[c.lambda_k, c.lambda_a, p] for c, p, _ in flat()],
                )
    finally:
        beat.set()
    job.update(current=[], **_job_progress(queue, results, phases, durations, n_jobs, [], store), errors=errors[-5:])
    return stopped


def _train_config(d: Any) -> TrainConfig | None:
    """The training config a retrain request names (`TrainConfig.to_dict()`), or None (the job's) if none or invalid."""
    if not isinstance(d, dict):
        return None
    try:
        return TrainConfig.from_dict(d)
    except Exception:  # noqa: BLE001 - a request written by other code: the job's own config then
        log.warning("a retrain request's training config is not valid; the job's is used.")
        return None


def _worker_killed(e: BaseException) -> bool:
    """Did the task fail because its worker process died (loky's TerminatedWorkerError, dask's KilledWorker)?"""
    return isinstance(e, cf.BrokenExecutor) or type(e).__name__ in ("TerminatedWorkerError", "KilledWorker")


def _failure(e: BaseException) -> str:
    """One line on why a task failed (a killed worker, a diverged training, ...)."""
    if _worker_killed(e):
        return "its worker process was killed (out of memory?)"
    return f"{type(e).__name__}: {e}"


def _heartbeat(job, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        with contextlib.suppress(OSError):
            job.update()


def _merge(old: CellResult | None, new: CellResult) -> CellResult:
    """One cell's result over its tasks: what each task did, the latest numbers."""
    if old is None:
        return new
    keep = {}
    if new.status == "cached" and old.status == "trained":
        keep["status"] = "trained"
    if new.analysis == "skipped" and old.analysis != "skipped":
        keep |= {"analysis": old.analysis, "analysis_seconds": old.analysis_seconds, "density_test": old.density_test}
    if new.maps == "skipped" and old.maps != "skipped":
        keep["maps"] = old.maps
    if not new.entry:
        keep["entry"] = old.entry
    return replace(new, **keep)


def _finished(r: CellResult, phases) -> bool:
    stages = {s for p in phases for s in p}
    if r.status in ("untrained", "failed"):
        return True
    if "fast" in stages and r.analysis == "skipped":
        return False
    return not ("slow" in stages and r.maps == "skipped")


def _job_progress(queue, results, phases, durations, n_jobs, in_flight, store) -> dict[str, Any]:
    """What the job file says of the job's progress: stages done per kind, and an ETA."""
    live_progress = {(p["lambda_k"], p["lambda_a"]): p for p in store.progress().values()}
    left = {p: queue.count(p) + sum(1 for _, ph, _ in in_flight if ph == p) for p in range(len(phases))}
    eta = 0.0
    for p, n in left.items():
        times = durations[p]
        per = sum(times) / len(times) if times else TYPICAL_SECONDS.get(p, 60.0)
        eta += n * per
    stages = {s for p in phases for s in p}
    return {
        "eta_by_task": _eta_by_task(queue, phases, durations, n_jobs, in_flight, live_progress),
        "trained": sum(r.status in ("trained", "cached") for r in results.values()),
        "fast_done": sum(r.analysis in ("analysed", "cached") for r in results.values()) if "fast" in stages else 0,
        "slow_done": sum(r.maps in ("analysed", "cached") for r in results.values()) if "slow" in stages else 0,
        "tasks_left": sum(left.values()),
        "eta_seconds": round(eta / max(1, n_jobs), 1),
        "queue_head": [[c.lambda_k, c.lambda_a, p] for c, p in queue.pending[:5]],
    }


def training_left(progress: dict[str, Any], typical_epochs: int = TYPICAL_EPOCHS) -> float:
    """About how many seconds a model in training still needs, from its progress so far.

    Early stopping ends most runs near `typical_epochs`; a run past that stops within `patience` epochs
    of its last improvement, so at least that many are left.
    """
    done = max(1, int(progress.get("done", 1)))
    per_epoch = float(progress.get("elapsed", 0.0)) / done
    return max(typical_epochs - done, int(progress.get("patience", 3))) * per_epoch


def _eta_by_task(queue, phases, durations, n_jobs, in_flight, live_progress) -> dict[str, float]:
    """ "lambda_k|lambda_a|stage" -> about how many seconds until that cell's stage is done.

    The pending tasks are laid on `n_jobs` workers in queue order, each taking this job's
    mean time for its kind of task so far.
    """

    def per(phase: int) -> float:
        times = durations[phase]
        return sum(times) / len(times) if times else TYPICAL_SECONDS.get(phase, 60.0)

    now = time.monotonic()
    out, free = {}, []
    for cell, phase, t0 in in_flight:
        left = max(per(phase) - (now - t0), 5.0)
        live = live_progress.get(cell.cell)
        if live is not None and live.get("stage") == "train" and live.get("done"):
            left = training_left(live) + FAST_STAGE_SECONDS
        out[f"{cell.lambda_k!r}|{cell.lambda_a!r}|{phases[phase][-1]}"] = round(left, 1)
        free.append(left)
    free += [0.0] * max(0, n_jobs - len(free))
    for cell, phase in queue.pending[:200]:
        free.sort()
        free[0] += per(phase)
        out[f"{cell.lambda_k!r}|{cell.lambda_a!r}|{phases[phase][-1]}"] = round(free[0], 1)
    return out


def join_job(store: ModelStore, cells: list[tuple[float, float]], front: bool = False) -> dict[str, Any] | None:
    """Hand `cells` to the running job, if there is one: its state, else None."""
    job = store.running_job()
    if job is not None:
        store.request(cells, front=front)
    return job


def run_sweep(grid, train_cfg, data, store, *, stages=("train",), **kwargs) -> list[CellResult]:
    """`run_job` with the stages of the older API: ("train",), ("analyze",) or ("train", "analyze")."""
    command = {("train",): "train", ("analyze",): "analyze", ("train", "analyze"): "prepare"}.get(tuple(stages))
    if command is None:
        raise SweepError(f"unknown stages {stages!r}.")
    try:
        return run_job(grid, train_cfg, data, store, command=command, **kwargs)
    except JobBusy as busy:
        raise SweepError(f"{busy}; wait for it, or stop it from the dashboard.") from None


# ------------------------------------------------------------ the terminal
class _ProgressDisplay:
    """A terminal progress bar: cells done with ETA, plus one line per cell in progress."""

    def __init__(self, store: ModelStore, total: int, enabled: bool):
        self.store, self.enabled = store, enabled
        self.stop = threading.Event()
        self.bars: dict[str, Any] = {}
        if enabled:
            from tqdm import tqdm

            self.tqdm = tqdm
            self.total = tqdm(total=total, desc="cells", unit="cell", position=0, dynamic_ncols=True)
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()

    def done(self, r: CellResult) -> None:
        if self.enabled:
            line = f"lambda_k={r.lambda_k:<9.3g} lambda_a={r.lambda_a:<9.3g} model {r.status}"
            if r.error:
                line += f": {r.error}"
            if r.last_epoch is not None:
                line += f" ({r.last_epoch + 1} epochs, test loss {r.final_val_loss:.5f}, {r.seconds:.0f} s)"
            if r.analysis != "skipped":
                line += f", analysis {r.analysis}"
                if r.density_test is not None:
                    line += f" (test density {r.density_test:.3f})"
            if r.maps != "skipped":
                line += f", maps {r.maps}"
            self.total.write(line)
            self.total.update(1)

    def _poll(self) -> None:
        me = socket.gethostname()
        while not self.stop.wait(0.5):
            progress = self.store.progress()
            for name in list(self.bars):
                if name not in progress:
                    self.bars.pop(name).close()
            for name, p in progress.items():
                if p.get("host") != me:
                    continue
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
