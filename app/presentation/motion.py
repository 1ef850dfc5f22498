"""Moving a t-SNE map from one model's layout to the next: align the new map on the old, then glide.

Every map starts from the same layout, so neighbouring models' maps are comparable; but a t-SNE map is
only determined up to rotation, reflection, scale and shift, and even from a shared start the next map
can come out turned a few degrees. Before the points glide from the old map to the new one, the new map
is turned (or mirrored), scaled and shifted onto the old one as it is drawn (`align`, orthogonal
Procrustes on the same 10,000 points), so the glide shows how the points really move, not a spin; the
next map is aligned on the map *as drawn*, so a walk through λ never jumps at the start of a glide.

The browser does all of it (`SCRIPT`, run once in the page): the server sends each model's map as
computed (`app.presentation.charts.tsne_map` with `glide_meta`), built once and kept whichever map it
is reached from; the tab remembers which map each slot shows and how it is turned, aligns the new one
on it, and moves every point along a straight line, eased (`ease`), for `GLIDE_MS`. Without the script
(or JavaScript) the new map is simply shown. The functions here are the same computations in numpy:
the reference tests/test_motion.py holds the script to, and `map_range` for the figures' axes. Pure
numpy; nothing imports Streamlit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

Pose = tuple[float, float, float, float, float, float]  # (a, b, c, d, tx, ty): p -> p @ [[a, b], [c, d]] + t
GLIDE_MS = 1200  # how long the points take to move from the old map to the new one, in the browser
SCRIPT = (Path(__file__).with_name("motion.js")).read_text()


def apply(pose: Pose, points: np.ndarray) -> np.ndarray:
    """The points (n, 2) moved by `pose`, as float64."""
    a, b, c, d, tx, ty = pose
    return np.asarray(points, dtype=np.float64) @ np.array([[a, b], [c, d]]) + np.array([tx, ty])


def align(moving: np.ndarray, fixed: np.ndarray) -> Pose:
    """The pose that lays `moving` (n, 2) best onto `fixed` (n, 2), point i onto point i.

    Rotation or reflection by orthogonal Procrustes (the SVD of the 2×2 cross-covariance), centre onto
    centre, and one scale: the ratio of the two maps' spreads (root mean square distance to the centre).
    Not the least-squares scale, which shrinks a map the more it differs from the old one (to 0.6 of its
    size between λ_a = 0 and 3e-4): a map keeps its size, and aligning back (B onto A, then A onto
    the moved B) gives the identity. A copy of `fixed` turned, mirrored, scaled and shifted aligns back exactly.
    """
    x = np.asarray(moving, dtype=np.float64)
    y = np.asarray(fixed, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"two maps of the same points, (n, 2) each: got {x.shape} and {y.shape}")
    mx, my = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mx, y - my
    u, _, vt = np.linalg.svd(xc.T @ yc)
    r = u @ vt  # the rotation (det +1) or reflection (det -1) that best turns xc onto yc
    sx, sy = np.sqrt((xc**2).sum()), np.sqrt((yc**2).sum())
    s = sy / sx if sx > 0 else 1.0
    m = s * r
    t = my - mx @ m
    return (float(m[0, 0]), float(m[0, 1]), float(m[1, 0]), float(m[1, 1]), float(t[0]), float(t[1]))


def ease(t: np.ndarray | float) -> np.ndarray:
    """Cubic ease-in-out on [0, 1] (the script in the browser uses the same curve)."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    return np.where(t < 0.5, 4 * t**3, 1 - (-2 * t + 2) ** 3 / 2)


def map_range(points: np.ndarray, pad: float = 0.04) -> tuple[tuple[float, float], tuple[float, float]]:
    """The axis ranges ((x0, x1), (y0, y1)) that show every point with a margin (`pad` of each span)."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) == 0:
        return (-1.0, 1.0), (-1.0, 1.0)
    lo, hi = p.min(axis=0), p.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad * span, hi + pad * span
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def glide_meta(model: str, slot: str, ms: int = GLIDE_MS) -> dict:
    """What a map tells the page's script (its layout.meta.glide): which model's map it is (the same for
    all its spaces: a move's maps glide together), which of the page's maps (slot), and for how long."""
    return {"map": str(model), "slot": str(slot), "ms": int(ms)}
