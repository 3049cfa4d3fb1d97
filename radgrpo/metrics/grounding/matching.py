"""Hungarian (optimal one-to-one) matching of predicted to reference boxes on cost 1 − IoU (scipy).

This is the matching of the paper's grounding reward (docs/metrics.md#hungarian-matching):
``scipy.optimize.linear_sum_assignment`` maximises the total IoU and yields ``min(|P|, |G|)`` pairs.

Example:
    >>> [(i, j, round(v, 2)) for i, j, v in hungarian_match([(0, 0, .5, .5), (.5, .5, 1, 1)], [(.5, .5, 1, 1)])]
    [(1, 0, 1.0)]
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy.optimize import linear_sum_assignment

from radgrpo.metrics.grounding.iou import iou_matrix


def hungarian_match(pred: Sequence[Sequence[float]], gt: Sequence[Sequence[float]]) -> list[tuple[int, int, float]]:
    """Optimal pairs ``(pred_index, gt_index, iou)`` sorted by pred index; ``[]`` if either side is empty.

    Example:
        >>> hungarian_match([], [(0, 0, 1, 1)])
        []
    """
    if len(pred) == 0 or len(gt) == 0:
        return []
    m = iou_matrix(pred, gt)
    rows, cols = linear_sum_assignment(1.0 - m)
    return [(int(i), int(j), float(m[i, j])) for i, j in zip(rows, cols)]
