"""MNIST loading: every source, validation, normalisation, fingerprints, clear errors."""

import gzip
import sys
import types

import numpy as np
import pytest

from conftest import make_raw
from core import data as data_mod
from core.data import IDX_FILES, DataError, Dataset, load_mnist


def write_idx(path, array, gz=False):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(payload)


def test_real_mnist_loads_normalised(mnist_path):
    d = load_mnist(mnist_path)
    assert d.x_train.shape == (60000, 28, 28) and d.x_test.shape == (10000, 28, 28)
    assert d.x_train.dtype == np.float32 and d.x_train.min() == 0 and d.x_train.max() == 1
    # the README beside the file gives these figures for x / 255
    assert d.x_train.mean() == pytest.approx(0.130660, abs=1e-6)
    assert d.x_train.std() == pytest.approx(0.308108, abs=1e-6)
    assert set(np.unique(d.y_test)) == set(range(10))
    assert d.fingerprint == load_mnist(mnist_path).fingerprint


def test_env_var_is_used_when_no_path_given(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_PATH", str(mnist_path))
    assert load_mnist().source == str(mnist_path)


def test_normalisation_is_x_over_its_max():
    raw = make_raw(n_train=50, n_test=20)
    raw["x_test"][0, 5, 5] = 255
    d = Dataset.from_arrays(**raw)
    np.testing.assert_array_equal(d.x_train, (raw["x_train"] / raw["x_train"].max()).astype(np.float32))
    assert d.x_test.max() == 1.0


def test_fingerprint_changes_with_any_pixel_or_label():
    raw = make_raw(n_train=50, n_test=20)
    base = Dataset.from_arrays(**raw).fingerprint
    raw2 = {k: v.copy() for k, v in raw.items()}
    raw2["x_train"][3, 10, 10] ^= 1
    raw3 = {k: v.copy() for k, v in raw.items()}
    raw3["y_test"][0] = (raw3["y_test"][0] + 1) % 10
    assert len({base, Dataset.from_arrays(**raw2).fingerprint, Dataset.from_arrays(**raw3).fingerprint}) == 3


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_reads_the_same_arrays(tmp_path, gz):
    raw = make_raw(n_train=30, n_test=10)
    for name, stem in IDX_FILES.items():
        write_idx(tmp_path / (stem + (".gz" if gz else "")), raw[name], gz=gz)
    got = data_mod._read_path(tmp_path)
    for name in raw:
        np.testing.assert_array_equal(got[name], raw[name])


def test_full_mnist_from_idx_folder_equals_npz(mnist_path, tmp_path):
    with np.load(mnist_path) as f:
        raw = {k: f[k] for k in f.files}
    for name, stem in IDX_FILES.items():
        write_idx(tmp_path / (stem + ".gz"), raw[name], gz=True)
    assert load_mnist(tmp_path).fingerprint == load_mnist(mnist_path).fingerprint


def test_missing_path_is_one_clear_sentence(tmp_path):
    with pytest.raises(DataError, match="does not exist; pass --data"):
        load_mnist(tmp_path / "nope.npz")


def test_not_an_npz(tmp_path):
    p = tmp_path / "mnist.npz"
    p.write_text("hello")
    # a text file is not "pickled data" (what numpy guesses of anything that is not an array or a zip)
    with pytest.raises(DataError, match="is not an MNIST .npz \\(not a zip archive of arrays\\)") as e:
        load_mnist(p)
    assert "pickle" not in str(e.value)


def test_npz_with_wrong_shapes_or_keys(tmp_path):
    raw = make_raw(n_train=30, n_test=10)
    np.savez(tmp_path / "small.npz", **raw)
    with pytest.raises(DataError, match="expected uint8 \\(60000, 28, 28\\)"):
        load_mnist(tmp_path / "small.npz")
    del raw["y_test"]
    np.savez(tmp_path / "nokey.npz", **raw)
    with pytest.raises(DataError, match="no array 'y_test'"):
        load_mnist(tmp_path / "nokey.npz")


def test_npz_with_pickled_objects_is_refused(tmp_path):
    np.savez(tmp_path / "evil.npz", x_train=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="not a readable .npz"):
        load_mnist(tmp_path / "evil.npz")


def test_bad_labels_and_pixels_are_reported():
    raw = make_raw(n_train=30, n_test=10)
    bad = dict(raw, y_train=np.full(30, 11, dtype=np.uint8))
    with pytest.raises(DataError, match="labels 0..9"):
        Dataset.from_arrays(**bad)
    bad = dict(raw, x_test=np.full((10, 28, 28), 300.0))
    with pytest.raises(DataError, match="outside 0..255"):
        Dataset.from_arrays(**bad)
    bad = dict(raw, x_test=np.zeros((10, 28, 28), dtype=np.uint8))
    with pytest.raises(DataError, match="all black"):
        Dataset.from_arrays(**bad)


def test_truncated_and_foreign_idx_files(tmp_path):
    raw = make_raw(n_train=30, n_test=10)
    for name, stem in IDX_FILES.items():
        write_idx(tmp_path / stem, raw[name])
    path = tmp_path / IDX_FILES["x_train"]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated"):
        data_mod._read_path(tmp_path)
    path.write_bytes(b"\x12\x34\x56\x78" + bytes(100))
    with pytest.raises(DataError, match="bad magic"):
        data_mod._read_path(tmp_path)
    path.unlink()
    with pytest.raises(DataError, match="has no train-images-idx3-ubyte"):
        data_mod._read_path(tmp_path)


def test_without_local_data_keras_download_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_PATH", raising=False)
    monkeypatch.setattr(data_mod, "KERAS_CACHE", tmp_path / "absent.npz")
    raw = {k: np.zeros(s, dtype=np.uint8) for k, s in data_mod.SPLITS.items()}
    raw["x_train"][0, 0, 0] = raw["x_test"][0, 0, 0] = 255
    fake = types.SimpleNamespace(
        datasets=types.SimpleNamespace(
            mnist=types.SimpleNamespace(
                load_data=lambda: ((raw["x_train"], raw["y_train"]), (raw["x_test"], raw["y_test"]))
            )
        )
    )
    monkeypatch.setitem(sys.modules, "keras", fake)
    assert load_mnist().source == "keras.datasets.mnist"

    def offline():
        raise OSError("no network")

    fake.datasets.mnist.load_data = offline
    with pytest.raises(DataError, match="could not be downloaded by Keras \\(OSError\\); pass --data"):
        load_mnist()
