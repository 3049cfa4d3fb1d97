"""Trainer callbacks: a wall-clock training budget with its own LR schedule (learnability.md "SFT").

``TimeBudgetCallback`` stops training once ``budget_s`` seconds of training have passed and, before every optimizer
step, sets the LR from the elapsed *fraction of the budget*: linear warm-up over the first steps, then cosine decay to
``min_ratio`` × peak (or constant). A fixed-time demo thus ends its schedule exactly when its time is up, whatever
the machine's speed. The trainer's own scheduler should be ``constant`` (the callback overrides the value).

Example:
    >>> budget_lr(1e-3, 0.5, step=100, warmup_steps=10) == 1e-3 * (0.05 + 0.95 * 0.5)
    True
"""

from __future__ import annotations

import math
import time

from transformers import TrainerCallback


def budget_lr(peak: float, frac: float, step: int, warmup_steps: int = 0, schedule: str = "cosine",
              min_ratio: float = 0.05) -> float:
    """LR at ``frac`` (0..1) of the wall-clock budget and optimizer ``step``."""
    if warmup_steps and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    if schedule == "constant":
        return peak
    frac = min(max(frac, 0.0), 1.0)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


class TimeBudgetCallback(TrainerCallback):
    """Stop after ``budget_s`` seconds of training; drive the LR by the elapsed fraction."""

    def __init__(self, budget_s: float, peak_lr: float, warmup_steps: int = 0, schedule: str = "cosine") -> None:
        self.budget_s = float(budget_s)
        self.peak_lr = float(peak_lr)
        self.warmup_steps = warmup_steps
        self.schedule = schedule
        self.t0: float | None = None
        self.optimizer = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.t0 = time.time()
        self.optimizer = kwargs.get("optimizer")

    def on_step_begin(self, args, state, control, **kwargs):
        opt = kwargs.get("optimizer") or self.optimizer
        if opt is None or self.t0 is None:
            return
        lr = budget_lr(self.peak_lr, (time.time() - self.t0) / self.budget_s, state.global_step, self.warmup_steps,
                       self.schedule)
        for group in opt.param_groups:
            group["lr"] = lr

    def on_step_end(self, args, state, control, **kwargs):
        if self.t0 is not None and time.time() - self.t0 >= self.budget_s:
            control.should_training_stop = True
            control.should_save = True
