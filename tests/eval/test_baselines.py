"""Image-blind baselines (radgrpo.eval.baselines) on a small fixed split, values worked out by hand."""

import pytest

from radgrpo.eval.baselines import baseline_predictions, best_constant_report, mean_box_prior
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.pipeline import evaluate_predictions
from radgrpo.records import Record


def rep(i, text):
    return Record(i, f"{i}.png", "report_generation", "Write the findings.", text, reference_report=text)


def grd(i, target, boxes):
    return Record(
        i, f"{i}.png", "abnormality_grounding", f"Where is the {target}?", "x", reference_boxes=boxes, target=target
    )


NORMAL = "The heart size is normal. No focal consolidation. No pleural effusion or pneumothorax."
CARDIO = "Moderate cardiomegaly. No focal consolidation. No pleural effusion or pneumothorax."
EFF = "Normal heart size. No focal consolidation. Small right pleural effusion. No pneumothorax."
BOTH = "Mild cardiomegaly. No focal consolidation. Small left pleural effusion. No pneumothorax."
TRAIN = [
    rep("t1", NORMAL),
    rep("t2", CARDIO),
    rep("t3", EFF),
    rep("t4", BOTH),
    grd("g1", "cardiomegaly", [(0.3, 0.5, 0.7, 0.8)]),
    grd("g2", "cardiomegaly", [(0.4, 0.5, 0.8, 0.9)]),
    grd("g3", "pleural effusion", [(0.1, 0.5, 0.3, 0.7), (0.7, 0.5, 0.9, 0.7)]),
]
TEST = [
    rep("s1", CARDIO),
    rep("s2", CARDIO),
    rep("s3", EFF),
    rep("s4", NORMAL),
    grd("h1", "cardiomegaly", [(0.35, 0.5, 0.75, 0.85)]),
    grd("h2", "nodule", [(0.2, 0.2, 0.3, 0.3)]),
]


def test_best_constant_report_maximises_finding_micro_f1():
    # test positives: cardio x2, effusion x1 (3 in all). NORMAL: tp 0 -> F1 0. CARDIO: tp 2, fp 2, fn 1 -> 4/7.
    # EFF: tp 1, fp 3, fn 2 -> 2/7. BOTH: tp 3, fp 5, fn 0 -> 6/11 < 4/7. So CARDIO.
    assert best_constant_report(TRAIN, TEST) == CARDIO
    with pytest.raises(ValueError, match="report_generation records"):
        best_constant_report(TRAIN[4:], TEST)


def test_mean_box_prior_per_finding():
    prior = mean_box_prior(TRAIN)
    assert prior["cardiomegaly"] == pytest.approx((0.35, 0.5, 0.75, 0.85))
    assert prior["pleural effusion"] == pytest.approx((0.4, 0.5, 0.6, 0.7))  # mean over both sides' boxes
    assert set(prior) == {"cardiomegaly", "pleural effusion"}


def test_baseline_scores_through_the_evaluation(tmp_path):
    preds, info = baseline_predictions(TRAIN, TEST)
    assert info["constant_report"] == CARDIO and [p.answer for p in preds[:4]] == [CARDIO] * 4
    assert preds[4].answer == "[0.35, 0.5, 0.75, 0.85]" and preds[5].answer == ""  # nodule never seen in training
    config = EvalConfig(out=str(tmp_path), metrics=["soft_f1", "ap_50", "rule_finding_f1"], n_resamples=200, html=False)
    res = evaluate_predictions(preds, TEST, config)
    assert res["rule_finding_f1"] == pytest.approx(4 / 7)
    assert res["soft_f1"] == pytest.approx(0.5)  # exact box on h1 (1.0), no box on h2 (0.0)
    assert res["map_50"] == pytest.approx(0.5)
    assert (tmp_path / "predictions.jsonl").exists() and (tmp_path / "scores.jsonl").exists()
