"""Abnormality-classification records from a :class:`~radgrpo.data.tasks.study.Study` (docs/method.md#prompts).

What it is: one record per study: a RadVLM classification question; the answer lists the positive labels among
RadVLM's 13 pathologies (lowercased, ``a, b and c``) with a count-dependent prefix, or a no-finding answer. What it
is not: label extraction from text (labels come with the study; see :mod:`radgrpo.metrics.text.rule_labeler`).

Example:
    >>> from radgrpo.data.tasks.study import Study
    >>> s = Study(key="s1", image="i.png", source="synthetic", split="train",
    ...           labels={"Cardiomegaly": 1, "Pleural Effusion": 1, "Pneumothorax": 0})
    >>> (r,) = classification_records(s, seed=0)
    >>> r.answer.endswith(": cardiomegaly and pleural effusion."), r.target
    (True, 'Cardiomegaly, Pleural Effusion')
"""

from __future__ import annotations

from radgrpo.data.tasks.source_records import classification_record
from radgrpo.data.tasks.study import Study, study_record_id, study_rng
from radgrpo.records import Record

TASK = "classification"


def classification_records(study: Study, seed: int) -> list[Record]:
    """The classification record of ``study`` (positives = labels equal to 1, RadVLM's 13 pathologies).

    Args:
        study: the study (its ``labels`` decide the answer).
        seed: dataset seed.

    Returns:
        A one-element list; ``target`` = the positive labels joined by ``", "`` (None for a normal study).
    """
    common = study.common_fields()
    return [
        classification_record(
            study_record_id(study, TASK), common.pop("labels"), study_rng(seed, study, TASK), **common
        )
    ]
