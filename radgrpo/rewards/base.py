"""Shared plumbing of radgrpo rewards: TRL's reward-function contract, answer extraction, failure accounting.

A reward is a callable ``fn(completions, **columns) -> list[float | None]`` (TRL ``GRPOTrainer`` contract; dataset
columns arrive as keyword lists, one value per completion). ``None`` means "this reward does not apply to this
sample" (e.g. a grounding reward on a report prompt) or "scoring failed": TRL excludes ``None`` from the sum for that
sample. Failures are counted and logged, never silently turned into a score.

Example:
    >>> completion_text([{"role": "assistant", "content": "[0.1, 0.2, 0.3, 0.4]"}])
    '[0.1, 0.2, 0.3, 0.4]'
    >>> split_thinking("<think>look</think> The heart is enlarged.", which="first")
    ('The heart is enlarged.', True)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger("radgrpo.rewards")

_FIRST_CLOSE = re.compile(r"</think>\s*(.*)\Z", re.IGNORECASE | re.DOTALL)


def completion_text(completion: Any) -> str:
    """The assistant text of a TRL completion: a string, or a conversational ``[{"role", "content"}]`` list."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        last = completion[-1]
        if isinstance(last, dict):
            content = last.get("content", "")
            if isinstance(content, list):  # content parts
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content)
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return "" if completion is None else str(completion)


def split_thinking(text: str, which: str = "first") -> tuple[str, bool]:
    """``(answer, has_tag)``: the text after the ``</think>`` tag.

    ``which="first"`` follows the grounding reward (regex ``</think>\\s*(.*)\\Z`` on the first tag, case-insensitive);
    ``which="last"`` follows the report reward client (``rfind`` of the last tag). Without a tag: ``("", False)``.
    """
    if which == "first":
        m = _FIRST_CLOSE.search(text)
        return (m.group(1).strip(), True) if m else ("", False)
    if which == "last":
        i = text.lower().rfind("</think>")
        return (text[i + len("</think>"):].strip(), True) if i >= 0 else ("", False)
    raise ValueError(f"which must be 'first' or 'last', got {which!r}")


def column(kwargs: dict[str, Any], name: str, n: int, default: Any = None) -> list[Any]:
    """Per-completion values of dataset column ``name`` (a scalar is broadcast; missing -> ``default``)."""
    v = kwargs.get(name, default)
    if isinstance(v, (list, tuple)) and len(v) == n:
        return list(v)
    return [v] * n


def applies(task: Any, tasks: Sequence[str] | None) -> bool:
    """Whether a sample's ``task`` column value is one of ``tasks`` (None task = applies, for plain datasets)."""
    if tasks is None or task is None:
        return True
    return str(getattr(task, "value", task)) in tasks


class FailureCounter:
    """Counts per-sample scoring failures of one reward; logs a warning with the running count."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failures = 0
        self.calls = 0

    def run(self, fn: Callable[[], float]) -> float | None:
        """``fn()``, or None (counted and logged) when it raises."""
        try:
            return float(fn())
        except Exception as e:  # noqa: BLE001 - one bad sample must not stop training
            self.failures += 1
            logger.warning("reward %s failed on a sample (%d failures so far): %s: %s", self.name, self.failures,
                           type(e).__name__, e)
            return None


def log_sub_scores(kwargs: dict[str, Any], name: str, values: Sequence[float | None]) -> None:
    """Log the mean of the non-None values through TRL's ``log_metric`` kwarg when the trainer passes one."""
    log_metric = kwargs.get("log_metric")
    vals = [v for v in values if v is not None]
    if callable(log_metric) and vals:
        log_metric(name, sum(vals) / len(vals))
