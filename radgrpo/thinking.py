"""The thinking format in one place: the thinking modes and the two answer-extraction rules of the paper for outputs
that think inside ``<think>…</think>`` (a layer-0 module, so data exports, training, rewards, evaluation and model
adapters share it).

Thinking modes (the ``thinking`` key of SFT, GRPO and evaluation configs; :func:`thinking_mode` reads them):

- ``"off"``: plain prompts and answers.
- ``"suffix"``: the prompt ends with the paper's ``" /think"`` switch (:data:`radgrpo.data.prompts.THINK_SUFFIX`, the
  one definition of the suffix) and the answer is the text after ``</think>`` (RadVLM-Thinking).
- ``"native"``: a thinking model's own chat template (Qwen3-VL-Thinking), no suffix; the answer is after ``</think>``.

``true``/``false`` (the flag was a bool before) still mean ``suffix``/``off``.

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

__all__ = [
    "THINKING_MODES",
    "THINK_CLOSE",
    "THINK_OPEN",
    "is_thinking",
    "split_thinking",
    "thinking_mode",
    "uses_suffix",
]

#: the values of the ``thinking`` config key
THINKING_MODES: tuple[str, ...] = ("off", "suffix", "native")

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


def thinking_mode(value: object) -> str:
    """The thinking mode of a config value: one of :data:`THINKING_MODES`; ``True`` -> ``"suffix"`` and ``False`` /
    ``None`` -> ``"off"`` (the old boolean flag; YAML reads a bare ``off`` as false too).

    Raises:
        ValueError: any other value, naming the valid ones.

    Example:
        >>> thinking_mode(True), thinking_mode(False), thinking_mode("Native"), thinking_mode("true")
        ('suffix', 'off', 'native', 'suffix')
        >>> thinking_mode("yes please")
        Traceback (most recent call last):
        ...
        ValueError: thinking must be one of off, suffix, native (or true/false), got 'yes please'
    """
    if value is None or value is False:
        return "off"
    if value is True:
        return "suffix"
    if isinstance(value, str):
        v = value.strip().lower()
        if v in THINKING_MODES:
            return v
        if v in ("true", "1", "yes", "on"):
            return "suffix"
        if v in ("false", "0", "no", ""):
            return "off"
    raise ValueError(f"thinking must be one of {', '.join(THINKING_MODES)} (or true/false), got {value!r}")


def is_thinking(mode: object) -> bool:
    """Whether outputs think (``suffix`` or ``native``): the answer is then the text after ``</think>``.

    Example:
        >>> is_thinking("native"), is_thinking(False)
        (True, False)
    """
    return thinking_mode(mode) != "off"


def uses_suffix(mode: object) -> bool:
    """Whether prompts get the ``" /think"`` suffix (mode ``suffix`` only).

    Example:
        >>> uses_suffix("suffix"), uses_suffix("native"), uses_suffix(True)
        (True, False, True)
    """
    return thinking_mode(mode) == "suffix"
