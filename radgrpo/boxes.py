"""Bounding boxes as text: RadVLM's answer format, the paper's reward parser, and the coordinate frames of other
models (Qwen-VL 0–1000, Qwen2.5-VL absolute pixels of the resized input, MAIRA-2's 100 bins on a centre crop,
CheXagent's 0–100, Gemma's y-first order).

All boxes here are normalised ``(x1, y1, x2, y2)`` in [0, 1] (``*_xyxy_norm``), origin top-left, unless a function
says it converts from or to another frame. This module does string and coordinate work only; IoU, matching and
scores live in ``radgrpo.metrics.grounding``, and which model writes which frame in ``radgrpo.models.adapters``.

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


# ---- the frames of baseline models (read back to normalised [0, 1] xyxy by radgrpo.models.adapters) ----


def _size(size: Sequence[float], what: str = "input_size") -> tuple[float, float]:
    """``(width, height)`` as floats; a non-positive or malformed size raises ``ValueError``.

    Example:
        >>> _size((640, 480))
        (640.0, 480.0)
    """
    try:
        w, h = (float(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be (width, height) in pixels, got {size!r}") from None
    if not (w > 0 and h > 0 and math.isfinite(w) and math.isfinite(h)):
        raise ValueError(f"{what} must be a positive (width, height) in pixels, got {size!r}")
    return w, h


def to_pixels_input(box: Sequence[float], input_size: Sequence[float]) -> tuple[int, int, int, int]:
    """Normalised [0,1] box -> Qwen2.5-VL's frame: absolute integer pixels of the image the model saw.

    Qwen2.5-VL answers in pixels of its *resized* input (the processor's ``smart_resize`` grid: width and height
    rounded to multiples of 28, ``input_size = (grid_w * 14, grid_h * 14)`` from ``image_grid_thw``), not of the
    original image. The resize neither crops nor pads, so a box normalised by the input size is the same box
    normalised by the original size. The box is clipped to [0, 1] first.

    Args:
        box: normalised ``(x1, y1, x2, y2)``.
        input_size: ``(width, height)`` of the resized model input, pixels.
    Returns:
        ``(x1, y1, x2, y2)`` integer pixels (rounded).

    Example:
        >>> to_pixels_input((0.25, 0.5, 0.75, 1.2), (112, 84))
        (28, 42, 84, 84)
    """
    w, h = _size(input_size)
    x1, y1, x2, y2 = clip_box(box)
    return (round(x1 * w), round(y1 * h), round(x2 * w), round(y2 * h))


def from_pixels_input(box_px: Sequence[float], input_size: Sequence[float]) -> Box:
    """Qwen2.5-VL absolute-pixel box on its resized input grid -> normalised [0,1] xyxy, clipped and ordered.

    The inverse of :func:`to_pixels_input` (up to its rounding): divide by the input width/height, then
    :func:`clip_box` (coordinates past the image edge are clipped, swapped corners reordered).

    Args:
        box_px: ``(x1, y1, x2, y2)`` pixels of the resized input.
        input_size: ``(width, height)`` of the resized model input, pixels.
    Returns:
        normalised ``(x1, y1, x2, y2)`` in [0, 1].

    Example:
        >>> from_pixels_input((28, 42, 84, 84), (112, 84))
        (0.25, 0.5, 0.75, 1.0)
        >>> from_pixels_input((120, -5, 56, 42), (112, 84))  # past the edge, corners swapped
        (0.5, 0.0, 1.0, 0.5)
    """
    w, h = _size(input_size)
    return clip_box(pixels_to_norm(box_px, w, h))


def from_grid(box: Sequence[float], scale: float) -> Box:
    """A box in a relative ``0..scale`` integer grid -> normalised floats (not clipped): ``v / scale``.

    Qwen3-VL writes 0–1000 (``scale=1000``, as :func:`from_qwen_1000`), CheXagent-2 0–100 (``scale=100``).

    Example:
        >>> from_grid((35, 50, 75, 64), 100)
        (0.35, 0.5, 0.75, 0.64)
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    return _box([float(v) / scale for v in box])


def from_bins(box: Sequence[float], n_bins: int = 100) -> Box:
    """Bin indices ``0..n_bins-1`` -> normalised bin centres ``(i + 0.5) / n_bins`` (MAIRA-2's box tokens
    ``<x55><y45>...``, decoded as in its processor's ``convert_output_to_plaintext_or_grounded_sequence``).

    Example:
        >>> from_bins((55, 45, 70, 56))
        (0.555, 0.455, 0.705, 0.565)
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    return _box([(float(v) + 0.5) / n_bins for v in box])


def to_bins(box: Sequence[float], n_bins: int = 100) -> tuple[int, int, int, int]:
    """Normalised box -> the bins that hold each coordinate, ``floor(v * n_bins)`` clipped to ``0..n_bins-1``
    (the inverse of :func:`from_bins` up to half a bin).

    Example:
        >>> to_bins((0.555, 0.0, 0.999, 1.0))
        (55, 0, 99, 99)
    """
    x1, y1, x2, y2 = (min(n_bins - 1, max(0, math.floor(float(v) * n_bins))) for v in box)
    return (x1, y1, x2, y2)


def _crop(image_size: Sequence[float]) -> tuple[float, float, float, float, float]:
    """``(w, h, side, x_offset, y_offset)`` of the centred square crop of side ``min(w, h)`` (offsets floored, as
    transformers' ``center_crop`` does)."""
    w, h = _size(image_size, "image_size")
    side = min(w, h)
    return w, h, side, float((w - side) // 2), float((h - side) // 2)


def from_center_crop(box: Sequence[float], image_size: Sequence[float]) -> Box:
    """A box normalised on the centred square crop of an image -> normalised on the whole image (clipped).

    MAIRA-2's processor resizes the shortest edge and centre-crops a square, so its boxes are relative to that
    crop; this is its ``adjust_box_for_original_image_size`` without the integer truncation of pixel coordinates.

    Args:
        box: ``(x1, y1, x2, y2)`` normalised on the crop.
        image_size: ``(width, height)`` of the original image, pixels.

    Example:
        >>> from_center_crop((0.0, 0.25, 1.0, 0.75), (200, 100))  # crop = the middle 100 x 100
        (0.25, 0.25, 0.75, 0.75)
    """
    w, h, side, ox, oy = _crop(image_size)
    x1, y1, x2, y2 = (float(v) for v in box)
    return clip_box(((x1 * side + ox) / w, (y1 * side + oy) / h, (x2 * side + ox) / w, (y2 * side + oy) / h))


def to_center_crop(box: Sequence[float], image_size: Sequence[float]) -> Box:
    """Inverse of :func:`from_center_crop`: a box normalised on the whole image -> normalised on the centred square
    crop, clipped to the crop.

    Example:
        >>> to_center_crop((0.25, 0.25, 0.75, 0.75), (200, 100))
        (0.0, 0.25, 1.0, 0.75)
    """
    w, h, side, ox, oy = _crop(image_size)
    x1, y1, x2, y2 = (float(v) for v in box)
    return clip_box(((x1 * w - ox) / side, (y1 * h - oy) / side, (x2 * w - ox) / side, (y2 * h - oy) / side))


def yxyx_to_xyxy(box: Sequence[float]) -> Box:
    """``(y1, x1, y2, x2)`` -> ``(x1, y1, x2, y2)`` (Gemma / MedGemma write ``box_2d`` y first).

    Example:
        >>> yxyx_to_xyxy((200, 100, 400, 300))
        (100.0, 200.0, 300.0, 400.0)
    """
    y1, x1, y2, x2 = (float(v) for v in box)
    return (x1, y1, x2, y2)
