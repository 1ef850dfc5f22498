"""The trainer: the fast engine equals Keras `fit`, early stopping equals Keras', runs are seeded."""

import numpy as np
import pytest

from conftest import build_model_cfg, build_train_cfg
from core.model import init_weights
from core.train import EarlyStopper, _train_keras, epoch_permutation, train


def test_fast_engine_equals_keras_fit_epoch_by_epoch(tiny_data):
    """Same initial weights, same batches: per-epoch losses agree to float32 round-off.

    The tolerance, 2e-5 relative, is float32 round-off (6e-8 per operation)
    carried through ~20 Adam steps, whose m / sqrt(v) amplifies differences in
    near-zero gradients; we measure ~3e-6. Every semantic slip we could make
    (activity term not divided by the batch size, an unweighted mean over
    batches, Adam's bias correction) moves the losses by 1e-3 or more.
    Both regularizers are on so that each term is checked.
    """
    model_cfg = build_model_cfg(lambda_k=1e-3, lambda_a=1e-3)
    train_cfg = build_train_cfg(max_epochs=6, patience=100)
    w0 = init_weights(model_cfg, train_cfg.seed)
    fast = train(model_cfg, train_cfg, tiny_data, initial_weights=w0)
    ref = _train_keras(model_cfg, train_cfg, tiny_data, w0, None, batch_order="ours")
    assert len(fast.loss) == len(ref.loss) == 6
    np.testing.assert_allclose(fast.loss, ref.loss, rtol=2e-5)
    np.testing.assert_allclose(fast.val_loss, ref.val_loss, rtol=2e-5)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(fast.weights[name], ref.weights[name], atol=2e-3)
    # the losses really moved, so the comparison had something to compare
    assert fast.loss[-1] < 0.8 * fast.loss[0]


def test_bfloat16_stays_close_to_float32(tiny_data):
    model_cfg = build_model_cfg()
    f32 = train(model_cfg, build_train_cfg(max_epochs=4), tiny_data)
    bf16 = train(model_cfg, build_train_cfg(max_epochs=4, precision="bfloat16"), tiny_data)
    np.testing.assert_allclose(bf16.val_loss, f32.val_loss, rtol=0.02)
    assert not np.array_equal(bf16.weights["W1"], f32.weights["W1"])


def test_early_stopper_matches_keras_callback():
    import keras

    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(2, 30))
        # noisy decreasing curves with plateaus, around the min_delta scale
        vals = np.cumsum(rng.choice([-3e-4, -5e-5, 0.0, 5e-5, 2e-4], size=n)) + 1.0
        patience = int(rng.integers(0, 5))
        cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, min_delta=1e-4)
        holder = type("M", (), {"stop_training": False})()
        cb.set_model(holder)
        cb.on_train_begin()
        ours = EarlyStopper(patience, 1e-4)
        for epoch, v in enumerate(vals):
            cb.on_epoch_end(epoch, {"val_loss": float(v)})
            assert ours.should_stop(epoch, float(v)) == holder.stop_training, (trial, epoch)
            if holder.stop_training:
                break


def test_training_stops_after_patience_without_improvement(tiny_data):
    # min_delta = 1: no epoch after the first counts as an improvement
    r = train(build_model_cfg(), build_train_cfg(max_epochs=20, patience=2, min_delta=1.0), tiny_data)
    assert r.last_epoch == 2
    h = r.history()
    assert h["last_epoch"] == 2 and len(h["loss"]) == 3 and h["final_val_loss"] == r.val_loss[-1]


def test_same_seed_same_model_other_seed_other_model(tiny_data):
    cfg = build_model_cfg()
    a = train(cfg, build_train_cfg(max_epochs=2), tiny_data)
    b = train(cfg, build_train_cfg(max_epochs=2), tiny_data)
    c = train(cfg, build_train_cfg(max_epochs=2, seed=1), tiny_data)
    np.testing.assert_array_equal(a.weights["W1"], b.weights["W1"])
    assert a.loss == b.loss
    assert not np.array_equal(a.weights["W1"], c.weights["W1"])


def test_epoch_permutations_are_seeded_and_differ_between_epochs():
    p0 = epoch_permutation(0, 0, 1000)
    np.testing.assert_array_equal(p0, epoch_permutation(0, 0, 1000))
    assert sorted(p0) == list(range(1000))
    assert not np.array_equal(p0, epoch_permutation(0, 1, 1000))
    assert not np.array_equal(p0, epoch_permutation(1, 0, 1000))


def test_regularizers_raise_the_reported_loss(tiny_data):
    """Keras reports the total: with the same weights, lambda_a > 0 only adds to it."""
    base = train(build_model_cfg(lambda_k=0, lambda_a=0), build_train_cfg(max_epochs=1), tiny_data)
    act = train(build_model_cfg(lambda_k=0, lambda_a=0.1), build_train_cfg(max_epochs=1), tiny_data)
    assert act.loss[0] > base.loss[0]


@pytest.mark.parametrize("engine", ["fast", "keras"])
def test_progress_callback_sees_every_epoch(tiny_data, engine):
    seen = []
    cfg = build_train_cfg(max_epochs=2, engine=engine)
    train(build_model_cfg(), cfg, tiny_data, on_epoch=lambda e, logs: seen.append((e, logs["val_loss"])))
    assert [e for e, _ in seen] == [0, 1]
    assert all(v > 0 for _, v in seen)
