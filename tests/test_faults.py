"""Faults survived (issue 13): kill -9, stale and garbage locks, damaged and forged files, bad command lines.

After every fault, the three readers of the cache agree on what each cell is, and a rerun of the
same command ends with the cache consistent:

* `status`: `core.__main__.grid_status`, what `python -m core status` prints (run for real once);
* the dashboard's data layer: `core.results.scan` (the listing) and `load_cell` (the loader);
* the job: a rerun redoes exactly what is missing or unusable.

Training runs on tiny synthetic data (`tests/tiny_cli.py` is `python -m core` on it). A write is
interrupted at a chosen moment with `core.store.KILL_BEFORE_VAR`: the process about to move that
file into place kills its process group (the command and its workers) with SIGKILL instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, build_train_cfg, make_data, make_raw
from core import store as store_mod
from core import sweep as sweep_mod
from core import train as train_mod
from core.__main__ import grid_status, main
from core.config import AnalysisConfig, ModelConfig, SweepGrid, TrainConfig
from core.results import find, load_cell, scan
from core.store import MANIFEST_FILE, STAGE_FILES, EntryKey, ModelStore
from core.sweep import process_cell, run_job

TINY_CLI = ROOT / "tests" / "tiny_cli.py"
CELL = (0.0, 0.0)
ONE_CELL = ["--lambda-k", "0", "--lambda-a", "0"]
GRID = SweepGrid(lambda_k=(0.0,), lambda_a=(0.0,))
# the smallest analysis that still has every array: these tests are about files, not maps
ANALYSIS = AnalysisConfig(n_cosine=50, tsne_exaggeration_iter=5, tsne_iter=10, kmeans_ks=(2,))


def tiny_cli(*args, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """`python -m core ARGS` on tiny data, in a process group of its own (so a test can kill it with its workers)."""
    env = os.environ | {"TINY_N_TRAIN": "3000", "TINY_N_TEST": "200"} | (env or {})
    cmd = [sys.executable, str(TINY_CLI), *map(str, args)]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, text=True, **kwargs)


def run_tiny_cli(*args, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run it to the end (or its death), and until every process of its group has exited."""
    p = tiny_cli(*args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        wait_until_gone(p.pid)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def wait_until_gone(pgid: int, timeout: float = 60.0) -> None:
    """Wait until no process of group `pgid` runs: one killed with -9 takes a moment to exit (and to free
    TensorFlow's memory), and until then it is rightly still alive for whoever looks at the cache."""

    def gone() -> bool:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
                if int(group) == pgid and state != "Z":
                    return False
        return True

    wait_for(gone, timeout, what=f"the processes of group {pgid} to exit")


def wait_for(predicate, timeout: float = 180.0, what: str = "the condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def agree(store: ModelStore, train_cfg: TrainConfig, grid: SweepGrid = GRID) -> dict[tuple[float, float], str]:
    """Each cell's state, after checking that status, the listing and the loader say the same of it.

    The state: "missing", "trained", "fast" or "complete" (or "training"/"analysing" while work runs).
    """
    states = {}
    status = grid_status(grid, train_cfg, store)
    listed = scan(store, train_cfg)
    # entries damaged as a whole (their model), not just in one analysis stage
    whole = {name for name, problem in store.damaged() if "analysis is damaged" not in problem}
    for row in status["cells"]:
        k, a = row["lambda_k"], row["lambda_a"]
        summary = find(listed, k, a)
        view = load_cell(store, k, a, train_cfg)
        if row["state"] not in ("training", "analysing"):
            assert row["state"] == (summary.readiness if summary else "missing")
        assert (view is not None) == (summary is not None and summary.ready), (row, summary)
        if view is not None:
            assert view.has_maps == (summary.readiness == "complete")
        if summary is not None:
            assert summary.entry not in whole and store.load_entry(summary.entry) is not None
        states[(k, a)] = row["state"]
    return states


def leftovers(cache: Path) -> list[str]:
    """Locks and progress files: none may be left once a job ended, however it ended, and status was read."""
    return sorted(p.name for p in cache.iterdir() if p.name.endswith((".lock", ".progress.json")))


# ------------------------------------------------------------------ kill -9
def test_kill_9_of_a_worker_then_of_the_whole_job_mid_epoch_then_a_rerun(tmp_path):
    """kill -9 mid-epoch: first of the worker alone (the OOM killer's choice), which the job replaces; then of
    the whole `python -m core train` (coordinator and worker). Status, listing and a rerun then agree."""
    cache = tmp_path / "cache"
    args = ["train", *ONE_CELL, "--max-epochs", "60", "--jobs", "1", "--quiet", "--cache-dir", cache]
    proc = tiny_cli(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    store, train_cfg = ModelStore(cache), TrainConfig(max_epochs=60)

    def mid_epoch(not_pid=None):
        """The worker's pid once it has reported an epoch: it is then in the middle of the next one."""
        live = [p for p in store.progress().values() if p.get("done", 0) >= 1 and p["pid"] != not_pid]
        return live[0]["pid"] if live else None

    try:
        first = wait_for(mid_epoch, what="a first epoch")
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: mid_epoch(not_pid=first), what="an epoch in a new worker")
        assert agree(store, train_cfg) == {CELL: "training"}
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        wait_until_gone(proc.pid)
    assert "its worker process was killed" in err and "trying it once more" in err and "Traceback" not in err
    assert leftovers(cache)  # the dead worker's lock and progress file are still there...
    assert agree(store, train_cfg) == {CELL: "missing"}  # ...but nobody shows its cell as in progress
    assert store.job()["state"] == "interrupted" and store.running_job() is None
    orphaned = list(Path(sweep_mod.tempfile.gettempdir()).glob(f"{sweep_mod.DATA_PREFIX}{proc.pid}-*"))
    assert orphaned  # the killed coordinator's copy of the data
    # the real `status` says the same
    out = subprocess.run(
        [sys.executable, "-m", "core", "status", "--json", "--cache-dir", cache, *ONE_CELL, "--max-epochs", "60"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and [c["state"] for c in json.loads(out.stdout)["cells"]] == ["missing"]
    assert json.loads(out.stdout)["job"]["state"] == "interrupted"
    # the same command again: takes the stale lock over, trains, ends consistent and clean
    again = run_tiny_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "1 trained now" in again.stdout and "Traceback" not in again.stderr
    assert agree(store, train_cfg) == {CELL: "trained"}
    assert store.job()["state"] == "finished" and store.damaged() == [] and leftovers(cache) == []
    assert not any(p.exists() for p in orphaned)  # removed by the next job


@pytest.mark.parametrize(
    "command, file, state",
    [
        ("train", store_mod.JOB_FILE, "missing"),  # the coordinator writes the job file, before any worker starts
        ("train", MANIFEST_FILE, "missing"),  # the worker has written the model's files, not yet its manifest
        ("prepare", STAGE_FILES["fast"][0], "trained"),  # the worker writes the fast analysis of a saved model
    ],
)
def test_kill_9_mid_write_then_status_listing_and_a_rerun_agree(tmp_path, command, file, state):
    """kill -9 of the whole command (coordinator and worker) at the moment a file is written."""
    cache = tmp_path / "cache"
    args = [command, *ONE_CELL, "--max-epochs", "2", "--jobs", "1", "--quiet", "--cache-dir", cache]
    killed = run_tiny_cli(*args, env={store_mod.KILL_BEFORE_VAR: file})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    store, train_cfg = ModelStore(cache), TrainConfig(max_epochs=2)
    assert agree(store, train_cfg) == {CELL: state}
    if file == MANIFEST_FILE:  # an entry without its manifest is incomplete: reported, never listed
        assert [p for _, p in store.damaged()] == ["it is incomplete (no manifest: its writer was interrupted)"]
    before = {s.entry: s.history["finished_at"] for s in scan(store).values()}
    abandoned = list(cache.rglob(".*.tmp"))
    assert abandoned  # what the killed writer was writing
    old = time.time() - store_mod.ABANDONED_TEMPORARY_SECONDS - 1
    for tmp in abandoned:
        os.utime(tmp, (old, old))  # a minute later, as far as the files can tell
    again = run_tiny_cli(*args)
    assert again.returncode == 0, again.stderr
    assert agree(store, train_cfg) == {CELL: "complete" if command == "prepare" else "trained"}
    after = {s.entry: s.history["finished_at"] for s in scan(store).values()}
    assert all(after[e] == t for e, t in before.items())  # a kept model is not trained again
    assert store.damaged() == [] and leftovers(cache) == [] and list(cache.rglob(".*.tmp")) == []


def test_a_cell_whose_worker_is_killed_twice_fails_in_one_sentence(tmp_path, monkeypatch):
    """A worker killed once is replaced (test above); killed again on the same cell, the cell fails with one
    sentence (no TerminatedWorkerError traceback) and the job goes on with the other cells."""
    from concurrent.futures.process import BrokenProcessPool

    from test_sweep import fake_train

    real = sweep_mod.process_cell
    calls = []

    def dies_on_the_first_cell(model_cfg, *args):
        calls.append(model_cfg.cell)
        if model_cfg.cell == CELL:
            raise BrokenProcessPool("A worker process managed by the executor was unexpectedly terminated.")
        return real(model_cfg, *args)

    monkeypatch.setattr(sweep_mod, "process_cell", dies_on_the_first_cell)
    monkeypatch.setattr(train_mod, "train", fake_train())
    grid = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0,))
    store = ModelStore(tmp_path)
    results = run_job(grid, build_train_cfg(), make_data(), store, command="train", jobs=1, progress=False, inline=True)
    assert calls.count(CELL) == 2  # tried once more, then given up
    assert [(r.lambda_k, r.status, r.error) for r in results] == [
        (0.0, "failed", "its worker process was killed (out of memory?)"),
        (1e-3, "trained", None),
    ]
    assert store.job()["state"] == "finished"
    assert agree(store, build_train_cfg(), grid) == {CELL: "missing", (1e-3, 0.0): "trained"}


# --------------------------------------------------------------------- locks
@pytest.fixture
def fake_training(monkeypatch):
    """core.train.train replaced by an instant one: these tests are about locks, not numbers."""
    from test_sweep import fake_train

    monkeypatch.setattr(train_mod, "train", fake_train())


@pytest.mark.parametrize(
    "content, age",
    [
        ("", 11.0),  # a kill between creating the lock and writing it
        ("\x00garbage{", 11.0),  # a full disk, a torn write
        ("[1, 2]", 11.0),  # JSON, but not a lock
        (None, store_mod.STALE_LOCK_SECONDS + 5),  # a live pid (ours) whose heartbeat stopped long ago: a reused pid
    ],
)
def test_empty_garbage_and_old_locks_are_taken_over(tmp_path, fake_training, caplog, content, age):
    store, data, cfg = ModelStore(tmp_path), make_data(), build_train_cfg()
    key = EntryKey(ModelConfig(), cfg, data.fingerprint)
    lock = store.lock_path(key)
    lock.write_text(content if content is not None else json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    assert store.lock_holder(key) is not None  # fresh: it may be being written, or its holder at work
    old = time.time() - age
    os.utime(lock, (old, old))
    assert store.lock_holder(key) is None
    with caplog.at_level(logging.WARNING):
        r = process_cell(ModelConfig(), cfg, data, str(tmp_path))
    assert r.status == "trained" and not lock.exists()
    assert any("taking over the lock" in m for m in caplog.messages)


def test_a_waiting_process_says_who_holds_the_lock_and_since_when(tmp_path, fake_training, caplog):
    store, data, cfg = ModelStore(tmp_path), make_data(), build_train_cfg()
    key = EntryKey(ModelConfig(), cfg, data.fingerprint)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = time.time() - 90
        store.lock_path(key).write_text(
            json.dumps({"pid": holder.pid, "host": socket.gethostname(), "started": started})
        )
        result = {}
        with caplog.at_level(logging.WARNING, logger="core.sweep"):
            worker = threading.Thread(
                target=lambda: result.update(r=process_cell(ModelConfig(), cfg, data, str(tmp_path)))
            )
            worker.start()
            since = time.strftime("%H:%M:%S", time.localtime(started))
            wait_for(lambda: any(f"process {holder.pid}" in m for m in caplog.messages), timeout=30, what="a warning")
            waiting = [r for r in caplog.records if f"process {holder.pid}" in r.getMessage()]
            assert waiting[0].levelno == logging.WARNING
            assert f"on {socket.gethostname()} since {since}" in waiting[0].getMessage()
            assert worker.is_alive()  # it waits for a live holder...
            holder.kill()
            holder.wait()
            worker.join(60)  # ...and takes over once that holder is gone
    finally:
        holder.kill()
    assert result["r"].status == "trained"


# ------------------------------------------------------ damaged and forged files
@pytest.fixture(scope="module")
def analysed_entry(tmp_path_factory) -> tuple[Path, EntryKey]:
    """One cell trained (2 epochs) and analysed (both stages) on tiny data; tests copy its folder."""
    root = tmp_path_factory.mktemp("analysed")
    data, cfg = make_data(), build_train_cfg(max_epochs=2)
    run_job(GRID, cfg, data, ModelStore(root), command="prepare", analysis_cfg=ANALYSIS, jobs=1, progress=False)
    return root, EntryKey(ModelConfig(), cfg, data.fingerprint)


def resign(path: Path) -> None:
    """Make the entry's manifest vouch for the file at `path` as it is now: what a forger does."""
    manifest_path = path.parent / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    data = path.read_bytes()
    manifest["files"][path.name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest_path.write_text(json.dumps(manifest))


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def edit_json(path: Path, change) -> None:
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))


def edit_npz(path: Path, change) -> None:
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    path.write_bytes(npz_bytes(**arrays))


def flip_byte(path: Path, at: float = 0.5) -> None:
    b = bytearray(path.read_bytes())
    b[int(len(b) * at)] ^= 0xFF
    path.write_bytes(bytes(b))


def bad_crc(path: Path) -> None:
    """One byte of an array changed inside the zip, its CRC not: np.load raises BadZipFile."""
    with zipfile.ZipFile(path) as z:
        info = z.infolist()[0]
        offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size - 1
    flip_byte(path, at=offset / path.stat().st_size)


MODEL, FAST, SLOW = ["weights.npz", "config.json", "history.json"], STAGE_FILES["fast"], STAGE_FILES["slow"]
# how a file is damaged: by accident (its checksum gives it away) or re-signed (only its contents do)
DAMAGE = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:-7]),
    "flipped byte": flip_byte,
    "deleted": lambda path: path.unlink(),
    "garbage, re-signed": lambda path: (path.write_bytes(b"\x93NUMPY garbage"), resign(path)),
    "empty, re-signed": lambda path: (path.write_bytes(b""), resign(path)),
}
# plausible contents (arrays in an .npz, valid JSON) that the re-signed manifest vouches for
FORGERIES = [
    ("weights.npz", "W1 of the wrong shape", lambda p: edit_npz(p, lambda a: a.update(W1=a["W1"][:10]))),
    ("config.json", "another lambda_k", lambda p: edit_json(p, lambda d: d["model"].update(lambda_k=1e-3))),
    ("history.json", "no losses", lambda p: edit_json(p, lambda d: d.update(loss=[]))),
    (FAST[0], "an array missing", lambda p: edit_npz(p, lambda a: a.pop("labels_test"))),
    (FAST[0], "a CRC error inside the zip", bad_crc),
    (FAST[1], "a field missing", lambda p: edit_json(p, lambda d: d.pop("density_test"))),
    (SLOW[0], "a map of the wrong shape", lambda p: edit_npz(p, lambda a: a.update(tsne_raw=np.zeros((3, 3))))),
    (SLOW[0], "a CRC error inside the zip", bad_crc),
    (SLOW[1], "its config not an object", lambda p: edit_json(p, lambda d: d.update(config="x"))),
]


def expected_state(file: str) -> str:
    """What a cell whose `file` is unusable is: its model gone, or analysed but for that stage."""
    if file in FAST:
        return "trained"
    if file in SLOW:
        return "fast"
    return "missing"


def check_fault(tmp_path, analysed_entry, file: str, damage, rerun: bool) -> None:
    """Damage `file` of a complete entry: status, listing and loader agree; the rerun repairs exactly that."""
    source, key = analysed_entry
    root = tmp_path / "cache"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".*"))
    store = ModelStore(root)
    assert agree(store, key.train) == {CELL: "complete"}
    damage(root / key.name / file)
    state = expected_state(file)
    assert agree(store, key.train) == {CELL: state}
    assert len(store.damaged()) == 1  # reported, with the reason
    if not rerun:
        return
    results = run_job(
        GRID, key.train, make_data(), store, command="prepare", analysis_cfg=ANALYSIS, jobs=1, progress=False
    )
    assert results[0].status == ("trained" if state == "missing" else "cached")  # a usable model is kept
    assert agree(store, key.train) == {CELL: "complete"} and store.damaged() == []


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("file", [*MODEL, *FAST, *SLOW, MANIFEST_FILE])
def test_a_damaged_file_is_never_shown(tmp_path, analysed_entry, file, damage):
    if file == MANIFEST_FILE and "re-signed" in damage:
        pytest.skip("a manifest cannot vouch for itself")
    check_fault(tmp_path, analysed_entry, file, DAMAGE[damage], rerun=False)  # repairs: the forgeries below


@pytest.mark.parametrize("file, forgery, forge", FORGERIES, ids=[f"{f}: {what}" for f, what, _ in FORGERIES])
def test_a_forged_file_is_never_shown_and_the_rerun_redoes_it(tmp_path, analysed_entry, file, forgery, forge):
    """Issue 13, item 11: status said "analysed" while the loader could not load the cell, and analyze never
    redid it. The listing and the loader now apply the same checks, so they agree, and the rerun redoes it."""
    check_fault(tmp_path, analysed_entry, file, lambda path: (forge(path), resign(path)), rerun=True)


# ------------------------------------------------------------- bad CLI input
def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _npz(tmp_path: Path, name: str, **arrays) -> Path:
    return _write(tmp_path, name, npz_bytes(**arrays))


def _huge_header_npz(tmp_path: Path) -> Path:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (10**9, 10**9)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x_train.npy", header.getvalue() + b"\x00" * 64)
    return _write(tmp_path, "huge.npz", buf.getvalue())


def _idx_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "idx"
    folder.mkdir()
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        (folder / stem).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"not idx")
    return folder


# (arguments after the command, with {tmp} for a folder of bad files, words the message must have)
BAD_INPUT = [
    (["--lambda-k", "-1e-5"], "zero or positive"),
    (["--lambda-k", "nan"], "finite number"),
    (["--lambda-k", "inf"], "finite number"),
    (["--lambda-k", "-inf"], "finite number"),
    (["--lambda-a", "-Infinity"], "finite number"),
    (["--lambda-k", "1e39"], "too large to train with"),
    (["--lambda-k", "abc"], "must be a number"),
    (["--lambda-k", "1e-4,2e-4"], "must be a number"),
    (["--lambda-k"], "expected at least one argument"),
    (["--max-epochs", "0"], "at least 1"),
    (["--max-epochs", "1.5"], "whole number"),
    (["--seed", "-1"], "at least 0"),
    (["--engine", "keras", "--seed", "4294967296"], "seed from 0 to 4294967295"),
    (["--engine", "torch"], "invalid choice: 'torch'"),
    (["--precision", "float16"], "invalid choice: 'float16'"),
    (["--engine", "keras", "--precision", "bfloat16"], "float32 only"),
    (["--jobs", "0"], "at least 1"),
    (["--jobs", "-2"], "at least 1"),
    (["--stack", "zero"], "whole number"),
    (["--backend", "spark"], "invalid choice: 'spark'"),
    (["--scheduler", "tcp://127.0.0.1:1"], "needs --backend dask"),
    (["--backend", "dask", "--scheduler", "not a url"], "is not a dask scheduler address"),
    (["--backend", "dask", "--scheduler", "tcp://host:99999"], "is not a dask scheduler address"),
    (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:1"], "could not be reached"),
    (["--first", "0"], "expected 2 arguments"),
    (["--first", "-1", "0"], "zero or positive"),
    (["--bogus"], "unrecognized arguments: --bogus (see `python -m core --help`)"),
    (["--data", "/nonexistent/mnist.npz"], "does not exist"),
    (["--data", "/dev/null"], "is neither a file nor a folder"),
    (["--data", "{tmp}/notes.txt"], "is not an MNIST .npz"),
    (["--data", "{tmp}/empty.npz"], "is empty"),
    (["--data", "{tmp}/array.npy"], "single .npy array"),
    (["--data", "{tmp}/huge.npz"], "too large to load"),
    (["--data", "{tmp}/objects.npz"], "Python objects"),
    (["--data", "{tmp}/badzip.npz"], "not a readable .npz"),
    (["--data", "{tmp}/no_test.npz"], "has no array 'x_test'"),
    (["--data", "{tmp}/small.npz"], "as in MNIST"),
    (["--data", "{tmp}/labels.npz"], "digit labels 0..9"),
    (["--data", "{tmp}"], "has no train-images-idx3-ubyte"),
    (["--data", "{tmp}/idx"], "not an IDX file"),
    (["--cache-dir", "{tmp}/notes.txt/cache"], "cannot be written"),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("bad")
    raw = make_raw(n_train=20, n_test=10)
    _write(tmp, "notes.txt", b"lambda_k,lambda_a\n0,0\n")
    _write(tmp, "empty.npz", b"")
    np.save(tmp / "array.npy", np.zeros(3))
    _huge_header_npz(tmp)
    with (tmp / "objects.npz").open("wb") as f:
        np.savez(f, x_train=np.array([{"a": 1}], dtype=object))
    _write(tmp, "badzip.npz", b"PK\x03\x04 this is not a zip")
    _npz(tmp, "no_test.npz", x_train=raw["x_train"], y_train=raw["y_train"])
    _npz(tmp, "small.npz", **raw)
    _npz(tmp, "labels.npz", **(raw | {"y_train": raw["y_train"] + 10}))
    _idx_folder(tmp)
    return tmp


@pytest.mark.parametrize("args, message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_cli_input_is_one_sentence_exit_2_and_writes_nothing(
    tmp_path, bad_files, capsys, monkeypatch, args, message
):
    monkeypatch.setattr(sweep_mod, "SCHEDULER_TIMEOUT", "1s")
    monkeypatch.setattr("core.data.load_mnist", lambda path=None: make_data())  # when the data is not the fault
    if any(a == "--data" for a in args):
        monkeypatch.undo()
    args = [a.replace("{tmp}", str(bad_files)) for a in args]
    cache = tmp_path / "cache"
    before = sorted(p.name for p in bad_files.rglob("*"))
    try:
        code = main(["train", *(["--cache-dir", str(cache)] if "--cache-dir" not in args else []), *args])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert message in err, err
    assert not cache.exists()
    assert sorted(p.name for p in bad_files.rglob("*")) == before  # nothing written beside the bad files either


def test_a_closed_output_pipe_ends_quietly():
    """`python -m core status --json | head -1`: no traceback when the reader stops reading."""
    many = [str(v) for v in np.linspace(0, 1e-3, 400)]
    r = subprocess.run(
        f"{sys.executable} -m core status --json --lambda-k {' '.join(many)} --cache-dir /nonexistent/cache | head -1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        executable="/bin/bash",
    )
    assert r.stdout == "{\n" and r.stderr == ""
    assert not Path("/nonexistent/cache").exists()


# ------------------------------------------------------------ bad links to the dashboard
BAD_URLS = (
    [
        {"lambda_k": v}
        for v in ("abc", "", " ", "nan", "inf", "-inf", "-1e-3", "1e400", "0x10", "1e-3'--", "[x](//evil.example)")
    ]
    + [{"lambda_a": v} for v in ("7", "-0.5", "NaN", "1,5", "<script>alert(1)</script>", "%00", "1e-3" * 30)]
    + [
        {"unit": "-1"},
        {"unit": "196"},
        {"unit": "x"},
        {"unit": "1.5"},
        {"tour": "99"},
        {"tour": "-3"},
        {"tour": "one"},
        {"present": "maybe"},
        {"present": "**yes**"},
        {"cmp_k": "abc"},
        {"cmp_a": "9"},
        {"lambda_k": "0.001", "lambda_a": "0.001", "cmp_k": "0.001", "cmp_a": "0.001"},
    ]
)


@pytest.mark.parametrize("query", BAD_URLS, ids=lambda q: "&".join(f"{k}={v[:12]}" for k, v in q.items()))
def test_a_bad_link_is_answered_in_one_sentence_and_writes_nothing(tiny_cache, monkeypatch, query):
    from apptest import app, listing

    before = listing(tiny_cache)
    page = "units" if "unit" in query else "compare" if any(k.startswith("cmp") for k in query) else None
    at = app(tiny_cache, monkeypatch, query)
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception and not at.error, query
    assert at.title, "the page is drawn"
    for w in at.warning:
        assert "\n" not in w.value and w.value.rstrip().endswith((".", ")")), w.value
        assert "Traceback" not in w.value
    assert listing(tiny_cache) == before, "nothing written"
