"""EMA update arithmetic, warm-up, buffers and state round trip."""

import pytest
import torch
from torch import nn

from mnistgan.ema import EMA, beta_from_half_life


def test_ema_update_arithmetic_without_warmup():
    model = nn.Linear(1, 1, bias=False)
    nn.init.constant_(model.weight, 0.0)
    ema = EMA(model, beta=0.9, warmup=False)
    nn.init.constant_(model.weight, 1.0)
    for n in range(1, 4):
        ema.update(model)
        assert ema.model.weight.item() == pytest.approx(1 - 0.9**n)  # 0.9^n * 0 + (1 - 0.9^n) * 1
    assert model.weight.item() == 1.0 and not ema.model.weight.requires_grad


def test_ema_warmup_rule():
    model = nn.Linear(1, 1, bias=False)
    nn.init.constant_(model.weight, 0.0)
    ema = EMA(model, beta=0.999)
    betas = []
    for target in (1.0, 3.0):
        nn.init.constant_(model.weight, target)
        betas.append(ema.current_beta())
        ema.update(model)
    assert betas == [pytest.approx(1 / 10), pytest.approx(2 / 11)]
    w1 = 0.1 * 0 + 0.9 * 1.0
    assert ema.model.weight.item() == pytest.approx(2 / 11 * w1 + 9 / 11 * 3.0)
    ema.num_updates = 100_000
    assert ema.current_beta() == 0.999  # the cap


def test_half_life_and_buffers_and_state():
    beta = beta_from_half_life(50)
    assert beta**50 == pytest.approx(0.5)
    model = nn.BatchNorm1d(3)
    ema = EMA(model, beta=beta)
    model(torch.randn(16, 3) * 2 + 5)  # updates running stats
    ema.update(model)
    assert torch.equal(ema.model.running_mean, model.running_mean)
    assert ema.model.num_batches_tracked.item() == 1
    fresh = EMA(nn.BatchNorm1d(3), beta=beta)
    fresh.load_state_dict(ema.state_dict())
    assert fresh.num_updates == 1 and torch.equal(fresh.model.running_var, model.running_var)
