"""Thinking-format reward: exactly one well-formed ``<think>…</think>`` block followed by a non-empty answer.

The paper has no separate format reward (its task rewards penalise a missing ``</think>`` with 0 or −3,
docs/rewards.md#thinking-format-rule); this is an optional shaping term for the cold-start or ablations, named for
what it checks. It applies to thinking samples only: the ``thinking`` column (absent -> every sample is treated as thinking); other samples get
``None``. Tags are matched exactly (lowercase), and the completion must start with ``<think>`` (leading whitespace
allowed).

Example:
    >>> think_format_reward(["<think>a</think> b", "no tags", "<think>a</think>"], thinking=[True, True, True])
    [1.0, 0.0, 0.0]
"""

from __future__ import annotations

import re
from typing import Any

from radgrpo.rewards.base import Reward
from radgrpo.rewards.composite import RewardBreakdown

_WELL_FORMED = re.compile(r"\A\s*<think>(.*?)</think>(.*)\Z", re.DOTALL)


def is_well_formed(text: str, require_nonempty_thinking: bool = True) -> bool:
    """Whether ``text`` is one ``<think>…</think>`` block then a non-empty answer, with no other think tag.

    Args:
        text: completion text.
        require_nonempty_thinking: the block must contain non-whitespace text.
    Returns:
        the check.

    Example:
        >>> is_well_formed("<think> </think> ok"), is_well_formed("<think> </think> ok", False)
        (False, True)
    """
    if text.count("<think>") != 1 or text.count("</think>") != 1:
        return False
    m = _WELL_FORMED.match(text)
    if not m or not m.group(2).strip():
        return False
    return bool(m.group(1).strip()) or not require_nonempty_thinking


class ThinkFormatReward(Reward):
    """1.0 for a well-formed thinking completion (:func:`is_well_formed`), else 0.0; non-thinking samples None.

    Args:
        require_nonempty_thinking: an empty ``<think></think>`` block scores 0.0.
        name: ``__name__`` (default ``think_format``).

    Example:
        >>> ThinkFormatReward(require_nonempty_thinking=False)(["<think></think>a"])
        [1.0]
    """

    def __init__(self, require_nonempty_thinking: bool = True, name: str = "think_format") -> None:
        super().__init__(name, tasks=None)
        self.require_nonempty_thinking = require_nonempty_thinking

    def applies(self, row: dict[str, Any]) -> bool:
        """Thinking samples only (``thinking`` column true, absent or None)."""
        th = row.get("thinking", True)
        return super().applies(row) and (th is None or bool(th))

    def score_one(self, text: str, row: dict[str, Any]) -> RewardBreakdown:
        """1.0 / 0.0 for one completion."""
        return RewardBreakdown(float(is_well_formed(text, self.require_nonempty_thinking)))


def make_think_format_reward(require_nonempty_thinking: bool = True, name: str = "think_format") -> ThinkFormatReward:
    """Factory (registry name ``think_format``).

    Example:
        >>> make_think_format_reward()(["<think>x</think> y"], thinking=[False])
        [None]
    """
    return ThinkFormatReward(require_nonempty_thinking=require_nonempty_thinking, name=name)


think_format_reward = ThinkFormatReward()
