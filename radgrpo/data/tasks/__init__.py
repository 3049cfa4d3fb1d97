"""Per-task record builders: turn a :class:`Study` into RadVLM instruction :class:`~radgrpo.records.Record` s.

What it is: one builder per RadVLM task (docs/data.md#tasks) over a task-agnostic :class:`Study`, and
:func:`build_study_records`, which runs the configured ones in a fixed task order. Every record is seeded by
(seed, source, task, study key, k) only (docs/data.md#deterministic-seeding). The question/answer strings come
from RadVLM's template pools (:mod:`radgrpo.data.prompts`). The records of the real sources are built row by row by
:func:`~radgrpo.data.tasks.source_records.records_of_row` (:mod:`radgrpo.data.tasks.source_records`, whose per-task
builders these study builders also use) from the raw rows that ``radgrpo.data.sources.<source>.iter_rows`` reads.
Imports go one way: this package imports the sources' public API; a source never imports a task builder.

What it is not: a data source, nor conversations (not built from studies yet).

Example:
    >>> s = Study(key="s1", image="i.png", source="synthetic", split="train", report="Normal heart size.",
    ...           labels={"No Finding": 1}, regions={"trachea": (0.48, 0.08, 0.52, 0.33)})
    >>> [r.task.value for r in build_study_records(s, ["detection", "report_generation", "anatomical_grounding"], 0)]
    ['report_generation', 'anatomical_grounding', 'detection']
"""

from __future__ import annotations

from collections.abc import Sequence

from radgrpo.data.tasks.classification import classification_records
from radgrpo.data.tasks.detection import detection_records
from radgrpo.data.tasks.grounding import (
    abnormality_grounding_records,
    anatomical_grounding_records,
    phrase_grounding_records,
)
from radgrpo.data.tasks.report_generation import report_generation_records
from radgrpo.data.tasks.source_records import SOURCE_BUILDERS, records_of_row
from radgrpo.data.tasks.study import Study, StudyFinding, pick, study_record_id, study_rng
from radgrpo.records import STUDY_TASKS, Record

__all__ = [
    "Study",
    "StudyFinding",
    "STUDY_TASKS",
    "build_study_records",
    "report_generation_records",
    "abnormality_grounding_records",
    "anatomical_grounding_records",
    "phrase_grounding_records",
    "classification_records",
    "detection_records",
    "pick",
    "study_record_id",
    "study_rng",
    "SOURCE_BUILDERS",
    "records_of_row",
]


def build_study_records(
    study: Study,
    tasks: Sequence[str],
    seed: int,
    *,
    grounding_per_study: int | None = None,
    anatomical_per_study: int | None = 1,
) -> list[Record]:
    """All records of ``study`` for ``tasks``, in :data:`STUDY_TASKS` order.

    Args:
        study: the study.
        tasks: task names among :data:`STUDY_TASKS`.
        seed: dataset seed.
        grounding_per_study: abnormality-grounding records per study (None = one per finding type).
        anatomical_per_study: anatomical-grounding records per study (None = every region).

    Returns:
        The records; studies without findings give no abnormality or phrase grounding records.

    Raises:
        ValueError: an unknown task name.
    """
    bad = [t for t in tasks if t not in STUDY_TASKS]
    if bad:
        raise ValueError(f"unknown study tasks {bad}; supported: {list(STUDY_TASKS)}")
    out: list[Record] = []
    for task in (t for t in STUDY_TASKS if t in tasks):
        if task == "report_generation":
            out += report_generation_records(study, seed)
        elif task == "abnormality_grounding":
            out += abnormality_grounding_records(study, seed, grounding_per_study)
        elif task == "anatomical_grounding":
            out += anatomical_grounding_records(study, seed, anatomical_per_study)
        elif task == "classification":
            out += classification_records(study, seed)
        elif task == "detection":
            out += detection_records(study, seed)
        else:
            out += phrase_grounding_records(study, seed)
    return out
