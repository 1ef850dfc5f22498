"""Benchmark: the original's analyses of one trained model against ours, in one run.

    python bench/analysis.py --data ../shared/data/mnist.npz                 # lambda_k = 0, lambda_a = 0
    python bench/analysis.py --data ... --lambda-a 3e-4 --cache-dir /tmp/c   # another cell

The model comes from the cache (trained first if missing; not timed). The
original's way: scikit-learn `TSNE()` with its defaults on the raw and the
normalised test codes (10,000 x 196), and for k = 2..10 `KMeans` +
`silhouette_score` + `silhouette_samples` on both, plus the cosine matrix,
as the notebook does. Ours: `core.analysis.analyze` (everything the
dashboard shows), with t-SNE on every core, as scikit-learn's runs.
Quality: t-SNE trustworthiness (k = 10) of both on the same
fixed subsample, and our silhouette means against scikit-learn's for our
K-means labels. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import analysis as an  # noqa: E402
from core.config import AnalysisConfig, ModelConfig, SweepGrid, TrainConfig  # noqa: E402
from core.data import load_mnist  # noqa: E402
from core.store import EntryKey, ModelStore  # noqa: E402
from core.sweep import run_sweep  # noqa: E402


def original_way(h: np.ndarray, y: np.ndarray, seed: int) -> dict:
    """The notebook's analyses (seeded here so that the run is repeatable)."""
    from sklearn.cluster import KMeans
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_samples, silhouette_score

    out, seconds = {}, {}
    t = time.perf_counter()
    with np.errstate(invalid="ignore", divide="ignore"):
        h_hat = h / np.linalg.norm(h, axis=1, keepdims=True)
    h_hat = np.nan_to_num(h_hat)  # the original divides by zero here; it would crash t-SNE
    s = h_hat[:1000] @ h_hat[:1000].T
    same = [s[np.ix_(y[:1000] == d, y[:1000] == d)] for d in range(10)]
    diff = [s[np.ix_(y[:1000] == d, y[:1000] != d)] for d in range(10)]
    seconds["cosine"] = time.perf_counter() - t
    del same, diff
    for space, x in (("raw", h), ("normalised", h_hat)):
        t = time.perf_counter()
        out[f"tsne_{space}"] = TSNE(random_state=seed).fit_transform(x)
        seconds[f"tsne_{space}"] = time.perf_counter() - t
        t = time.perf_counter()
        means = []
        for k in range(2, 11):
            labels = KMeans(n_clusters=k, random_state=seed).fit_predict(x)
            means.append(silhouette_score(x, labels))
            silhouette_samples(x, labels)
        out[f"silhouette_mean_{space}"] = np.array(means)
        seconds[f"kmeans_{space}"] = time.perf_counter() - t
    out["seconds"] = seconds
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--lambda-k", type=float, default=0.0)
    ap.add_argument("--lambda-a", type=float, default=0.0)
    ap.add_argument("--subsample", type=int, default=2000, help="points for trustworthiness")
    args = ap.parse_args()

    from sklearn.manifold import trustworthiness
    from sklearn.metrics import silhouette_score

    data = load_mnist(args.data)
    store = ModelStore(args.cache_dir)
    train_cfg = TrainConfig()
    run_sweep(SweepGrid((args.lambda_k,), (args.lambda_a,)), train_cfg, data, store, progress=False)
    model_cfg = ModelConfig(lambda_k=args.lambda_k, lambda_a=args.lambda_a)
    weights = store.load(EntryKey(model_cfg, train_cfg, data.fingerprint)).weights
    cfg = AnalysisConfig()

    t = time.perf_counter()
    ours, fast_meta, slow_meta = an.analyze(weights, model_cfg, data, cfg, n_jobs=os.cpu_count() or 1)
    meta = fast_meta.to_dict() | {"seconds": fast_meta.seconds | slow_meta.seconds}
    ours_seconds = time.perf_counter() - t
    h = an.encode_all(data.x_test, weights)
    t = time.perf_counter()
    orig = original_way(h, data.y_test, cfg.seed)
    orig_seconds = time.perf_counter() - t

    sub = np.random.default_rng(0).choice(len(h), size=min(args.subsample, len(h)), replace=False)
    h_hat = an.normalise_codes(h)[0]
    quality = {}
    for space, x in (("raw", h), ("normalised", h_hat)):
        quality[f"trust_ours_{space}"] = trustworthiness(x[sub], ours[f"tsne_{space}"][sub], n_neighbors=10)
        quality[f"trust_original_{space}"] = trustworthiness(x[sub], orig[f"tsne_{space}"][sub], n_neighbors=10)
        sk = [silhouette_score(x, labels) for labels in ours[f"kmeans_labels_{space}"]]
        quality[f"silhouette_diff_{space}"] = float(np.max(np.abs(np.array(sk) - ours[f"silhouette_mean_{space}"])))

    print(f"model lambda_k={args.lambda_k:g} lambda_a={args.lambda_a:g}, test density {meta['density_test']:.3f}")
    print(f"{'step':<20} {'original s':>10} {'ours s':>8}")
    for step in ("cosine", "tsne_raw", "kmeans_raw", "tsne_normalised", "kmeans_normalised"):
        print(f"{step:<20} {orig['seconds'][step]:>10.1f} {meta['seconds'][step]:>8.1f}")
    print(f"{'everything':<20} {orig_seconds:>10.1f} {ours_seconds:>8.1f}")
    for space in an.SPACES:
        print(
            f"t-SNE trustworthiness ({space}): original {quality[f'trust_original_{space}']:.4f}, "
            f"ours {quality[f'trust_ours_{space}']:.4f}; silhouette mean diff {quality[f'silhouette_diff_{space}']:.1e}"
        )
    print(
        json.dumps(
            {
                "speedup": round(orig_seconds / ours_seconds, 2),
                "original_seconds": round(orig_seconds, 1),
                "ours_seconds": round(ours_seconds, 1),
                "tsne_trustworthiness_ours": round(min(quality[f"trust_ours_{s}"] for s in an.SPACES), 4),
                "tsne_trustworthiness_original": round(min(quality[f"trust_original_{s}"] for s in an.SPACES), 4),
                "max_trustworthiness_drop": round(
                    max(quality[f"trust_original_{s}"] - quality[f"trust_ours_{s}"] for s in an.SPACES), 4
                ),
                "max_silhouette_mean_diff": max(quality[f"silhouette_diff_{s}"] for s in an.SPACES),
                "lambda_k": args.lambda_k,
                "lambda_a": args.lambda_a,
            }
        )
    )


if __name__ == "__main__":
    main()
