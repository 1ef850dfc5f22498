"""Training one autoencoder: a fast compiled loop, and plain Keras `fit` as the reference.

Both engines compute exactly what the original notebook's `model.fit` does
(DESIGN §1), with Keras 3 semantics:

* batch loss = MSE(x, x') + lambda_a * sum(h**2) / batch_size + lambda_k * sum(W1**2);
* Adam with Keras' update rule and defaults; batch 256; a fresh shuffle every epoch;
* `loss` = the batch losses averaged with batch-size weights (Keras' loss tracker);
* `val_loss` = the same total over the test set, with the weights at the epoch's end;
* EarlyStopping(monitor="val_loss", patience=3, min_delta=1e-4), final weights kept.

The fast engine runs a whole epoch as one TensorFlow graph (`tf.function`
with the batch loop inside), with TensorFlow's fused Adam kernel
(`ResourceApplyAdam`: the same update as Keras' Adam in one pass instead of
eight) and, by default, bfloat16 matmul inputs (oneDNN uses AVX512-BF16 where
the CPU has it; accumulation stays float32). It runs single-threaded: at this
model's size one thread is as fast as two, so the sweep runs one model per
core (see `core.sweep`). Measured on the 2-core development machine: Keras
`fit` 1.0 s/epoch; fast engine 0.58 s (float32) / 0.42 s (bfloat16) per
epoch on one core, two of them side by side at the same speed each.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.config import ModelConfig, TrainConfig
from core.data import Dataset
from core.model import init_weights

EpochCallback = Callable[[int, dict], None]


@dataclass
class TrainResult:
    """A trained model and how it got there.

    Args:
        weights: W1, b1, W2, b2 as float32 arrays (see `core.model`).
        loss, val_loss: per-epoch training / test total loss, as Keras reports them.
        seconds: wall time of the training loop (data already in memory).
        engine: "fast" or "keras".
    """

    weights: dict[str, np.ndarray]
    loss: list[float]
    val_loss: list[float]
    seconds: float
    engine: str
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def last_epoch(self) -> int:
        """Index of the last epoch run, 0-based: the original's `max(history.epoch)`."""
        return len(self.loss) - 1

    def history(self) -> dict:
        """JSON-ready history."""
        return {
            "loss": [float(v) for v in self.loss],
            "val_loss": [float(v) for v in self.val_loss],
            "epoch_seconds": [round(float(v), 4) for v in self.epoch_seconds],
            "last_epoch": self.last_epoch,
            "final_loss": float(self.loss[-1]),
            "final_val_loss": float(self.val_loss[-1]),
            "seconds": round(float(self.seconds), 3),
            "engine": self.engine,
        }


class EarlyStopper:
    """Keras 3's `EarlyStopping(monitor="val_loss", mode="min")` without restoring weights."""

    def __init__(self, patience: int, min_delta: float):
        self.patience = patience
        self.min_delta = abs(min_delta)
        self.best: float | None = None
        self.wait = 0

    def should_stop(self, epoch: int, val_loss: float) -> bool:
        """Record epoch `epoch`'s val_loss; True when training must stop after it."""
        self.wait += 1
        if self.best is None or val_loss + self.min_delta < self.best:
            self.best = val_loss
            self.wait = 0
            return False
        return self.wait >= self.patience and epoch > 0


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffle of epoch `epoch`: the same seed gives the same batches."""
    return np.random.default_rng(np.random.SeedSequence([seed, 1, epoch])).permutation(n).astype(np.int32)


def import_tensorflow(threads: int | None = None):
    """Import TensorFlow quietly; `threads` pins its thread pools (only before first use)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass  # TensorFlow is already running in this process; keep its pools
    return tf


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: Dataset,
    *,
    initial_weights: dict[str, np.ndarray] | None = None,
    on_epoch: EpochCallback | None = None,
    threads: int | None = 1,
) -> TrainResult:
    """Train one model with `train_cfg.engine`; see the module docstring for the semantics."""
    weights = initial_weights or init_weights(model_cfg, train_cfg.seed)
    if train_cfg.engine == "keras":
        return _train_keras(model_cfg, train_cfg, data, weights, on_epoch, batch_order="keras")
    return _train_fast(model_cfg, train_cfg, data, weights, on_epoch, threads)


def _train_fast(model_cfg, train_cfg, data, weights, on_epoch, threads) -> TrainResult:
    tf = import_tensorflow(threads)
    f32 = tf.float32
    n_train = len(data.x_train)
    x_train = tf.constant(data.x_train.reshape(n_train, -1))
    x_test = tf.constant(data.x_test.reshape(len(data.x_test), -1))
    lk = tf.constant(model_cfg.lambda_k, f32)
    la = tf.constant(model_cfg.lambda_a, f32)
    bs = train_cfg.batch_size
    lr, b1, b2, eps = (train_cfg.learning_rate, train_cfg.beta_1, train_cfg.beta_2, train_cfg.epsilon)

    names = ("W1", "b1", "W2", "b2")
    params = [tf.Variable(weights[n], dtype=f32, name=n) for n in names]
    moments = [tf.Variable(tf.zeros_like(p)) for p in params]
    velocities = [tf.Variable(tf.zeros_like(p)) for p in params]
    iterations = tf.Variable(0.0, dtype=f32)

    if train_cfg.precision == "bfloat16":

        def matmul(a, b):
            return tf.cast(tf.matmul(tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16)), f32)

    else:
        matmul = tf.matmul

    def total_loss(xb):
        w1, c1, w2, c2 = params
        h = tf.nn.relu(matmul(xb, w1) + c1)
        y = tf.sigmoid(matmul(h, w2) + c2)
        n = tf.cast(tf.shape(xb)[0], f32)
        mse = tf.reduce_mean(tf.square(xb - y))
        return mse + la * tf.reduce_sum(tf.square(h)) / n + lk * tf.reduce_sum(tf.square(w1)), n

    @tf.function
    def run_epoch(perm):
        n_batches = (tf.shape(perm)[0] + bs - 1) // bs
        total = tf.constant(0.0, f32)
        count = tf.constant(0.0, f32)
        for i in tf.range(n_batches):
            xb = tf.gather(x_train, perm[i * bs : (i + 1) * bs])
            with tf.GradientTape() as tape:
                loss, n = total_loss(xb)
            grads = tape.gradient(loss, params)
            # Keras' Adam update: m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
            # p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps), fused.
            iterations.assign_add(1.0)
            b1_power, b2_power = tf.pow(b1, iterations), tf.pow(b2, iterations)
            for p, m, v, g in zip(params, moments, velocities, grads):
                tf.raw_ops.ResourceApplyAdam(
                    var=p.handle,
                    m=m.handle,
                    v=v.handle,
                    beta1_power=b1_power,
                    beta2_power=b2_power,
                    lr=lr,
                    beta1=b1,
                    beta2=b2,
                    epsilon=eps,
                    grad=g,
                )
            total += loss * n
            count += n
        return total / count

    @tf.function
    def evaluate():
        return total_loss(x_test)[0]

    stopper = EarlyStopper(train_cfg.patience, train_cfg.min_delta)
    losses, val_losses, epoch_seconds = [], [], []
    start = time.perf_counter()
    for epoch in range(train_cfg.max_epochs):
        t0 = time.perf_counter()
        loss = float(run_epoch(tf.constant(epoch_permutation(train_cfg.seed, epoch, n_train))))
        val_loss = float(evaluate())
        losses.append(loss)
        val_losses.append(val_loss)
        epoch_seconds.append(time.perf_counter() - t0)
        if not (np.isfinite(loss) and np.isfinite(val_loss)):
            raise FloatingPointError(f"training diverged at epoch {epoch} (loss {loss}, val_loss {val_loss})")
        if on_epoch:
            on_epoch(epoch, {"loss": loss, "val_loss": val_loss, "seconds": epoch_seconds[-1]})
        if stopper.should_stop(epoch, val_loss):
            break
    seconds = time.perf_counter() - start
    final = {n: p.numpy() for n, p in zip(names, params)}
    return TrainResult(final, losses, val_losses, seconds, "fast", epoch_seconds)


def _train_keras(model_cfg, train_cfg, data, weights, on_epoch, batch_order: str) -> TrainResult:
    """The reference: the original notebook's `compile` + `fit`, seeded.

    batch_order="keras" is the original's `fit(shuffle=True)`. batch_order="ours"
    feeds `fit` the batches of `epoch_permutation`, so a test can compare the
    engines step for step from the same weights and the same batches.
    """
    import_tensorflow(threads=None)
    import keras

    from core.model import build_keras_model, keras_get_weights, keras_set_weights

    keras.utils.set_random_seed(train_cfg.seed)
    model = build_keras_model(model_cfg)
    keras_set_weights(model, weights)
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=train_cfg.learning_rate,
            beta_1=train_cfg.beta_1,
            beta_2=train_cfg.beta_2,
            epsilon=train_cfg.epsilon,
        ),
        loss="mse",
    )
    epoch_seconds: list[float] = []

    class _Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self.t0)
            if on_epoch:
                on_epoch(epoch, {"loss": logs["loss"], "val_loss": logs["val_loss"], "seconds": epoch_seconds[-1]})

    callbacks = [
        _Progress(),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=train_cfg.patience, min_delta=train_cfg.min_delta),
    ]
    bs = train_cfg.batch_size
    fit_kwargs = dict(
        epochs=train_cfg.max_epochs,
        validation_data=(data.x_test, data.x_test),
        validation_batch_size=bs,
        callbacks=callbacks,
        verbose=0,
    )
    start = time.perf_counter()
    if batch_order == "keras":
        hist = model.fit(data.x_train, data.x_train, batch_size=bs, shuffle=True, **fit_kwargs)
    else:
        import tensorflow as tf

        n = len(data.x_train)
        steps = (n + bs - 1) // bs
        # The same kind of tf.data pipeline Keras builds for arrays (indices, batched,
        # gathered), so this path runs at the original's speed; only the order is ours.
        perms = tf.constant(np.stack([epoch_permutation(train_cfg.seed, e, n) for e in range(train_cfg.max_epochs)]))
        x = tf.constant(data.x_train)
        ds = (
            tf.data.Dataset.range(train_cfg.max_epochs)
            .flat_map(lambda e: tf.data.Dataset.from_tensor_slices(tf.gather(perms, e)).batch(bs))
            .map(lambda idx: (tf.gather(x, idx), tf.gather(x, idx)))
            .prefetch(tf.data.AUTOTUNE)
        )
        # with steps_per_epoch set, Keras keeps one iterator across epochs
        hist = model.fit(ds, steps_per_epoch=steps, shuffle=False, **fit_kwargs)
    seconds = time.perf_counter() - start
    return TrainResult(
        keras_get_weights(model),
        [float(v) for v in hist.history["loss"]],
        [float(v) for v in hist.history["val_loss"]],
        seconds,
        "keras",
        epoch_seconds,
    )
