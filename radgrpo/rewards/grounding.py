"""Grounding reward: IoU soft-F1 with Hungarian matching on ``radgrpo.metrics.grounding`` (docs/rewards.md).

The answer is the whole stripped completion, or, for thinking samples (``thinking`` column true), the text after the
FIRST ``</think>`` (regex ``</think>\\s*(.*)\\Z``, case-insensitive, DOTALL); a missing tag or an empty answer scores
0.0. Boxes are parsed with the reward regex (:func:`radgrpo.boxes.parse_boxes`: negatives, exponents, any bracketed
4-tuple, non-finite boxes dropped; never raises). No predicted box -> 0.0. The ``reference_boxes`` column holds a
list of ``[x1, y1, x2, y2]`` (normalised [0,1]), a single flat box, or the reference answer string; an empty
reference set scores 0.0 as in the paper, and is counted (``n_empty_reference``) and warned about because it is a
data error. Samples whose ``task`` column is not a grounding task get ``None`` (another reward scores them).

Logged components: ``n_pred_boxes``, ``parseable`` (>= 1 box) and, for thinking samples, ``answer_found``.

Example:
    >>> r = grounding_soft_f1_reward(["[0.35, 0.51, 0.75, 0.64]"], reference_boxes=[[[0.38, 0.47, 0.76, 0.62]]])
    >>> round(r[0], 4)
    0.7468
"""

from __future__ import annotations

import logging
import math
from numbers import Real
from typing import Any

from radgrpo.boxes import parse_boxes
from radgrpo.metrics.grounding import VARIANTS, soft_f1
from radgrpo.records import Box
from radgrpo.rewards.base import GROUNDING_TASKS, Reward, split_thinking
from radgrpo.rewards.composite import RewardBreakdown

logger = logging.getLogger("radgrpo.rewards")


def reference_boxes_of(value: Any) -> list[Box]:
    """Reference boxes from a ``reference_boxes`` column value.

    Args:
        value: a list of 4-sequences, one flat 4-number box, or a reference answer string.
    Returns:
        the boxes (malformed entries skipped, as the released reward does).
    Raises:
        ValueError: ``None`` (a grounding sample without a reference).

    Example:
        >>> reference_boxes_of([0.1, 0.2, 0.3, 0.4]), reference_boxes_of("[0, 0, 1, 1]")
        ([(0.1, 0.2, 0.3, 0.4)], [(0.0, 0.0, 1.0, 1.0)])
        >>> import numpy as np
        >>> reference_boxes_of(np.array([[0.1, 0.2, 0.3, 0.4]]))
        [(0.1, 0.2, 0.3, 0.4)]
    """
    if value is None:
        raise ValueError("grounding sample without reference_boxes")
    if hasattr(value, "tolist") and not isinstance(value, str):  # a numpy array (e.g. from a datasets/arrow column)
        value = value.tolist()
    if isinstance(value, (list, tuple)) and len(value) == 4 and all(isinstance(v, Real) for v in value):
        value = [value]
    return parse_boxes(value)


class GroundingSoftF1Reward(Reward):
    """Picklable, named soft-F1 reward.

    Args:
        variant: ``"paper_code"`` (released reward, default) or ``"dice"`` (paper Fig. 1).
        min_iou: a matched pair counts only if its IoU is > this (released default 0.0).
        thinking: force the thinking rule on/off for every sample; ``None`` reads the ``thinking`` column
            (absent -> off).
        name: ``__name__``; default ``grounding_soft_f1`` (+ ``_dice`` for the Dice variant).

    Attributes:
        n_empty_reference: grounding samples scored 0.0 because their reference had no box.

    Example:
        >>> r = GroundingSoftF1Reward(variant="dice", thinking=True)
        >>> r(["<think>x</think>[0, 0, 1, 1]", "[0, 0, 1, 1]"], reference_boxes=[[[0, 0, 1, 1]]] * 2)
        [1.0, 0.0]
    """

    required_columns = ("reference_boxes",)

    def __init__(
        self, variant: str = "paper_code", min_iou: float = 0.0, thinking: bool | None = None, name: str | None = None
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown soft_f1 variant {variant!r}; valid: {list(VARIANTS)}")
        if not math.isfinite(float(min_iou)) or not 0.0 <= float(min_iou) < 1.0:
            raise ValueError(f"min_iou must be in [0, 1), got {min_iou!r}")
        default = "grounding_soft_f1" if variant == "paper_code" else f"grounding_soft_f1_{variant}"
        super().__init__(name or default, tasks=GROUNDING_TASKS)
        self.variant = variant
        self.min_iou = float(min_iou)
        self.thinking = thinking
        self.n_empty_reference = 0

    def score_one(self, text: str, row: dict[str, Any]) -> RewardBreakdown:
        """Reward of one completion text against ``row["reference_boxes"]`` (see the module docstring)."""
        gt = reference_boxes_of(row.get("reference_boxes"))
        thinking = bool(row.get("thinking")) if self.thinking is None else self.thinking
        comps: dict[str, float] = {}
        if thinking:
            text, found = split_thinking(text, which="first")
            comps["answer_found"] = float(found and bool(text))
            if not comps["answer_found"]:
                return RewardBreakdown(0.0, {**comps, "n_pred_boxes": 0.0, "parseable": 0.0})
        else:
            text = text.strip()
        pred = parse_boxes(text)
        comps.update(n_pred_boxes=float(len(pred)), parseable=float(bool(pred)))
        if not gt:
            self.n_empty_reference += 1
            logger.warning(
                "reward %s: a grounding sample has no reference box (scored 0.0 as in the paper); "
                "%d such samples so far",
                self.__name__,
                self.n_empty_reference,
            )
        return RewardBreakdown(soft_f1(pred, gt, variant=self.variant, min_iou=self.min_iou), comps)

    def __call__(  # type: ignore[override]
        self,
        completions: list[Any],
        reference_boxes: list[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL contract: ``fn(completions, reference_boxes=..., task=..., thinking=..., **columns)``.

        Args:
            completions: strings or conversational lists.
            reference_boxes: one reference per completion (see :func:`reference_boxes_of`).
            **kwargs: other columns (``task``, ``thinking``) and TRL's extras.
        Returns:
            soft-F1 per completion; ``None`` for non-grounding tasks and failed samples.
        """
        return super().__call__(completions, reference_boxes=reference_boxes, **kwargs)


def make_grounding_soft_f1_reward(
    variant: str = "paper_code", min_iou: float = 0.0, thinking: bool | None = None, name: str | None = None
) -> GroundingSoftF1Reward:
    """Factory of the grounding reward (registry name ``grounding_soft_f1``); arguments as
    :class:`GroundingSoftF1Reward`.

    Example:
        >>> make_grounding_soft_f1_reward(variant="dice").__name__
        'grounding_soft_f1_dice'
    """
    return GroundingSoftF1Reward(variant=variant, min_iou=min_iou, thinking=thinking, name=name)


#: The released reward: paper_code soft-F1, min_iou 0, thinking from the ``thinking`` column.
grounding_soft_f1_reward = GroundingSoftF1Reward()


def make_grounding_soft_f1_dice_reward(
    min_iou: float = 0.0, thinking: bool | None = None, name: str | None = None
) -> GroundingSoftF1Reward:
    """Factory of the Dice-variant grounding reward (registry name ``grounding_soft_f1_dice``).

    Example:
        >>> make_grounding_soft_f1_dice_reward()(["[0, 0, 1, 1]"], reference_boxes=[[[0, 0, 1, 1]]])
        [1.0]
    """
    return GroundingSoftF1Reward(variant="dice", min_iou=min_iou, thinking=thinking, name=name)
