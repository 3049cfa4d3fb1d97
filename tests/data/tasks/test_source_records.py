"""Records from real-layout fixtures: RadVLM template strings, box strings that parse back to the reference boxes,
per-item determinism, and the verbatim template pools (counts and spot checks; docs/method.md#prompts).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/tasks/test_source_records.py
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures"))

from grounding_layouts import write_chest_imagenome, write_padchest_gr, write_vindr
from source_layouts import write_chexpert, write_mimic

from radgrpo.boxes import parse_boxes
from radgrpo.data import prompts as T
from radgrpo.data.sources import chest_imagenome, chexpert, mimic_cxr, padchest_gr, vindr_cxr
from radgrpo.data.sources.common import DropCounter
from radgrpo.data.tasks import source_records as sr
from radgrpo.records import Task


def _r2(boxes):
    return [tuple(round(v, 2) for v in b) for b in boxes]


def test_template_pools_verbatim():
    assert [
        len(p)
        for p in (
            T.REPORT_QUESTIONS,
            T.PHRASE_QUESTIONS,
            T.PHRASE_ANSWERS,
            T.GROUNDING_QUESTIONS,
            T.GROUNDING_ANSWERS,
            T.DETECTION_QUESTIONS,
            T.DETECTION_PREFIXES,
            T.NO_LESION_ANSWERS,
            T.CLASSIFICATION_QUESTIONS,
            T.CLASSIFICATION_PREFIXES_MANY,
            T.CLASSIFICATION_PREFIXES_ONE,
            T.CLASSIFICATION_NONE,
        )
    ] == [15, 8, 8, 20, 20, 10, 10, 10, 11, 5, 5, 7]
    assert "The {}'s  location is at {} on the Chest X-ray." in T.GROUNDING_ANSWERS  # [sic] two spaces
    assert T.CLASSIFICATION_PREFIXES_ONE.count("Yes, there is one abnormality identified:") == 2
    assert "Tell me about abnormalities on this image" in T.CLASSIFICATION_QUESTIONS  # no period
    assert T.DETECTION_PREFIXES[-1] == "From the examination, it's evident there are"


def test_detection_answer_exact_string():
    rng = random.Random(0)
    prefix = random.Random(0).choice(T.DETECTION_PREFIXES)
    got = T.detection_answer(
        [
            ("Cardiomegaly", [(0.35, 0.51, 0.75, 0.64)]),
            ("Pleural effusion", [(0.7, 0.6, 0.9, 0.82), (0.1, 0.6, 0.3, 0.8)]),
        ],
        rng,
    )
    assert got == (
        f"{prefix} a cardiomegaly located at the coordinates [0.35, 0.51, 0.75, 0.64]; a pleural effusion "
        f"located at the coordinates [0.7, 0.6, 0.9, 0.82] and [0.1, 0.6, 0.3, 0.8]."
    )


def test_mimic_records_and_determinism(tmp_path):
    write_mimic(tmp_path)
    rows = list(mimic_cxr.iter_rows(tmp_path, DropCounter(), require_report=True))
    recs = [r for row in rows for r in sr.mimic_cxr_records(row, ("report_generation", "classification"))]
    assert len(recs) == 2 * len(rows)
    for rep, cls in zip(recs[::2], recs[1::2]):
        assert rep.task is Task.REPORT_GENERATION and rep.answer == rep.reference_report
        assert rep.question in T.REPORT_QUESTIONS
        positives = [p.lower() for p in T_sorted13() if cls.labels.get(p) == 1]
        if positives:
            assert cls.answer.endswith(T_join(positives) + ".")
        else:
            assert cls.answer in T.CLASSIFICATION_NONE
    again = [
        r
        for row in reversed(rows)
        for r in sr.records_of_row("mimic_cxr", row, ("report_generation", "classification"))
    ]
    assert sorted((r.id, r.question, r.answer) for r in again) == sorted((r.id, r.question, r.answer) for r in recs)
    r1 = sr.mimic_cxr_records(rows[0], ("report_generation",), repeat=1)[0]
    assert r1.id == recs[0].id + "#1"  # the one id scheme: "<source>/<task>/<key>" + "#<k>" for the k-th repeat
    assert recs[0].id == f"mimic_cxr/report_generation/{rows[0]['dicom_id']}"


def T_sorted13():
    from radgrpo.data.sources.common import RADVLM_PATHOLOGIES

    return RADVLM_PATHOLOGIES


def T_join(items):
    from radgrpo.boxes import join_items

    return join_items(items)


def test_chexpert_records(tmp_path):
    write_chexpert(tmp_path)
    recs = [r for row in chexpert.iter_rows(tmp_path, DropCounter()) for r in sr.chexpert_records(row)]
    nf = next(r for r in recs if "patient00001" in r.id)
    assert "edema" not in nf.answer and "support devices" in nf.answer  # No Finding zeroes all but devices


def test_grounding_records_parse_back(tmp_path):
    mimic = write_mimic(tmp_path / "mimic", awkward=False)
    write_chest_imagenome(tmp_path / "ci", mimic["frontal_meta"])
    write_vindr(tmp_path / "vindr")
    write_padchest_gr(tmp_path / "pc")
    recs = []
    for row in chest_imagenome.iter_rows(tmp_path / "ci", tmp_path / "mimic", DropCounter()):
        recs += sr.chest_imagenome_records(row, seed=4)
        assert row["regions"] and recs[-1].target in dict(row["regions"])
    vindr_rows = list(vindr_cxr.iter_rows(tmp_path / "vindr", DropCounter()))
    for row in vindr_rows:
        recs += sr.vindr_cxr_records(row)
    for row in padchest_gr.iter_rows(tmp_path / "pc", DropCounter()):
        recs += sr.padchest_gr_records(row)
    assert {r.task for r in recs} == {
        Task.ANATOMICAL_GROUNDING,
        Task.ABNORMALITY_GROUNDING,
        Task.DETECTION,
        Task.PHRASE_GROUNDING,
    }
    for r in recs:
        assert parse_boxes(r.answer) == _r2(r.reference_boxes), r.answer
        assert all(0 <= v <= 1 for b in r.reference_boxes for v in b)
    normal = [r for r in recs if r.task is Task.DETECTION and not r.reference_boxes]
    assert len(normal) == 1 and normal[0].answer in T.NO_LESION_ANSWERS
    # a repeat may draw another region, but the same (seed, image, repeat) always draws the same one
    row = next(chest_imagenome.iter_rows(tmp_path / "ci", tmp_path / "mimic", DropCounter()))
    picks = {sr.chest_imagenome_records(row, seed=0, repeat=k)[0].target for k in range(20)}
    assert len(picks) > 1
    assert (
        sr.chest_imagenome_records(row, seed=0, repeat=3)[0].target
        == sr.chest_imagenome_records(row, seed=0, repeat=3)[0].target
    )


def test_one_record_id_scheme_for_every_source(tmp_path):
    mimic = write_mimic(tmp_path / "mimic", awkward=False)
    write_chest_imagenome(tmp_path / "ci", mimic["frontal_meta"])
    write_vindr(tmp_path / "vindr")
    write_padchest_gr(tmp_path / "pc")
    rows = {
        "chest_imagenome": list(chest_imagenome.iter_rows(tmp_path / "ci", tmp_path / "mimic", DropCounter())),
        "vindr_cxr": list(vindr_cxr.iter_rows(tmp_path / "vindr", DropCounter())),
        "padchest_gr": list(padchest_gr.iter_rows(tmp_path / "pc", DropCounter())),
    }
    tasks = {
        "chest_imagenome": ("anatomical_grounding",),
        "vindr_cxr": ("abnormality_grounding", "detection"),
        "padchest_gr": ("phrase_grounding",),
    }
    for source, rs in rows.items():
        first = [r for row in rs for r in sr.records_of_row(source, row, tasks[source])]
        second = [r for row in rs for r in sr.records_of_row(source, row, tasks[source], repeat=2)]
        assert first and len({r.id for r in first}) == len(first)
        assert [r.id + "#2" for r in first] == [r.id for r in second]
        assert all(r.id.count("#") == 0 and r.id.startswith(f"{source}/{r.task.value}/") for r in first)
    pc = rows["padchest_gr"][0]
    sentences = [j for j, fd in enumerate(pc["findings"]) if fd["boxes"]]
    assert [r.id for r in sr.padchest_gr_records(pc)] == [
        f"padchest_gr/phrase_grounding/{pc['image_id']}/{j}" for j in sentences
    ]  # sentence j: "<image>/<j>"
    # the RNG of a record is a function of (seed, source, task, key, repeat): same inputs, same strings
    a, b = sr.padchest_gr_records(pc, seed=3, repeat=1), sr.padchest_gr_records(pc, seed=3, repeat=1)
    assert [(r.question, r.answer) for r in a] == [(r.question, r.answer) for r in b]


def test_records_of_row_rejects_unknown_sources_and_tasks():
    with pytest.raises(ValueError, match="unknown source 'nih'"):
        sr.records_of_row("nih", {}, ())
    row = {"path": "p", "image": "/x.jpg", "split": "train", "patient_id": "p", "view": "AP", "labels": {}}
    with pytest.raises(ValueError, match="chexpert: unsupported task 'detection'; valid: classification"):
        sr.records_of_row("chexpert", row, ("detection",))
