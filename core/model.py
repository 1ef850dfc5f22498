"""The autoencoder of DESIGN §1: weights as arrays, a numpy forward pass, and the Keras model.

Weights are a plain dict of float32 arrays, the same names everywhere (the
cache, the trainer, the app):

    W1 (784, 196)  encoder kernel     b1 (196,)  encoder bias
    W2 (196, 784)  decoder kernel     b2 (784,)  decoder bias

`encode`/`decode` are numpy, so showing a cached model never imports
TensorFlow; `build_keras_model` imports Keras lazily, only when training.
"""

from __future__ import annotations

import numpy as np

from core.config import ModelConfig

WEIGHT_NAMES = ("W1", "b1", "W2", "b2")


def weight_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every weight array for `cfg`."""
    n_in, n_h = cfg.n_input, cfg.n_hidden
    return {"W1": (n_in, n_h), "b1": (n_h,), "W2": (n_h, n_in), "b2": (n_in,)}


def init_weights(cfg: ModelConfig, seed: int) -> dict[str, np.ndarray]:
    """Keras' default initialisation, seeded: Glorot-uniform kernels, zero biases."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5AE]))
    out = {}
    for name, shape in weight_shapes(cfg).items():
        if name.startswith("W"):
            limit = np.sqrt(6.0 / (shape[0] + shape[1]))
            out[name] = rng.uniform(-limit, limit, size=shape).astype(np.float32)
        else:
            out[name] = np.zeros(shape, dtype=np.float32)
    return out


def check_weights(weights: dict[str, np.ndarray], cfg: ModelConfig) -> None:
    """Raise ValueError unless `weights` has every array with the right shape, finite."""
    for name, shape in weight_shapes(cfg).items():
        if name not in weights:
            raise ValueError(f"weight {name} is missing")
        a = weights[name]
        if a.shape != shape:
            raise ValueError(f"weight {name} has shape {a.shape}, expected {shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"weight {name} has non-finite values")


def encode(x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """Hidden code h = relu(x W1 + b1); x is (n, 28, 28) or (n, 784), h is (n, 196)."""
    x2 = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    return np.maximum(x2 @ weights["W1"] + weights["b1"], np.float32(0))


def decode(h: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """Reconstruction sigmoid(h W2 + b2) as (n, 28, 28) float32."""
    z = h @ weights["W2"] + weights["b2"]
    y = np.float32(1) / (np.float32(1) + np.exp(-z))
    side = int(round(np.sqrt(z.shape[1])))
    return y.reshape(len(h), side, side).astype(np.float32)


def build_keras_model(cfg: ModelConfig):
    """The original notebook's Keras model (imports Keras; only for training and checks)."""
    from core.train import import_tensorflow

    import_tensorflow()  # TensorFlow's fixed thread pools, before Keras runs an op (see core.train)
    import keras
    from keras import layers, regularizers

    side = cfg.image_side
    # Encoder
    encoder = keras.Sequential(
        [
            layers.Input((side, side)),
            layers.Flatten(),
            layers.Dense(
                cfg.n_hidden,
                activation="relu",
                kernel_regularizer=regularizers.L2(cfg.lambda_k),
                activity_regularizer=regularizers.L2(cfg.lambda_a),
            ),
        ],
        name="encoder",
    )
    # Decoder
    decoder = keras.Sequential(
        [
            layers.Input((cfg.n_hidden,)),
            layers.Dense(cfg.n_input, activation="sigmoid"),
            layers.Reshape((side, side)),
        ],
        name="decoder",
    )
    inputs = keras.Input((side, side))
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def keras_get_weights(model) -> dict[str, np.ndarray]:
    """The Keras model's weights under our names."""
    w1, b1, w2, b2 = model.get_weights()
    return {"W1": w1, "b1": b1, "W2": w2, "b2": b2}


def keras_set_weights(model, weights: dict[str, np.ndarray]) -> None:
    """Load our weight dict into the Keras model."""
    model.set_weights([weights[n] for n in WEIGHT_NAMES])
