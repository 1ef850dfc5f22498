"""What the dashboard reads and derives: the results table, CSV export, the Pareto front, comparisons."""

import csv
import io
import itertools

import numpy as np
import pytest

from conftest import TINY_GRID
from core.results import csv_bytes, differences, load_cell, pareto_front, results_table, scan
from core.store import ModelStore


def brute_force_front(x, y):
    return sorted(
        (
            i
            for i in range(len(x))
            if not any(
                (x[j] <= x[i] and y[j] <= y[i] and (x[j] < x[i] or y[j] < y[i]))
                or (j < i and (x[j], y[j]) == (x[i], y[i]))
                for j in range(len(x))
                if j != i
            )
        ),
        key=lambda i: x[i],
    )


@pytest.mark.parametrize("seed", range(20))
def test_pareto_front_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    x = rng.integers(0, 8, n).astype(float).tolist()  # small integers: many ties
    y = rng.integers(0, 8, n).astype(float).tolist()
    front = pareto_front(x, y)
    assert front == brute_force_front(x, y)
    assert all(x[a] < x[b] and y[a] > y[b] for a, b in itertools.pairwise(front))  # a staircase


def test_results_table_has_one_row_per_analysed_cell(tiny_cache):
    cells = scan(ModelStore(tiny_cache))
    rows = results_table(cells)
    assert len(rows) == len(TINY_GRID.lambda_k) * len(TINY_GRID.lambda_a)
    assert [(r["lambda_a"], r["lambda_k"]) for r in rows] == sorted((a, k) for k, a in cells)
    view = load_cell(ModelStore(tiny_cache), rows[-1]["lambda_k"], rows[-1]["lambda_a"])
    assert rows[-1]["mse_test"] == view.meta["loss_test"]["mse"]
    assert rows[-1]["sparsity_test"] == pytest.approx(1 - rows[-1]["density_test"])
    back = list(csv.DictReader(io.StringIO(csv_bytes(rows).decode())))
    assert len(back) == len(rows) and float(back[-1]["mse_test"]) == rows[-1]["mse_test"]  # full precision


def test_csv_bytes_of_columns_round_trips_numpy_values():
    cols = {"index": np.arange(3), "x": np.array([0.1, 1 / 3, -2.5], dtype=np.float32), "name": ["a", "b,c", 'd"']}
    back = list(csv.reader(io.StringIO(csv_bytes(cols).decode())))
    assert back[0] == ["index", "x", "name"]
    assert [int(r[0]) for r in back[1:]] == [0, 1, 2]
    assert np.array([float(r[1]) for r in back[1:]], dtype=np.float32).tolist() == cols["x"].tolist()
    assert [r[2] for r in back[1:]] == ["a", "b,c", 'd"']
    with pytest.raises(ValueError, match="different lengths"):
        csv_bytes({"a": [1, 2], "b": [1]})


def meta(dead, l0, mse, sparsity):
    return {"n_dead_units": dead, "l0_mean_test": l0, "loss_test": {"mse": mse}, "sparsity_test": sparsity}


def test_differences_spell_out_the_change():
    a, b = meta(3, 150.0, 0.010, 0.25), meta(15, 90.0, 0.0138, 0.55)
    text = differences(a, b)
    assert text[0] == "12 more dead units (3 → 15)"
    assert text[1] == "90 instead of 150 active units per digit (-40%)"
    assert text[2] == "test reconstruction error (MSE) +38% (worse)"
    assert text[3] == "sparsity 25% → 55% (+30 percentage points)"
    back = differences(b, a)
    assert back[0] == "12 fewer dead units (15 → 3)" and back[2].endswith("(better)")
    same = differences(a, a)
    assert same[0] == "the same number of dead units" and "unchanged" in same[2] and "points" not in same[3]
