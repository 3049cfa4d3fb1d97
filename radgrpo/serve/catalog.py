"""What ``GET /rewards`` says about each served reward: its description, options, the metric it wraps and the scoring
models that metric needs (no Ray here).

The description and the metric the reward scores with are the reward registry's (``radgrpo rewards list``,
:func:`radgrpo.rewards.registry.reward_spec`); the models are those of that metric's table entry
(:mod:`radgrpo.metrics.registry`), for the reward's default options (``radcliq`` with
``config="radcliq_v1"`` uses RadGraph v1 instead, ``bertscore`` with ``config="bertscore_radcliq"`` RadCliQ's
encoder). ``radgrpo models download NAME`` fetches a model (docs/rewards.md#reward-service).

Example:
    >>> info = reward_info("bleu4")
    >>> info["metric"], info["models"]
    ('bleu4', [])
    >>> reward_info("radcliq")["models"][:2]
    ['radgraph-xl', 'radgraph-xl-backbone']
"""

from __future__ import annotations

from typing import Any

from radgrpo.metrics.registry import get_metric
from radgrpo.rewards.registry import reward_spec

__all__ = ["reward_info"]


def reward_info(name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"name", "description", "options", "metric", "models"}`` of registered reward ``name``.

    Args:
        name: a registered reward name.
        options: the factory options it is served with.
    Returns:
        the reward registry's description and metric (:class:`radgrpo.rewards.registry.RewardSpec`; None for a
        reward that wraps no metric of the table: ``think_format``, ``rule_finding_errors``) and that metric's
        scoring models.
    Raises:
        KeyError: an unregistered name.
    """
    spec = reward_spec(name)
    metric = spec.metric
    return {
        "name": name,
        "description": spec.description,
        "options": dict(options or {}),
        "metric": metric,
        "models": list(get_metric(metric).models) if metric else [],
    }
