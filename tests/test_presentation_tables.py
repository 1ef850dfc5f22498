"""Tests for app.presentation.tables: the CSV files the pages offer hold exactly the stored data."""

import csv
import io

import numpy as np
import pytest

from app.presentation import tables
from core.analysis import label_selectivity
from core.results import load_cell, results_table, scan
from core.store import ModelStore


def read(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@pytest.fixture(scope="module")
def views(tiny_cache):
    store = ModelStore(tiny_cache)
    return load_cell(store, 0.0, 0.0), load_cell(store, 1e-3, 1e-3)


def test_units_csv_has_one_row_per_unit_with_its_statistics(views):
    view = views[0]
    rows = read(tables.units_csv(view))
    a = view.arrays
    assert len(rows) == 196 and [int(r["unit"]) for r in rows] == list(range(196))
    np.testing.assert_allclose([float(r["fires_on_fraction"]) for r in rows], a["unit_frequency_test"], rtol=1e-6)
    assert [int(r["fires_on_images"]) for r in rows] == a["unit_hist"].sum(axis=1).tolist()
    sel, _ = label_selectivity(a["unit_label_frequency"])
    assert np.array([float(r["selectivity"]) for r in rows], dtype=np.float32).tolist() == sel.tolist()
    assert all(str(np.float32(r["selectivity"])) == r["selectivity"] for r in rows)  # float32's shortest text
    assert [r["status"] == "dead" for r in rows] == a["dead_units"].tolist()


def test_filters_csv_holds_every_weight(views):
    view = views[1]
    rows = read(tables.filters_csv(view))
    W1 = view.weights["W1"]
    assert len(rows) == 196 and len(rows[0]) == 2 + 784
    u = 37
    got = np.array([float(rows[u][f"w_{r}_{c}"]) for r in range(28) for c in range(28)], dtype=np.float32)
    np.testing.assert_array_equal(got, W1[:, u])
    assert float(rows[u]["bias"]) == pytest.approx(float(view.weights["b1"][u]))


def test_tsne_and_clusters_and_similarity_csvs(views):
    view = views[0]
    a = view.arrays
    t = read(tables.tsne_csv(view))
    assert len(t) == len(a["labels_test"])
    assert float(t[5]["normalised_y"]) == pytest.approx(float(a["tsne_normalised"][5, 1]))
    assert [int(r["label"]) for r in t] == a["labels_test"].tolist()
    k = read(tables.clusters_csv(view))
    assert [int(r["k"]) for r in k] == list(view.meta.config["kmeans_ks"])
    np.testing.assert_allclose([float(r["silhouette_mean_raw"]) for r in k], a["silhouette_mean_raw"])
    s = read(tables.similarity_csv(view))
    assert len(s) == 20 and {r["pairs"] for r in s} == {"same digit", "different digits"}
    assert float(s[3]["median"]) == pytest.approx(a["cos_same_box"][3, 5])


def test_codes_csv_recomputes_reconstruction_error(views):
    a = views[0].arrays
    rows = read(tables.codes_csv(a["recon_index"], a["recon_code"], a["recon_input"], a["recon_output"]))
    assert len(rows) == len(a["recon_index"])
    mse0 = float(np.mean((a["recon_output"][0].astype(float) - a["recon_input"][0]) ** 2))
    assert float(rows[0]["reconstruction_mse"]) == pytest.approx(mse0)
    assert int(rows[0]["active_units"]) == np.count_nonzero(a["recon_code"][0])
    assert float(rows[0]["h_5"]) == pytest.approx(float(a["recon_code"][0, 5]))


def test_results_history_and_comparison_csvs(tiny_cache, views):
    a, b = views
    assert len(read(tables.results_csv(scan(ModelStore(tiny_cache))))) == 4
    h = read(tables.history_csv(a))
    assert [float(r["test_loss"]) for r in h] == a.history["val_loss"]
    c = read(tables.comparison_csv(a, b))
    assert c[0]["metric"] == "lambda_k" and float(c[0]["model_B"]) == 1e-3
    dead = next(r for r in c if r["metric"] == "dead units")
    assert int(dead["B_minus_A"]) == b.meta.n_dead_units - a.meta.n_dead_units


def test_csv_bytes_of_columns_round_trips_numpy_values():
    cols = {"index": np.arange(3), "x": np.array([0.1, 1 / 3, -2.5], dtype=np.float32), "name": ["a", "b,c", 'd"']}
    back = list(csv.reader(io.StringIO(tables.csv_bytes(cols).decode())))
    assert back[0] == ["index", "x", "name"]
    assert [int(r[0]) for r in back[1:]] == [0, 1, 2]
    assert np.array([float(r[1]) for r in back[1:]], dtype=np.float32).tolist() == cols["x"].tolist()
    assert [r[2] for r in back[1:]] == ["a", "b,c", 'd"']
    with pytest.raises(ValueError, match="different lengths"):
        tables.csv_bytes({"a": [1, 2], "b": [1]})


def test_the_results_table_round_trips_at_full_precision(tiny_cache):
    rows = results_table(scan(ModelStore(tiny_cache)))
    back = list(csv.DictReader(io.StringIO(tables.csv_bytes(rows).decode())))
    assert len(back) == len(rows) and float(back[-1]["mse_test"]) == rows[-1]["mse_test"]  # full precision
