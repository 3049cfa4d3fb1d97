"""Rule-labeller finding sets and scores: hand-labelled synthetic-style reports (negation, side, plurals, "or"
lists, paraphrases, hedges), exact recovery of the drawn findings and sides on 300 synthetic studies, micro and
sample F1. The readers world's wordings and reports: tests/metrics/text/test_rule_labeler_readers.py.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/text/test_rule_labeler_findings.py
"""

from __future__ import annotations

import numpy as np
import pytest

from radgrpo.data.sources.synthetic import FINDING_LABELS as SYNTH_LABELS
from radgrpo.data.sources.synthetic import SynthConfig, draw_study
from radgrpo.data.sources.synthetic_draw import SUPPORTED_FINDINGS
from radgrpo.metrics.text.rule_labeler import (
    FINDING_LABELS,
    finding_counts,
    finding_set,
    label_report,
    rule_finding_f1,
    rule_finding_sample_f1,
)

CM, PE, CO, PT, LL, AT = FINDING_LABELS

# (report, plain set, side-aware set), labelled by hand
HAND = [
    ("No pleural effusion or pneumothorax.", set(), set()),
    ("No pleural effusion. No pneumothorax.", set(), set()),
    ("No focal consolidation.", set(), set()),
    ("The lungs are clear without focal consolidation.", set(), set()),
    ("No pleural effusion, pneumothorax or focal consolidation.", set(), set()),
    ("The heart is moderately enlarged.", {CM}, {(CM, None)}),
    ("Moderate cardiomegaly.", {CM}, {(CM, None)}),
    ("The heart size is normal. Normal heart size.", set(), set()),
    ("Small right pleural effusion.", {PE}, {(PE, "right")}),
    ("There is a small left pleural effusion.", {PE}, {(PE, "left")}),
    ("Small bilateral pleural effusions.", {PE}, {(PE, "right"), (PE, "left")}),
    ("There are moderate bilateral pleural effusions.", {PE}, {(PE, "right"), (PE, "left")}),
    ("Small focal consolidation in the left lower lung zone.", {CO}, {(CO, "left")}),
    ("There is a large focal consolidation in the right upper lung zone.", {CO}, {(CO, "right")}),
    ("Small left apical pneumothorax.", {PT}, {(PT, "left")}),
    ("There is a moderate right apical pneumothorax.", {PT}, {(PT, "right")}),
    ("Bilateral pneumothoraces.", {PT}, {(PT, "right"), (PT, "left")}),
    ("Small nodule in the right mid lung zone.", {LL}, {(LL, "right")}),
    ("Multiple nodules in both lungs.", {LL}, {(LL, "right"), (LL, "left")}),
    ("There is plate-like atelectasis at the left lung base.", {AT}, {(AT, "left")}),
    # a positive "or" list: both positive, both take the sentence's side
    ("Small right pleural effusion or atelectasis.", {PE, AT}, {(PE, "right"), (AT, "right")}),
    # a negated sentence contributes no side
    ("Small right pleural effusion. No left pleural effusion.", {PE}, {(PE, "right")}),
    # no side word -> (label, None); a hedged (uncertain) mention names its finding (uncertain = positive)
    ("Pneumothorax. Possible left pleural effusion.", {PT, PE}, {(PT, None), (PE, "left")}),
    # a negated mention stays negative in a hedged sentence
    ("Possible small left pneumothorax without pleural effusion.", {PT}, {(PT, "left")}),
    # a negation cue does not reach past "but"
    ("There is no pneumothorax, but a small left effusion.", {PE}, {(PE, "left")}),
    # the whole synthetic example of the generator's style
    (
        "Moderate cardiomegaly. There is a small focal consolidation in the left lower lung zone. Small bilateral "
        "pleural effusions. No pneumothorax.",
        {CM, CO, PE},
        {(CM, None), (CO, "left"), (PE, "right"), (PE, "left")},
    ),
    ("", set(), set()),
]


@pytest.mark.parametrize("text, plain, sided", HAND)
def test_hand_labelled_finding_sets(text, plain, sided):
    assert finding_set(text) == frozenset(plain)
    assert finding_set(text, side=True) == frozenset(sided)
    # the plain set is exactly label_report's positive or uncertain labels among FINDING_LABELS
    labels = label_report(text)
    assert finding_set(text) == {lab for lab, v in labels.items() if v in (1, -1) and lab in FINDING_LABELS}
    assert finding_set(text, uncertain_positive=False) == {
        lab for lab, v in labels.items() if v == 1 and lab in FINDING_LABELS
    }
    assert {lab for lab, _ in finding_set(text, side=True)} == finding_set(text)


def test_finding_labels_are_the_generators_primary_labels():
    assert FINDING_LABELS == (
        "Cardiomegaly",
        "Pleural Effusion",
        "Consolidation",
        "Pneumothorax",
        "Lung Lesion",
        "Atelectasis",
    )
    assert {labs[0] for labs in SYNTH_LABELS.values()} == set(FINDING_LABELS)
    for implied in ("Enlarged Cardiomediastinum", "Lung Opacity", "No Finding"):
        assert implied not in FINDING_LABELS
    assert finding_set("Moderate cardiomegaly. Right lower lobe opacity.") == {CM}


def _drawn(study, side):
    if not side:
        return {SYNTH_LABELS[f.name][0] for f in study.findings}
    return {
        (SYNTH_LABELS[f.name][0], s)
        for f in study.findings
        for s in ((None,) if f.side is None else ("right", "left") if f.side == "bilateral" else (f.side,))
    }


def test_exact_on_300_synthetic_reports():
    cfg = SynthConfig(out="unused", image_size=64, findings=list(SUPPORTED_FINDINGS))
    studies = [draw_study(seed, cfg) for seed in range(300)]
    for s in studies:
        assert finding_set(s.report) == _drawn(s, False), (s.seed, s.report)
        assert finding_set(s.report, side=True) == _drawn(s, True), (s.seed, s.report)
    # every finding on every side it can take, normal and two-finding studies were covered
    seen = {(f.name, f.side) for s in studies for f in s.findings}
    assert {n for n, _ in seen} == set(SUPPORTED_FINDINGS)
    assert ("pleural effusion", "bilateral") in seen and ("cardiomegaly", None) in seen
    assert all((n, side) in seen for n in SUPPORTED_FINDINGS if n != "cardiomegaly" for side in ("right", "left"))
    assert any(not s.findings for s in studies) and any(len(s.findings) == 2 for s in studies)


def test_side_and_plural_counts():
    assert rule_finding_f1(["Small right pleural effusion."], ["Small left pleural effusion."]) == 1.0
    assert rule_finding_f1(["Small right pleural effusion."], ["Small left pleural effusion."], side=True) == 0.0
    assert finding_counts(
        ["Small bilateral pleural effusions."], ["Small right pleural effusion."], side=True
    ).tolist() == [[1, 1, 0]]
    assert finding_counts(["The heart is moderately enlarged."], ["Moderate cardiomegaly."], side=True).tolist() == [
        [1, 0, 0]
    ]
    c = finding_counts(["No pleural effusion or pneumothorax."], ["Small left apical pneumothorax."])
    assert c.dtype == np.int64 and c.shape == (1, 3) and c.tolist() == [[0, 0, 1]]
    assert finding_counts([], []).shape == (0, 3)


PREDS = [
    "Moderate cardiomegaly. Small right pleural effusion.",
    "No pleural effusion or pneumothorax.",
    "Small left apical pneumothorax. Plate-like atelectasis at the left lung base.",
]
REFS = [
    "Mild cardiomegaly. Small left pleural effusion.",
    "Large nodule in the right upper lung zone.",
    "There is a small left apical pneumothorax.",
]


def test_micro_and_sample_f1_hand_computed():
    # plain: (2,0,0), (0,0,1), (1,1,0) -> TP 3, FP 1, FN 1
    assert finding_counts(PREDS, REFS).tolist() == [[2, 0, 0], [0, 0, 1], [1, 1, 0]]
    assert rule_finding_f1(PREDS, REFS) == pytest.approx(6 / 8)
    # side: (Card,None) ok, right vs left effusion; (LL,right) missed; (PTX,left) ok, (Atel,left) extra
    assert finding_counts(PREDS, REFS, side=True).tolist() == [[1, 1, 1], [0, 0, 1], [1, 1, 0]]
    assert rule_finding_f1(PREDS, REFS, side=True) == pytest.approx(4 / 8)
    assert rule_finding_sample_f1(PREDS, REFS) == pytest.approx([1.0, 0.0, 2 / 3])
    assert rule_finding_sample_f1(PREDS, REFS, side=True) == pytest.approx([0.5, 0.0, 2 / 3])
    # two empty sets: 1.0 per sample, 0.0 as a corpus micro-F1 (no positives at all)
    empty = (["No pneumothorax."], ["Normal heart size. No focal consolidation."])
    assert rule_finding_sample_f1(*empty) == [1.0] and rule_finding_sample_f1(*empty, side=True) == [1.0]
    assert rule_finding_f1(*empty) == 0.0
    assert rule_finding_sample_f1(["Mild cardiomegaly."], ["No pneumothorax."]) == [0.0]


def test_errors():
    with pytest.raises(ValueError, match="predictions vs"):
        rule_finding_f1(["a"], [])
    with pytest.raises(ValueError, match="predictions vs"):
        rule_finding_sample_f1([], ["a"])
    with pytest.raises(TypeError, match="str"):
        finding_set(None)  # type: ignore[arg-type]
