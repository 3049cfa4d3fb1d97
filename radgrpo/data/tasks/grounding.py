"""Grounding records from a :class:`~radgrpo.data.tasks.study.Study`: abnormality, anatomical and phrase grounding
(docs/method.md#prompts, docs/data.md#box-convention).

What it is: abnormality grounding (one record per finding type, all its boxes, ``target`` = the finding name),
anatomical grounding (a region with its box, ``target`` = the region name) and phrase grounding (the finding's report
sentence as the phrase, all its boxes), each with RadVLM's template pools and ``format_boxes`` answers. Which
findings or regions get a record is drawn with the study's own RNG (:func:`radgrpo.data.tasks.study.pick`), so
records do not depend on iteration order. What it is not: box parsing (:mod:`radgrpo.boxes`).

Example:
    >>> from radgrpo.data.tasks.study import Study, StudyFinding
    >>> s = Study(key="s1", image="i.png", source="synthetic", split="train",
    ...           findings=[StudyFinding("cardiomegaly", [(0.35, 0.51, 0.75, 0.64)], "Moderate cardiomegaly.")])
    >>> (r,) = abnormality_grounding_records(s, seed=0)
    >>> r.target, r.reference_boxes, "[0.35, 0.51, 0.75, 0.64]" in r.answer
    ('cardiomegaly', [(0.35, 0.51, 0.75, 0.64)], True)
"""

from __future__ import annotations

from collections.abc import Sequence

from radgrpo.data.tasks.source_records import grounding_record, phrase_record
from radgrpo.data.tasks.study import Study, pick, study_record_id, study_rng
from radgrpo.records import Record, Task


def abnormality_grounding_records(study: Study, seed: int, per_study: int | None = None) -> list[Record]:
    """Abnormality grounding: one record per finding type of ``study`` (all its boxes).

    Args:
        study: the study; a study without findings gives no records.
        seed: dataset seed.
        per_study: at most this many findings, drawn without replacement with the study's RNG; None = all, in order.

    Returns:
        Records with ``target`` = finding name, ``reference_boxes`` = its boxes; the k-th has id suffix ``#k``.
    """
    task = Task.ABNORMALITY_GROUNDING.value
    out = []
    for k, i in enumerate(pick(seed, study, task, per_study, len(study.findings))):
        f = study.findings[i]
        out.append(
            grounding_record(
                study_record_id(study, task, k),
                Task.ABNORMALITY_GROUNDING,
                f.name,
                list(f.boxes),
                study_rng(seed, study, task, k),
                **study.common_fields(),
            )
        )
    return out


def anatomical_grounding_records(
    study: Study, seed: int, per_study: int | None = 1, regions: Sequence[str] | None = None
) -> list[Record]:
    """Anatomical grounding: random regions of ``study`` with their box.

    Args:
        study: the study; its ``regions`` map region names to boxes.
        seed: dataset seed.
        per_study: at most this many distinct regions, drawn with the study's RNG; None = all, in order.
        regions: restrict to these region names (each must exist in ``study.regions``); None = all.

    Returns:
        Records with ``target`` = region name and one reference box.

    Raises:
        KeyError: a requested region is not in the study.

    Example:
        >>> from radgrpo.data.tasks.study import Study
        >>> s = Study(key="s1", image="i.png", source="synthetic", split="train",
        ...           regions={"trachea": (0.48, 0.08, 0.52, 0.33), "right lung": (0.2, 0.2, 0.45, 0.75)})
        >>> [r.answer.count("[0.48, 0.08, 0.52, 0.33]") for r in anatomical_grounding_records(s, 0, None, ["trachea"])]
        [1]
    """
    names = list(study.regions) if regions is None else list(regions)
    missing = [n for n in names if n not in study.regions]
    if missing:
        raise KeyError(f"study {study.key!r} has no anatomical regions {missing}; it has {list(study.regions)}")
    task = Task.ANATOMICAL_GROUNDING.value
    out = []
    for k, i in enumerate(pick(seed, study, task, per_study, len(names))):
        name = names[i]
        out.append(
            grounding_record(
                study_record_id(study, task, k),
                Task.ANATOMICAL_GROUNDING,
                name,
                [study.regions[name]],
                study_rng(seed, study, task, k),
                **study.common_fields(),
            )
        )
    return out


def phrase_grounding_records(study: Study, seed: int) -> list[Record]:
    """Phrase grounding: one record per finding that has a phrase (its sentence without the final period).

    Args:
        study: the study.
        seed: dataset seed.

    Returns:
        Records with ``target`` = the phrase and ``reference_boxes`` = the finding's boxes.
    """
    task = Task.PHRASE_GROUNDING.value
    out = []
    phrases = [(f, f.phrase) for f in study.findings if f.phrase]
    for k, (f, phrase) in enumerate(phrases):
        out.append(
            phrase_record(
                study_record_id(study, task, k),
                phrase.rstrip("."),
                list(f.boxes),
                study_rng(seed, study, task, k),
                **study.common_fields(),
            )
        )
    return out
