"""Truth metrics' row functions on hand-written truth lists: the truth sets (label map, bilateral -> right and left,
no side), finding F1 fields, recall per subtlety group, utility against the truth, the target's drawn boxes, and the
metric table's truth entries (references first, grounding ones equal to their metric on the drawn boxes).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/test_truth.py
"""

from __future__ import annotations

import pytest

from radgrpo.metrics.registry import get_metric, with_truth
from radgrpo.metrics.truth import (
    RECALL_TRUTH_KEYS,
    RULE_FINDING_TRUTH_KEYS,
    clinical_utility_truth_rows,
    recall_truth_rows,
    rule_finding_truth_rows,
    target_truth_boxes,
    truth_set,
)

PTX_LEFT_SUBTLE = {
    "finding": "pneumothorax",
    "side": "left",
    "severity": 0.1,
    "subtle": True,
    "boxes": [[0.6, 0.1, 0.8, 0.3]],
}
CARDIO = {"finding": "cardiomegaly", "side": None, "severity": 0.8, "subtle": False, "boxes": [[0.4, 0.5, 0.7, 0.8]]}
EFF_BILAT = {
    "finding": "pleural effusion",
    "side": "bilateral",
    "severity": 0.6,
    "subtle": False,
    "boxes": [[0.1, 0.6, 0.3, 0.8], [0.7, 0.6, 0.9, 0.8]],
}
NODULE_SUBTLE = {"finding": "nodule", "side": "right", "severity": 0.0, "subtle": True, "boxes": [[0.2, 0.3, 0.3, 0.4]]}

TRUTHS = [[PTX_LEFT_SUBTLE, CARDIO], [EFF_BILAT], [], [NODULE_SUBTLE, EFF_BILAT]]
HYPS = [
    "Mild cardiomegaly. Small left apical pneumothorax.",  # both named, on their sides
    "Small right pleural effusion.",  # bilateral truth: named, but only one side
    "Possible small nodule in the right mid lung zone.",  # nothing drawn: a false (hedged) nodule
    "No pleural effusion. Questionable thin left apical pleural line, suspicious for a small pneumothorax.",
]


def test_truth_sets():
    assert truth_set(TRUTHS[0]) == {"Pneumothorax", "Cardiomegaly"}
    assert truth_set(TRUTHS[0], side=True) == {("Pneumothorax", "left"), ("Cardiomegaly", None)}
    assert truth_set(TRUTHS[1], side=True) == {("Pleural Effusion", "right"), ("Pleural Effusion", "left")}
    assert truth_set([], side=True) == frozenset()
    for name, label in [("consolidation", "Consolidation"), ("atelectasis", "Atelectasis"), ("nodule", "Lung Lesion")]:
        assert truth_set([{"finding": name, "side": "right"}], side=True) == {(label, "right")}
    with pytest.raises(ValueError, match="unknown finding 'edema'"):
        truth_set([{"finding": "edema", "side": None}])
    with pytest.raises(ValueError, match="side must be"):
        truth_set([{"finding": "nodule", "side": "up"}])


def test_finding_f1_fields_against_the_truth():
    rows = rule_finding_truth_rows(TRUTHS, HYPS)
    assert all(list(r) == list(RULE_FINDING_TRUTH_KEYS) for r in rows)
    counts = [tuple(r[f"rule_finding_truth_{c}"] for c in ("tp", "fp", "fn")) for r in rows]
    side = [tuple(r[f"rule_finding_truth_side_{c}"] for c in ("tp", "fp", "fn")) for r in rows]
    # row 3: truth nodule + effusion; report names a (hedged) left pneumothorax, negates the effusion
    assert counts == [(2, 0, 0), (1, 0, 0), (0, 1, 0), (0, 1, 2)]
    assert side == [(2, 0, 0), (1, 0, 1), (0, 1, 0), (0, 1, 3)]
    assert rows[1]["rule_finding_truth_side_ref"] == ["Pleural Effusion|right", "Pleural Effusion|left"]
    assert rows[1]["rule_finding_truth_side_hyp"] == ["Pleural Effusion|right"]
    assert rows[0]["rule_finding_truth_ref"] == ["Cardiomegaly", "Pneumothorax"]
    assert rows[2]["rule_finding_truth_ref"] == [] and rows[2]["rule_finding_truth_hyp"] == ["Lung Lesion"]


def test_recall_per_subtlety_group():
    rows = recall_truth_rows(TRUTHS, HYPS)
    assert rows == [
        {
            "recall_truth_subtle_n": 1,
            "recall_truth_subtle_named": 1,
            "recall_truth_subtle_named_side": 1,
            "recall_truth_conspicuous_n": 1,
            "recall_truth_conspicuous_named": 1,
            "recall_truth_conspicuous_named_side": 1,
        },
        {
            "recall_truth_conspicuous_n": 1,
            "recall_truth_conspicuous_named": 1,
            "recall_truth_conspicuous_named_side": 0,
        },
        {},
        {
            "recall_truth_subtle_n": 1,
            "recall_truth_subtle_named": 0,
            "recall_truth_subtle_named_side": 0,
            "recall_truth_conspicuous_n": 1,
            "recall_truth_conspicuous_named": 0,
            "recall_truth_conspicuous_named_side": 0,
        },
    ]
    assert {k for r in rows for k in r} == set(RECALL_TRUTH_KEYS)
    # a missing subtle flag counts as conspicuous
    assert recall_truth_rows(
        [[{"finding": "nodule", "side": "left"}]], ["Small nodule in the left upper lung zone."]
    ) == [
        {"recall_truth_conspicuous_n": 1, "recall_truth_conspicuous_named": 1, "recall_truth_conspicuous_named_side": 1}
    ]


def test_utility_against_the_truth():
    rows = clinical_utility_truth_rows(TRUTHS, HYPS)
    # 0; wrong side of a bilateral effusion -2; false nodule -1; missed nodule -2, missed effusion -2, false ptx -1
    assert [r["clinical_utility_truth"] for r in rows] == [0.0, -2.0, -1.0, -5.0]
    assert (
        rows[3]["clinical_utility_truth/Pneumothorax"] == -1.0 and rows[3]["clinical_utility_truth/Lung Lesion"] == -2
    )
    free = clinical_utility_truth_rows(TRUTHS, HYPS, side=False, costs={"Lung Lesion": {"miss": 0.5}})
    assert [r["clinical_utility_truth"] for r in free] == [0.0, 0.0, -1.0, -3.5]
    with pytest.raises(ValueError, match="truth lists vs"):
        clinical_utility_truth_rows(TRUTHS, HYPS[:2])


def test_target_boxes_and_grounding_entries():
    truth = [CARDIO, EFF_BILAT]
    assert target_truth_boxes(truth, "pleural effusion") == [(0.1, 0.6, 0.3, 0.8), (0.7, 0.6, 0.9, 0.8)]
    assert target_truth_boxes(truth, "heart") is None and target_truth_boxes(None, "cardiomegaly") is None
    answer = "[0.1, 0.6, 0.3, 0.8]"
    boxes = target_truth_boxes(truth, "pleural effusion")
    for name in ("soft_f1", "soft_f1_dice", "ap_50", "matched_iou"):
        truth_spec = get_metric(f"{name}_truth")
        assert truth_spec.truth_of == name
        assert truth_spec.score([boxes], [answer]) == get_metric(name).score([boxes], [answer])
    assert get_metric("soft_f1_dice_truth").score([boxes], [answer]) == [pytest.approx(2 / 3)]  # 2·1 / (1 + 2)
    assert get_metric("matched_iou_truth").score([boxes], [answer]) == [pytest.approx(1.0)]


def test_table_entries_references_first():
    assert get_metric("rule_finding_f1_truth").score(TRUTHS, HYPS) == rule_finding_truth_rows(TRUTHS, HYPS)
    assert get_metric("recall_truth").score(TRUTHS, HYPS) == recall_truth_rows(TRUTHS, HYPS)
    assert get_metric("clinical_utility_truth").score(TRUTHS, HYPS, side=False) == clinical_utility_truth_rows(
        TRUTHS, HYPS, side=False
    )
    assert with_truth(["rule_finding_f1"]) == ["rule_finding_f1", "rule_finding_f1_truth", "recall_truth"]
    assert with_truth(["bleu4", "rougeL"]) == ["bleu4", "rougeL"]
    assert with_truth(["recall_truth"]) == ["recall_truth"]
