"""Analyses: properties on tiny data, equality with scikit-learn, seeding, the zero-code convention."""

import numpy as np
import pytest
from sklearn.metrics import silhouette_samples, silhouette_score

from conftest import build_model_cfg, build_train_cfg
from core import analysis as an
from core.config import AnalysisConfig
from core.model import init_weights
from core.train import train

SMALL = AnalysisConfig(n_cosine=150, tsne_exaggeration_iter=50, tsne_iter=100, kmeans_ks=(2, 3, 4))


@pytest.fixture(scope="module")
def trained(tiny_data):
    cfg = build_model_cfg(lambda_k=1e-4, lambda_a=1e-3)
    return cfg, train(cfg, build_train_cfg(max_epochs=3), tiny_data)


@pytest.fixture(scope="module")
def analysed(trained, tiny_data):
    cfg, result = trained
    arrays, fast, slow = an.analyze(result.weights, cfg, tiny_data, SMALL)
    return arrays, fast.to_dict() | {"seconds": fast.seconds | slow.seconds}


def test_density_and_l0_equal_direct_counts(trained, tiny_data, analysed):
    _, result = trained
    arrays, meta = analysed
    h = an.encode_all(tiny_data.x_test, result.weights)
    assert meta["density_test"] == pytest.approx(np.count_nonzero(h) / h.size)
    assert meta["sparsity_test"] == pytest.approx(1 - meta["density_test"])
    assert 0 <= meta["density_train"] <= 1
    np.testing.assert_array_equal(arrays["l0_test"], np.count_nonzero(h, axis=1))
    assert arrays["l0_hist_train"].sum() == len(tiny_data.x_train)
    np.testing.assert_allclose(arrays["unit_frequency_test"], (h > 0).mean(axis=0))


def test_dead_and_dense_units_equal_direct_counts(tiny_data):
    cfg = build_model_cfg()
    w = init_weights(cfg, 0)
    w["W1"][:, :7] = -1.0  # these 7 units can never fire on non-negative pixels
    w["b1"][:7] = -1.0
    w["b1"][7:12] = 50.0  # and these 5 always fire
    h = an.encode_all(tiny_data.x_test, w)
    stats = an.code_statistics(h)
    assert (stats["unit_frequency"] == 0).sum() == np.sum(~(h > 0).any(axis=0))
    assert (stats["unit_frequency"] == 0).sum() >= 7
    assert (stats["unit_frequency"] > 0.5).sum() == np.sum((h > 0).mean(axis=0) > 0.5) >= 5


def test_loss_terms_equal_the_trainers_final_test_loss(trained, tiny_data, analysed):
    cfg, result = trained
    _, meta = analysed
    terms = meta["loss_test"]
    assert terms["total"] == pytest.approx(result.val_loss[-1], rel=1e-5)
    assert terms["total"] == pytest.approx(terms["mse"] + terms["activity"] + terms["kernel"])
    assert terms["kernel"] == pytest.approx(cfg.lambda_k * float(np.sum(result.weights["W1"].astype(float) ** 2)))
    assert terms["activity"] > 0 and terms["mse"] > 0


def test_zero_codes_give_zero_cosine_not_nan():
    h = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 3, 4], [0, 0, 0]], dtype=np.float32)
    h_hat, zero = an.normalise_codes(h)
    assert zero.tolist() == [True, False, False, False, True]
    assert not np.isnan(h_hat).any()
    np.testing.assert_allclose(np.linalg.norm(h_hat[~zero], axis=1), 1, rtol=1e-6)
    groups = an.cosine_groups(h_hat, np.array([0, 0, 0, 1, 1]), n_classes=2)
    for values in groups.values():
        assert np.isfinite(values).all()
    box = dict(zip(an.BOX_COLUMNS, groups["cos_same_box"][0]))
    # digit 0: ordered pairs among rows 0,1,2 -> cos(0,1)=cos(0,2)=0 twice each, cos(1,2)=1 twice
    assert box["n"] == 6 and box["mean"] == pytest.approx(1 / 3) and box["max"] == 1 and box["min"] == 0


def test_cosine_groups_count_every_ordered_pair_once(analysed, trained, tiny_data):
    arrays, _ = analysed
    labels = tiny_data.y_test[: SMALL.n_cosine]
    counts = np.bincount(labels, minlength=10)
    n_same = arrays["cos_same_box"][:, 0]
    n_diff = arrays["cos_diff_box"][:, 0]
    np.testing.assert_array_equal(n_same, counts * (counts - 1))
    np.testing.assert_array_equal(n_diff, counts * (len(labels) - counts))
    groups = an.cosine_groups(
        an.normalise_codes(an.encode_all(tiny_data.x_test, trained[1].weights))[0][: SMALL.n_cosine], labels
    )
    np.testing.assert_array_equal(groups["cos_same_hist"].sum(axis=1), n_same)
    stats = arrays["cos_diff_box"][:, 2:]  # min, lowerfence, q1, median, q3, upperfence, max
    assert (np.diff(stats, axis=1) >= -1e-12).all()
    assert stats.min() >= -1 and stats.max() <= 1 + 1e-12


def test_silhouettes_equal_scikit_learn():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 1.0, (60, 5)) for c in (0, 3, 6)])
    labelings = [rng.integers(0, 3, 180), np.repeat([0, 1, 2], 60), np.r_[np.zeros(179, int), [1]]]
    ours = an.silhouettes(an.pairwise_distances(x), labelings)
    for labels, s in zip(labelings, ours):
        np.testing.assert_allclose(s, silhouette_samples(x, labels), atol=1e-6)
        assert s.mean() == pytest.approx(silhouette_score(x, labels), abs=1e-6)
        assert s.min() >= -1 and s.max() <= 1
    assert ours[2][-1] == 0  # a singleton scores 0, as in scikit-learn
    one_cluster = an.silhouettes(an.pairwise_distances(x), [np.zeros(180, int)])[0]
    assert not one_cluster.any()


def test_kmeans_silhouettes_are_seeded_and_in_range(analysed, tiny_data):
    arrays, _ = analysed
    for space in an.SPACES:
        s = arrays[f"silhouette_{space}"]
        assert s.shape == (len(SMALL.kmeans_ks), len(tiny_data.x_test))
        assert np.isfinite(s).all() and s.min() >= -1 and s.max() <= 1
        np.testing.assert_allclose(arrays[f"silhouette_mean_{space}"], s.mean(axis=1), rtol=1e-6)
        for k, labels in zip(SMALL.kmeans_ks, arrays[f"kmeans_labels_{space}"]):
            assert labels.max() < k


def test_kmeans_is_seeded(trained, tiny_data):
    _, result = trained
    h = an.encode_all(tiny_data.x_test, result.weights)
    a, b = an.kmeans_silhouettes(h, SMALL), an.kmeans_silhouettes(h, SMALL)
    np.testing.assert_array_equal(a["labels"], b["labels"])
    np.testing.assert_array_equal(a["samples"], b["samples"])


def test_tsne_is_seeded_and_starts_from_the_shared_layout(trained, tiny_data):
    _, result = trained
    h = an.encode_all(tiny_data.x_test, result.weights)
    init = an.reference_layout(tiny_data.x_test)
    assert init.shape == (len(h), 2) and init[:, 0].std() == pytest.approx(1e-4)
    a = an.tsne(h, init, SMALL)
    b = an.tsne(h, init, SMALL)
    # the layout depends on where it starts (so a shared start makes maps comparable)
    c = an.tsne(h, init[::-1].copy(), SMALL)
    assert a.shape == (len(h), 2) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_analysis_arrays_have_the_documented_shapes(analysed, tiny_data):
    arrays, meta = analysed
    n_test = len(tiny_data.x_test)
    assert arrays["recon_code"].shape == (20, 196) and arrays["recon_output"].shape == (20, 28, 28)
    assert arrays["tsne_raw"].shape == arrays["tsne_normalised"].shape == (n_test, 2)
    assert arrays["unit_label_frequency"].shape == (196, 10)
    assert arrays["dead_units"].dtype == bool and meta["n_dead_units"] == int(arrays["dead_units"].sum())
    assert set(meta["seconds"]) >= {"tsne_raw", "kmeans_normalised", "cosine"}


def test_each_stage_stores_exactly_its_named_arrays(analysed):
    from core import schema

    arrays, _ = analysed
    assert set(arrays) == set(schema.FAST_ARRAYS) | set(schema.SLOW_ARRAYS)
    assert not set(schema.FAST_ARRAYS) & set(schema.SLOW_ARRAYS)


def test_fast_meta_round_trips_through_json(trained, tiny_data):
    import json

    from core.schema import FastMeta

    cfg, result = trained
    _, meta = an.analyze_fast(result.weights, cfg, tiny_data, SMALL)
    again = FastMeta.from_dict(json.loads(json.dumps(meta.to_dict())))
    assert again == meta
    with pytest.raises(KeyError):
        FastMeta.from_dict({k: v for k, v in meta.to_dict().items() if k != "density_test"})


def test_unit_statistics_equal_direct_computation():
    rng = np.random.default_rng(3)
    n, units = 120, 6
    h = np.maximum(rng.normal(size=(n, units)), 0).astype(np.float32)
    h[:, 2] = 0  # a dead unit
    h[:, 4] = np.where(np.arange(n) % 10 == 7, 2.0, 0.0)  # fires only on digit 7
    labels = (np.arange(n) % 10).astype(np.uint8)
    x = rng.random((n, 28, 28)).astype(np.float32)
    s = an.unit_statistics(h, x, labels, n_top=5)
    for u in range(units):
        col = h[:, u]
        assert s["unit_hist"][u].sum() == np.count_nonzero(col)  # the zeros are n minus the histogram
        assert s["unit_hist_max"][u] == col.max()
        expect = sorted(range(n), key=lambda i: (-col[i], i))[:5]
        np.testing.assert_array_equal(s["unit_top_index"][u], expect)
        np.testing.assert_array_equal(s["unit_top_value"][u], col[expect])
        for d in range(10):
            assert s["unit_label_mean"][u, d] == pytest.approx(col[labels == d].mean(), rel=1e-6)
    sel, preferred = an.label_selectivity(an.unit_label_frequency(h, labels))
    assert sel[2] == 0 and preferred[2] == -1  # dead
    assert sel[4] == pytest.approx(1.0) and preferred[4] == 7  # fires on 7s only
    assert 0 <= sel.min() and sel.max() <= 1
    assert sel[0] < 0.5  # a unit that fires on everything is not selective
    # the stored pool gives back each top image (to 1/255) without the MNIST file
    for u in (0, 4):
        np.testing.assert_allclose(an.top_images(s, u), x[s["unit_top_index"][u]], atol=0.5 / 255 + 1e-7)
    assert an.top_images(s, 2).shape == (0, 28, 28)  # a dead unit has no top images
    assert s["top_pool_images"].dtype == np.uint8


def test_unit_statistics_are_part_of_the_analysis(analysed, tiny_data):
    arrays, _ = analysed
    n_test = len(tiny_data.x_test)
    assert arrays["unit_top_index"].shape == (196, an.N_TOP)
    assert (arrays["unit_hist"].sum(axis=1) == np.round(arrays["unit_frequency_test"] * n_test)).all()
    sel, preferred = an.label_selectivity(arrays["unit_label_frequency"])
    np.testing.assert_array_equal(preferred == -1, arrays["dead_units"])
    np.testing.assert_array_equal(
        preferred[~arrays["dead_units"]], arrays["unit_label_frequency"][~arrays["dead_units"]].argmax(axis=1)
    )


def test_label_selectivity_follows_the_firing_frequencies():
    f = np.array([[0.5] * 10, [0.0] * 10, [0.9, 0.1] + [0.0] * 8, [0.0] * 9 + [0.2]])
    sel, preferred = an.label_selectivity(f)
    assert sel[0] == pytest.approx(0) and sel[1] == 0 and sel[3] == pytest.approx(1)
    assert sel[2] == pytest.approx((0.9 - 0.1) / 0.9) and preferred.tolist() == [0, -1, 0, 9]
