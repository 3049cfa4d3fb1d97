"""What GRPO watches while it trains: per-task rollout statistics, failing rewards, reward hacking.

:class:`RunMonitor` holds the logic and its state (pure Python, no trainer): the trainer feeds it each rollout
batch, gathered across ranks (:meth:`RunMonitor.rollout`), and each set of held-out values
(:meth:`RunMonitor.heldout`); it returns the scalars to log and raises :class:`RewardFailureError` when a reward
fails too often. :class:`MonitorCallback` saves and restores that state with every checkpoint, so a resumed run
continues the same windows and alarms.

Logged per rollout batch (through the trainer's ``report_to``), for each task ``T`` in the batch:

- ``tasks/T/reward_mean``, ``tasks/T/reward_std``: the weighted reward TRL's advantage uses (samples no reward
  scored excluded);
- ``tasks/T/length_chars``, ``tasks/T/length_tokens``: mean completion length;
- ``tasks/T/zero_std_groups``: share of the task's groups whose rewards are all equal, i.e. whose std is at most
  ``min_std`` (no learning signal; with dynamic sampling on, the share of all generated groups, before filtering);
- ``tasks/T/none_share``: share of samples no reward scored; ``tasks/T/truncated``: share that hit
  ``max_completion_length`` without an end token;
- report tasks: ``tasks/T/length_ratio`` = mean answer length / mean reference length (characters; the answer of a
  thinking sample is the text after its last ``</think>``).

And per reward ``R``: ``monitor/R/failed`` and ``monitor/R/scored`` (counts of the batch) and
``monitor/R/failure_share`` (over the last ``window`` samples the reward applied to). Alarms (also logged, 0 or 1):
``hacking/short_reports`` when a report task's length ratio falls below ``length_ratio``; ``hacking/reward_up_metric_down``
when the training reward rose while the held-out metric fell over ``patience`` evaluations in a row.

Example:
    >>> m = RunMonitor(num_generations=2, failure_threshold=0.5, min_samples=2)
    >>> logs = m.rollout(tasks=["report_generation"] * 4, rewards=[1.0, 1.0, 0.0, 1.0], chars=[10, 10, 2, 10],
    ...                  tokens=[3, 3, 1, 3], truncated=[False] * 4, ref_chars=[20] * 4,
    ...                  statuses={"r": ["ok"] * 4}, errors={"r": None}, step=1)
    >>> logs["tasks/report_generation/zero_std_groups"], logs["tasks/report_generation/length_ratio"]
    (0.5, 0.4)
    >>> logs["hacking/short_reports"]
    1.0
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from radgrpo.errors import RadgrpoUserError
from radgrpo.records import Task
from radgrpo.train.callbacks import StatefulCallback

logger = logging.getLogger("radgrpo.train")

REPORT_TASKS = frozenset({Task.REPORT_GENERATION.value})


class RewardFailureError(RadgrpoUserError, RuntimeError):
    """A reward failed on more than the allowed share of its recent samples; training stopped."""


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def _std(xs: Sequence[float]) -> float:
    """Bessel-corrected std (TRL's ``nanstd``); 0 for fewer than 2 values."""
    if len(xs) < 2:
        return 0.0
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


class RunMonitor:
    """Rollout statistics, the reward-failure window and the reward-hacking alarms of one GRPO run.

    Args:
        num_generations: completions per prompt (consecutive rows of a rollout batch form a group).
        failure_threshold: stop when more than this share of a reward's last ``window`` applicable samples failed.
        window: samples the failure share is taken over.
        min_samples: the share is checked once this many applicable samples exist.
        length_ratio: short-report alarm below this completion/reference length ratio (0 = off).
        patience: reward-up/metric-down alarm after this many evaluations in a row (0 = off).
        metric: the held-out key the alarm watches (``<task>/<metric>``; None = the first key seen).
        higher_is_better: the metric's direction.
        min_std: a group whose reward std is at most this counts as zero-variance (``--dynamic_sampling_min_std``;
            0 = exactly equal rewards only, which float noise hides).
    """

    def __init__(
        self,
        num_generations: int,
        failure_threshold: float = 0.05,
        window: int = 256,
        min_samples: int = 64,
        length_ratio: float = 0.6,
        patience: int = 3,
        metric: str | None = None,
        higher_is_better: bool = True,
        min_std: float = 0.0,
    ) -> None:
        self.num_generations = int(num_generations)
        self.failure_threshold = float(failure_threshold)
        self.window = int(window)
        self.min_samples = int(min_samples)
        self.length_ratio = float(length_ratio)
        self.patience = int(patience)
        self.metric = metric
        self.higher_is_better = bool(higher_is_better)
        self.min_std = float(min_std)
        self.failures: dict[str, deque[int]] = {}
        self.last_errors: dict[str, str] = {}
        self.rewards_since_eval: list[float] = []
        self.evals: list[dict[str, float]] = []  # [{step, metric, train_reward}]
        self.alarms: list[dict[str, Any]] = []
        self._short_active = False
        self._trend_active = False

    # ---- state (saved with each checkpoint by MonitorCallback) ----
    def state_dict(self) -> dict[str, Any]:
        return {
            "failures": {k: list(v) for k, v in self.failures.items()},
            "last_errors": dict(self.last_errors),
            "rewards_since_eval": list(self.rewards_since_eval),
            "evals": list(self.evals),
            "alarms": list(self.alarms),
            "metric": self.metric,
            "short_active": self._short_active,
            "trend_active": self._trend_active,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.failures = {k: deque(v, maxlen=self.window) for k, v in state.get("failures", {}).items()}
        self.last_errors = dict(state.get("last_errors", {}))
        self.rewards_since_eval = list(state.get("rewards_since_eval", []))
        self.evals = list(state.get("evals", []))
        self.alarms = list(state.get("alarms", []))
        self.metric = state.get("metric", self.metric)
        self._short_active = bool(state.get("short_active", False))
        self._trend_active = bool(state.get("trend_active", False))

    # ---- one rollout batch ----
    def rollout(
        self,
        *,
        tasks: Sequence[str | None],
        rewards: Sequence[float],
        chars: Sequence[int],
        tokens: Sequence[int],
        truncated: Sequence[bool],
        ref_chars: Sequence[int],
        statuses: Mapping[str, Sequence[str]],
        errors: Mapping[str, str | None],
        step: int,
        answer_chars: Sequence[int] | None = None,
    ) -> dict[str, float]:
        """The scalars to log for one rollout batch (all ranks' samples, in group order).

        Args:
            tasks: task of each completion (None: untagged).
            rewards: TRL's weighted reward of each completion (NaN: no reward scored it).
            chars, tokens: completion lengths.
            truncated: whether each completion hit the length limit without an end token.
            ref_chars: reference report length (characters; 0 when the sample has none).
            statuses: reward name -> ``"ok"``/``"skipped"``/``"failed"`` per completion (radgrpo rewards only).
            errors: reward name -> the last error of this batch (None when none failed).
            step: the optimizer step (for alarms).
            answer_chars: length of each completion's scored answer (the text after ``</think>`` of thinking
                samples); the report length ratio uses it when given, else ``chars``.
        Returns:
            ``{name: value}`` (see the module docstring).
        Raises:
            RewardFailureError: a reward's failure share passed the threshold.
        """
        n = len(rewards)
        logs: dict[str, float] = {}
        names = sorted({t for t in tasks if t is not None})
        for task in names:
            idx = [i for i in range(n) if tasks[i] == task]
            scored = [rewards[i] for i in idx if not math.isnan(rewards[i])]
            pre = f"tasks/{task}/"
            logs[pre + "reward_mean"] = _mean(scored)
            logs[pre + "reward_std"] = _std(scored)
            logs[pre + "length_chars"] = _mean([chars[i] for i in idx])
            logs[pre + "length_tokens"] = _mean([tokens[i] for i in idx])
            logs[pre + "none_share"] = 1.0 - len(scored) / len(idx)
            logs[pre + "truncated"] = _mean([float(truncated[i]) for i in idx])
            groups = [
                [rewards[j] for j in range(g, g + self.num_generations) if not math.isnan(rewards[j])]
                for g in range(0, n - self.num_generations + 1, self.num_generations)
                if tasks[g] == task
            ]
            if groups:
                logs[pre + "zero_std_groups"] = _mean([float(_std(g) <= self.min_std) for g in groups])
            refs = [ref_chars[i] for i in idx if ref_chars[i] > 0]
            if task in REPORT_TASKS and refs:
                ans = chars if answer_chars is None else answer_chars
                logs[pre + "length_ratio"] = _mean([ans[i] for i in idx if ref_chars[i] > 0]) / _mean(refs)
        logs.update(self._failures(statuses, errors))
        logs.update(self._short_reports(logs, step))
        all_scored = [r for r in rewards if not math.isnan(r)]
        if all_scored:
            self.rewards_since_eval.append(_mean(all_scored))
        return logs

    def _failures(self, statuses: Mapping[str, Sequence[str]], errors: Mapping[str, str | None]) -> dict[str, float]:
        logs: dict[str, float] = {}
        for name, sts in statuses.items():
            applied = [s for s in sts if s != "skipped"]
            q = self.failures.setdefault(name, deque(maxlen=self.window))
            q.extend(int(s == "failed") for s in applied)
            if errors.get(name):
                self.last_errors[name] = str(errors[name])
            logs[f"monitor/{name}/failed"] = float(sum(s == "failed" for s in applied))
            logs[f"monitor/{name}/scored"] = float(sum(s == "ok" for s in applied))
            share = sum(q) / len(q) if q else 0.0
            logs[f"monitor/{name}/failure_share"] = share
            if len(q) >= self.min_samples and share > self.failure_threshold:
                raise RewardFailureError(
                    f"reward {name} failed on {sum(q)} of its last {len(q)} samples ({share:.0%} > "
                    f"reward_failure_threshold {self.failure_threshold:.0%}); training stopped. Last error: "
                    f"{self.last_errors.get(name, 'unknown')}"
                )
        return logs

    def _short_reports(self, logs: dict[str, float], step: int) -> dict[str, float]:
        if not self.length_ratio:
            return {}
        ratios = {k: v for k, v in logs.items() if k.endswith("/length_ratio")}
        if not ratios:
            return {}
        low = {k: v for k, v in ratios.items() if v < self.length_ratio}
        if low and not self._short_active:
            key, value = next(iter(low.items()))
            msg = (
                f"reward hacking? at step {step} reports are {value:.0%} of the reference length "
                f"(< hacking_length_ratio {self.length_ratio:.0%}; {key})"
            )
            logger.warning(msg)
            self.alarms.append({"step": step, "alarm": "short_reports", "message": msg})
        self._short_active = bool(low)
        return {"hacking/short_reports": float(bool(low))}

    # ---- one held-out evaluation ----
    def heldout(self, values: dict[str, float], step: int) -> dict[str, float]:
        """Record held-out ``values`` (``<task>/<metric>``) at ``step``; returns the alarm flag to log.

        The alarm fires when, over the last ``patience`` evaluations, the held-out metric got worse at each one while
        the mean training reward since the previous evaluation rose at each one.
        """
        if self.metric is None and values:
            self.metric = next(iter(values))
        if self.metric not in values:
            return {}
        reward = _mean(self.rewards_since_eval)
        self.rewards_since_eval = []
        self.evals.append({"step": step, "metric": float(values[self.metric]), "train_reward": reward})
        if not self.patience or len(self.evals) < self.patience + 1:
            return {"hacking/reward_up_metric_down": 0.0} if self.patience else {}
        last = self.evals[-(self.patience + 1) :]
        sign = 1.0 if self.higher_is_better else -1.0
        worse = all(sign * (b["metric"] - a["metric"]) < 0 for a, b in zip(last, last[1:]))
        rewards = [e["train_reward"] for e in last if not math.isnan(e["train_reward"])]
        rose = len(rewards) >= 2 and all(b > a for a, b in zip(rewards, rewards[1:]))
        alarm = worse and rose
        if alarm and not self._trend_active:
            msg = (
                f"reward hacking? over the last {self.patience} evaluations (to step {step}) the training reward rose "
                f"while held-out {self.metric} got worse ({last[0]['metric']:.4g} -> {last[-1]['metric']:.4g})"
            )
            logger.warning(msg)
            self.alarms.append({"step": step, "alarm": "reward_up_metric_down", "message": msg})
        self._trend_active = alarm
        return {"hacking/reward_up_metric_down": float(alarm)}


class MonitorCallback(StatefulCallback):
    """Saves a :class:`RunMonitor`'s state with each checkpoint (restored on resume)."""

    def __init__(self, monitor: RunMonitor) -> None:
        self.monitor = monitor

    def state_dict(self) -> dict[str, Any]:
        return self.monitor.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.monitor.load_state_dict(state)
