"""The stacked trainer: K models in one compiled step, each equal to its own `train` run."""

import numpy as np
import pytest

from conftest import build_model_cfg, build_train_cfg
from core.config import ModelConfig
from core.train import gpu_available, train, train_stacked

# Four cells, both regularizers varied. With patience 1 and min_delta 1.5e-3 on
# the tiny data, (0, 1e-2) stops after epoch 3 and (0, 0) after epoch 5 (their
# val_loss steps miss min_delta by >= 5e-4, far above round-off); the lambda_k =
# 1e-3 cells improve by > 1e-2 per epoch and run to the end. The second stop
# halves the stack, so the step is rebuilt with the two running models'
# weights and Adam state: that path is checked too.
CELLS = [
    ModelConfig(lambda_k=0.0, lambda_a=0.0),
    ModelConfig(lambda_k=0.0, lambda_a=1e-2),
    ModelConfig(lambda_k=1e-3, lambda_a=1e-3),
    ModelConfig(lambda_k=1e-3, lambda_a=0.0),
]


def test_stacked_models_equal_single_runs_epoch_by_epoch(tiny_data):
    """Per-epoch loss and val_loss to float32 round-off (we measure <= 1.2e-7), same stopping epoch, same weights."""
    train_cfg = build_train_cfg(max_epochs=8, patience=1, min_delta=1.5e-3)
    seen: dict[int, list[tuple[int, float, float]]] = {i: [] for i in range(len(CELLS))}
    stacked = train_stacked(
        CELLS,
        train_cfg,
        tiny_data,
        on_epoch=lambda i, epoch, logs: seen[i].append((epoch, logs["loss"], logs["val_loss"])),
    )
    singles = [train(cfg, train_cfg, tiny_data) for cfg in CELLS]
    last_epochs = [r.last_epoch for r in stacked]
    assert last_epochs == [s.last_epoch for s in singles]
    # early stopping ended some cells at different epochs while others ran to max_epochs
    assert last_epochs[0] != last_epochs[1]
    assert max(last_epochs[:2]) < train_cfg.max_epochs - 1 == last_epochs[2] == last_epochs[3]
    for i, (r, s) in enumerate(zip(stacked, singles)):
        assert r.engine == "fast" and len(r.epoch_seconds) == len(r.loss)
        np.testing.assert_allclose(r.loss, s.loss, rtol=1e-5)
        np.testing.assert_allclose(r.val_loss, s.val_loss, rtol=1e-5)
        for name in ("W1", "b1", "W2", "b2"):
            np.testing.assert_allclose(r.weights[name], s.weights[name], rtol=0, atol=1e-6)
        # reported every epoch it trained, and never after it stopped
        assert seen[i] == [(e, r.loss[e], r.val_loss[e]) for e in range(r.last_epoch + 1)]
    # the cells really differ, so equal numbers were not a coincidence
    assert len({round(r.val_loss[-1], 6) for r in stacked}) == len(CELLS)


def test_stacked_bfloat16_equals_single_bfloat16(tiny_data):
    train_cfg = build_train_cfg(max_epochs=2, precision="bfloat16")
    cells = CELLS[1:3]
    stacked = train_stacked(cells, train_cfg, tiny_data)
    for r, cfg in zip(stacked, cells):
        s = train(cfg, train_cfg, tiny_data)
        np.testing.assert_allclose(r.loss, s.loss, rtol=1e-5)
        np.testing.assert_allclose(r.val_loss, s.val_loss, rtol=1e-5)


def test_stacked_rejects_what_it_cannot_stack(tiny_data):
    assert train_stacked([], build_train_cfg(), tiny_data) == []
    with pytest.raises(ValueError, match="keras"):
        train_stacked([build_model_cfg()], build_train_cfg(engine="keras"), tiny_data)
    with pytest.raises(ValueError, match="n_hidden"):
        train_stacked([build_model_cfg(), build_model_cfg(n_hidden=64)], build_train_cfg(), tiny_data)
    assert isinstance(gpu_available(), bool)
