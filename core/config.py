"""Frozen, validated configs: the model, its training, and the sweep grid.

Cache keys are built from `to_dict()` of these configs (canonical JSON), never
from object identity or pickles, so every field that changes the numbers
lives here and nothing else does.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ConfigError(ValueError):
    """A config value is invalid; the message is one sentence for the user."""


MAX_SEED = 2**32 - 1  # the largest seed Keras, scikit-learn and openTSNE accept


def check_lambda(name: str, value: Any) -> float:
    """Return `value` as a float if it is a finite, non-negative number."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, got {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(v):
        raise ConfigError(f"{name} must be a finite number, got {value!r}.")
    if v < 0:
        raise ConfigError(f"{name} must be zero or positive, got {value!r}.")
    if v > float(np.finfo(np.float32).max):  # training computes in float32
        raise ConfigError(f"{name} is too large to train with, got {value!r}.")
    return v + 0.0  # -0.0 becomes 0.0: one key per cell


# Two lambda values name the same cell of the grid when they agree to this relative tolerance:
# links and CSVs carry them in short text form (1.1e-05 for 1.1111111111111112e-05), and
# the cache stores them exactly. `same_lambda` is the one rule every module uses.
LAMBDA_RTOL = 1e-6


def same_lambda(a: float, b: float) -> bool:
    """Do `a` and `b` name the same lambda of the grid?"""
    a, b = float(a), float(b)
    return a == b or math.isclose(a, b, rel_tol=LAMBDA_RTOL, abs_tol=1e-15)


def snap_lambda(value: float, values: Sequence[float]) -> float | None:
    """The member of `values` that names the same lambda as `value`, or None."""
    return next((v for v in values if same_lambda(v, value)), None)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be a whole number, got {value!r}.")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class ModelConfig:
    """The autoencoder of DESIGN §1.

    Args:
        lambda_k: L2 kernel-regularizer weight on the encoder kernel W1.
        lambda_a: L2 activity-regularizer weight on the hidden code h.
        n_hidden: width of the code (196 = 14 x 14, so a code is an image).
        image_side: input images are image_side x image_side.
    """

    lambda_k: float = 0.0
    lambda_a: float = 0.0
    n_hidden: int = 196
    image_side: int = 28

    def __post_init__(self) -> None:
        object.__setattr__(self, "lambda_k", check_lambda("lambda_k", self.lambda_k))
        object.__setattr__(self, "lambda_a", check_lambda("lambda_a", self.lambda_a))
        object.__setattr__(self, "n_hidden", _check_int("n_hidden", self.n_hidden, 1))
        object.__setattr__(self, "image_side", _check_int("image_side", self.image_side, 1))

    @property
    def cell(self) -> tuple[float, float]:
        """(lambda_k, lambda_a): where this model sits in the grid."""
        return (self.lambda_k, self.lambda_a)

    @property
    def n_input(self) -> int:
        return self.image_side * self.image_side

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return cls(**d)


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained (DESIGN §1); Keras defaults unless noted.

    Args:
        batch_size: minibatch size of the original notebook.
        max_epochs: upper bound; early stopping usually ends training sooner.
        patience: EarlyStopping(patience) on val_loss (the test set).
        min_delta: EarlyStopping(min_delta): smaller improvements do not count.
        learning_rate, beta_1, beta_2, epsilon: Keras' Adam defaults.
        seed: seeds the initial weights and every epoch's shuffle.
        engine: "fast" (our compiled loop) or "keras" (plain `Model.fit`, the
            reference). They compute the same thing; the engine is part of the
            cache key because float round-off differs between them.
        precision: the matmuls' input type. "bfloat16" (the fast engine's
            default: twice the speed on CPUs with AVX512-BF16, final test loss
            within 2.8% of Keras over the original sweep, see the README's
            Speed and bench/train_sweep.py) or "float32"
            (equal to Keras to ~1e-7). Weights, Adam state and sums stay
            float32 either way. The keras engine is always float32.
    """

    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 3
    min_delta: float = 1e-4
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    seed: int = 0
    engine: str = "fast"
    precision: str | None = None  # None: the engine's default

    def __post_init__(self) -> None:
        _check_int("batch_size", self.batch_size, 1)
        _check_int("max_epochs", self.max_epochs, 1)
        _check_int("patience", self.patience, 0)
        _check_int("seed", self.seed, 0)
        if self.engine == "keras" and self.seed > MAX_SEED:  # keras.utils.set_random_seed's range
            raise ConfigError(f"the keras engine takes a seed from 0 to {MAX_SEED}, got {self.seed!r}.")
        for name in ("min_delta", "learning_rate", "beta_1", "beta_2", "epsilon"):
            object.__setattr__(self, name, check_lambda(name, getattr(self, name)))
        if self.engine not in ("fast", "keras"):
            raise ConfigError(f"engine must be 'fast' or 'keras', got {self.engine!r}.")
        if self.precision is None:
            object.__setattr__(self, "precision", "bfloat16" if self.engine == "fast" else "float32")
        if self.precision not in ("float32", "bfloat16"):
            raise ConfigError(f"precision must be 'float32' or 'bfloat16', got {self.precision!r}.")
        if self.engine == "keras" and self.precision != "float32":
            raise ConfigError("the keras reference engine trains in float32 only.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        return cls(**d)


# The original notebook's sweep: ten lambda_k values, no activity regularizer.
ORIGINAL_LAMBDA_K: tuple[float, ...] = tuple(float(v) for v in np.linspace(0, 1e-4, 10))
ORIGINAL_LAMBDA_A: tuple[float, ...] = (0.0,)


# The dashboard's default grid: the original sweep, crossed with an activity
# regularizer axis from none to strong, in half-decade steps. Measured at
# lambda_k = 0 (test-set code density): 0 -> 0.995, 1e-3 -> 0.75, 3e-3 -> 0.52,
# so 1e-2 takes it well below one half (all values in the README).
DEFAULT_LAMBDA_A: tuple[float, ...] = (0.0, 3e-4, 1e-3, 3e-3, 1e-2)


@dataclass(frozen=True)
class SweepGrid:
    """A grid lambda_k x lambda_a; each cell is one model.

    Args:
        lambda_k: the kernel-regularizer values (sorted, unique).
        lambda_a: the activity-regularizer values (sorted, unique).
    """

    lambda_k: tuple[float, ...] = field(default=ORIGINAL_LAMBDA_K)
    lambda_a: tuple[float, ...] = field(default=ORIGINAL_LAMBDA_A)

    def __post_init__(self) -> None:
        for name in ("lambda_k", "lambda_a"):
            values = getattr(self, name)
            if len(values) == 0:
                raise ConfigError(f"{name} needs at least one value.")
            known = DEFAULT_LAMBDA_A if name == "lambda_a" else ORIGINAL_LAMBDA_K
            # a value typed as the default grid's rounded (4.444444444444444e-05 for linspace's
            # 4.4444444444444447e-05) is that grid value: the same cell, not a second one beside it
            checked = sorted({snap_lambda(v, known) or v for v in (check_lambda(name, v) for v in values)})
            object.__setattr__(self, name, tuple(checked))

    @classmethod
    def original(cls) -> SweepGrid:
        """The original notebook's sweep: 10 lambda_k, lambda_a = 0."""
        return cls(ORIGINAL_LAMBDA_K, ORIGINAL_LAMBDA_A)

    @classmethod
    def default(cls) -> SweepGrid:
        """The dashboard's grid: the original sweep x DEFAULT_LAMBDA_A."""
        return cls(ORIGINAL_LAMBDA_K, DEFAULT_LAMBDA_A)

    def cells(self) -> list[ModelConfig]:
        """Every (lambda_k, lambda_a) cell, lambda_a-major."""
        return [ModelConfig(lambda_k=k, lambda_a=a) for a in self.lambda_a for k in self.lambda_k]

    def to_dict(self) -> dict[str, Any]:
        return {"lambda_k": list(self.lambda_k), "lambda_a": list(self.lambda_a)}


@dataclass(frozen=True)
class AnalysisConfig:
    """What `core.analysis` computes for each trained model (DESIGN §1, analyses 1-7).

    Args:
        n_reconstructions: the first N test images shown as reconstructions.
        n_cosine: the first N test images whose pairwise cosine similarities are grouped.
        tsne_perplexity: t-SNE perplexity (scikit-learn's and openTSNE's default).
        tsne_exaggeration_iter, tsne_iter: openTSNE's two optimisation phases,
            100 + 200 instead of openTSNE's default 250 + 500: every map starts
            from the same informed layout (the test images' pixel PCA), and
            at lambda = 0 the trustworthiness (k = 10) is the same to 0.001
            (0.9578 vs 0.9590) in 40% of the iterations; bench/analysis.py
            compares it with the original's scikit-learn t-SNE.
        kmeans_ks: the numbers of clusters for the silhouette analysis.
        seed: seeds t-SNE and K-means.
    """

    n_reconstructions: int = 20
    n_cosine: int = 1000
    tsne_perplexity: float = 30.0
    tsne_exaggeration_iter: int = 100
    tsne_iter: int = 200
    kmeans_ks: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 10)
    seed: int = 0

    def __post_init__(self) -> None:
        _check_int("n_reconstructions", self.n_reconstructions, 1)
        _check_int("n_cosine", self.n_cosine, 2)
        _check_int("tsne_exaggeration_iter", self.tsne_exaggeration_iter, 0)
        _check_int("tsne_iter", self.tsne_iter, 1)
        _check_int("seed", self.seed, 0)
        if self.seed > MAX_SEED:  # scikit-learn's and openTSNE's random_state range
            raise ConfigError(f"the analysis takes a seed from 0 to {MAX_SEED}, got {self.seed!r}.")
        object.__setattr__(self, "tsne_perplexity", check_lambda("tsne_perplexity", self.tsne_perplexity))
        ks = tuple(_check_int("kmeans_ks", k, 2) for k in self.kmeans_ks)
        if not ks:
            raise ConfigError("kmeans_ks needs at least one value.")
        object.__setattr__(self, "kmeans_ks", ks)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"kmeans_ks": list(self.kmeans_ks)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnalysisConfig:
        return cls(**(d | {"kmeans_ks": tuple(d["kmeans_ks"])}))
