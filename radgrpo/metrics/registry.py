"""Metric registry: name -> :class:`MetricSpec` (per-sample score function, aggregate, direction).

One uniform calling convention for every registered metric: ``spec.score_fn(predictions, references)`` returns one
float per sample, and ``spec.aggregate_fn(values)`` reduces per-sample values to the reported number (the mean for
all metrics registered here, so that bootstrap CIs resample the same per-sample values). For grounding metrics the
inputs are lists of box lists (normalised [0,1] xyxy); for report metrics they are strings. Note the argument order
(predictions first), which differs from ``radgrpo.metrics.text``'s ``(refs, hyps)``.

Registered here: ``soft_f1``, ``soft_f1_dice``, ``map_50``, ``matched_iou`` (grounding) and ``bleu4``, ``rougeL``,
``gleu`` (report). ``bleu4`` here is the MEAN of per-pair coco-caption BLEU-4, not RadEval's corpus BLEU
(``radgrpo.metrics.text.bleu.corpus_bleu``). Model-backed metrics register themselves later with
:func:`register_metric` (their ``score_fn`` must import torch/transformers lazily). Not the reward registry
(``radgrpo.rewards.registry``).

Example:
    >>> spec = get_metric("soft_f1")
    >>> [round(v, 4) for v in spec.score_fn([[(0.35, 0.51, 0.75, 0.64)]], [[(0.38, 0.47, 0.76, 0.62)]])]
    [0.7468]
    >>> spec.higher_is_better, spec.kind
    (True, 'grounding')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from radgrpo.metrics.grounding import matched_mean_iou, radvlm_ap, soft_f1

KINDS = ("grounding", "report")


def mean_aggregate(values: Sequence[float]) -> float:
    """Mean of per-sample values; NaN for an empty list.

    Example:
        >>> mean_aggregate([1.0, 0.0])
        0.5
    """
    return float(np.mean(values)) if len(values) else float("nan")


@dataclass(frozen=True)
class MetricSpec:
    """How to compute and report one metric.

    Args:
        name: registry name (the key in ``scores.jsonl`` / ``results.json``).
        score_fn: ``fn(predictions, references) -> sequence of float`` (one per sample).
        aggregate_fn: ``fn(values) -> float``.
        higher_is_better: direction.
        kind: ``"grounding"`` (box lists) or ``"report"`` (strings).
        description: one line on what exactly is computed.
    """

    name: str
    score_fn: Callable[[Sequence[Any], Sequence[Any]], Sequence[float]]
    aggregate_fn: Callable[[Sequence[float]], float] = mean_aggregate
    higher_is_better: bool = True
    kind: str = "report"
    description: str = ""


def _per_sample(fn: Callable[..., float], preds: Sequence[Any], refs: Sequence[Any], **kw: Any) -> list[float]:
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions vs {len(refs)} references")
    return [float(fn(p, r, **kw)) for p, r in zip(preds, refs)]


def score_soft_f1(preds: Sequence[Any], refs: Sequence[Any]) -> list[float]:
    """Per-sample soft-F1 (``paper_code``) of box lists.

    Example:
        >>> score_soft_f1([[(0, 0, 1, 1)]], [[(0, 0, 1, 1)]])[0] > 0.999
        True
    """
    return _per_sample(soft_f1, preds, refs)


def score_soft_f1_dice(preds: Sequence[Any], refs: Sequence[Any]) -> list[float]:
    """Per-sample Dice-like soft-F1 2ΣIoU/(|P|+|G|).

    Example:
        >>> score_soft_f1_dice([[(0, 0, 1, 1), (2, 2, 3, 3)]], [[(0, 0, 1, 1)]])
        [0.6666666666666666]
    """
    return _per_sample(soft_f1, preds, refs, variant="dice")


def score_ap50(preds: Sequence[Any], refs: Sequence[Any]) -> list[float]:
    """Per-sample RadVLM AP at IoU 0.5 (boxes in output order); their mean is the paper's mAP@0.5.

    Example:
        >>> score_ap50([[(0, 0, 1, 1)], []], [[(0, 0, 1, 1)], [(0, 0, 1, 1)]])
        [1.0, 0.0]
    """
    return _per_sample(radvlm_ap, preds, refs, iou_threshold=0.5)


def score_matched_iou(preds: Sequence[Any], refs: Sequence[Any]) -> list[float]:
    """Per-sample mean IoU of Hungarian-matched pairs.

    Example:
        >>> score_matched_iou([[(0, 0, 1, 1)]], [[(0, 0, 0.5, 1)]])
        [0.5]
    """
    return _per_sample(matched_mean_iou, preds, refs)


def score_bleu4(preds: Sequence[str], refs: Sequence[str]) -> list[float]:
    """Per-pair coco-caption BLEU-4.

    Example:
        >>> refs = ["no acute cardiopulmonary process", "a b c d"]
        >>> [round(v, 6) for v in score_bleu4(["no acute cardiopulmonary process", "x y z w"], refs)]
        [1.0, 0.0]
    """
    from radgrpo.metrics.text.bleu import score_bleu

    return [float(v) for v in score_bleu(list(refs), list(preds), n=4)]


def score_rouge_l_f(preds: Sequence[str], refs: Sequence[str]) -> list[float]:
    """Per-pair ROUGE-L F (rouge-score, stemmed).

    Example:
        >>> score_rouge_l_f(["no effusion"], ["no effusion"])
        [1.0]
    """
    from radgrpo.metrics.text.rouge import score_rouge_l

    return [float(v) for v in score_rouge_l(list(refs), list(preds))]


def score_gleu_pairs(preds: Sequence[str], refs: Sequence[str]) -> list[float]:
    """Per-pair Google-BLEU (13a tokens).

    Example:
        >>> score_gleu_pairs(["no effusion ."], ["no effusion."])
        [1.0]
    """
    from radgrpo.metrics.text.gleu import score_gleu

    return [float(v) for v in score_gleu(list(refs), list(preds))]


METRICS: dict[str, MetricSpec] = {}


def register_metric(spec: MetricSpec, overwrite: bool = False) -> MetricSpec:
    """Add ``spec`` under ``spec.name``; re-registering a name needs ``overwrite=True``.

    Example:
        >>> register_metric(MetricSpec("bleu4", score_bleu4))
        Traceback (most recent call last):
        ...
        ValueError: metric 'bleu4' is already registered (pass overwrite=True to replace it)
    """
    if spec.kind not in KINDS:
        raise ValueError(f"metric kind must be one of {list(KINDS)}, got {spec.kind!r}")
    if spec.name in METRICS and not overwrite:
        raise ValueError(f"metric {spec.name!r} is already registered (pass overwrite=True to replace it)")
    METRICS[spec.name] = spec
    return spec


def get_metric(name: str) -> MetricSpec:
    """The spec registered under ``name``; an unknown name raises ``KeyError`` listing the valid ones.

    Example:
        >>> get_metric("map_50").description.split(":")[0]
        "RadVLM's per-sample AP at IoU 0.5"
    """
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; registered metrics: {', '.join(list_metrics())}") from None


def list_metrics(kind: str | None = None) -> list[str]:
    """Sorted registered names, optionally of one kind.

    Example:
        >>> list_metrics("grounding")
        ['map_50', 'matched_iou', 'soft_f1', 'soft_f1_dice']
    """
    return sorted(n for n, s in METRICS.items() if kind is None or s.kind == kind)


for _spec in (
    MetricSpec("soft_f1", score_soft_f1, kind="grounding",
               description="IoU-weighted soft-F1 with Hungarian matching, the released reward's formula"),
    MetricSpec("soft_f1_dice", score_soft_f1_dice, kind="grounding",
               description="Dice-like soft-F1 2*sum(IoU)/(|P|+|G|), the paper's Fig. 1 value"),
    MetricSpec("map_50", score_ap50, kind="grounding",
               description="RadVLM's per-sample AP at IoU 0.5: output-order greedy matching, VOC all-point AP"),
    MetricSpec("matched_iou", score_matched_iou, kind="grounding",
               description="mean IoU of Hungarian-matched box pairs"),
    MetricSpec("bleu4", score_bleu4, kind="report",
               description="mean of per-pair coco-caption BLEU-4 (whitespace tokens, closest ref length)"),
    MetricSpec("rougeL", score_rouge_l_f, kind="report",
               description="rouge-score ROUGE-L F1 with Porter stemming"),
    MetricSpec("gleu", score_gleu_pairs, kind="report",
               description="Google-BLEU per pair (HF google_bleu, 13a tokens)"),
):
    register_metric(_spec)
