"""Grounding metrics on normalised [0,1] xyxy boxes: IoU, Hungarian matching, soft-F1 (the paper's reward),
RadVLM's per-sample mAP@0.5. Pure functions; the rewards in ``radgrpo.rewards.grounding`` call these."""

from radgrpo.metrics.grounding.iou import iou, iou_matrix
from radgrpo.metrics.grounding.matching import hungarian_match
from radgrpo.metrics.grounding.mean_ap import radvlm_ap, radvlm_ap_from_text, radvlm_avg_iou, radvlm_map
from radgrpo.metrics.grounding.soft_f1 import VARIANTS, matched_mean_iou, soft_f1

__all__ = [
    "VARIANTS",
    "hungarian_match",
    "iou",
    "iou_matrix",
    "matched_mean_iou",
    "radvlm_ap",
    "radvlm_ap_from_text",
    "radvlm_avg_iou",
    "radvlm_map",
    "soft_f1",
]
