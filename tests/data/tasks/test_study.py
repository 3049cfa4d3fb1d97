"""Per-task record builders over a Study (radgrpo.data.tasks): ids, targets, reference boxes and report, exact answer
strings from the template pools, per-record seeding independent of study order, per-study picks, bad input errors.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/tasks/test_study.py
"""

from __future__ import annotations

import pytest

from radgrpo.boxes import format_boxes, parse_boxes
from radgrpo.data import prompts as P
from radgrpo.data.tasks import (
    STUDY_TASKS,
    Study,
    StudyFinding,
    abnormality_grounding_records,
    anatomical_grounding_records,
    build_study_records,
    classification_records,
    detection_records,
    phrase_grounding_records,
    report_generation_records,
    study_rng,
)
from radgrpo.records import Task

REPORT = "Moderate cardiomegaly. No focal consolidation. Small bilateral pleural effusions. No pneumothorax."
EFF = [(0.1, 0.6, 0.4, 0.8), (0.6, 0.62, 0.9, 0.81)]
HEART = (0.35, 0.51, 0.75, 0.64)


def _study(key: str = "s1", **kw) -> Study:
    base = dict(
        key=key,
        image=f"images/{key}.png",
        source="synthetic",
        split="train",
        report=REPORT,
        labels={
            "Cardiomegaly": 1,
            "Enlarged Cardiomediastinum": 1,
            "Pleural Effusion": 1,
            "Pneumothorax": 0,
            "Consolidation": 0,
        },
        findings=[
            StudyFinding("cardiomegaly", [HEART], "Moderate cardiomegaly."),
            StudyFinding("pleural effusion", EFF, "Small bilateral pleural effusions."),
        ],
        regions={
            "right lung": (0.15, 0.2, 0.45, 0.75),
            "left lung": (0.55, 0.2, 0.85, 0.77),
            "trachea": (0.48, 0.05, 0.52, 0.33),
        },
        meta={"study": key},
    )
    return Study(**{**base, **kw})


def test_report_record():
    (r,) = report_generation_records(_study(), seed=3)
    assert (r.id, r.task, r.answer, r.reference_report) == (
        "synthetic/report_generation/s1",
        Task.REPORT_GENERATION,
        REPORT,
        REPORT,
    )
    assert r.question == study_rng(3, _study(), "report_generation").choice(P.REPORT_QUESTIONS)
    assert (r.image, r.patient_id, r.split, r.source) == ("images/s1.png", "s1", "train", "synthetic")


def test_abnormality_grounding_one_record_per_finding_with_all_boxes():
    recs = abnormality_grounding_records(_study(), seed=0)
    assert [(r.id, r.target, r.reference_boxes) for r in recs] == [
        ("synthetic/abnormality_grounding/s1", "cardiomegaly", [HEART]),
        ("synthetic/abnormality_grounding/s1#1", "pleural effusion", EFF),
    ]
    rng = study_rng(0, _study(), "abnormality_grounding", 1)
    q, a = rng.choice(P.GROUNDING_QUESTIONS), rng.choice(P.GROUNDING_ANSWERS)
    assert recs[1].question == q.format("pleural effusion")
    assert recs[1].answer == a.format("pleural effusion", "[0.1, 0.6, 0.4, 0.8] and [0.6, 0.62, 0.9, 0.81]")
    assert all(r.reference_report == REPORT and r.task is Task.ABNORMALITY_GROUNDING for r in recs)
    assert abnormality_grounding_records(_study(findings=[]), seed=0) == []


def test_per_study_pick_is_seeded_and_distinct():
    picks = {
        tuple(r.target for r in abnormality_grounding_records(_study(key=f"k{i}"), 0, per_study=1)) for i in range(40)
    }
    assert picks == {("cardiomegaly",), ("pleural effusion",)}  # both get picked across studies, one per study
    two = abnormality_grounding_records(_study(), 0, per_study=5)
    assert sorted(r.target for r in two) == ["cardiomegaly", "pleural effusion"]
    assert abnormality_grounding_records(_study(), 0, per_study=0) == []
    with pytest.raises(ValueError, match=">= 0"):
        abnormality_grounding_records(_study(), 0, per_study=-1)


def test_anatomical_grounding():
    recs = anatomical_grounding_records(_study(), seed=0, per_study=None)
    assert [(r.target, r.reference_boxes) for r in recs] == [
        ("right lung", [(0.15, 0.2, 0.45, 0.75)]),
        ("left lung", [(0.55, 0.2, 0.85, 0.77)]),
        ("trachea", [(0.48, 0.05, 0.52, 0.33)]),
    ]
    assert all(r.task is Task.ANATOMICAL_GROUNDING and parse_boxes(r.answer) == r.reference_boxes for r in recs)
    assert "right lung" in recs[0].question  # lowercase region names stay as they are
    (one,) = anatomical_grounding_records(_study(), seed=0, regions=["trachea"])
    assert one.answer.count("[0.48, 0.05, 0.52, 0.33]") == 1
    targets = {anatomical_grounding_records(_study(key=f"k{i}"), 0)[0].target for i in range(60)}
    assert targets == {"right lung", "left lung", "trachea"}
    with pytest.raises(KeyError, match="carina"):
        anatomical_grounding_records(_study(), 0, regions=["carina"])


def test_phrase_grounding_uses_the_sentence_without_period():
    recs = phrase_grounding_records(_study(), seed=1)
    assert [(r.target, r.reference_boxes) for r in recs] == [
        ("Moderate cardiomegaly", [HEART]),
        ("Small bilateral pleural effusions", EFF),
    ]
    rng = study_rng(1, _study(), "phrase_grounding", 1)
    assert recs[1].question == rng.choice(P.PHRASE_QUESTIONS).format("Small bilateral pleural effusions")
    assert recs[1].answer == rng.choice(P.PHRASE_ANSWERS).format(format_boxes(EFF))
    no_phrase = _study(findings=[StudyFinding("cardiomegaly", [HEART])])
    assert phrase_grounding_records(no_phrase, 1) == []


def test_classification_and_detection():
    (c,) = classification_records(_study(), seed=0)
    tail = " cardiomegaly, enlarged cardiomediastinum and pleural effusion."
    assert c.answer[: -len(tail)] in P.CLASSIFICATION_PREFIXES_MANY and c.answer.endswith(tail)
    assert c.target == "Cardiomegaly, Enlarged Cardiomediastinum, Pleural Effusion"
    (n,) = classification_records(_study(labels={"No Finding": 1}, findings=[]), seed=0)
    assert n.answer in P.CLASSIFICATION_NONE and n.target is None
    (d,) = detection_records(_study(), seed=0)
    prefix = study_rng(0, _study(), "detection")
    prefix.choice(P.DETECTION_QUESTIONS)
    assert d.answer == (
        f"{prefix.choice(P.DETECTION_PREFIXES)} a cardiomegaly located at the coordinates "
        "[0.35, 0.51, 0.75, 0.64]; a pleural effusion located at the coordinates [0.1, 0.6, 0.4, 0.8] "
        "and [0.6, 0.62, 0.9, 0.81]."
    )
    assert d.reference_boxes == [HEART, *EFF] and parse_boxes(d.answer) == [HEART, *EFF]
    (e,) = detection_records(_study(findings=[]), seed=0)
    assert e.answer in P.NO_LESION_ANSWERS and e.reference_boxes == []


def test_build_order_and_independence_of_study_order():
    studies = [_study(key=f"k{i}") for i in range(6)]
    forward = [r for s in studies for r in build_study_records(s, list(STUDY_TASKS), 9)]
    backward = [r for s in reversed(studies) for r in build_study_records(s, list(reversed(STUDY_TASKS)), 9)]
    assert sorted(forward, key=lambda r: r.id) == sorted(backward, key=lambda r: r.id)
    tasks = [r.task.value for r in build_study_records(studies[0], list(STUDY_TASKS), 9)]
    assert tasks == [
        "report_generation",
        "abnormality_grounding",
        "abnormality_grounding",
        "anatomical_grounding",
        "classification",
        "detection",
        "phrase_grounding",
        "phrase_grounding",
    ]
    # the dataset seed enters every record's RNG
    q9 = [build_study_records(s, ["report_generation"], 9)[0].question for s in studies]
    q10 = [build_study_records(s, ["report_generation"], 10)[0].question for s in studies]
    assert q9 != q10 and set(q9) | set(q10) <= set(P.REPORT_QUESTIONS)
    assert len({r.id for r in forward}) == len(forward)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="unknown study tasks"):
        build_study_records(_study(), ["conversation"], 0)
    with pytest.raises(ValueError, match="no report"):
        report_generation_records(_study(report="  "), 0)
    with pytest.raises(ValueError, match="unique"):
        _study(findings=[StudyFinding("nodule", [HEART]), StudyFinding("nodule", [HEART])])
    with pytest.raises(ValueError, match="no boxes"):
        _study(findings=[StudyFinding("nodule", [])])
