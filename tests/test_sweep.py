"""The grid runner: trains what is missing, resumes, repairs, never trains one cell twice."""

import multiprocessing
import time

import numpy as np
import pytest

from conftest import build_train_cfg
from core import train as train_mod
from core.config import AnalysisConfig, SweepGrid
from core.model import init_weights
from core.store import EntryKey, ModelStore
from core.sweep import order_cells, read_progress, run_sweep, train_cell


def fake_train(calls_file=None, sleep=0.0):
    """A stand-in for core.train.train: instant, deterministic, and it counts its calls."""

    def _train(model_cfg, train_cfg, data, *, on_epoch=None, threads=1, initial_weights=None):
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
    assert read_progress(store) == {}  # progress files are cleaned up


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
    """The real fast engine through joblib/loky: the same numbers as training in-process."""
    grid = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0,))
    cfg = build_train_cfg(max_epochs=2)
    store = ModelStore(tmp_path)
    results = run_sweep(grid, cfg, tiny_data, store, jobs=2, progress=False)
    assert [r.status for r in results] == ["trained", "trained"]
    direct = train_mod.train(grid.cells()[1], cfg, tiny_data)
    cached = store.load(EntryKey(grid.cells()[1], cfg, tiny_data.fingerprint))
    np.testing.assert_array_equal(cached.weights["W1"], direct.weights["W1"])
    assert cached.history["val_loss"] == direct.val_loss


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
    assert {(r.status, r.analysis) for r in results} == {("trained", "analysed")}
    assert all(0 <= r.density_test <= 1 for r in results)
    again = run_sweep(grid, cfg, tiny_data, store, stages=("train", "analyze"), **kw)
    assert {(r.status, r.analysis) for r in again} == {("cached", "cached")}
    # a damaged analysis is recomputed, the model is not retrained
    victim = EntryKey(grid.cells()[0], cfg, tiny_data.fingerprint)
    (store.path(victim) / "analysis.npz").write_bytes(b"damaged")
    results = run_sweep(grid, cfg, tiny_data, store, stages=("train", "analyze"), **kw)
    assert [(r.status, r.analysis) for r in results] == [("cached", "analysed"), ("cached", "cached")]
    assert len(calls.read_text().split()) == 2
