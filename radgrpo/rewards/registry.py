"""Rewards by name: the names GRPO configs list in ``reward_funcs`` (``radgrpo rewards list``).

Each name maps to a :class:`RewardSpec`: a ``"module:attribute"`` target, a one-line description, the metric of the
metric table (:mod:`radgrpo.metrics.registry`) it scores with, if any, and its short label (Table 3 of the report;
default: that metric's label). The reward service's catalogue and the report's Table 3 read the metric and the label
from here (:func:`reward_spec`). The attribute is a factory
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
    >>> reward_spec("radgraph_f1").metric, reward_label("radgraph_f1"), reward_spec("rule_finding_errors").metric
    ('radgraph', 'RGF1', None)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, NamedTuple

from radgrpo.config import did_you_mean
from radgrpo.metrics.display import label as metric_label
from radgrpo.metrics.registry import get_metric


class RewardSpec(NamedTuple):
    """One reward of the table (a tuple, so ``REWARDS[name][0]`` is the target and ``[1]`` the description).

    Args:
        target: ``"package.module:attribute"``, a ``make_*`` factory or a ready reward instance.
        description: one line for ``radgrpo rewards list`` and ``GET /rewards``.
        metric: the metric-table entry it scores with (the same function and values; its scoring models are the
            reward's), or None for a reward that is no metric of the table (``think_format``; ``rule_finding_errors``,
            which counts the rule labeller's finding errors with its own costs).
        label: its short label in the report's Table 3 (default: the metric's label, else the name).
    """

    target: str
    description: str
    metric: str | None = None
    label: str = ""


#: name -> :class:`RewardSpec` (an entry set by hand as a plain ``(target, description)`` pair is read as a reward
#: that scores no metric of the table)
REWARDS: dict[str, RewardSpec | tuple[str, str]] = {
    "grounding_soft_f1": RewardSpec(
        "radgrpo.rewards.grounding:make_grounding_soft_f1_reward",
        "IoU soft-F1 with Hungarian matching, released-code variant (the paper's reward)",
        metric="soft_f1",
    ),
    "grounding_soft_f1_dice": RewardSpec(
        "radgrpo.rewards.grounding:make_grounding_soft_f1_dice_reward",
        "IoU soft-F1, Dice variant 2*sum(IoU)/(|P|+|G|) (paper Fig. 1)",
        metric="soft_f1_dice",
    ),
    "bleu4": RewardSpec(
        "radgrpo.rewards.report:make_bleu4_reward",
        "coco-caption BLEU-4 vs reference_report (offline lexical reward)",
        metric="bleu4",
    ),
    "gleu": RewardSpec(
        "radgrpo.rewards.report:make_gleu_reward",
        "Google-BLEU vs reference_report (the paper's GLEU ablation reward)",
        metric="gleu",
    ),
    "rule_finding_errors": RewardSpec(
        "radgrpo.rewards.report:make_rule_finding_errors_reward",
        "minus (missed + 0.7 x falsely named findings) per report, read by the rule_chexpert "
        "labeller (synthetic/offline report reward; not CheXbert)",
        label="finding errors",
    ),
    "clinical_utility": RewardSpec(
        "radgrpo.rewards.report:make_clinical_utility_reward",
        "the declared clinical utility: minus per-finding costs of missed, falsely named and wrong-side findings "
        "(rule_chexpert labeller, hedged = named; options side, costs; synthetic/offline report reward)",
        metric="clinical_utility",
    ),
    "rule_finding_f1": RewardSpec(
        "radgrpo.rewards.report:make_rule_finding_f1_reward",
        "per-report F1 of positive findings read by the rule_chexpert labeller, side-aware by default "
        "(synthetic/offline report reward; not CheXbert)",
        metric="rule_finding_f1",
    ),
    "think_format": RewardSpec(
        "radgrpo.rewards.format:make_think_format_reward",
        "1.0 for one <think>...</think> block + a non-empty answer, else 0.0 (thinking samples)",
        label="think format",
    ),
    "radcliq": RewardSpec(
        "radgrpo.rewards.clinical:make_radcliq_reward",
        "-RadCliQ, the paper's report reward (radcliq_paper rules: 2048 chars, lowercase, <=5 chars or no "
        "</think> -> -3); config radcliq_paper or radcliq_v1",
        metric="radcliq",
    ),
    "bertscore": RewardSpec(
        "radgrpo.rewards.clinical:make_bertscore_reward",
        "BERTScore F1 (distilbert-base-uncased L5 rescaled; paper ablation)",
        metric="bertscore",
    ),
    "radgraph_f1": RewardSpec(
        "radgrpo.rewards.clinical:make_radgraph_reward",
        "RadGraph F1 (radgraph-xl; paper ablation uses level=complete; level simple|partial|complete)",
        metric="radgraph",
    ),
    # not a name but the form of every remote reward; get_reward reads the "remote:" prefix before this table
    "remote:NAME@URL[,URL]": RewardSpec(
        "radgrpo.rewards.remote:make_remote_reward",
        "reward NAME scored by a reward service at the URL(s), with retries and failover "
        "(docs/rewards.md#remote-rewards)",
    ),
}


def register_reward(
    name: str,
    target: str,
    description: str,
    overwrite: bool = False,
    *,
    metric: str | None = None,
    label: str = "",
) -> None:
    """Register ``name`` -> ``"module:attribute"`` (a ``make_*`` factory or a reward instance).

    Args:
        name: the name configs use.
        target: ``"package.module:attribute"``; imported lazily by :func:`get_reward`.
        description: one line for ``radgrpo rewards list``.
        overwrite: allow replacing an existing name.
        metric: the metric-table entry the reward scores with (:class:`RewardSpec`), if any.
        label: its short label in the report's Table 3 (default: the metric's label, else the name).
    Raises:
        ValueError: a malformed target, or an existing name without ``overwrite``.
        KeyError: a metric the metric table does not hold.

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
    if metric is not None:
        get_metric(metric)
    REWARDS[name] = RewardSpec(target, description, metric, label)


def reward_spec(name: str) -> RewardSpec:
    """The :class:`RewardSpec` of registered reward ``name`` (an unknown name raises ``KeyError``).

    Example:
        >>> reward_spec("grounding_soft_f1").metric, reward_spec("think_format").metric
        ('soft_f1', None)
    """
    if name not in REWARDS:
        hint = did_you_mean([name], list_rewards())
        raise KeyError(f"unknown reward {name!r}{hint or ';'} valid rewards: {', '.join(list_rewards())}")
    return RewardSpec(*REWARDS[name])


def reward_label(name: str) -> str:
    """The short label of reward ``name`` in the report's Table 3: its own, else the label of the metric it scores
    with, else the name (also for names the table does not hold, e.g. ``remote:...``).

    Example:
        >>> reward_label("radcliq"), reward_label("think_format"), reward_label("remote:bleu4@http://h:8000")
        ('RCQ', 'think format', 'remote:bleu4@http://h:8000')
    """
    if name not in REWARDS:
        return name
    spec = reward_spec(name)
    return spec.label or (metric_label(spec.metric) if spec.metric else name)


def list_rewards() -> list[str]:
    """Registered reward names, sorted.

    Example:
        >>> {"bleu4", "gleu", "think_format"} <= set(list_rewards())
        True
    """
    return sorted(REWARDS)


#: factory parameters that are not options a config can set (the callable's name, prebuilt scorer objects)
_NOT_OPTIONS = frozenset({"name", "scorer", "spec", "session"})


def _factory(name: str) -> Any:
    if name.startswith("remote:"):
        from radgrpo.rewards.remote import RemoteReward

        return RemoteReward
    if name not in REWARDS:
        hint = did_you_mean([name], list_rewards())
        raise KeyError(f"unknown reward {name!r}{hint or ';'} valid rewards: {', '.join(list_rewards())}")
    module, attr = REWARDS[name][0].split(":")
    return getattr(importlib.import_module(module), attr)


def reward_options(name: str) -> dict[str, Any]:
    """The options reward ``name`` takes (``reward_kwargs`` keys), with their defaults.

    Read from the factory's signature (or the remote reward's), so the list cannot drift from the code; ``{}`` for a
    reward that is a ready instance.

    Example:
        >>> reward_options("grounding_soft_f1")
        {'variant': 'paper_code', 'min_iou': 0.0, 'thinking': None}
        >>> sorted(reward_options("radgraph_f1"))[:3]
        ['backbone_dir', 'batch_size', 'device']
    """
    import inspect

    obj = _factory(name)
    if not (isinstance(obj, type) or (callable(obj) and getattr(obj, "__name__", "").startswith("make_"))):
        return {}
    params = inspect.signature(obj).parameters  # a class: its constructor's parameters (no self)
    skip = _NOT_OPTIONS | {"self"} | ({"urls"} if name.startswith("remote:") else set())
    return {
        k: (None if p.default is inspect.Parameter.empty else p.default)
        for k, p in params.items()
        if k not in skip and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


def check_reward_options(name: str, options: dict[str, Any]) -> None:
    """Reject options reward ``name`` does not take, by name, with the nearest valid one.

    Raises:
        TypeError: unknown options (the message lists the reward's options).

    Example:
        >>> check_reward_options("radgraph_f1", {"levle": "partial"})
        Traceback (most recent call last):
        ...
        TypeError: reward 'radgraph_f1' has no option 'levle'; did you mean level? Its options: backbone_dir, batch_size, device, level, model, model_dir, thinking
    """
    valid = reward_options(name)
    unknown = [k for k in options if k not in valid]
    if unknown:
        hint = did_you_mean(unknown, list(valid))
        listed = ", ".join(sorted(valid)) or "none"
        what = "option" if len(unknown) == 1 else "options"
        joiner = f"{hint} Its options" if hint else "; its options"
        raise TypeError(f"reward {name!r} has no {what} {', '.join(repr(u) for u in unknown)}{joiner}: {listed}")


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
        KeyError: "unknown reward 'radcliqq'; did you mean radcliq? valid rewards: bertscore, bleu4, ..."
    """
    if name.startswith("remote:"):  # a reward service over HTTP (docs/rewards.md#remote-rewards)
        from radgrpo.rewards.remote import make_remote_reward

        check_reward_options(name, kwargs)
        return make_remote_reward(name, **kwargs)
    obj = _factory(name)
    if kwargs:
        check_reward_options(name, kwargs)
    attr = REWARDS[name][0].split(":")[1]
    if isinstance(obj, type) or (callable(obj) and attr.startswith("make_")):
        return obj(**kwargs)
    if kwargs:
        raise TypeError(f"reward {name!r} takes no options, got {sorted(kwargs)}")
    return obj
