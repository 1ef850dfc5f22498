"""Configs: validation, round trips, the original sweep."""

import math

import numpy as np
import pytest

from core.config import ORIGINAL_LAMBDA_K, ConfigError, ModelConfig, SweepGrid, TrainConfig


def test_original_sweep_is_linspace_0_to_1e4():
    assert np.allclose(ORIGINAL_LAMBDA_K, np.linspace(0, 1e-4, 10), rtol=0, atol=0)
    assert SweepGrid().lambda_a == (0.0,)
    assert len(SweepGrid().cells()) == 10


@pytest.mark.parametrize("bad", [-1e-5, math.nan, math.inf, "abc", None, True])
def test_model_config_rejects_bad_lambdas(bad):
    with pytest.raises(ConfigError, match="lambda_k"):
        ModelConfig(lambda_k=bad)


def test_model_config_accepts_numeric_strings_and_round_trips():
    cfg = ModelConfig(lambda_k="1e-5", lambda_a=2e-4)
    assert cfg.lambda_k == 1e-5
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.n_input == 784


def test_train_config_defaults_follow_the_design():
    t = TrainConfig()
    assert (t.batch_size, t.max_epochs, t.patience, t.min_delta) == (256, 100, 3, 1e-4)
    assert (t.learning_rate, t.beta_1, t.beta_2, t.epsilon) == (1e-3, 0.9, 0.999, 1e-7)
    assert t.precision == "bfloat16"
    assert TrainConfig(engine="keras").precision == "float32"
    assert TrainConfig.from_dict(t.to_dict()) == t


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"engine": "torch"}, "engine"),
        ({"precision": "float16"}, "precision"),
        ({"engine": "keras", "precision": "bfloat16"}, "float32 only"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_epochs": 2.5}, "max_epochs"),
        ({"seed": -1}, "seed"),
    ],
)
def test_train_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kwargs)


def test_grid_sorts_and_deduplicates():
    g = SweepGrid(lambda_k=(1e-4, 0, 1e-4), lambda_a=(1e-5, 0.0))
    assert g.lambda_k == (0.0, 1e-4)
    assert g.lambda_a == (0.0, 1e-5)
    assert [(c.lambda_k, c.lambda_a) for c in g.cells()] == [(0, 0), (1e-4, 0), (0, 1e-5), (1e-4, 1e-5)]


def test_grid_rejects_empty_and_negative():
    with pytest.raises(ConfigError, match="at least one"):
        SweepGrid(lambda_k=())
    with pytest.raises(ConfigError, match="zero or positive"):
        SweepGrid(lambda_a=(-1.0,))


def test_minus_zero_is_the_same_cell_as_zero_and_float32_overflow_is_refused():
    import math

    from core.config import ConfigError, ModelConfig, check_lambda, same_lambda

    assert math.copysign(1.0, check_lambda("lambda_k", "-0")) == 1.0  # one key per cell
    assert ModelConfig(lambda_k=-0.0).to_dict() == ModelConfig(lambda_k=0.0).to_dict()
    assert same_lambda(1.1111111111111112e-05, float("1.111111e-05")) and not same_lambda(1e-5, 1.1e-5)
    with pytest.raises(ConfigError, match="too large"):
        check_lambda("lambda_k", "1e39")  # finite in float64, infinite in float32


def test_a_grid_value_typed_rounded_is_the_default_grids_value_not_a_second_cell():
    from core.config import ORIGINAL_LAMBDA_K, SweepGrid

    typed = SweepGrid(lambda_k=(4.444444444444444e-05, 0.0), lambda_a=(0.0010000000000000002,))
    assert typed.lambda_k == (0.0, ORIGINAL_LAMBDA_K[4]) and typed.lambda_a == (1e-3,)
    both = SweepGrid(lambda_k=(4.444444444444444e-05, ORIGINAL_LAMBDA_K[4]))
    assert both.lambda_k == (ORIGINAL_LAMBDA_K[4],), "one cell, not two a bit apart"
    assert SweepGrid(lambda_k=(4.5e-05,)).lambda_k == (4.5e-05,), "another value stays itself"
