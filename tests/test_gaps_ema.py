"""EMA edges the mutation run of ema.py found untested: the valid ranges of beta and the half-life at their
boundaries, the default beta, and the resume state's keys."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mnistgan.ema import EMA, beta_from_half_life
from mnistgan.errors import UserError


def _model(value: float) -> nn.Linear:
    model = nn.Linear(2, 1)
    nn.init.constant_(model.weight, value)
    nn.init.constant_(model.bias, value)
    return model


@pytest.mark.parametrize("half_life", [0, -1.0, float("nan")])
def test_half_life_must_be_positive(half_life: float) -> None:
    with pytest.raises(UserError, match=f"EMA half-life must be positive, got {half_life}"):
        beta_from_half_life(half_life)


def test_half_life_below_one_update_is_valid() -> None:
    assert beta_from_half_life(0.5) == 0.25  # halves twice per update
    assert beta_from_half_life(1) == 0.5


@pytest.mark.parametrize("beta", [1.0, 1.5, -0.1])
def test_beta_outside_0_1_is_refused(beta: float) -> None:
    with pytest.raises(UserError, match=rf"EMA beta must be in \[0, 1\), got {beta}"):
        EMA(_model(0.0), beta)


def test_beta_zero_is_a_copy_and_the_default_is_0_999() -> None:
    assert EMA(_model(0.0)).beta == 0.999 and EMA(_model(0.0)).warmup is True
    ema = EMA(_model(0.0), 0.0)
    ema.update(_model(3.0))
    assert torch.equal(ema.model.weight, torch.full((1, 2), 3.0)) and ema.model.bias.item() == 3.0


def test_state_dict_keys_and_values() -> None:
    ema = EMA(_model(1.0), 0.9)
    ema.update(_model(2.0))
    state = ema.state_dict()
    assert sorted(state) == ["beta", "model", "num_updates"]
    assert state["beta"] == 0.9 and state["num_updates"] == 1
    assert sorted(state["model"]) == ["bias", "weight"]
