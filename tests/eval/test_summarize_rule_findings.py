"""``rule_finding_f1`` in evaluation: per-row finding lists and counts from ``score_predictions``, hand-computed
corpus micro-F1 (plain, side-aware, per finding) with a bootstrap CI over reports in ``summarize`` and the flat
results; other metrics unchanged.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_summarize_rule_findings.py
"""

import numpy as np
import pytest

from radgrpo.eval.generate import Prediction
from radgrpo.eval.score import available_metrics, check_metrics, score_predictions
from radgrpo.eval.summarize import flatten_results, read_results, summarize, write_results
from radgrpo.metrics.bootstrap import bootstrap_weighted_ci
from radgrpo.metrics.registry import get_metric
from radgrpo.records import Record

# (reference, prediction); hand counts (tp, fp, fn) plain / side-aware in the comments
PAIRS = [
    (
        "Moderate cardiomegaly. Small left pleural effusion. No pneumothorax.",
        "Mild cardiomegaly. Small right pleural effusion. No pneumothorax.",
    ),  # (2,0,0) / (1,1,1)
    (
        "Normal heart size. No focal consolidation. No pleural effusion or pneumothorax.",
        "Normal heart size. No focal consolidation. No pleural effusion or pneumothorax.",
    ),  # (0,0,0) / (0,0,0)
    (
        "Normal heart size. Small focal consolidation in the right lower lung zone. No pleural effusion or "
        "pneumothorax.",
        "Normal heart size. No focal consolidation. Small right apical pneumothorax.",
    ),  # (0,1,1) / (0,1,1)
    (
        "The heart is mildly enlarged. Small bilateral pleural effusions. No pneumothorax.",
        "Mild cardiomegaly. Small bilateral pleural effusions. No pneumothorax.",
    ),  # (2,0,0) / (3,0,0)
]
COUNTS = [(2, 0, 0), (0, 0, 0), (0, 1, 1), (2, 0, 0)]
SIDE_COUNTS = [(1, 1, 1), (0, 0, 0), (0, 1, 1), (3, 0, 0)]


def _inputs(with_grounding=True):
    recs, preds = [], []
    for i, (ref, hyp) in enumerate(PAIRS):
        recs.append(
            Record(
                id=f"r{i}",
                image=f"r{i}.png",
                task="report_generation",
                question="Write a report.",
                answer=ref,
                reference_report=ref,
            )
        )
        preds.append(Prediction(f"r{i}", "report_generation", "q", hyp, hyp, 5, True))
    if with_grounding:
        recs.append(
            Record(
                id="g",
                image="g.png",
                task="abnormality_grounding",
                question="Where is the nodule?",
                answer="[0.1, 0.1, 0.5, 0.5]",
                reference_boxes=[(0.1, 0.1, 0.5, 0.5)],
                target="nodule",
            )
        )
        preds.append(
            Prediction("g", "abnormality_grounding", "q", "[0.1, 0.1, 0.5, 0.5]", "[0.1, 0.1, 0.5, 0.5]", 9, True)
        )
    return preds, recs


def test_metric_is_registered_with_its_note():
    assert "rule_finding_f1" in available_metrics()
    spec = get_metric("rule_finding_f1")
    assert "not CheXbert" in spec.description and "FINDING_LABELS" in spec.description
    assert (spec.kind, spec.aggregation, spec.models) == ("label", "corpus", ())
    assert check_metrics(["rule_finding_f1", "bleu4"]) == ["rule_finding_f1", "bleu4"]
    with pytest.raises(ValueError, match=r"valid: .*chexbert, rule_finding_f1, "):
        check_metrics(["rule_finding"])


def test_rows_carry_finding_lists_and_counts():
    preds, recs = _inputs()
    rows = score_predictions(preds, recs, metrics=["rule_finding_f1"])
    reports = rows[:4]
    assert [(r["rule_finding_tp"], r["rule_finding_fp"], r["rule_finding_fn"]) for r in reports] == COUNTS
    assert [
        (r["rule_finding_side_tp"], r["rule_finding_side_fp"], r["rule_finding_side_fn"]) for r in reports
    ] == SIDE_COUNTS
    assert all(type(r[k]) is int for r in reports for k in ("rule_finding_tp", "rule_finding_side_fn"))
    assert reports[0]["rule_finding_ref"] == ["Cardiomegaly", "Pleural Effusion"]
    assert reports[0]["rule_finding_side_ref"] == ["Cardiomegaly|none", "Pleural Effusion|left"]
    assert reports[0]["rule_finding_side_hyp"] == ["Cardiomegaly|none", "Pleural Effusion|right"]
    assert reports[2]["rule_finding_ref"] == ["Consolidation"] and reports[2]["rule_finding_hyp"] == ["Pneumothorax"]
    assert reports[3]["rule_finding_side_hyp"] == [
        "Cardiomegaly|none",
        "Pleural Effusion|right",
        "Pleural Effusion|left",
    ]
    assert reports[1]["rule_finding_hyp"] == [] and reports[1]["rule_finding_side_ref"] == []
    assert not any(k.startswith("rule_finding") for k in rows[4])  # grounding row
    assert "bleu4" not in reports[0] and "soft_f1" not in rows[4]
    # not requested -> no fields
    assert not any(k.startswith("rule_finding") for r in score_predictions(preds, recs) for k in r)


def test_summary_hand_computed_with_ci(tmp_path):
    preds, recs = _inputs()
    rows = score_predictions(preds, recs, metrics=["rule_finding_f1", "bleu4", "ap_50"])
    run = summarize(rows, n_resamples=500, seed=0)
    # plain: TP 4, FP 1, FN 1 -> 8/10; side: TP 4, FP 2, FN 2 -> 8/12
    f1, side = run.overall["rule_finding_f1"], run.overall["rule_finding_f1_side"]
    assert f1.value == pytest.approx(0.8) and side.value == pytest.approx(2 / 3)
    assert f1.n == side.n == 4 and f1.higher_is_better
    for m in (f1, side):
        assert m.ci_low <= m.value <= m.ci_high and m.ci_low < m.ci_high
    # per finding: Cardiomegaly and Pleural Effusion all matched, Consolidation missed, Pneumothorax invented
    per = {k.split("/", 1)[1]: v.value for k, v in run.overall.items() if k.startswith("rule_finding_f1/")}
    assert per == {"Cardiomegaly": 1.0, "Pleural Effusion": 1.0, "Consolidation": 0.0, "Pneumothorax": 0.0}
    # the counts are not averaged as metrics of their own
    assert not any(k.startswith("rule_finding_") and "f1" not in k for k in run.overall)
    # same resampling as chexbert's corpus F1: bootstrap_weighted_ci over the report rows, same seed
    c = np.array(COUNTS, dtype=float)

    def stat(w):
        tp, fp, fn = (w @ c).T
        den = 2 * tp + fp + fn
        return np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)

    value, lo, hi = bootstrap_weighted_ci(4, stat, n_resamples=500, seed=0)
    assert (f1.value, f1.ci_low, f1.ci_high) == pytest.approx((float(value), float(lo), float(hi)))
    # per task: the report rows only; grounding and bleu4 unchanged
    rg = run.per_task["report_generation"]
    assert rg["rule_finding_f1"].value == pytest.approx(0.8) and rg["rule_finding_f1_side"].n == 4
    assert "rule_finding_f1" not in run.per_task["abnormality_grounding"]
    assert run.overall["map_50"].value == 1.0 and run.overall["bleu4"].n == 4
    assert "rule_finding_f1" not in run.per_target["nodule"]
    flat = flatten_results(run)
    assert flat["rule_finding_f1"] == pytest.approx(0.8) and flat["rule_finding_f1_side"] == pytest.approx(2 / 3)
    assert flat["ci"]["rule_finding_f1"] == [f1.ci_low, f1.ci_high]
    assert flat["n_by_metric"]["rule_finding_f1_side"] == 4
    assert flat["rule_finding_f1/Consolidation"] == 0.0 and "rule_finding_f1/Lung Lesion" not in flat
    assert flat["per_task"]["report_generation"]["rule_finding_f1_side"] == pytest.approx(2 / 3)
    assert "n_unscored_rule_finding_hyp" not in flat["diagnostics"]
    # results.json round trip
    write_results(run, tmp_path / "results.json")
    assert read_results(tmp_path / "results.json").overall["rule_finding_f1_side"] == side


def test_no_positives_anywhere_gives_zero():
    preds, recs = _inputs(with_grounding=False)
    rows = score_predictions(preds[1:2], recs, metrics=["rule_finding_f1"])
    run = summarize(rows, n_resamples=50)
    assert run.overall["rule_finding_f1"].value == 0.0 and run.overall["rule_finding_f1_side"].value == 0.0
    assert not any("/" in k for k in run.overall)
