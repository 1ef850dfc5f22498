"""The grid runner: trains what is missing, resumes, repairs, never trains one cell twice."""

import multiprocessing
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, build_train_cfg, make_data
from core import train as train_mod
from core.config import AnalysisConfig, ModelConfig, SweepGrid, TrainConfig
from core.model import init_weights
from core.store import EntryKey, ModelStore
from core.sweep import TaskQueue, demo_order, order_cells, run_sweep, train_cell


def fake_train(calls_file=None, sleep=0.0):
    """A stand-in for core.train.train: instant, deterministic, and it counts its calls."""

    def _train(model_cfg, train_cfg, data, *, on_epoch=None, initial_weights=None):
        if calls_file:
            with open(calls_file, "a") as f:
                f.write(f"{model_cfg.lambda_k}\n")
        if on_epoch:
            on_epoch(0, {"loss": 0.2, "val_loss": 0.1, "seconds": 0.0})
        time.sleep(sleep)
        w = init_weights(model_cfg, train_cfg.seed)
        return train_mod.TrainResult(w, [0.2], [0.1 + model_cfg.lambda_k], 0.01, "fast", [0.01])

    return _train


GRID = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0, 1e-4))
TINY_CLI = ROOT / "tests" / "tiny_cli.py"


def test_sweep_trains_missing_cells_then_resumes(tmp_path, tiny_data, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setattr(train_mod, "train", fake_train(calls))
    store = ModelStore(tmp_path / "cache")
    cfg = build_train_cfg()
    # one cell is already there: a previous, interrupted sweep
    run_sweep(SweepGrid(lambda_k=(1e-3,), lambda_a=(0.0,)), cfg, tiny_data, store, jobs=1, progress=False)
    results = run_sweep(GRID, cfg, tiny_data, store, jobs=1, progress=False)
    assert [(r.lambda_k, r.lambda_a) for r in results] == [(c.lambda_k, c.lambda_a) for c in GRID.cells()]
    assert sorted(r.status for r in results) == ["cached", "trained", "trained", "trained"]
    assert len(calls.read_text().split()) == 4  # 1 + 3, nothing trained twice
    again = run_sweep(GRID, cfg, tiny_data, store, jobs=1, progress=False)
    assert {r.status for r in again} == {"cached"}
    assert len(calls.read_text().split()) == 4
    assert store.progress() == {}  # progress files are cleaned up


def test_a_damaged_entry_is_retrained(tmp_path, tiny_data, monkeypatch):
    monkeypatch.setattr(train_mod, "train", fake_train())
    store, cfg = ModelStore(tmp_path), build_train_cfg()
    run_sweep(GRID, cfg, tiny_data, store, jobs=1, progress=False)
    victim = EntryKey(GRID.cells()[1], cfg, tiny_data.fingerprint)
    (store.path(victim) / "weights.npz").write_bytes(b"garbage")
    results = run_sweep(GRID, cfg, tiny_data, store, jobs=1, progress=False)
    assert [r.status for r in results] == ["cached", "trained", "cached", "cached"]
    assert store.load(victim) is not None


def _worker(args):
    cell, cfg, data, root, calls = args
    train_mod.train = fake_train(calls, sleep=1.5)
    return train_cell(cell, cfg, data, root).status


def test_two_processes_on_the_same_cell_train_it_once(tmp_path, tiny_data):
    calls = tmp_path / "calls.txt"
    cell, cfg = GRID.cells()[0], build_train_cfg()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        statuses = pool.map(_worker, [(cell, cfg, tiny_data, str(tmp_path / "c"), str(calls))] * 2)
    assert sorted(statuses) == ["cached", "trained"]
    assert len(calls.read_text().split()) == 1


def test_cells_are_ordered_longest_first():
    cells = order_cells(GRID.cells())
    assert (cells[0].lambda_k, cells[0].lambda_a) == (1e-3, 1e-4)
    assert (cells[-1].lambda_k, cells[-1].lambda_a) == (0.0, 0.0)


def test_real_sweep_in_two_worker_processes(tmp_path, tiny_data):
    """The real fast engine through joblib/loky: the same bits as training in this process.

    It used to depend on the order of the tests: this process's TensorFlow kept the thread pools
    of whatever ran first, the workers had one thread each. Every training process now has the
    same fixed pools (core.train.TRAINING_THREADS), whatever ran before.
    """
    grid = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0,))
    cfg = build_train_cfg(max_epochs=2)
    store = ModelStore(tmp_path)
    results = run_sweep(grid, cfg, tiny_data, store, jobs=2, progress=False)
    assert [r.status for r in results] == ["trained", "trained"]
    direct = train_mod.train(grid.cells()[1], cfg, tiny_data)
    assert train_mod._configured["threads"] == train_mod.TRAINING_THREADS, "TensorFlow was started behind core.train"
    cached = store.load(EntryKey(grid.cells()[1], cfg, tiny_data.fingerprint))
    for name in cached.weights:
        assert np.array_equal(cached.weights[name], direct.weights[name]), name
    assert cached.history["loss"] == direct.loss and cached.history["val_loss"] == direct.val_loss


def test_same_seed_same_bits_alone_and_in_a_two_worker_sweep(tmp_path):
    """Issue 13, item 6: a cell trained alone (`--jobs 1`: one worker, which had every core) and
    inside a two-worker sweep (one core each) gets bit-identical weights, each in fresh processes."""
    common = ["--lambda-a", "0", "--max-epochs", "2", "--quiet"]
    runs = {
        "alone": ["--lambda-k", "1e-3", "--jobs", "1"],
        "sweep": ["--lambda-k", "0", "1e-3", "--jobs", "2"],
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(TINY_CLI), "train", *args, *common, "--cache-dir", str(tmp_path / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in runs.items()
    }
    for name, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, (name, err)
    key = EntryKey(ModelConfig(lambda_k=1e-3, lambda_a=0.0), TrainConfig(max_epochs=2), make_data().fingerprint)
    alone, sweep = ModelStore(tmp_path / "alone").load(key), ModelStore(tmp_path / "sweep").load(key)
    assert alone.path.name == sweep.path.name  # one key: there must be one set of numbers
    for name in alone.weights:
        assert np.array_equal(alone.weights[name], sweep.weights[name]), name
    assert alone.history["loss"] == sweep.history["loss"]
    assert alone.history["val_loss"] == sweep.history["val_loss"]


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_entries_as_local_processes(tmp_path, tiny_data):
    grid = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0,))
    cfg = build_train_cfg(max_epochs=2)
    local, dask = ModelStore(tmp_path / "local"), ModelStore(tmp_path / "dask")
    run_sweep(grid, cfg, tiny_data, local, jobs=2, progress=False)
    results = run_sweep(grid, cfg, tiny_data, dask, jobs=2, backend="dask", progress=False)
    assert [r.status for r in results] == ["trained", "trained"]
    for cell in grid.cells():
        key = EntryKey(cell, cfg, tiny_data.fingerprint)
        a, b = local.load(key), dask.load(key)
        assert a.path.name == b.path.name
        for name in a.weights:
            np.testing.assert_array_equal(a.weights[name], b.weights[name])
        assert a.history["val_loss"] == b.history["val_loss"]


SMALL_ANALYSIS = AnalysisConfig(n_cosine=100, tsne_exaggeration_iter=20, tsne_iter=30, kmeans_ks=(2, 3))


def test_prepare_trains_and_analyses_then_only_analyses_what_is_missing(tmp_path, tiny_data, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setattr(train_mod, "train", fake_train(calls))
    store, cfg = ModelStore(tmp_path / "cache"), build_train_cfg()
    grid = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0,))
    kw = dict(analysis_cfg=SMALL_ANALYSIS, jobs=1, progress=False)
    # analysing an untrained grid trains nothing
    results = run_sweep(grid, cfg, tiny_data, store, stages=("analyze",), **kw)
    assert {(r.status, r.analysis) for r in results} == {("untrained", "skipped")}
    assert not calls.exists()
    results = run_sweep(grid, cfg, tiny_data, store, stages=("train", "analyze"), **kw)
    assert {(r.status, r.analysis, r.maps) for r in results} == {("trained", "analysed", "analysed")}
    assert all(0 <= r.density_test <= 1 for r in results)
    again = run_sweep(grid, cfg, tiny_data, store, stages=("train", "analyze"), **kw)
    assert {(r.status, r.analysis, r.maps) for r in again} == {("cached", "cached", "cached")}
    # a damaged stage is recomputed, the model is not retrained, the other stage is kept
    victim = EntryKey(grid.cells()[0], cfg, tiny_data.fingerprint)
    (store.path(victim) / "analysis_slow.npz").write_bytes(b"damaged")
    results = run_sweep(grid, cfg, tiny_data, store, stages=("train", "analyze"), **kw)
    assert [(r.status, r.analysis, r.maps) for r in results] == [
        ("cached", "cached", "analysed"),
        ("cached", "cached", "cached"),
    ]
    assert len(calls.read_text().split()) == 2


# ------------------------------------------------------------------ the job
def test_demo_order_starts_with_the_default_then_the_original_row_then_spreads():
    grid = SweepGrid.default()
    order = [c.cell for c in demo_order(grid)]
    assert len(order) == len(set(order)) == 50
    assert order[0] == (0.0, 0.0)
    assert {a for _, a in order[:10]} == {0.0}  # the original sweep first
    assert order[1] == (grid.lambda_k[-1], 0.0)  # its far end next, then inwards
    # then the grid's far corners before any neighbour of what is ready
    assert set(order[10:12]) == {(0.0, grid.lambda_a[-1]), (grid.lambda_k[-1], grid.lambda_a[-1])}
    assert [c.cell for c in demo_order(grid, first=(grid.lambda_k[3], 1e-3))][0] == (grid.lambda_k[3], 1e-3)


def test_queue_does_fast_stages_first_and_moves_an_asked_cell_to_the_front():
    grid = SweepGrid(lambda_k=(0.0, 1e-3, 2e-3), lambda_a=(0.0,))
    q = TaskQueue.of(demo_order(grid), (("train", "fast"), ("slow",)))
    assert [(c.lambda_k, p) for c, p in q.pending] == [(0.0, 0), (2e-3, 0), (1e-3, 0), (0.0, 1), (2e-3, 1), (1e-3, 1)]
    first = q.next()
    assert (first[0].lambda_k, first[1]) == (0.0, 0)
    q.ask((1e-3, 0.0), front=True)
    t = q.next()
    assert (t[0].lambda_k, t[1]) == (1e-3, 0)
    # the slow stage of a cell waits for its fast stage, even when asked for
    q.ask((2e-3, 0.0), front=True)
    assert (q.next()[0].lambda_k, q.pending[0][0].lambda_k) == (2e-3, 2e-3)
    assert q.next() is None  # 0.0's and 1e-3's slow stages wait for their fast ones; 2e-3 is busy
    q.finished((0.0, 0.0))
    t = q.next()
    assert (t[0].lambda_k, t[1]) == (0.0, 1)
    q.ask((5e-3, 0.0), front=False)  # a cell outside the grid joins at the end
    assert [(c.lambda_k, p) for c, p in q.pending[-2:]] == [(5e-3, 0), (5e-3, 1)]


def test_stacked_job_gives_every_cell_the_numbers_of_training_it_alone(tmp_path, tiny_data):
    """The GPU path (several cells in one stacked step), run on CPU: the same entries as one by one."""
    grid = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0, 1e-3))
    cfg = build_train_cfg(max_epochs=2)
    one, stacked = ModelStore(tmp_path / "one"), ModelStore(tmp_path / "stacked")
    run_sweep(grid, cfg, tiny_data, one, jobs=1, progress=False)
    results = run_sweep(grid, cfg, tiny_data, stacked, jobs=1, progress=False, stack=4)
    assert [r.status for r in results] == ["trained"] * 4
    assert stacked.job()["stack"] == 4
    for cell in grid.cells():
        key = EntryKey(cell, cfg, tiny_data.fingerprint)
        a, b = one.load(key), stacked.load(key)
        np.testing.assert_allclose(a.weights["W1"], b.weights["W1"], atol=1e-6)
        np.testing.assert_allclose(a.history["val_loss"], b.history["val_loss"], rtol=1e-5)
