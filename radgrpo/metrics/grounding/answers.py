"""Per-pair grounding scores of answers against reference boxes: the functions of the metric table's grounding rows.

Every function takes ``(references, predictions)`` (references first, the metric table's convention, see
``radgrpo.metrics.registry``) and returns one float in [0, 1] per pair. A reference is a list of boxes, normalised
[0,1] xyxy. A prediction is the model's answer string, parsed with the metric's own box parser (the reward regex
:func:`radgrpo.boxes.parse_boxes` for soft-F1 and matched IoU, RadVLM's evaluation regex
:func:`radgrpo.boxes.parse_boxes_radvlm_eval` for ``ap_50``), or an already parsed list of boxes. No parsed box or
no reference box gives 0.0 (no credit for an empty side). Definitions: docs/metrics.md.

Example:
    >>> [round(v, 4) for v in score_soft_f1([[(0.38, 0.47, 0.76, 0.62)]], ["at [0.35, 0.51, 0.75, 0.64]"])]
    [0.7468]
    >>> score_ap50([[(0.0, 0.2, 0.5, 0.6)]] * 2, ["[-0.05, 0.2, 0.5, 0.6]", [(-0.05, 0.2, 0.5, 0.6)]])
    [0.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from radgrpo.boxes import parse_boxes, parse_boxes_radvlm_eval
from radgrpo.metrics.grounding.mean_ap import radvlm_ap
from radgrpo.metrics.grounding.soft_f1 import matched_mean_iou, soft_f1

Box = tuple[float, ...]


def _as_boxes(value: Any, parser: Callable[[str], list[Any]]) -> list[Box]:
    boxes = parser(value) if isinstance(value, str) else value
    return [tuple(float(v) for v in b) for b in boxes]


def _per_pair(
    fn: Callable[[list[Box], list[Box]], float],
    refs: Sequence[Any],
    preds: Sequence[Any],
    parser: Callable[[str], list[Any]] = parse_boxes,
) -> list[float]:
    if len(refs) != len(preds):
        raise ValueError(f"{len(refs)} references vs {len(preds)} predictions")
    return [float(fn(_as_boxes(p, parser), _as_boxes(g, parse_boxes))) for g, p in zip(refs, preds)]


def score_soft_f1(refs: Sequence[Any], preds: Sequence[Any]) -> list[float]:
    """Per-pair IoU-weighted soft-F1 with Hungarian matching, the released reward's formula (``paper_code``).

    Example:
        >>> score_soft_f1([[(0, 0, 1, 1)], [(0, 0, 1, 1)]], ["[0, 0, 1, 1]", "no box"])[1]
        0.0
    """
    return _per_pair(lambda p, g: soft_f1(p, g, variant="paper_code"), refs, preds)


def score_soft_f1_dice(refs: Sequence[Any], preds: Sequence[Any]) -> list[float]:
    """Per-pair Dice-like soft-F1 2ΣIoU/(|P|+|G|).

    Example:
        >>> score_soft_f1_dice([[(0, 0, 1, 1)]], [[(0, 0, 1, 1), (0.5, 0.5, 0.6, 0.6)]])
        [0.6666666666666666]
    """
    return _per_pair(lambda p, g: soft_f1(p, g, variant="dice"), refs, preds)


def score_ap50(refs: Sequence[Any], preds: Sequence[Any]) -> list[float]:
    """Per-pair RadVLM AP at IoU 0.5 (boxes in output order, RadVLM's evaluation parser); the mean is mAP@0.5.

    Example:
        >>> score_ap50([[(0, 0, 1, 1)], [(0, 0, 1, 1)]], ["[0, 0, 1, 1]", ""])
        [1.0, 0.0]
    """
    return _per_pair(lambda p, g: radvlm_ap(p, g, iou_threshold=0.5), refs, preds, parser=parse_boxes_radvlm_eval)


def score_matched_iou(refs: Sequence[Any], preds: Sequence[Any]) -> list[float]:
    """Per-pair mean IoU of the Hungarian-matched box pairs.

    Example:
        >>> score_matched_iou([[(0, 0, 0.5, 1)]], ["[0, 0, 1, 1]"])
        [0.5]
    """
    return _per_pair(matched_mean_iou, refs, preds)
