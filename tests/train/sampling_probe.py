"""Probe reward of tests/train/test_grpo_sampling.py: rewards set by the test, every scoring call written to disk.

Training calls follow ``plan``: for optimizer step ``s`` (key ``"s"``, or ``"r:s"`` for rank ``r`` only) a list of
modes, one per generation round of that step (rounds past the list: ``"vary"``):

- ``vary``: the rows alternate 0, 1, 0, 1 ... (every group has signal);
- ``zero``: every row 0.5 (no group has signal);
- ``noisy``: 0.5 and 0.5 + 1.2e-7 alternating (float noise only: std ~ 8e-8, below the default min std 1e-6);
- ``half``: the first group of the call alternates, the others are 0.5.

Without a plan, and in prompt-selection scoring calls, the rewards follow ``vary``: prompt ``id`` alternates 0, 1 in
the steps ``[first, end)`` listed for it and is 1.0 otherwise. Each call appends a JSON line (rank, step, scoring,
ids, rewards) to ``out/rank<r>.jsonl``. Rewards are multiples of 1/2 (exact in float32) except the noise.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path


class SamplingProbe:
    __name__ = "probe"

    def __init__(self, out: str, group: int = 2, plan: dict | None = None, vary: dict | None = None) -> None:
        self.out, self.group = Path(out), int(group)
        self.plan, self.vary = plan, vary or {}
        self.rounds: dict[str, int] = defaultdict(int)

    def _mode(self, mode: str, n: int) -> list[float]:
        alternate = [float(i % 2) for i in range(n)]
        if mode == "vary":
            return alternate
        if mode == "zero":
            return [0.5] * n
        if mode == "noisy":
            return [0.5 + 1.2e-7 * (i % 2) for i in range(n)]
        if mode == "half":
            return [alternate[i] if i < self.group else 0.5 for i in range(n)]
        raise ValueError(mode)

    def __call__(self, completions, id=None, trainer_state=None, log_metric=None, **kwargs):
        if trainer_state is None:  # radgrpo's preflight check, before training
            return [1.0] * len(completions)
        rank, step = int(os.environ.get("RANK", "0")), int(trainer_state.global_step)
        scoring = bool(getattr(getattr(log_metric, "__self__", None), "_radgrpo_scoring", False))
        if self.plan is not None and not scoring:
            key = f"{rank}:{step}" if f"{rank}:{step}" in self.plan else str(step)
            modes = self.plan.get(key, [])
            r = self.rounds[f"{rank}:{step}"]
            self.rounds[f"{rank}:{step}"] += 1
            rewards = self._mode(modes[r] if r < len(modes) else "vary", len(completions))
        else:
            rewards = []
            for i, pid in enumerate(id):
                first, end = self.vary.get(pid, (0, 0))
                rewards.append(float(i % 2) if first <= step < end else 1.0)
        self.out.mkdir(parents=True, exist_ok=True)
        row = {"rank": rank, "step": step, "scoring": scoring, "ids": list(id), "rewards": rewards}
        with open(self.out / f"rank{rank}.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        return rewards


def make_probe_reward(out: str, group: int = 2, plan: dict | None = None, vary: dict | None = None) -> SamplingProbe:
    return SamplingProbe(out, group, plan, vary)
