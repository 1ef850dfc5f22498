"""Carry a prepared grid to another machine: the cache's complete entries in one zip file.

    python -m core export grid.zip     # on the machine that prepared the grid
    python -m core import grid.zip     # on the demo machine

A bundle is a plain zip file, its members deflated at level 1 (see `COMPRESS_LEVEL`):

    grid.zip
        lk0_la0_3f9c2a7e01b4/manifest.json    one folder per cache entry, each file
        lk0_la0_3f9c2a7e01b4/config.json      exactly as in the cache (whatever the
        lk0_la0_3f9c2a7e01b4/weights.npz      entry's manifest lists: model files,
        lk0_la0_3f9c2a7e01b4/...              analysis files)
        lk1e-05_la0_0b1d6c2f9a33/...
        bundle.json                           the bundle manifest, at the top level

bundle.json says what the bundle is and what it holds:

    {"bundle_format": 1, "cache_format": 1, "created": "2025-...",
     "libraries": {"numpy": ..., ...}, "python": "3.11.7",
     "entries": [{"name": "lk0_la0_3f9c2a7e01b4", "manifest_sha256": "..."}, ...]}

It is written last, as the store writes an entry's manifest last; the zip itself
is written to a temporary file beside its destination and moved into place with
`os.replace`, so `grid.zip` is either absent, the old file, or complete.

Guarantees:

* Export copies only complete, intact entries, each read through the store
  (`ModelStore.read_entry_files`, which checks every checksum) and put through
  the same checks as import; a damaged or incompatible entry is skipped with a
  one-line note, so an exported bundle is always one that import accepts.
* Import checks everything before it writes anything: the zip opens and is
  whole; bundle.json has the expected shape and format versions; every entry
  name is a plain folder name and every member lies in a listed entry folder
  (no `..`, no absolute paths, no hidden names, no duplicates, no extra files);
  the uncompressed size is bounded (`MAX_TOTAL_BYTES`, checked on the sizes
  the zip declares before anything is inflated, and each member is read no
  further than its declared size); every member's size and SHA-256 match its
  entry's manifest, and every entry manifest's SHA-256 matches bundle.json;
  each entry's config.json recomputes to the hash in its name and its `key`
  (so an edited config, even with checksums re-signed, is refused); every
  .npz loads with allow_pickle=False (no object arrays) and weights.npz has
  the shapes of its config; every .json parses. A bundle that fails any check
  is refused with one sentence (`BundleError`) and the cache is left exactly
  as it was.
* Only then is each entry installed with `ModelStore.install_entry` (a hidden
  folder renamed into place: a crash leaves the old entry or the new one,
  never a mix). An entry already present with the same bytes is left alone
  ("already there"); a damaged or different one is replaced by the bundle's;
  one that a live process is training right now is left alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import platform
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.config import ConfigError, ModelConfig, TrainConfig
from core.model import check_weights
from core.store import (
    CONFIG_FILE,
    FORMAT_VERSION,
    HISTORY_FILE,
    MANIFEST_FILE,
    MODEL_FILES,
    WEIGHTS_FILE,
    EntryKey,
    LockBusy,
    ModelStore,
    StoreError,
    entry_digest,
    library_versions,
)

BUNDLE_FORMAT = 1
BUNDLE_MANIFEST = "bundle.json"
# Measured on 4 real MNIST entries (11.5 MB, 2 of them analysed): stored 11.55 MB, export 0.11 s;
# deflate level 1 7.74 MB (-33%: the analyses' uint8 images and int8 labels shrink by half or
# more, the float32 weights by 6%), export 0.34 s, import 0.40 s instead of 0.21 s; level 6
# 7.61 MB for 0.54 s. A third smaller for a few seconds per grid is worth it for a file
# carried on a stick or over a network; a higher level is not.
COMPRESSION = zipfile.ZIP_DEFLATED
COMPRESS_LEVEL = 1
# refuse bundles that would inflate to more than this (a 50-cell analysed grid is far below)
MAX_TOTAL_BYTES = 4 << 30
MAX_JSON_BYTES = 16 << 20  # bundle.json and each entry's manifest.json
# a cache entry or file name: letters, digits and . _ + - ; never hidden, never a path
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BundleError(Exception):
    """The bundle cannot be written or read; the message is one sentence for the user."""


@dataclass
class ExportReport:
    path: Path
    entries: list[str]
    size: int  # bytes of the zip file
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, why)


@dataclass
class ImportReport:
    installed: list[str] = field(default_factory=list)  # new in this cache
    replaced: list[str] = field(default_factory=list)  # were damaged or different
    already: list[str] = field(default_factory=list)  # the same bytes were there
    busy: list[str] = field(default_factory=list)  # being trained here right now: left alone
    other_libraries: dict[str, dict[str, str]] = field(default_factory=dict)  # entry -> its libraries

    @property
    def total(self) -> int:
        return len(self.installed) + len(self.replaced) + len(self.already) + len(self.busy)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_int(value: Any, expected: int) -> bool:
    return type(value) is int and value == expected


def _is_safe_name(name: Any) -> bool:
    return isinstance(name, str) and _SAFE_NAME.fullmatch(name) is not None


# ------------------------------------------------------------ entry checks
class _Budget:
    """Bytes that may still be inflated; every member and every array inside an .npz takes from it."""

    def __init__(self, limit: int):
        self.left = limit

    def take(self, n: int, what: str) -> None:
        if n < 0 or n > self.left:
            raise BundleError(
                f"{what} would inflate the bundle beyond {MAX_TOTAL_BYTES / 2**30:g} GiB, so it is refused."
            )
        self.left -= n


def _load_npz(data: bytes, what: str, budget: _Budget) -> dict[str, np.ndarray]:
    """The arrays of an .npz, loaded with allow_pickle=False after checking every header's size."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                budget.take(info.file_size, what)
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"unsupported .npy version {version}")
                if dtype.hasobject:
                    raise ValueError(f"{info.filename} holds Python objects")
                if math.prod(shape) * dtype.itemsize > info.file_size:
                    raise ValueError(f"{info.filename} declares more data than it holds")
        with np.load(io.BytesIO(data), allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except BundleError:
        raise
    except Exception as e:  # noqa: BLE001 - any damage means "refused"
        raise BundleError(f"{what} is not a readable .npz file ({e}).") from None


def check_entry(name: str, files: dict[str, bytes], budget: _Budget | None = None) -> dict[str, Any]:
    """Check one entry's contents (its checksums are checked by the caller); return its config.

    BundleError unless: the name is a plain folder name, the model files are there,
    config.json is of this cache format and recomputes to the hash in the name and in
    its `key`, every .npz loads without pickles, weights.npz fits the config and every
    .json parses.
    """
    budget = budget or _Budget(MAX_TOTAL_BYTES)
    if not _is_safe_name(name):
        raise BundleError(f"{name!r} is not a cache entry name, so the bundle is refused.")
    for fname in MODEL_FILES:
        if fname not in files:
            raise BundleError(f"entry {name} has no {fname}.")
    try:
        config = json.loads(files[CONFIG_FILE])
        if not isinstance(config, dict):
            raise TypeError("not an object")
        fmt = config.get("format")
        if fmt != FORMAT_VERSION:
            raise BundleError(
                f"entry {name} was made for cache format {fmt!r} and this version reads format {FORMAT_VERSION}."
            )
        digest, model = entry_digest(config)
    except BundleError:
        raise
    except (ValueError, KeyError, TypeError, ConfigError) as e:
        raise BundleError(f"entry {name} has an unreadable config.json ({e}).") from None
    expected = f"lk{model.lambda_k:.4g}_la{model.lambda_a:.4g}_{digest}"
    if config.get("key") != digest or name != expected:
        raise BundleError(f"entry {name}'s config.json does not match its name and key (edited or forged).")
    for fname, data in files.items():
        what = f"{name}/{fname}"
        if fname.endswith(".npz"):
            arrays = _load_npz(data, what, budget)
            if fname == WEIGHTS_FILE:
                try:
                    check_weights(arrays, model)
                except ValueError as e:
                    raise BundleError(f"{what} does not fit its config ({e}).") from None
        elif fname.endswith(".json"):
            try:
                json.loads(data)
            except ValueError:
                raise BundleError(f"{what} is not valid JSON.") from None
    if not isinstance(json.loads(files[HISTORY_FILE]), dict):  # it parses: checked just above
        raise BundleError(f"{name}/{HISTORY_FILE} is not a training history.")
    return config


def _entry_manifest(name: str, data: bytes) -> dict[str, dict[str, Any]]:
    """The `files` of an entry's manifest.json, each a safe name with an int size and a SHA-256."""
    try:
        manifest = json.loads(data)
        files = manifest["files"]
        fmt = manifest["format"]
    except (ValueError, KeyError, TypeError):
        raise BundleError(f"entry {name} has an unreadable manifest.json.") from None
    if fmt != FORMAT_VERSION:
        raise BundleError(
            f"entry {name} was made for cache format {fmt!r} and this version reads format {FORMAT_VERSION}."
        )
    if not isinstance(files, dict) or not files:
        raise BundleError(f"entry {name} has an unreadable manifest.json.")
    for fname, meta in files.items():
        if not _is_safe_name(fname) or fname == MANIFEST_FILE:
            raise BundleError(f"entry {name}'s manifest lists {fname!r}, which is not a cache file name.")
        if (
            not isinstance(meta, dict)
            or not isinstance(meta.get("size"), int)
            or isinstance(meta.get("size"), bool)
            or meta["size"] < 0
            or not isinstance(meta.get("sha256"), str)
            or not _SHA256.fullmatch(meta["sha256"])
        ):
            raise BundleError(f"entry {name}'s manifest has no valid size and checksum for {fname}.")
    return files


# ------------------------------------------------------------------ export
def export_bundle(store: ModelStore, path: str | os.PathLike) -> ExportReport:
    """Write every complete, intact entry of `store` into the zip file `path` (atomically).

    BundleError if there is nothing to export or `path` cannot be written.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise BundleError(f"{path} is a folder; give the name of the zip file to write, e.g. {path / 'grid.zip'}.")
    if not path.parent.is_dir():
        raise BundleError(f"the folder {path.parent} does not exist, so {path.name} cannot be written there.")
    # every entry folder's name (change_token lists the folder and opens nothing); each is then
    # read through read_entry_files, which says in a few words why a damaged one cannot be copied
    names = sorted({item[0] for item in store.change_token()})
    skipped: dict[str, str] = {}
    if not names:
        raise BundleError(
            f"the cache folder {store.root} holds no complete entries to export (run `python -m core prepare` first)."
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise BundleError(f"{path} cannot be written ({e.strerror or e}).") from None
    entries: list[dict[str, str]] = []
    try:
        with os.fdopen(fd, "wb") as raw:
            os.fchmod(raw.fileno(), 0o644)  # mkstemp makes 0600; a bundle is meant to be carried and shared
            with zipfile.ZipFile(raw, "w", allowZip64=True) as zf:  # each member says how it is compressed
                for name in names:
                    try:
                        files = store.read_entry_files(name)
                        _entry_manifest(name, files[MANIFEST_FILE])
                        check_entry(name, {k: v for k, v in files.items() if k != MANIFEST_FILE})
                    except StoreError as e:
                        skipped[name] = str(e).removeprefix(f"cache entry {name} cannot be copied: ").rstrip(".")
                        continue
                    except BundleError as e:
                        skipped[name] = str(e).rstrip(".")
                        continue
                    for fname, data in files.items():  # the manifest comes last
                        _write_member(zf, f"{name}/{fname}", data)
                    entries.append({"name": name, "manifest_sha256": _sha256(files[MANIFEST_FILE])})
                if not entries:
                    raise BundleError(
                        f"the cache folder {store.root} holds no complete entries to export "
                        f"({len(skipped)} damaged or incomplete; run `python -m core prepare` to redo them)."
                    )
                bundle = {
                    "bundle_format": BUNDLE_FORMAT,
                    "cache_format": FORMAT_VERSION,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "libraries": library_versions(),
                    "python": platform.python_version(),
                    "entries": entries,
                }
                _write_member(zf, BUNDLE_MANIFEST, json.dumps(bundle, indent=1, sort_keys=True).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise BundleError(f"{path} cannot be written ({e.strerror or e}).") from None
        raise
    return ExportReport(path, [e["name"] for e in entries], path.stat().st_size, sorted(skipped.items()))


def _write_member(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.external_attr = 0o644 << 16  # a plain file, readable by everyone (as in the cache)
    zf.writestr(info, data, compress_type=COMPRESSION, compresslevel=COMPRESS_LEVEL)


# ------------------------------------------------------------------ import
@dataclass
class _Entry:
    name: str
    manifest_sha256: str
    files: dict[str, dict[str, Any]]  # its manifest's files (name -> size, sha256)
    config: dict[str, Any]


class _Reader:
    """An open bundle whose structure (names, sizes, bundle.json, entry manifests) has been checked."""

    def __init__(self, path: Path):
        self.path = path
        self.label = path.name
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise IsADirectoryError
        except OSError:
            raise BundleError(f"{path} does not exist or is not a file.") from None
        if size == 0:
            raise BundleError(f"{self.label} is empty, not a bundle (was its copy interrupted?).")
        try:
            with open(path, "rb") as f:
                magic = f.read(4)
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
            if magic == b"PK\x03\x04":
                raise BundleError(f"{self.label} is truncated or damaged (its zip directory is unreadable).") from None
            raise BundleError(f"{self.label} is not a bundle (not a zip file).") from None
        except OSError as e:
            raise BundleError(f"{path} cannot be read ({e.strerror or e}).") from None
        # A bundle's first member starts at byte 0. A truncated bundle can still open as a zip:
        # the zip reader then finds the directory of an .npz stored inside it, which starts later.
        if not self.zf.infolist():
            self.zf.close()
            raise BundleError(f"{self.label} is an empty zip file, not a bundle.")
        if min(i.header_offset for i in self.zf.infolist()) != 0:
            self.zf.close()
            raise BundleError(f"{self.label} is truncated or damaged (its zip directory is not the bundle's).")
        self.budget = _Budget(MAX_TOTAL_BYTES)

    def close(self) -> None:
        self.zf.close()

    def read(self, name: str, size: int | None = None) -> bytes:
        """The bytes of member `name`, read no further than `size` (default: its declared size)."""
        info = self.infos[name]
        limit = info.file_size if size is None else size
        try:
            with self.zf.open(info) as f:
                data = f.read(limit + 1)
        except Exception as e:  # noqa: BLE001 - bad CRC, bad deflate stream, encrypted...
            raise BundleError(f"{self.label} is damaged: {name} cannot be read ({e}).") from None
        if len(data) != info.file_size or len(data) > limit:
            raise BundleError(f"{self.label} is damaged: {name} is not the size its zip directory says.")
        return data

    def check_structure(self) -> list[_Entry]:
        """Check member names, sizes, bundle.json and every entry manifest; return the entries."""
        self.infos: dict[str, zipfile.ZipInfo] = {}
        folders = set()  # `zip -r` also stores each folder, empty: allowed (for listed entries)
        for info in self.zf.infolist():
            name = info.filename
            if name in self.infos or name in folders:
                raise BundleError(f"{self.label} holds {name!r} twice, so it is refused.")
            parts = name.split("/")
            if len(parts) == 2 and parts[1] == "" and _is_safe_name(parts[0]) and info.file_size == 0:
                folders.add(name)
                continue
            if name != BUNDLE_MANIFEST and not (len(parts) == 2 and all(_is_safe_name(p) for p in parts)):
                raise BundleError(f"{self.label} holds {name!r}, which is outside its entry folders, so it is refused.")
            if info.flag_bits & 0x1:
                raise BundleError(f"{self.label} holds an encrypted member ({name}), so it is refused.")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise BundleError(f"{self.label} holds {name} compressed in a way bundles never are.")
            self.infos[name] = info
        total = sum(i.file_size for i in self.infos.values())
        if total > MAX_TOTAL_BYTES:
            raise BundleError(
                f"{self.label} would inflate to {total / 2**30:.1f} GiB, more than the "
                f"{MAX_TOTAL_BYTES / 2**30:g} GiB a bundle may hold, so it is refused."
            )
        if BUNDLE_MANIFEST not in self.infos:
            raise BundleError(f"{self.label} has no {BUNDLE_MANIFEST}: it is not a bundle, or it is incomplete.")
        if self.infos[BUNDLE_MANIFEST].file_size > MAX_JSON_BYTES:
            raise BundleError(f"{self.label}'s {BUNDLE_MANIFEST} is too large to be a bundle manifest.")
        bundle = self._bundle_manifest(self.read(BUNDLE_MANIFEST))
        listed = {e["name"] for e in bundle["entries"]}
        for name in [*self.infos, *folders]:
            if name != BUNDLE_MANIFEST and name.split("/")[0] not in listed:
                raise BundleError(
                    f"{self.label} holds {name!r}, which is outside its listed entries, so it is refused."
                )
        entries = []
        for e in bundle["entries"]:
            name = e["name"]
            member = f"{name}/{MANIFEST_FILE}"
            if member not in self.infos:
                raise BundleError(f"{self.label} is missing {member}.")
            if self.infos[member].file_size > MAX_JSON_BYTES:
                raise BundleError(f"{self.label}'s {member} is too large to be a manifest.")
            data = self.read(member)
            if _sha256(data) != e["manifest_sha256"]:
                raise BundleError(
                    f"{self.label} is damaged or edited: {member} fails its checksum in {BUNDLE_MANIFEST}."
                )
            files = _entry_manifest(name, data)
            wanted = {f"{name}/{f}" for f in files} | {member}
            present = {n for n in self.infos if n.startswith(f"{name}/")}
            if present - wanted:
                extra = sorted(present - wanted)[0]
                raise BundleError(f"{self.label} holds {extra}, which its entry's manifest does not list.")
            if wanted - present:
                raise BundleError(f"{self.label} is missing {sorted(wanted - present)[0]}.")
            for fname, meta in files.items():
                if self.infos[f"{name}/{fname}"].file_size != meta["size"]:
                    raise BundleError(
                        f"{self.label} is damaged or edited: {name}/{fname} is not the size its manifest says."
                    )
            entries.append(_Entry(name, e["manifest_sha256"], files, {}))
        return entries

    def _bundle_manifest(self, data: bytes) -> dict[str, Any]:
        what = f"{self.label}'s {BUNDLE_MANIFEST}"
        try:
            bundle = json.loads(data)
        except ValueError:
            raise BundleError(f"{what} is not valid JSON (the bundle is damaged).") from None
        if not isinstance(bundle, dict) or "bundle_format" not in bundle:
            raise BundleError(f"{what} is not a bundle manifest.")
        if not _is_int(bundle["bundle_format"], BUNDLE_FORMAT):
            raise BundleError(
                f"{self.label} is bundle format {bundle['bundle_format']!r} and this version reads "
                f"format {BUNDLE_FORMAT}; export it again with this version."
            )
        if not _is_int(bundle.get("cache_format"), FORMAT_VERSION):
            raise BundleError(
                f"{self.label} holds cache format {bundle.get('cache_format')!r} and this version reads "
                f"format {FORMAT_VERSION}; export it again with this version."
            )
        entries = bundle.get("entries")
        if not isinstance(entries, list) or not all(
            isinstance(e, dict)
            and isinstance(e.get("name"), str)
            and isinstance(e.get("manifest_sha256"), str)
            and _SHA256.fullmatch(e["manifest_sha256"])
            for e in entries
        ):
            raise BundleError(f"{what} does not list its entries properly.")
        for e in entries:
            if not _is_safe_name(e["name"]):
                raise BundleError(
                    f"{self.label} lists {e['name']!r}, which is not a cache entry name, so it is refused."
                )
        names = [e["name"] for e in entries]
        if len(set(names)) != len(names):
            raise BundleError(f"{what} lists an entry twice.")
        if not entries:
            raise BundleError(f"{self.label} holds no entries.")
        return bundle

    def entry_files(self, entry: _Entry) -> dict[str, bytes]:
        """Every file of `entry` (manifest last), each checked against the checksums already checked."""
        out = {}
        for fname, meta in sorted(entry.files.items()):
            data = self.read(f"{entry.name}/{fname}", meta["size"])
            if _sha256(data) != meta["sha256"]:
                raise BundleError(f"{self.label} is damaged or edited: {entry.name}/{fname} fails its checksum.")
            out[fname] = data
        manifest = self.read(f"{entry.name}/{MANIFEST_FILE}")
        if _sha256(manifest) != entry.manifest_sha256:
            raise BundleError(f"{self.label} changed while it was being read.")
        out[MANIFEST_FILE] = manifest
        return out


def import_bundle(store: ModelStore, path: str | os.PathLike) -> ImportReport:
    """Check the bundle at `path` completely, then install its entries into `store`.

    Nothing is written unless every check passes (BundleError otherwise). The entries
    are read twice, once to check and once to install, so that only one entry is in
    memory at a time; the second read is held to the checksums the first one checked.
    """
    reader = _Reader(Path(path).expanduser())
    report = ImportReport()
    try:
        entries = reader.check_structure()
        for entry in entries:
            files = reader.entry_files(entry)
            del files[MANIFEST_FILE]  # checked by check_structure
            entry.config = check_entry(entry.name, files, reader.budget)
        # ------------------------------------------- every check passed: write
        store.ensure_writable()
        here = library_versions()
        for entry in entries:
            config = entry.config
            if config["libraries"] != here:
                report.other_libraries[entry.name] = config["libraries"]
            files = reader.entry_files(entry)
            existed = (store.root / entry.name).is_dir()
            if existed:
                with contextlib.suppress(StoreError):
                    if store.read_entry_files(entry.name) == files:
                        report.already.append(entry.name)
                        continue
            key = EntryKey(
                ModelConfig.from_dict(config["model"]),
                TrainConfig.from_dict(config["train"]),
                config["data_fingerprint"],
            )
            # a key made here names the same folder only if this machine has the same libraries;
            # otherwise no process here trains into that folder, and there is no lock to take
            lock = store.lock(key) if key.name == entry.name else contextlib.nullcontext()
            try:
                with lock:
                    store.install_entry(entry.name, files)
            except LockBusy:
                report.busy.append(entry.name)
                continue
            (report.replaced if existed else report.installed).append(entry.name)
    finally:
        reader.close()
    return report


def describe_other_libraries(report: ImportReport) -> str | None:
    """One sentence if some imported entries were made with library versions other than this machine's."""
    if not report.other_libraries:
        return None
    here = library_versions()
    diffs = sorted(
        {
            f"{lib} {theirs.get(lib, 'absent')} (here {version})"
            for theirs in report.other_libraries.values()
            for lib, version in here.items()
            if theirs.get(lib) != version
        }
    )
    n = len(report.other_libraries)
    return (
        f"note: {n} {'entry was' if n == 1 else 'entries were'} made with other library versions "
        f"({', '.join(diffs)}): the dashboard shows them, but `python -m core prepare` here trains those cells anew."
    )
