"""The model: seeded Keras-default initialisation and a numpy forward pass equal to Keras'."""

import numpy as np

from conftest import build_model_cfg
from core.model import build_keras_model, decode, encode, init_weights, keras_get_weights, keras_set_weights


def test_init_is_glorot_uniform_with_zero_biases_and_seeded():
    cfg = build_model_cfg()
    w = init_weights(cfg, seed=3)
    limit = np.sqrt(6 / (784 + 196))
    assert w["W1"].shape == (784, 196) and w["W2"].shape == (196, 784)
    assert np.abs(w["W1"]).max() <= limit and np.abs(w["W1"]).max() > 0.99 * limit
    assert w["W1"].std() == np.float32(limit / np.sqrt(3)).item() or abs(w["W1"].std() - limit / np.sqrt(3)) < 1e-3
    assert not w["b1"].any() and not w["b2"].any()
    np.testing.assert_array_equal(w["W1"], init_weights(cfg, seed=3)["W1"])
    assert not np.array_equal(w["W1"], init_weights(cfg, seed=4)["W1"])


def test_numpy_forward_pass_equals_keras(tiny_data):
    cfg = build_model_cfg()
    rng = np.random.default_rng(1)
    w = {k: (v + rng.normal(0, 0.05, v.shape)).astype(np.float32) for k, v in init_weights(cfg, 0).items()}
    model = build_keras_model(cfg)
    keras_set_weights(model, w)
    for k, v in keras_get_weights(model).items():
        np.testing.assert_array_equal(v, w[k])
    x = tiny_data.x_test[:50]
    expected = model.predict(x, verbose=0)
    got = decode(encode(x, w), w)
    assert got.shape == (50, 28, 28)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    h = encode(x, w)
    assert h.shape == (50, 196) and h.min() == 0
