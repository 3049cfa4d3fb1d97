"""The opt-in wall-clock guard (radgrpo.train.callbacks): it stops and reports, and never touches the LR.
Run: pytest tests/train/test_callbacks.py"""

from types import SimpleNamespace

import pytest

from radgrpo.train import callbacks
from radgrpo.train.callbacks import TimeGuardCallback


def _state(step):
    return SimpleNamespace(global_step=step, max_steps=100, log_history=[])


def test_guard_stops_once_and_records_the_step(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: now[0])
    cb = TimeGuardCallback(limit_s=100)
    state, control = _state(0), SimpleNamespace(should_training_stop=False, should_save=False)
    cb.on_train_begin(None, state, control)
    now[0] = 1099.0
    state.global_step = 40
    cb.on_step_end(None, state, control)
    assert control.should_training_stop is False and state.log_history == [] and cb.hit_step is None
    now[0] = 1100.0
    state.global_step = 41
    cb.on_step_end(None, state, control)
    assert control.should_training_stop is True and control.should_save is True
    assert state.log_history == [{"time_guard_hit": 41, "time_guard_s": 100.0, "step": 41}]
    cb.on_step_end(None, state, control)  # reported once
    assert len(state.log_history) == 1 and cb.hit_step == 41


def test_guard_rejects_non_positive_limits():
    with pytest.raises(ValueError, match="limit_s must be > 0"):
        TimeGuardCallback(0)


def test_heldout_callback_logs_at_start_every_k_steps_and_end_once():
    from radgrpo.train.callbacks import HeldOutCallback

    calls = []

    class Model:
        training = True

        def eval(self):
            self.training = False

        def train(self, mode=True):
            self.training = mode

    model = Model()

    def score(m):
        calls.append(m.training)
        return {"f1": 0.25 * len(calls)}

    cb = HeldOutCallback(score, every_steps=2)
    state = _state(0)
    cb.on_train_begin(None, state, None, model=model)
    for step in range(1, 6):
        state.global_step = step
        cb.on_step_end(None, state, None, model=model)
    cb.on_train_end(None, state, None, model=model)
    cb.on_train_end(None, state, None, model=model)  # same step: not scored again
    assert [(e["step"], e["heldout/f1"]) for e in state.log_history] == [(0, 0.25), (2, 0.5), (4, 0.75), (5, 1.0)]
    assert calls == [False] * 4 and model.training is True  # scored in eval mode, training mode restored
    with pytest.raises(ValueError, match="every_steps must be >= 1"):
        HeldOutCallback(score, every_steps=0)
