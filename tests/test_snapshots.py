"""Watch it learn (issue 12, part 2): snapshots of training change no bit of what is trained, live in the cache
entry as an optional file under its manifest (a missing or damaged one never costs the entry), keep the cache's
keys, and an entry trained before them can be retrained to get them, its old files standing until then."""

from __future__ import annotations

import json
import logging
import shutil
import time

import numpy as np
import pytest

from app import epochs as epochs_mod
from app.presentation import snapshots as look
from apptest import app, charts, texts
from conftest import TINY_ANALYSIS, build_model_cfg, build_train_cfg, make_data
from core import schema as S
from core import store as store_mod
from core import train as train_mod
from core.config import ModelConfig, SweepGrid, TrainConfig
from core.model import decode, encode, init_weights
from core.results import load_cell, scan
from core.store import MANIFEST_FILE, SNAPSHOTS_FILE, EntryKey, ModelStore
from core.sweep import TaskQueue, process_cell, run_job
from core.train import SNAPSHOT_DIGITS, Snapshotter, is_snapshot_epoch, train, train_stacked

WEIGHTS = ("W1", "b1", "W2", "b2")


def same_bits(a: dict, b: dict) -> bool:
    return all(a[n].dtype == b[n].dtype and a[n].tobytes() == b[n].tobytes() for n in WEIGHTS)


# ------------------------------------------------------------------ training
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_snapshots_change_no_bit_of_training(tiny_data, precision):
    """The fast engine (the default) with and without snapshots: the same weights and losses, bit for bit."""
    cfg = build_train_cfg(max_epochs=5, patience=100, precision=precision)
    on = train(build_model_cfg(), cfg, tiny_data)
    off = train(build_model_cfg(), cfg, tiny_data, snapshots=False)
    assert same_bits(on.weights, off.weights)
    assert on.loss == off.loss and on.val_loss == off.val_loss
    assert on.snapshots is not None and off.snapshots is None


def test_snapshots_change_no_bit_of_keras_fit(tiny_data):
    """Keras `fit` with its own shuffling (the original's way): reading the weights at an epoch's end uses no random
    number and no operation of training."""
    cfg = build_train_cfg(max_epochs=3, engine="keras")
    on = train(build_model_cfg(), cfg, tiny_data)
    off = train(build_model_cfg(), cfg, tiny_data, snapshots=False)
    assert same_bits(on.weights, off.weights)
    assert on.loss == off.loss and on.val_loss == off.val_loss
    assert on.snapshots[S.SNAP_EPOCHS].tolist() == [0, 1, 2, 3]


def test_snapshots_change_no_bit_of_the_stacked_engine(tiny_data):
    """The stacked (GPU) path keeps each model's own snapshots, at its own stopping epoch, and trains the same."""
    cfgs = [build_model_cfg(), build_model_cfg(lambda_k=0.0, lambda_a=0.0)]
    cfg = build_train_cfg(max_epochs=5, patience=1, min_delta=1e-3)  # stops some models early
    on = train_stacked(cfgs, cfg, tiny_data)
    off = train_stacked(cfgs, cfg, tiny_data, snapshots=False)
    for model_cfg, a, b in zip(cfgs, on, off):
        assert same_bits(a.weights, b.weights) and a.loss == b.loss
        epochs = a.snapshots[S.SNAP_EPOCHS].tolist()
        assert epochs == sorted({0, len(a.loss)} | {e for e in (1, 2, 4) if e < len(a.loss)})
        single = train(model_cfg, cfg, tiny_data)  # the stacked step equals `train` (to round-off)
        assert single.snapshots[S.SNAP_EPOCHS].tolist() == epochs


def test_snapshots_are_log_spaced_and_the_last_is_the_final_model(tiny_data):
    result = train(build_model_cfg(), build_train_cfg(max_epochs=6, patience=100), tiny_data)
    s = S.Snapshots(result.snapshots)
    assert s.epochs == [0, 1, 2, 4, 6]
    assert S.snapshot_arrays_problem(result.snapshots, 196, 784) is None
    w = result.weights
    # the first snapshot is the initial weights, the last the final ones, each filter to 8 bits of its maximum
    scale = np.abs(w["W1"]).max(axis=0)
    assert np.all(np.abs(s.w1(len(s.epochs) - 1) - w["W1"]) <= scale / 254 * 1.0001)
    w0 = init_weights(build_model_cfg(), 0)["W1"]
    assert np.all(np.abs(s.w1(0) - w0) <= np.abs(w0).max(axis=0) / 254 * 1.0001)
    # the digits followed are the first 20 test digits, the ones the Reconstructions page shows (RECON_INDEX)
    assert s.index.tolist() == list(range(SNAPSHOT_DIGITS))
    np.testing.assert_allclose(s.inputs, tiny_data.x_test[:SNAPSHOT_DIGITS], atol=0.5 / 255 + 1e-6)
    h = encode(tiny_data.x_test[:SNAPSHOT_DIGITS], w)
    np.testing.assert_allclose(s.codes(len(s.epochs) - 1), h, rtol=1e-3, atol=1e-3)  # float16
    np.testing.assert_allclose(s.outputs(len(s.epochs) - 1), decode(h, w), atol=0.5 / 255 + 1e-6)
    assert not np.array_equal(s.arrays[S.SNAP_W1][0], s.arrays[S.SNAP_W1][-1])  # it learned something


def test_an_early_stop_ends_the_snapshots_on_its_epoch(tiny_data):
    r = train(build_model_cfg(), build_train_cfg(max_epochs=20, patience=2, min_delta=1.0), tiny_data)
    assert r.snapshots[S.SNAP_EPOCHS].tolist() == [0, 1, 2, 3]  # stopped after 3 epochs: 3 is the last


def test_the_snapshot_epochs_are_powers_of_two():
    assert [e for e in range(100) if is_snapshot_epoch(e)] == [0, 1, 2, 4, 8, 16, 32, 64]


# --------------------------------------------------------------------- store
def test_the_cache_key_and_folder_name_are_what_they_were(monkeypatch):
    """Entries in every existing cache keep their names: the key hashes exactly what it hashed before snapshots."""
    monkeypatch.setattr(
        store_mod, "library_versions", lambda: {"tensorflow": "2.21.0", "keras": "3.0.0", "numpy": "2.4.6"}
    )
    key = EntryKey(ModelConfig(lambda_k=1e-4, lambda_a=0.003), TrainConfig(), "f" * 16)
    assert key.name == "lk0.0001_la0.003_3c1a5b7ce358"  # computed with the code before this feature
    assert sorted(TrainConfig().to_dict()) == [
        "batch_size",
        "beta_1",
        "beta_2",
        "engine",
        "epsilon",
        "learning_rate",
        "max_epochs",
        "min_delta",
        "patience",
        "precision",
        "seed",
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny cell trained (3 epochs) with its snapshots and analysed (fast stage): (root, key)."""
    root = tmp_path_factory.mktemp("snapcache")
    data, cfg = make_data(), build_train_cfg(max_epochs=3)
    cell = ModelConfig(lambda_k=1e-3, lambda_a=0.0)
    process_cell(cell, cfg, data, str(root), ("train", "fast"), TINY_ANALYSIS)
    return root, EntryKey(cell, cfg, data.fingerprint)


def copied(trained, tmp_path) -> tuple[ModelStore, EntryKey]:
    root, key = trained
    shutil.copytree(root, tmp_path / "cache", ignore=shutil.ignore_patterns(".*"))
    return ModelStore(tmp_path / "cache"), key


def test_the_snapshots_are_one_compressed_file_under_the_manifest(trained):
    root, key = trained
    store = ModelStore(root)
    entry = store.path(key)
    files = json.loads((entry / MANIFEST_FILE).read_text())["files"]
    assert SNAPSHOTS_FILE in files and files[SNAPSHOTS_FILE]["size"] == (entry / SNAPSHOTS_FILE).stat().st_size
    snaps, status = store.load_snapshots(key)
    assert status == "present" and snaps.epochs == [0, 1, 2, 3]
    raw = sum(a.nbytes for a in snaps.arrays.values())
    assert (entry / SNAPSHOTS_FILE).stat().st_size < raw  # deflated
    view = load_cell(store, key.model.lambda_k, key.model.lambda_a)
    assert view.snapshot_status == "present" and view.snapshots.epochs == snaps.epochs
    np.testing.assert_array_equal(view.snapshots.index, view.arrays[S.RECON_INDEX])  # the page's 20 digits


def test_an_entry_without_snapshots_is_a_valid_entry_that_says_so(trained, tmp_path):
    store, key = copied(trained, tmp_path)
    store.remove_snapshots(key)
    assert not (store.path(key) / SNAPSHOTS_FILE).exists()
    assert store.load(key) is not None and [e.name for e in store.index()] == [key.name] and store.damaged() == []
    assert store.load_snapshots(key) == (None, "absent")
    view = load_cell(store, key.model.lambda_k, key.model.lambda_a)
    assert view is not None and view.snapshots is None and view.snapshot_status == "absent"


def _resign(path):
    manifest_path = path.parent / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    data = path.read_bytes()
    manifest["files"][path.name] = {"size": len(data), "sha256": store_mod.sha256_file(path)}
    manifest_path.write_text(json.dumps(manifest))


def _rewrite(path, change):
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    np.savez(path, **arrays)
    _resign(path)


def _flip(path):
    b = bytearray(path.read_bytes())
    b[len(b) // 2] ^= 0xFF
    path.write_bytes(bytes(b))


DAMAGE = {
    "flipped byte": _flip,
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:-9]),
    "deleted": lambda p: p.unlink(),
    "garbage, re-signed": lambda p: (p.write_bytes(b"\x93NUMPY garbage"), _resign(p)),
    "an array missing, re-signed": lambda p: _rewrite(p, lambda a: a.pop(S.SNAP_W1)),
    "W1 of the wrong shape, re-signed": lambda p: _rewrite(p, lambda a: a.update({S.SNAP_W1: a[S.SNAP_W1][:, :10]})),
    "a pickle, re-signed": lambda p: _rewrite(p, lambda a: a.update({S.SNAP_EPOCHS: np.array([{"x": 1}], object)})),
    "not the final model, re-signed": lambda p: _rewrite(p, lambda a: a.update({S.SNAP_EPOCHS: a[S.SNAP_EPOCHS] + 1})),
    "epochs not increasing, re-signed": lambda p: _rewrite(p, lambda a: a[S.SNAP_EPOCHS].__setitem__(0, 2)),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_snapshots_are_never_shown_and_cost_nothing_else(trained, tmp_path, caplog, damage):
    store, key = copied(trained, tmp_path)
    DAMAGE[damage](store.path(key) / SNAPSHOTS_FILE)
    with caplog.at_level(logging.WARNING):
        assert store.load_snapshots(key) == (None, "damaged")
        assert store.load_snapshots(key) == (None, "damaged")
    said = [r.getMessage() for r in caplog.records if "training snapshots" in r.getMessage()]
    assert len(said) == 1 and "not shown" in said[0]  # one line, once
    # the model and its analysis are untouched: listed, loaded, shown
    assert store.load(key) is not None and store.damaged() == []
    view = load_cell(store, key.model.lambda_k, key.model.lambda_a)
    assert view is not None and view.snapshots is None and view.snapshot_status == "damaged"


def test_snapshots_that_do_not_fit_the_model_are_refused_before_anything_is_written(tmp_path, tiny_data):
    store, key = ModelStore(tmp_path), EntryKey(build_model_cfg(), build_train_cfg(), "f" * 16)
    snap = Snapshotter(tiny_data)
    w = init_weights(key.model, 0)
    snap.take(0, w)
    history = {"loss": [0.2, 0.1], "val_loss": [0.2, 0.1], "last_epoch": 1}
    with pytest.raises(ValueError, match="not the final model"):
        store.save(key, w, history, snapshots=snap.arrays())  # its last snapshot is epoch 0, trained 2 epochs
    assert not store.path(key).exists()
    snap.take(2, w)
    store.save(key, w, history, snapshots=snap.arrays())
    assert store.load_snapshots(key)[1] == "present"


# ------------------------------------------------------------------- retrain
def test_retraining_an_old_entry_keeps_it_and_adds_the_snapshots(trained, tmp_path):
    """Same key, same machine: the weights come out bit-identical, so the entry keeps its analysis and history."""
    store, key = copied(trained, tmp_path)
    store.remove_snapshots(key)  # as the entries trained before snapshots were recorded
    entry = store.path(key)
    before = {p.name: p.read_bytes() for p in entry.iterdir() if p.name != MANIFEST_FILE}
    r = process_cell(key.model, key.train, make_data(), str(store.root), ("train", "fast"), TINY_ANALYSIS, 1, True)
    assert r.status == "trained" and r.analysis == "cached"  # trained again; its analysis was kept
    after = {p.name: p.read_bytes() for p in entry.iterdir() if p.name != MANIFEST_FILE}
    assert set(after) == set(before) | {SNAPSHOTS_FILE}
    assert all(after[n] == before[n] for n in before)  # weights, config, history and analysis: the same bytes
    assert store.load_snapshots(key)[1] == "present" and store.damaged() == []


def test_a_retrain_with_other_weights_replaces_the_entry_only_once_the_new_one_is_complete(
    trained, tmp_path, monkeypatch
):
    """Another CPU may round differently: the new entry is written beside the old one, which is listed and
    loadable at every moment until one rename puts the new one in its place."""
    store, key = copied(trained, tmp_path)
    store.remove_snapshots(key)
    old = store.load(key)
    real_train = train_mod.train

    def other_rounding(model_cfg, train_cfg, data, **kwargs):
        r = real_train(model_cfg, train_cfg, data, **kwargs)
        r.weights["W1"] = np.nextafter(r.weights["W1"], np.float32(1))  # one ulp away
        r.snapshots = None
        snap = Snapshotter(data)
        snap.take(0, r.weights)
        snap.take(len(r.loss), r.weights)
        r.snapshots = snap.arrays()
        return r

    seen = []
    real_write = store_mod._write_atomic

    def write(path, data):
        if path.parent.name.startswith(".install-"):  # the new entry being written: the old one still serves
            seen.append(ModelStore(store.root).load(key) is not None and store.index() != [])
        real_write(path, data)

    monkeypatch.setattr(train_mod, "train", other_rounding)
    monkeypatch.setattr(store_mod, "_write_atomic", write)
    r = process_cell(key.model, key.train, make_data(), str(store.root), ("train", "fast"), TINY_ANALYSIS, 1, True)
    assert seen and all(seen)
    assert r.status == "trained" and r.analysis == "analysed"  # the old analysis went with the old weights
    new = store.load(key)
    assert not np.array_equal(new.weights["W1"], old.weights["W1"])
    assert store.load_snapshots(key)[1] == "present" and store.damaged() == []
    assert not any(p.name.startswith(".") for p in store.root.iterdir() if p.is_dir())  # no temporary folder left


def test_the_job_retrains_a_cell_a_session_asks_for(tmp_path, monkeypatch):
    """The dashboard's button writes a retrain request; the job (already finished with the cell) trains it again with
    the entry's own training config, even though the cell is cached."""
    data, cfg = make_data(), build_train_cfg(max_epochs=2)
    store = ModelStore(tmp_path / "cache")
    grid = SweepGrid(lambda_k=(0.0,), lambda_a=(0.0,))
    run_job(grid, cfg, data, store, command="prepare", analysis_cfg=TINY_ANALYSIS, jobs=1, progress=False)
    key = EntryKey(ModelConfig(), cfg, data.fingerprint)
    store.remove_snapshots(key)
    other = build_train_cfg(max_epochs=5)  # the job's own config differs: the entry's is used
    store.request([(0.0, 0.0)], front=True, retrain=True, train=cfg.to_dict())
    results = run_job(grid, other, data, store, command="prepare", analysis_cfg=TINY_ANALYSIS, jobs=1, progress=False)
    assert store.load_snapshots(key)[1] == "present"
    assert [e.name for e in store.index()] == [key.name]  # the same entry: nothing trained with the job's config
    assert results[0].status == "trained"
    assert scan(store)[(0.0, 0.0)].readiness == "complete"


def test_a_retrain_request_is_handed_out_once_alone_with_its_own_config():
    phases = (("train", "fast"), ("slow",))
    q = TaskQueue.of([ModelConfig(lambda_k=1e-3), ModelConfig(lambda_k=2e-3)], phases)
    own = build_train_cfg(max_epochs=7)
    q.ask((0.0, 0.0), front=True, retrain=True, train=own)
    assert [(t[0].cell, t[1]) for t in q.pending[:2]] == [((0.0, 0.0), 0), ((0.0, 0.0), 1)]
    job_cfg = TrainConfig()
    task = q.next()
    assert task[0].cell == (0.0, 0.0) and q.how(task, job_cfg) == (own, True)
    assert q.next_of_phase(0)[0].cell != (0.0, 0.0)  # other cells may batch, it does not
    q.finished((0.0, 0.0))
    slow = q.next()
    assert slow[0].cell == (0.0, 0.0) and q.how(slow, job_cfg) == (own, False)  # its maps with its config


def test_requests_carry_retrain_and_the_config(tmp_path):
    store = ModelStore(tmp_path)
    store.request([(0.0, 0.0)], front=False)
    store.request([(1e-3, 0.0)], front=True, retrain=True, train=TrainConfig().to_dict())
    assert store.take_requests() == [
        {"cells": [(0.0, 0.0)], "front": False},
        {"cells": [(1e-3, 0.0)], "front": True, "retrain": True, "train": TrainConfig().to_dict()},
    ]


# ------------------------------------------- the two pages (tests/test_page_filters.py, ..._reconstructions.py)
OLD_ENTRY = "Snapshots of training are not available for this model (trained before they were recorded)"


def old_style_cache(src, dst):
    """A copy of the cache `src` whose entries have no training snapshots, as entries trained before them."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".*"))
    store = ModelStore(dst)
    for e in store.index():
        store.remove_snapshots(e.name)
    return dst


def _title(at) -> str:
    return charts(at)[0]["layout"]["title"]["text"]


def _picture(at) -> str:
    return charts(at)[0]["data"][0]["source"]


# the pages that show the epochs, and their figure's title for the final model (the page as before)
EPOCH_PAGES = {
    "filters": "What each of the 196 hidden units looks for",
    "reconstructions": "How the network redraws test digits from their codes",
}


@pytest.mark.parametrize("page", EPOCH_PAGES)
def test_the_page_shows_the_stored_epochs(tiny_cache, monkeypatch, page):
    """The slider offers the epochs the trainer kept, opens on the last (the page as before), and shows each."""
    final_title = EPOCH_PAGES[page]
    at = app(tiny_cache, monkeypatch, page=page)
    assert not at.exception and not at.error
    slider = at.select_slider(key="epoch")
    assert slider.options == ["before training", "epoch 1", "epoch 2 (last)"]
    assert slider.value == 2 and not slider.disabled
    assert _title(at).startswith(final_title)
    final = _picture(at)
    view = load_cell(ModelStore(tiny_cache), 0.0, 0.0)
    build = look.filters_at if page == "filters" else look.reconstructions_at
    for epoch, title in ((0, "Before training"), (1, "After 1 epoch of 2")):
        at.select_slider(key="epoch").set_value(epoch).run()
        assert not at.exception
        assert _title(at).startswith(title)
        assert _picture(at) == build(view.snapshots, epoch).data[0].source  # the stored snapshot, drawn
        assert _picture(at) != final
    at.select_slider(key="epoch").set_value(2).run()
    assert _title(at).startswith(final_title) and _picture(at) == final


@pytest.mark.parametrize("page", EPOCH_PAGES)
def test_play_steps_the_page_through_the_epochs(tiny_cache, monkeypatch, page):
    """Play starts from the first epoch, steps one epoch per tick, and stops on the last (the page as before)."""
    final_title = EPOCH_PAGES[page]
    monkeypatch.setattr(epochs_mod, "EPOCH_SECONDS", 0.2)
    at = app(tiny_cache, monkeypatch, page=page)
    at.button(key="epoch-play").click().run()
    assert at.select_slider(key="epoch").value == 0 and at.select_slider(key="epoch").disabled
    assert [b.key for b in at.main.button if b.key.startswith("epoch-")] == ["epoch-stop"]
    titles = [_title(at)]
    for _ in range(3):
        time.sleep(0.25)
        at.run()
        assert not at.exception
        titles.append(_title(at))
    assert titles[0].startswith("Before training") and titles[1].startswith("After 1 epoch of 2")
    assert titles[2].startswith(final_title) and titles[3] == titles[2]
    assert at.select_slider(key="epoch").value == 2 and not at.select_slider(key="epoch").disabled
    assert [b.key for b in at.main.button if b.key.startswith("epoch-")] == ["epoch-play"]


@pytest.mark.parametrize("page", EPOCH_PAGES)
def test_a_model_without_snapshots_says_so_on_the_page(tiny_cache, tmp_path, monkeypatch, page):
    """An entry trained before snapshots: one line says so, the figure is the final model's, a button retrains it;
    in presenter mode the line stays and the button goes."""
    root = old_style_cache(tiny_cache, tmp_path / "cache")
    at = app(root, monkeypatch, page=page)
    assert not at.exception and not at.error and charts(at)
    assert [c for c in texts(at.main.caption) if OLD_ENTRY in c]
    assert "epoch" not in [s.key for s in at.select_slider]
    assert [b.label for b in at.main.button if b.key == "job-retrain"] == ["Retrain to record them"]
    at = app(root, monkeypatch, {"present": "1"}, page=page)
    assert not at.exception and [c for c in texts(at.main.caption) if OLD_ENTRY in c]
    assert "job-retrain" not in [b.key for b in at.main.button]


@pytest.mark.parametrize("page", EPOCH_PAGES)
def test_the_page_s_retrain_button_asks_the_job(tiny_cache, tmp_path, monkeypatch, fake_popen, page):
    """The button hands the cell to the job as a retrain, with its entry's own training config, and starts the job
    (this cell first) when none runs; the page then says it is retraining instead of offering the button again."""
    root = old_style_cache(tiny_cache, tmp_path / "cache")
    at = app(root, monkeypatch, page=page)
    at.button(key="job-retrain").click().run()
    assert not at.exception
    store = ModelStore(root)
    entry = scan(store)[(0.0, 0.0)].entry
    assert store.take_requests() == [
        {"cells": [(0.0, 0.0)], "front": True, "retrain": True, "train": store.load_entry(entry).config["train"]}
    ]
    assert len(fake_popen) == 1
    cmd = fake_popen[0]["cmd"]
    assert cmd[1:4] == ["-m", "core", "prepare"] and cmd[cmd.index("--first") + 1 :][:2] == ["0.0", "0.0"]
    assert [c for c in texts(at.main.caption) if "Retraining this model" in c]
    assert "job-retrain" not in [b.key for b in at.main.button]


@pytest.mark.parametrize("page", EPOCH_PAGES)
def test_damaged_snapshots_are_not_shown_on_the_page(tiny_cache, tmp_path, monkeypatch, page):
    root = tmp_path / "cache"
    shutil.copytree(tiny_cache, root, ignore=shutil.ignore_patterns(".*"))
    entry = scan(ModelStore(root))[(0.0, 0.0)].entry
    _flip(root / entry / SNAPSHOTS_FILE)
    at = app(root, monkeypatch, page=page)
    assert not at.exception and not at.error and charts(at)
    assert [c for c in texts(at.main.caption) if "not available for this model (their file is damaged)" in c]
    assert "epoch" not in [s.key for s in at.select_slider]
