"""Training autoencoders: a fast compiled loop, its stacked form, and plain Keras `fit` as the reference.

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
the CPU has it; accumulation stays float32). Measured speeds are in the
README's tables (bench/train_sweep.py).

Same seed, same bits: every process that trains runs TensorFlow with the same
fixed thread pools (`TRAINING_THREADS`, one thread: at this model's size one
thread is about as fast as two, and the sweep runs one model per core, see
`core.sweep`), and on a GPU with TensorFlow's op determinism, both set by
`import_tensorflow` before TensorFlow runs its first op. A matmul split over
two threads adds its partial sums in another order than over one, so before
this a cell trained alone (two threads) and the same cell trained in a
two-worker sweep (one thread each) differed in the last bits, and through
early stopping sometimes by an epoch. Now a cell's weights are bit-identical
whatever `--jobs`, backend or UI path trains it, on a given machine and
library versions (another CPU's instruction set may still round differently).

`train_stacked` trains several models (one per lambda cell) in one compiled
step: they share the initial weights and the batches, so their encoders are
one wide matmul and their decoders one batched matmul, while each keeps its
own loss, Adam state and early stopping. Every model's numbers equal `train`'s
to float32 round-off. It pays where one model cannot fill the device (a GPU).

Watching it learn: every engine keeps snapshots of W1 and of the first test
digits' codes and reconstructions before training and after epochs 1, 2, 4,
8, ... and the last (`Snapshotter`, stored beside the weights by
`core.store`). A snapshot only reads the weights, in numpy, between epochs:
it uses no random numbers and adds no operation to training, so the trained
numbers are bit-identical with snapshots on or off (tests/test_snapshots.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.config import ModelConfig, TrainConfig
from core.data import Dataset
from core.model import WEIGHT_NAMES, decode, encode, init_weights
from core.schema import (
    SNAP_CODE,
    SNAP_EPOCHS,
    SNAP_INDEX,
    SNAP_INPUT,
    SNAP_OUTPUT,
    SNAP_W1,
    SNAP_W1_SCALE,
)

log = logging.getLogger(__name__)
EpochCallback = Callable[[int, dict], None]
StackedEpochCallback = Callable[[int, int, dict], None]


@dataclass
class TrainResult:
    """A trained model and how it got there.

    Args:
        weights: W1, b1, W2, b2 as float32 arrays (see `core.model`).
        loss, val_loss: per-epoch training / test total loss, as Keras reports them.
        seconds: wall time of the training loop (data already in memory).
        engine: "fast" or "keras".
        snapshots: the training snapshots (`Snapshotter.arrays`, names in `core.schema`), or None
            when they were not recorded.
    """

    weights: dict[str, np.ndarray]
    loss: list[float]
    val_loss: list[float]
    seconds: float
    engine: str
    epoch_seconds: list[float] = field(default_factory=list)
    snapshots: dict[str, np.ndarray] | None = None

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


# The test digits whose codes and reconstructions the snapshots follow: the first ones, the very digits the
# Reconstructions page shows (`core.config.AnalysisConfig.n_reconstructions`, RECON_INDEX = 0..19).
SNAPSHOT_DIGITS = 20


def is_snapshot_epoch(done: int) -> bool:
    """Log-spaced: before training (0 epochs done) and after epochs 1, 2, 4, 8, ... (the last is added at the end)."""
    return done >= 0 and (done == 0 or done & (done - 1) == 0)


class Snapshotter:
    """W1 and the first test digits' codes and reconstructions at log-spaced epochs, for the pictures.

    `take(done, weights)` records a snapshot from the weights after `done` epochs (a numpy copy; it
    touches no TensorFlow state and no random generator); `arrays()` gives the file's arrays:
    W1 as int8, each filter scaled to +-127 by its own largest |weight| (exactly what a picture that
    scales each filter to its maximum needs, at 8 bits), the codes as float16 and the reconstructions
    as 8-bit greys. About 0.13 MB per snapshot once compressed.
    """

    def __init__(self, data: Dataset, n_digits: int = SNAPSHOT_DIGITS):
        n = min(n_digits, len(data.x_test))
        self.x = np.asarray(data.x_test[:n], dtype=np.float32)
        self.epochs: list[int] = []
        self.w1: list[np.ndarray] = []
        self.scale: list[np.ndarray] = []
        self.code: list[np.ndarray] = []
        self.out: list[np.ndarray] = []

    def due(self, done: int) -> bool:
        """Is a snapshot due after `done` epochs (and not taken yet)?"""
        return is_snapshot_epoch(done) and not (self.epochs and self.epochs[-1] >= done)

    def take(self, done: int, weights: dict[str, np.ndarray]) -> None:
        """Record the weights after `done` epochs (once per epoch count; a later count only)."""
        if self.epochs and self.epochs[-1] >= done:
            return
        w1 = np.asarray(weights["W1"], dtype=np.float32)
        scale = np.abs(w1).max(axis=0)
        q = np.divide(w1 * np.float32(127), scale, out=np.zeros_like(w1), where=scale > 0)
        h = encode(self.x, weights)
        self.epochs.append(int(done))
        self.w1.append(np.clip(np.rint(q), -127, 127).astype(np.int8))
        self.scale.append(scale.astype(np.float32))
        self.code.append(h.astype(np.float16))
        self.out.append(np.rint(np.clip(decode(h, weights), 0, 1) * 255).astype(np.uint8))

    def arrays(self) -> dict[str, np.ndarray]:
        """The snapshots as the cache stores them (`core.schema.SNAPSHOT_ARRAYS`)."""
        n = len(self.x)
        return {
            SNAP_EPOCHS: np.asarray(self.epochs, dtype=np.int32),
            SNAP_W1: np.stack(self.w1),
            SNAP_W1_SCALE: np.stack(self.scale),
            SNAP_INDEX: np.arange(n, dtype=np.int32),
            SNAP_INPUT: np.rint(np.clip(self.x, 0, 1) * 255).astype(np.uint8),
            SNAP_CODE: np.stack(self.code),
            SNAP_OUTPUT: np.stack(self.out),
        }


def _due(snap: Snapshotter | None, done: int) -> bool:
    return snap is not None and snap.due(done)


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The shuffle of epoch `epoch`: the same seed gives the same batches."""
    return np.random.default_rng(np.random.SeedSequence([seed, 1, epoch])).permutation(n).astype(np.int32)


# The thread pools of every process that trains (see the module docstring): a fixed number, never
# one derived from the core count or the number of workers, so the numbers do not depend on them.
TRAINING_THREADS = 1
_configured: dict[str, Any] = {}


def import_tensorflow(threads: int | None = None):
    """Import TensorFlow quietly, with fixed thread pools (and op determinism on a GPU) set before its first op.

    threads: the pools' size, TRAINING_THREADS unless given; only a benchmark that wants the
    original's "every core" passes another (it changes the last bits of what is trained). The
    first call of a process decides for the whole process; if TensorFlow was already running with
    other pools (something ran an op before this was called), a warning says so.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    want = threads or TRAINING_THREADS
    if "threads" not in _configured:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(want)
            tf.config.threading.set_inter_op_parallelism_threads(want)
            _configured["threads"] = want
        except RuntimeError:  # TensorFlow is already running in this process: its pools stay
            actual = tf.config.threading.get_intra_op_parallelism_threads()
            _configured["threads"] = actual or None
            if actual != want:
                log.warning(
                    "TensorFlow was started in this process before core.train.import_tensorflow: it runs with %s "
                    "threads, not %s, so what this process trains may differ in the last bits from other processes.",
                    actual or "its default number of",
                    want,
                )
        # Op determinism where it is needed: on a GPU, cuDNN/cuBLAS and reductions would otherwise pick
        # non-deterministic algorithms. On a CPU one thread per op gives the same bits already (checked by
        # bench/determinism.py), and op determinism would make Keras' input pipeline run serially: +30%
        # per epoch of `--engine keras` measured, for no change in any bit.
        if tf.config.list_physical_devices("GPU"):
            tf.config.experimental.enable_op_determinism()
    return tf


def _matmul(tf, precision: str):
    """tf.matmul with `precision` inputs and a float32 result (accumulation is float32 either way)."""
    if precision == "bfloat16":

        def matmul(a, b):
            return tf.cast(tf.matmul(tf.cast(a, tf.bfloat16), tf.cast(b, tf.bfloat16)), tf.float32)

        return matmul
    # GPUs from Ampere on would otherwise round float32 matmul inputs to TensorFloat-32
    # (10-bit mantissa); float32 must mean float32, as on the CPU. No effect on a CPU.
    tf.config.experimental.enable_tensor_float_32_execution(False)
    return tf.matmul


def _adam_step(tf, train_cfg: TrainConfig, iterations, params, moments, velocities, grads) -> None:
    """One Adam step on every variable, inside a graph; elementwise, so stacked models stay independent."""
    lr, b1, b2, eps = (train_cfg.learning_rate, train_cfg.beta_1, train_cfg.beta_2, train_cfg.epsilon)
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


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: Dataset,
    *,
    initial_weights: dict[str, np.ndarray] | None = None,
    on_epoch: EpochCallback | None = None,
    snapshots: bool = True,
) -> TrainResult:
    """Train one model with `train_cfg.engine`; see the module docstring for the semantics.

    snapshots: record the training snapshots (`Snapshotter`); the trained numbers are the same either way.
    """
    weights = initial_weights or init_weights(model_cfg, train_cfg.seed)
    snap = Snapshotter(data) if snapshots else None
    if train_cfg.engine == "keras":
        return _train_keras(model_cfg, train_cfg, data, weights, on_epoch, batch_order="keras", snap=snap)
    return _train_fast(model_cfg, train_cfg, data, weights, on_epoch, snap)


def _train_fast(model_cfg, train_cfg, data, weights, on_epoch, snap: Snapshotter | None = None) -> TrainResult:
    tf = import_tensorflow()
    f32 = tf.float32
    n_train = len(data.x_train)
    x_train = tf.constant(data.x_train.reshape(n_train, -1))
    x_test = tf.constant(data.x_test.reshape(len(data.x_test), -1))
    lk = tf.constant(model_cfg.lambda_k, f32)
    la = tf.constant(model_cfg.lambda_a, f32)
    bs = train_cfg.batch_size

    names = WEIGHT_NAMES
    params = [tf.Variable(weights[n], dtype=f32, name=n) for n in names]
    moments = [tf.Variable(tf.zeros_like(p)) for p in params]
    velocities = [tf.Variable(tf.zeros_like(p)) for p in params]
    iterations = tf.Variable(0.0, dtype=f32)

    matmul = _matmul(tf, train_cfg.precision)

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
            _adam_step(tf, train_cfg, iterations, params, moments, velocities, grads)
            total += loss * n
            count += n
        return total / count

    @tf.function
    def evaluate():
        return total_loss(x_test)[0]

    def current() -> dict[str, np.ndarray]:
        return {n: p.numpy() for n, p in zip(names, params)}

    stopper = EarlyStopper(train_cfg.patience, train_cfg.min_delta)
    losses, val_losses, epoch_seconds = [], [], []
    if snap is not None:
        snap.take(0, weights)
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
        if snap is not None and snap.due(epoch + 1):
            snap.take(epoch + 1, current())
        if on_epoch:
            on_epoch(epoch, {"loss": loss, "val_loss": val_loss, "seconds": epoch_seconds[-1]})
        if stopper.should_stop(epoch, val_loss):
            break
    seconds = time.perf_counter() - start
    final = current()
    if snap is not None:
        snap.take(len(losses), final)
    return TrainResult(
        final, losses, val_losses, seconds, "fast", epoch_seconds, snap.arrays() if snap is not None else None
    )


def gpu_available() -> bool:
    """True when TensorFlow sees a GPU (imports TensorFlow, does not start its runtime)."""
    return bool(import_tensorflow().config.list_physical_devices("GPU"))


def _stack(per_model: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """K models' arrays stacked: W1 (784, K*196) side by side, b1 (K*196,), W2 (K, 196, 784), b2 (K, 784)."""
    return {
        "W1": np.concatenate([w["W1"] for w in per_model], axis=1),
        "b1": np.concatenate([w["b1"] for w in per_model]),
        "W2": np.stack([w["W2"] for w in per_model]),
        "b2": np.stack([w["b2"] for w in per_model]),
    }


def _unstack(stacked: dict[str, np.ndarray], slot: int) -> dict[str, np.ndarray]:
    """Model `slot`'s own arrays out of the stacked layout."""
    n_hidden = stacked["W2"].shape[1]
    cols = slice(slot * n_hidden, (slot + 1) * n_hidden)
    return {
        "W1": stacked["W1"][:, cols].copy(),
        "b1": stacked["b1"][cols].copy(),
        "W2": stacked["W2"][slot].copy(),
        "b2": stacked["b2"][slot].copy(),
    }


def train_stacked(
    model_cfgs: list[ModelConfig],
    train_cfg: TrainConfig,
    data: Dataset,
    *,
    on_epoch: StackedEpochCallback | None = None,
    snapshots: bool = True,
) -> list[TrainResult]:
    """Train K models at once in one compiled step; each result equals `train`'s to float32 round-off.

    The models share the initial weights' seed and every epoch's batches; each
    has its own lambda_k, lambda_a, Adam state and early stopping. A model
    that stops keeps the weights of its stopping epoch and is no longer
    reported (`on_epoch(model_index, epoch, logs)`); training ends when all
    have stopped or at max_epochs. Each result's `seconds` is the wall time
    until its own last epoch; `epoch_seconds` are the stacked step's. Each model's snapshots
    (`Snapshotter`, unless `snapshots` is False) are taken from its own slot at its own epochs.
    """
    if train_cfg.engine != "fast":
        raise ValueError("train_stacked is the fast engine stacked; train the keras reference with train().")
    if not model_cfgs:
        return []
    if len({(c.n_hidden, c.image_side) for c in model_cfgs}) > 1:
        raise ValueError("stacked models must share n_hidden and image_side.")
    tf = import_tensorflow()
    f32 = tf.float32
    n_train = len(data.x_train)
    x_train = tf.constant(data.x_train.reshape(n_train, -1))
    x_test = tf.constant(data.x_test.reshape(len(data.x_test), -1))
    n_in, n_hidden = model_cfgs[0].n_input, model_cfgs[0].n_hidden
    bs = train_cfg.batch_size
    matmul = _matmul(tf, train_cfg.precision)
    lambda_k = np.array([c.lambda_k for c in model_cfgs], np.float32)
    lambda_a = np.array([c.lambda_a for c in model_cfgs], np.float32)
    iterations = tf.Variable(0.0, dtype=f32)  # one Adam step count: every model steps on every batch

    def build(models: list[int], state: dict[str, dict[str, np.ndarray]]):
        """The compiled epoch and evaluation for the stack of `models` (indices into model_cfgs)."""
        k = len(models)
        lk, la = tf.constant(lambda_k[models]), tf.constant(lambda_a[models])
        params = [tf.Variable(state["p"][n], name=n) for n in WEIGHT_NAMES]
        moments = [tf.Variable(state["m"][n]) for n in WEIGHT_NAMES]
        velocities = [tf.Variable(state["v"][n]) for n in WEIGHT_NAMES]

        def batch_losses(xb):
            """The K models' total losses on one batch, each term as `_train_fast` computes it."""
            w1, c1, w2, c2 = params
            n = tf.cast(tf.shape(xb)[0], f32)
            h = tf.nn.relu(matmul(xb, w1) + c1)  # (n, K*196): all encoders in one product
            h = tf.transpose(tf.reshape(h, [-1, k, n_hidden]), [1, 0, 2])  # (K, n, 196)
            y = tf.sigmoid(matmul(h, w2) + c2[:, None, :])  # (K, n, 784): one batched product
            mse = tf.reduce_mean(tf.square(xb[None] - y), axis=[1, 2])
            activity = la * tf.reduce_sum(tf.square(h), axis=[1, 2]) / n
            # each model's W1 made contiguous first: a sum over a strided axis adds in another
            # order than `_train_fast`'s, and over 150,000 terms that shows at 1e-4
            w1_k = tf.reshape(tf.transpose(tf.reshape(w1, [n_in, k, n_hidden]), [1, 0, 2]), [k, -1])
            kernel = lk * tf.reduce_sum(tf.square(w1_k), axis=1)
            return mse + activity + kernel, n

        @tf.function
        def run_epoch(perm):
            n_batches = (tf.shape(perm)[0] + bs - 1) // bs
            total = tf.zeros([k], f32)
            count = tf.constant(0.0, f32)
            for i in tf.range(n_batches):
                xb = tf.gather(x_train, perm[i * bs : (i + 1) * bs])
                with tf.GradientTape() as tape:
                    losses, n = batch_losses(xb)
                    # the models share no weights: the gradient of the sum is each model's own gradient
                    summed = tf.reduce_sum(losses)
                grads = tape.gradient(summed, params)
                _adam_step(tf, train_cfg, iterations, params, moments, velocities, grads)
                total += losses * n
                count += n
            return total / count

        @tf.function
        def evaluate():
            # one model at a time over the whole test set, as `_train_fast` does: the K
            # reconstructions of the test set at once would take K times the memory
            w1, c1, w2, c2 = params
            n = tf.cast(tf.shape(x_test)[0], f32)
            h = tf.nn.relu(matmul(x_test, w1) + c1)
            out = tf.TensorArray(f32, size=k)
            for j in tf.range(k):
                cols = slice(j * n_hidden, (j + 1) * n_hidden)
                hj = h[:, cols]
                y = tf.sigmoid(matmul(hj, w2[j]) + c2[j])
                mse = tf.reduce_mean(tf.square(x_test - y))
                kernel = lk[j] * tf.reduce_sum(tf.square(w1[:, cols]))
                out = out.write(j, mse + la[j] * tf.reduce_sum(tf.square(hj)) / n + kernel)
            return out.stack()

        def snapshot(name: str) -> dict[str, np.ndarray]:
            group = {"p": params, "m": moments, "v": velocities}[name]
            return {n: v.numpy() for n, v in zip(WEIGHT_NAMES, group)}

        return run_epoch, evaluate, snapshot

    initial = [init_weights(c, train_cfg.seed) for c in model_cfgs]
    snaps = [Snapshotter(data) if snapshots else None for _ in model_cfgs]
    for snap, w in zip(snaps, initial):
        if snap is not None:
            snap.take(0, w)
    first = _stack(initial)
    zeros = {n: np.zeros_like(a) for n, a in first.items()}
    slots = list(range(len(model_cfgs)))  # the models in the compiled step, in slot order
    run_epoch, evaluate, snapshot = build(slots, {"p": first, "m": zeros, "v": zeros})
    running = set(slots)
    stoppers = [EarlyStopper(train_cfg.patience, train_cfg.min_delta) for _ in model_cfgs]
    losses: list[list[float]] = [[] for _ in model_cfgs]
    val_losses: list[list[float]] = [[] for _ in model_cfgs]
    finals: list[dict[str, np.ndarray] | None] = [None] * len(model_cfgs)
    seconds = [0.0] * len(model_cfgs)
    epoch_seconds: list[float] = []
    start = time.perf_counter()
    for epoch in range(train_cfg.max_epochs):
        t0 = time.perf_counter()
        loss = run_epoch(tf.constant(epoch_permutation(train_cfg.seed, epoch, n_train))).numpy()
        val_loss = evaluate().numpy()
        epoch_seconds.append(time.perf_counter() - t0)
        stopped = []
        for slot, i in enumerate(slots):
            if i not in running:
                continue  # stopped earlier: its slot still trains until the next rebuild, unreported
            li, vi = float(loss[slot]), float(val_loss[slot])
            losses[i].append(li)
            val_losses[i].append(vi)
            if not (np.isfinite(li) and np.isfinite(vi)):
                raise FloatingPointError(f"model {i} diverged at epoch {epoch} (loss {li}, val_loss {vi})")
            if on_epoch:
                on_epoch(i, epoch, {"loss": li, "val_loss": vi, "seconds": epoch_seconds[-1]})
            if stoppers[i].should_stop(epoch, vi) or epoch == train_cfg.max_epochs - 1:
                stopped.append((slot, i))
        params_now = None
        due = [(slot, i) for slot, i in enumerate(slots) if i in running and _due(snaps[i], epoch + 1)]
        if due:
            params_now = snapshot("p")
            for slot, i in due:
                snaps[i].take(epoch + 1, _unstack(params_now, slot))
        if stopped:
            params_now = params_now if params_now is not None else snapshot("p")
            for slot, i in stopped:
                finals[i] = _unstack(params_now, slot)
                seconds[i] = time.perf_counter() - start
                running.discard(i)
                if snaps[i] is not None:
                    snaps[i].take(epoch + 1, finals[i])
        if not running:
            break
        if 2 * len(running) <= len(slots):
            # Drop the stopped models' slots once they are half the work; rebuilding
            # retraces the graph, so it happens at most log2(K) times.
            keep = [slot for slot, i in enumerate(slots) if i in running]
            state = {g: snapshot(g) for g in ("p", "m", "v")}
            state = {g: _stack([_unstack(a, slot) for slot in keep]) for g, a in state.items()}
            slots = [slots[slot] for slot in keep]
            run_epoch, evaluate, snapshot = build(slots, state)
    return [
        TrainResult(
            finals[i],
            losses[i],
            val_losses[i],
            seconds[i],
            "fast",
            epoch_seconds[: len(losses[i])],
            snaps[i].arrays() if snaps[i] is not None else None,
        )
        for i in range(len(model_cfgs))
    ]


def _train_keras(
    model_cfg, train_cfg, data, weights, on_epoch, batch_order: str, snap: Snapshotter | None = None
) -> TrainResult:
    """The reference: the original notebook's `compile` + `fit`, seeded.

    batch_order="keras" is the original's `fit(shuffle=True)`. batch_order="ours"
    feeds `fit` the batches of `epoch_permutation`, so a test can compare the
    engines step for step from the same weights and the same batches.
    """
    import_tensorflow()
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
            if snap is not None and snap.due(epoch + 1):
                snap.take(epoch + 1, keras_get_weights(self.model))  # reads the weights: changes nothing
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
    if snap is not None:
        snap.take(0, weights)
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
    final = keras_get_weights(model)
    if snap is not None:
        snap.take(len(hist.history["loss"]), final)
    return TrainResult(
        final,
        [float(v) for v in hist.history["loss"]],
        [float(v) for v in hist.history["val_loss"]],
        seconds,
        "keras",
        epoch_seconds,
        snap.arrays() if snap is not None else None,
    )
