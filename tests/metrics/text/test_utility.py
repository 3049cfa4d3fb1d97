"""The declared clinical utility: its frozen cost table, the arithmetic on hand-written report pairs (miss, false,
wrong side, bilateral vs unilateral, hedged = named, unsided cardiomegaly), custom costs and their validation, the
decision thresholds, and the metric table's rows (per label terms adding up to the total).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_utility.py
"""

from __future__ import annotations

import pytest

from radgrpo.metrics.registry import get_metric
from radgrpo.metrics.report_labels import clinical_utility_rows
from radgrpo.metrics.text.rule_labeler import FINDING_LABELS
from radgrpo.metrics.text.utility import (
    UTILITY_COSTS,
    FindingCosts,
    check_costs,
    decision_thresholds,
    label_utilities,
    report_label_utilities,
    score_clinical_utility,
)


def test_declared_costs_are_frozen():
    # the project's declared utility: changing these numbers changes every published utility
    assert {
        "Pneumothorax": FindingCosts(3.0, 1.0, 3.0),
        "Pleural Effusion": FindingCosts(2.0, 1.0, 2.0),
        "Consolidation": FindingCosts(2.0, 1.0, 2.0),
        "Lung Lesion": FindingCosts(2.0, 1.0, 2.0),
        "Cardiomegaly": FindingCosts(1.5, 1.0, 1.5),
        "Atelectasis": FindingCosts(1.5, 1.0, 1.5),
    } == UTILITY_COSTS
    assert set(UTILITY_COSTS) == set(FINDING_LABELS)
    assert all(c.wrong_side == c.miss and c.false == 1.0 for c in UTILITY_COSTS.values())


def test_decision_thresholds():
    t = decision_thresholds()
    assert t == pytest.approx(
        {
            "Pneumothorax": 0.25,
            "Pleural Effusion": 1 / 3,
            "Consolidation": 1 / 3,
            "Lung Lesion": 1 / 3,
            "Cardiomegaly": 0.4,
            "Atelectasis": 0.4,
        }
    )
    # name L exactly when p * miss > (1 - p) * false
    for label, c in UTILITY_COSTS.items():
        p = t[label]
        assert p * c.miss == pytest.approx((1 - p) * c.false)
    assert decision_thresholds({"Pneumothorax": {"miss": 9}})["Pneumothorax"] == pytest.approx(0.1)
    assert decision_thresholds({"Atelectasis": {"miss": 0, "false": 0}})["Atelectasis"] == 1.0


# (reference, prediction, side-aware utility, side-free utility), worked out by hand from the table
PAIRS = [
    # nothing to find, nothing named
    ("The heart size is normal. No pleural effusion. No pneumothorax.", "Normal heart size. No pneumothorax.", 0, 0),
    # a missed pneumothorax: -3
    ("Small left apical pneumothorax.", "No pneumothorax.", -3.0, -3.0),
    # a false consolidation: -1
    ("No focal consolidation.", "Small focal consolidation in the right lower lung zone.", -1.0, -1.0),
    # wrong side: -miss side-aware, 0 side-free
    ("Small left pleural effusion.", "Small right pleural effusion.", -2.0, 0.0),
    # bilateral vs unilateral is a wrong side either way round
    ("Small bilateral pleural effusions.", "Small left pleural effusion.", -2.0, 0.0),
    ("Small right apical pneumothorax.", "Bilateral pneumothoraces.", -3.0, 0.0),
    # a hedged mention names its finding (on its side), in the reference and in the prediction
    ("Possible small left pleural effusion.", "Small left pleural effusion.", 0.0, 0.0),
    (
        "Moderate left pleural effusion.",
        "Blunting of the left costophrenic angle, which may represent a small pleural effusion.",
        0.0,
        0.0,
    ),
    ("Hazy right mid zone opacity, likely early consolidation.", "No focal consolidation.", -2.0, -2.0),
    # cardiomegaly has no side: side words elsewhere never make it a wrong side
    (
        "Moderate cardiomegaly. Small left pleural effusion.",
        "Possible mild cardiomegaly. Small left pleural effusion.",
        0.0,
        0.0,
    ),
    # a nodule named without its side is a wrong side (side set {none} vs {left})
    ("Small nodule in the left upper lung zone.", "There is a small nodule.", -2.0, 0.0),
    # several terms add up: missed cardiomegaly -1.5, false atelectasis -1, wrong-side pneumothorax -3
    (
        "Mild cardiomegaly. Small left apical pneumothorax.",
        "Small right apical pneumothorax. Plate-like atelectasis at the right lung base.",
        -5.5,
        -2.5,
    ),
]


@pytest.mark.parametrize("ref, hyp, sided, free", PAIRS)
def test_hand_written_pairs(ref, hyp, sided, free):
    assert score_clinical_utility([ref], [hyp]) == [sided]
    assert score_clinical_utility([ref], [hyp], side=False) == [free]
    terms = report_label_utilities(ref, hyp)
    assert list(terms) == list(FINDING_LABELS) and sum(terms.values()) == sided
    assert all(v <= 0 for v in terms.values())


def test_per_label_terms():
    u = report_label_utilities(
        "Mild cardiomegaly. Small left apical pneumothorax.",
        "Small right apical pneumothorax. Plate-like atelectasis at the right lung base.",
    )
    assert u == {
        "Cardiomegaly": -1.5,
        "Pleural Effusion": 0.0,
        "Consolidation": 0.0,
        "Pneumothorax": -3.0,
        "Lung Lesion": 0.0,
        "Atelectasis": -1.0,
    }
    # the set form, as the truth metrics call it
    assert label_utilities({"Cardiomegaly": {None}}, {"Cardiomegaly": {None}}) == dict.fromkeys(FINDING_LABELS, 0.0)
    with pytest.raises(ValueError, match="unknown label"):
        label_utilities({"Edema": {None}}, {})


def test_custom_costs():
    ref, hyp = (
        "Small left apical pneumothorax. No pleural effusion.",
        "Small right apical pneumothorax. Small left pleural effusion.",
    )
    assert score_clinical_utility([ref], [hyp]) == [-4.0]  # wrong side 3 + false effusion 1
    costs = {"Pneumothorax": {"wrong_side": 0.5}, "Pleural Effusion": {"false": 0.25}}
    assert score_clinical_utility([ref], [hyp], costs=costs) == [-0.75]
    # a miss override moves the wrong-side cost with it (the declared rule), unless wrong_side is given
    assert check_costs({"Pneumothorax": {"miss": 5}})["Pneumothorax"] == FindingCosts(5.0, 1.0, 5.0)
    assert check_costs({"Pneumothorax": {"miss": 5, "wrong_side": 1}})["Pneumothorax"] == FindingCosts(5.0, 1.0, 1.0)
    assert check_costs({"Cardiomegaly": FindingCosts(1, 2, 3)})["Cardiomegaly"] == FindingCosts(1.0, 2.0, 3.0)
    assert check_costs(None) == check_costs({}) == UTILITY_COSTS
    assert score_clinical_utility([ref], [hyp], costs={"Pneumothorax": {"miss": 10}}) == [-11.0]


@pytest.mark.parametrize(
    "costs, message",
    [
        ({"Pneumothoraks": {"miss": 1}}, r"unknown label 'Pneumothoraks'; did you mean Pneumothorax\?"),
        ({"Edema": {"miss": 1}}, r"unknown label 'Edema'.*labels: Pneumothorax, Pleural Effusion"),
        ({"Pneumothorax": {"fp": 1}}, r"unknown key\(s\) \['fp'\] for 'Pneumothorax'.*keys: miss, false, wrong_side"),
        ({"Pneumothorax": {"miss": -1}}, r"Pneumothorax.miss must be finite and >= 0"),
        ({"Pneumothorax": {"miss": "a lot"}}, r"Pneumothorax.miss must be a number"),
        ({"Pneumothorax": 3}, r"'Pneumothorax' must map"),
    ],
)
def test_cost_validation(costs, message):
    with pytest.raises(ValueError, match=message):
        check_costs(costs)
    with pytest.raises(ValueError, match=message):
        score_clinical_utility(["No pneumothorax."], ["No pneumothorax."], costs=costs)


def test_metric_rows_and_table_entry():
    refs = [p[0] for p in PAIRS]
    hyps = [p[1] for p in PAIRS]
    rows = clinical_utility_rows(refs, hyps)
    assert [r["clinical_utility"] for r in rows] == [p[2] for p in PAIRS]
    for r in rows:  # every label on every row; the terms add up to the total
        assert list(r) == ["clinical_utility", *(f"clinical_utility/{lab}" for lab in FINDING_LABELS)]
        assert sum(v for k, v in r.items() if "/" in k) == r["clinical_utility"]
    spec = get_metric("clinical_utility")
    assert spec.score(refs, hyps) == rows
    free = spec.score(refs, hyps, side=False, costs={"Pleural Effusion": {"miss": 1}})
    assert [r["clinical_utility"] for r in free] == [0, -3, -1, 0, 0, 0, 0, 0, -2, 0, 0, -2.5]
    assert (spec.kind, spec.aggregation, spec.higher_is_better, spec.models) == ("label", "mean", True, ())
    with pytest.raises(ValueError, match="references vs"):
        score_clinical_utility(["a"], [])
