"""Weighted Box Fusion (Solovyev et al., 2021) for one label: our own implementation.

What it is: the fusion RadVLM applies to VinDr-CXR's multi-reader boxes (docs/data.md#vindr-cxr): per (image,
class) all radiologists' boxes, normalised to [0,1], form one "model" list with score 1.0; boxes are clustered
greedily against the running fused box of each cluster (a box joins the best-overlapping cluster when
IoU > ``iou_thr``, else it opens a new cluster); a cluster's box is the score-weighted mean of its members
(``conf_type="avg"``). With equal scores that is the plain mean. What it is not: multi-model / multi-label WBF
with model weights (not needed for VinDr), nor non-maximum suppression.

Ordering follows the reference behaviour: boxes are visited in ``numpy.argsort(scores)[::-1]`` order and the output is
sorted the same way by fused score, so equal-score inputs give the same clusters as ``ensemble_boxes``.
Input boxes are pre-filtered like the reference: corners re-ordered, clipped to [0,1], zero-area boxes dropped.

Example:
    >>> fuse_reader_boxes([(0.1, 0.1, 0.3, 0.3), (0.12, 0.1, 0.32, 0.3), (0.7, 0.7, 0.9, 0.9)])
    [(0.11, 0.1, 0.31, 0.3), (0.7, 0.7, 0.9, 0.9)]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[float, float, float, float]


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two xyxy boxes (0 when they do not overlap or have no area).

    Example:
        >>> box_iou((0, 0, 2, 2), (1, 0, 3, 2))
        0.3333333333333333
    """
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _prefilter(boxes: Sequence[Sequence[float]], scores: Sequence[float], skip_box_thr: float):
    kept_b: list[Box] = []
    kept_s: list[float] = []
    for b, s in zip(boxes, scores):
        if len(b) != 4:
            raise ValueError(f"a box needs 4 coordinates, got {b!r}")
        if s < skip_box_thr:
            continue
        x1, y1, x2, y2 = (min(1.0, max(0.0, float(v))) for v in b)
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        if (x2 - x1) * (y2 - y1) == 0:
            continue
        kept_b.append((x1, y1, x2, y2))
        kept_s.append(float(s))
    return kept_b, kept_s


def weighted_boxes_fusion(
    boxes: Sequence[Sequence[float]],
    scores: Sequence[float] | None = None,
    iou_thr: float = 0.55,
    skip_box_thr: float = 0.0,
) -> list[tuple[Box, float, int]]:
    """Fuse the boxes of one label from one model.

    Args:
        boxes: normalised xyxy boxes in [0,1] (values outside are clipped, zero-area boxes dropped).
        scores: one confidence per box; default all 1.0.
        iou_thr: a box joins a cluster when its IoU with the cluster's fused box is strictly greater than this.
        skip_box_thr: boxes with a score below this are ignored.

    Returns:
        ``[(fused_box, fused_score, n_members), ...]`` sorted by fused score (descending, reference tie order).
        The fused box is the score-weighted mean of the members; the fused score is the members' mean score.

    Example:
        >>> weighted_boxes_fusion([(0, 0, 0.4, 0.4), (0.1, 0.1, 0.5, 0.5)], [1.0, 0.5], iou_thr=0.3)
        [((0.03333333333333333, 0.03333333333333333, 0.43333333333333335, 0.43333333333333335), 0.75, 2)]
    """
    if scores is None:
        scores = [1.0] * len(boxes)
    if len(scores) != len(boxes):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    kept_b, kept_s = _prefilter(boxes, scores, skip_box_thr)
    if not kept_b:
        return []
    order = np.argsort(np.asarray(kept_s, dtype=float))[::-1]
    members: list[list[int]] = []
    fused: list[Box] = []
    for i in order:
        b = kept_b[int(i)]
        best, best_iou = -1, iou_thr
        for k, f in enumerate(fused):
            iou = box_iou(f, b)
            if iou > best_iou:
                best, best_iou = k, iou
        if best < 0:
            members.append([int(i)])
            fused.append(b)
            continue
        members[best].append(int(i))
        w = np.asarray([kept_s[j] for j in members[best]], dtype=float)
        coords = np.asarray([kept_b[j] for j in members[best]], dtype=float)
        mean = (w[:, None] * coords).sum(0) / w.sum()
        fused[best] = (float(mean[0]), float(mean[1]), float(mean[2]), float(mean[3]))
    # conf_type "avg" with a single model: mean member score rescaled by min(1, n) / 1 = mean score.
    out_scores = np.asarray([float(np.mean([kept_s[j] for j in m])) for m in members])
    final = np.argsort(out_scores)[::-1]
    return [(fused[int(k)], float(out_scores[int(k)]), len(members[int(k)])) for k in final]


def fuse_reader_boxes(boxes: Sequence[Sequence[float]], iou_thr: float = 0.1, ndigits: int = 3) -> list[Box]:
    """RadVLM's VinDr fusion: equal-score readers' boxes of one (image, class), fused and rounded.

    Args:
        boxes: all radiologists' boxes for one (image, class), normalised xyxy in [0,1].
        iou_thr: clustering threshold (RadVLM: 0.1).
        ndigits: rounding of the fused coordinates (RadVLM: 3).

    Returns:
        The fused normalised boxes, rounded to ``ndigits``.

    Example:
        >>> fuse_reader_boxes([(0.2, 0.2, 0.4, 0.4), (0.22, 0.24, 0.42, 0.44), (0.2, 0.2, 0.41, 0.41)])
        [(0.207, 0.213, 0.41, 0.417)]
    """
    return [
        (round(b[0], ndigits), round(b[1], ndigits), round(b[2], ndigits), round(b[3], ndigits))
        for b, _, _ in weighted_boxes_fusion(boxes, None, iou_thr=iou_thr, skip_box_thr=0.0)
    ]
