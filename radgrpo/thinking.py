"""The thinking format in one place: the two answer-extraction rules of the paper for outputs that think inside
``<think>…</think>`` (a layer-0 module, so rewards, evaluation and model adapters share it).

- ``"first"``: the text after the FIRST ``</think>`` (regex ``</think>\\s*(.*)\\Z``, case-insensitive, DOTALL): the
  grounding reward's rule.
- ``"last"``: the text after the LAST ``</think>`` (``str.rfind``, case-sensitive, as in the paper's code): the report
  reward's and the evaluation's rule.

Example:
    >>> split_thinking("<think>a</think> b </think> c", "first"), split_thinking("<think>a</think> b </think> c", "last")
    (('b </think> c', True), ('c', True))
"""

from __future__ import annotations

import re

__all__ = ["THINK_CLOSE", "THINK_OPEN", "split_thinking"]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
_FIRST_CLOSE = re.compile(r"</think>\s*(.*)\Z", re.IGNORECASE | re.DOTALL)


def split_thinking(text: str, which: str = "first") -> tuple[str, bool]:
    """``(answer, has_tag)``: the stripped text after a ``</think>`` tag.

    Args:
        text: the completion text.
        which: ``"first"`` (grounding rule) or ``"last"`` (report and evaluation rule); see the module docstring.
    Returns:
        the answer and whether the tag was found; ``("", False)`` without a tag.

    Example:
        >>> split_thinking("<think>a</THINK>b", "first"), split_thinking("<think>a</THINK>b", "last")
        (('b', True), ('', False))
        >>> split_thinking("no tag")
        ('', False)
    """
    if which == "first":
        m = _FIRST_CLOSE.search(text)
        return (m.group(1).strip(), True) if m else ("", False)
    if which == "last":
        i = text.rfind(THINK_CLOSE)
        return (text[i + len(THINK_CLOSE) :].strip(), True) if i >= 0 else ("", False)
    raise ValueError(f"which must be 'first' or 'last', got {which!r}")
