"""The models cache: the only module that reads or writes files in `models_cache/`.

One entry (a folder) per trained model, keyed by a hash of the model config,
the training config, the data fingerprint, the cache format version and the
versions of the libraries that change the numbers:

    models_cache/lk1.111e-05_la0_3f9c2a7e01b4/
        config.json     what was trained, on which data, with which libraries
        history.json    per-epoch losses, epochs, seconds, finished_at
        weights.npz     W1 b1 W2 b2 (float32; read with allow_pickle=False)
        analysis.npz    the analyses' arrays (core.analysis), once computed
        analysis.json   the analyses' scalars and settings
        manifest.json   size and SHA-256 of every file above; written last

Every file is written to a temporary name in the same folder and moved into
place with `os.replace`, and the manifest comes last, so an entry is
complete exactly when its manifest is present and every checksum matches.
Anything else (a killed writer, a truncated or edited file) is reported in one
line and treated as missing, never returned. The analysis files are checked
on their own: a damaged analysis is recomputed without retraining the model. A lock file beside the entry
keeps two processes from training the same model; a lock left by a killed
process is recognised as stale and taken over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from core.config import ModelConfig, TrainConfig
from core.model import check_weights

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
ENV_VAR = "MODELS_CACHE"
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "models_cache"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"
ANALYSIS_ARRAYS_FILE = "analysis.npz"
ANALYSIS_META_FILE = "analysis.json"
MODEL_FILES = (WEIGHTS_FILE, CONFIG_FILE, HISTORY_FILE)
ANALYSIS_FILES = (ANALYSIS_ARRAYS_FILE, ANALYSIS_META_FILE)
LOCK_SUFFIX = ".lock"
# a lock whose holder cannot be checked (another host) is stale after this long
# without a heartbeat; the trainer touches its lock every epoch (about 1 s)
STALE_LOCK_SECONDS = 15 * 60
NUMERIC_LIBRARIES = ("tensorflow", "keras", "numpy")


class StoreError(Exception):
    """The cache folder cannot be used; the message is one sentence for the user."""


class LockBusy(Exception):
    """Another live process holds the lock of this entry."""


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


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; cache files are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _checksums(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {n: {"size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()}


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return buf.getvalue()


class ModelStore:
    """The cache folder; see the module docstring for its layout and guarantees."""

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None or str(root) == "":
            root = os.environ.get(ENV_VAR) or DEFAULT_ROOT
        self.root = Path(root).expanduser()

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

    # ------------------------------------------------------------------ read
    def _manifest(self, entry: Path) -> dict[str, Any] | str:
        manifest_path = entry / MANIFEST_FILE
        if not manifest_path.is_file():
            return "it is incomplete (no manifest: its writer was interrupted)"
        try:
            files = json.loads(manifest_path.read_text())["files"]
            if not isinstance(files, dict):
                raise TypeError
            return files
        except (OSError, ValueError, KeyError, TypeError):
            return "its manifest is unreadable"

    def verify(self, entry: Path, names: tuple[str, ...] = MODEL_FILES) -> str | None:
        """None if `entry` holds `names` (the model's files by default) intact, else what is wrong."""
        files = self._manifest(entry)
        if isinstance(files, str):
            return files
        for name in names:
            meta = files.get(name)
            if not isinstance(meta, dict):
                return f"{name} is not in its manifest"
            f = entry / name
            if not f.is_file():
                return f"{name} is missing"
            if f.stat().st_size != meta.get("size"):
                return f"{name} has the wrong size (truncated or changed)"
            if sha256_file(f) != meta.get("sha256"):
                return f"{name} fails its checksum (corrupted or changed)"
        return None

    def _read(self, entry: Path, key: EntryKey | None) -> CachedModel:
        problem = self.verify(entry)
        if problem:
            raise ValueError(problem)
        try:
            config = json.loads((entry / CONFIG_FILE).read_text())
            history = json.loads((entry / HISTORY_FILE).read_text())
            with np.load(entry / WEIGHTS_FILE, allow_pickle=False) as f:
                weights = {k: f[k] for k in f.files}
            model_cfg = ModelConfig.from_dict(config["model"])
            check_weights(weights, model_cfg)
        except Exception as e:  # noqa: BLE001 - any damage means "not usable"
            raise ValueError(f"its contents are unreadable ({e})") from None
        if key is not None and config.get("key") != key.digest:
            raise ValueError("it belongs to another configuration")
        return CachedModel(entry, config, history, weights)

    def load(self, key: EntryKey) -> CachedModel | None:
        """The verified entry for `key`, or None (a damaged entry is reported and ignored)."""
        entry = self.path(key)
        if not entry.exists():
            return None
        try:
            return self._read(entry, key)
        except ValueError as e:
            log.warning("cache entry %s is damaged: %s; it will be retrained.", entry.name, e)
            return None

    def entries(self) -> list[CachedModel]:
        """Every complete, intact entry in the cache (damaged ones are skipped)."""
        out = []
        if not self.root.is_dir():
            return out
        for entry in sorted(self.root.iterdir()):
            if entry.is_dir() and not entry.name.startswith("."):
                with contextlib.suppress(ValueError):
                    out.append(self._read(entry, None))
        return out

    def damaged(self) -> list[tuple[str, str]]:
        """(entry name, problem) for every entry folder whose model or analysis is not intact."""
        out = []
        if self.root.is_dir():
            for entry in sorted(self.root.iterdir()):
                if entry.is_dir() and not entry.name.startswith("."):
                    problem = self.verify(entry)
                    if problem is None and self._has_analysis(entry):
                        problem = self.verify(entry, ANALYSIS_FILES)
                        problem = problem and f"its analysis is damaged: {problem}"
                    if problem:
                        out.append((entry.name, problem))
        return out

    def _has_analysis(self, entry: Path) -> bool:
        files = self._manifest(entry)
        return isinstance(files, dict) and any(n in files for n in ANALYSIS_FILES)

    # -------------------------------------------------------------- analysis
    def load_analysis(
        self, key: EntryKey, version: int, config: dict[str, Any] | None, arrays: bool = True
    ) -> tuple[dict, dict] | None:
        """(arrays, meta) of the analysis of `key` made with `version` and `config`, or None.

        config None accepts any settings. arrays=False checks every file but reads
        only the scalars (arrays comes back empty): what a listing of the grid needs.
        None when there is none yet, when it was made with other settings, or
        when it is damaged (reported in one line; it will be recomputed).
        """
        entry = self.path(key)
        if self.verify(entry) is not None or not self._has_analysis(entry):
            return None
        problem = self.verify(entry, ANALYSIS_FILES)
        if problem is None:
            try:
                meta = json.loads((entry / ANALYSIS_META_FILE).read_text())
                loaded = {}
                if arrays:
                    with np.load(entry / ANALYSIS_ARRAYS_FILE, allow_pickle=False) as f:
                        loaded = {k: f[k] for k in f.files}
            except Exception as e:  # noqa: BLE001 - any damage means "not usable"
                problem = f"its contents are unreadable ({e})"
        if problem:
            log.warning("the analysis of %s is damaged: %s; it will be recomputed.", entry.name, problem)
            return None
        if meta.get("version") != version or (config is not None and meta.get("config") != config):
            return None
        return loaded, meta

    def save_analysis(self, key: EntryKey, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Add (or replace) the analysis of the complete entry `key`.

        The manifest first stops listing any old analysis, then the new files
        are written, then the manifest lists them: a crash at any point leaves
        the model intact and the analysis either absent or whole.
        """
        entry = self.path(key)
        if self.load(key) is None:
            raise StoreError(f"cannot add an analysis to {entry.name}: the model is not cached.")
        files = self._manifest(entry)
        model_only = {n: files[n] for n in MODEL_FILES}
        self._write_manifest(entry, model_only)
        new = {
            ANALYSIS_ARRAYS_FILE: _npz_bytes(arrays),
            ANALYSIS_META_FILE: json.dumps(meta, indent=1, sort_keys=True, allow_nan=False).encode(),
        }
        for name, data in new.items():
            _write_atomic(entry / name, data)
        self._write_manifest(entry, model_only | _checksums(new))

    def _write_manifest(self, entry: Path, files: dict[str, Any]) -> None:
        manifest = {"format": FORMAT_VERSION, "files": files}
        _write_atomic(entry / MANIFEST_FILE, json.dumps(manifest, indent=1, sort_keys=True).encode())

    # ----------------------------------------------------------------- write
    def save(self, key: EntryKey, weights: dict[str, np.ndarray], history: dict[str, Any], source: str = "") -> Path:
        """Write a complete entry for `key` (replacing any damaged one) and return its folder."""
        check_weights(weights, key.model)
        entry = self.path(key)
        if entry.exists() and self.verify(entry) is not None:
            shutil.rmtree(entry)
        entry.mkdir(parents=True, exist_ok=True)
        config = key.identity() | {"key": key.digest, "data_source": source}
        history = dict(history) | {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        files = {
            WEIGHTS_FILE: _npz_bytes({k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}),
            CONFIG_FILE: json.dumps(config, indent=1, sort_keys=True).encode(),
            HISTORY_FILE: json.dumps(history, indent=1, sort_keys=True).encode(),
        }
        # the manifest is dropped first and written last: the entry is never
        # "complete" while any of its files is being replaced
        with contextlib.suppress(FileNotFoundError):
            (entry / MANIFEST_FILE).unlink()
        for name in ANALYSIS_FILES:  # an old analysis belongs to the old weights
            with contextlib.suppress(FileNotFoundError):
                (entry / name).unlink()
        for name, data in files.items():
            _write_atomic(entry / name, data)
        self._write_manifest(entry, _checksums(files))
        return entry

    # ------------------------------------------------------------------ lock
    def lock_path(self, key: EntryKey) -> Path:
        return self.root / (key.name + LOCK_SUFFIX)

    def lock_holder(self, key: EntryKey) -> dict[str, Any] | None:
        """Who holds the lock of `key` (pid, host, started), or None if free or stale."""
        path = self.lock_path(key)
        try:
            info = json.loads(path.read_text())
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            info, age = {}, 0.0  # being written right now, or garbage: judge by age alone
        if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
            return info if _pid_alive(info["pid"]) else None
        return info if age < STALE_LOCK_SECONDS else None

    @contextlib.contextmanager
    def lock(self, key: EntryKey):
        """Hold the lock of `key`; LockBusy if a live process holds it. Yields a heartbeat function."""
        path = self.lock_path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                holder = self.lock_holder(key)
                if holder is not None:
                    raise LockBusy(f"{key.name} is being trained by process {holder.get('pid')}") from None
                log.warning("removing a stale lock on %s (its process is gone).", key.name)
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        else:
            raise LockBusy(f"{key.name}: could not take its lock")
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        try:
            yield lambda: os.utime(path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _pid_alive(pid: int) -> bool:
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
