"""Bounding boxes as text: RadVLM's answer format, the paper's reward parser, and Qwen-VL 0–1000 coordinates.

All boxes here are normalised ``(x1, y1, x2, y2)`` in [0, 1] (``*_xyxy_norm``), origin top-left. This module does
string work only; IoU, matching and scores live in ``radgrpo.metrics.grounding``.

Follows the released grounding reward (reward regex: negatives and exponents accepted, any bracketed 4-tuple is a
box, non-finite boxes dropped) and RadVLM's answer form (``format_boxes``: Python ``round(v, 2)`` repr, joined
``"A, B and C"``); see docs/data.md#box-convention.

Example:
    >>> parse_boxes("Cardiomegaly at [0.35, 0.51, 0.75, 0.64]")
    [(0.35, 0.51, 0.75, 0.64)]
    >>> format_boxes([(0.35, 0.5, 0.75, 0.64), (0.1, 0.2, 0.3, 0.4)])
    '[0.35, 0.5, 0.75, 0.64] and [0.1, 0.2, 0.3, 0.4]'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from radgrpo.records import Box

_NUM = r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
#: The released grounding reward's box regex (docs/rewards.md#grounding_soft_f1).
BOX_PATTERN = re.compile(rf"\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]")
#: RadVLM's evaluation regex (no negatives, no exponents); used only to reproduce its mAP exactly.
RADVLM_EVAL_PATTERN = re.compile(r"\[([\d\.]+),\s*([\d\.]+),\s*([\d\.]+),\s*([\d\.]+)\]")


def _box(vals: Sequence[float]) -> Box:
    """The four coordinates of ``vals`` as a :data:`~radgrpo.records.Box` (ValueError unless exactly four).

    Example:
        >>> _box([0.1, 0.2, 0.3, 0.4])
        (0.1, 0.2, 0.3, 0.4)
    """
    x1, y1, x2, y2 = vals
    return (x1, y1, x2, y2)


def parse_boxes(text: object) -> list[Box]:
    """Every bracketed 4-tuple of numbers in ``text``, in order of appearance.

    Accepts negatives and exponents (``[-0.1, 2e-1, 0.5, 0.6]``); drops boxes with a non-finite coordinate (e.g.
    ``1e999``). Never raises: a non-string, ``None`` or malformed text gives ``[]``. A list/tuple of 4-sequences
    (ground truth already parsed) is returned as boxes, skipping malformed entries.

    Args:
        text: model output or reference answer.
    Returns:
        list of ``(x1, y1, x2, y2)`` floats, not clipped or reordered.

    Example:
        >>> parse_boxes("[0.1, 0.2, 0.3, 0.4] and [-1e-1,0,1,1] [nan, 0, 1, 1]")
        [(0.1, 0.2, 0.3, 0.4), (-0.1, 0.0, 1.0, 1.0)]
    """
    if isinstance(text, (list, tuple)):
        out: list[Box] = []
        for item in text:
            try:
                vals = tuple(float(v) for v in item)
            except (TypeError, ValueError):
                continue
            if len(vals) == 4 and all(math.isfinite(v) for v in vals):
                out.append(_box(vals))
        return out
    if not isinstance(text, str):
        return []
    boxes: list[Box] = []
    for m in BOX_PATTERN.finditer(text):
        try:
            vals = tuple(float(g) for g in m.groups())
        except (ValueError, OverflowError):  # pragma: no cover - the regex only admits float syntax
            continue
        if all(math.isfinite(v) for v in vals):
            boxes.append(_box(vals))
    return boxes


def parse_boxes_radvlm_eval(text: str) -> list[Box]:
    """RadVLM evaluation parser (``extract_bounding_boxes``): non-negative plain decimals only.

    Example:
        >>> parse_boxes_radvlm_eval("[-0.1, 0.5, 0.7, 0.6] [0.1, 0.2, 0.3, 0.4]")
        [(0.1, 0.2, 0.3, 0.4)]
    """
    if not isinstance(text, str):
        return []
    out: list[Box] = []
    for m in RADVLM_EVAL_PATTERN.finditer(text):
        try:
            out.append(_box([float(g) for g in m.groups()]))
        except ValueError:  # "1.2.3" matches [\d\.]+ but is not a float
            continue
    return out


def format_box(box: Sequence[float], ndigits: int = 2) -> str:
    """One box in RadVLM's form, ``[0.35, 0.5, 0.75, 0.64]`` (Python ``round`` repr; trailing zeros dropped).

    Example:
        >>> format_box((0.351, 0.5, 0.7549, 0.6))
        '[0.35, 0.5, 0.75, 0.6]'
    """
    if len(box) != 4:
        raise ValueError(f"a box needs 4 coordinates, got {len(box)}: {box!r}")
    return "[" + ", ".join(repr(round(float(v), ndigits)) for v in box) + "]"


def join_items(items: Sequence[str]) -> str:
    """RadVLM's list join: ``A``, ``A and B``, ``A, B and C``.

    Example:
        >>> join_items(["a", "b", "c"])
        'a, b and c'
    """
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def format_boxes(boxes: Iterable[Sequence[float]], ndigits: int = 2) -> str:
    """Several boxes joined RadVLM-style: ``"A, B and C"``.

    Example:
        >>> format_boxes([(0, 0.1, 1, 0.9)])
        '[0.0, 0.1, 1.0, 0.9]'
    """
    return join_items([format_box(b, ndigits) for b in boxes])


def clip_box(box: Sequence[float]) -> Box:
    """Clip to [0, 1] and order the corners so that x1 <= x2 and y1 <= y2.

    Example:
        >>> clip_box((-0.01, 0.2, 1.02, 0.1))
        (0.0, 0.1, 1.0, 0.2)
    """
    x1, y1, x2, y2 = (min(1.0, max(0.0, float(v))) for v in box)
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))


def is_degenerate(box: Sequence[float]) -> bool:
    """True when the box has no area (x2 <= x1 or y2 <= y1)."""
    return not (box[2] > box[0] and box[3] > box[1])


def pixels_to_norm(box_px: Sequence[float], width: float, height: float) -> Box:
    """Pixel ``(x1, y1, x2, y2)`` -> normalised by image width/height (not clipped).

    Example:
        >>> pixels_to_norm((10, 20, 30, 40), 100, 200)
        (0.1, 0.1, 0.3, 0.2)
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    x1, y1, x2, y2 = box_px
    return (x1 / width, y1 / height, x2 / width, y2 / height)


def to_qwen_1000(box: Sequence[float]) -> tuple[int, int, int, int]:
    """Normalised [0,1] box -> Qwen2-VL/Qwen3-VL integer 0–1000 coordinates.

    Example:
        >>> to_qwen_1000((0.35, 0.5, 0.75, 0.641))
        (350, 500, 750, 641)
    """
    x1, y1, x2, y2 = (int(round(min(1.0, max(0.0, float(v))) * 1000)) for v in box)
    return (x1, y1, x2, y2)


def from_qwen_1000(box: Sequence[float]) -> Box:
    """Qwen-VL 0–1000 coordinates -> normalised [0,1] floats.

    Example:
        >>> from_qwen_1000((350, 500, 750, 641))
        (0.35, 0.5, 0.75, 0.641)
    """
    return _box([float(v) / 1000.0 for v in box])


def format_boxes_qwen(boxes: Iterable[Sequence[float]]) -> str:
    """Boxes in Qwen-VL's native integer form, ``[350, 500, 750, 641]``, joined like :func:`format_boxes`.

    Example:
        >>> format_boxes_qwen([(0.35, 0.5, 0.75, 0.641)])
        '[350, 500, 750, 641]'
    """
    return join_items(["[" + ", ".join(str(v) for v in to_qwen_1000(b)) + "]" for b in boxes])
