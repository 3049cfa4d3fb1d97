"""Per-sample scoring of hand-written completions; every expected value is derived by hand in a comment.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_score.py
"""

import pytest

from radgrpo.eval.generate import Prediction
from radgrpo.eval.score import available_metrics, read_scores, score_grounding, score_predictions, write_scores
from radgrpo.metrics.registry import MetricSpec, get_metric
from radgrpo.records import Record

GT = (0.38, 0.47, 0.76, 0.62)  # the paper's Fig. 1 (docs/metrics.md#soft-f1)
# IoU with [0.35, 0.51, 0.75, 0.64]: intersection (0.75-0.38)*(0.62-0.51) = 0.37*0.11 = 0.0407;
# areas 0.38*0.15 = 0.057 and 0.40*0.13 = 0.052; union 0.057 + 0.052 - 0.0407 = 0.0683
IOU = 0.0407 / 0.0683  # 0.59590...
NEAR = "[0.35, 0.51, 0.75, 0.64]"
FAR = "[0.84, 0.34, 0.91, 0.50]"  # no overlap with GT


def _f1(tp, n_pred, n_gt):
    """The released reward's formula (docs/metrics.md#soft-f1), written out for the expected values."""
    n_valid = 1 if tp > 0 else 0
    p = tp / (tp + (n_pred - n_valid) + 1e-8)
    r = tp / (n_gt + 1e-8)
    return 2 * p * r / (p + r + 1e-8)


def test_single_box_fig1():
    s = score_grounding(f"The cardiomegaly is at {NEAR}.", [GT])
    assert s["soft_f1"] == pytest.approx(2 * IOU / (1 + IOU), abs=1e-6)  # P = 1, R = IoU -> 0.7468
    assert s["soft_f1"] == pytest.approx(0.7468, abs=1e-4)
    assert s["soft_f1_dice"] == pytest.approx(IOU, abs=1e-6)  # 2*IoU/(1+1) = 0.596 ("0.6" in Fig. 1)
    assert s["ap_50"] == 1.0  # IoU 0.596 >= 0.5: one TP, precision 1 at recall 1
    assert s["matched_iou"] == pytest.approx(IOU, abs=1e-6)
    assert (s["parseable"], s["n_pred_boxes"], s["n_ref_boxes"]) == (True, 1, 1)


def test_extra_box_and_output_order():
    s = score_grounding(f"{NEAR} and {FAR}", [GT])
    # Hungarian pairs NEAR with GT (IoU 0.596); FAR is a false positive: P = IoU/(IoU+1), R = IoU
    assert s["soft_f1"] == pytest.approx(_f1(IOU, 2, 1), abs=1e-6)
    assert s["soft_f1"] == pytest.approx(0.4591, abs=1e-4)
    assert s["soft_f1_dice"] == pytest.approx(2 * IOU / 3, abs=1e-6)
    assert s["ap_50"] == 1.0  # TP first (precision 1 at recall 1), the later FP does not lower the AP
    assert s["matched_iou"] == pytest.approx(IOU, abs=1e-6)  # one matched pair
    rev = score_grounding(f"{FAR} and {NEAR}", [GT])
    assert rev["ap_50"] == 0.5  # FP first: precision 1/2 when recall reaches 1 (RadVLM AP is order-dependent)
    assert rev["soft_f1"] == pytest.approx(s["soft_f1"], abs=1e-9)  # soft-F1 is order-free


def test_unparseable_and_empty_answers_score_zero():
    for text in ("I cannot tell.", "", "[0.1, 0.2, 0.3]"):
        s = score_grounding(text, [GT])
        assert (s["soft_f1"], s["soft_f1_dice"], s["ap_50"], s["matched_iou"]) == (0.0, 0.0, 0.0, 0.0)
        assert (s["parseable"], s["n_pred_boxes"]) == (False, 0)


def test_reward_parser_vs_radvlm_eval_parser():
    # GT [0, 0.2, 0.5, 0.6], pred [-0.05, 0.2, 0.5, 0.6]: IoU = 0.5*0.4 / (0.55*0.4) = 10/11
    s = score_grounding("[-0.05, 0.2, 0.5, 0.6]", [(0.0, 0.2, 0.5, 0.6)])
    assert s["soft_f1"] == pytest.approx(2 * (10 / 11) / (1 + 10 / 11), abs=1e-6)  # reward parser accepts it
    assert s["parseable"] is True
    # RadVLM's evaluation regex has no minus sign, so the box is not seen (docs/metrics.md#map50)
    assert s["ap_50"] == 0.0


def _rec(i, task, **kw):
    return Record(id=i, image=f"{i}.png", task=task, question="q", answer=kw.pop("answer", "a"), **kw)


def _pred(i, task, answer, **kw):
    return Prediction(
        id=i,
        task=task,
        prompt="q",
        completion=answer,
        answer=answer,
        n_tokens=kw.pop("n", 7),
        finished=kw.pop("finished", True),
        **kw,
    )


RECORDS = [
    _rec("g1", "abnormality_grounding", reference_boxes=[GT], target="cardiomegaly"),
    _rec("g2", "phrase_grounding", reference_boxes=[GT], target="opacity", source="ms_cxr"),
    _rec("r1", "report_generation", reference_report="the heart is enlarged"),
    _rec("r2", "report_generation", answer="the heart is normal"),  # no reference_report: the answer is used
    _rec("c1", "classification", answer="Cardiomegaly"),
]


def test_score_predictions_rows():
    preds = [
        _pred("g1", "abnormality_grounding", f"At {NEAR}."),
        _pred("g2", "phrase_grounding", "no idea"),
        _pred("r1", "report_generation", "the heart is normal", finished=False, n=512),
        _pred("r2", "report_generation", "the heart is normal"),
        _pred("c1", "classification", "x"),
    ]
    rows = score_predictions(preds, RECORDS)
    assert [r["id"] for r in rows] == ["g1", "g2", "r1", "r2", "c1"]
    g1, g2, r1, r2, c1 = rows
    assert g1["soft_f1"] == pytest.approx(0.7468, abs=1e-4) and g1["target"] == "cardiomegaly"
    assert g2["ap_50"] == 0.0 and g2["parseable"] is False
    # ROUGE-L: LCS "the heart is" = 3 of 4 tokens on both sides -> P = R = F = 0.75
    assert r1["rougeL"] == pytest.approx(0.75)
    assert (r1["finished"], r1["n_tokens"]) == (False, 512)
    assert r2["rougeL"] == pytest.approx(1.0) and r2["bleu4"] == pytest.approx(1.0, abs=1e-6)  # identical text
    assert "bleu4" not in g1 and "soft_f1" not in r1
    assert set(c1) == {"id", "task", "source", "target", "n_tokens", "finished", "think_closed", "answer_chars"}
    # every row names its dataset (Record.source, "unknown" by default) and its answer's length in characters
    assert [r["source"] for r in rows] == ["unknown", "ms_cxr", "unknown", "unknown", "unknown"]
    assert [r["answer_chars"] for r in rows] == [len(f"At {NEAR}."), len("no idea"), 19, 19, 1]


def test_answer_chars_counts_the_scored_answer_not_the_completion():
    # a thinking completion: the answer after </think> is what is scored, and what ANC measures
    pred = Prediction(
        "r1", "report_generation", "q", "<think>long reasoning</think>No effusion.", "No effusion.", 9, True
    )
    row = score_predictions([pred], RECORDS, metrics=["rougeL"])[0]
    assert row["answer_chars"] == 12 and row["source"] == "unknown"
    empty = Prediction("r1", "report_generation", "q", "", "", 0, True)
    assert score_predictions([empty], RECORDS, metrics=["rougeL"])[0]["answer_chars"] == 0


def test_report_metrics_use_the_metrics_package():
    from radgrpo.metrics.text import score_bleu, score_rouge_l

    refs, hyps = ["the heart is enlarged", "no pleural effusion is seen"], ["the heart is normal", "no effusion seen"]
    recs = [_rec(f"r{i}", "report_generation", reference_report=r) for i, r in enumerate(refs)]
    rows = score_predictions([_pred(f"r{i}", "report_generation", h) for i, h in enumerate(hyps)], recs)
    assert [r["bleu4"] for r in rows] == pytest.approx(list(score_bleu(refs, hyps, n=4)))
    assert [r["rougeL"] for r in rows] == pytest.approx(list(score_rouge_l(refs, hyps)))


def test_metric_selection():
    preds = [_pred("g1", "abnormality_grounding", NEAR), _pred("r2", "report_generation", "x")]
    rows = score_predictions(preds, RECORDS, metrics=["ap_50", "rougeL"])
    assert "soft_f1" not in rows[0] and rows[0]["ap_50"] == 1.0 and rows[0]["parseable"] is True
    assert "bleu4" not in rows[1] and rows[1]["rougeL"] == 0.0
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['map'\] \(valid: .*soft_f1"):
        score_predictions(preds, RECORDS, metrics=["map"])
    assert {"soft_f1", "ap_50", "bleu4", "rougeL", "bertscore", "radcliq"} <= set(available_metrics())
    assert get_metric("radcliq").higher_is_better is False


def test_missing_metric_implementation_is_a_clear_error():
    m = MetricSpec("fancy", "report", "radgrpo.metrics.text.does_not_exist:score_fancy", "a test metric")
    with pytest.raises(ValueError, match=r"'fancy' \(a test metric\) is not available.*does_not_exist"):
        m.score(["a"], ["b"])


def test_bad_inputs():
    with pytest.raises(ValueError, match="no test record"):
        score_predictions([_pred("zzz", "report_generation", "x")], RECORDS)
    with pytest.raises(ValueError, match="duplicate prediction ids"):
        score_predictions([_pred("r2", "report_generation", "x")] * 2, RECORDS)


def test_scores_jsonl_round_trip(tmp_path):
    rows = score_predictions([_pred("g1", "abnormality_grounding", NEAR)], RECORDS)
    assert write_scores(rows, tmp_path / "scores.jsonl") == 1
    assert read_scores(tmp_path / "scores.jsonl") == rows
