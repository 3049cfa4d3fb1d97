"""radgrpo.train.callbacks: state saved into checkpoints and restored; the opt-in wall-clock guard stops and
reports (across resumes), and never touches the LR.
Run: pytest tests/train/test_callbacks.py"""

import json
import logging
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


class _Counter(callbacks.StatefulCallback):
    def __init__(self, key=None):
        self.n, self._key = 0, key

    @property
    def state_key(self):
        return self._key or super().state_key

    def state_dict(self):
        return {"n": self.n}

    def load_state_dict(self, state):
        self.n = int(state["n"])


def _save(cb, tmp_path, step, main=True):
    args = SimpleNamespace(output_dir=str(tmp_path))
    state = SimpleNamespace(global_step=step, is_world_process_zero=main)
    cb.on_save(args, state, SimpleNamespace())


def test_stateful_callback_saves_into_the_checkpoint_and_restores(tmp_path, caplog):
    (tmp_path / "checkpoint-2").mkdir()
    a, b = _Counter(), _Counter("other")
    a.n, b.n = 7, 3
    _save(a, tmp_path, 2)
    assert json.loads((tmp_path / "checkpoint-2" / "callback_state" / "_Counter.json").read_text()) == {"n": 7}
    assert [p.name for p in (tmp_path / "checkpoint-2" / "callback_state").iterdir()] == ["_Counter.json"]  # no tmp
    a.n = 9
    _save(a, tmp_path, 2, main=False)  # other ranks write nothing
    assert json.loads((tmp_path / "checkpoint-2" / "callback_state" / "_Counter.json").read_text()) == {"n": 7}

    fresh, fresh_b = _Counter(), _Counter("other")
    with caplog.at_level(logging.INFO, logger="radgrpo.train"):
        restored = callbacks.restore_callback_states([object(), fresh, fresh_b], tmp_path / "checkpoint-2")
    assert restored == ["_Counter"] and fresh.n == 7 and fresh_b.n == 0  # b's file is absent: left fresh
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "other" in warnings[0]
    assert any(r.levelno == logging.INFO and "_Counter" in r.getMessage() for r in caplog.records)


def test_stateful_callback_without_its_checkpoint_folder_writes_nothing(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="radgrpo.train"):
        _save(_Counter(), tmp_path, 4)
    assert not (tmp_path / "checkpoint-4").exists() and "checkpoint-4" in caplog.text


def test_guard_state_round_trips_through_json(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: now[0])
    cb = TimeGuardCallback(limit_s=60)
    assert cb.state_dict() == {"elapsed_s": 0.0, "hit_step": None}
    cb.on_train_begin(None, _state(0), None)
    now[0] = 1012.5
    saved = json.loads(json.dumps(cb.state_dict()))
    assert saved == {"elapsed_s": 12.5, "hit_step": None}
    other = TimeGuardCallback(limit_s=60)
    other.load_state_dict(saved)
    assert other.state_dict() == saved and other.hit_step is None
    other.load_state_dict({"elapsed_s": 61.0, "hit_step": 7})
    assert other.state_dict() == {"elapsed_s": 61.0, "hit_step": 7}


def test_restored_guard_counts_the_time_before_the_kill(monkeypatch):
    now = [5000.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: now[0])
    cb = TimeGuardCallback(limit_s=60)
    cb.load_state_dict({"elapsed_s": 50.0, "hit_step": None})  # 50 s trained before the kill
    state, control = _state(10), SimpleNamespace(should_training_stop=False, should_save=False)
    now[0] = 7000.0  # the wait between the kill and the rerun is not training time
    cb.on_train_begin(None, state, control)
    now[0] = 7009.9
    state.global_step = 11
    cb.on_step_end(None, state, control)
    assert control.should_training_stop is False and cb.hit_step is None
    assert cb.state_dict()["elapsed_s"] == pytest.approx(59.9)
    now[0] = 7010.0
    state.global_step = 12
    cb.on_step_end(None, state, control)
    assert control.should_training_stop is True and cb.hit_step == 12
    assert state.log_history == [{"time_guard_hit": 12, "time_guard_s": 60.0, "step": 12}]


def test_guard_resumed_with_its_budget_spent_stops_again(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(callbacks.time, "time", lambda: now[0])
    cb = TimeGuardCallback(limit_s=60)
    cb.load_state_dict({"elapsed_s": 60.5, "hit_step": 12})  # the checkpoint the guard's own stop saved
    state, control = _state(12), SimpleNamespace(should_training_stop=False, should_save=False)
    cb.on_train_begin(None, state, control)
    state.global_step = 13
    cb.on_step_end(None, state, control)
    assert control.should_training_stop is True and cb.hit_step == 13
    assert state.log_history == [{"time_guard_hit": 13, "time_guard_s": 60.0, "step": 13}]
