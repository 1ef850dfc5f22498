"""MNIST loading, validation, normalisation and fingerprinting.

Where MNIST comes from, in order: an explicit path (`--data PATH` or the
`MNIST_PATH` environment variable) to a Keras-layout `.npz` or to a folder
with the four IDX files (gzipped or not); then Keras' own cache file
(`~/.keras/datasets/mnist.npz`); then `keras.datasets.mnist.load_data()`,
which downloads it. Anything wrong raises `DataError` with one sentence that
says what is wrong and how to fix it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_VAR = "MNIST_PATH"
KERAS_CACHE = Path("~/.keras/datasets/mnist.npz").expanduser()
SPLITS = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
HOW_TO_FIX = (
    f"pass --data PATH (or set {ENV_VAR}) to an mnist.npz in Keras' layout or to a folder with the four MNIST IDX files"
)


class DataError(Exception):
    """The data could not be loaded; the message is one sentence for the user."""


@dataclass(frozen=True)
class Dataset:
    """MNIST (or a stand-in of the same layout), normalised.

    Args:
        x_train: (n_train, side, side) float32 in [0, 1].
        y_train: (n_train,) uint8 digit labels.
        x_test: (n_test, side, side) float32 in [0, 1]; also the validation set.
        y_test: (n_test,) uint8 digit labels.
        fingerprint: hash of the raw arrays; part of every cache key.
        source: where the data came from, for messages.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    fingerprint: str
    source: str

    @classmethod
    def from_arrays(cls, x_train, y_train, x_test, y_test, source: str = "arrays") -> Dataset:
        """Validate raw arrays, fingerprint them and normalise as the original: x / x.max()."""
        raw = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        raw = {k: np.asarray(v) for k, v in raw.items()}
        _validate(raw, source, exact_mnist=False)
        return cls(
            x_train=_normalise(raw["x_train"]),
            y_train=raw["y_train"].astype(np.uint8),
            x_test=_normalise(raw["x_test"]),
            y_test=raw["y_test"].astype(np.uint8),
            fingerprint=fingerprint(raw),
            source=source,
        )


def _normalise(x: np.ndarray) -> np.ndarray:
    """x / x.max() as float32, as the original notebook does (so /255 for MNIST)."""
    peak = x.max()
    if peak <= 0:
        raise DataError("the images are all black (maximum pixel value 0); the data file is damaged.")
    return (x.astype(np.float32) / np.float32(peak)).astype(np.float32)


def fingerprint(raw: dict[str, np.ndarray]) -> str:
    """A short SHA-256 over the raw arrays' names, dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for name in sorted(raw):
        a = np.ascontiguousarray(raw[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _validate(raw: dict[str, np.ndarray], source: str, exact_mnist: bool) -> None:
    for name in SPLITS:
        if name not in raw:
            raise DataError(f"{source} has no array '{name}'; {HOW_TO_FIX}.")
    for part in ("train", "test"):
        x, y = raw[f"x_{part}"], raw[f"y_{part}"]
        if x.ndim != 3 or x.shape[1] != x.shape[2] or x.shape[0] == 0:
            raise DataError(f"{source}: x_{part} has shape {x.shape}, expected (n, 28, 28) images.")
        if y.shape != (x.shape[0],):
            raise DataError(f"{source}: y_{part} has shape {y.shape}, expected ({x.shape[0]},) labels.")
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
            raise DataError(f"{source}: x_{part} has dtype {x.dtype}, expected uint8 pixels.")
        if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 255:
            raise DataError(f"{source}: x_{part} has pixel values outside 0..255.")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise DataError(f"{source}: y_{part} must hold digit labels 0..9.")
    if raw["x_train"].shape[1:] != raw["x_test"].shape[1:]:
        raise DataError(f"{source}: train and test images differ in size.")
    if exact_mnist:
        for name, shape in SPLITS.items():
            if raw[name].shape != shape or raw[name].dtype != np.uint8:
                raise DataError(
                    f"{source}: {name} is {raw[name].dtype} {raw[name].shape}, "
                    f"expected uint8 {shape} as in MNIST; {HOW_TO_FIX}."
                )


ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # an .npz is a zip archive of .npy files (or an empty one)
NPY_MAGIC = b"\x93NUMPY"


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise DataError(f"{path} could not be read ({e.strerror or e}); {HOW_TO_FIX}.") from None
    if head.startswith(NPY_MAGIC):
        raise DataError(f"{path} is a single .npy array, not an MNIST .npz; {HOW_TO_FIX}.")
    if not head.startswith(ZIP_MAGIC):
        what = "empty" if not head else "not an MNIST .npz (not a zip archive of arrays)"
        raise DataError(f"{path} is {what}; {HOW_TO_FIX}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except MemoryError:  # a damaged or hostile header can declare any shape
        raise DataError(f"{path} declares an array too large to load (damaged, or not MNIST); {HOW_TO_FIX}.") from None
    except (
        OSError,
        ValueError,
        EOFError,
        KeyError,
        RuntimeError,
        NotImplementedError,
        zipfile.BadZipFile,
        zlib.error,
    ) as e:
        reason = "it holds Python objects, which are never loaded" if "allow_pickle" in str(e) else e
        raise DataError(f"{path} is not a readable .npz file ({reason}); {HOW_TO_FIX}.") from None


def _read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (uint8 data, as MNIST uses), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path} could not be read ({e}).") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes (bad magic number).")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise DataError(f"{path} is truncated or has extra bytes for its shape {shape}.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder} has no {stem} (or {stem}.gz); {HOW_TO_FIX}.")


def _read_path(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir():
        return {name: _read_idx(_find_idx(path, stem)) for name, stem in IDX_FILES.items()}
    if path.is_file():
        return _read_npz(path)
    if path.exists():  # a device (/dev/null), a pipe, a socket
        raise DataError(f"{path} is neither a file nor a folder; {HOW_TO_FIX}.")
    raise DataError(f"{path} does not exist; {HOW_TO_FIX}.")


def _download_with_keras() -> dict[str, np.ndarray]:
    try:
        import keras  # heavy (imports TensorFlow); only reached when nothing local was given

        (xtr, ytr), (xte, yte) = keras.datasets.mnist.load_data()
    except Exception as e:  # noqa: BLE001 - any network or parse failure gets one sentence
        raise DataError(f"MNIST could not be downloaded by Keras ({type(e).__name__}); {HOW_TO_FIX}.") from None
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}


def resolve_source(path: str | os.PathLike | None = None) -> Path | None:
    """The local path that `load_mnist(path)` would read, or None for the Keras download."""
    if path is not None and str(path) != "":
        return Path(path).expanduser()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    if KERAS_CACHE.is_file():
        return KERAS_CACHE
    return None


def load_mnist(path: str | os.PathLike | None = None) -> Dataset:
    """Load, validate and normalise MNIST; see the module docstring for the order of sources."""
    source = resolve_source(path)
    if source is None:
        raw, name = _download_with_keras(), "keras.datasets.mnist"
    else:
        raw, name = _read_path(source), str(source)
    _validate(raw, name, exact_mnist=True)
    return Dataset.from_arrays(raw["x_train"], raw["y_train"], raw["x_test"], raw["y_test"], source=name)
