"""Soft-F1 (both variants) and matched IoU against hand-computed values (the worked example of
docs/metrics.md#soft-f1, the paper's Fig. 1).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/grounding/test_soft_f1.py
"""

import pytest

from radgrpo.metrics.grounding import VARIANTS, matched_mean_iou, soft_f1

GT = [(0.38, 0.47, 0.76, 0.62)]
GOOD = (0.35, 0.51, 0.75, 0.64)
FAR = (0.84, 0.34, 0.91, 0.50)
IOU = 0.0407 / 0.0683


def test_paper_worked_example_both_variants():
    # paper_code: P = IoU/(IoU + 0), R = IoU -> F1 = 2 IoU / (1 + IoU) = 0.747 (docs/metrics.md#soft-f1)
    assert soft_f1([GOOD], GT) == pytest.approx(2 * IOU / (1 + IOU), abs=1e-7)
    assert round(soft_f1([GOOD], GT), 3) == 0.747
    # dice: 2 IoU / 2 = IoU ≈ 0.6, the value in the paper's Fig. 1
    assert soft_f1([GOOD], GT, variant="dice") == pytest.approx(IOU, abs=1e-12)
    # Fig. 1's non-overlapping prediction gets 0 with both
    for v in VARIANTS:
        assert soft_f1([FAR], GT, variant=v) == 0.0


def test_false_positive_and_missed_box_hand_values():
    # one perfect box + one far false positive vs one GT: TP=1, FP=1 -> P=0.5, R=1, F1=2/3
    assert soft_f1([GT[0], FAR], GT) == pytest.approx(2 / 3, abs=1e-7)
    assert soft_f1([GT[0], FAR], GT, variant="dice") == pytest.approx(2 / 3)
    # one perfect box vs two GT: P=1, R=0.5 -> F1=2/3; dice = 2/3 as well
    gt2 = GT + [(0.1, 0.1, 0.2, 0.2)]
    assert soft_f1([GT[0]], gt2) == pytest.approx(2 / 3, abs=1e-7)
    # two preds, two GT, IoUs 1 and IoU: TP = 1 + IoU, FP = 0 -> P = 1, R = (1+IoU)/2
    tp = 1 + IOU
    r = tp / 2
    assert soft_f1([GT[0], GOOD], [GT[0], GT[0]]) == pytest.approx(2 * r / (1 + r), abs=1e-7)


def test_min_iou_threshold_turns_weak_match_into_false_positive():
    # IoU 0.596 <= 0.6 -> invalid: TP=0 -> 0
    assert soft_f1([GOOD], GT, min_iou=0.6) == 0.0
    assert soft_f1([GOOD], GT, min_iou=0.5) == pytest.approx(2 * IOU / (1 + IOU), abs=1e-7)


def test_empty_sets_score_zero():
    for v in VARIANTS:
        assert soft_f1([], GT, variant=v) == 0.0
        assert soft_f1([GOOD], [], variant=v) == 0.0
        assert soft_f1([], [], variant=v) == 0.0


def test_range_and_perfect_score():
    assert soft_f1(GT, GT) == pytest.approx(1.0, abs=1e-7)
    assert soft_f1(GT, GT) <= 1.0
    assert soft_f1(GT, GT, variant="dice") == 1.0


def test_unknown_variant_is_an_error():
    with pytest.raises(ValueError, match="paper_code"):
        soft_f1([GOOD], GT, variant="f1")


def test_matched_mean_iou():
    assert matched_mean_iou([GOOD, FAR], GT) == pytest.approx(IOU)
    # optimal pairs p0-g0 (1.0) and p1-g1 (0.5): mean 0.75
    assert matched_mean_iou([(0, 0, 1, 1), (0, 0, 0.5, 1)], [(0, 0, 1, 1), (0, 0, 0.25, 1)]) == 0.75
    assert matched_mean_iou([], GT) == 0.0
