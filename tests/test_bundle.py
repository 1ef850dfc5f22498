"""Bundles: export -> import gives the same entries byte for byte; a bad bundle is refused and writes nothing."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import build_train_cfg
from core import bundle as bundle_mod
from core import store as store_mod
from core.__main__ import main
from core.bundle import (
    BUNDLE_MANIFEST,
    BundleError,
    describe_other_libraries,
    entry_digest,
    export_bundle,
    import_bundle,
)
from core.config import ModelConfig
from core.model import init_weights
from core.store import EntryKey, ModelStore

HISTORY = {"loss": [0.3, 0.2], "val_loss": [0.25, 0.15], "last_epoch": 1, "final_val_loss": 0.15}
CELLS = [(0.0, 0.0), (1e-3, 0.0), (2e-3, 1e-2)]


def make_key(lambda_k: float, lambda_a: float) -> EntryKey:
    # a small model: the bundle does not care about the size, and small is fast
    return EntryKey(
        ModelConfig(lambda_k=lambda_k, lambda_a=lambda_a, n_hidden=8, image_side=4), build_train_cfg(), "f" * 16
    )


def make_cache(root: Path, cells=CELLS, analysed: int = 2) -> tuple[ModelStore, list[EntryKey]]:
    """A cache with one entry per cell; the first `analysed` of them have an analysis."""
    store = ModelStore(root)
    keys = [make_key(*cell) for cell in cells]
    for i, key in enumerate(keys):
        store.save(key, init_weights(key.model, i), HISTORY)
        if i < analysed:
            rng = np.random.default_rng(i)
            arrays = {"codes": rng.random((5, 8), dtype=np.float32), "labels": np.arange(5, dtype=np.int8)}
            store.save_stage(key, "fast", arrays, {"version": 1, "config": {"n": 5}, "density": 0.5})
    return store, keys


def snapshot(root: Path) -> dict[str, bytes] | None:
    """Every file under `root` (hidden ones too) by relative path; None if `root` does not exist."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[ModelStore, list[EntryKey], Path]:
    """A cache of three entries (two analysed) and its bundle."""
    root = tmp_path_factory.mktemp("source")
    store, keys = make_cache(root / "cache")
    report = export_bundle(store, root / "grid.zip")
    assert report.entries == sorted(k.name for k in keys) and report.skipped == []
    return store, keys, root / "grid.zip"


@pytest.fixture
def target(tmp_path) -> ModelStore:
    """A cache that already holds an unrelated entry (so that 'nothing written' is about a real folder)."""
    store, _ = make_cache(tmp_path / "target", cells=[(5e-3, 5e-3)], analysed=1)
    return store


def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def write_members(path: Path, members: dict[str, bytes] | list[tuple[str, bytes]]) -> Path:
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in items:
            zf.writestr(name, data)
    return path


def resign(members: dict[str, bytes], entry: str) -> None:
    """Recompute `entry`'s manifest from its files and the bundle manifest from the entry manifests."""
    prefix = f"{entry}/"
    manifest = json.loads(members[prefix + "manifest.json"])
    for fname in manifest["files"]:
        data = members[prefix + fname]
        manifest["files"][fname] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    members[prefix + "manifest.json"] = json.dumps(manifest).encode()
    bundle = json.loads(members[BUNDLE_MANIFEST])
    for e in bundle["entries"]:
        e["manifest_sha256"] = hashlib.sha256(members[f"{e['name']}/manifest.json"]).hexdigest()
    members[BUNDLE_MANIFEST] = json.dumps(bundle).encode()


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


# ------------------------------------------------------------- round trip
def test_export_then_import_gives_byte_identical_entries(source, tmp_path):
    store, keys, bundle = source
    dst = ModelStore(tmp_path / "new")
    report = import_bundle(dst, bundle)
    assert sorted(report.installed) == sorted(k.name for k in keys)
    assert report.replaced == report.already == report.busy == [] and report.other_libraries == {}
    for key in keys:
        assert snapshot(dst.path(key)) == snapshot(store.path(key))  # every file, the manifest included
        got, want = dst.load(key), store.load(key)
        for name, arr in want.weights.items():
            np.testing.assert_array_equal(got.weights[name], arr)
    for key in keys[:2]:  # the analysed ones: their analysis files came along (whatever they are called)
        assert len(json.loads((dst.path(key) / "manifest.json").read_text())["files"]) > 3
        assert dst.load_stage(key.name, "fast", 1)[0]["codes"].shape == (5, 8)
    assert dst.damaged() == []
    assert sorted(p.name for p in dst.root.iterdir()) == sorted(k.name for k in keys)  # no temporary left


def test_bundle_layout(source):
    _, keys, bundle = source
    members = read_members(bundle)
    manifest = json.loads(members[BUNDLE_MANIFEST])
    assert manifest["bundle_format"] == 1 and manifest["cache_format"] == store_mod.FORMAT_VERSION
    assert set(manifest["libraries"]) == {"tensorflow", "keras", "numpy"} and manifest["created"]
    assert [e["name"] for e in manifest["entries"]] == sorted(k.name for k in keys)
    for e in manifest["entries"]:
        assert hashlib.sha256(members[f"{e['name']}/manifest.json"]).hexdigest() == e["manifest_sha256"]
    assert {n.split("/")[0] for n in members} == {BUNDLE_MANIFEST} | {k.name for k in keys}
    assert not any(p.name.startswith(".") for p in bundle.parent.iterdir())  # no temporary left


def test_reimport_reports_already_there_and_replaces_damage(source, tmp_path):
    store, keys, bundle = source
    dst = ModelStore(tmp_path / "new")
    import_bundle(dst, bundle)
    before = snapshot(dst.root)
    again = import_bundle(dst, bundle)
    assert sorted(again.already) == sorted(k.name for k in keys) and again.installed == again.replaced == []
    assert snapshot(dst.root) == before
    weights = dst.path(keys[0]) / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-10])  # truncated here
    third = import_bundle(dst, bundle)
    assert third.replaced == [keys[0].name] and len(third.already) == 2
    assert snapshot(dst.root) == before


def test_an_entry_being_trained_here_is_left_alone(source, tmp_path):
    _, keys, bundle = source
    dst = ModelStore(tmp_path / "new")
    with dst.lock(keys[1]):
        report = import_bundle(dst, bundle)
    assert report.busy == [keys[1].name] and len(report.installed) == 2
    assert not dst.path(keys[1]).exists()


def test_export_skips_damaged_entries_with_a_note(tmp_path):
    store, keys = make_cache(tmp_path / "cache")
    (store.path(keys[0]) / "weights.npz").write_bytes(b"garbage")
    (store.path(keys[1]) / "analysis_fast.npz").write_bytes(b"garbage")  # the model is fine, its analysis is not
    (store.root / "lk9_la9_000000000000").mkdir()  # a writer that was killed: no manifest
    report = export_bundle(store, tmp_path / "grid.zip")
    assert report.entries == [keys[2].name]
    assert [name for name, _ in report.skipped] == sorted([keys[0].name, keys[1].name, "lk9_la9_000000000000"])
    assert all(problem and "\n" not in problem for _, problem in report.skipped)
    assert len(import_bundle(ModelStore(tmp_path / "new"), tmp_path / "grid.zip").installed) == 1


def test_a_bundle_unzipped_and_zipped_again_with_folders_imports(source, tmp_path):
    _, keys, bundle = source
    members = read_members(bundle)
    rezipped = [(f"{k.name}/", b"") for k in keys] + list(members.items())  # as `zip -r` stores them
    write_members(tmp_path / "again.zip", rezipped)
    assert len(import_bundle(ModelStore(tmp_path / "new"), tmp_path / "again.zip").installed) == 3
    write_members(tmp_path / "evil.zip", [("elsewhere/", b""), *members.items()])
    with pytest.raises(BundleError, match="outside its listed entries"):
        import_bundle(ModelStore(tmp_path / "new2"), tmp_path / "evil.zip")


def test_entry_digest_is_the_entry_key_digest(source):
    store, keys, _ = source
    for key in keys:
        config = store.load(key).config
        assert entry_digest(config)[0] == key.digest == config["key"]


def test_entries_made_with_other_libraries_import_with_a_note(tmp_path, monkeypatch):
    other = {"tensorflow": "2.0.0", "keras": "3.0.0", "numpy": "1.0.0"}
    monkeypatch.setattr(store_mod, "library_versions", lambda: other)
    store, keys = make_cache(tmp_path / "cache", cells=CELLS[:1])  # trained "on another machine"
    name = keys[0].name  # the digest, and so the name, depends on the libraries
    monkeypatch.undo()
    assert keys[0].name != name
    export_bundle(store, tmp_path / "grid.zip")
    report = import_bundle(ModelStore(tmp_path / "new"), tmp_path / "grid.zip")
    assert report.installed == [name] and report.other_libraries == {name: other}
    note = describe_other_libraries(report)
    assert note.startswith("note: 1 entry was made with other library versions") and "numpy 1.0.0" in note


# ------------------------------------------------------------ bad bundles
def flip_a_weights_byte(bundle: Path, entry: str) -> bytes:
    """The bundle's bytes with one byte flipped in the middle of weights.npz's (deflated) data."""
    raw = bundle.read_bytes()
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo(f"{entry}/weights.npz")
    at = info.header_offset + 30  # the local header: 30 bytes, then the name and the extra field
    at += int.from_bytes(raw[at - 4 : at - 2], "little") + int.from_bytes(raw[at - 2 : at], "little")
    at += info.compress_size // 2
    return raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1 :]


def tamper(kind: str, bundle: Path, out: Path, entry: str) -> Path:
    """A copy of `bundle` damaged, truncated, forged or made incompatible in one way."""
    raw = bundle.read_bytes()
    members = read_members(bundle)
    e = f"{entry}/"
    if kind == "flipped byte in weights.npz":
        out.write_bytes(flip_a_weights_byte(bundle, entry))
    elif kind == "weights.npz changed, zip CRC recomputed":
        data = bytearray(members[e + "weights.npz"])
        data[-5] ^= 0xFF
        members[e + "weights.npz"] = bytes(data)
        write_members(out, members)
    elif kind == "truncated zip":
        out.write_bytes(raw[: len(raw) // 2])
    elif kind == "zip directory cut":
        out.write_bytes(raw[:-30])
    elif kind == "member ../evil":
        write_members(out, members | {"../evil": b"x"})
    elif kind == "member entry/../../evil":
        write_members(out, members | {e + "../../evil": b"x"})
    elif kind == "absolute member":
        write_members(out, members | {"/tmp/evil": b"x"})
    elif kind == "hidden member":
        write_members(out, members | {e + ".evil": b"x"})
    elif kind == "entry named ..":
        renamed = {n.replace(entry, "..", 1) if n.startswith(e) else n: d for n, d in members.items()}
        bundle_json = json.loads(renamed[BUNDLE_MANIFEST])
        for x in bundle_json["entries"]:
            x["name"] = ".." if x["name"] == entry else x["name"]
        renamed[BUNDLE_MANIFEST] = json.dumps(bundle_json).encode()
        write_members(out, renamed)
    elif kind == "forged config (lambda changed, manifests re-signed)":
        config = json.loads(members[e + "config.json"])
        config["model"]["lambda_k"] = 0.5
        members[e + "config.json"] = json.dumps(config).encode()
        resign(members, entry)
        write_members(out, members)
    elif kind == "forged config (lambda and key changed, manifests re-signed)":
        config = json.loads(members[e + "config.json"])
        config["model"]["lambda_k"] = 0.5
        config["key"] = entry_digest(config)[0]  # consistent with itself, but not with the folder name
        members[e + "config.json"] = json.dumps(config).encode()
        resign(members, entry)
        write_members(out, members)
    elif kind == "weights of the wrong shape, re-signed":
        members[e + "weights.npz"] = npz_bytes(W1=np.zeros((3, 3), np.float32))
        resign(members, entry)
        write_members(out, members)
    elif kind == "object array in an analysis .npz, re-signed":
        members[e + "analysis_fast.npz"] = npz_bytes(codes=np.array([{"a": 1}], dtype=object))
        resign(members, entry)
        write_members(out, members)
    elif kind == "wrong bundle format":
        members[BUNDLE_MANIFEST] = json.dumps(json.loads(members[BUNDLE_MANIFEST]) | {"bundle_format": 2}).encode()
        write_members(out, members)
    elif kind == "wrong cache format":
        members[BUNDLE_MANIFEST] = json.dumps(json.loads(members[BUNDLE_MANIFEST]) | {"cache_format": 99}).encode()
        write_members(out, members)
    elif kind == "bundle.json not JSON":
        write_members(out, members | {BUNDLE_MANIFEST: b"{not json"})
    elif kind == "bundle.json of the wrong shape":
        write_members(out, members | {BUNDLE_MANIFEST: json.dumps({"bundle_format": 1, "cache_format": 1}).encode()})
    elif kind == "no bundle.json":
        del members[BUNDLE_MANIFEST]
        write_members(out, members)
    elif kind == "missing member":
        del members[e + "history.json"]
        write_members(out, members)
    elif kind == "extra member":
        write_members(out, members | {e + "notes.txt": b"x"})
    elif kind == "member larger than its manifest says":
        members[e + "weights.npz"] += b"\0" * 4096
        write_members(out, members)
    elif kind == "entry manifest edited":
        manifest = json.loads(members[e + "manifest.json"])
        manifest["files"]["history.json"]["sha256"] = "0" * 64
        members[e + "manifest.json"] = json.dumps(manifest).encode()
        write_members(out, members)
    elif kind == "duplicate member":
        write_members(out, [*members.items(), (e + "history.json", b"{}")])
    elif kind == "not a zip file":
        out.write_text("this is not a zip file\n" * 10)
    elif kind == "empty file":
        out.write_bytes(b"")
    else:
        raise AssertionError(kind)
    return out


BAD = {
    "flipped byte in weights.npz": "damaged",
    "weights.npz changed, zip CRC recomputed": "fails its checksum",
    "truncated zip": "truncated or damaged",
    "zip directory cut": "truncated or damaged",
    "member ../evil": "outside its entry folders",
    "member entry/../../evil": "outside its entry folders",
    "absolute member": "outside its entry folders",
    "hidden member": "outside its entry folders",
    "entry named ..": "outside its entry folders",
    "forged config (lambda changed, manifests re-signed)": "does not match its name and key",
    "forged config (lambda and key changed, manifests re-signed)": "does not match its name and key",
    "weights of the wrong shape, re-signed": "does not fit its config",
    "object array in an analysis .npz, re-signed": "holds Python objects",
    "wrong bundle format": "bundle format 2",
    "wrong cache format": "cache format 99",
    "bundle.json not JSON": "not valid JSON",
    "bundle.json of the wrong shape": "does not list its entries",
    "no bundle.json": "has no bundle.json",
    "missing member": "is missing",
    "extra member": "does not list",
    "member larger than its manifest says": "not the size its manifest says",
    "entry manifest edited": "fails its checksum",
    "duplicate member": "twice",
    "not a zip file": "not a zip file",
    "empty file": "is empty",
}


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_bundle_is_refused_and_nothing_is_written(source, target, tmp_path, kind):
    _, keys, bundle = source
    bad = tamper(kind, bundle, tmp_path / "bad.zip", keys[0].name)
    before = snapshot(target.root)
    with pytest.raises(BundleError, match=BAD[kind]) as err:
        import_bundle(target, bad)
    message = str(err.value)
    assert "\n" not in message and message.endswith(".")
    assert snapshot(target.root) == before
    # and into a cache that does not exist yet: it is not even created
    with pytest.raises(BundleError):
        import_bundle(ModelStore(tmp_path / "none"), bad)
    assert not (tmp_path / "none").exists()


def test_a_bundle_cut_anywhere_is_refused(source, target, tmp_path):
    _, _, bundle = source
    raw = bundle.read_bytes()
    before = snapshot(target.root)
    for cut in sorted({*range(0, len(raw), max(1, len(raw) // 40)), len(raw) - 22, len(raw) - 1}):
        (tmp_path / "cut.zip").write_bytes(raw[:cut])
        with pytest.raises(BundleError, match="empty|truncated or damaged"):
            import_bundle(target, tmp_path / "cut.zip")
    assert snapshot(target.root) == before


def test_a_zip_bomb_is_refused_before_inflating(source, target, tmp_path, monkeypatch):
    _, keys, bundle = source
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{keys[0].name}/weights.npz", b"\0" * (64 << 20))  # 64 MiB of zeros: 64 KiB deflated
        zf.writestr(BUNDLE_MANIFEST, read_members(bundle)[BUNDLE_MANIFEST])
    monkeypatch.setattr(bundle_mod, "MAX_TOTAL_BYTES", 32 << 20)
    before = snapshot(target.root)
    with pytest.raises(BundleError, match="would inflate to"):
        import_bundle(target, bomb)
    assert snapshot(target.root) == before


# -------------------------------------------------------------------- CLI
def test_cli_export_then_import(source, tmp_path, capsys):
    store, keys, _ = source
    out = tmp_path / "grid.zip"
    assert main(["export", str(out), "--cache-dir", str(store.root)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"3 entries from {store.root} written to {out} (") and captured.err == ""
    new = tmp_path / "new"
    assert main(["import", str(out), "--cache-dir", str(new)]) == 0
    assert capsys.readouterr().out.startswith(f"3 entries in {out}: 3 installed, 0 replaced")
    assert main(["import", str(out), "--cache-dir", str(new)]) == 0
    assert "0 installed, 0 replaced (damaged or different here), 3 already there" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["truncated zip", "forged config (lambda changed, manifests re-signed)", "empty file"])
def test_cli_refuses_a_bad_bundle_in_one_line(source, target, tmp_path, capsys, kind):
    _, keys, bundle = source
    bad = tamper(kind, bundle, tmp_path / "bad.zip", keys[0].name)
    before = snapshot(target.root)
    assert main(["import", str(bad), "--cache-dir", str(target.root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert snapshot(target.root) == before


def test_cli_export_of_an_empty_cache(tmp_path, capsys):
    out = tmp_path / "grid.zip"
    assert main(["export", str(out), "--cache-dir", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "holds no complete entries to export" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_export_into_a_missing_folder(source, tmp_path, capsys):
    store, _, _ = source
    assert main(["export", str(tmp_path / "no" / "grid.zip"), "--cache-dir", str(store.root)]) == 2
    assert "does not exist" in capsys.readouterr().err
