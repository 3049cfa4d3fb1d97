"""Wall-clock budget LR schedule and stop rule (radgrpo.train.callbacks), hand-computed values.
Run: pytest tests/train/test_callbacks.py"""

import math
from types import SimpleNamespace

import pytest
import torch

from radgrpo.train import callbacks
from radgrpo.train.callbacks import TimeBudgetCallback, budget_lr


def test_budget_lr_values():
    assert budget_lr(1e-3, 0.9, step=0, warmup_steps=10) == pytest.approx(1e-4)  # warm-up: (0+1)/10 of the peak
    assert budget_lr(1e-3, 0.9, step=9, warmup_steps=10) == pytest.approx(1e-3)
    assert budget_lr(1e-3, 0.0, step=10, warmup_steps=10) == pytest.approx(1e-3)  # cosine starts at the peak
    assert budget_lr(1e-3, 0.5, step=50) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert budget_lr(1e-3, 1.0, step=50) == pytest.approx(5e-5)  # ends at 5 % of the peak
    assert budget_lr(1e-3, 7.0, step=50) == pytest.approx(5e-5)  # past the budget: clamped
    assert budget_lr(1e-3, 0.25, step=50, min_ratio=0.0) == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi / 4)))
    assert budget_lr(2e-5, 0.7, step=50, schedule="constant") == 2e-5


def test_callback_sets_lr_from_elapsed_fraction_and_stops(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: now[0])
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
    cb = TimeBudgetCallback(budget_s=100, peak_lr=1e-3)
    state, control = SimpleNamespace(global_step=0), SimpleNamespace(should_training_stop=False, should_save=False)
    cb.on_train_begin(None, state, control, optimizer=opt)
    now[0] = 1050.0  # half the budget
    state.global_step = 20
    cb.on_step_begin(None, state, control)
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    cb.on_step_end(None, state, control)
    assert control.should_training_stop is False
    now[0] = 1100.0
    cb.on_step_end(None, state, control)
    assert control.should_training_stop is True and control.should_save is True
