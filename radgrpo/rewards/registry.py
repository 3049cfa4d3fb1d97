"""Rewards by name: the names GRPO configs list in ``reward_funcs`` (``radgrpo rewards list``).

Each name maps to a ``"module:attribute"`` target and a one-line description. The attribute is a factory
``make_*(**kwargs) -> reward`` (called with the kwargs given to :func:`get_reward`) or a ready reward instance (no
kwargs allowed). Targets are imported only when a name is requested, so model-backed rewards (−RadCliQ, BERTScore,
RadGraph F1 in ``radgrpo.rewards.clinical``) cost nothing until chosen; they register themselves here (add a line to
:data:`REWARDS` or call :func:`register_reward`). An unknown name raises ``KeyError`` listing the valid names (as
``trl/scripts/grpo.py`` does for its reward names).

Example:
    >>> "grounding_soft_f1" in list_rewards()
    True
    >>> get_reward("grounding_soft_f1", variant="dice").__name__
    'grounding_soft_f1_dice'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# name -> ("module:attribute", one-line description)
REWARDS: dict[str, tuple[str, str]] = {
    "grounding_soft_f1": (
        "radgrpo.rewards.grounding:make_grounding_soft_f1_reward",
        "IoU soft-F1 with Hungarian matching, released-code variant (the paper's reward); "
        "options variant=paper_code|dice, min_iou, thinking",
    ),
    "grounding_soft_f1_dice": (
        "radgrpo.rewards.grounding:make_grounding_soft_f1_dice_reward",
        "IoU soft-F1, Dice variant 2*sum(IoU)/(|P|+|G|) (paper Fig. 1)",
    ),
    "bleu4": (
        "radgrpo.rewards.report:make_bleu4_reward",
        "coco-caption BLEU-4 vs reference_report (offline lexical reward)",
    ),
    "gleu": (
        "radgrpo.rewards.report:make_gleu_reward",
        "Google-BLEU vs reference_report (the paper's GLEU ablation reward)",
    ),
    "rule_finding_errors": (
        "radgrpo.rewards.report:make_rule_finding_errors_reward",
        "minus (missed + 0.7 x falsely named findings) per report, read by the rule_chexpert "
        "labeller (synthetic/offline report reward; not CheXbert); options false_positive_cost, "
        "side, thinking",
    ),
    "rule_finding_f1": (
        "radgrpo.rewards.report:make_rule_finding_f1_reward",
        "per-report F1 of positive findings read by the rule_chexpert labeller, side-aware by default "
        "(synthetic/offline report reward; not CheXbert); options side, lexical_weight, thinking",
    ),
    "think_format": (
        "radgrpo.rewards.format:make_think_format_reward",
        "1.0 for one <think>...</think> block + a non-empty answer, else 0.0 (thinking samples)",
    ),
    "radcliq": (
        "radgrpo.rewards.clinical:make_radcliq_reward",
        "-RadCliQ, the paper's report reward (radcliq_paper rules: 2048 chars, lowercase, <=5 chars or no "
        "</think> -> -3); options config=radcliq_paper|radcliq_v1, thinking, model_dirs, device, dtype",
    ),
    "bertscore": (
        "radgrpo.rewards.clinical:make_bertscore_reward",
        "BERTScore F1 (distilbert-base-uncased L5 rescaled; paper ablation); options config, model_dir",
    ),
    "radgraph_f1": (
        "radgrpo.rewards.clinical:make_radgraph_reward",
        "RadGraph F1 (radgraph-xl; paper ablation uses level=complete); options level, model, model_dir",
    ),
    # not a name but the form of every remote reward; get_reward reads the "remote:" prefix before this table
    "remote:NAME@URL[,URL]": (
        "radgrpo.rewards.remote:make_remote_reward",
        "reward NAME scored by a reward service at the URL(s), with retries and failover "
        "(docs/rewards.md#remote-rewards); options timeout_s, retries, backoff_s, chunk_size, api_key_env",
    ),
}


def register_reward(name: str, target: str, description: str, overwrite: bool = False) -> None:
    """Register ``name`` -> ``"module:attribute"`` (a ``make_*`` factory or a reward instance).

    Args:
        name: the name configs use.
        target: ``"package.module:attribute"``; imported lazily by :func:`get_reward`.
        description: one line for ``radgrpo rewards list``.
        overwrite: allow replacing an existing name.
    Raises:
        ValueError: a malformed target, or an existing name without ``overwrite``.

    Example:
        >>> register_reward("bleu4", "radgrpo.rewards.report:make_bleu4_reward", "again")
        Traceback (most recent call last):
        ...
        ValueError: reward 'bleu4' is already registered (pass overwrite=True to replace it)
    """
    if target.count(":") != 1 or not all(target.split(":")):
        raise ValueError(f"reward target must be 'module:attribute', got {target!r}")
    if name in REWARDS and not overwrite:
        raise ValueError(f"reward {name!r} is already registered (pass overwrite=True to replace it)")
    REWARDS[name] = (target, description)


def list_rewards() -> list[str]:
    """Registered reward names, sorted.

    Example:
        >>> {"bleu4", "gleu", "think_format"} <= set(list_rewards())
        True
    """
    return sorted(REWARDS)


def get_reward(name: str, **kwargs: Any) -> Callable[..., list[float | None]]:
    """The reward registered as ``name``: a TRL-signature callable ``fn(completions, **columns)``.

    Args:
        name: a registered name (:func:`list_rewards`), or ``"remote:NAME@URL[,URL]"`` for a reward scored by a
            reward service (:class:`radgrpo.rewards.remote.RemoteReward`).
        **kwargs: options for the reward's factory.
    Returns:
        the reward callable (its ``__name__`` is what TRL logs).
    Raises:
        KeyError: unknown name; the message lists the valid names.
        TypeError: options given to a reward that takes none, or unknown options.

    Example:
        >>> get_reward("radcliqq")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        KeyError: "unknown reward 'radcliqq'; valid rewards: bertscore, bleu4, ..."
    """
    if name.startswith("remote:"):  # a reward service over HTTP (docs/rewards.md#remote-rewards)
        from radgrpo.rewards.remote import make_remote_reward

        return make_remote_reward(name, **kwargs)
    if name not in REWARDS:
        raise KeyError(f"unknown reward {name!r}; valid rewards: {', '.join(list_rewards())}")
    module, attr = REWARDS[name][0].split(":")
    obj = getattr(importlib.import_module(module), attr)
    if isinstance(obj, type) or (callable(obj) and attr.startswith("make_")):
        return obj(**kwargs)
    if kwargs:
        raise TypeError(f"reward {name!r} takes no options, got {sorted(kwargs)}")
    return obj
