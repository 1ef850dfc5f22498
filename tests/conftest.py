"""Shared fixtures: tiny synthetic data, the real MNIST file when present, seeding."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

from core.config import AnalysisConfig, ModelConfig, SweepGrid, TrainConfig
from core.data import Dataset

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)


def make_raw(n_train: int = 600, n_test: int = 200, side: int = 28, seed: int = 0) -> dict[str, np.ndarray]:
    """MNIST-like uint8 arrays: sparse strokes of bright pixels on black, labels 0..9."""
    rng = np.random.default_rng(seed)

    def images(n):
        x = rng.random((n, side, side)) ** 6 * 255  # mostly dark, a few bright pixels
        x[:, :2, :] = 0  # an always-black border, as in MNIST
        return x.astype(np.uint8)

    return {
        "x_train": images(n_train),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": images(n_test),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }


def make_data(**kwargs) -> Dataset:
    raw = make_raw(**kwargs)
    return Dataset.from_arrays(raw["x_train"], raw["y_train"], raw["x_test"], raw["y_test"], source="synthetic")


def build_train_cfg(**overrides) -> TrainConfig:
    """A training config for tiny data: few epochs, float32 unless asked otherwise."""
    return TrainConfig(**({"max_epochs": 3, "precision": "float32"} | overrides))


def build_model_cfg(**overrides) -> ModelConfig:
    return ModelConfig(**({"lambda_k": 1e-3, "lambda_a": 1e-3} | overrides))


@pytest.fixture(scope="session")
def tiny_data() -> Dataset:
    return make_data()


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """The real MNIST file (MNIST_PATH, else ../shared/data/mnist.npz); skips if absent."""
    path = Path(os.environ.get("MNIST_PATH") or SHARED_MNIST)
    if not path.is_file():
        pytest.skip(f"real MNIST not found at {path}; set MNIST_PATH to run this test")
    return path


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium for one browser-test module (Debian's, driven by Playwright: tests/serve.py)."""
    from serve import browser

    with browser() as b:
        yield b


TINY_GRID = SweepGrid(lambda_k=(0.0, 1e-3), lambda_a=(0.0, 1e-3))
TINY_ANALYSIS = AnalysisConfig(n_cosine=150, tsne_exaggeration_iter=30, tsne_iter=60, kmeans_ks=(2, 3, 4))


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """A models cache with the 4 cells of TINY_GRID trained (2 epochs) and analysed, on synthetic data."""
    from core.store import ModelStore
    from core.sweep import run_sweep

    root = tmp_path_factory.mktemp("cache")
    run_sweep(
        TINY_GRID,
        build_train_cfg(max_epochs=2),
        make_data(),
        ModelStore(root),
        stages=("train", "analyze"),
        analysis_cfg=TINY_ANALYSIS,
        jobs=1,
        progress=False,
    )
    return root


@pytest.fixture(scope="session")
def fast_only_cache(tmp_path_factory) -> Path:
    """A models cache with the 4 cells of TINY_GRID trained (2 epochs) and only their fast analysis stage done."""
    from core.store import ModelStore
    from core.sweep import process_cell, run_job

    root = tmp_path_factory.mktemp("fast_only_cache")
    data, train_cfg = make_data(), build_train_cfg(max_epochs=2)
    run_job(TINY_GRID, train_cfg, data, ModelStore(root), command="train", jobs=1, progress=False)
    for cell in TINY_GRID.cells():
        process_cell(cell, train_cfg, data, str(root), ("fast",), TINY_ANALYSIS)
    return root


@pytest.fixture
def fake_popen(monkeypatch) -> list[dict]:
    """subprocess.Popen replaced by a process that never ends and does nothing; returns its starts (cmd, kwargs).

    Stands in for the `python -m core prepare` job the dashboard starts (app.jobs).
    """
    import subprocess

    started: list[dict] = []

    class FakeProcess:
        def __init__(self, cmd, **kwargs):
            started.append({"cmd": list(cmd)} | kwargs)
            self.returncode = None
            self.pid = os.getpid()

        def poll(self):
            return None  # still running

        def wait(self, timeout=None):
            raise subprocess.TimeoutExpired(self.pid, timeout)

    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    return started
