"""Rewards by name: the names GRPO configs list in ``reward_funcs`` (``radgrpo rewards list``).

Factories are looked up lazily, so model-backed rewards (−RadCliQ, BERTScore, RadGraph) import their models only
when chosen. An unknown name raises with the list of valid names.

Example:
    >>> "grounding_soft_f1" in list_rewards()
    True
    >>> get_reward("grounding_soft_f1").__name__
    'grounding_soft_f1'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# name -> ("module:attribute", one-line description). The attribute is either a ready reward or a factory
# ``make_*(**kwargs)`` (called with the kwargs given to :func:`get_reward`).
REWARDS: dict[str, tuple[str, str]] = {
    "grounding_soft_f1": ("radgrpo.rewards.grounding:make_grounding_soft_f1_reward",
                          "IoU soft-F1 with Hungarian matching, released-code variant (paper §5.3)"),
    "grounding_soft_f1_dice": ("radgrpo.rewards.grounding:make_grounding_soft_f1_reward:dice",
                               "IoU soft-F1, Dice variant 2ΣIoU/(|P|+|G|) (paper Fig. 1)"),
    "bleu4": ("radgrpo.rewards.report:bleu4_reward", "coco-caption BLEU-4 vs reference_report (offline)"),
    "gleu": ("radgrpo.rewards.report:gleu_reward", "Google-BLEU vs reference_report (paper's GLEU ablation)"),
    "think_format": ("radgrpo.rewards.format:think_format_reward", "1 if <think>…</think> + answer, else 0"),
}


def register_reward(name: str, target: str, description: str) -> None:
    """Register ``name`` -> ``"module:attribute"`` (a reward callable or a ``make_*`` factory)."""
    REWARDS[name] = (target, description)


def list_rewards() -> list[str]:
    """Registered reward names, sorted."""
    return sorted(REWARDS)


def get_reward(name: str, **kwargs: Any) -> Callable[..., list[float | None]]:
    """The reward callable registered as ``name`` (factories get ``kwargs``).

    Raises:
        KeyError: unknown name; the message lists the valid names.
    """
    if name not in REWARDS:
        raise KeyError(f"unknown reward {name!r}; valid rewards: {', '.join(list_rewards())}")
    target = REWARDS[name][0]
    module, attr, *variant = target.split(":")
    obj = getattr(importlib.import_module(module), attr)
    if attr.startswith("make_"):
        if variant:
            kwargs.setdefault("variant", variant[0])
        return obj(**kwargs)
    if kwargs:
        raise TypeError(f"reward {name!r} takes no options, got {sorted(kwargs)}")
    return obj
