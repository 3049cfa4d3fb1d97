"""``rule_chexpert`` labeller: hand-labelled sentences (negation, uncertainty, implications, No Finding), the label
matrix layout, and exact recovery of the synthetic generator's labels on 300 reports.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_rule_labeler.py
"""

from __future__ import annotations

import numpy as np
import pytest

from radgrpo.data.sources.synthetic import SynthConfig, draw_study
from radgrpo.data.sources.synthetic_draw import SUPPORTED_FINDINGS
from radgrpo.metrics.text.rule_labeler import (
    METRIC_NAME,
    label_report,
    rule_chexpert_micro_f1,
    rule_chexpert_sample_f1,
    rule_labels_matrix,
)
from radgrpo.records import CHEXPERT_5_LABELS, CHEXPERT_LABELS


@pytest.mark.parametrize(
    "text, want",
    [
        ("No pleural effusion or pneumothorax.", {"Pneumothorax": 0, "Pleural Effusion": 0, "No Finding": 1}),
        ("The lungs are clear without focal consolidation.", {"Consolidation": 0, "No Finding": 1}),
        ("The costophrenic angles are free of effusion.", {"Pleural Effusion": 0, "No Finding": 1}),
        ("Cannot exclude a small left pneumothorax.", {"Pneumothorax": -1}),
        ("Small right effusion may be present.", {"Pleural Effusion": -1}),
        ("Possible right lower lobe pneumonia.", {"Lung Opacity": -1, "Pneumonia": -1}),
        ("Moderate cardiomegaly.", {"Enlarged Cardiomediastinum": 1, "Cardiomegaly": 1}),
        ("The heart is not enlarged.", {"Cardiomegaly": 0, "No Finding": 1}),
        ("The heart is mildly enlarged.", {"Enlarged Cardiomediastinum": 1, "Cardiomegaly": 1}),
        (
            "Normal heart size. Plate-like atelectasis at the left lung base.",
            {"Cardiomegaly": 0, "Lung Opacity": 1, "Atelectasis": 1},
        ),
        ("Large nodule in the right upper lung zone.", {"Lung Lesion": 1}),
        ("Right internal jugular catheter terminates in the SVC.", {"Support Devices": 1, "No Finding": 1}),
        # positive beats uncertain beats negative across sentences
        ("No pneumothorax. Small right apical pneumothorax.", {"Pneumothorax": 1}),
        ("No effusion. Possible effusion on the left.", {"Pleural Effusion": -1}),
        # a negated mention stays negative in a hedged sentence
        ("Possible small left pneumothorax without pleural effusion.", {"Pneumothorax": -1, "Pleural Effusion": 0}),
        # a cue after the mention does not negate it
        (
            "Cardiomegaly without pleural effusion.",
            {"Enlarged Cardiomediastinum": 1, "Cardiomegaly": 1, "Pleural Effusion": 0},
        ),
        # a negation cue does not reach past a clause break ("but", "however", "although")
        ("There is no pneumothorax, but a small left effusion.", {"Pneumothorax": 0, "Pleural Effusion": 1}),
        ("No consolidation, however there is a small nodule.", {"Consolidation": 0, "Lung Lesion": 1}),
        (
            "No effusion, although there is no pneumothorax either.",
            {"Pneumothorax": 0, "Pleural Effusion": 0, "No Finding": 1},
        ),
        ("", {"No Finding": 1}),
    ],
)
def test_hand_labelled_sentences(text, want):
    got = label_report(text)
    assert got == want
    assert list(got) == [lab for lab in CHEXPERT_LABELS if lab in got]  # CheXpert order


def test_matrix_columns_are_chexpert_order_and_binary():
    m = rule_labels_matrix(["Moderate cardiomegaly. No pneumothorax.", "Cannot exclude pneumothorax.", "No effusion."])
    assert m.shape == (3, 14) and m.dtype == np.int64
    col = {lab: j for j, lab in enumerate(CHEXPERT_LABELS)}
    assert m[0].tolist() == [
        1 if j in (col["Cardiomegaly"], col["Enlarged Cardiomediastinum"]) else 0 for j in range(14)
    ]
    assert m[1].sum() == 0  # uncertain is not positive
    assert m[2].tolist() == [1 if j == col["No Finding"] else 0 for j in range(14)]
    assert rule_labels_matrix([]).shape == (0, 14)
    assert METRIC_NAME == "rule_chexpert"  # the stand-in's own name, never "chexbert"


def test_non_string_raises():
    with pytest.raises(TypeError, match="str"):
        label_report(None)  # type: ignore[arg-type]


def test_recovers_generator_labels_exactly_on_300_reports():
    cfg = SynthConfig(
        out="unused", image_size=32, findings=list(SUPPORTED_FINDINGS), normal_fraction=0.2, second_finding_prob=0.5
    )
    studies = [draw_study(i, cfg) for i in range(300)]
    assert all(label_report(s.report) == s.labels for s in studies)
    # every finding and both normal and two-finding studies were covered
    assert {f.name for s in studies for f in s.findings} == set(SUPPORTED_FINDINGS)
    assert any(not s.findings for s in studies) and any(len(s.findings) == 2 for s in studies)
    m = rule_labels_matrix([s.report for s in studies])
    want = np.array([[int(s.labels.get(lab) == 1) for lab in CHEXPERT_LABELS] for s in studies])
    assert np.array_equal(m, want)


def test_sample_and_micro_f1_hand_computed():
    preds = [
        "Moderate cardiomegaly. Small left pleural effusion.",  # EC, Cardiomegaly, Effusion
        "Normal heart size. No pneumothorax.",  # No Finding
        "Right apical pneumothorax.",
    ]  # Pneumothorax
    refs = [
        "Moderate cardiomegaly. No pleural effusion.",  # EC, Cardiomegaly
        "Normal heart size.",  # No Finding
        "Small left pleural effusion.",
    ]  # Effusion
    # sample 1: |P|=3, |G|=2, overlap 2 -> 4/5; sample 2: 1; sample 3: no overlap -> 0
    assert rule_chexpert_sample_f1(preds, refs) == [0.8, 1.0, 0.0]
    # 14 labels: TP = EC, Card, NoFinding = 3; FP = Effusion(1), Pneumothorax(3) = 2; FN = Effusion(3) = 1
    assert rule_chexpert_micro_f1(preds, refs) == pytest.approx(6 / 9)
    # 5 labels: TP = Cardiomegaly; FP = Effusion(1); FN = Effusion(3) -> 2 / 4
    assert rule_chexpert_micro_f1(preds, refs, labels=CHEXPERT_5_LABELS) == pytest.approx(0.5)
    assert rule_chexpert_micro_f1(["No effusion."], ["No pneumothorax."], labels=CHEXPERT_5_LABELS) == 0.0
    with pytest.raises(ValueError, match="predictions vs"):
        rule_chexpert_sample_f1(["a"], [])
    with pytest.raises(ValueError, match="unknown label"):
        rule_chexpert_micro_f1(["a"], ["b"], labels=("Edemaa",))
