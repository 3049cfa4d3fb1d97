"""Report-generation records from a :class:`~radgrpo.data.tasks.study.Study` (docs/method.md#prompts).

What it is: one record per study with a question from RadVLM's 15 report questions and the findings text verbatim as
the answer and ``reference_report``. What it is not: report cleaning or section extraction (the real sources do
that before filling :attr:`Study.report`).

Example:
    >>> from radgrpo.data.tasks.study import Study
    >>> s = Study(key="s1", image="images/s1.png", source="synthetic", split="train", report="Normal heart size.")
    >>> (r,) = report_generation_records(s, seed=0)
    >>> r.id, r.answer, r.reference_report
    ('synthetic/report_generation/s1', 'Normal heart size.', 'Normal heart size.')
"""

from __future__ import annotations

from radgrpo.data.tasks.source_records import report_record
from radgrpo.data.tasks.study import Study, study_record_id, study_rng
from radgrpo.records import Record

TASK = "report_generation"


def report_generation_records(study: Study, seed: int) -> list[Record]:
    """The report-generation record of ``study``.

    Args:
        study: a study with a non-empty ``report``.
        seed: dataset seed (the question is drawn with the record's own RNG).

    Returns:
        A one-element list.

    Raises:
        ValueError: the study has no report text.
    """
    report = study.report
    if report is None or not report.strip():
        raise ValueError(f"study {study.key!r} has no report text for report_generation")
    return [report_record(study_record_id(study, TASK), report, study_rng(seed, study, TASK), **study.common_fields())]
