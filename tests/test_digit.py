"""core.digit: a drawing brought to MNIST's form, a test digit smudged, the forward pass and the nearest codes."""

from __future__ import annotations

import numpy as np
import pytest

from core import digit
from core.config import ModelConfig
from core.model import decode, encode, init_weights

CANVAS = 280


def canvas(ink: np.ndarray, opaque: bool = True) -> np.ndarray:
    """What the page's canvas sends: RGBA uint8, white ink on an opaque black background (or transparent)."""
    grey = np.rint(np.clip(ink, 0, 1) * 255).astype(np.uint8)
    alpha = np.full_like(grey, 255) if opaque else grey
    rgb = np.full_like(grey, 255) if not opaque else grey
    return np.dstack([rgb, rgb, rgb, alpha])


def ring(height: int, width: int, top: int, left: int, thick: int = 22, size: int = CANVAS) -> np.ndarray:
    """A hollow rectangle (a square "0") of the given outer size and place on a size x size canvas."""
    img = np.zeros((size, size), np.float32)
    img[top : top + height, left : left + width] = 1
    img[top + thick : top + height - thick, left + thick : left + width - thick] = 0
    return img


def bbox(img: np.ndarray) -> tuple[int, int]:
    on = img > 0
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.fixture(scope="module")
def mnist_test(mnist_path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(mnist_path) as f:
        return f["x_test"].astype(np.float32) / 255, f["y_test"]


# ------------------------------------------------------------------------------------------- ink
def test_ink_is_the_strokes_brightness_over_black():
    img = np.zeros((CANVAS, CANVAS), np.float32)
    img[100:120, 50:200] = 1
    assert np.array_equal(digit.ink(canvas(img)), img)


def test_ink_composites_strokes_over_what_lies_under_them():
    under = np.full((4, 4), 0.6, np.float32)
    rgba = np.zeros((4, 4, 4), np.uint8)  # transparent: nothing drawn
    rgba[0, 0] = (255, 255, 255, 255)  # the ink pen
    rgba[1, 1] = (0, 0, 0, 255)  # the eraser
    rgba[2, 2] = (255, 255, 255, 128)  # an anti-aliased edge of the pen
    out = digit.ink(rgba, under)
    assert out[0, 0] == 1 and out[1, 1] == 0
    assert out[2, 2] == pytest.approx(128 / 255 + 0.6 * (1 - 128 / 255), abs=1e-6)
    assert out[3, 3] == pytest.approx(0.6)


def test_ink_refuses_what_is_not_an_image():
    with pytest.raises(ValueError):
        digit.ink(np.zeros((28, 28)))
    with pytest.raises(ValueError):
        digit.ink(np.zeros((28, 28, 4), np.uint8), np.zeros((10, 10)))


# ---------------------------------------------------------------------------------------- resize
def test_resize_undoes_a_whole_number_enlargement_exactly():
    x = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    assert np.allclose(digit.resize(digit.enlarge(x, 10), 28, 28), x, atol=1e-6)


def test_resize_averages_areas_so_thin_lines_are_anti_aliased_not_lost():
    img = np.zeros((280, 280), np.float32)
    img[:, 143] = 1  # a line one canvas pixel wide
    small = digit.resize(img, 28, 28)
    assert np.allclose(small[:, 14], 0.1) and small.sum() == pytest.approx(28 * 0.1)
    odd = digit.resize(np.ones((37, 53)), 20, 20)  # no whole-number factor: still an average
    assert np.allclose(odd, 1)


# -------------------------------------------------------------------------------------- to_mnist
def test_a_drawing_is_scaled_to_fit_20_pixels_keeping_its_aspect_ratio():
    x = digit.to_mnist(ring(200, 100, 40, 90))
    h, w = bbox(x)
    assert (h, w) == (20, 10)
    wide = digit.to_mnist(ring(60, 240, 100, 20, thick=14))
    assert bbox(wide) == (5, 20)


def test_a_drawing_is_centred_by_its_centre_of_mass_at_pixel_14():
    x = digit.to_mnist(ring(180, 120, 10, 10))
    cy, cx = digit.centre_of_mass(x)
    assert abs(cy - digit.CENTRE) <= 0.5 and abs(cx - digit.CENTRE) <= 0.5
    seven = np.zeros((CANVAS, CANVAS), np.float32)  # a top bar and a stem: the mass lies high up
    seven[30:52, 40:240] = 1
    seven[52:260, 200:222] = 1
    y = digit.to_mnist(seven)
    cy, cx = digit.centre_of_mass(y)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    assert bbox(y)[0] == 20


def test_the_same_drawing_anywhere_and_at_any_size_gives_the_same_digit():
    here = digit.to_mnist(ring(200, 140, 20, 20, thick=30))
    moved = digit.to_mnist(ring(200, 140, 70, 130, thick=30))
    smaller = digit.to_mnist(ring(100, 70, 150, 10, thick=15))
    assert np.allclose(here, moved, atol=1e-6)
    assert np.abs(here - smaller).mean() < 0.02


def test_a_lopsided_drawing_keeps_all_its_ink_in_the_frame():
    img = np.zeros((CANVAS, CANVAS), np.float32)
    img[20:260, 20:30] = 1  # a thin stroke...
    img[20:260, 200:280] = 1  # ...and a heavy block: centring the mass would push the stroke out on the left
    x = digit.to_mnist(img)
    assert x[:, 0].sum() > 0  # pushed to the edge, not past it
    assert x.sum() == pytest.approx(digit.resize(img[20:260, 20:280], round(240 * 20 / 260), 20).sum(), rel=1e-5)
    assert digit.centre_of_mass(x)[1] > 14.5  # the price: its mass is right of the centre


def test_an_empty_or_nearly_empty_canvas_is_not_a_digit():
    empty = np.zeros((CANVAS, CANVAS), np.float32)
    assert digit.to_mnist(empty) is None
    dot = empty.copy()
    dot[140:160, 140:160] = 1  # one click of the pen
    assert digit.to_mnist(dot) is None
    haze = np.full((CANVAS, CANVAS), 0.05, np.float32)  # plenty of ink in total, but no stroke
    assert digit.to_mnist(haze) is None
    dash = empty.copy()
    dash[130:150, 60:220] = 1  # a short bar: a 1 lying down, or a minus; a digit-sized drawing
    assert digit.to_mnist(dash) is not None


def test_real_mnist_test_digits_stay_themselves(mnist_test):
    """MNIST's digits are already in this form: the preprocessing leaves nearly all of them exactly as they are."""
    x = mnist_test[0][:1000]
    same = [np.abs(digit.to_mnist(im) - im).max() < 1e-5 for im in x]
    assert np.mean(same) >= 0.99
    close = [np.abs(digit.to_mnist(im) - im).mean() for im in x]
    assert np.median(close) == 0 and max(close) < 0.08  # the rest: moved by one pixel at most


def test_real_mnist_digits_drawn_on_the_canvas_come_back(mnist_test):
    """A test digit enlarged to the canvas (as if drawn there), or drawn off-centre, comes back as itself."""
    for im in mnist_test[0][:200]:
        big = digit.enlarge(im, 10)
        assert np.abs(digit.to_mnist(digit.ink(canvas(big))) - im).mean() < 0.01
    im = mnist_test[0][0]
    off = np.zeros((CANVAS, CANVAS), np.float32)
    off[5:145, 120:260] = digit.resize(digit.enlarge(im, 10), 140, 140)  # half the size, in a corner
    assert np.abs(digit.to_mnist(off) - im).mean() < 0.03


# ---------------------------------------------------------------------------------- test digits
def test_smudge_erases_a_part_and_adds_repeatable_noise():
    x = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    assert np.array_equal(digit.smudge(x), x)
    top = digit.smudge(x, erase="top half")
    assert not top[:14].any() and np.array_equal(top[14:], x[14:])
    band = digit.smudge(x, erase="a band across the middle")
    assert not band[11:17].any() and np.array_equal(band[:11], x[:11])
    noisy = digit.smudge(x, noise=0.3, seed=7)
    assert np.array_equal(noisy, digit.smudge(x, noise=0.3, seed=7))
    assert not np.array_equal(noisy, digit.smudge(x, noise=0.3, seed=8))
    assert noisy.min() >= 0 and noisy.max() <= 1 and 0.1 < np.abs(noisy - x).mean() < 0.3
    with pytest.raises(ValueError):
        digit.smudge(x, erase="the lot")


def test_strokes_are_painted_over_a_test_digit_in_place():
    x = np.zeros((28, 28), np.float32)
    x[4:24, 12:16] = 1  # a "1"
    assert digit.paint_over(x, None) is x
    rgba = np.zeros((280, 280, 4), np.uint8)  # nothing drawn yet
    assert np.allclose(digit.paint_over(x, rgba), x)
    rgba[40:60, 0:280] = (255, 255, 255, 255)  # an ink bar across rows 4-5
    rgba[200:240, 100:180] = (0, 0, 0, 255)  # the eraser over rows 20-23 of the stem
    out = digit.paint_over(x, rgba)
    assert np.allclose(out[4:6], 1) and np.allclose(out[20:24, 12:16], 0)
    assert np.allclose(out[8:20], x[8:20])  # the rest did not move
    with pytest.raises(ValueError):
        digit.paint_over(x, np.zeros((100, 100, 4), np.uint8))


def test_nearly_empty_sees_an_erased_test_digit():
    x = np.zeros((28, 28), np.float32)
    assert digit.nearly_empty(x)
    x[10:12, 10:12] = 1  # four pixels: a speck
    assert digit.nearly_empty(x)
    x[4:24, 12:15] = 1
    assert not digit.nearly_empty(x)


# ---------------------------------------------------------------------------- the model's answer
@pytest.fixture(scope="module")
def weights():
    return init_weights(ModelConfig(), seed=3)


def test_forward_is_the_models_own_pass(weights):
    x = np.random.default_rng(2).random((28, 28)).astype(np.float32)
    p = digit.forward(x, weights)
    h = encode(x[None], weights)
    assert np.array_equal(p.code, h[0]) and np.array_equal(p.output, decode(h, weights)[0])
    assert p.active == int((h > 0).sum()) and p.code.shape == (196,) and p.output.shape == (28, 28)


def test_the_nearest_test_digit_of_a_test_digit_is_itself(weights):
    x = np.random.default_rng(4).random((300, 28, 28)).astype(np.float32) ** 4
    index = digit.index_codes(x, weights, chunk=64)
    assert index.unit.shape == (300, 196) and np.allclose(np.linalg.norm(index.unit, axis=1), 1, atol=1e-5)
    code = digit.forward(x[17], weights).code
    ids, scores, how = digit.nearest(code, index, 5)
    assert how == "cosine" and ids[0] == 17 and scores[0] == pytest.approx(1, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True) and len(set(ids)) == 5
    h = encode(x, weights)
    cos = (h @ code) / (np.linalg.norm(h, axis=1) * np.linalg.norm(code))
    assert np.allclose(scores, np.sort(cos)[::-1][:5], atol=1e-5)


def test_an_all_zero_code_finds_the_smallest_codes():
    unit = np.eye(4, 3, dtype=np.float32)
    index = digit.CodeIndex(unit, np.array([3.0, 0.5, 2.0, 0.0], np.float32))
    ids, scores, how = digit.nearest(np.zeros(3, np.float32), index, 2)
    assert how == "length" and list(ids) == [3, 1] and list(scores) == [0.0, 0.5]
    ids, _, _ = digit.nearest(np.array([0, 1, 0], np.float32), index, 10)  # k larger than the set
    assert ids[0] == 1 and len(ids) == 4
