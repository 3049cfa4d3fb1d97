"""RadVLM's grounding mAP@0.5: per-sample, score-free, order-dependent AP (docs/metrics.md#map50).

This reproduces RadVLM's ``compute_metrics_tasks.evaluate_boxes`` exactly; it is NOT COCO mAP. Per sample, the
predicted boxes are taken in output order (text order is the ranking); each one is matched greedily to its
argmax-IoU reference box and is a true positive if that IoU >= the threshold and the reference box is still unused.
AP is the VOC all-point interpolated area under the cumulative precision-recall curve; a sample with no predicted
or no reference box scores 0. mAP is the mean of the per-sample APs.

Example:
    >>> gt = [(0.38, 0.47, 0.76, 0.62)]
    >>> radvlm_ap([(0.84, 0.34, 0.91, 0.50), (0.35, 0.51, 0.75, 0.64)], gt)
    0.5
    >>> radvlm_ap([(0.35, 0.51, 0.75, 0.64), (0.84, 0.34, 0.91, 0.50)], gt)
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radgrpo.boxes import parse_boxes_radvlm_eval
from radgrpo.metrics.grounding.iou import iou_matrix


def radvlm_ap(pred: Sequence[Sequence[float]], gt: Sequence[Sequence[float]], iou_threshold: float = 0.5) -> float:
    """RadVLM per-sample AP of boxes in output order (normalised [0,1] xyxy).

    Example:
        >>> radvlm_ap([(0.35, 0.51, 0.75, 0.64)], [(0.38, 0.47, 0.76, 0.62), (0.0, 0.0, 0.1, 0.1)])
        0.5
    """
    if len(pred) == 0 or len(gt) == 0:
        return 0.0
    m = iou_matrix(pred, gt)
    used: set[int] = set()
    tp = np.zeros(len(pred))
    for i in range(len(pred)):
        j = int(np.argmax(m[i]))
        if m[i, j] >= iou_threshold and j not in used:
            used.add(j)
            tp[i] = 1.0
    ctp = np.cumsum(tp)
    cfp = np.cumsum(1.0 - tp)
    recall = ctp / len(gt)
    precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    for k in range(len(mpre) - 2, -1, -1):
        mpre[k] = max(mpre[k], mpre[k + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def radvlm_map(
    preds: Sequence[Sequence[Sequence[float]]], gts: Sequence[Sequence[Sequence[float]]], iou_threshold: float = 0.5
) -> float:
    """Mean of :func:`radvlm_ap` over samples (0.0 for an empty set).

    Example:
        >>> radvlm_map([[(0, 0, 1, 1)], []], [[(0, 0, 1, 1)], [(0, 0, 1, 1)]])
        0.5
    """
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions vs {len(gts)} references")
    if not preds:
        return 0.0
    return float(np.mean([radvlm_ap(p, g, iou_threshold) for p, g in zip(preds, gts)]))


def radvlm_ap_from_text(text: str, gt: Sequence[Sequence[float]], iou_threshold: float = 0.5) -> float:
    """AP of a model answer parsed with RadVLM's own evaluation regex (no negatives, no exponents).

    Example:
        >>> radvlm_ap_from_text("[-0.1, 0.5, 0.7, 0.6]", [(0.38, 0.47, 0.76, 0.62)])
        0.0
    """
    return radvlm_ap(parse_boxes_radvlm_eval(text), gt, iou_threshold)


def radvlm_avg_iou(
    preds: Sequence[Sequence[Sequence[float]]], gts: Sequence[Sequence[Sequence[float]]]
) -> float | None:
    """RadVLM's ``avg_iou``: mean IoU over ALL pred×GT pairs pooled over the set; None when no sample had boxes.

    Example:
        >>> round(radvlm_avg_iou([[(0.35, 0.51, 0.75, 0.64)]], [[(0.38, 0.47, 0.76, 0.62)]]), 10)
        0.5959004392
    """
    vals: list[float] = []
    for p, g in zip(preds, gts):
        if len(p) and len(g):
            vals.extend(iou_matrix(p, g).ravel().tolist())
    return float(np.mean(vals)) if vals else None
