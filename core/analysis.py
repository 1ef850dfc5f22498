"""The analyses of one trained model (DESIGN §1, analyses 1-7) as plain arrays.

Everything here is numpy, scikit-learn and openTSNE on the stored weights:
showing an analysed model never needs TensorFlow. The analysis runs in
two stages (`core.schema`): `analyze_fast` (a few seconds: everything but the
maps) right after training, `analyze_slow` (t-SNE and K-means) later; each
returns `(arrays, meta)` and `core.store` keeps each stage in its own files
of the model's cache entry, covered by the manifest's checksums.

Fixes of the original's flaws:
* an all-zero code has no direction, so h/||h|| is defined as the zero vector
  (its cosine similarity with anything is 0) and such codes are counted;
* t-SNE and K-means are seeded; every t-SNE map starts from the same layout
  (the pixel PCA of the test images), so maps of neighbouring lambda values
  are comparable instead of arbitrarily rotated or mirrored;
* "sparsity" is reported as density (fraction of non-zero entries, what the
  original computed) with sparsity = 1 - density beside it;
* the pairwise distances are computed once per space and every k's
  silhouettes come from one matrix product, instead of k recomputations.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from core import schema as S
from core.config import AnalysisConfig, ModelConfig
from core.data import Dataset
from core.model import decode, encode
from core.schema import ANALYSIS_VERSION, FastMeta, LossTerms, SlowMeta

BOX_COLUMNS = ("n", "mean", "min", "lowerfence", "q1", "median", "q3", "upperfence", "max")
COSINE_BINS = np.linspace(-1.0, 1.0, 101)
SPACES = S.SPACES
STAGE_STEPS = {
    "fast": ("codes", "losses", "statistics", "reconstructions", "cosine"),
    "slow": tuple(f"{step}_{space}" for space in SPACES for step in ("tsne", "kmeans")),
}
Progress = Callable[[str], None]


# ---------------------------------------------------------------- 1. losses
def loss_terms(x: np.ndarray, weights: dict[str, np.ndarray], model_cfg: ModelConfig, chunk: int = 10000) -> dict:
    """The total loss as Keras reports it, split into its terms, over a whole set.

    x: (n, 28, 28). Returns mse (reconstruction), activity (lambda_a * sum(h^2) / n),
    kernel (lambda_k * sum(W1^2)) and total = their sum.
    """
    sq_err, sq_code = 0.0, 0.0
    for i in range(0, len(x), chunk):
        xb = x[i : i + chunk]
        h = encode(xb, weights)
        sq_err += float(np.sum(np.square(decode(h, weights) - xb), dtype=np.float64))
        sq_code += float(np.sum(np.square(h), dtype=np.float64))
    n = len(x)
    mse = sq_err / x[0].size / n
    activity = model_cfg.lambda_a * sq_code / n
    kernel = model_cfg.lambda_k * float(np.sum(np.square(weights["W1"], dtype=np.float64)))
    return {"mse": mse, "activity": activity, "kernel": kernel, "total": mse + activity + kernel}


# ------------------------------------------------------- 2. code statistics
def encode_all(x: np.ndarray, weights: dict[str, np.ndarray], chunk: int = 10000) -> np.ndarray:
    """Codes h (n, n_hidden) float32 of every image in x, chunked to bound memory."""
    return np.concatenate([encode(x[i : i + chunk], weights) for i in range(0, len(x), chunk)])


def code_statistics(h: np.ndarray) -> dict:
    """Density (fraction of non-zero entries), per-image L0 (n,), per-unit firing frequency and mean (units,)."""
    active = h > 0
    return {
        "density": float(active.mean()),
        "l0": active.sum(axis=1).astype(np.int16),
        "unit_frequency": active.mean(axis=0),
        "unit_mean": h.mean(axis=0, dtype=np.float64).astype(np.float32),
    }


def unit_label_frequency(h: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """(units, n_classes): how often each unit fires on the images of each digit."""
    active = (h > 0).astype(np.float32)
    out = np.zeros((h.shape[1], n_classes), dtype=np.float32)
    for d in range(n_classes):
        sel = labels == d
        if sel.any():
            out[:, d] = active[sel].mean(axis=0)
    return out


UNIT_HIST_BINS = 30
N_TOP = 16


def unit_statistics(h: np.ndarray, x: np.ndarray, labels: np.ndarray, n_top: int = N_TOP, n_classes: int = 10) -> dict:
    """What the unit explorer shows of each hidden unit, from the test codes h (n, units) of images x (n, 28, 28).

    * unit_hist (units, UNIT_HIST_BINS) int32: histogram of the unit's non-zero activations over
      (0, unit_hist_max]; the zeros are n - its sum (the unit is silent there);
    * unit_top_index / unit_top_value (units, n_top): the test images that activate it most,
      strongest first (ties: lower index first); a dead unit's values are all 0;
    * unit_label_mean (units, n_classes): its mean activation on the images of each digit
      (how often it fires on each digit is `unit_label_frequency`; see `label_selectivity`);
    * top_pool_index (p,) / top_pool_images (p, 28, 28) uint8: every image some unit's top list
      names, once, so the dashboard can show them without the MNIST file.
    """
    n, units = h.shape
    hmax = h.max(axis=0)
    hist = np.zeros((units, UNIT_HIST_BINS), dtype=np.int32)
    for u in np.flatnonzero(hmax > 0):
        col = h[:, u]
        hist[u] = np.histogram(col[col > 0], bins=UNIT_HIST_BINS, range=(0.0, float(hmax[u])))[0]
    k = min(n_top, n)
    order = np.argsort(-h, axis=0, kind="stable")[:k].T  # (units, k): strongest first, ties by index
    top_value = np.take_along_axis(h.T, order, axis=1)
    label_mean = np.zeros((units, n_classes), dtype=np.float32)
    for d in range(n_classes):
        sel = labels == d
        if sel.any():
            label_mean[:, d] = h[sel].mean(axis=0, dtype=np.float64)
    pool = np.unique(order[top_value > 0]).astype(np.int32)
    return {
        S.UNIT_HIST: hist,
        S.UNIT_HIST_MAX: hmax.astype(np.float32),
        S.UNIT_TOP_INDEX: order.astype(np.int32),
        S.UNIT_TOP_VALUE: top_value.astype(np.float32),
        S.UNIT_LABEL_MEAN: label_mean,
        S.TOP_POOL_INDEX: pool,
        S.TOP_POOL_IMAGES: np.round(np.asarray(x[pool], dtype=np.float32) * 255).astype(np.uint8),
    }


def label_selectivity(label_frequency: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much each unit prefers one digit, from how often it fires on each: label_frequency (units, classes).

    p_d = frequency on digit d / sum over digits; selectivity = (max_d p_d - 1/C) / (1 - 1/C), so 0 = fires
    as often on every digit and 1 = fires on one digit only. Returns (selectivity (units,) float32 in
    [0, 1], preferred digit (units,) int8 = argmax_d p_d); a unit that never fires: (0, -1).
    """
    f = np.asarray(label_frequency, dtype=np.float64)
    n_classes = f.shape[1]
    total = f.sum(axis=1)
    share = np.divide(f, total[:, None], out=np.zeros_like(f), where=total[:, None] > 0)
    sel = np.where(total > 0, (share.max(axis=1) - 1 / n_classes) / (1 - 1 / n_classes), 0.0)
    preferred = np.where(total > 0, share.argmax(axis=1), -1)
    return np.clip(sel, 0, 1).astype(np.float32), preferred.astype(np.int8)


def top_images(arrays: dict, unit: int) -> np.ndarray:
    """The top-activating test images (k, 28, 28) float32 in [0, 1] of `unit`, from the stored pool."""
    idx = arrays[S.UNIT_TOP_INDEX][unit][arrays[S.UNIT_TOP_VALUE][unit] > 0]
    pos = np.searchsorted(arrays[S.TOP_POOL_INDEX], idx)
    return arrays[S.TOP_POOL_IMAGES][pos].astype(np.float32) / 255


# ------------------------------------------------------------- 5. cosine
def normalise_codes(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h / ||h|| row by row, mask of all-zero codes); an all-zero code stays all zero."""
    norms = np.linalg.norm(h, axis=1, keepdims=True)
    zero = norms[:, 0] == 0
    out = np.divide(h, norms, out=np.zeros_like(h), where=norms > 0)
    return out.astype(np.float32), zero


def box_stats(values: np.ndarray) -> np.ndarray:
    """The BOX_COLUMNS of `values`; whiskers are Tukey's (furthest data within 1.5 IQR)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.zeros(len(BOX_COLUMNS))
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    lower = v[v >= q1 - 1.5 * iqr].min()
    upper = v[v <= q3 + 1.5 * iqr].max()
    return np.array([v.size, v.mean(), v.min(), lower, q1, med, q3, upper, v.max()])


def cosine_groups(h_hat: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> dict[str, np.ndarray]:
    """Cosine similarities S = h_hat h_hat^T of ordered pairs i != j, grouped as the original.

    S_ij goes to digit label(i)'s "same" group if label(j) == label(i), else to
    its "different" group. Returns, per group, (n_classes, len(BOX_COLUMNS))
    box statistics and (n_classes, 100) histograms over [-1, 1].
    """
    s = h_hat.astype(np.float64) @ h_hat.astype(np.float64).T
    out = {f"cos_{g}_{kind}": [] for g in ("same", "diff") for kind in ("box", "hist")}
    for d in range(n_classes):
        rows = np.flatnonzero(labels == d)
        block = s[rows]
        same = labels == d
        same_mask = np.broadcast_to(same, block.shape).copy()
        same_mask[np.arange(len(rows)), rows] = False  # i != j
        for g, values in (("same", block[same_mask]), ("diff", block[:, ~same])):
            out[f"cos_{g}_box"].append(box_stats(values))
            out[f"cos_{g}_hist"].append(np.histogram(np.clip(values, -1, 1), bins=COSINE_BINS)[0])
    return {k: np.asarray(v, dtype=np.float64 if k.endswith("box") else np.int32) for k, v in out.items()}


# ---------------------------------------------------------------- 6. t-SNE
def reference_layout(x: np.ndarray) -> np.ndarray:
    """The shared t-SNE starting layout: the images' top-2 pixel principal components.

    x: (n, 28, 28) -> (n, 2) float64, scaled to openTSNE's initial spread
    (std 1e-4 along the first axis) with a fixed sign per axis.
    """
    flat = x.reshape(len(x), -1).astype(np.float64)
    flat -= flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat, full_matrices=False)
    comps = vt[:2]
    comps *= np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])[:, None]  # deterministic sign
    layout = flat @ comps.T
    return layout / layout[:, 0].std() * 1e-4


def tsne(codes: np.ndarray, init: np.ndarray, cfg: AnalysisConfig, n_jobs: int = 1) -> np.ndarray:
    """2-D openTSNE embedding (n, 2) float32 of codes (n, d), seeded, from `init`."""
    from openTSNE import TSNE

    embedding = TSNE(
        perplexity=cfg.tsne_perplexity,
        early_exaggeration_iter=cfg.tsne_exaggeration_iter,
        n_iter=cfg.tsne_iter,
        initialization=init,
        random_state=cfg.seed,
        n_jobs=n_jobs,
        verbose=False,
    ).fit(np.ascontiguousarray(codes, dtype=np.float64))
    return np.asarray(embedding, dtype=np.float32)


# --------------------------------------------------- 7. K-means silhouettes
def pairwise_distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distances (n, n) float64, as scikit-learn computes them (zero diagonal)."""
    x = np.asarray(x, dtype=np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    d = x @ x.T
    d *= -2
    d += sq[:, None]
    d += sq[None, :]
    np.maximum(d, 0, out=d)
    np.sqrt(d, out=d)
    np.fill_diagonal(d, 0)
    return d


def silhouettes(dist: np.ndarray, labelings: list[np.ndarray]) -> list[np.ndarray]:
    """Per-sample silhouette values for several labelings of the same points.

    One matrix product of the distances with every labeling's one-hot matrix
    gives each point's summed distance to every cluster. Same definition as
    scikit-learn's `silhouette_samples`: a singleton cluster's points score 0,
    and a labeling with one cluster scores 0 everywhere.
    """
    n = dist.shape[0]
    onehots, offsets = [], [0]
    for labels in labelings:
        k = int(labels.max()) + 1
        m = np.zeros((n, k))
        m[np.arange(n), labels] = 1.0
        onehots.append(m)
        offsets.append(offsets[-1] + k)
    sums = dist @ np.concatenate(onehots, axis=1)
    out = []
    for labels, m, lo, hi in zip(labelings, onehots, offsets[:-1], offsets[1:]):
        counts = m.sum(axis=0)
        s = sums[:, lo:hi]
        rows = np.arange(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = s[rows, labels] / (counts[labels] - 1)
            means = s / counts
        means[:, counts == 0] = np.inf
        means[rows, labels] = np.inf
        b = means.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            sil = (b - a) / np.maximum(a, b)
        sil[~np.isfinite(sil)] = 0.0  # singletons (0/0) and one-cluster labelings (b = inf)
        out.append(sil.astype(np.float32))
    return out


def kmeans_silhouettes(x: np.ndarray, cfg: AnalysisConfig) -> dict[str, np.ndarray]:
    """K-means (seeded) for every k of cfg.kmeans_ks on x (n, d), and the silhouettes.

    Returns labels (n_k, n) int8, samples (n_k, n) float32, means (n_k,) float64.
    """
    from sklearn.cluster import KMeans

    labelings = []
    x32 = np.ascontiguousarray(x, dtype=np.float32)  # K-means in float32: twice as fast, same clusters
    for k in cfg.kmeans_ks:
        km = KMeans(n_clusters=k, random_state=cfg.seed, n_init="auto")
        labels = km.fit_predict(x32)
        labelings.append(np.unique(labels, return_inverse=True)[1].astype(np.int64))  # compact ids
    samples = silhouettes(pairwise_distances(x), labelings)
    return {
        "labels": np.stack(labelings).astype(np.int8),
        "samples": np.stack(samples),
        "means": np.array([s.mean(dtype=np.float64) for s in samples]),
    }


# ------------------------------------------------------------------- all
def _timer(say: Progress, seconds: dict[str, float]):
    """(start(step), stop(step)): report a step and record its wall time in `seconds`."""

    def start(step: str) -> None:
        say(step)
        seconds[step] = time.perf_counter()

    def stop(step: str) -> None:
        seconds[step] = round(time.perf_counter() - seconds[step], 3)

    return start, stop


def analyze_fast(
    weights: dict[str, np.ndarray],
    model_cfg: ModelConfig,
    data: Dataset,
    cfg: AnalysisConfig | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], FastMeta]:
    """The fast stage: losses, densities, unit statistics, reconstructions, cosine similarities.

    Returns (arrays named by `core.schema.FAST_ARRAYS`, their scalars).
    """
    cfg = cfg or AnalysisConfig()
    seconds: dict[str, float] = {}
    start, stop = _timer(progress or (lambda step: None), seconds)
    arrays: dict[str, np.ndarray] = {}
    scalars: dict = {}

    start("codes")
    h_train = encode_all(data.x_train, weights)
    h_test = encode_all(data.x_test, weights)
    h_hat_test, zero_test = normalise_codes(h_test)
    stop("codes")

    start("losses")
    loss_train = LossTerms(**loss_terms(data.x_train, weights, model_cfg))
    loss_test = LossTerms(**loss_terms(data.x_test, weights, model_cfg))
    stop("losses")

    start("statistics")
    for part, h in (("train", h_train), ("test", h_test)):
        st = code_statistics(h)
        scalars[f"density_{part}"] = st["density"]
        scalars[f"sparsity_{part}"] = 1.0 - st["density"]
        scalars[f"l0_mean_{part}"] = float(st["l0"].mean())
        arrays[S.L0_TRAIN if part == "train" else S.L0_TEST] = st["l0"]
        if part == "test":
            arrays[S.UNIT_FREQUENCY_TEST] = st["unit_frequency"].astype(np.float32)
            arrays[S.UNIT_MEAN_TEST] = st["unit_mean"]
    arrays[S.L0_HIST_TRAIN] = np.bincount(arrays[S.L0_TRAIN], minlength=model_cfg.n_hidden + 1).astype(np.int32)
    freq = arrays[S.UNIT_FREQUENCY_TEST]
    arrays[S.DEAD_UNITS] = freq == 0
    arrays[S.DENSE_UNITS] = freq > 0.5
    arrays[S.UNIT_LABEL_FREQUENCY] = unit_label_frequency(h_test, data.y_test)
    arrays |= unit_statistics(h_test, data.x_test, data.y_test)
    stop("statistics")

    start("reconstructions")
    n = min(cfg.n_reconstructions, len(data.x_test))
    arrays[S.LABELS_TEST] = data.y_test.astype(np.uint8)
    arrays[S.RECON_INDEX] = np.arange(n, dtype=np.int32)
    arrays[S.RECON_INPUT] = data.x_test[:n].astype(np.float32)
    arrays[S.RECON_CODE] = h_test[:n]
    arrays[S.RECON_CODE_NORMALISED] = h_hat_test[:n]
    arrays[S.RECON_OUTPUT] = decode(h_test[:n], weights)
    stop("reconstructions")

    start("cosine")
    m = min(cfg.n_cosine, len(data.x_test))
    groups = cosine_groups(h_hat_test[:m], data.y_test[:m])
    arrays[S.COS_SAME_BOX], arrays[S.COS_DIFF_BOX] = groups["cos_same_box"], groups["cos_diff_box"]
    stop("cosine")

    meta = FastMeta(
        version=ANALYSIS_VERSION,
        config=cfg.to_dict(),
        loss_train=loss_train,
        loss_test=loss_test,
        n_dead_units=int(arrays[S.DEAD_UNITS].sum()),
        n_dense_units=int(arrays[S.DENSE_UNITS].sum()),
        mean_activation_test=float(h_test.mean(dtype=np.float64)),
        n_zero_codes_test=int(zero_test.sum()),
        n_zero_codes_cosine=int(zero_test[:m].sum()),
        seconds=seconds,
        **scalars,
    )
    assert set(arrays) == set(S.FAST_ARRAYS), set(arrays) ^ set(S.FAST_ARRAYS)
    return arrays, meta


def analyze_slow(
    weights: dict[str, np.ndarray],
    data: Dataset,
    cfg: AnalysisConfig | None = None,
    *,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], SlowMeta]:
    """The slow stage: t-SNE maps and K-means silhouettes of the raw and normalised test codes.

    Returns (arrays named by `core.schema.SLOW_ARRAYS`, settings and timings); n_jobs: t-SNE threads.
    """
    cfg = cfg or AnalysisConfig()
    seconds: dict[str, float] = {}
    start, stop = _timer(progress or (lambda step: None), seconds)
    h_test = encode_all(data.x_test, weights)
    codes = dict(zip(S.SPACES, (h_test, normalise_codes(h_test)[0])))
    init = reference_layout(data.x_test)
    arrays: dict[str, np.ndarray] = {}
    for space in S.SPACES:
        start(f"tsne_{space}")
        arrays[S.tsne_array(space)] = tsne(codes[space], init, cfg, n_jobs=n_jobs)
        stop(f"tsne_{space}")
        start(f"kmeans_{space}")
        km = kmeans_silhouettes(codes[space], cfg)
        arrays[S.kmeans_labels_array(space)] = km["labels"]
        arrays[S.silhouette_array(space)] = km["samples"]
        arrays[S.silhouette_mean_array(space)] = km["means"]
        stop(f"kmeans_{space}")
    return arrays, SlowMeta(ANALYSIS_VERSION, cfg.to_dict(), seconds)


def analyze(
    weights: dict[str, np.ndarray],
    model_cfg: ModelConfig,
    data: Dataset,
    cfg: AnalysisConfig | None = None,
    *,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[dict[str, np.ndarray], FastMeta, SlowMeta]:
    """Both stages: (every array, fast scalars, slow settings)."""
    fast, fast_meta = analyze_fast(weights, model_cfg, data, cfg, progress=progress)
    slow, slow_meta = analyze_slow(weights, data, cfg, n_jobs=n_jobs, progress=progress)
    return fast | slow, fast_meta, slow_meta
