"""A visitor's own digit: from a drawing (or a smudged test digit) to MNIST's form, its code, its neighbours.

Numpy only. The dashboard's "Your digit" page gives a canvas's RGBA pixels; this module

* turns them into ink in [0, 1] (`ink`: the strokes' brightness, alpha-composited over what lies
  under them, black or a test digit);
* brings a free drawing to MNIST's form (`to_mnist`), the way MNIST's own digits were made: the
  drawing's bounding box scaled, aspect ratio kept and anti-aliased, to fit a 20 x 20 box, then
  placed in the 28 x 28 frame so that its centre of mass lies at the frame's centre (pixel (14, 14),
  where the MNIST test digits have theirs, ±0.3 px). A drawing with next to no ink gives None;
* smudges a test digit in place (`smudge`: noise, a part erased) and paints strokes over it
  (`paint_over`), without moving or rescaling it;
* runs the model (`forward`, numpy as `core.model`), and finds the test digits whose codes point the
  same way (`nearest`, cosine similarity on codes computed once per model: `index_codes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.model import decode, encode

SIDE = 28  # MNIST's frame
BOX = 20  # MNIST's digits are scaled to fit this box...
CENTRE = 14.0  # ... and moved so that their centre of mass is here (row, column), as in the MNIST files
INK_LEVEL = 0.1  # a pixel with at least this much ink counts for a drawing's size (is it only a dot?)
BOX_LEVEL = 0.5 / 255  # a pixel with any ink (nonzero as 8 bits) counts for the bounding box, as in MNIST
MIN_INK = 5.0  # less ink than this, in 28 x 28 pixels' worth (an MNIST digit has about 100), is "nearly empty"
MIN_EXTENT = 0.1  # a drawing whose larger side is under this fraction of the canvas is a dot: nearly empty
ERASE = {  # the parts of a test digit that can be erased: (rows, columns) of the 28 x 28 frame
    "none": None,
    "top half": (slice(0, 14), slice(None)),
    "bottom half": (slice(14, 28), slice(None)),
    "left half": (slice(None), slice(0, 14)),
    "right half": (slice(None), slice(14, 28)),
    "a band across the middle": (slice(11, 17), slice(None)),
}


def ink(rgba: np.ndarray, under: np.ndarray | None = None) -> np.ndarray:
    """What a canvas shows, as ink in [0, 1] (h, w) float32: its strokes over `under` (h, w) in [0, 1].

    rgba: (h, w, 4) uint8, as a browser canvas exports it. A stroke's ink is its brightness (white pen
    = 1, black eraser = 0), alpha-composited: ink = brightness * alpha + under * (1 - alpha). An opaque
    black background is ink 0; under=None is black.
    """
    a = np.asarray(rgba)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an (h, w, 4) RGBA image, got shape {a.shape}")
    if under is not None and np.shape(under) != a.shape[:2]:
        raise ValueError(f"`under` has shape {np.shape(under)}, the canvas {a.shape[:2]}")
    top = 255.0 if a.dtype == np.uint8 else 1.0
    bright = a[..., :3] @ np.full(3, 1 / (3 * top), np.float32)  # the mean of r, g, b: 3x faster than .mean
    if a.shape[2] == 3:
        return np.clip(bright, 0, 1)
    alpha = a[..., 3] * np.float32(1 / top)
    if under is None:  # over black
        return np.clip(bright * alpha, 0, 1)
    base = np.asarray(under, np.float32)
    return np.clip(base + alpha * (bright - base), 0, 1)


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): output pixel i is the mean of the input interval [i, i + 1) * n_in / n_out (box filter)."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """img (h, w) resampled to (height, width) by area averaging: anti-aliased when it shrinks, exact for
    whole-number factors (a 10x nearest-neighbour enlargement shrinks back to the original)."""
    img = np.asarray(img, np.float64)
    # einsum, not BLAS: on a busy machine OpenBLAS' threads make these small products ten times slower
    rows = np.einsum("ij,jk->ik", _area_matrix(img.shape[0], height), img)
    return np.einsum("ij,kj->ik", rows, _area_matrix(img.shape[1], width)).astype(np.float32)


def nearly_empty(img: np.ndarray) -> bool:
    """Too little ink to be a digit: under MIN_INK (in 28 x 28 pixels' worth), or only a dot."""
    img = np.asarray(img, np.float32)
    h, w = img.shape
    if float(img.sum()) * (SIDE / h) * (SIDE / w) < MIN_INK:
        return True
    rows, cols = np.flatnonzero((img >= INK_LEVEL).any(axis=1)), np.flatnonzero((img >= INK_LEVEL).any(axis=0))
    if rows.size == 0:
        return True
    extent = max((rows[-1] - rows[0] + 1) / h, (cols[-1] - cols[0] + 1) / w)
    return extent < MIN_EXTENT


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, in pixel indices; the frame's centre if there is no ink."""
    img = np.asarray(img, np.float64)
    total = img.sum()
    if total <= 0:
        return ((img.shape[0] - 1) / 2, (img.shape[1] - 1) / 2)
    return (
        float(img.sum(axis=1) @ np.arange(img.shape[0]) / total),
        float(img.sum(axis=0) @ np.arange(img.shape[1]) / total),
    )


def to_mnist(img: np.ndarray) -> np.ndarray | None:
    """A drawing's ink (h, w) in [0, 1] in MNIST's form: (28, 28) float32 in [0, 1]; None if nearly empty.

    As MNIST's own digits: the bounding box of the ink (every pixel with any) is scaled, keeping its
    aspect ratio, so that its larger side is 20 pixels (area averaging: anti-aliased), and put in the
    28 x 28 frame moved by whole pixels so that its centre of mass is at pixel (14, 14). A digit so
    lopsided that this would push ink out of the frame is moved only as far as the frame allows.
    """
    img = np.clip(np.asarray(img, np.float32), 0, 1)
    if nearly_empty(img):
        return None
    on = img > BOX_LEVEL
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    crop = img[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    f = BOX / max(h, w)
    small = resize(crop, max(1, min(BOX, round(h * f))), max(1, min(BOX, round(w * f))))
    sh, sw = small.shape
    cy, cx = centre_of_mass(small)
    top = int(np.clip(round(CENTRE - cy), 0, SIDE - sh))  # where the box's corner goes in the frame
    left = int(np.clip(round(CENTRE - cx), 0, SIDE - sw))
    out = np.zeros((SIDE, SIDE), np.float32)
    out[top : top + sh, left : left + sw] = small
    return np.clip(out, 0, 1)


def smudge(x: np.ndarray, noise: float = 0.0, erase: str = "none", seed: int = 0) -> np.ndarray:
    """A 28 x 28 digit in [0, 1] with a part erased (a key of ERASE) and Gaussian noise of standard deviation
    `noise` added (seeded: the same digit and seed give the same noise), clipped to [0, 1]; float32."""
    if erase not in ERASE:
        raise ValueError(f"unknown part to erase: {erase!r}; one of {list(ERASE)}")
    out = np.array(x, dtype=np.float32)
    if ERASE[erase] is not None:
        out[ERASE[erase]] = 0
    if noise > 0:
        rng = np.random.default_rng(seed)
        out = out + np.float32(noise) * rng.standard_normal(out.shape, dtype=np.float32)
    return np.clip(out, 0, 1).astype(np.float32)


def enlarge(x: np.ndarray, factor: int) -> np.ndarray:
    """Each pixel of x as a factor x factor block (what a canvas shows of a 28 x 28 digit)."""
    return np.kron(np.asarray(x, np.float32), np.ones((factor, factor), np.float32))


def paint_over(x: np.ndarray, rgba: np.ndarray | None) -> np.ndarray:
    """The 28 x 28 digit x with a canvas's strokes painted over it, in place (not moved, not rescaled).

    rgba: (28 k, 28 k, 4) strokes on a transparent canvas that shows x enlarged k times beneath them,
    or None (no stroke yet). The canvas's ink is shrunk back to 28 x 28 by area averaging.
    """
    x = np.asarray(x, np.float32)
    if rgba is None:
        return x
    h, w = np.asarray(rgba).shape[:2]
    if h % x.shape[0] or w % x.shape[1] or h // x.shape[0] != w // x.shape[1]:
        raise ValueError(f"a canvas of {h} x {w} is not the {x.shape} digit enlarged a whole number of times")
    k = h // x.shape[0]
    return np.clip(resize(ink(rgba, enlarge(x, k)), *x.shape), 0, 1)


@dataclass(frozen=True)
class Pass:
    """One model's answer to one digit: its code h (196,), the reconstruction (28, 28), the active units."""

    code: np.ndarray
    output: np.ndarray

    @property
    def active(self) -> int:
        return int((self.code > 0).sum())


def forward(x: np.ndarray, weights: dict[str, np.ndarray]) -> Pass:
    """The model's code and reconstruction of one 28 x 28 digit (numpy, as `core.model`)."""
    h = encode(np.asarray(x, np.float32)[None], weights)
    return Pass(h[0], decode(h, weights)[0])


@dataclass(frozen=True)
class CodeIndex:
    """The test digits' codes under one model, ready for a nearest-neighbour search.

    unit: (n, units) float32, each code divided by its length (an all-zero code stays zero);
    norms: (n,) float32, the codes' lengths.
    """

    unit: np.ndarray
    norms: np.ndarray


def index_codes(x_test: np.ndarray, weights: dict[str, np.ndarray], chunk: int = 2500) -> CodeIndex:
    """Encode every test digit once (a model's few tens of milliseconds); then each search is one product."""
    unit, norms = [], []
    for i in range(0, len(x_test), chunk):
        h = encode(x_test[i : i + chunk], weights)
        n = np.linalg.norm(h, axis=1)
        unit.append(np.divide(h, n[:, None], out=np.zeros_like(h), where=n[:, None] > 0))
        norms.append(n.astype(np.float32))
    return CodeIndex(np.concatenate(unit).astype(np.float32), np.concatenate(norms))


def nearest(code: np.ndarray, codes: CodeIndex, k: int = 5) -> tuple[np.ndarray, np.ndarray, str]:
    """The k test digits whose codes are nearest to `code`: (indices, scores, "cosine" | "length").

    Nearest = the largest cosine similarity (scores, in [-1, 1]; ties by index). An all-zero code has no
    direction: then the nearest are the test codes of smallest length (scores = those lengths).
    """
    code = np.asarray(code, np.float32)
    n = float(np.linalg.norm(code))
    k = min(k, len(codes.norms))
    if n > 0:
        sims = np.einsum("ij,j->i", codes.unit, code / np.float32(n))  # not BLAS: see `resize`
        top = np.argsort(-sims, kind="stable")[:k]
        return top, sims[top], "cosine"
    top = np.argsort(codes.norms, kind="stable")[:k]
    return top, codes.norms[top], "length"
