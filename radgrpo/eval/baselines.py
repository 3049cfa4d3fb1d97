"""Image-blind baselines from the training split: what a model scores without looking at the image.

Two predictors, each fitted on training records only and scored by the same evaluation code as a model:

- **best constant report** (:func:`best_constant_report`): the one training reference report that, given for every
  test report prompt, has the highest positive-finding micro-F1 (``rule_finding_f1``); ties go to the shorter, then
  the earlier report. It is an oracle among constants (it is chosen on the test references), so it is an upper
  bound of what any single report can score, typically one that names the most frequent finding.
- **per-finding mean-box prior** (:func:`mean_box_prior`): for a grounding prompt about finding *f*, the mean of the
  training reference boxes of *f* (normalised [0, 1] xyxy), as one box.

:func:`baseline_predictions` turns both into :class:`radgrpo.eval.generate.Prediction` rows for a test set, so the
baseline goes through ``score_predictions`` / ``summarize`` exactly as a model does.

Example:
    >>> from radgrpo.records import Record
    >>> train = [Record("a", "a.png", "abnormality_grounding", "Where is the nodule?", "x",
    ...                 reference_boxes=[(0.1, 0.1, 0.3, 0.3)], target="nodule"),
    ...          Record("b", "b.png", "abnormality_grounding", "Where is the nodule?", "x",
    ...                 reference_boxes=[(0.3, 0.3, 0.5, 0.5)], target="nodule")]
    >>> mean_box_prior(train)
    {'nodule': (0.2, 0.2, 0.4, 0.4)}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from radgrpo.boxes import format_boxes
from radgrpo.eval.generate import Prediction
from radgrpo.metrics.text.rule_labeler import finding_set
from radgrpo.records import Box, Record, Task

BASELINE_NAME = "prior"


def _reference_report(r: Record) -> str | None:
    return r.reference_report if r.reference_report is not None else r.answer


def best_constant_report(train: Sequence[Record], test: Sequence[Record]) -> str:
    """The training report with the highest finding micro-F1 when predicted for every test report.

    Args:
        train: training records; their report-generation references are the candidates.
        test: test records; their report-generation references are scored against.
    Returns:
        the chosen report text.
    Raises:
        ValueError: no report-generation record in ``train`` or ``test``.

    Example:
        >>> from radgrpo.records import Record
        >>> rep = lambda i, t: Record(i, "x.png", "report_generation", "Report?", t, reference_report=t)
        >>> train = [rep("a", "Normal heart size. No pleural effusion."), rep("b", "Small left pleural effusion.")]
        >>> test = [rep("c", "Small right pleural effusion."), rep("d", "Normal heart size.")]
        >>> best_constant_report(train, test)
        'Small left pleural effusion.'
    """
    cands = list(dict.fromkeys(t for r in train if r.task is Task.REPORT_GENERATION if (t := _reference_report(r))))
    refs = [finding_set(t) for r in test if r.task is Task.REPORT_GENERATION if (t := _reference_report(r)) is not None]
    if not cands or not refs:
        raise ValueError("best_constant_report needs report_generation records in both train and test")
    n_ref = sum(len(g) for g in refs)
    scores: dict[frozenset, float] = {}
    best, best_key = cands[0], (-1.0, 0)
    for text in cands:
        p = finding_set(text)
        if p not in scores:
            tp = sum(len(p & g) for g in refs)
            fp = len(p) * len(refs) - tp
            fn = n_ref - tp
            scores[p] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        key = (scores[p], -len(text))
        if key > best_key:
            best, best_key = text, key
    return best


def mean_box_prior(train: Sequence[Record]) -> dict[str, Box]:
    """Per finding (grounding ``target``), the coordinate-wise mean of its training reference boxes.

    Args:
        train: training records; grounding records with a target and reference boxes are used.
    Returns:
        ``{target: (x1, y1, x2, y2)}`` normalised [0, 1], rounded to 4 decimals.
    """
    boxes: dict[str, list[Sequence[float]]] = {}
    for r in train:
        if r.task.is_grounding and r.target and r.reference_boxes:
            boxes.setdefault(r.target, []).extend(r.reference_boxes)
    return {
        t: tuple(round(float(v), 4) for v in np.mean(np.asarray(b, dtype=np.float64), axis=0))  # type: ignore[misc]
        for t, b in sorted(boxes.items())
    }


def baseline_predictions(train: Sequence[Record], test: Sequence[Record]) -> tuple[list[Prediction], dict[str, Any]]:
    """Predictions of the image-blind baseline for every test record it can answer.

    Report prompts get :func:`best_constant_report`; grounding prompts get the :func:`mean_box_prior` box of their
    target (written as ``[x1, y1, x2, y2]`` with 2 decimals), or no box when the target never occurs in training.
    Other tasks are skipped.

    Args:
        train: training records (the baseline's only data).
        test: test records.
    Returns:
        ``(predictions, info)`` with ``info = {"constant_report": str | None, "box_prior": {target: box}}``.
    """
    has_reports = any(r.task is Task.REPORT_GENERATION for r in test)
    constant = best_constant_report(train, test) if has_reports else None
    prior = mean_box_prior(train)
    preds = []
    for r in test:
        if r.task is Task.REPORT_GENERATION:
            answer = constant or ""
        elif r.task.is_grounding:
            box = prior.get(r.target or "")
            answer = format_boxes([box]) if box else ""
        else:
            continue
        preds.append(
            Prediction(
                id=r.id,
                task=r.task.value,
                prompt=r.question,
                completion=answer,
                answer=answer,
                n_tokens=0,
                finished=True,
                meta={"run": BASELINE_NAME},
            )
        )
    return preds, {"constant_report": constant, "box_prior": {k: list(v) for k, v in prior.items()}}
