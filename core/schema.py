"""The analysis's names in one place: its stages, the names of its arrays, and its typed metadata.

An analysed cache entry holds two stages, each its own pair of files covered
by the entry's manifest (see `core.store`):

* the fast stage (a few seconds a model): losses split in terms, densities,
  per-unit statistics, reconstructions, cosine similarities — everything but
  the maps;
* the slow stage (tens of seconds): the t-SNE maps and the K-means silhouettes.

Every producer (`core.analysis`) and consumer (results, figures, pages, CSV)
of an array names it with a constant below, so one search finds them all.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

# 2: per-unit statistics for the unit explorer; 3: two stages (fast, slow) in their own files
ANALYSIS_VERSION = 3
Stage = Literal["fast", "slow"]
STAGES: tuple[Stage, ...] = ("fast", "slow")
# What a cell of the grid has on disk, in order: nothing, a trained model, its fast stage, both stages.
Readiness = Literal["missing", "trained", "fast", "complete"]
SPACES = ("raw", "normalised")  # the code h, and h / ||h||
Space = Literal["raw", "normalised"]

# ------------------------------------------------------------- fast stage arrays
L0_TRAIN = "l0_train"  # (60000,) int16: active units per training image
L0_TEST = "l0_test"  # (10000,) int16: active units per test image
L0_HIST_TRAIN = "l0_hist_train"  # (units + 1,) int32: histogram of L0_TRAIN
UNIT_FREQUENCY_TEST = "unit_frequency_test"  # (units,) float32: fraction of test images a unit fires on
UNIT_MEAN_TEST = "unit_mean_test"  # (units,) float32: a unit's mean activation over the test set
DEAD_UNITS = "dead_units"  # (units,) bool: fires on no test image
DENSE_UNITS = "dense_units"  # (units,) bool: fires on more than half of the test images
UNIT_LABEL_FREQUENCY = "unit_label_frequency"  # (units, 10) float32: how often a unit fires per digit
UNIT_HIST = "unit_hist"  # (units, 30) int32: histogram of a unit's non-zero activations
UNIT_HIST_MAX = "unit_hist_max"  # (units,) float32: the histogram's upper edge
UNIT_TOP_INDEX = "unit_top_index"  # (units, 16) int32: test images that excite a unit most
UNIT_TOP_VALUE = "unit_top_value"  # (units, 16) float32: their activations
UNIT_LABEL_MEAN = "unit_label_mean"  # (units, 10) float32: a unit's mean activation per digit
TOP_POOL_INDEX = "top_pool_index"  # (p,) int32: every test image some top list names
TOP_POOL_IMAGES = "top_pool_images"  # (p, 28, 28) uint8: those images
LABELS_TEST = "labels_test"  # (10000,) uint8: the test digits' labels
RECON_INDEX = "recon_index"  # (20,) int32: the reconstructed test images
RECON_INPUT = "recon_input"  # (20, 28, 28) float32
RECON_CODE = "recon_code"  # (20, units) float32: h
RECON_CODE_NORMALISED = "recon_code_normalised"  # (20, units) float32: h / ||h||
RECON_OUTPUT = "recon_output"  # (20, 28, 28) float32
COS_SAME_BOX = "cos_same_box"  # (10, len(BOX_COLUMNS)) float64: same-label cosine box statistics
COS_DIFF_BOX = "cos_diff_box"  # (10, len(BOX_COLUMNS)) float64: different-label ones

FAST_ARRAYS = (
    L0_TRAIN,
    L0_TEST,
    L0_HIST_TRAIN,
    UNIT_FREQUENCY_TEST,
    UNIT_MEAN_TEST,
    DEAD_UNITS,
    DENSE_UNITS,
    UNIT_LABEL_FREQUENCY,
    UNIT_HIST,
    UNIT_HIST_MAX,
    UNIT_TOP_INDEX,
    UNIT_TOP_VALUE,
    UNIT_LABEL_MEAN,
    TOP_POOL_INDEX,
    TOP_POOL_IMAGES,
    LABELS_TEST,
    RECON_INDEX,
    RECON_INPUT,
    RECON_CODE,
    RECON_CODE_NORMALISED,
    RECON_OUTPUT,
    COS_SAME_BOX,
    COS_DIFF_BOX,
)


# ------------------------------------------------------------- slow stage arrays
def tsne_array(space: str) -> str:
    """(10000, 2) float32: the t-SNE map of the test codes in `space`."""
    return f"tsne_{space}"


def kmeans_labels_array(space: str) -> str:
    """(len(kmeans_ks), 10000) int8: the K-means clusters for every k."""
    return f"kmeans_labels_{space}"


def silhouette_array(space: str) -> str:
    """(len(kmeans_ks), 10000) float32: every test code's silhouette for every k."""
    return f"silhouette_{space}"


def silhouette_mean_array(space: str) -> str:
    """(len(kmeans_ks),) float64: the mean silhouette for every k."""
    return f"silhouette_mean_{space}"


_SLOW_NAMES = (tsne_array, kmeans_labels_array, silhouette_array, silhouette_mean_array)
SLOW_ARRAYS = tuple(name(space) for space in SPACES for name in _SLOW_NAMES)
STAGE_ARRAYS: dict[Stage, tuple[str, ...]] = {"fast": FAST_ARRAYS, "slow": SLOW_ARRAYS}


# ------------------------------------------------------- what a valid stage holds
# Every array's dtype kinds (numpy's dtype.kind) and shape: an int is an exact size, a name a size
# that every array of the stage must agree on ("units" is the model's n_hidden), None any size.
_INT, _FLOAT, _BOOL = "iu", "f", "b"
ARRAY_SPECS: dict[str, tuple[str, tuple[int | str | None, ...]]] = {
    L0_TRAIN: (_INT, ("n_train",)),
    L0_TEST: (_INT, ("n_test",)),
    L0_HIST_TRAIN: (_INT, ("units+1",)),
    UNIT_FREQUENCY_TEST: (_FLOAT, ("units",)),
    UNIT_MEAN_TEST: (_FLOAT, ("units",)),
    DEAD_UNITS: (_BOOL, ("units",)),
    DENSE_UNITS: (_BOOL, ("units",)),
    UNIT_LABEL_FREQUENCY: (_FLOAT, ("units", "classes")),
    UNIT_HIST: (_INT, ("units", None)),
    UNIT_HIST_MAX: (_FLOAT, ("units",)),
    UNIT_TOP_INDEX: (_INT, ("units", "n_top")),
    UNIT_TOP_VALUE: (_FLOAT, ("units", "n_top")),
    UNIT_LABEL_MEAN: (_FLOAT, ("units", "classes")),
    TOP_POOL_INDEX: (_INT, ("pool",)),
    TOP_POOL_IMAGES: ("u", ("pool", "side", "side")),
    LABELS_TEST: (_INT, ("n_test",)),
    RECON_INDEX: (_INT, ("n_recon",)),
    RECON_INPUT: (_FLOAT, ("n_recon", "side", "side")),
    RECON_CODE: (_FLOAT, ("n_recon", "units")),
    RECON_CODE_NORMALISED: (_FLOAT, ("n_recon", "units")),
    RECON_OUTPUT: (_FLOAT, ("n_recon", "side", "side")),
    COS_SAME_BOX: (_FLOAT, ("classes", "box")),
    COS_DIFF_BOX: (_FLOAT, ("classes", "box")),
} | {
    spec_name: spec
    for space in SPACES
    for spec_name, spec in (
        (tsne_array(space), (_FLOAT, ("n_test", 2))),
        (kmeans_labels_array(space), (_INT, ("ks", "n_test"))),
        (silhouette_array(space), (_FLOAT, ("ks", "n_test"))),
        (silhouette_mean_array(space), (_FLOAT, ("ks",))),
    )
}
# arrays of test-image indices (each must point into the test set), and of labels
_TEST_INDICES = (UNIT_TOP_INDEX, TOP_POOL_INDEX, RECON_INDEX)


def stage_arrays_problem(stage: Stage, arrays: dict[str, Any], n_hidden: int) -> str | None:
    """Why `arrays` cannot be `stage`'s arrays of a model with `n_hidden` units (a few words), or None.

    Checks what every reader relies on: each array of STAGE_ARRAYS[stage] is there with its dtype
    kind and a shape that agrees with the others' (ARRAY_SPECS), and indices point into the test set.
    """
    sizes: dict[str, int] = {"units": n_hidden, "units+1": n_hidden + 1}
    for name in STAGE_ARRAYS[stage]:
        if name not in arrays:
            return f"it has no array {name}"
        a = arrays[name]
        kinds, shape = ARRAY_SPECS[name]
        if a.dtype.kind not in kinds:
            return f"{name} has dtype {a.dtype}"
        if a.ndim != len(shape):
            return f"{name} has shape {a.shape}"
        for size, want in zip(a.shape, shape):
            if isinstance(want, str):
                want = sizes.setdefault(want, size)
            if want is not None and size != want:
                return f"{name} has shape {a.shape}, which does not fit the other arrays"
    if stage == "fast":
        n_test = sizes["n_test"]
        for name in _TEST_INDICES:
            a = arrays[name]
            if a.size and (a.min() < 0 or a.max() >= n_test):
                return f"{name} points outside the test set"
        if arrays[LABELS_TEST].size and arrays[LABELS_TEST].max() >= sizes["classes"]:
            return f"{LABELS_TEST} holds labels beyond {sizes['classes'] - 1}"
    return None


# ------------------------------------------------------------------ metadata
@dataclass(frozen=True)
class LossTerms:
    """A loss over a whole set, split into its terms: total = mse + activity + kernel.

    Args:
        mse: the reconstruction error.
        activity: lambda_a * sum(h^2) / n.
        kernel: lambda_k * sum(W1^2).
        total: their sum, what Keras reports as the loss.
    """

    mse: float
    activity: float
    kernel: float
    total: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LossTerms:
        return cls(**{k: float(d[k]) for k in ("mse", "activity", "kernel", "total")})


class _Meta:
    """What both stages' metadata do."""

    seconds: dict[str, float]

    @property
    def seconds_total(self) -> float:
        return round(sum(self.seconds.values()), 3)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class FastMeta(_Meta):
    """The fast stage's scalars (DESIGN §1, analyses 1-2, and the unit statistics' counts).

    Args:
        version, config: the analysis version and `AnalysisConfig.to_dict()` it was made with.
        loss_train, loss_test: the loss of the final weights over the whole set, split into its terms.
        density_*: fraction of non-zero code entries (what the original called sparsity).
        sparsity_*: 1 - density.
        l0_mean_*: mean number of active units per image.
        n_dead_units, n_dense_units: units firing on no test image / on more than half of them.
        mean_activation_test: mean of h over the test set.
        n_zero_codes_test, n_zero_codes_cosine: all-zero codes among the test images / the cosine subset.
        seconds: each step's wall time.
    """

    version: int
    config: dict[str, Any]
    loss_train: LossTerms
    loss_test: LossTerms
    density_train: float
    sparsity_train: float
    l0_mean_train: float
    density_test: float
    sparsity_test: float
    l0_mean_test: float
    n_dead_units: int
    n_dense_units: int
    mean_activation_test: float
    n_zero_codes_test: int
    n_zero_codes_cosine: int
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FastMeta:
        """From `to_dict()`'s JSON; KeyError/TypeError/ValueError when a field is missing or malformed."""
        loss = {k: LossTerms.from_dict(d[k]) for k in ("loss_train", "loss_test")}
        ints = ("version", "n_dead_units", "n_dense_units", "n_zero_codes_test", "n_zero_codes_cosine")
        floats = (
            "density_train",
            "sparsity_train",
            "l0_mean_train",
            "density_test",
            "sparsity_test",
            "l0_mean_test",
            "mean_activation_test",
        )
        if not isinstance(d["config"], dict):
            raise TypeError("config must be an object")
        return cls(
            config=d["config"],
            seconds={str(k): float(v) for k, v in d.get("seconds", {}).items()},
            **loss,
            **{k: int(d[k]) for k in ints},
            **{k: float(d[k]) for k in floats},
        )


@dataclass(frozen=True)
class SlowMeta(_Meta):
    """The slow stage's settings and timings (the maps' numbers are all arrays)."""

    version: int
    config: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SlowMeta:
        if not isinstance(d["config"], dict):
            raise TypeError("config must be an object")
        return cls(int(d["version"]), d["config"], {str(k): float(v) for k, v in d.get("seconds", {}).items()})


META_TYPES = {"fast": FastMeta, "slow": SlowMeta}


# ------------------------------------------------------------ training snapshots
# An optional extra file of a cache entry (`core.store.SNAPSHOTS_FILE`), written by the trainer: what the
# Filters and Reconstructions pages need to show the network learning. Its own file under the manifest:
# an entry without it (trained before it was recorded) or with a damaged one stays a valid entry.
SNAPSHOT_VERSION = 1
SNAP_EPOCHS = "epochs"  # (s,) int32: epochs done when each snapshot was taken, increasing; 0 = the initial weights
SNAP_W1 = "w1"  # (s, pixels, units) int8: W1, each filter scaled to +-127 by its own largest |weight|
SNAP_W1_SCALE = "w1_scale"  # (s, units) float32: each filter's largest |weight| (W1 = w1 * w1_scale / 127)
SNAP_INDEX = "recon_index"  # (d,) int32: the test digits followed (the first d: RECON_INDEX's)
SNAP_INPUT = "recon_input"  # (d, side, side) uint8: those digits, 0..255
SNAP_CODE = "recon_code"  # (s, d, units) float16: their codes h at each snapshot
SNAP_OUTPUT = "recon_output"  # (s, d, side, side) uint8: their reconstructions, 0..255
SNAPSHOT_ARRAYS = (SNAP_EPOCHS, SNAP_W1, SNAP_W1_SCALE, SNAP_INDEX, SNAP_INPUT, SNAP_CODE, SNAP_OUTPUT)
_SNAPSHOT_SPECS: dict[str, tuple[str, tuple[str, ...]]] = {
    SNAP_EPOCHS: ("i", ("s",)),
    SNAP_W1: ("i", ("s", "pixels", "units")),
    SNAP_W1_SCALE: (_FLOAT, ("s", "units")),
    SNAP_INDEX: (_INT, ("d",)),
    SNAP_INPUT: ("u", ("d", "side", "side")),
    SNAP_CODE: (_FLOAT, ("s", "d", "units")),
    SNAP_OUTPUT: ("u", ("s", "d", "side", "side")),
}


def snapshot_arrays_problem(arrays: dict[str, Any], n_hidden: int, n_input: int) -> str | None:
    """Why `arrays` cannot be the training snapshots of a model with `n_hidden` units and `n_input` pixels, or None.

    Checks what every reader relies on: each array is there with its dtype and agreeing shapes, at least one
    snapshot, the epochs increasing from 0 up, the scales finite and not negative, the codes finite.
    """
    side = int(round(n_input**0.5))
    sizes: dict[str, int] = {"units": n_hidden, "pixels": n_input, "side": side}
    for name in SNAPSHOT_ARRAYS:
        if name not in arrays:
            return f"it has no array {name}"
        a = arrays[name]
        kinds, shape = _SNAPSHOT_SPECS[name]
        if a.dtype.kind not in kinds or (name == SNAP_W1 and a.dtype != np.int8):
            return f"{name} has dtype {a.dtype}"
        if name in (SNAP_INPUT, SNAP_OUTPUT) and a.dtype != np.uint8:
            return f"{name} has dtype {a.dtype}"
        if a.ndim != len(shape):
            return f"{name} has shape {a.shape}"
        for size, want in zip(a.shape, shape):
            if sizes.setdefault(want, size) != size:
                return f"{name} has shape {a.shape}, which does not fit the other arrays"
    epochs = arrays[SNAP_EPOCHS]
    if sizes["s"] < 1:
        return "it holds no snapshot"
    if epochs[0] < 0 or np.any(np.diff(epochs) <= 0):
        return f"its epochs {epochs.tolist()} do not increase from 0 up"
    scale = arrays[SNAP_W1_SCALE]
    if not np.all(np.isfinite(scale)) or np.any(scale < 0):
        return f"{SNAP_W1_SCALE} holds negative or non-finite values"
    if not np.all(np.isfinite(arrays[SNAP_CODE])):
        return f"{SNAP_CODE} holds non-finite values"
    if arrays[SNAP_INDEX].size and arrays[SNAP_INDEX].min() < 0:
        return f"{SNAP_INDEX} holds negative indices"
    return None


@dataclass(frozen=True)
class Snapshots:
    """A model's training snapshots, checked (`snapshot_arrays_problem`): W1 and a few test digits over the epochs.

    arrays: the file's arrays, by the SNAP_* names.
    """

    arrays: dict[str, Any] = field(repr=False)

    @cached_property
    def digest(self) -> str:
        """A short fingerprint of these snapshots (the figure cache tells two files of one entry apart by it)."""
        h = hashlib.sha256(np.ascontiguousarray(self.arrays[SNAP_EPOCHS]).tobytes())
        h.update(np.ascontiguousarray(self.arrays[SNAP_W1_SCALE]).tobytes())
        return h.hexdigest()[:16]

    @property
    def epochs(self) -> list[int]:
        """Epochs done at each snapshot (0: before training), increasing; the last is the final model."""
        return [int(e) for e in self.arrays[SNAP_EPOCHS]]

    def at(self, epoch: int) -> int:
        """The snapshot index of `epoch` (ValueError if none was taken then)."""
        return self.epochs.index(int(epoch))

    def w1(self, i: int):
        """W1 (pixels, units) float32 at snapshot i, to 1/254 of each filter's largest weight."""
        return self.arrays[SNAP_W1][i].astype(np.float32) * (self.arrays[SNAP_W1_SCALE][i] / np.float32(127))

    @property
    def index(self):
        """(d,) the test digits followed."""
        return self.arrays[SNAP_INDEX]

    @property
    def inputs(self):
        """(d, side, side) float32 in [0, 1]: the digits followed."""
        return self.arrays[SNAP_INPUT].astype(np.float32) / np.float32(255)

    def codes(self, i: int):
        """(d, units) float32: the digits' codes h at snapshot i."""
        return self.arrays[SNAP_CODE][i].astype(np.float32)

    def outputs(self, i: int):
        """(d, side, side) float32 in [0, 1]: the digits as the network redrew them at snapshot i."""
        return self.arrays[SNAP_OUTPUT][i].astype(np.float32) / np.float32(255)
