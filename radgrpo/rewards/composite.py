"""Reward breakdowns (total + named components) and a weighted sum of rewards, with logging through TRL.

What it is: :class:`RewardBreakdown` is the per-sample result every radgrpo reward produces before it is reduced to
TRL's ``float | None``; its ``components`` are sub-scores (e.g. the number of parsed boxes) that are logged, never
added to the reward. :func:`log_breakdowns` sends them to TRL's ``log_metric(name, value)`` (batch means) and
``log_extra(column, values)`` (one completions-table column per component) when the trainer passes those kwargs.
:class:`CompositeReward` sums weighted rewards into one callable, for trainers that take a single reward function
(verl's ``compute_score``, the reward server); with TRL, passing the rewards separately plus ``reward_weights`` is
equivalent (docs/rewards.md#task-routing-and-failures). What it is not: a reward itself (torchtune's
``RewardOutput`` idea).

Example:
    >>> b = RewardBreakdown(0.75, {"n_pred_boxes": 2.0})
    >>> b.total, b.ok
    (0.75, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "skipped", "failed")


@dataclass
class RewardBreakdown:
    """One sample's reward and its logged sub-scores.

    Args:
        total: the reward (``None`` unless ``status == "ok"``).
        components: sub-scores for logging (floats), not part of the reward.
        status: ``"ok"``, ``"skipped"`` (the reward does not apply, e.g. another task) or ``"failed"`` (scoring
            raised; excluded and counted).
        error: the error text for a failed sample.

    Example:
        >>> RewardBreakdown.failed("ValueError: empty reference").total is None
        True
    """

    total: float | None
    components: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.status == "ok":
            if self.total is None or not math.isfinite(float(self.total)):
                raise ValueError(f"an ok reward needs a finite total, got {self.total!r}")
            self.total = float(self.total)
        elif self.total is not None:
            raise ValueError(f"a {self.status} reward has no total, got {self.total!r}")

    @property
    def ok(self) -> bool:
        """True when the sample was scored."""
        return self.status == "ok"

    @classmethod
    def skipped(cls) -> RewardBreakdown:
        """A sample the reward does not apply to (TRL gets ``None``)."""
        return cls(None, status="skipped")

    @classmethod
    def failed(cls, error: str) -> RewardBreakdown:
        """A sample whose scoring raised (TRL gets ``None``; the caller counts and logs it)."""
        return cls(None, status="failed", error=error)


def log_breakdowns(
    name: str,
    breakdowns: Sequence[RewardBreakdown],
    log_metric: Callable[[str, float], Any] | None,
    log_extra: Callable[[str, list], Any] | None,
) -> None:
    """Log component means (``<name>/<component>``) and the failed fraction through TRL's callbacks.

    Args:
        name: reward name used as the metric prefix.
        breakdowns: one per completion of the batch.
        log_metric: TRL's ``log_metric(name, value)`` kwarg, or None.
        log_extra: TRL's ``log_extra(column, values)`` kwarg (one value per completion), or None.
    Returns:
        None. Nothing is logged for a batch where the reward applied to no sample.

    Example:
        >>> got = []
        >>> bds = [RewardBreakdown(1.0, {"n": 2.0}), RewardBreakdown(0.0, {"n": 0.0}), RewardBreakdown.skipped()]
        >>> log_breakdowns("r", bds, lambda k, v: got.append((k, v)), None)
        >>> got
        [('r/failed_frac', 0.0), ('r/n', 1.0)]
    """
    applied = [b for b in breakdowns if b.status != "skipped"]
    if not applied:
        return
    keys = sorted({k for b in applied if b.ok for k in b.components})
    if callable(log_metric):
        log_metric(f"{name}/failed_frac", sum(b.status == "failed" for b in applied) / len(applied))
        for k in keys:
            vals = [b.components[k] for b in applied if b.ok and k in b.components]
            log_metric(f"{name}/{k}", float(sum(vals) / len(vals)))
    if callable(log_extra):
        for k in keys:
            log_extra(f"{name}/{k}", [b.components.get(k) if b.ok else None for b in breakdowns])


def _part_name(part: Any) -> str:
    return getattr(part, "__name__", type(part).__name__)


def _part_breakdowns(part: Any, completions: list[Any], kwargs: dict[str, Any]) -> list[RewardBreakdown]:
    if hasattr(part, "breakdowns"):
        return part.breakdowns(completions, **kwargs)
    out = part(completions, **kwargs)  # a plain TRL reward function: None means "excluded"
    return [RewardBreakdown.skipped() if v is None else RewardBreakdown(float(v)) for v in out]


class CompositeReward:
    """Weighted sum of rewards as one TRL-signature callable.

    Per sample: a part that failed makes the sum fail (``None``, counted by that part); parts that do not apply are
    left out; if no part applies the sample is skipped (``None``). Components are the weighted part values
    (``<part name>``) plus each part's own components (``<part name>/<component>``).

    Args:
        parts: ``(reward, weight)`` pairs; rewards are radgrpo rewards or plain TRL reward functions.
        name: the callable's ``__name__`` (TRL logs ``rewards/<name>/mean``).

    Example:
        >>> from radgrpo.rewards.format import think_format_reward
        >>> from radgrpo.rewards.grounding import grounding_soft_f1_reward
        >>> r = CompositeReward([(grounding_soft_f1_reward, 1.0), (think_format_reward, 0.5)])
        >>> out = r(["<think>ok</think>[0, 0, 1, 1]", "[0, 0, 1, 1]"], reference_boxes=[[[0, 0, 1, 1]]] * 2,
        ...         thinking=[True, False])
        >>> [round(v, 6) for v in out]  # 1.0 soft-F1 + 0.5 * format; the second has no format term
        [1.5, 1.0]
    """

    def __init__(self, parts: Sequence[tuple[Any, float]], name: str = "composite") -> None:
        if not parts:
            raise ValueError("CompositeReward needs at least one (reward, weight) part")
        for p, w in parts:
            if not callable(p):
                raise TypeError(f"reward part {p!r} is not callable")
            if not math.isfinite(float(w)):
                raise ValueError(f"weight of {_part_name(p)} must be finite, got {w!r}")
        self.parts = [(p, float(w)) for p, w in parts]
        self.__name__ = name

    def breakdowns(self, completions: list[Any], **kwargs: Any) -> list[RewardBreakdown]:
        """Per-sample breakdowns of the weighted sum (no logging).

        Args:
            completions: TRL completions (strings or conversational lists).
            **kwargs: dataset columns, passed to every part.
        Returns:
            one :class:`RewardBreakdown` per completion.
        """
        per_part = [(_part_name(p), w, _part_breakdowns(p, completions, kwargs)) for p, w in self.parts]
        out: list[RewardBreakdown] = []
        for i in range(len(completions)):
            items = [(n, w, bds[i]) for n, w, bds in per_part]
            failed = [f"{n}: {b.error}" for n, _, b in items if b.status == "failed"]
            if failed:
                out.append(RewardBreakdown.failed("; ".join(failed)))
                continue
            scored = [(n, w, b) for n, w, b in items if b.ok]
            if not scored:
                out.append(RewardBreakdown.skipped())
                continue
            comps: dict[str, float] = {}
            for n, w, b in scored:
                comps[n] = w * b.total  # type: ignore[operator]
                comps.update({f"{n}/{k}": v for k, v in b.components.items()})
            out.append(RewardBreakdown(sum(w * float(b.total or 0.0) for _, w, b in scored), comps))  # all ok
        return out

    def __call__(self, completions: list[Any], **kwargs: Any) -> list[float | None]:
        """TRL contract: one ``float | None`` per completion; logs components when TRL passes ``log_metric``."""
        bds = self.breakdowns(completions, **kwargs)
        log_breakdowns(self.__name__, bds, kwargs.get("log_metric"), kwargs.get("log_extra"))
        return [b.total for b in bds]
