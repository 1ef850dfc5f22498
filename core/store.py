"""The models cache: the only module that reads or writes files in `models_cache/`.

One entry (a folder) per trained model, keyed by a hash of the model config,
the training config, the data fingerprint, the cache format version and the
versions of the libraries that change the numbers:

    models_cache/lk1.111e-05_la0_3f9c2a7e01b4/
        config.json          what was trained, on which data, with which libraries
        history.json         per-epoch losses, epochs, seconds, finished_at
        weights.npz          W1 b1 W2 b2 (float32; read with allow_pickle=False)
        analysis_fast.npz    the analysis's fast stage (core.schema), once computed
        analysis_fast.json   its scalars and settings
        analysis_slow.npz    the slow stage (t-SNE maps, K-means silhouettes)
        analysis_slow.json
        snapshots.npz        W1 and 20 test digits at log-spaced epochs (core.schema), compressed;
                             optional: entries trained before it was recorded have none
        manifest.json        size and SHA-256 of every file above; written last

Every file is written to a temporary name in the same folder and moved into
place with `os.replace`, and the manifest comes last, so an entry is
complete exactly when its manifest is present and every checksum matches.
Anything else (a killed writer, a truncated or edited file) raises
`EntryDamaged` with the reason, is logged once and treated as missing, never
returned. Each analysis stage is checked on its own: a damaged or missing
slow stage never hides the fast one, and a damaged stage is recomputed
without retraining the model. The training snapshots are checked on their
own too (`load_snapshots`): without them, or with a damaged file, the entry
stays valid and only the snapshots are unavailable.

Beside the entries, the store owns the files that coordinate work on the cache:

    <entry>.lock            who trains/analyses that entry (pid, host), touched as a heartbeat
    <entry>.progress.json   that work's live progress (and the epochs' losses so far)
    .job.lock / .job.json   the one preparation job of this cache, its state and heartbeat
    .job-requests/          cells that sessions asked the running job for, one file each
    .job-stop               asks the running job to stop
    .job.log                the job's output
    .checked.json           contents (by SHA-256) whose arrays passed the listing's check

Reading the grid is cheap: `index()` reads each entry's small JSON files and
checks its model's checksums once per file version (remembered by size and
modification time), and `change_token()` only lists the folder. Loading an
entry's arrays to check their names, types and shapes (so that the listing
never lists an entry the loader would refuse) is done once per file content
for the whole cache, not once per process: a file whose SHA-256, verified
against its manifest in this process, is in .checked.json passed that very
check before, in some process, and is not loaded again. (Its checksum is
still computed once per process: a file damaged since is caught.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from core.config import ModelConfig, TrainConfig
from core.model import check_weights, weight_shapes
from core.schema import (
    ANALYSIS_VERSION,
    META_TYPES,
    SNAP_EPOCHS,
    STAGES,
    Snapshots,
    Stage,
    snapshot_arrays_problem,
    stage_arrays_problem,
)

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
ENV_VAR = "MODELS_CACHE"
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "models_cache"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"
MODEL_FILES = (WEIGHTS_FILE, CONFIG_FILE, HISTORY_FILE)
# (arrays, scalars) of each analysis stage
STAGE_FILES: dict[Stage, tuple[str, str]] = {s: (f"analysis_{s}.npz", f"analysis_{s}.json") for s in STAGES}
LEGACY_ANALYSIS_FILES = ("analysis.npz", "analysis.json")  # one-stage analyses before version 3
SNAPSHOTS_FILE = "snapshots.npz"  # the training snapshots (optional, see load_snapshots)
SnapshotStatus = str  # "present", "absent" (trained before they were recorded) or "damaged"
LOCK_SUFFIX = ".lock"
PROGRESS_SUFFIX = ".progress.json"
JOB_LOCK = ".job.lock"
JOB_FILE = ".job.json"
JOB_REQUESTS = ".job-requests"
JOB_STOP = ".job-stop"
JOB_LOG = ".job.log"
# A lock, progress file or job whose heartbeat is older than this is stale, whoever holds it: a
# worker touches its lock at least every epoch and every analysis step (seconds apart), so
# this is far longer than any pause of a live one, and a reused pid after a restart cannot hold it.
STALE_LOCK_SECONDS = 15 * 60
# The job's coordinator writes its state every second; this long without it, the job is gone.
STALE_JOB_SECONDS = 30
NUMERIC_LIBRARIES = ("tensorflow", "keras", "numpy")
# For tests only: a process about to move a file of this name into place kills its process group
# (the command, its workers) with SIGKILL instead, as a crash or `kill -9` would at that moment.
KILL_BEFORE_VAR = "SAE_KILL_BEFORE_WRITING"


class StoreError(Exception):
    """The cache folder cannot be used; the message is one sentence for the user."""


class LockBusy(Exception):
    """Another live process holds the lock of this entry."""


class JobBusy(Exception):
    """Another live preparation job works on this cache; `holder` is its job state."""

    def __init__(self, holder: dict[str, Any]):
        super().__init__(f"a preparation job (process {holder.get('pid')} on {holder.get('host')}) is running")
        self.holder = holder


class EntryDamaged(Exception):
    """An entry, or one analysis stage of it, is not complete and intact.

    Args:
        name: the entry's folder name.
        reason: what is wrong, in a few words ("weights.npz fails its checksum ...").
    """

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


def library_versions() -> dict[str, str]:
    """Versions of the libraries that change trained numbers, without importing them."""
    out = {}
    for name in NUMERIC_LIBRARIES:
        for dist in (name, f"{name}-cpu"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                out[name] = metadata.version(dist)
                break
        else:
            out[name] = "absent"
    return out


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# (path, size, mtime_ns) -> sha256: a file is hashed once per version, not on every listing
_HASHED: dict[tuple[str, int, int, int], str] = {}


def _sha256_once(path: Path, st: os.stat_result) -> str:
    """The file's SHA-256, remembered by (path, size, mtime, inode).

    Only files last modified more than a second ago are remembered: file times tick in
    milliseconds, so a change right after hashing could otherwise keep the same time.
    """
    k = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if k in _HASHED:
        return _HASHED[k]
    digest = sha256_file(path)
    if time.time() - st.st_mtime > 1.0:
        if len(_HASHED) > 10_000:
            _HASHED.clear()
        _HASHED[k] = digest
    return digest


@dataclass(frozen=True)
class EntryKey:
    """What identifies one cache entry."""

    model: ModelConfig
    train: TrainConfig
    data_fingerprint: str

    def identity(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "model": self.model.to_dict(),
            "train": self.train.to_dict(),
            "data_fingerprint": self.data_fingerprint,
            "libraries": library_versions(),
        }

    @property
    def digest(self) -> str:
        return hashlib.sha256(canonical_json(self.identity()).encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        """Folder name: readable lambdas, then the hash that makes it unique."""
        return f"lk{self.model.lambda_k:.4g}_la{self.model.lambda_a:.4g}_{self.digest}"


@dataclass
class CachedModel:
    """A complete, verified entry."""

    path: Path
    config: dict[str, Any]
    history: dict[str, Any]
    weights: dict[str, np.ndarray]

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.config["model"])

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config["train"])

    @property
    def key(self) -> EntryKey:
        return EntryKey(self.model_config, self.train_config, self.config["data_fingerprint"])

    @property
    def cell(self) -> tuple[float, float]:
        return (self.config["model"]["lambda_k"], self.config["model"]["lambda_a"])


@dataclass(frozen=True)
class IndexEntry:
    """One intact entry as the grid's listing sees it: its small JSON files, no arrays.

    Args:
        name: the folder name.
        config, history: config.json and history.json.
        stages: each analysis stage's scalars (its JSON) when that stage is present and intact.
        damaged_stages: stage -> why it cannot be used (it will be recomputed).
    """

    name: str
    config: dict[str, Any]
    history: dict[str, Any]
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    damaged_stages: dict[str, str] = field(default_factory=dict)

    @property
    def cell(self) -> tuple[float, float]:
        return (float(self.config["model"]["lambda_k"]), float(self.config["model"]["lambda_a"]))

    @property
    def key(self) -> EntryKey:
        return EntryKey(
            ModelConfig.from_dict(self.config["model"]),
            TrainConfig.from_dict(self.config["train"]),
            self.config["data_fingerprint"],
        )

    def stage(self, stage: Stage, version: int, config: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """That stage's scalars if it was made with `version` (and `config`, if given), else None."""
        meta = self.stages.get(stage)
        if meta is None or meta.get("version") != version:
            return None
        if config is not None and meta.get("config") != config:
            return None
        return meta


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; cache files are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.environ.get(KILL_BEFORE_VAR) == path.name:  # fault injection (tests/test_faults.py)
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# A temporary file of `_write_atomic` lives for the milliseconds of one write; one this old was
# left by a writer that was killed (a crash, kill -9, the OOM killer) and will never be moved into place.
ABANDONED_TEMPORARY_SECONDS = 60.0


def _remove_abandoned_temporaries(folder: Path) -> None:
    """Remove the temporary files that killed writers left in `folder` (by age: the folder may be shared)."""
    for tmp in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if _age(tmp) > ABANDONED_TEMPORARY_SECONDS:
                tmp.unlink()


def _checksums(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()}


def _npz_bytes(arrays: dict[str, np.ndarray], compressed: bool = False) -> bytes:
    import io

    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return buf.getvalue()


_NPZ_ERRORS = (OSError, ValueError, EOFError, MemoryError, KeyError, RuntimeError, zipfile.BadZipFile, zlib.error)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz, never a pickle; ValueError (with the reason) on any damage."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if not isinstance(f, np.lib.npyio.NpzFile):  # a bare .npy array
                raise ValueError("not an .npz")
            return {k: f[k] for k in f.files}
    except _NPZ_ERRORS as e:  # a bogus header may ask for terabytes; a bad zip, a bad CRC
        raise ValueError(f"{path.name} is unreadable ({type(e).__name__})") from None


# (path, size, mtime_ns, inode, what) of a file whose contents passed their check: like _HASHED,
# each version of a file is loaded and checked once, so listing the cache again stays cheap
_CHECKED: set[tuple[str, int, int, int, str]] = set()


# The record of checked contents shared by every process of a cache (CHECKED_FILE): "<sha256> <what>" strings,
# under the versions of the checks that made them. Bump CHECKS_VERSION whenever what `check_weights` or
# `core.schema.stage_arrays_problem` accept changes: older records are then dropped and every file checked anew.
CHECKED_FILE = ".checked.json"
CHECKS_VERSION = 1
_GOOD: dict[str, set[str]] = {}  # cache root -> its record, read once per process and added to
_UNSAVED: set[str] = set()  # the roots whose record has tags not written yet
_GOOD_LOCK = (
    threading.Lock()
)  # two listings may run at once (the server's sessions): a set is not copied while added to


def _checks() -> list[int]:
    return [FORMAT_VERSION, ANALYSIS_VERSION, CHECKS_VERSION]


def _is_tag(tag: str) -> bool:
    digest, _, what = tag.partition(" ")
    return len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) and 0 < len(what) <= 100


def _read_checked(root: Path) -> set[str]:
    """The record of `root`: empty if there is none, it is unreadable, or other checks made it."""
    try:
        data = json.loads((root / CHECKED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # absent, unreadable, not JSON: every file is checked as if new
        return set()
    if not isinstance(data, dict) or data.get("checks") != _checks() or not isinstance(data.get("good"), list):
        return set()
    return {g for g in data["good"] if isinstance(g, str) and _is_tag(g)}


def _good(root: Path) -> set[str]:
    key = str(root)
    with _GOOD_LOCK:
        if key not in _GOOD:
            _GOOD[key] = _read_checked(root)
        return _GOOD[key]


def _checked_once(path: Path, what: str, check) -> None:
    """Run `check()` (which raises EntryDamaged or ValueError) unless this version of `path` passed it before."""
    try:
        st = path.stat()
    except OSError:
        raise ValueError(f"{path.name} is missing") from None
    k = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, what)
    if k in _CHECKED:
        return
    check()
    if time.time() - st.st_mtime > 1.0:  # as in _sha256_once: a file that may still change is checked again
        if len(_CHECKED) > 10_000:
            _CHECKED.clear()
        _CHECKED.add(k)


def entry_digest(config: dict[str, Any]) -> tuple[str, ModelConfig]:
    """The key digest that `config` (an entry's config.json) records for itself, and its model config.

    Computed like `EntryKey.digest`, but from the libraries the config records (those
    of the machine that trained it), not from this machine's: the check is whether the
    config is the one the entry was made from, wherever that was.
    """
    model = ModelConfig.from_dict(config["model"])
    train = TrainConfig.from_dict(config["train"])
    fingerprint, libraries = config["data_fingerprint"], config["libraries"]
    if not isinstance(fingerprint, str) or not isinstance(libraries, dict):
        raise TypeError("data_fingerprint or libraries has the wrong type")
    identity = {
        "format": config["format"],
        "model": model.to_dict(),
        "train": train.to_dict(),
        "data_fingerprint": fingerprint,
        "libraries": libraries,
    }
    # the same dict and hash as EntryKey.identity() and .digest (tests/test_bundle.py holds them equal)
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:12], model


def _history_problem(history: Any) -> str | None:
    """Why `history` (history.json) is not a training history every reader can use, or None."""
    if not isinstance(history, dict):
        return "it is not an object"
    curves = [history.get("loss"), history.get("val_loss")]
    if not all(isinstance(c, list) and c for c in curves) or len(curves[0]) != len(curves[1]):
        return "its loss curves are missing or of different lengths"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) for c in curves for v in c):
        return "its losses are not all finite numbers"
    last = history.get("last_epoch")
    if not isinstance(last, int) or isinstance(last, bool) or last != len(curves[0]) - 1:
        return "its last_epoch does not match its losses"
    return None


def _snapshots_problem(arrays: dict[str, np.ndarray], model: ModelConfig, history: Any) -> str | None:
    """Why `arrays` are not the training snapshots of `model` trained as `history` says, or None."""
    problem = snapshot_arrays_problem(arrays, model.n_hidden, model.n_input)
    if problem is not None:
        return problem
    loss = history.get("loss") if isinstance(history, dict) else None
    if isinstance(loss, list) and int(arrays[SNAP_EPOCHS][-1]) != len(loss):
        return f"its last snapshot, after epoch {int(arrays[SNAP_EPOCHS][-1])}, is not the final model's"
    return None


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def _is_entry(e: os.DirEntry) -> bool:
    return e.is_dir() and not e.name.startswith(".")


def _age(path: Path) -> float:
    return time.time() - path.stat().st_mtime


def _alive(info: dict[str, Any], age: float, stale: float) -> bool:
    """Is the process that wrote `info` (pid, host) `age` seconds ago still at work?"""
    if age >= stale:
        return False
    if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
        return pid_alive(info["pid"])
    return True  # another host (or a half-written file): trust a fresh heartbeat


class ModelStore:
    """The cache folder; see the module docstring for its layout and guarantees."""

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None or str(root) == "":
            root = os.environ.get(ENV_VAR) or DEFAULT_ROOT
        self.root = Path(root).expanduser()
        self._reported: set[tuple[str, str]] = set()

    # ----------------------------------------------------------------- setup
    def ensure_writable(self) -> None:
        """Create the folder if needed; StoreError if it cannot be written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root):
                pass
        except OSError as e:
            raise StoreError(
                f"the cache folder {self.root} cannot be written ({e.strerror or e}); "
                f"pass --cache-dir (or set {ENV_VAR}) to a writable folder."
            ) from None

    def path(self, key: EntryKey) -> Path:
        return self.root / key.name

    def _entry_dirs(self) -> list[os.DirEntry]:
        if not self.root.is_dir():
            return []
        with os.scandir(self.root) as it:
            return sorted((e for e in it if _is_entry(e)), key=lambda e: e.name)

    def _report(self, damage: EntryDamaged, what: str) -> None:
        """Log a damaged entry once per process and reason (a listing runs often)."""
        if (damage.name, damage.reason) not in self._reported:
            self._reported.add((damage.name, damage.reason))
            log.warning("cache entry %s: %s; %s", damage.name, damage.reason, what)

    # ------------------------------------------------------------- integrity
    def _checked(self, path: Path, what: str, check, sha256: Any) -> None:
        """`_checked_once`, skipped for contents (by the SHA-256 that `verify` has just matched) that passed the
        same check before in any process of this cache (CHECKED_FILE); ValueError if the check fails."""
        tag = f"{sha256} {what}"
        good = _good(self.root)
        if tag in good:
            return
        try:
            before = path.stat()
            _checked_once(path, what, check)
            after = path.stat()
        except OSError:
            raise ValueError(f"{path.name} is missing") from None
        same = (before.st_size, before.st_mtime_ns, before.st_ino) == (after.st_size, after.st_mtime_ns, after.st_ino)
        if same and time.time() - after.st_mtime > 1.0:  # as _sha256_once: a settled file only
            with _GOOD_LOCK:
                good.add(tag)
                _UNSAVED.add(str(self.root))

    def _save_checked(self, present: set[str]) -> None:
        """Write the record (CHECKED_FILE) if this process added to it, keeping only contents still in the cache.

        Merged with what other processes wrote meanwhile. A record that cannot be written (a read-only cache)
        only means that the next process checks again.
        """
        key = str(self.root)
        mine = _good(self.root)
        with _GOOD_LOCK:
            if key not in _UNSAVED:
                return
            _UNSAVED.discard(key)
            good = set(mine)
        good |= _read_checked(self.root)
        keep = sorted(g for g in good if g.partition(" ")[0] in present)
        with contextlib.suppress(OSError):
            _write_atomic(self.root / CHECKED_FILE, json.dumps({"checks": _checks(), "good": keep}, indent=0).encode())

    def _manifest(self, entry: Path) -> dict[str, Any]:
        """The manifest's file table; EntryDamaged if there is none or it is unreadable."""
        try:
            files = _read_json(entry / MANIFEST_FILE)["files"]
        except FileNotFoundError:
            raise EntryDamaged(entry.name, "it is incomplete (no manifest: its writer was interrupted)") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise EntryDamaged(entry.name, "its manifest is unreadable") from None
        if not isinstance(files, dict) or not all(isinstance(v, dict) for v in files.values()):
            raise EntryDamaged(entry.name, "its manifest is unreadable")
        return files

    def verify(self, entry: Path, names: tuple[str, ...] = MODEL_FILES, files: dict | None = None) -> None:
        """Check that `entry` holds `names` (the model's files by default) intact; EntryDamaged if not."""
        files = self._manifest(entry) if files is None else files
        for name in names:
            meta = files.get(name)
            if meta is None:
                raise EntryDamaged(entry.name, f"{name} is not in its manifest")
            f = entry / name
            try:
                st = f.stat()
            except OSError:
                raise EntryDamaged(entry.name, f"{name} is missing") from None
            if st.st_size != meta.get("size"):
                raise EntryDamaged(entry.name, f"{name} has the wrong size (truncated or changed)")
            if _sha256_once(f, st) != meta.get("sha256"):
                raise EntryDamaged(entry.name, f"{name} fails its checksum (corrupted or changed)")

    def _check_model(self, entry: Path, files: dict, weights: bool) -> tuple[dict, dict, dict | None]:
        """(config, history, the weights if `weights`) of `entry`'s model; EntryDamaged unless it is usable.

        The one definition of a usable model, for the listing and the loader alike: its files match
        the manifest; config.json is a config whose key recomputes to the entry's name (an edited
        and re-signed config is caught); history.json is a training history; weights.npz loads
        without pickles and fits the config. The weights are loaded once per file version when not asked for.
        """
        self.verify(entry, MODEL_FILES, files)
        try:
            config, history = _read_json(entry / CONFIG_FILE), _read_json(entry / HISTORY_FILE)
            if not isinstance(config, dict):
                raise TypeError("config.json is not an object")
            digest, model = entry_digest(config)
            TrainConfig.from_dict(config["train"])
        except Exception as e:  # noqa: BLE001 - any damage means "not usable"
            raise EntryDamaged(entry.name, f"its contents are unreadable ({e})") from None
        if config.get("key") != digest or entry.name != f"lk{model.lambda_k:.4g}_la{model.lambda_a:.4g}_{digest}":
            raise EntryDamaged(entry.name, "its config.json does not match its name and key (edited or forged)")
        problem = _history_problem(history)
        if problem is not None:
            raise EntryDamaged(entry.name, f"its history.json is not a training history ({problem})")
        loaded: dict[str, dict] = {}

        def load_weights() -> None:
            loaded["w"] = _load_npz(entry / WEIGHTS_FILE)
            check_weights(loaded["w"], model)

        try:
            if weights:
                load_weights()
            else:
                shapes = ",".join(f"{k}{list(v)}" for k, v in sorted(weight_shapes(model).items()))
                self._checked(entry / WEIGHTS_FILE, f"weights {shapes}", load_weights, files[WEIGHTS_FILE]["sha256"])
        except ValueError as e:
            raise EntryDamaged(entry.name, f"its weights are unusable ({e})") from None
        return config, history, loaded.get("w")

    def _stage_meta(self, entry: Path, stage: Stage, files: dict) -> dict[str, Any]:
        """One analysis stage's scalars, its files checked against the manifest; EntryDamaged if unusable."""
        arrays_file, meta_file = STAGE_FILES[stage]
        self.verify(entry, (arrays_file, meta_file), files)
        try:
            meta = _read_json(entry / meta_file)
        except (OSError, ValueError) as e:
            raise EntryDamaged(entry.name, f"{meta_file} is unreadable ({e})") from None
        if not isinstance(meta, dict):
            raise EntryDamaged(entry.name, f"{meta_file} is not an object")
        if meta.get("version") == ANALYSIS_VERSION:  # another version is never used: it is recomputed
            try:
                META_TYPES[stage].from_dict(meta)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise EntryDamaged(entry.name, f"{meta_file} lacks a field or has a wrong one ({e})") from None
        return meta

    def _check_stage(
        self, entry: Path, stage: Stage, files: dict, n_hidden: int, arrays: bool
    ) -> tuple[dict, dict[str, np.ndarray] | None]:
        """(scalars, the arrays if `arrays`) of one analysis stage; EntryDamaged unless it is usable.

        The one definition of a usable stage, for the listing and the loader alike: its files match
        the manifest, its scalars parse (`core.schema.META_TYPES`), and its arrays load without
        pickles and have the names, types and shapes `core.schema.stage_arrays_problem` asks for.
        The arrays are loaded once per file version when not asked for. A stage of another
        analysis version is not checked further: nothing uses it, it is recomputed.
        """
        meta = self._stage_meta(entry, stage, files)
        path = entry / STAGE_FILES[stage][0]
        loaded: dict[str, dict] = {}

        def load_arrays() -> None:
            loaded["a"] = _load_npz(path)
            problem = stage_arrays_problem(stage, loaded["a"], n_hidden)
            if problem is not None:
                raise ValueError(problem)

        try:
            if meta.get("version") != ANALYSIS_VERSION:
                return meta, _load_npz(path) if arrays else None
            if arrays:
                load_arrays()
            else:
                sha256 = files[STAGE_FILES[stage][0]]["sha256"]
                self._checked(path, f"{stage} n_hidden={n_hidden}", load_arrays, sha256)
        except ValueError as e:
            raise EntryDamaged(entry.name, f"{path.name} is unusable ({e})") from None
        return meta, loaded.get("a")

    def _read_model(self, entry: Path, key: EntryKey | None) -> CachedModel:
        """The verified model of `entry` (weights loaded); EntryDamaged if it is not usable."""
        config, history, weights = self._check_model(entry, self._manifest(entry), weights=True)
        if key is not None and config.get("key") != key.digest:
            raise EntryDamaged(entry.name, "it belongs to another configuration")
        assert weights is not None
        return CachedModel(entry, config, history, weights)

    # ------------------------------------------------------------------ read
    def load(self, key: EntryKey) -> CachedModel | None:
        """The verified entry for `key`, or None (a damaged entry is reported and ignored)."""
        entry = self.path(key)
        if not entry.exists():
            return None
        try:
            return self._read_model(entry, key)
        except EntryDamaged as e:
            self._report(e, "it will be retrained.")
            return None

    def load_entry(self, name: str) -> CachedModel | None:
        """The verified entry in folder `name` (from `index()`), or None if it is damaged or gone."""
        entry = self.root / name
        if name.startswith(".") or "/" in name or not entry.is_dir():
            return None
        try:
            return self._read_model(entry, None)
        except EntryDamaged as e:
            self._report(e, "it is not shown.")
            return None

    def _index_entry(self, entry: Path, present: set[str] | None = None) -> IndexEntry:
        """The listing's view of one entry; EntryDamaged if its model is not usable (as the loader sees it).

        Adds the SHA-256 of every file its manifest lists to `present`, if given.
        """
        files = self._manifest(entry)
        if present is not None:
            present.update(str(f.get("sha256")) for f in files.values())
        config, history, _ = self._check_model(entry, files, weights=False)
        stages, damaged = {}, {}
        for stage, (arrays_file, meta_file) in STAGE_FILES.items():
            if arrays_file not in files and meta_file not in files:
                continue
            try:
                stages[stage] = self._check_stage(entry, stage, files, config["model"]["n_hidden"], arrays=False)[0]
            except EntryDamaged as e:
                damaged[stage] = e.reason
        return IndexEntry(entry.name, config, history, stages, damaged)

    def index(self) -> list[IndexEntry]:
        """Every complete, intact entry, with its small files only; damaged ones are logged and skipped.

        Cheap to call again: checksums are computed once per file version, and arrays checked once per content
        for the whole cache (CHECKED_FILE).
        """
        out: list[IndexEntry] = []
        present: set[str] = set()
        for e in self._entry_dirs():
            try:
                item = self._index_entry(Path(e.path), present)
            except EntryDamaged as d:
                self._report(d, "it is not shown and will be retrained.")
                continue
            for stage, reason in item.damaged_stages.items():
                self._report(EntryDamaged(item.name, f"its {stage} analysis: {reason}"), "it will be recomputed.")
            out.append(item)
        self._save_checked(present)
        return out

    def damaged(self) -> list[tuple[str, str]]:
        """(entry name, problem) for every entry folder whose model or an analysis stage is not intact."""
        out = []
        for e in self._entry_dirs():
            try:
                item = self._index_entry(Path(e.path))
            except EntryDamaged as d:
                out.append((d.name, d.reason))
                continue
            for stage, reason in item.damaged_stages.items():
                out.append((item.name, f"its {stage} analysis is damaged: {reason}"))
        return out

    def change_token(self) -> tuple:
        """Changes whenever an entry is written or removed: each entry's manifest time and size. Opens no file."""
        out = []
        for e in self._entry_dirs():
            try:
                st = os.stat(os.path.join(e.path, MANIFEST_FILE))
                out.append((e.name, st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((e.name, 0, 0))
        return tuple(out)

    # -------------------------------------------------------------- analysis
    def load_stage(
        self, key_or_name: EntryKey | str, stage: Stage, version: int, config: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """(arrays, scalars) of one analysis stage made with `version` (and `config`, if given), or None.

        None when there is none yet, when it was made with other settings, or when it is not
        usable as `_check_stage` defines it, as the listing does (reported in one line; it will be
        recomputed). Of the model's files only config.json is read (for the number of units).
        """
        entry = self.path(key_or_name) if isinstance(key_or_name, EntryKey) else self.root / key_or_name
        try:
            files = self._manifest(entry)
            if STAGE_FILES[stage][0] not in files:
                return None
            meta = self._stage_meta(entry, stage, files)
            if meta.get("version") != version or (config is not None and meta.get("config") != config):
                return None
            self.verify(entry, (CONFIG_FILE,), files)
            n_hidden = int(_read_json(entry / CONFIG_FILE)["model"]["n_hidden"])
            meta, arrays = self._check_stage(entry, stage, files, n_hidden, arrays=True)
        except EntryDamaged as e:
            self._report(EntryDamaged(e.name, f"its {stage} analysis: {e.reason}"), "it will be recomputed.")
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            self._report(EntryDamaged(entry.name, f"its {stage} analysis: {e}"), "it will be recomputed.")
            return None
        assert arrays is not None
        return arrays, meta

    def save_stage(self, key: EntryKey, stage: Stage, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Add (or replace) one analysis stage of the complete entry `key`.

        The manifest first stops listing that stage's old files, then the new files
        are written, then the manifest lists them: a crash at any point leaves the
        model and the other stage intact and this stage either absent or whole.
        """
        entry = self.path(key)
        if self.load(key) is None:
            raise StoreError(f"cannot add an analysis to {entry.name}: the model is not cached.")
        names = STAGE_FILES[stage]
        _remove_abandoned_temporaries(entry)
        files = {n: v for n, v in self._manifest(entry).items() if n not in names and n not in LEGACY_ANALYSIS_FILES}
        self._write_manifest(entry, files)
        new = {
            names[0]: _npz_bytes(arrays),
            names[1]: json.dumps(meta, indent=1, sort_keys=True, allow_nan=False).encode(),
        }
        for name, data in new.items():
            _write_atomic(entry / name, data)
        self._write_manifest(entry, files | _checksums(new))
        for name in LEGACY_ANALYSIS_FILES:  # superseded by the stages
            with contextlib.suppress(FileNotFoundError):
                (entry / name).unlink()

    @staticmethod
    def _manifest_bytes(files: dict[str, Any]) -> bytes:
        """The manifest listing `files` (name -> checksum and size), as written."""
        return json.dumps({"format": FORMAT_VERSION, "files": files}, indent=1, sort_keys=True).encode()

    def _write_manifest(self, entry: Path, files: dict[str, Any]) -> None:
        _write_atomic(entry / MANIFEST_FILE, self._manifest_bytes(files))

    # ----------------------------------------------------------------- write
    def _model_files(
        self,
        key: EntryKey,
        weights: dict[str, np.ndarray],
        history: dict[str, Any],
        source: str,
        snapshots: dict[str, np.ndarray] | None,
    ) -> dict[str, bytes]:
        """A new entry's files for `key` (the manifest aside); ValueError if the weights or snapshots do not fit."""
        check_weights(weights, key.model)
        config = key.identity() | {"key": key.digest, "data_source": source}
        history = dict(history) | {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        files = {
            WEIGHTS_FILE: _npz_bytes({k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}),
            CONFIG_FILE: json.dumps(config, indent=1, sort_keys=True).encode(),
            HISTORY_FILE: json.dumps(history, indent=1, sort_keys=True).encode(),
        }
        if snapshots is not None:
            files[SNAPSHOTS_FILE] = self._snapshot_bytes(key.model, history, snapshots)
        return files

    @staticmethod
    def _snapshot_bytes(model: ModelConfig, history: dict[str, Any], snapshots: dict[str, np.ndarray]) -> bytes:
        """The snapshots file's bytes (compressed .npz); ValueError if they are not this model's snapshots."""
        problem = _snapshots_problem(snapshots, model, history)
        if problem is not None:
            raise ValueError(f"the training snapshots are not usable ({problem})")
        return _npz_bytes(snapshots, compressed=True)

    def save(
        self,
        key: EntryKey,
        weights: dict[str, np.ndarray],
        history: dict[str, Any],
        source: str = "",
        snapshots: dict[str, np.ndarray] | None = None,
    ) -> Path:
        """Write a complete entry for `key` (replacing any damaged one) and return its folder.

        snapshots: the training snapshots (`core.train.Snapshotter.arrays`), if they were recorded.
        """
        files = self._model_files(key, weights, history, source, snapshots)
        entry = self.path(key)
        if entry.exists():
            try:
                self.verify(entry)
            except EntryDamaged:
                shutil.rmtree(entry)
        entry.mkdir(parents=True, exist_ok=True)
        _remove_abandoned_temporaries(entry)
        # the manifest is dropped first and written last: the entry is never
        # "complete" while any of its files is being replaced
        with contextlib.suppress(FileNotFoundError):
            (entry / MANIFEST_FILE).unlink()
        # an old analysis and old snapshots belong to the old weights
        for names in (*STAGE_FILES.values(), LEGACY_ANALYSIS_FILES, (SNAPSHOTS_FILE,)):
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    (entry / name).unlink()
        for name, data in files.items():
            _write_atomic(entry / name, data)
        self._write_manifest(entry, _checksums(files))
        return entry

    def save_retrained(
        self,
        key: EntryKey,
        weights: dict[str, np.ndarray],
        history: dict[str, Any],
        source: str = "",
        snapshots: dict[str, np.ndarray] | None = None,
    ) -> str:
        """Save a model of `key` trained again (to record its snapshots); the complete entry there stays until then.

        Returns what happened:
        * "kept": the entry there has bit-identical weights (same key, same machine: the trainer is
          deterministic), so it is kept with its analyses and history, and gains the snapshots;
        * "replaced": its weights differ (another CPU may round differently): the new entry is written
          beside it and takes its place in one rename (`install_entry`), so a reader finds the old entry
          or the new one, complete, never neither for longer than between two renames; the old analyses
          go with the old weights;
        * "saved": there was no usable entry: an ordinary `save`.
        """
        old = self.load(key)
        if old is None:
            self.save(key, weights, history, source, snapshots)
            return "saved"
        new = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        if set(new) == set(old.weights) and all(np.array_equal(old.weights[k], new[k]) for k in new):
            if snapshots is not None:
                self.save_snapshots(key, snapshots)
            return "kept"
        files = self._model_files(key, new, history, source, snapshots)
        files[MANIFEST_FILE] = self._manifest_bytes(_checksums(files))
        self.install_entry(key.name, files)
        return "replaced"

    # ------------------------------------------------------------- snapshots
    def save_snapshots(self, key_or_name: EntryKey | str, snapshots: dict[str, np.ndarray]) -> None:
        """Add (or replace) the training snapshots of a complete entry, as `save_stage` adds a stage.

        The manifest first stops listing the old file, then the new one is written, then the manifest
        lists it: a crash leaves the model and its analyses intact and the snapshots absent or whole.
        """
        entry = self.path(key_or_name) if isinstance(key_or_name, EntryKey) else self.root / key_or_name
        model = self.load_entry(entry.name)
        if model is None:
            raise StoreError(f"cannot add training snapshots to {entry.name}: the model is not cached.")
        data = self._snapshot_bytes(model.model_config, model.history, snapshots)
        _remove_abandoned_temporaries(entry)
        files = {n: v for n, v in self._manifest(entry).items() if n != SNAPSHOTS_FILE}
        self._write_manifest(entry, files)
        _write_atomic(entry / SNAPSHOTS_FILE, data)
        self._write_manifest(entry, files | _checksums({SNAPSHOTS_FILE: data}))

    def remove_snapshots(self, key_or_name: EntryKey | str) -> None:
        """Drop an entry's training snapshots (the manifest first), leaving an entry as they were before snapshots."""
        entry = self.path(key_or_name) if isinstance(key_or_name, EntryKey) else self.root / key_or_name
        files = self._manifest(entry)
        if SNAPSHOTS_FILE in files:
            self._write_manifest(entry, {n: v for n, v in files.items() if n != SNAPSHOTS_FILE})
        with contextlib.suppress(FileNotFoundError):
            (entry / SNAPSHOTS_FILE).unlink()

    def load_snapshots(self, key_or_name: EntryKey | str) -> tuple[Snapshots | None, SnapshotStatus]:
        """(the entry's training snapshots, "present"), or (None, "absent" | "damaged"). Never raises.

        "absent": the manifest lists none (trained before they were recorded). "damaged": the file fails
        its checksum, is not a pickle-free .npz, or its arrays do not fit the model and its history
        (reported once; the rest of the entry stays valid).
        """
        entry = self.path(key_or_name) if isinstance(key_or_name, EntryKey) else self.root / key_or_name
        try:
            files = self._manifest(entry)
            if SNAPSHOTS_FILE not in files:
                return None, "absent"
            self.verify(entry, (SNAPSHOTS_FILE, CONFIG_FILE, HISTORY_FILE), files)
            config, history = _read_json(entry / CONFIG_FILE), _read_json(entry / HISTORY_FILE)
            model = ModelConfig.from_dict(config["model"])
            arrays = _load_npz(entry / SNAPSHOTS_FILE)
            problem = _snapshots_problem(arrays, model, history)
            if problem is not None:
                raise EntryDamaged(entry.name, f"{SNAPSHOTS_FILE} is unusable ({problem})")
        except EntryDamaged as e:
            self._report(EntryDamaged(e.name, f"its training snapshots: {e.reason}"), "they are not shown.")
            return None, "damaged"
        except Exception as e:  # noqa: BLE001 - any damage means "not usable"; the entry itself is checked elsewhere
            self._report(EntryDamaged(entry.name, f"its training snapshots: {e}"), "they are not shown.")
            return None, "damaged"
        return Snapshots(arrays), "present"

    # -------------------------------------------------------------- progress
    def progress_path(self, key: EntryKey) -> Path:
        return self.root / (key.name + PROGRESS_SUFFIX)

    def write_progress(self, key: EntryKey, info: dict[str, Any]) -> None:
        """Record the live progress of work on `key` (stage, epochs' losses so far, ...), with pid and host."""
        info = info | {"pid": os.getpid(), "host": socket.gethostname(), "written": time.time()}
        _write_atomic(self.progress_path(key), json.dumps(info, allow_nan=False).encode())

    def clear_progress(self, key: EntryKey) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.progress_path(key).unlink()

    def progress(self) -> dict[str, dict[str, Any]]:
        """The live progress of every entry being worked on, by entry name.

        A progress file whose process is gone (killed, crashed, another machine rebooted)
        is stale: it is removed, never shown as work going on.
        """
        out = {}
        if not self.root.is_dir():
            return out
        for p in self.root.glob("*" + PROGRESS_SUFFIX):
            try:
                info, age = _read_json(p), _age(p)
            except (OSError, ValueError):
                continue  # being replaced right now
            if isinstance(info, dict) and _alive(info, age, STALE_LOCK_SECONDS):
                out[p.name[: -len(PROGRESS_SUFFIX)]] = info
            else:
                with contextlib.suppress(OSError):
                    p.unlink()
        return out

    # --------------------------------------------------------- whole entries
    def read_entry_files(self, name: str) -> dict[str, bytes]:
        """Every file of the complete entry `name` (the manifest last), each checked against the manifest.

        For copying an entry elsewhere (core.bundle). StoreError if it is not complete and intact.
        """
        entry = self.root / name
        try:
            files = self._manifest(entry)
        except EntryDamaged as e:
            raise StoreError(f"cache entry {name} cannot be copied: {e.reason}.") from None
        out = {}
        for fname, meta in sorted(files.items()):
            try:
                data = (entry / fname).read_bytes()
            except OSError:
                raise StoreError(f"cache entry {name} cannot be copied: {fname} is missing.") from None
            if len(data) != meta.get("size") or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                raise StoreError(f"cache entry {name} cannot be copied: {fname} fails its checksum.")
            out[fname] = data
        out[MANIFEST_FILE] = (entry / MANIFEST_FILE).read_bytes()
        return out

    def install_entry(self, name: str, files: dict[str, bytes]) -> Path:
        """Put a whole entry (its files, manifest included, already checked by the caller) in place atomically.

        The files are written into a hidden temporary folder in the cache, then that folder
        replaces any entry of the same name in one rename: a crash leaves either the old
        entry or the new one, never a mix.
        """
        if not name or "/" in name or name.startswith(".") or name in ("..",):
            raise StoreError(f"{name!r} is not a cache entry name.")
        self.ensure_writable()
        tmp = Path(tempfile.mkdtemp(prefix=f".install-{name}.", dir=self.root))
        try:
            os.chmod(tmp, 0o755)
            for fname, data in files.items():
                if "/" in fname or fname.startswith("."):
                    raise StoreError(f"{fname!r} is not a cache file name.")
                _write_atomic(tmp / fname, data)
            target = self.root / name
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".replaced-{name}.", dir=self.root))
                os.replace(target, old / name)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
            return target
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    # ------------------------------------------------------------------- job
    def job(self) -> dict[str, Any] | None:
        """The preparation job's last written state, or None if no job ever ran here.

        A job that says "running" or "stopping" but whose heartbeat stopped (killed with
        -9, the OOM killer, a reboot) comes back with state "interrupted".
        """
        path = self.root / JOB_FILE
        try:
            info, age = _read_json(path), _age(path)
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict):
            return None
        if info.get("state") in ("running", "stopping") and not _alive(info, age, STALE_JOB_SECONDS):
            info = info | {"state": "interrupted"}
        return info

    def running_job(self) -> dict[str, Any] | None:
        """The live preparation job's state, or None."""
        job = self.job()
        return job if job is not None and job.get("state") in ("running", "stopping") else None

    @contextlib.contextmanager
    def claim_job(self, info: dict[str, Any]) -> Iterator[JobHandle]:
        """Be this cache's one preparation job while inside; JobBusy if a live job holds the cache.

        `info` (what the job does) goes into the job file, which the handle rewrites with
        a heartbeat; on leaving, its state becomes `handle.final` ("finished" by default).
        """
        self.ensure_writable()
        lock = self.root / JOB_LOCK
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        held = _take(lock, me, lambda: self.running_job() or _fresh_claim(lock), "the preparation job")
        if held is not None:
            raise JobBusy(held)
        _remove_abandoned_temporaries(self.root)
        with contextlib.suppress(FileNotFoundError):
            (self.root / JOB_STOP).unlink()
        handle = JobHandle(self, me | info)
        try:
            handle.update(state="running")
            yield handle
        except BaseException as e:
            handle.final = "stopped" if isinstance(e, KeyboardInterrupt) else "failed"
            handle.state.setdefault("error", f"{type(e).__name__}: {e}")
            raise
        finally:
            handle.update(state=handle.final)
            for name in (JOB_LOCK, JOB_STOP):
                with contextlib.suppress(FileNotFoundError):
                    (self.root / name).unlink()

    def request(
        self,
        cells: list[tuple[float, float]],
        front: bool = True,
        retrain: bool = False,
        train: dict[str, Any] | None = None,
    ) -> None:
        """Ask the running job for these cells (all their stages), at the front of its queue or at the end.

        retrain: train them again even if they are cached (to record their training snapshots), with the
        training config `train` (`TrainConfig.to_dict()`, the entry's own) or else the job's.
        """
        folder = self.root / JOB_REQUESTS
        folder.mkdir(parents=True, exist_ok=True)
        body = {"cells": [[float(k), float(a)] for k, a in cells], "front": front, "at": time.time()}
        if retrain:
            body |= {"retrain": True, "train": train}
        name = f"{time.time_ns()}-{os.getpid()}-{os.urandom(3).hex()}.json"
        _write_atomic(folder / name, json.dumps(body).encode())

    def take_requests(self) -> list[dict[str, Any]]:
        """The requests made since the last call, oldest first (each is read once, then removed).

        Each is {"cells", "front"}, and a retrain's also {"retrain": True, "train": a TrainConfig dict or None}.
        """
        folder = self.root / JOB_REQUESTS
        if not folder.is_dir():
            return []
        out = []
        for p in sorted(folder.iterdir()):
            if p.name.startswith(".") or not p.name.endswith(".json"):
                continue
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                body = _read_json(p)
                cells = [(float(k), float(a)) for k, a in body["cells"]]
                req = {"cells": cells, "front": bool(body.get("front", True))}
                if body.get("retrain") is True:
                    train = body.get("train")
                    req |= {"retrain": True, "train": train if isinstance(train, dict) else None}
                out.append(req)
            with contextlib.suppress(OSError):
                p.unlink()
        return out

    def request_stop(self) -> None:
        """Ask the running job to stop (it keeps every finished stage)."""
        self.ensure_writable()
        (self.root / JOB_STOP).touch()

    def stop_job(self, timeout: float = 30.0) -> bool:
        """Ask the running job to stop and wait for it (at most `timeout` seconds); True if none runs now."""
        if self.running_job() is None:
            return True
        self.request_stop()
        end = time.monotonic() + timeout
        while self.running_job() is not None and time.monotonic() < end:
            time.sleep(0.5)
        return self.running_job() is None

    def stop_requested(self) -> bool:
        return (self.root / JOB_STOP).exists()

    @property
    def job_log(self) -> Path:
        """Where a job started in the background writes its output."""
        return self.root / JOB_LOG

    # ------------------------------------------------------------------ lock
    def lock_path(self, key: EntryKey) -> Path:
        return self.root / (key.name + LOCK_SUFFIX)

    def lock_holder(self, key: EntryKey) -> dict[str, Any] | None:
        """Who holds the lock of `key` (pid, host, started, age), or None if it is free or stale.

        Stale: its process is gone, or its heartbeat is older than STALE_LOCK_SECONDS whoever
        holds it (a pid reused after a restart), or it is empty or unreadable for more than a
        few seconds (a writer killed between creating and filling it).
        """
        path = self.lock_path(key)
        try:
            age = _age(path)
            info = _read_json(path)
            stale = STALE_LOCK_SECONDS
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            info, stale = {}, 10.0
        if not isinstance(info, dict):
            info, stale = {}, 10.0
        return info | {"age": age} if _alive(info, age, stale) else None

    @contextlib.contextmanager
    def lock(self, key: EntryKey):
        """Hold the lock of `key`; LockBusy if a live process holds it. Yields a heartbeat function."""
        path = self.lock_path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        holder = _take(path, me, lambda: self.lock_holder(key), key.name)
        if holder is not None:
            since = time.strftime("%H:%M:%S", time.localtime(holder.get("started") or time.time()))
            raise LockBusy(
                f"{key.name} is being worked on by process {holder.get('pid')} on "
                f"{holder.get('host', 'an unknown host')} since {since} "
                f"(last heartbeat {holder.get('age', 0):.0f} s ago)"
            )
        try:
            yield lambda: os.utime(path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class JobHandle:
    """The running job's side of the job file: `update(**fields)` rewrites it with a fresh heartbeat."""

    def __init__(self, store: ModelStore, state: dict[str, Any]):
        import threading

        self.store, self.state, self.final = store, dict(state), "finished"
        self._lock = threading.Lock()

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.state.update(fields)
            self.state["heartbeat"] = time.time()
            _write_atomic(self.store.root / JOB_FILE, json.dumps(self.state, allow_nan=False).encode())


def _take(path: Path, me: dict[str, Any], holder, what: str) -> dict[str, Any] | None:
    """Create the lock file `path` holding `me`; None when taken, else its live holder (`holder()`).

    A lock whose holder is gone (`holder()` returns None) is removed and taken over.
    """
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            live = holder()
            if live is not None:
                return live
            log.warning("taking over the lock of %s: its process is gone.", what)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        return None
    return {}


def _fresh_claim(lock: Path) -> dict[str, Any] | None:
    """The holder of a job lock taken a moment ago whose job file is not written yet, if it is alive."""
    try:
        other, age = _read_json(lock), _age(lock)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        other, age = {}, _age(lock)
    return other if isinstance(other, dict) and _alive(other, age, 10.0) else None


def pid_alive(pid: int) -> bool:
    """Is process `pid` of this machine alive (a zombie is not)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped) is not alive for our purposes
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    return True
