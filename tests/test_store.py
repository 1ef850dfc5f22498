"""The models cache: keys, round trips, damage detection, atomicity under kill, locks."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import ROOT, build_model_cfg, build_train_cfg
from core import store as store_mod
from core.model import init_weights
from core.store import MANIFEST_FILE, WEIGHTS_FILE, EntryKey, LockBusy, ModelStore

HISTORY = {
    "loss": [0.3, 0.2],
    "val_loss": [0.25, 0.15],
    "last_epoch": 1,
    "final_loss": 0.2,
    "final_val_loss": 0.15,
    "seconds": 1.5,
    "engine": "fast",
}


def make_key(**model_overrides) -> EntryKey:
    return EntryKey(build_model_cfg(**model_overrides), build_train_cfg(), "f" * 16)


def saved(tmp_path, **model_overrides):
    store = ModelStore(tmp_path)
    key = make_key(**model_overrides)
    weights = init_weights(key.model, 0)
    store.save(key, weights, HISTORY)
    return store, key, weights


def test_round_trip(tmp_path):
    store, key, weights = saved(tmp_path)
    got = store.load(key)
    for name, arr in weights.items():
        np.testing.assert_array_equal(got.weights[name], arr)
        assert got.weights[name].dtype == np.float32
    assert got.history["final_val_loss"] == 0.15 and "finished_at" in got.history
    assert got.model_config == key.model and got.train_config == key.train
    assert got.config["data_fingerprint"] == "f" * 16
    assert [e.name for e in store.index()] == [got.path.name]
    assert store.index()[0].config == got.config and store.index()[0].stages == {}
    assert store.damaged() == []


def test_key_depends_on_everything_that_changes_the_numbers(monkeypatch):
    base = make_key()
    variants = [
        make_key(lambda_k=2e-3),
        make_key(lambda_a=0.0),
        EntryKey(base.model, build_train_cfg(seed=1), base.data_fingerprint),
        EntryKey(base.model, build_train_cfg(precision="bfloat16"), base.data_fingerprint),
        EntryKey(base.model, build_train_cfg(max_epochs=4), base.data_fingerprint),
        EntryKey(base.model, base.train, "0" * 16),
    ]
    base_digest = base.digest  # the digest is computed on access: take it before patching
    digests = {base_digest} | {v.digest for v in variants}
    assert len(digests) == 1 + len(variants)
    monkeypatch.setattr(store_mod, "library_versions", lambda: {"tensorflow": "9.9", "keras": "9", "numpy": "9"})
    assert make_key().digest != base_digest
    monkeypatch.undo()
    assert make_key().digest == base_digest
    monkeypatch.setattr(store_mod, "FORMAT_VERSION", 999)
    assert make_key().digest != base_digest


def test_entry_name_is_readable():
    assert make_key(lambda_k=1.1111111e-05, lambda_a=0.0).name.startswith("lk1.111e-05_la0_")


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda e: (e / WEIGHTS_FILE).write_bytes((e / WEIGHTS_FILE).read_bytes()[:-100]), "wrong size"),
        (lambda e: _flip_byte(e / WEIGHTS_FILE), "checksum"),
        (lambda e: (e / MANIFEST_FILE).unlink(), "incomplete"),
        (lambda e: (e / MANIFEST_FILE).write_text("{not json"), "manifest is unreadable"),
        (lambda e: (e / "history.json").unlink(), "history.json is missing"),
    ],
)
def test_damage_is_detected_reported_and_never_returned(tmp_path, caplog, damage, problem):
    store, key, _ = saved(tmp_path)
    damage(store.path(key))
    with caplog.at_level(logging.WARNING):
        assert store.load(key) is None
    assert any(problem in r.getMessage() and "retrained" in r.getMessage() for r in caplog.records)
    assert [name for name, _ in store.damaged()] == [key.name]
    assert store.index() == []
    # saving again repairs it
    store.save(key, init_weights(key.model, 1), HISTORY)
    assert store.load(key) is not None and store.damaged() == []


def _flip_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_pickle_smuggled_in_with_a_matching_manifest_is_refused(tmp_path):
    """Even with correct checksums, weights.npz holding objects is not loaded (allow_pickle=False)."""
    store, key, _ = saved(tmp_path)
    entry = store.path(key)
    np.savez(entry / WEIGHTS_FILE, W1=np.array([{"evil": 1}], dtype=object))
    manifest = json.loads((entry / MANIFEST_FILE).read_text())
    manifest["files"][WEIGHTS_FILE] = {
        "size": (entry / WEIGHTS_FILE).stat().st_size,
        "sha256": store_mod.sha256_file(entry / WEIGHTS_FILE),
    }
    (entry / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert store.load(key) is None


def test_unwritable_cache_dir_is_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(store_mod.StoreError, match="cannot be written .*--cache-dir"):
        ModelStore(blocker / "cache").ensure_writable()


KILL_SCRIPT = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    from core import store as s
    from core.model import init_weights
    from test_store import make_key, HISTORY
    real_replace = os.replace
    def slow_replace(src, dst):
        real_replace(src, dst)
        if str(dst).endswith("config.json"):   # weights written, manifest not yet
            print("MIDWRITE", flush=True)
            time.sleep(60)
    s.os.replace = slow_replace
    store = s.ModelStore({cache!r})
    key = make_key()
    with store.lock(key):
        store.save(key, init_weights(key.model, 0), HISTORY)
""")


def test_a_writer_killed_mid_write_leaves_a_consistent_cache(tmp_path):
    cache = tmp_path / "cache"
    script = KILL_SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests"), cache=str(cache))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "MIDWRITE"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    store, key = ModelStore(cache), make_key()
    assert (store.path(key) / WEIGHTS_FILE).exists()  # it really was killed mid-entry
    assert store.load(key) is None
    assert store.damaged()[0][1].startswith("it is incomplete")
    assert not list(store.path(key).glob("*.tmp"))  # no half-written file under a real name
    assert store.lock_holder(key) is None  # the dead writer's lock is stale
    with store.lock(key):  # and is taken over
        store.save(key, init_weights(key.model, 0), HISTORY)
    assert store.load(key) is not None


def test_lock_excludes_a_second_holder(tmp_path):
    store, key = ModelStore(tmp_path), make_key()
    with store.lock(key):
        assert store.lock_holder(key)["pid"] == os.getpid()
        with pytest.raises(LockBusy, match="being worked on by process"):
            with store.lock(key):
                pass
    assert not store.lock_path(key).exists()
    with store.lock(key):
        pass


def test_stale_locks_are_recovered(tmp_path):
    store, key = ModelStore(tmp_path), make_key()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.lock_path(key).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": 0}))
    assert store.lock_holder(key) is None
    # another host's lock: live while its heartbeat is fresh, stale when old
    store.lock_path(key).write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": 0}))
    assert store.lock_holder(key) is not None
    old = time.time() - store_mod.STALE_LOCK_SECONDS - 5
    os.utime(store.lock_path(key), (old, old))
    assert store.lock_holder(key) is None
    with store.lock(key):
        assert store.lock_holder(key)["pid"] == os.getpid()


def test_stage_round_trip_and_damage_keeps_the_model_and_the_other_stage(tmp_path, caplog):
    store, key, _ = saved(tmp_path)
    fast = {"dead_units": np.array([True, False])}
    slow = {"tsne_raw": np.arange(6, dtype=np.float32).reshape(3, 2)}
    meta = {"version": 1, "config": {"seed": 0}, "density_test": 0.5}
    assert store.load_stage(key, "fast", 1, {"seed": 0}) is None
    store.save_stage(key, "fast", fast, meta)
    store.save_stage(key, "slow", slow, {"version": 1, "config": {"seed": 0}})
    got_arrays, got_meta = store.load_stage(key, "slow", 1, {"seed": 0})
    np.testing.assert_array_equal(got_arrays["tsne_raw"], slow["tsne_raw"])
    assert store.load_stage(key, "fast", 1, {"seed": 0})[1] == meta
    assert store.load_stage(key, "fast", 2, {"seed": 0}) is None  # another version
    assert store.load_stage(key, "fast", 1, {"seed": 1}) is None  # other settings
    assert set(store.index()[0].stages) == {"fast", "slow"}
    _flip_byte(store.path(key) / "analysis_slow.npz")
    with caplog.at_level(logging.WARNING):
        assert store.load_stage(key, "slow", 1, {"seed": 0}) is None
    assert any("slow analysis" in r.getMessage() and "recomputed" in r.getMessage() for r in caplog.records)
    assert store.load(key) is not None  # the model itself is still good
    assert store.load_stage(key, "fast", 1, {"seed": 0}) is not None  # and so is the fast stage
    item = store.index()[0]
    assert set(item.stages) == {"fast"} and "checksum" in item.damaged_stages["slow"]
    assert "slow analysis is damaged" in store.damaged()[0][1]
    store.save_stage(key, "slow", slow, {"version": 1, "config": {"seed": 0}})
    assert store.load_stage(key, "slow", 1, {"seed": 0}) is not None and store.damaged() == []


def test_retraining_drops_the_old_analysis(tmp_path):
    store, key, weights = saved(tmp_path)
    store.save_stage(key, "fast", {"a": np.zeros(2)}, {"version": 1, "config": {}})
    store.save(key, weights, HISTORY)
    assert store.load_stage(key, "fast", 1, {}) is None
    assert not (store.path(key) / "analysis_fast.npz").exists()


def test_analysis_needs_a_cached_model(tmp_path):
    with pytest.raises(store_mod.StoreError, match="not cached"):
        ModelStore(tmp_path).save_stage(make_key(), "fast", {"a": np.zeros(1)}, {})


def test_listing_hashes_each_file_version_once(tmp_path, monkeypatch):
    store, key, _ = saved(tmp_path)
    old = time.time() - 60
    for f in store.path(key).iterdir():
        os.utime(f, (old, old))
    calls = []
    real = store_mod.sha256_file
    monkeypatch.setattr(store_mod, "sha256_file", lambda p: calls.append(p.name) or real(p))
    store.index()
    assert sorted(calls) == sorted(store_mod.MODEL_FILES)
    store.index()
    store.change_token()
    assert len(calls) == len(store_mod.MODEL_FILES)  # nothing hashed again
    _flip_byte(store.path(key) / WEIGHTS_FILE)  # a change gives the file a new time: checked again
    assert store.index() == []


def test_a_fresh_lock_of_a_live_pid_is_held_but_an_old_one_is_stale(tmp_path):
    store, key = ModelStore(tmp_path), make_key()
    store.lock_path(key).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": 0}))
    assert store.lock_holder(key)["pid"] == os.getpid()
    old = time.time() - store_mod.STALE_LOCK_SECONDS - 5  # a reused pid after a restart: heartbeat long gone
    os.utime(store.lock_path(key), (old, old))
    assert store.lock_holder(key) is None


@pytest.mark.parametrize("content", ["", "garbage", "[1, 2]"])
def test_an_empty_or_garbage_lock_is_stale_after_a_few_seconds(tmp_path, content):
    store, key = ModelStore(tmp_path), make_key()
    store.lock_path(key).write_text(content)
    assert store.lock_holder(key) is not None  # it may be being written right now
    old = time.time() - 11
    os.utime(store.lock_path(key), (old, old))
    assert store.lock_holder(key) is None
    with store.lock(key):
        pass


def test_a_busy_lock_says_who_holds_it_and_since_when(tmp_path):
    store, key = ModelStore(tmp_path), make_key()
    with store.lock(key):
        with pytest.raises(LockBusy, match=rf"process {os.getpid()} on {socket.gethostname()} since \d\d:\d\d"):
            with store.lock(key):
                pass


def _fresh_process(monkeypatch) -> None:
    """What another process of the same cache starts with: nothing hashed, checked or recorded in its memory."""
    for name, empty in (("_HASHED", {}), ("_CHECKED", set()), ("_GOOD", {}), ("_UNSAVED", set())):
        monkeypatch.setattr(store_mod, name, empty)


def _settle(entry) -> None:
    old = time.time() - 60
    for f in entry.iterdir():
        os.utime(f, (old, old))


def _count_loads(monkeypatch) -> list[str]:
    loads: list[str] = []
    real = store_mod._load_npz
    monkeypatch.setattr(store_mod, "_load_npz", lambda p: loads.append(p.name) or real(p))
    return loads


def test_arrays_are_loaded_to_be_checked_once_for_the_whole_cache_and_hashed_once_per_process(tmp_path, monkeypatch):
    """A fresh server lists the cache without loading every entry's arrays again: the check of a file's
    contents is recorded by their SHA-256 (.checked.json). The checksum itself is computed in every process,
    so a file damaged since, even with its size and time kept, is caught."""
    store, key, _ = saved(tmp_path)
    entry = store.path(key)
    _settle(entry)
    loads = _count_loads(monkeypatch)
    _fresh_process(monkeypatch)
    names = [e.name for e in store.index()]
    assert names == [entry.name] and loads == [WEIGHTS_FILE]
    record = json.loads((tmp_path / store_mod.CHECKED_FILE).read_text())
    (tag,) = record["good"]
    assert tag.startswith(store_mod.sha256_file(entry / WEIGHTS_FILE) + " weights ")
    _fresh_process(monkeypatch)
    assert [e.name for e in ModelStore(tmp_path).index()] == names
    assert loads == [WEIGHTS_FILE], "the next process does not load the weights to check them"
    before = (entry / WEIGHTS_FILE).stat()
    _flip_byte(entry / WEIGHTS_FILE)
    os.utime(entry / WEIGHTS_FILE, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, time and inode
    _fresh_process(monkeypatch)
    assert ModelStore(tmp_path).index() == []


def test_contents_that_match_a_rewritten_manifest_are_checked_anew(tmp_path, monkeypatch):
    """The record names contents, not files: weights replaced by arrays of the wrong shape, with the manifest
    rewritten to match, are loaded, checked and refused although the file's old contents passed."""
    store, key, _ = saved(tmp_path)
    entry = store.path(key)
    _settle(entry)
    _fresh_process(monkeypatch)
    assert len(store.index()) == 1 and (tmp_path / store_mod.CHECKED_FILE).exists()
    np.savez(entry / WEIGHTS_FILE, W1=np.zeros((3, 3), np.float32))
    manifest = json.loads((entry / MANIFEST_FILE).read_text())
    manifest["files"][WEIGHTS_FILE] = {
        "size": (entry / WEIGHTS_FILE).stat().st_size,
        "sha256": store_mod.sha256_file(entry / WEIGHTS_FILE),
    }
    (entry / MANIFEST_FILE).write_text(json.dumps(manifest))
    _fresh_process(monkeypatch)
    assert ModelStore(tmp_path).index() == []


@pytest.mark.parametrize("record", ["not json {", '{"checks": [0, 0, 0], "good": []}', '["a list"]', ""])
def test_a_record_of_other_checks_or_a_garbage_one_is_ignored_and_rewritten(tmp_path, monkeypatch, record):
    store, key, _ = saved(tmp_path)
    entry = store.path(key)
    _settle(entry)
    _fresh_process(monkeypatch)
    store.index()
    good = json.loads((tmp_path / store_mod.CHECKED_FILE).read_text())["good"]
    if record.startswith('{"checks"'):  # the very tags, but made by other checks: not trusted
        record = json.dumps({"checks": [0, 0, 0], "good": good})
    (tmp_path / store_mod.CHECKED_FILE).write_text(record)
    loads = _count_loads(monkeypatch)
    _fresh_process(monkeypatch)
    assert [e.name for e in ModelStore(tmp_path).index()] == [entry.name]
    assert loads == [WEIGHTS_FILE]
    assert json.loads((tmp_path / store_mod.CHECKED_FILE).read_text()) == {"checks": store_mod._checks(), "good": good}
