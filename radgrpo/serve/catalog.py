"""What ``GET /rewards`` says about each served reward: its description, options, the metric it wraps and the scoring
models that metric needs (no Ray here).

The description is the reward registry's line (``radgrpo rewards list``); the models are those of the metric table
entry (:mod:`radgrpo.metrics.registry`) the reward scores with, for the reward's default options (``radcliq`` with
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
from radgrpo.rewards.registry import REWARDS

__all__ = ["REWARD_METRICS", "reward_info"]

#: reward name -> the metric table entry it scores with (rewards absent here wrap no metric: ``think_format``, and
#: ``rule_finding_errors``, which counts the rule labeller's finding errors with its own costs and is neither the
#: ``rule_finding_f1`` metric nor the declared ``clinical_utility``); radgrpo.eval.report.tables.REWARD_METRICS
#: stars the same metrics' results (a test keeps the two in step)
REWARD_METRICS: dict[str, str] = {
    "grounding_soft_f1": "soft_f1",
    "grounding_soft_f1_dice": "soft_f1_dice",
    "bleu4": "bleu4",
    "gleu": "gleu",
    "radcliq": "radcliq",
    "bertscore": "bertscore",
    "radgraph_f1": "radgraph",
    "rule_finding_f1": "rule_finding_f1",
    "clinical_utility": "clinical_utility",
}


def reward_info(name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"name", "description", "options", "metric", "models"}`` of registered reward ``name``.

    Args:
        name: a registered reward name.
        options: the factory options it is served with.
    Raises:
        KeyError: an unregistered name.
    """
    metric = REWARD_METRICS.get(name)
    return {
        "name": name,
        "description": REWARDS[name][1],
        "options": dict(options or {}),
        "metric": metric,
        "models": list(get_metric(metric).models) if metric else [],
    }
