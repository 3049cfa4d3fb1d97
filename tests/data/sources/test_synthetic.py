"""Synthetic chest X-ray source: determinism, box geometry and laterality, findings visible in their boxes against the
normal twin, report/label consistency, record answers that parse back to the reference boxes. The command
``radgrpo data synth``: tests/cli/test_data_synth.py.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/data/sources/test_synthetic.py
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from radgrpo.boxes import parse_boxes
from radgrpo.data.sources import synthetic_draw as draw
from radgrpo.data.sources.synthetic import (
    SynthConfig,
    SynthFinding,
    choose_findings,
    draw_study,
    finding_sentence,
    study_labels,
    write_report,
)
from radgrpo.data.synth import study_records
from radgrpo.records import CHEXPERT_LABELS, Task

ALL = list(draw.SUPPORTED_FINDINGS)
ALL_TASKS = [
    "report_generation",
    "abnormality_grounding",
    "anatomical_grounding",
    "classification",
    "detection",
    "phrase_grounding",
]
NOISE_GREY = draw.NOISE_SIGMA * 255.0


def _cfg(**kw) -> SynthConfig:
    return SynthConfig(**{"out": "unused", "findings": ALL, "normal_fraction": 0.1, **kw})


@pytest.fixture(scope="module")
def studies():
    """200 studies with all six findings enabled, at 256²."""
    cfg = _cfg()
    return [draw_study(i, cfg) for i in range(200)]


def test_same_seed_same_study_and_different_seed_differs():
    cfg = _cfg()
    a, b = draw_study(17, cfg), draw_study(17, cfg)
    assert a.image.tobytes() == b.image.tobytes()
    assert (a.report, a.labels, a.findings) == (b.report, b.labels, b.findings)
    assert draw_study(18, cfg).image.tobytes() != a.image.tobytes()
    assert draw_study(17, dataclasses.replace(cfg, seed=1)).image.tobytes() != a.image.tobytes()


def test_image_is_a_chest_phantom():
    """Dark air at the corners, darker lungs than the mediastinum, uint8 of the configured size."""
    cfg = _cfg(image_size=128)
    s = draw_study(0, cfg)
    anat = draw.sample_anatomy(np.random.default_rng([0, 0, 0]))
    img = s.image.astype(float)
    lungs = draw.lung_masks(anat, 128)
    assert s.image.shape == (128, 128) and s.image.dtype == np.uint8
    assert img[:4, :4].mean() < 40  # air
    mid = img[40:70, 62:66].mean()  # mediastinum column
    for side in ("right", "left"):
        assert img[lungs[side]].mean() < mid - 60
    # the patient's right lung is on the image left
    assert np.flatnonzero(lungs["right"].any(0)).mean() < 64 < np.flatnonzero(lungs["left"].any(0)).mean()


def test_boxes_are_valid_and_inside_the_body(studies):
    n = 0
    for s in studies:
        bx1, by1, bx2, by2 = s.body_box
        for f in s.findings:
            assert len(f.boxes) == (2 if f.side == "bilateral" else 1)
            for x1, y1, x2, y2 in f.boxes:
                n += 1
                assert 0.0 <= x1 < x2 <= 1.0 and 0.0 <= y1 < y2 <= 1.0
                assert bx1 <= x1 and x2 <= bx2 and by1 <= y1 and y2 <= by2
                if f.name in ("nodule", "consolidation", "pleural effusion", "pneumothorax", "cardiomegaly"):
                    assert x2 - x1 >= 0.08, (f.name, x2 - x1)  # large enough for a 64-token view
    assert n > 150


def test_laterality_matches_box_centre_and_text(studies):
    seen = set()
    for s in studies:
        for f in s.findings:
            cxs = [(b[0] + b[2]) / 2 for b in f.boxes]
            if f.side == "right":
                assert cxs[0] < 0.5
            elif f.side == "left":
                assert cxs[0] > 0.5
            elif f.side == "bilateral":
                assert sorted(c < 0.5 for c in cxs) == [False, True]
            if f.side:
                assert f.side in s.sentences[f.name] and f.side in s.report
                seen.add(f.side)
    assert seen == {"right", "left", "bilateral"}


@pytest.mark.parametrize("name", ALL)
def test_finding_changes_its_box_against_the_normal_twin(name):
    """Mean grey level inside each box differs from the same region of the twin (finding removed) by > 3 sigma."""
    cfg = _cfg(findings=[name], normal_fraction=0.0, second_finding_prob=0.0)
    sign = -1 if name == "pneumothorax" else 1
    for seed in range(6):
        s = draw_study(seed, cfg)
        twin = draw_study(seed, cfg, drop=(name,))
        assert [f.name for f in s.findings] == [name] and twin.findings == []
        size = cfg.image_size
        for x1, y1, x2, y2 in s.findings[0].boxes:
            sl = (slice(round(y1 * size), round(y2 * size)), slice(round(x1 * size), round(x2 * size)))
            diff = s.image[sl].astype(float).mean() - twin.image[sl].astype(float).mean()
            assert sign * diff > 3 * NOISE_GREY, (name, seed, diff)
        # outside the finding's boxes (and a 3 px margin for the blur) the image is unchanged, except the heart
        if name != "cardiomegaly":
            outside = np.ones((size, size), bool)
            for x1, y1, x2, y2 in s.findings[0].boxes:
                outside[
                    max(0, round(y1 * size) - 3) : round(y2 * size) + 3,
                    max(0, round(x1 * size) - 3) : round(x2 * size) + 3,
                ] = False
            assert np.array_equal(s.image[outside], twin.image[outside])


def test_normal_twin_report_and_labels():
    cfg = _cfg(findings=["pneumothorax"], normal_fraction=0.0, second_finding_prob=0.0)
    twin = draw_study(3, cfg, drop=("pneumothorax",))
    assert twin.labels == {
        "Cardiomegaly": 0,
        "Consolidation": 0,
        "Pneumothorax": 0,
        "Pleural Effusion": 0,
        "No Finding": 1,
    }
    assert "pneumothorax" in twin.report and "No " in twin.report


def test_labels_follow_the_findings(studies):
    for s in studies:
        names = {f.name for f in s.findings}
        assert set(s.labels) <= set(CHEXPERT_LABELS)
        assert (s.labels.get("Cardiomegaly") == 1) == ("cardiomegaly" in names)
        assert (s.labels.get("Enlarged Cardiomediastinum") == 1) == ("cardiomegaly" in names)
        assert (s.labels.get("Lung Lesion") == 1) == ("nodule" in names)
        assert (s.labels.get("Lung Opacity") == 1) == bool(names & {"consolidation", "atelectasis"})
        assert (s.labels.get("No Finding") == 1) == (not names)
        for name, lab in (
            ("pleural effusion", "Pleural Effusion"),
            ("pneumothorax", "Pneumothorax"),
            ("consolidation", "Consolidation"),
        ):
            assert s.labels[lab] == (1 if name in names else 0)


def test_report_sentences_hand_checked():
    import random

    f = SynthFinding("consolidation", "left", "lower", "moderate", [])
    assert {finding_sentence(f, random.Random(k)) for k in range(20)} == {
        "Moderate focal consolidation in the left lower lung zone.",
        "There is a moderate focal consolidation in the left lower lung zone.",
    }
    sentences, report = write_report([SynthFinding("pneumothorax", "right", "apical", "small", [])], random.Random(0))
    assert report.endswith(sentences["pneumothorax"] + " No pleural effusion.")
    assert "compar" not in report and "prior" not in report and "unchanged" not in report
    assert study_labels([f]) == {
        "Lung Opacity": 1,
        "Consolidation": 1,
        "Cardiomegaly": 0,
        "Pneumothorax": 0,
        "Pleural Effusion": 0,
    }


def test_choose_findings_rates():
    cfg = _cfg(findings=list(SynthConfig().findings))
    rng = np.random.default_rng(0)
    draws = [choose_findings(cfg, rng) for _ in range(4000)]
    normal = sum(not d for d in draws) / len(draws)
    two = sum(len(d) == 2 for d in draws) / sum(bool(d) for d in draws)
    assert abs(normal - 0.1) < 0.02 and abs(two - 0.35) < 0.03
    assert all(len(set(d)) == len(d) for d in draws)


def test_records_answers_parse_back_to_reference_boxes(studies):
    cfg = _cfg(tasks=ALL_TASKS, grounding_per_study=2)
    seen = set()
    for i, s in enumerate(studies[:60]):
        recs = study_records(s, f"train-{i:06d}", "train", cfg)
        assert recs[0].task is Task.REPORT_GENERATION and recs[0].answer == s.report
        for r in recs:
            seen.add(r.task)
            assert r.image == f"images/train-{i:06d}.png" and r.source == "synthetic" and r.labels == s.labels
            if r.task.is_grounding:
                want = [tuple(round(v, 2) for v in b) for b in r.reference_boxes]
                assert parse_boxes(r.answer) == want
        n_ground = sum(r.task is Task.ABNORMALITY_GROUNDING for r in recs)
        assert n_ground == min(2, len(s.findings))
        (anat,) = [r for r in recs if r.task is Task.ANATOMICAL_GROUNDING]
        assert anat.reference_boxes == [tuple(round(v, 4) for v in s.regions[anat.target])]
        if not s.findings:
            assert not any(r.task in (Task.ABNORMALITY_GROUNDING, Task.PHRASE_GROUNDING) for r in recs)
    assert seen == {Task(t) for t in ALL_TASKS}


def test_grounding_record_targets_and_boxes_match_the_finding():
    cfg = _cfg(findings=["pleural effusion"], normal_fraction=0.0, second_finding_prob=0.0)
    s = next(s for s in (draw_study(i, cfg) for i in range(50)) if s.findings[0].side == "bilateral")
    (g,) = [r for r in study_records(s, "x", "test", cfg) if r.task is Task.ABNORMALITY_GROUNDING]
    assert g.target == "pleural effusion" and len(g.reference_boxes) == 2
    assert g.reference_boxes == [tuple(round(v, 4) for v in b) for b in s.findings[0].boxes]
    assert "pleural effusion" in g.question and g.reference_report == s.report


def test_config_rejects_unknown_values():
    with pytest.raises(ValueError, match="supported"):
        SynthConfig(findings=["edema"])
    with pytest.raises(ValueError, match="tasks"):
        SynthConfig(tasks=["conversation"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SynthConfig(normal_fraction=1.5)
    with pytest.raises(ValueError, match="anatomical_per_study"):
        SynthConfig(anatomical_per_study=-1)
