"""Grounding reward: IoU soft-F1 with Hungarian matching (paper.md §5.3), on ``radgrpo.metrics.grounding``.

The answer is the whole completion, or, for thinking samples (``thinking`` column true), the text after the FIRST
``</think>``; a missing tag or an empty answer scores 0.0. Boxes are parsed with the reward regex
(:func:`radgrpo.boxes.parse_boxes`: negatives, exponents, any bracketed 4-tuple; never raises). No predicted box -> 0.0.
Samples whose ``task`` column is not a grounding task get ``None`` (another reward scores them).

Example:
    >>> r = grounding_soft_f1_reward(["[0.35, 0.51, 0.75, 0.64]"], reference_boxes=[[[0.38, 0.47, 0.76, 0.62]]])
    >>> round(r[0], 4)
    0.7468
"""

from __future__ import annotations

from typing import Any

from radgrpo.boxes import parse_boxes
from radgrpo.metrics.grounding import soft_f1
from radgrpo.rewards.base import FailureCounter, applies, column, completion_text, log_sub_scores, split_thinking

GROUNDING_TASKS = ("anatomical_grounding", "abnormality_grounding", "phrase_grounding", "detection")


class GroundingSoftF1Reward:
    """Picklable, named soft-F1 reward (``variant`` ``"paper_code"`` or ``"dice"``; pairs count if IoU > min_iou)."""

    def __init__(self, variant: str = "paper_code", min_iou: float = 0.0) -> None:
        soft_f1([(0, 0, 1, 1)], [(0, 0, 1, 1)], variant=variant)  # validates the variant now, not mid-training
        self.variant = variant
        self.min_iou = float(min_iou)
        self.__name__ = "grounding_soft_f1" if variant == "paper_code" else f"grounding_soft_f1_{variant}"
        self.failures = FailureCounter(self.__name__)

    def score(self, text: str, reference_boxes: Any, thinking: bool = False) -> float:
        """Reward of one completion text against its reference boxes."""
        if thinking:
            text, ok = split_thinking(text, which="first")
            if not ok or not text:
                return 0.0
        return soft_f1(parse_boxes(text), parse_boxes(reference_boxes), variant=self.variant, min_iou=self.min_iou)

    def __call__(self, completions: list[Any], reference_boxes: list[Any] | None = None,
                 **kwargs: Any) -> list[float | None]:
        n = len(completions)
        refs = column({"r": reference_boxes}, "r", n)
        tasks = column(kwargs, "task", n)
        thinking = column(kwargs, "thinking", n, False)
        out: list[float | None] = []
        for c, ref, task, th in zip(completions, refs, tasks, thinking):
            if not applies(task, GROUNDING_TASKS) or ref is None:
                out.append(None)
                continue
            out.append(self.failures.run(lambda c=c, ref=ref, th=th: self.score(completion_text(c), ref, bool(th))))
        log_sub_scores(kwargs, f"{self.__name__}/mean", out)
        return out


def make_grounding_soft_f1_reward(variant: str = "paper_code", min_iou: float = 0.0) -> GroundingSoftF1Reward:
    """Factory of the grounding reward with its settings."""
    return GroundingSoftF1Reward(variant=variant, min_iou=min_iou)


grounding_soft_f1_reward = GroundingSoftF1Reward()
