"""Record builders for the real-source loaders: one function per RadVLM task, seeded per item.

What it is: the glue between ``radgrpo.data.sources.<dataset>.to_records`` and the RadVLM template pools
(:mod:`radgrpo.data.tasks.radvlm_templates`): each builder takes the semantic content (report text, labels, a target
and its normalised boxes, or a detection list) plus a ``random.Random`` and returns a :class:`Record` with the
question and answer strings RadVLM would write. What it is not: the synthetic-study builders (helper A's
``radgrpo.data.tasks`` modules) nor an exporter.

Determinism (data.md §9.2): :func:`rng_for` derives the RNG from (seed, source, task, item key, repeat) only, so a
record never depends on iteration or worker order. Ids are ``"<source>/<task>/<key>"`` plus ``"#r<k>"`` for repeats.

Example:
    >>> r = report_record("x", "Lungs are clear.", rng_for(0, "mimic_cxr", "report_generation", "d1", 0),
    ...                   image="/i.jpg", source="mimic_cxr")
    >>> (r.answer, r.reference_report, r.question in REPORT_QUESTIONS)
    ('Lungs are clear.', 'Lungs are clear.', True)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from radgrpo.data.sources._common import item_rng, positive_pathologies
from radgrpo.data.tasks.radvlm_templates import (
    CLASSIFICATION_QUESTIONS, DETECTION_QUESTIONS, REPORT_QUESTIONS, classification_answer, detection_answer,
    grounding_qa, phrase_qa,
)
from radgrpo.records import Record, Task

__all__ = ["rng_for", "record_id", "report_record", "classification_record", "grounding_record",
           "detection_record", "phrase_record", "conversation_record", "REPORT_QUESTIONS"]


def rng_for(seed: int, source: str, task: str, key: str, repeat: int) -> random.Random:
    """The RNG of one record: a function of (seed, source, task, key, repeat) only.

    Example:
        >>> rng_for(0, "s", "t", "k", 0).random() == rng_for(0, "s", "t", "k", 0).random()
        True
    """
    return item_rng(seed, source, task, key, repeat)


def record_id(source: str, task: str, key: str, repeat: int) -> str:
    """``"<source>/<task>/<key>"`` plus ``"#r<repeat>"`` when ``repeat > 0``.

    Example:
        >>> record_id("vindr_cxr", "detection", "abc", 1)
        'vindr_cxr/detection/abc#r1'
    """
    return f"{source}/{task}/{key}" + (f"#r{repeat}" if repeat else "")


def report_record(rid: str, report: str, rng: random.Random, **fields: Any) -> Record:
    """Report generation: a random report question; the answer and ``reference_report`` are the text verbatim.

    Args:
        rid: record id.
        report: findings text.
        rng: the record's RNG.
        **fields: other :class:`Record` fields (image, source, split, patient_id, labels, meta ...).

    Returns:
        The record.
    """
    fields.pop("reference_report", None)
    return Record(id=rid, task=Task.REPORT_GENERATION, question=rng.choice(REPORT_QUESTIONS), answer=report,
                  reference_report=report, **fields)


def classification_record(rid: str, label_values: dict[str, int], rng: random.Random, **fields: Any) -> Record:
    """Abnormality classification over RadVLM's 13 pathologies (positives in sorted order).

    Example:
        >>> r = classification_record("c", {"Edema": 1, "No Finding": 0}, random.Random(0), image="/i.jpg")
        >>> r.answer.endswith(" edema."), r.target
        (True, 'Edema')
    """
    fields.setdefault("labels", label_values)
    positives = positive_pathologies(label_values)
    q = rng.choice(CLASSIFICATION_QUESTIONS)
    return Record(id=rid, task=Task.CLASSIFICATION, question=q, answer=classification_answer(positives, rng),
                  target=", ".join(positives) or None, **fields)


def grounding_record(rid: str, task: Task, target: str, boxes: Sequence[Sequence[float]], rng: random.Random,
                     **fields: Any) -> Record:
    """Anatomical or abnormality grounding of one target with all its normalised boxes.

    Example:
        >>> r = grounding_record("g", Task.ANATOMICAL_GROUNDING, "trachea", [(0.46, 0.05, 0.55, 0.33)],
        ...                      random.Random(0), image="/i.jpg")
        >>> "[0.46, 0.05, 0.55, 0.33]" in r.answer, r.reference_boxes
        (True, [(0.46, 0.05, 0.55, 0.33)])
    """
    if task not in (Task.ANATOMICAL_GROUNDING, Task.ABNORMALITY_GROUNDING):
        raise ValueError(f"grounding_record: task must be anatomical or abnormality grounding, got {task}")
    q, a = grounding_qa(target, boxes, rng)
    return Record(id=rid, task=task, question=q, answer=a, target=target, reference_boxes=list(boxes), **fields)


def detection_record(rid: str, findings: Sequence[tuple[str, Sequence[Sequence[float]]]], rng: random.Random,
                     **fields: Any) -> Record:
    """Detection: all findings with their boxes, or a no-lesion answer; ``reference_boxes`` = all boxes.

    Example:
        >>> detection_record("d", [], random.Random(0), image="/i.jpg").reference_boxes
        []
    """
    q = rng.choice(DETECTION_QUESTIONS)
    boxes = [tuple(b) for _, bs in findings for b in bs]
    meta = dict(fields.pop("meta", None) or {})
    meta["findings"] = [[lab, [list(b) for b in bs]] for lab, bs in findings]
    return Record(id=rid, task=Task.DETECTION, question=q, answer=detection_answer(findings, rng),
                  reference_boxes=boxes, target=", ".join(lab for lab, _ in findings) or None, meta=meta, **fields)


def phrase_record(rid: str, phrase: str, boxes: Sequence[Sequence[float]], rng: random.Random,
                  **fields: Any) -> Record:
    """Phrase grounding: the phrase in the question, all its boxes in the answer.

    Example:
        >>> phrase_record("p", "Left effusion", [(0.6, 0.6, 0.9, 0.8)], random.Random(0), image="/i.jpg").target
        'Left effusion'
    """
    q, a = phrase_qa(phrase, boxes, rng)
    return Record(id=rid, task=Task.PHRASE_GROUNDING, question=q, answer=a, target=phrase,
                  reference_boxes=list(boxes), **fields)


def conversation_record(rid: str, turns: list[dict[str, str]], **fields: Any) -> Record:
    """Multi-turn conversation: first user/assistant pair as question/answer, all turns in ``conversation``.

    Example:
        >>> conversation_record("c", [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}],
        ...                     image="/i.jpg").answer
        'A.'
    """
    if len(turns) < 2 or turns[0]["role"] != "user" or turns[1]["role"] != "assistant":
        raise ValueError(f"conversation {rid!r}: needs a user turn then an assistant turn")
    return Record(id=rid, task=Task.CONVERSATION, question=turns[0]["content"], answer=turns[1]["content"],
                  conversation=list(turns), **fields)
