"""Detection records from a :class:`~radgrpo.data.tasks.study.Study` (docs/method.md#prompts).

What it is: one record per study listing every finding with all its boxes (``"{prefix} a cardiomegaly located at the
coordinates [...]; ...."``), or one of RadVLM's 10 no-lesion answers for a study without findings;
``reference_boxes`` holds all boxes and ``meta["findings"]`` the per-label grouping. What it is not: box fusion
across readers (:mod:`radgrpo.data.wbf`).

Example:
    >>> from radgrpo.data.tasks.study import Study, StudyFinding
    >>> s = Study(key="s1", image="i.png", source="synthetic", split="train",
    ...           findings=[StudyFinding("pleural effusion", [(0.1, 0.6, 0.4, 0.8), (0.6, 0.6, 0.9, 0.8)])])
    >>> (r,) = detection_records(s, seed=0)
    >>> r.answer.split(" located at the coordinates ")[1], r.target
    ('[0.1, 0.6, 0.4, 0.8] and [0.6, 0.6, 0.9, 0.8].', 'pleural effusion')
"""

from __future__ import annotations

from radgrpo.data.tasks.source_records import detection_record
from radgrpo.data.tasks.study import Study, study_record_id, study_rng
from radgrpo.records import Record

TASK = "detection"


def detection_records(study: Study, seed: int) -> list[Record]:
    """The detection record of ``study``: all findings in study order, each with all its boxes.

    Args:
        study: the study.
        seed: dataset seed.

    Returns:
        A one-element list (a no-lesion answer when ``study.findings`` is empty).
    """
    findings = [(f.name, list(f.boxes)) for f in study.findings]
    return [
        detection_record(study_record_id(study, TASK), findings, study_rng(seed, study, TASK), **study.common_fields())
    ]
