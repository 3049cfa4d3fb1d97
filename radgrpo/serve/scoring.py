"""Scoring checked requests with one reward: what a reward replica does with a batch of requests (no Ray here).

What it is: :func:`score_requests` takes the requests Ray Serve's ``@serve.batch`` gathered (each a
:meth:`~radgrpo.serve.requests.ScoreRequest.to_dict`), scores requests with the same columns in ONE reward call
(their items concatenated, so a model-backed reward runs one batched forward pass) and splits the results back per
request, in order; :func:`answer` is the JSON answer of one request. A request the reward refuses as a whole (a
required column missing while a sample needs it) gets ``{"error": ..., "status_code": 400}`` without spoiling the
other requests of its batch. The per-sample results equal an in-process ``get_reward(name)(completions,
**columns)`` call: rewards score samples independently, and a batch that raises is rescored request by request.
What it is not: request checking (:mod:`radgrpo.serve.requests`) or the HTTP app (:mod:`radgrpo.serve.app`).

Answer of one request (docs/rewards.md#reward-service)::

    {"rewards": [float | null, ...],            # one per completion, request order
     "status": ["ok" | "not_applicable" | "failed", ...],
     "components": {NAME: [float | null, ...]},  # Reward.breakdowns sub-scores; null where not scored
     "errors": [str | null, ...],               # the error of each failed sample
     "n_failed": int}

Example:
    >>> from radgrpo.rewards import get_reward
    >>> reqs = [{"completions": ["[0, 0, 1, 1]"], "columns": {"reference_boxes": [[[0, 0, 1, 1]]]}},
    ...         {"completions": ["x"], "columns": {"reference_boxes": [None], "task": ["report_generation"]}}]
    >>> [a["status"] for a in score_requests(get_reward("grounding_soft_f1"), reqs)]
    [['ok'], ['not_applicable']]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from radgrpo.rewards.composite import RewardBreakdown

__all__ = ["STATUS", "answer", "breakdowns_of", "score_requests"]

#: RewardBreakdown status -> the answer's status word
STATUS = {"ok": "ok", "skipped": "not_applicable", "failed": "failed"}


def breakdowns_of(reward: Callable[..., Any], completions: Sequence[Any], columns: dict[str, Any]) -> list[Any]:
    """Per-sample breakdowns of ``reward``: ``reward.breakdowns(...)`` for radgrpo rewards; for a plain TRL reward
    function, its values (``None`` -> not applicable, since it cannot tell a failure apart)."""
    if hasattr(reward, "breakdowns"):
        return list(reward.breakdowns(completions, **columns))
    values = reward(list(completions), **columns)
    return [RewardBreakdown.skipped() if v is None else RewardBreakdown(float(v)) for v in values]


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def answer(breakdowns: Sequence[RewardBreakdown]) -> dict[str, Any]:
    """The JSON answer of one request from its per-sample breakdowns (components: the union of the scored samples'
    names, sorted; ``null`` where a sample has no such component, was not scored or the value is not finite).

    Example:
        >>> a = answer([RewardBreakdown(0.5, {"n": 2.0}), RewardBreakdown.skipped(), RewardBreakdown.failed("E: x")])
        >>> a["rewards"], a["status"], a["components"]
        ([0.5, None, None], ['ok', 'not_applicable', 'failed'], {'n': [2.0, None, None]})
        >>> a["errors"], a["n_failed"]
        ([None, None, 'E: x'], 1)
    """
    names = sorted({k for b in breakdowns if b.ok for k in b.components})
    return {
        "rewards": [b.total if b.ok else None for b in breakdowns],
        "status": [STATUS[b.status] for b in breakdowns],
        "components": {
            k: [_finite(b.components[k]) if b.ok and k in b.components else None for b in breakdowns] for k in names
        },
        "errors": [b.error if b.status == "failed" else None for b in breakdowns],
        "n_failed": sum(b.status == "failed" for b in breakdowns),
    }


def _refused(e: Exception) -> dict[str, Any]:
    """The answer of a request the reward refused as a whole: 400 for a data error, 500 for anything else."""
    client = isinstance(e, (ValueError, TypeError, KeyError))
    return {"error": " ".join(f"{type(e).__name__}: {e}".split()), "status_code": 400 if client else 500}


def _score_group(reward: Callable[..., Any], group: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers of requests with the same column names, from one reward call when none of them is refused."""
    completions = [c for r in group for c in r["completions"]]
    names = list(group[0]["columns"])
    columns = {k: [v for r in group for v in r["columns"][k]] for k in names}
    try:
        bds = breakdowns_of(reward, completions, columns)
    except Exception as e:
        if len(group) == 1:
            return [_refused(e)]
        return [a for r in group for a in _score_group(reward, [r])]  # find the request(s) the reward refuses
    out, start = [], 0
    for r in group:
        n = len(r["completions"])
        out.append(answer(bds[start : start + n]))
        start += n
    return out


def score_requests(reward: Callable[..., Any], requests: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One answer per request (same order): requests with the same column names share one reward call.

    Args:
        reward: a radgrpo reward (or any TRL reward function).
        requests: ``{"completions": [...], "columns": {name: [...]}}`` dicts, already checked
            (:func:`radgrpo.serve.requests.parse_score_request`).
    Returns:
        per request, :func:`answer`'s dict, or ``{"error": str, "status_code": 400 | 500}``.
    """
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(tuple(sorted(r["columns"])), []).append(i)
    out: list[dict[str, Any]] = [{}] * len(requests)
    for idx in groups.values():
        for i, a in zip(idx, _score_group(reward, [requests[i] for i in idx])):
            out[i] = a
    return out
