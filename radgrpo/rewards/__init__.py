"""Rewards in TRL's signature ``fn(completions, **columns) -> list[float | None]``, built on ``radgrpo.metrics``.

Choose them by name (:func:`radgrpo.rewards.registry.get_reward`, ``radgrpo rewards list``); ``None`` marks samples
a reward does not apply to or failed on (failures counted and logged), never a silent 0. Modules: ``base`` (the
contract, :class:`~radgrpo.rewards.base.Reward`), ``grounding`` (soft-F1), ``report`` (BLEU-4, GLEU), ``clinical``
(−RadCliQ, BERTScore, RadGraph F1), ``format`` (think format), ``composite`` (``RewardBreakdown``, weighted sums),
``remote`` (``RemoteReward``, a reward scored by a reward service over HTTP: ``get_reward("remote:NAME@URL")``),
``registry``. Importing this package imports no model code and no TRL.

The default-configured rewards are also importable by name (loaded on first access; model-backed ones load their
scoring models only when first called):

- ``grounding_soft_f1_reward(completions, reference_boxes, **kw)``: IoU soft-F1, the released reward
  (docs/rewards.md#grounding_soft_f1);
- ``radcliq_reward(completions, reference_report, **kw)``: −RadCliQ with the paper's rules (docs/rewards.md#radcliq);
- ``bertscore_reward``, ``radgraph_reward`` (complete level), ``gleu_reward``, ``bleu4_reward``, ``think_format_reward``.

Example:
    >>> from radgrpo.rewards import grounding_soft_f1_reward
    >>> r = grounding_soft_f1_reward(["[0.1, 0.1, 0.5, 0.5]", "no box"], reference_boxes=[[[0.1, 0.1, 0.5, 0.5]]] * 2)
    >>> [round(v, 6) for v in r]  # the released code's 1e-8 terms
    [1.0, 0.0]
"""

from __future__ import annotations

import importlib
from typing import Any

from radgrpo.rewards.registry import get_reward, list_rewards, register_reward

# public reward instance -> submodule that defines it
_LAZY = {
    "grounding_soft_f1_reward": "grounding",
    "radcliq_reward": "clinical",
    "bertscore_reward": "clinical",
    "radgraph_reward": "clinical",
    "gleu_reward": "report",
    "bleu4_reward": "report",
    "think_format_reward": "format",
    "RemoteReward": "remote",
}

__all__ = ["get_reward", "list_rewards", "register_reward", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
