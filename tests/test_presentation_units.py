"""Tests for app.presentation.units: the unit explorer's decisions, on a handful of synthetic units."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from app.presentation import units
from core.analysis import label_selectivity

N_IMAGES = 1000


def fake_view(label_frequency: np.ndarray, fires_on: np.ndarray, dense: np.ndarray | None = None):
    """A stand-in CellView with the arrays `units_columns` reads: label_frequency (n, 10), fires_on (n,) counts."""
    n = len(fires_on)
    hist = np.zeros((n, 30), dtype=np.int32)
    hist[:, 0] = fires_on  # only the total count matters here
    arrays = {
        "dead_units": np.asarray(fires_on) == 0,
        "dense_units": np.zeros(n, bool) if dense is None else np.asarray(dense),
        "unit_label_frequency": np.asarray(label_frequency, dtype=np.float32),
        "unit_hist": hist,
        "labels_test": np.zeros(N_IMAGES, np.uint8),
        "unit_mean_test": np.ones(n, np.float32),
        "unit_hist_max": np.ones(n, np.float32),
    }
    return SimpleNamespace(arrays=arrays)


def one_digit(d: int, share: float = 1.0) -> np.ndarray:
    """How often a unit fires on each digit: `share` on digit d, the rest spread evenly."""
    f = np.full(10, (1 - share) / 9)
    f[d] = share
    return f


EVEN = np.full(10, 0.1)


@pytest.fixture
def five_units():
    """0: dead; 1: nearly dead but on one digit only; 2: a clear 3s unit; 4: even; 3: a 7s unit, less selective."""
    freq = np.stack([np.zeros(10), one_digit(5), one_digit(3, 0.9), one_digit(7, 0.5), EVEN])
    fires_on = np.array([0, units.RARE - 1, 300, 400, 600])
    view = fake_view(freq, fires_on, dense=[False, False, False, False, True])
    return units.units_columns(view)


def test_units_columns_hold_the_exact_counts_and_the_selectivity(five_units):
    assert five_units["fires_on_images"].tolist() == [0, units.RARE - 1, 300, 400, 600]
    assert five_units["fires_on_fraction"][2] == 300 / N_IMAGES
    assert five_units["status"].tolist() == ["dead", "normal", "normal", "normal", "dense"]
    assert five_units["preferred_digit"][0] == -1 and five_units["preferred_digit"][2] == 3
    assert five_units["selectivity"][1] == pytest.approx(1) and five_units["selectivity"][4] == pytest.approx(0)


def test_the_opening_unit_is_the_most_selective_of_the_common_ones(five_units):
    # unit 1 is the most selective of all, but it fires on fewer than RARE images: it is not chosen
    assert units.telling_unit(five_units) == 2


@pytest.mark.parametrize("seed", range(10))
def test_the_opening_unit_on_random_units(seed):
    rng = np.random.default_rng(seed)
    n = 40
    freq = rng.random((n, 10)) ** 4
    fires_on = rng.integers(0, 60, n) * rng.integers(0, 2, n)  # many dead and rare units
    cols = units.units_columns(fake_view(freq, fires_on))
    u = units.telling_unit(cols)
    common = (cols["fires_on_fraction"] >= 0.01) & (cols["fires_on_images"] >= units.RARE)
    if common.any():
        assert common[u] and cols["selectivity"][u] == cols["selectivity"][common].max()
    else:
        assert cols["fires_on_fraction"][u] == cols["fires_on_fraction"].max()


def test_with_no_common_unit_the_opening_unit_fires_most_often():
    cols = units.units_columns(fake_view(np.stack([one_digit(1), one_digit(2)]), np.array([3, 5])))
    assert units.telling_unit(cols) == 1


def test_a_dead_unit_gets_the_dead_verdict(five_units):
    text = units.unit_verdict(five_units, 0, np.zeros(10), N_IMAGES)
    assert text.startswith("Unit 0 is **dead**") and "no information" in text


def test_a_rare_unit_is_called_nearly_dead(five_units):
    text = units.unit_verdict(five_units, 1, one_digit(5), N_IMAGES)
    assert f"fires on only {units.RARE - 1} of the 1,000 test digits" in text and "nearly dead" in text


def test_a_selective_unit_names_its_digit(five_units):
    text = units.unit_verdict(five_units, 2, one_digit(3), N_IMAGES)
    assert text == (
        "Unit 2 is firing on 30.0% of the test digits, most often on **3s** "
        f"(selectivity {five_units['selectivity'][2]:.2f} on a 0–1 scale)."
    )
    # its strongest activations on another digit are said too
    assert units.unit_verdict(five_units, 2, one_digit(8), N_IMAGES).endswith(", most strongly on **8s**.")


def test_an_even_dense_unit_says_so_and_names_its_strongest_digit(five_units):
    text = units.unit_verdict(five_units, 4, one_digit(6), N_IMAGES)
    assert "a **dense** unit" in text and "about as often on every digit" in text
    assert "most strongly on **6s**" in text
    assert units.SELECTIVE > five_units["selectivity"][4]


def test_the_verdict_agrees_with_label_selectivity():
    freq = np.random.default_rng(3).random((12, 10))
    cols = units.units_columns(fake_view(freq, np.full(12, 500)))
    sel, preferred = label_selectivity(freq)
    for u in range(12):
        text = units.unit_verdict(cols, u, freq[u], N_IMAGES)
        if sel[u] >= units.SELECTIVE:
            assert f"most often on **{preferred[u]}s**" in text
        else:
            assert "about as often on every digit" in text


def test_units_table_shows_percent_and_a_dash_for_no_preferred_digit(five_units):
    table = units.units_table(five_units)
    assert table["preferred digit"].tolist()[:3] == ["–", "5", "3"]
    np.testing.assert_allclose(table["fires on"], five_units["fires_on_fraction"] * 100)
    assert len({len(v) for v in table.values()}) == 1
