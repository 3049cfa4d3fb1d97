"""Thinking-format reward: one well-formed ``<think>…</think>`` block followed by a non-empty answer.

The paper has no separate format reward (its task rewards penalise a missing ``</think>`` with 0 or −3, paper.md
§5.4); this is an optional shaping term for cold-start or ablations. Non-thinking samples get ``None``.

Example:
    >>> think_format_reward(["<think>a</think> b", "no tags", "<think>a</think>"], thinking=[True, True, True])
    [1.0, 0.0, 0.0]
"""

from __future__ import annotations

import re
from typing import Any

from radgrpo.rewards.base import column, completion_text

_WELL_FORMED = re.compile(r"\A\s*<think>(?:(?!</?think>).)*</think>\s*\S", re.DOTALL | re.IGNORECASE)


def think_format_reward(completions: list[Any], **kwargs: Any) -> list[float | None]:
    """1.0 if the completion is exactly ``<think>…</think>`` + a non-empty answer (no nested/extra tags), else 0.0."""
    thinking = column(kwargs, "thinking", len(completions), True)
    out: list[float | None] = []
    for c, th in zip(completions, thinking):
        if not th:
            out.append(None)
            continue
        text = completion_text(c)
        ok = bool(_WELL_FORMED.match(text)) and text.lower().count("<think>") == 1 and \
            text.lower().count("</think>") == 1
        out.append(1.0 if ok else 0.0)
    return out
