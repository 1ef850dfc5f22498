"""The preparation job: one per cache, requests move cells to the front, Stop keeps what finished, a killed job
shows as interrupted and resumes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from test_faults import wait_until_gone
from test_sweep import fake_train

from conftest import ROOT, build_train_cfg, make_data
from core import store as store_mod
from core import train as train_mod
from core.config import SweepGrid
from core.results import scan
from core.store import JobBusy, ModelStore
from core.sweep import run_job

GRID = SweepGrid(lambda_k=(0.0, 1e-3, 2e-3), lambda_a=(0.0,))


def wait_for(predicate, timeout=60.0, what="the condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_second_job_on_the_same_cache_is_refused_and_a_request_reaches_the_first(tmp_path, monkeypatch):
    monkeypatch.setattr(train_mod, "train", fake_train(sleep=0.5))
    store, data = ModelStore(tmp_path), make_data()
    order = []
    done = threading.Event()

    def first():
        for r in run_job(GRID, build_train_cfg(), data, store, command="train", jobs=1, progress=False):
            order.append(r)
        done.set()

    t = threading.Thread(target=first)
    t.start()
    wait_for(store.running_job, what="the job to start")
    with pytest.raises(JobBusy):
        run_job(GRID, build_train_cfg(), data, store, command="train", jobs=1, progress=False)
    store.request([(5e-3, 0.0)], front=True)  # a cell outside the grid, asked for by a session
    t.join(60)
    assert done.is_set()
    assert {(r.lambda_k, r.status) for r in order} >= {(5e-3, "trained")}
    assert store.job()["state"] == "finished" and store.running_job() is None


def test_stop_keeps_what_finished(tmp_path, monkeypatch):
    monkeypatch.setattr(train_mod, "train", fake_train(sleep=0.4))
    store, data = ModelStore(tmp_path), make_data()
    t = threading.Thread(
        target=run_job,
        args=(GRID, build_train_cfg(), data, store),
        kwargs=dict(command="train", jobs=1, progress=False),
    )
    t.start()
    wait_for(lambda: len(scan(store)) >= 1, what="a first model")
    store.request_stop()
    t.join(60)
    assert store.job()["state"] == "stopped"
    kept = scan(store)
    assert 1 <= len(kept) < 3
    assert all(store.load_entry(s.entry) is not None for s in kept.values())
    assert not store.stop_requested()  # the next job starts clean


KILLED = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    from conftest import make_data, build_train_cfg
    from core.config import SweepGrid
    from core.store import ModelStore
    from core.sweep import run_job
    grid = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0,))
    # long training (no early stop) on tiny data, in worker processes that a kill takes down too
    run_job(grid, build_train_cfg(max_epochs=400, patience=400), make_data(), ModelStore({cache!r}),
            command="train", jobs=1, progress=False, inline=False)
""")


def test_a_killed_job_shows_as_interrupted_and_a_new_one_takes_over(tmp_path):
    cache = tmp_path / "cache"
    script = KILLED.format(root=str(ROOT), tests=str(ROOT / "tests"), cache=str(cache))
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    store = ModelStore(cache)
    try:
        wait_for(lambda: store.progress(), timeout=120, what="training to start")
        assert store.job()["state"] == "running"
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 of the job and its workers
        proc.wait(10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        wait_until_gone(proc.pid)  # a worker killed with -9 takes a moment to exit: until then it is alive
    job = store.job()
    assert job["state"] == "interrupted"  # never "running" forever
    assert store.running_job() is None
    assert store.progress() == {}  # the dead worker's progress is not shown as work going on
    # a new job takes the cache over (stale job lock, stale cell lock) and finishes
    results = run_job(
        SweepGrid(lambda_k=(0.0,), lambda_a=(0.0,)),
        build_train_cfg(max_epochs=1),
        make_data(),
        store,
        command="train",
        jobs=1,
        progress=False,
    )
    assert [r.status for r in results] == ["trained"]
    assert store.job()["state"] == "finished"


def test_a_job_file_whose_heartbeat_stopped_on_another_host_is_interrupted(tmp_path):
    store = ModelStore(tmp_path)
    body = {"pid": 1, "host": "elsewhere", "state": "running", "started": 0}
    (tmp_path / store_mod.JOB_FILE).write_text(json.dumps(body))
    assert store.job()["state"] == "running"  # fresh: another machine's live job
    old = time.time() - store_mod.STALE_JOB_SECONDS - 1
    os.utime(tmp_path / store_mod.JOB_FILE, (old, old))
    assert store.job()["state"] == "interrupted"


def test_stopping_a_running_job_kills_its_workers_at_once(tmp_path):
    """Process workers training a long model: Stop ends the job within seconds, keeping the cache consistent."""
    store = ModelStore(tmp_path)
    t0 = []

    def go():
        run_job(
            SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0,)),
            build_train_cfg(max_epochs=400, patience=400),
            make_data(),
            store,
            command="train",
            jobs=2,
            progress=False,
        )

    t = threading.Thread(target=go)
    t.start()
    wait_for(lambda: len(store.progress()) == 2, timeout=120, what="both workers to train")
    t0.append(time.monotonic())
    store.request_stop()
    t.join(60)
    assert time.monotonic() - t0[0] < 15
    assert store.job()["state"] == "stopped"
    wait_for(lambda: store.progress() == {}, timeout=15, what="the killed workers' progress to go stale")
    assert scan(store) == {}  # nothing half-written is listed
