"""Record builders for the real dataset sources: raw rows -> RadVLM instruction records, seeded per item.

What it is: two levels of builders. Per RadVLM task (:func:`report_record`, :func:`classification_record`,
:func:`grounding_record`, :func:`detection_record`, :func:`phrase_record`, :func:`conversation_record`): take the
semantic content (report text, labels, a target and its normalised [0, 1] xyxy boxes, or a detection list) plus a
``random.Random`` and return a :class:`Record` with the question and answer strings RadVLM would write, from the
template pools of :mod:`radgrpo.data.prompts`. Per source (:func:`mimic_cxr_records` ...
:func:`padchest_gr_records`, dispatched by :func:`records_of_row`): turn one raw row of
``radgrpo.data.sources.<source>.iter_rows`` into the records of the requested tasks. What it is not: a dataset
reader (sources only read raw rows and never import this package) nor the synthetic-study builders (the other
``radgrpo.data.tasks`` modules, which share :func:`rng_for`), nor an exporter.

Record ids and seeding: ids follow the one scheme of :func:`radgrpo.records.record_id`, ``"<source>/<task>/<key>"``
plus ``"#<k>"`` for the k-th repeat (k >= 1); a sub-item of an image is joined to its key with ``/`` (VinDr-CXR
``<image_id>/<class>``, MS-CXR ``<dicom_id>/<phrase>``, PadChest-GR ``<image_id>/<sentence index>``). The RNG of a
record is :func:`rng_for` of (seed, source, task, key, repeat) only, so a record never depends on iteration or worker
order (docs/data.md).

Example:
    >>> r = report_record("x", "Lungs are clear.", rng_for(0, "mimic_cxr", "report_generation", "d1", 0),
    ...                   image="/i.jpg", source="mimic_cxr")
    >>> (r.answer, r.reference_report, r.question in REPORT_QUESTIONS)
    ('Lungs are clear.', 'Lungs are clear.', True)
    >>> row = {"image_id": "a.png", "study_id": "s", "patient_id": "p", "split": "train", "sex": "F",
    ...        "image": "/a.png", "findings": [{"phrase": "No effusion.", "boxes": [], "abnormal": False},
    ...        {"phrase": "Cardiomegaly.", "boxes": [(0.3, 0.4, 0.8, 0.7)], "abnormal": True}]}
    >>> [r.id for r in records_of_row("padchest_gr", row, ("phrase_grounding",), repeat=1)]
    ['padchest_gr/phrase_grounding/a.png/1#1']
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from radgrpo.data.prompts import (
    CLASSIFICATION_QUESTIONS,
    DETECTION_QUESTIONS,
    REPORT_QUESTIONS,
    classification_answer,
    detection_answer,
    grounding_qa,
    phrase_qa,
)
from radgrpo.data.sources import chest_imagenome, chexpert, chexpert_plus, mimic_cxr, ms_cxr, padchest_gr, vindr_cxr
from radgrpo.data.sources.common import DropCounter, RawRow, item_rng, positive_pathologies
from radgrpo.records import Box, Record, Task
from radgrpo.records import record_id as _scheme_id

__all__ = [
    "rng_for",
    "record_id",
    "report_record",
    "classification_record",
    "grounding_record",
    "detection_record",
    "phrase_record",
    "conversation_record",
    "REPORT_QUESTIONS",
    "mimic_cxr_records",
    "chexpert_records",
    "chexpert_plus_records",
    "chest_imagenome_records",
    "vindr_cxr_records",
    "ms_cxr_records",
    "padchest_gr_records",
    "SOURCE_BUILDERS",
    "records_of_row",
]


def rng_for(seed: int, source: str, task: str, key: str, repeat: int) -> random.Random:
    """The RNG of one record: a function of (seed, source, task, key, repeat) only.

    Example:
        >>> rng_for(0, "s", "t", "k", 0).random() == rng_for(0, "s", "t", "k", 0).random()
        True
    """
    return item_rng(seed, source, task, key, repeat)


def record_id(source: str, task: str, key: str, repeat: int) -> str:
    """``"<source>/<task>/<key>"`` plus ``"#<repeat>"`` when ``repeat > 0`` (:func:`radgrpo.records.record_id`).

    Example:
        >>> record_id("vindr_cxr", "detection", "abc", 1)
        'vindr_cxr/detection/abc#1'
    """
    return _scheme_id(source, task, key, repeat)


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
    return Record(
        id=rid,
        task=Task.REPORT_GENERATION,
        question=rng.choice(REPORT_QUESTIONS),
        answer=report,
        reference_report=report,
        **fields,
    )


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
    return Record(
        id=rid,
        task=Task.CLASSIFICATION,
        question=q,
        answer=classification_answer(positives, rng),
        target=", ".join(positives) or None,
        **fields,
    )


def grounding_record(
    rid: str, task: Task, target: str, boxes: Sequence[Sequence[float]], rng: random.Random, **fields: Any
) -> Record:
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
    return Record(
        id=rid, task=task, question=q, answer=a, target=target, reference_boxes=cast(list[Box], list(boxes)), **fields
    )


def detection_record(
    rid: str, findings: Sequence[tuple[str, Sequence[Sequence[float]]]], rng: random.Random, **fields: Any
) -> Record:
    """Detection: all findings with their boxes, or a no-lesion answer; ``reference_boxes`` = all boxes.

    Example:
        >>> detection_record("d", [], random.Random(0), image="/i.jpg").reference_boxes
        []
    """
    q = rng.choice(DETECTION_QUESTIONS)
    boxes = cast(list[Box], [tuple(b) for _, bs in findings for b in bs])
    meta = dict(fields.pop("meta", None) or {})
    meta["findings"] = [[lab, [list(b) for b in bs]] for lab, bs in findings]
    return Record(
        id=rid,
        task=Task.DETECTION,
        question=q,
        answer=detection_answer(findings, rng),
        reference_boxes=boxes,
        target=", ".join(lab for lab, _ in findings) or None,
        meta=meta,
        **fields,
    )


def phrase_record(rid: str, phrase: str, boxes: Sequence[Sequence[float]], rng: random.Random, **fields: Any) -> Record:
    """Phrase grounding: the phrase in the question, all its boxes in the answer.

    Example:
        >>> phrase_record("p", "Left effusion", [(0.6, 0.6, 0.9, 0.8)], random.Random(0), image="/i.jpg").target
        'Left effusion'
    """
    q, a = phrase_qa(phrase, boxes, rng)
    return Record(
        id=rid,
        task=Task.PHRASE_GROUNDING,
        question=q,
        answer=a,
        target=phrase,
        reference_boxes=cast(list[Box], list(boxes)),
        **fields,
    )


def conversation_record(rid: str, turns: list[dict[str, str]], **fields: Any) -> Record:
    """Multi-turn conversation: first user/assistant pair as question/answer, all turns in ``conversation``.

    Example:
        >>> conversation_record("c", [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}],
        ...                     image="/i.jpg").answer
        'A.'
    """
    if len(turns) < 2 or turns[0]["role"] != "user" or turns[1]["role"] != "assistant":
        raise ValueError(f"conversation {rid!r}: needs a user turn then an assistant turn")
    return Record(
        id=rid,
        task=Task.CONVERSATION,
        question=turns[0]["content"],
        answer=turns[1]["content"],
        conversation=list(turns),
        **fields,
    )


# ---- per source: one raw row of radgrpo.data.sources.<source>.iter_rows -> its records ----


def _unsupported(source: str, task: str, valid: str) -> ValueError:
    return ValueError(f"{source}: unsupported task {task!r}; valid: {valid}")


def mimic_cxr_records(
    row: RawRow,
    tasks: Sequence[str],
    seed: int = 0,
    repeat: int = 0,
    drops: DropCounter | None = None,
    conversation_dir: str | os.PathLike | None = None,
) -> list[Record]:
    """Records of one MIMIC-CXR image (a row of :func:`radgrpo.data.sources.mimic_cxr.iter_rows`).

    Args:
        row: the raw row.
        tasks: any of ``"report_generation"`` (needs a report), ``"classification"``, ``"conversation"`` (needs
            ``conversation_dir/<dicom_id>.json``).
        seed: template seed; the template choice depends only on (seed, source, task, dicom_id, repeat).
        repeat: the repetition index (RadVLM re-draws templates per repeat).
        drops: counts records a task could not make (``no_report``, ``missing_conversation``).
        conversation_dir: RadVLM's ``conversations/<split>/standard`` folder.

    Returns:
        The records (possibly empty), in ``tasks`` order.

    Example:
        >>> row = {"dicom_id": "d1", "subject_id": "10000001", "study_id": "50000001", "view": "PA", "rows": 10,
        ...        "columns": 10, "split": "train", "image": "/x.jpg", "labels": {"Edema": 1}, "report": "Edema."}
        >>> [(r.id, r.answer) for r in mimic_cxr_records(row, ("report_generation",))]
        [('mimic_cxr/report_generation/d1', 'Edema.')]
    """
    src = mimic_cxr.SOURCE
    drops = drops if drops is not None else DropCounter()
    common: dict[str, Any] = dict(
        image=row["image"],
        source=src,
        split=row["split"],
        patient_id=row["subject_id"],
        labels=row["labels"],
        reference_report=row["report"],
        meta={"study_id": row["study_id"], "dicom_id": row["dicom_id"], "view": row["view"]},
    )
    out: list[Record] = []
    key = row["dicom_id"]
    for task in tasks:
        rng = rng_for(seed, src, task, key, repeat)
        rid = record_id(src, task, key, repeat)
        if task == Task.REPORT_GENERATION.value:
            if not row["report"]:
                drops.add("no_report", row["study_id"])
                continue
            out.append(report_record(rid, row["report"], rng, **common))
        elif task == Task.CLASSIFICATION.value:
            out.append(classification_record(rid, row["labels"], rng, **common))
        elif task == Task.CONVERSATION.value:
            turns = mimic_cxr.read_conversation(Path(conversation_dir) / f"{key}.json") if conversation_dir else None
            if turns is None:
                drops.add("missing_conversation", key)
                continue
            out.append(conversation_record(rid, turns, **common))
        else:
            raise _unsupported(src, task, "report_generation, classification, conversation")
    return out


def chexpert_records(
    row: RawRow,
    tasks: Sequence[str] = ("classification",),
    seed: int = 0,
    repeat: int = 0,
    drops: DropCounter | None = None,
) -> list[Record]:
    """Classification record of one CheXpert image (a row of :func:`radgrpo.data.sources.chexpert.iter_rows`).

    Args:
        row: the raw row.
        tasks: only ``"classification"`` is available for CheXpert.
        seed: template seed (the choice depends on seed, source, task, path and repeat only).
        repeat: repetition index.
        drops: unused (kept for a uniform signature).

    Returns:
        One record per task.

    Example:
        >>> row = {"path": "train/patient1/study1/view1_frontal.jpg", "image": "/x.jpg", "split": "train",
        ...        "patient_id": "patient1", "view": "AP", "sex": "F", "age": "70", "labels": {"Edema": 1}}
        >>> chexpert_records(row)[0].labels
        {'Edema': 1}
    """
    src = chexpert.SOURCE
    out = []
    for task in tasks:
        if task != Task.CLASSIFICATION.value:
            raise _unsupported(src, task, "classification")
        common: dict[str, Any] = dict(
            image=row["image"],
            source=src,
            split=row["split"],
            patient_id=row["patient_id"],
            meta={"path": row["path"], "view": row["view"]},
        )
        out.append(
            classification_record(
                record_id(src, task, row["path"], repeat),
                row["labels"],
                rng_for(seed, src, task, row["path"], repeat),
                **common,
            )
        )
    return out


def chexpert_plus_records(
    row: RawRow,
    tasks: Sequence[str] = ("report_generation",),
    seed: int = 0,
    repeat: int = 0,
    drops: DropCounter | None = None,
) -> list[Record]:
    """Report-generation record of one CheXpert-Plus image (:func:`radgrpo.data.sources.chexpert_plus.iter_rows`).

    Args:
        row: the raw row.
        tasks: only ``"report_generation"``.
        seed: template seed.
        repeat: repetition index.
        drops: unused (uniform signature).

    Returns:
        One record per task.

    Example:
        >>> row = {"path": "train/patient1/study1/view1_frontal.jpg", "image": "/x.jpg", "split": "train",
        ...        "patient_id": "p1", "view": "AP", "report": "No effusion.", "labels": {}}
        >>> chexpert_plus_records(row)[0].reference_report
        'No effusion.'
    """
    src = chexpert_plus.SOURCE
    out = []
    for task in tasks:
        if task != Task.REPORT_GENERATION.value:
            raise _unsupported(src, task, "report_generation")
        common: dict[str, Any] = dict(
            image=row["image"],
            source=src,
            split=row["split"],
            patient_id=row["patient_id"],
            labels=row["labels"],
            meta={"path": row["path"], "view": row["view"]},
        )
        out.append(
            report_record(
                record_id(src, task, row["path"], repeat),
                row["report"],
                rng_for(seed, src, task, row["path"], repeat),
                **common,
            )
        )
    return out


def chest_imagenome_records(
    row: RawRow,
    tasks: Sequence[str] = ("anatomical_grounding",),
    seed: int = 0,
    repeat: int = 0,
    drops: DropCounter | None = None,
) -> list[Record]:
    """One anatomical-grounding record of a Chest ImaGenome image, for a region drawn with a per-(seed, image,
    repeat) RNG (a row of :func:`radgrpo.data.sources.chest_imagenome.iter_rows`).

    Args:
        row: the raw row.
        tasks: only ``"anatomical_grounding"``.
        seed: seed of the region and template choice.
        repeat: repetition index (a repeat may pick another region, as in RadVLM).
        drops: unused (uniform signature).

    Returns:
        One record per task; ``target`` = the region name, ``reference_boxes`` = its box.

    Example:
        >>> row = {"dicom_id": "d", "subject_id": "10000001", "study_id": "50000001", "split": "train",
        ...        "image": "/x.jpg", "rows": 10, "columns": 10, "regions": [("trachea", (0.4, 0.0, 0.6, 0.3))]}
        >>> r = chest_imagenome_records(row)[0]; (r.target, r.reference_boxes)
        ('trachea', [(0.4, 0.0, 0.6, 0.3)])
    """
    src = chest_imagenome.SOURCE
    out = []
    for task in tasks:
        if task != Task.ANATOMICAL_GROUNDING.value:
            raise _unsupported(src, task, "anatomical_grounding")
        rng = rng_for(seed, src, task, row["dicom_id"], repeat)
        name, box = row["regions"][rng.randrange(len(row["regions"]))]
        out.append(
            grounding_record(
                record_id(src, task, row["dicom_id"], repeat),
                Task(task),
                name,
                [box],
                rng,
                image=row["image"],
                source=src,
                split=row["split"],
                patient_id=row["subject_id"],
                meta={"dicom_id": row["dicom_id"], "study_id": row["study_id"]},
            )
        )
    return out


def vindr_cxr_records(
    row: RawRow,
    tasks: Sequence[str] = ("abnormality_grounding", "detection"),
    seed: int = 0,
    repeat: int = 0,
    drops: DropCounter | None = None,
) -> list[Record]:
    """Abnormality-grounding records (one per class with boxes) and/or one detection record of a VinDr-CXR image
    (a row of :func:`radgrpo.data.sources.vindr_cxr.iter_rows`; grounding keys are ``<image_id>/<class>``).

    Args:
        row: the raw row.
        tasks: ``"abnormality_grounding"`` and/or ``"detection"``.
        seed: template seed.
        repeat: repetition index.
        drops: unused (uniform signature).

    Returns:
        The records; a "No finding" image gives no grounding record and a no-lesion detection record.

    Example:
        >>> row = {"image_id": "ab", "split": "train", "image": "/x.jpg", "rows": 100, "columns": 100,
        ...        "findings": {"Cardiomegaly": [(0.3, 0.5, 0.7, 0.7)]}}
        >>> [(r.id, r.target) for r in vindr_cxr_records(row)]  # doctest: +NORMALIZE_WHITESPACE
        [('vindr_cxr/abnormality_grounding/ab/Cardiomegaly', 'Cardiomegaly'),
         ('vindr_cxr/detection/ab', 'Cardiomegaly')]
    """
    src = vindr_cxr.SOURCE
    common = dict(
        image=row["image"],
        source=src,
        split=row["split"],
        patient_id=row["image_id"],
        meta={"image_id": row["image_id"], "rows": row["rows"], "columns": row["columns"]},
    )
    out: list[Record] = []
    for task in tasks:
        if task == Task.ABNORMALITY_GROUNDING.value:
            for name, boxes in row["findings"].items():
                key = f"{row['image_id']}/{name}"
                out.append(
                    grounding_record(
                        record_id(src, task, key, repeat),
                        Task(task),
                        name,
                        boxes,
                        rng_for(seed, src, task, key, repeat),
                        **common,
                    )
                )
        elif task == Task.DETECTION.value:
            out.append(
                detection_record(
                    record_id(src, task, row["image_id"], repeat),
                    list(row["findings"].items()),
                    rng_for(seed, src, task, row["image_id"], repeat),
                    **common,
                )
            )
        else:
            raise _unsupported(src, task, "abnormality_grounding, detection")
    return out


def ms_cxr_records(
    row: RawRow,
    tasks: Sequence[str] = ("phrase_grounding",),
    seed: int = 0,
    repeat: int = 0,
    drops: DropCounter | None = None,
) -> list[Record]:
    """Phrase-grounding record of one MS-CXR (image, phrase) group (a row of
    :func:`radgrpo.data.sources.ms_cxr.iter_rows`; the key is ``<dicom_id>/<phrase>``).

    Args:
        row: the raw row.
        tasks: only ``"phrase_grounding"``.
        seed: template seed.
        repeat: repetition index.
        drops: unused (uniform signature).

    Returns:
        One record; ``target`` = the phrase, ``reference_boxes`` = all its boxes.

    Example:
        >>> row = {"dicom_id": "d", "phrase": "Left effusion", "category": "Pleural effusion", "split": "train",
        ...        "boxes": [(0.6, 0.6, 0.9, 0.8)], "image": "/x.jpg", "path": "files/p10/p1/s5/d.jpg",
        ...        "subject_id": "1"}
        >>> ms_cxr_records(row)[0].reference_boxes
        [(0.6, 0.6, 0.9, 0.8)]
    """
    src = ms_cxr.SOURCE
    out = []
    for task in tasks:
        if task != Task.PHRASE_GROUNDING.value:
            raise _unsupported(src, task, "phrase_grounding")
        key = f"{row['dicom_id']}/{row['phrase']}"
        out.append(
            phrase_record(
                record_id(src, task, key, repeat),
                row["phrase"],
                row["boxes"],
                rng_for(seed, src, task, key, repeat),
                image=row["image"],
                source=src,
                split=row["split"],
                patient_id=row["subject_id"],
                meta={"dicom_id": row["dicom_id"], "category": row["category"]},
            )
        )
    return out


def padchest_gr_records(
    row: RawRow,
    tasks: Sequence[str] = ("phrase_grounding",),
    seed: int = 0,
    repeat: int = 0,
    drops: DropCounter | None = None,
) -> list[Record]:
    """Phrase-grounding records of one PadChest-GR image, one per sentence with non-empty boxes (a row of
    :func:`radgrpo.data.sources.padchest_gr.iter_rows`; the key of sentence j is ``<image_id>/<j>``).

    Args:
        row: the raw row.
        tasks: only ``"phrase_grounding"``.
        seed: template seed.
        repeat: repetition index.
        drops: unused (uniform signature).

    Returns:
        The records, in sentence order.

    Example:
        >>> row = {"image_id": "a.png", "study_id": "s", "patient_id": "p", "split": "train", "sex": "F",
        ...        "image": "/a.png", "findings": [{"phrase": "Cardiomegaly.", "boxes": [(0.3, 0.4, 0.8, 0.7)],
        ...        "abnormal": True}, {"phrase": "No effusion.", "boxes": [], "abnormal": False}]}
        >>> [(r.id, r.target) for r in padchest_gr_records(row)]
        [('padchest_gr/phrase_grounding/a.png/0', 'Cardiomegaly.')]
    """
    src = padchest_gr.SOURCE
    out = []
    for task in tasks:
        if task != Task.PHRASE_GROUNDING.value:
            raise _unsupported(src, task, "phrase_grounding")
        for j, fd in enumerate(row["findings"]):
            if not fd["boxes"]:
                continue
            key = f"{row['image_id']}/{j}"
            out.append(
                phrase_record(
                    record_id(src, task, key, repeat),
                    fd["phrase"],
                    fd["boxes"],
                    rng_for(seed, src, task, key, repeat),
                    image=row["image"],
                    source=src,
                    split=row["split"],
                    patient_id=row["patient_id"],
                    meta={"image_id": row["image_id"], "study_id": row["study_id"], "sex": row["sex"]},
                )
            )
    return out


#: Source name -> its row builder ``(row, tasks, seed=0, repeat=0, drops=None, **options) -> list[Record]``.
SOURCE_BUILDERS: dict[str, Callable[..., list[Record]]] = {
    mimic_cxr.SOURCE: mimic_cxr_records,
    chexpert.SOURCE: chexpert_records,
    chexpert_plus.SOURCE: chexpert_plus_records,
    chest_imagenome.SOURCE: chest_imagenome_records,
    vindr_cxr.SOURCE: vindr_cxr_records,
    ms_cxr.SOURCE: ms_cxr_records,
    padchest_gr.SOURCE: padchest_gr_records,
}


def records_of_row(
    source: str,
    row: RawRow,
    tasks: Sequence[str],
    seed: int = 0,
    repeat: int = 0,
    drops: DropCounter | None = None,
    **options: Any,
) -> list[Record]:
    """The records of one raw row of ``source`` for ``tasks`` (dispatch over :data:`SOURCE_BUILDERS`).

    Args:
        source: a key of :data:`SOURCE_BUILDERS` (``"mimic_cxr"`` ...).
        row: a raw row from that source's ``iter_rows``.
        tasks: task values the source supports.
        seed: template seed.
        repeat: repetition index (``#<repeat>`` in the id when > 0).
        drops: counts records a task could not make.
        **options: source-specific options (``conversation_dir`` for MIMIC-CXR).

    Returns:
        The records.

    Raises:
        ValueError: an unknown source or a task the source does not support.

    Example:
        >>> records_of_row("nih", {}, ())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: unknown source 'nih'; valid: ['chest_imagenome', ...]
    """
    builder = SOURCE_BUILDERS.get(source)
    if builder is None:
        raise ValueError(f"unknown source {source!r}; valid: {sorted(SOURCE_BUILDERS)}")
    return builder(row, tasks, seed=seed, repeat=repeat, drops=drops, **options)
