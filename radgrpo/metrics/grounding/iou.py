"""Intersection over union of normalised [0,1] xyxy boxes (docs/metrics.md#iou).

Widths and heights are clamped at 0 (an inverted box has area 0) and a non-positive union gives IoU 0, as in the
released grounding reward. Not a matcher: see ``matching.py``.

Example:
    >>> round(iou((0.38, 0.47, 0.76, 0.62), (0.35, 0.51, 0.75, 0.64)), 10)
    0.5959004392
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two ``(x1, y1, x2, y2)`` boxes; 0.0 when the union is not positive.

    Example:
        >>> iou((0, 0, 1, 1), (0, 0, 0.5, 1))
        0.5
    """
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return float(inter / union) if union > 0 else 0.0


def iou_matrix(pred: Sequence[Sequence[float]], gt: Sequence[Sequence[float]]) -> np.ndarray:
    """All pairwise IoUs, shape ``(len(pred), len(gt))``, vectorised.

    Example:
        >>> iou_matrix([(0, 0, 1, 1)], [(0, 0, 0.5, 1), (2, 2, 3, 3)]).tolist()
        [[0.5, 0.0]]
    """
    p = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(p[:, None, 2], g[None, :, 2]) - np.maximum(p[:, None, 0], g[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(p[:, None, 3], g[None, :, 3]) - np.maximum(p[:, None, 1], g[None, :, 1]), 0, None)
    inter = iw * ih
    area_p = np.clip(p[:, 2] - p[:, 0], 0, None) * np.clip(p[:, 3] - p[:, 1], 0, None)
    area_g = np.clip(g[:, 2] - g[:, 0], 0, None) * np.clip(g[:, 3] - g[:, 1], 0, None)
    union = area_p[:, None] + area_g[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return out
