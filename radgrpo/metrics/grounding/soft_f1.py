"""IoU-weighted soft-F1 with Hungarian matching: the paper's grounding reward and metric (docs/metrics.md#soft-f1).

Two variants, both on the same Hungarian matching:

- ``"paper_code"`` (default): the released reward (`verl/custom_rewards/grounding_reward.py`). TP mass = Σ IoU of
  matched pairs with IoU > ``min_iou``; FP = |P| − #valid; P = TP/(TP + FP + 1e-8); R = TP/(|G| + 1e-8);
  F1 = 2PR/(P + R + 1e-8).
- ``"dice"``: 2·ΣIoU/(|P| + |G|), the value the paper's Figure 1 shows (0.6 for its worked example).

Empty-set policy (stated, as in the paper): no predicted box or no reference box -> 0.0; there is no credit for a
correct "no box".

Example:
    >>> gt, pred = [(0.38, 0.47, 0.76, 0.62)], [(0.35, 0.51, 0.75, 0.64)]
    >>> round(soft_f1(pred, gt), 4), round(soft_f1(pred, gt, variant="dice"), 4)
    (0.7468, 0.5959)
"""

from __future__ import annotations

from collections.abc import Sequence

from radgrpo.metrics.grounding.matching import hungarian_match

VARIANTS = ("paper_code", "dice")
_EPS = 1e-8


def soft_f1(
    pred: Sequence[Sequence[float]], gt: Sequence[Sequence[float]], variant: str = "paper_code", min_iou: float = 0.0
) -> float:
    """Soft-F1 of predicted vs reference boxes (normalised [0,1] xyxy), in [0, 1].

    Args:
        pred: predicted boxes.
        gt: reference boxes.
        variant: ``"paper_code"`` (released reward) or ``"dice"`` (paper Fig. 1).
        min_iou: a matched pair counts only if its IoU is strictly greater than this.
    Returns:
        the score; 0.0 when either side is empty.

    Example:
        >>> soft_f1([(0, 0, 1, 1)], [(0, 0, 1, 1)], variant="dice")
        1.0
        >>> soft_f1([], [(0, 0, 1, 1)])
        0.0
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown soft_f1 variant {variant!r}; valid: {list(VARIANTS)}")
    if len(pred) == 0 or len(gt) == 0:
        return 0.0
    valid = [v for _, _, v in hungarian_match(pred, gt) if v > min_iou]
    tp = float(sum(valid))
    if variant == "dice":
        return 2.0 * tp / (len(pred) + len(gt))
    fp = len(pred) - len(valid)
    precision = tp / (tp + fp + _EPS)
    recall = tp / (len(gt) + _EPS)
    return 2.0 * precision * recall / (precision + recall + _EPS)


def matched_mean_iou(pred: Sequence[Sequence[float]], gt: Sequence[Sequence[float]]) -> float:
    """Mean IoU of the Hungarian-matched pairs; 0.0 when either side is empty.

    Example:
        >>> matched_mean_iou([(0, 0, 1, 1), (5, 5, 6, 6)], [(0, 0, 0.5, 1)])
        0.5
    """
    pairs = hungarian_match(pred, gt)
    return float(sum(v for _, _, v in pairs) / len(pairs)) if pairs else 0.0
