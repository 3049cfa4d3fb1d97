"""Trainer callbacks: state that survives a resume, an opt-in wall-clock guard (held-out scoring:
:mod:`radgrpo.train.heldout`).

``StatefulCallback`` is the base for callbacks whose state must outlive the process (budgets, schedules,
monitors, the best checkpoint so far): it writes ``state_dict()`` into every checkpoint it belongs to, at
``checkpoint-<step>/callback_state/<state_key>.json``, and :func:`restore_callback_states` reads it back before
training resumes (``radgrpo.train.common.train_resuming`` does both), so a run killed after a checkpoint and started
again with the same command continues as if it had never stopped.

Training length is set in optimizer steps (``max_steps``) or epochs, and the LR follows the trainer's own,
step-based schedule (``lr_scheduler_type``, ``warmup_steps``), so the same config and seed train the same steps on an
idle and on a busy machine. ``TimeGuardCallback`` only caps the wall time: once ``limit_s`` seconds of training have
passed (counted across resumes) it stops at the end of the step, logs a warning and records ``time_guard_hit`` (the
step it stopped at) in the log history, so a run cut short is visible in ``log_history.json`` and never mistaken for
a full one.

Example:
    >>> guard = TimeGuardCallback(limit_s=600)
    >>> guard.hit_step is None
    True
    >>> guard.load_state_dict({"elapsed_s": 120.0, "hit_step": None})
    >>> guard.state_dict()
    {'elapsed_s': 120.0, 'hit_step': None}
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from transformers import TrainerCallback

logger = logging.getLogger("radgrpo.train")

#: the folder inside a checkpoint that holds one ``<state_key>.json`` per :class:`StatefulCallback`
CALLBACK_STATE_DIR = "callback_state"


def callback_state_path(checkpoint: str | os.PathLike, state_key: str) -> Path:
    """Where the callback with ``state_key`` keeps its state inside ``checkpoint``.

    >>> callback_state_path("out/checkpoint-2", "TimeGuardCallback").as_posix()
    'out/checkpoint-2/callback_state/TimeGuardCallback.json'
    """
    return Path(checkpoint) / CALLBACK_STATE_DIR / f"{state_key}.json"


class StatefulCallback(TrainerCallback):
    """A callback whose state is saved with every checkpoint and restored on resume.

    Subclasses implement :meth:`state_dict` (a JSON-serialisable dict) and :meth:`load_state_dict`. ``on_save``
    (which transformers calls right after it has written ``checkpoint-<global_step>``) writes the state to
    ``checkpoint-<step>/callback_state/<state_key>.json`` on the main process, atomically (a temporary file, then
    ``os.replace``); :func:`restore_callback_states` reads it back before training resumes. Subclasses that override
    ``on_save`` must call ``super().on_save(...)``. Two instances of one class in a run need distinct ``state_key`` s.

    Example:
        >>> class Counter(StatefulCallback):
        ...     def __init__(self):
        ...         self.n = 0
        ...     def state_dict(self):
        ...         return {"n": self.n}
        ...     def load_state_dict(self, state):
        ...         self.n = int(state["n"])
        >>> Counter().state_key
        'Counter'
    """

    @property
    def state_key(self) -> str:
        """The file name (without ``.json``) of this callback's state in a checkpoint; the class name by default."""
        return type(self).__name__

    def state_dict(self) -> dict:
        """The state to keep across a resume (JSON-serialisable)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        """Take back a state written by :meth:`state_dict`."""
        raise NotImplementedError

    def on_save(self, args, state, control, **kwargs):
        if not getattr(state, "is_world_process_zero", True):
            return
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not checkpoint.is_dir():  # e.g. a hyper-parameter search trial folder: nothing to resume from here
            logger.warning("%s: checkpoint folder %s not found; its state is not saved", self.state_key, checkpoint)
            return
        path = callback_state_path(checkpoint, self.state_key)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.state_dict(), indent=1, sort_keys=True))
        os.replace(tmp, path)


def restore_callback_states(callbacks, checkpoint: str | os.PathLike) -> list[str]:
    """Load each :class:`StatefulCallback`'s saved state from ``checkpoint``; the ``state_key`` s restored.

    Callbacks that are not :class:`StatefulCallback` are skipped. A callback whose file is absent (a checkpoint from
    before it was added, or a run killed between the checkpoint and its callback state) is left fresh, with a
    warning naming it.

    Example:
        >>> guard = TimeGuardCallback(limit_s=60)
        >>> restore_callback_states([guard], "no-such-checkpoint")
        []
    """
    restored = []
    for cb in callbacks:
        if not isinstance(cb, StatefulCallback):
            continue
        path = callback_state_path(checkpoint, cb.state_key)
        if not path.is_file():
            logger.warning("%s: no saved state in %s; it starts fresh", cb.state_key, checkpoint)
            continue
        cb.load_state_dict(json.loads(path.read_text()))
        logger.info("%s: state restored from %s", cb.state_key, path)
        restored.append(cb.state_key)
    return restored


class TimeGuardCallback(StatefulCallback):
    """Stop training once ``limit_s`` seconds (wall clock) of training have passed, across resumes; report it.

    Training time is counted from ``on_train_begin``; after a resume it is the time saved with the checkpoint
    (``elapsed_s``, as of that checkpoint: time between the checkpoint and a kill is not counted) plus the time since
    the resumed ``on_train_begin``. ``hit_step`` (the step the guard stopped at) is saved too. The guard stops at the
    end of the first step at which the budget is spent and reports that step once; a run resumed with its budget
    already spent therefore trains one more step (callbacks run only after a step) and stops again. A larger
    ``--time_limit_s`` on the rerun gives it more time.

    Args:
        limit_s: the training-time budget in seconds (> 0).
    """

    def __init__(self, limit_s: float) -> None:
        if limit_s <= 0:
            raise ValueError(f"TimeGuardCallback: limit_s must be > 0, got {limit_s}")
        self.limit_s = float(limit_s)
        self.t0: float | None = None
        self.elapsed_before_s = 0.0  # training seconds of earlier processes of this run (restored from a checkpoint)
        self.hit_step: int | None = None

    def elapsed_s(self) -> float:
        """Training seconds so far: earlier processes (as of their last checkpoint) + this one since it began."""
        return self.elapsed_before_s + (time.time() - self.t0 if self.t0 is not None else 0.0)

    def state_dict(self) -> dict:
        return {"elapsed_s": self.elapsed_s(), "hit_step": self.hit_step}

    def load_state_dict(self, state: dict) -> None:
        self.elapsed_before_s = float(state["elapsed_s"])
        self.hit_step = None if state.get("hit_step") is None else int(state["hit_step"])
        self.t0 = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.t0 = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        if self.t0 is None or self.elapsed_s() < self.limit_s:
            return
        if self.hit_step is not None and state.global_step <= self.hit_step:
            return  # this stop was reported already
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
