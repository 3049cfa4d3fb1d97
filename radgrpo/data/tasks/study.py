"""The task-agnostic content of one study that the per-task record builders turn into :class:`Record` s.

What it is: :class:`Study` (image path, report, labels, findings with their boxes and phrases, anatomical region
boxes, provenance) and the per-record seeding shared by the builders in :mod:`radgrpo.data.tasks`
(docs/data.md#deterministic-seeding): a record's RNG is a function of (seed, source, task, study key, k) only, so
records never depend on worker or iteration order. Record ids are ``"<source>/<task>/<key>"`` plus ``"#<k>"`` for
the k-th record of a task.

What it is not: a data source (the synthetic generator fills a :class:`Study` from its drawing; real sources may do
the same) nor the template pools (:mod:`radgrpo.data.prompts`).

Example:
    >>> s = Study(key="s1", image="images/s1.png", source="synthetic", split="train", report="Normal heart size.",
    ...           labels={"No Finding": 1})
    >>> study_record_id(s, "detection", 0), study_record_id(s, "abnormality_grounding", 2)
    ('synthetic/detection/s1', 'synthetic/abnormality_grounding/s1#2')
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from radgrpo.data.tasks.source_records import rng_for
from radgrpo.records import Box


@dataclass
class StudyFinding:
    """One finding of a study: its name (used verbatim as the grounding target and detection label), all its boxes
    (normalised [0, 1] xyxy, already rounded as they should be stored) and, optionally, the report phrase that
    describes it (the phrase-grounding query)."""

    name: str
    boxes: list[Box]
    phrase: str | None = None


@dataclass
class Study:
    """The content of one image that task builders need.

    Attributes:
        key: study id, unique within ``source`` (ids and seeds derive from it).
        image: image path as stored in the records (relative to the records file, or absolute).
        source: source name (``"synthetic"``, ``"vindr_cxr"`` ...).
        split: ``"train"``, ``"val"`` or ``"test"``.
        report: findings text, or None when the study has none.
        labels: CheXpert labels (1/0/-1; absent = not mentioned).
        findings: findings with boxes, names unique, in report order.
        regions: anatomical region name -> box (normalised xyxy).
        patient_id: patient id (defaults to ``key``).
        meta: free-form provenance copied into every record's ``meta``.
    """

    key: str
    image: str
    source: str
    split: str
    report: str | None = None
    labels: dict[str, int] = field(default_factory=dict)
    findings: list[StudyFinding] = field(default_factory=list)
    regions: dict[str, Box] = field(default_factory=dict)
    patient_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [f.name for f in self.findings]
        if len(set(names)) != len(names):
            raise ValueError(f"study {self.key!r}: finding names must be unique (merge their boxes): {names}")
        for f in self.findings:
            if not f.boxes:
                raise ValueError(f"study {self.key!r}: finding {f.name!r} has no boxes")

    def common_fields(self) -> dict[str, Any]:
        """Record fields shared by every record of the study (image, source, split, patient, labels, report, meta).

        Example:
            >>> Study(key="k", image="i.png", source="s", split="test").common_fields()["patient_id"]
            'k'
        """
        return dict(
            image=self.image,
            source=self.source,
            split=self.split,
            patient_id=self.patient_id or self.key,
            labels=dict(self.labels),
            reference_report=self.report,
            meta=self.meta,
        )


def study_rng(seed: int, study: Study, task: str, k: int = 0) -> random.Random:
    """The RNG of the k-th record of ``task`` for ``study``: a function of (seed, source, task, key, k) only.

    Example:
        >>> s = Study(key="k", image="i.png", source="s", split="test")
        >>> study_rng(0, s, "detection").random() == study_rng(0, s, "detection").random()
        True
    """
    return rng_for(seed, study.source, task, study.key, k)


def study_record_id(study: Study, task: str, k: int = 0) -> str:
    """``"<source>/<task>/<key>"`` plus ``"#<k>"`` when ``k > 0``.

    Example:
        >>> study_record_id(Study(key="k", image="i.png", source="s", split="test"), "classification")
        's/classification/k'
    """
    return f"{study.source}/{task}/{study.key}" + (f"#{k}" if k else "")


def pick(seed: int, study: Study, what: str, n: int | None, population: int) -> list[int]:
    """Which of ``population`` items get a record: ``min(n, population)`` distinct indices drawn with the study's
    ``"<what>_pick"`` RNG, in drawn order; ``n=None`` takes all, in order.

    Example:
        >>> s = Study(key="k", image="i.png", source="s", split="test")
        >>> pick(0, s, "x", None, 3), len(pick(0, s, "x", 2, 5)), pick(0, s, "x", 4, 0)
        ([0, 1, 2], 2, [])
    """
    if n is None:
        return list(range(population))
    if n < 0:
        raise ValueError(f"records per study must be >= 0 or None, got {n}")
    return study_rng(seed, study, f"{what}_pick").sample(range(population), min(n, population))
