"""Trainer callbacks: an opt-in wall-clock guard that stops a run and says so.

Training length is set in optimizer steps (``max_steps``) or epochs, and the LR follows the trainer's own,
step-based schedule (``lr_scheduler_type``, ``warmup_steps``), so the same config and seed train the same steps on an
idle and on a busy machine. ``TimeGuardCallback`` only caps the wall time: once ``limit_s`` seconds of training have
passed it stops at the end of the step, logs a warning and records ``time_guard_hit`` (the step it stopped at) in
the log history, so a run cut short is visible in ``log_history.json`` and never mistaken for a full one.

Example:
    >>> guard = TimeGuardCallback(limit_s=600)
    >>> guard.hit_step is None
    True
"""

from __future__ import annotations

import logging
import time

from transformers import TrainerCallback

logger = logging.getLogger("radgrpo.train")


class TimeGuardCallback(TrainerCallback):
    """Stop training once ``limit_s`` seconds (wall clock, from ``on_train_begin``) have passed; report it."""

    def __init__(self, limit_s: float) -> None:
        if limit_s <= 0:
            raise ValueError(f"TimeGuardCallback: limit_s must be > 0, got {limit_s}")
        self.limit_s = float(limit_s)
        self.t0: float | None = None
        self.hit_step: int | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.t0 = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        if self.t0 is None or self.hit_step is not None or time.time() - self.t0 < self.limit_s:
            return
        self.hit_step = int(state.global_step)
        total = getattr(state, "max_steps", 0) or 0
        logger.warning(
            "time guard: %.0f s passed; stopping at step %d of %d (results depend on machine speed)",
            self.limit_s,
            self.hit_step,
            total,
        )
        state.log_history.append({"time_guard_hit": self.hit_step, "time_guard_s": self.limit_s, "step": self.hit_step})
        control.should_training_stop = True
        control.should_save = True


class HeldOutCallback(TrainerCallback):
    """Every ``every_steps`` optimizer steps (and at the end), score the model on held-out data and log it.

    ``evaluate_fn(model) -> {name: float}`` is supplied by the caller (e.g. greedy generation on a validation split
    scored with evaluation's metrics), so training does not depend on evaluation code. Values are appended to the
    log history as ``heldout/<name>`` with the step, which ``log_history.json`` keeps and the report plots: the
    held-out curve shows whether a stage has plateaued. The model is put in eval mode for the call and back after.

    Example:
        >>> cb = HeldOutCallback(lambda model: {"f1": 0.5}, every_steps=100)
        >>> cb.every_steps
        100
    """

    def __init__(self, evaluate_fn, every_steps: int) -> None:
        if every_steps < 1:
            raise ValueError(f"HeldOutCallback: every_steps must be >= 1, got {every_steps}")
        self.evaluate_fn = evaluate_fn
        self.every_steps = int(every_steps)
        self._last: int | None = None

    def _run(self, state, model) -> None:
        if model is None or self._last == state.global_step:
            return
        self._last = state.global_step
        was_training = model.training
        model.eval()
        try:
            values = self.evaluate_fn(model)
        finally:
            model.train(was_training)
        state.log_history.append(
            {"step": int(state.global_step), **{f"heldout/{k}": float(v) for k, v in values.items()}}
        )

    def on_train_begin(self, args, state, control, **kwargs):
        self._run(state, kwargs.get("model"))

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.every_steps == 0:
            self._run(state, kwargs.get("model"))

    def on_train_end(self, args, state, control, **kwargs):
        self._run(state, kwargs.get("model"))


class StatefulCallback(TrainerCallback):
    """A callback whose state is saved with every checkpoint and restored on resume.

    Subclasses implement :meth:`state_dict` (JSON-serialisable) and :meth:`load_state_dict`. ``on_save`` writes it
    to ``checkpoint-<step>/callback_state/<state_key>.json`` (main process); :func:`restore_callback_states` reads it
    back before training resumes.
    """

    @property
    def state_key(self) -> str:
        return type(self).__name__

    def state_dict(self) -> dict:
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError


def restore_callback_states(callbacks, checkpoint: str) -> None:
    """Load each :class:`StatefulCallback`'s saved state from ``checkpoint`` (absent files leave it as it is)."""
    raise NotImplementedError  # filled in by the resume work
