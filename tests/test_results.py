"""What the dashboard reads and derives: the results table, a stored model's arrays, the Pareto front."""

import itertools

import numpy as np
import pytest

from conftest import TINY_GRID
from core.analysis import top_images
from core.results import load_cell, pareto_front, results_table, scan
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
    assert rows[-1]["mse_test"] == view.meta.loss_test.mse
    assert rows[-1]["sparsity_test"] == pytest.approx(1 - rows[-1]["density_test"])


def test_results_table_has_the_originals_losses_and_both_densities(tiny_cache):
    """The original plots Keras' history['loss'][-1] and ['val_loss'][-1], and the density on both sets."""
    store = ModelStore(tiny_cache)
    rows = results_table(scan(store))
    for row in rows:
        view = load_cell(store, row["lambda_k"], row["lambda_a"])
        assert row["history_loss_train"] == view.history["loss"][-1]
        assert row["history_loss_test"] == view.history["val_loss"][-1]
        assert row["density_train"] == view.meta.density_train
        assert row["sparsity_train"] == pytest.approx(1 - row["density_train"])
        assert row["density_test"] == view.meta.density_test
        # the fresh pass over the training set with the final weights is another number, kept beside it
        assert row["loss_train"] == view.meta.loss_train.total != row["history_loss_train"]
    # the dashboard's CSV of the table carries every column, these included
    from app.presentation.tables import results_csv

    header = results_csv(scan(store)).decode().splitlines()[0].split(",")
    assert set(rows[0]) <= set(header)
    assert {"history_loss_train", "history_loss_test", "density_train", "sparsity_train"} <= set(header)


def test_top_images_of_a_stored_model_are_its_test_digits(tiny_cache, tiny_data):
    a = load_cell(ModelStore(tiny_cache), 0.0, 0.0).arrays
    u = int(np.argmax(a["unit_frequency_test"]))
    np.testing.assert_allclose(top_images(a, u), tiny_data.x_test[a["unit_top_index"][u]], atol=0.5 / 255 + 1e-7)


def test_other_seeds_are_replicates_never_the_shown_model(tiny_cache, tiny_data, tmp_path):
    """The seed study (bench/seed_spread.py) trains cells again under other seeds, newer than seed 0's:
    the dashboard keeps showing seed 0's analysed model and lists the others as its spread."""
    import shutil

    from conftest import build_train_cfg
    from core.config import SweepGrid
    from core.sweep import run_sweep

    root = tmp_path / "cache"
    shutil.copytree(tiny_cache, root)
    store = ModelStore(root)
    before = scan(store)[(0.0, 0.0)]
    for seed in (1, 2):
        run_sweep(
            SweepGrid((0.0,), (0.0,)),
            build_train_cfg(max_epochs=2, seed=seed),
            tiny_data,
            store,
            jobs=1,
            progress=False,
        )
    cells = scan(store)
    shown = cells[(0.0, 0.0)]
    assert shown.entry == before.entry and shown.readiness == "complete"
    assert [r.seed for r in shown.seeds] == [0, 1, 2]
    losses = [r.final_val_loss for r in shown.seeds]
    assert len(set(losses)) == 3  # three trainings, three numbers
    assert losses[0] == shown.history["val_loss"][-1]
    row = next(r for r in results_table(cells) if (r["lambda_k"], r["lambda_a"]) == (0.0, 0.0))
    assert row["seeds"] == 3
    assert row["history_loss_test_min"] == min(losses) < row["history_loss_test_max"] == max(losses)
    assert row["history_loss_test_min"] <= row["history_loss_test"] <= row["history_loss_test_max"]
    other = next(r for r in results_table(cells) if (r["lambda_k"], r["lambda_a"]) != (0.0, 0.0))
    assert other["seeds"] == 1 and other["history_loss_test_min"] == other["history_loss_test_max"]
    # a cell trained only under another seed is still shown
    run_sweep(
        SweepGrid((5e-4,), (0.0,)), build_train_cfg(max_epochs=2, seed=3), tiny_data, store, jobs=1, progress=False
    )
    assert [r.seed for r in scan(store)[(5e-4, 0.0)].seeds] == [3]


def test_an_entry_whose_lambda_differs_in_the_last_bits_lists_as_the_grid_cell(tiny_cache, tmp_path):
    """An older release trained `--lambda-k 4.444444444444444e-05` as a cell of its own beside the grid's
    4.4444444444444447e-05: the listing names it by the grid's value, one cell, one slider position."""
    import shutil

    from core.config import ORIGINAL_LAMBDA_K, ModelConfig
    from core.store import EntryKey

    root = tmp_path / "cache"
    shutil.copytree(tiny_cache, root)
    store = ModelStore(root)
    grid_k, typed = ORIGINAL_LAMBDA_K[4], 4.444444444444444e-05
    assert typed != grid_k
    model = store.load_entry(scan(store)[(1e-3, 0.0)].entry)
    old = next(e for e in store.index() if e.cell == (1e-3, 0.0)).key
    for lk in (typed, grid_k):  # as the older release and the grid name it
        store.save(
            EntryKey(ModelConfig(lambda_k=lk, lambda_a=0.0), old.train, old.data_fingerprint),
            model.weights,
            model.history,
        )
    cells = scan(ModelStore(root))
    near = [c for c in cells if abs(c[0] - grid_k) < 1e-9 and c[1] == 0.0]
    assert near == [(grid_k, 0.0)], near
    assert cells[(grid_k, 0.0)].lambda_k == grid_k
