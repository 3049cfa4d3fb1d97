"""Evaluation against the reference and against the drawn truth: hand-built records with ``meta["truth"]`` give exact
truth metrics in the score rows, ``results.json`` (overall, per task, per target, with CIs), the paired tests of
``radgrpo compare`` and the report's Table 1; records without a truth get none of them; ``clinical_utility``'s
options reach both utilities through ``EvalConfig``; and an end-to-end evaluation of synthetic readers-world records
with two fake predictors (the truth written out, and the reader's own reference) through ``evaluate_predictions``,
``radgrpo compare`` and ``report.html``.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_summarize_truth.py
"""

from __future__ import annotations

import json
import random

import pytest

from radgrpo.eval.compare import compare_runs, paired_values
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.generate import Prediction
from radgrpo.eval.pipeline import evaluate_predictions
from radgrpo.eval.report.tables import table1, value_table_text
from radgrpo.eval.score import score_predictions
from radgrpo.eval.summarize import flatten_results, summarize
from radgrpo.records import Record

NORMAL = "The heart size is normal. No focal consolidation. No pleural effusion. No pneumothorax."
PTX_SUBTLE = {
    "finding": "pneumothorax",
    "side": "left",
    "severity": 0.1,
    "subtle": True,
    "boxes": [[0.6, 0.1, 0.8, 0.3]],
}
CARDIO = {"finding": "cardiomegaly", "side": None, "severity": 0.9, "subtle": False, "boxes": [[0.4, 0.5, 0.7, 0.8]]}
EFF = {
    "finding": "pleural effusion",
    "side": "bilateral",
    "severity": 0.5,
    "subtle": False,
    "boxes": [[0.1, 0.1, 0.3, 0.3], [0.6, 0.1, 0.8, 0.3]],
}


def _report(rid, reference, truth):
    meta = {} if truth is None else {"truth": truth}
    return Record(
        rid, f"{rid}.png", "report_generation", "Write a report.", reference, reference_report=reference, meta=meta
    )


def _grounding(rid, target, boxes, truth, task="abnormality_grounding"):
    meta = {} if truth is None else {"truth": truth}
    answer = f"[{', '.join(str(v) for v in boxes[0])}]"
    return Record(
        rid, f"{rid}.png", task, f"Where is the {target}?", answer, reference_boxes=boxes, target=target, meta=meta
    )


RECORDS = [
    # the reader missed both findings
    _report("r0", NORMAL, [PTX_SUBTLE, CARDIO]),
    # the reader hedged one side of a bilateral effusion
    _report("r1", "Possible small left pleural effusion. No pneumothorax.", [EFF]),
    # a normal study
    _report("r2", "No pneumothorax.", []),
    # the clean world: no truth
    _report("r3", "Mild cardiomegaly.", None),
    # the reader's box covers one of the two drawn boxes
    _grounding("g0", "pleural effusion", [(0.1, 0.1, 0.3, 0.3)], [EFF]),
    # a region target: no truth entry for it
    _grounding("g1", "heart", [(0.4, 0.5, 0.7, 0.8)], [EFF], task="anatomical_grounding"),
    # no truth
    _grounding("g2", "nodule", [(0.2, 0.2, 0.3, 0.3)], None),
]
NEW = {
    "r0": "Mild cardiomegaly. Small left apical pneumothorax.",
    "r1": "Small right pleural effusion.",
    "r2": "Possible small nodule in the right mid lung zone.",
    "r3": "Mild cardiomegaly.",
    "g0": "[0.1, 0.1, 0.3, 0.3]",
    "g1": "[0.4, 0.5, 0.7, 0.8]",
    "g2": "[0.2, 0.2, 0.3, 0.3]",
}
OLD = {**NEW, "r0": NORMAL, "r1": NORMAL, "r2": NORMAL}
METRICS = ["soft_f1_dice", "ap_50", "rule_finding_f1", "clinical_utility"]
TRUTH_KEYS = ("rule_finding_truth_", "recall_truth_", "clinical_utility_truth", "_truth")


def _preds(answers):
    return [Prediction(r.id, r.task.value, r.question, answers[r.id], answers[r.id], 5, True) for r in RECORDS]


def _has_truth_key(row):
    return any(k.startswith(TRUTH_KEYS[:3]) or k.endswith(TRUTH_KEYS[3]) for k in row)


def test_score_rows_against_reference_and_truth():
    rows = {r["id"]: r for r in score_predictions(_preds(NEW), RECORDS, METRICS)}
    r0, r1, r2 = rows["r0"], rows["r1"], rows["r2"]
    # against the reader's reference: two false findings; against the truth: both right
    assert (r0["rule_finding_fp"], r0["clinical_utility"]) == (2, -2.0)
    assert (r0["rule_finding_truth_tp"], r0["rule_finding_truth_side_tp"], r0["clinical_utility_truth"]) == (2, 2, 0.0)
    assert (r0["recall_truth_subtle_named_side"], r0["recall_truth_conspicuous_named"]) == (1, 1)
    # the hedged left effusion is named: plain match, wrong side against the reference and half the truth's sides
    assert (r1["rule_finding_tp"], r1["rule_finding_side_fp"], r1["clinical_utility"]) == (1, 1, -2.0)
    assert (r1["rule_finding_truth_side_tp"], r1["rule_finding_truth_side_fn"], r1["clinical_utility_truth"]) == (
        1,
        1,
        -2.0,
    )
    assert r1["recall_truth_conspicuous_named_side"] == 0 and "recall_truth_subtle_n" not in r1
    assert (r2["clinical_utility"], r2["clinical_utility_truth"], r2["rule_finding_truth_fp"]) == (-1.0, -1.0, 1)
    assert not any(k.startswith("recall_truth") for k in r2)  # no drawn finding to recall
    # grounding: the reader's box is the reference; the truth has two boxes
    g0 = rows["g0"]
    assert (g0["ap_50"], g0["ap_50_truth"]) == (1.0, 0.5)
    assert g0["soft_f1_dice"] == pytest.approx(1.0) and g0["soft_f1_dice_truth"] == pytest.approx(2 / 3)
    assert "soft_f1_truth" not in g0  # soft_f1 was not requested, so neither is its truth metric
    # records without a truth (or without a truth entry for the target) get no truth key at all
    for rid in ("r3", "g1", "g2"):
        assert not _has_truth_key(rows[rid]), rid
    # truth metrics come only with their metric
    plain = {r["id"]: r for r in score_predictions(_preds(NEW), RECORDS, ["bleu4", "matched_iou"])}
    assert "matched_iou_truth" in plain["g0"] and not any(_has_truth_key(plain[k]) for k in ("r0", "r1", "r2"))


def test_results_overall_per_task_per_target_with_cis():
    rows = score_predictions(_preds(NEW), RECORDS, METRICS)
    run = summarize(rows, n_resamples=200, seed=0)
    o = run.overall
    # truth, plain: r0 tp 2, r1 tp 1, r2 fp 1 -> 6/7; side: + r1 fn 1 -> 6/8
    assert o["rule_finding_f1_truth"].value == pytest.approx(6 / 7) and o["rule_finding_f1_truth"].n == 3
    assert o["rule_finding_f1_side_truth"].value == pytest.approx(0.75)
    per = {k.split("/")[1]: v.value for k, v in o.items() if k.startswith("rule_finding_f1_truth/")}
    assert per == {"Cardiomegaly": 1.0, "Pleural Effusion": 1.0, "Pneumothorax": 1.0, "Lung Lesion": 0.0}
    # reference: r0 fp 2, r1 tp 1 (side fp 1 fn 1), r2 fp 1, r3 tp 1 -> 4/7 plain, 2/7 side-aware
    assert o["rule_finding_f1"].value == pytest.approx(4 / 7) and o["rule_finding_f1_side"].value == pytest.approx(
        2 / 7
    )
    assert o["clinical_utility"].value == pytest.approx(-1.25) and o["clinical_utility"].n == 4
    assert o["clinical_utility_truth"].value == pytest.approx(-1.0) and o["clinical_utility_truth"].n == 3
    assert o["clinical_utility_truth/Pleural Effusion"].value == pytest.approx(-2 / 3)
    assert sum(v.value for k, v in o.items() if k.startswith("clinical_utility/")) == pytest.approx(-1.25)
    assert (o["recall_truth/subtle"].value, o["recall_truth/subtle"].n) == (1.0, 1)
    assert (o["recall_truth/conspicuous"].value, o["recall_side_truth/conspicuous"].value) == (1.0, 0.5)
    assert o["recall_truth/conspicuous"].n == 2
    assert o["map_50_truth"].value == 0.5 and o["map_50_truth"].n == 1 and o["map_50"].n == 3
    for name in ("clinical_utility", "clinical_utility_truth", "rule_finding_f1_side_truth", "map_50"):
        assert o[name].higher_is_better and o[name].ci_low <= o[name].value <= o[name].ci_high
    # no bookkeeping count is summarised as a metric of its own
    assert not any(k.startswith(("rule_finding_truth_", "recall_truth_")) for k in o)
    rg = run.per_task["report_generation"]
    assert rg["rule_finding_f1_truth"].value == pytest.approx(6 / 7) and "map_50_truth" not in rg
    assert run.per_task["abnormality_grounding"]["map_50_truth"].value == 0.5
    assert "map_50_truth" not in run.per_task["anatomical_grounding"]
    assert run.per_target["pleural effusion"]["map_50_truth"].value == 0.5
    assert "map_50_truth" not in run.per_target["heart"] and "map_50_truth" not in run.per_target["nodule"]
    flat = flatten_results(run)
    assert flat["clinical_utility_truth"] == pytest.approx(-1.0) and len(flat["ci"]["recall_side_truth/subtle"]) == 2
    assert flat["per_task"]["report_generation"]["recall_truth/conspicuous"] == 1.0


def test_paired_tests_and_table1():
    new = score_predictions(_preds(NEW), RECORDS, METRICS)
    old = score_predictions(_preds(OLD), RECORDS, METRICS)
    res = compare_runs(new, old, n_resamples=200, n_permutations=200)
    vals = paired_values(new, old)
    # old names nothing on r0-r2: truth F1 0 (fn only); utility vs truth -(1.5 + 3) - 2 + 0 = -6.5 over 3
    assert vals["rule_finding_f1_truth"]["new"] == pytest.approx(6 / 7) and vals["rule_finding_f1_truth"]["old"] == 0
    assert vals["rule_finding_f1_side_truth"]["new"] == pytest.approx(0.75)
    assert vals["clinical_utility_truth"] == pytest.approx(
        {"new": -1.0, "old": -6.5 / 3, "n": 3, "higher_is_better": True}
    )
    assert vals["clinical_utility"]["new"] == pytest.approx(-1.25) and vals["clinical_utility"]["n"] == 4
    assert vals["recall_side_truth/conspicuous"] == {"new": 0.5, "old": 0.0, "n": 2, "higher_is_better": True}
    assert vals["map_50_truth"]["n"] == 1
    for name in ("rule_finding_f1_truth", "clinical_utility_truth", "recall_truth/subtle", "clinical_utility"):
        assert res[name]["diff"] == pytest.approx(vals[name]["new"] - vals[name]["old"])
    # Table 1 shows the utility beside finding-F1, and the truth columns
    runs = {"old": summarize(old, n_resamples=50), "new": summarize(new, n_resamples=50)}
    t = table1(runs, {"old": old, "new": new}, baseline="old", n_resamples=50)
    assert t is not None
    text = value_table_text(t)
    header = text[0]
    for col in (
        "finding-F1",
        "utility",
        "finding-F1 vs truth",
        "finding-F1 (side) vs truth",
        "utility vs truth",
        "recall subtle (truth)",
        "recall conspicuous (truth)",
    ):
        assert col in header, col
    assert header.index("utility") == header.index("finding-F1 (side)") + 1
    assert text[2][header.index("utility vs truth")] == "-1.00"
    assert text[2][header.index("finding-F1 vs truth")].startswith("85.7")


def test_utility_options_pass_through_eval_config(tmp_path):
    cfg = EvalConfig(
        out=str(tmp_path / "a"),
        metrics=["clinical_utility"],
        n_resamples=10,
        html=False,
        utility_side=False,
        utility_costs='{"Pleural Effusion": {"miss": 5}}',
    )
    data = evaluate_predictions(_preds(NEW), RECORDS, cfg)
    # side-free: the wrong sides of r1 cost nothing; r0 -2, r2 -1 against the reference
    assert data["clinical_utility"] == pytest.approx(-0.75)
    assert data["clinical_utility_truth"] == pytest.approx(-1 / 3)
    opts = data["manifest"]["metric_options"]["clinical_utility"]
    assert opts["side"] is False and opts["costs"]["Pleural Effusion"] == {"miss": 5.0, "false": 1.0, "wrong_side": 5.0}
    with pytest.raises(ValueError, match="--utility_costs: clinical_utility costs: unknown label 'Efusion'"):
        EvalConfig(metrics=["clinical_utility"], utility_costs={"Efusion": {"miss": 1}})


def _truth_report(truth) -> str:
    """The drawn findings written in the clean world's language (the labeller reads them exactly)."""
    from radgrpo.data.sources.synthetic import SynthFinding, write_report

    findings = [
        SynthFinding(t["finding"], t["side"], "mid", "moderate" if t["finding"] == "cardiomegaly" else "small", [])
        for t in truth
    ]
    return write_report(findings, random.Random(0))[1]


def test_end_to_end_readers_world(tmp_path):
    from radgrpo.data.sources.synthetic import SynthConfig
    from radgrpo.data.synth import synthesize
    from radgrpo.eval.compare import compare_folders
    from radgrpo.records import read_jsonl

    # `radgrpo data synth --world readers`: PNGs + test.jsonl (the report browser shows the images)
    synthesize(
        SynthConfig(out=str(tmp_path / "data"), image_size=32, world="readers", n_train=0, n_test=40), progress=False
    )
    records = read_jsonl(tmp_path / "data" / "test.jsonl")
    assert all("truth" in r.meta for r in records) and len({r.task for r in records}) == 2

    def predictions(kind: str) -> list[Prediction]:
        out = []
        for r in records:
            truth = r.meta["truth"]
            if r.task.value == "report_generation":
                text = _truth_report(truth) if kind == "truth" else r.reference_report
            else:
                boxes = (
                    next(t["boxes"] for t in truth if t["finding"] == r.target)
                    if kind == "truth"
                    else r.reference_boxes
                )
                text = " and ".join(f"[{', '.join(f'{v:.4f}' for v in b)}]" for b in boxes)
            out.append(Prediction(r.id, r.task.value, r.question, text, text, 5, True))
        return out

    metrics = ["soft_f1", "ap_50", "rule_finding_f1", "clinical_utility"]
    data = {}
    for kind in ("reader", "truth"):
        cfg_eval = EvalConfig(out=str(tmp_path / kind), metrics=metrics, n_resamples=50, run_name=kind, html=True)
        data[kind] = evaluate_predictions(predictions(kind), records, cfg_eval, base_dir=tmp_path / "data")
    reader, truth = data["reader"], data["truth"]
    # the reader's own report is perfect against itself, the truth's against the truth
    assert reader["rule_finding_f1"] == 1.0 and reader["clinical_utility"] == 0.0 and reader["map_50"] == 1.0
    assert truth["rule_finding_f1_truth"] == 1.0 and truth["rule_finding_f1_side_truth"] == 1.0
    assert truth["clinical_utility_truth"] == 0.0 and truth["map_50_truth"] == 1.0
    assert truth["recall_truth/subtle"] == truth["recall_side_truth/conspicuous"] == 1.0
    # the reader misses subtle findings: below the truth on every truth metric, and more on the subtle ones
    assert reader["rule_finding_f1_truth"] < 1.0 and reader["clinical_utility_truth"] < 0.0
    assert reader["recall_truth/subtle"] < reader["recall_truth/conspicuous"] <= 1.0
    for name in ("rule_finding_f1_truth", "clinical_utility_truth", "recall_truth/subtle", "map_50_truth"):
        assert (
            name in reader["ci"]
            and name in reader["per_task"]["report_generation" if "map" not in name else "abnormality_grounding"]
        )
    assert any("map_50_truth" in v for v in reader["per_target"].values())
    saved = json.loads((tmp_path / "truth" / "results.json").read_text())
    assert saved["detail"]["overall"]["clinical_utility_truth"]["n"] > 0
    html = (tmp_path / "reader" / "report.html").read_text()
    for text in ("utility vs truth", "recall subtle (truth)", "map_50_truth", "clinical_utility_truth"):
        assert text in html, text
    # radgrpo compare pairs the truth metrics (truth predictor vs reader reference)
    comp = compare_folders([tmp_path / "reader", tmp_path / "truth"], n_resamples=200)
    m = comp["comparisons"][0]["metrics"]
    for name in (
        "rule_finding_f1_truth",
        "rule_finding_f1_side_truth",
        "clinical_utility_truth",
        "recall_truth/subtle",
        "recall_side_truth/conspicuous",
        "map_50_truth",
        "clinical_utility",
    ):
        assert name in m, name
    assert m["clinical_utility_truth"]["diff"] > 0 and m["clinical_utility"]["diff"] < 0
    assert m["clinical_utility_truth"]["run"] == 0.0


def test_clean_world_has_no_truth_results(tmp_path):
    from radgrpo.data.sources.synthetic import SynthConfig
    from radgrpo.data.synth import synthesize
    from radgrpo.records import read_jsonl

    synthesize(SynthConfig(out=str(tmp_path / "data"), image_size=32, n_train=0, n_test=10), progress=False)
    records = read_jsonl(tmp_path / "data" / "test.jsonl")
    assert not any("truth" in r.meta for r in records)
    preds = [Prediction(r.id, r.task.value, r.question, r.answer, r.answer, 5, True) for r in records]
    cfg = EvalConfig(
        out=str(tmp_path / "eval"),
        metrics=["soft_f1", "ap_50", "rule_finding_f1", "clinical_utility"],
        n_resamples=20,
        html=False,
    )
    data = evaluate_predictions(preds, records, cfg)
    assert data["clinical_utility"] == 0.0 and data["rule_finding_f1"] == 1.0
    keys = {k for block in (data, *data["per_task"].values(), *data["per_target"].values()) for k in block}
    assert not any("truth" in k for k in keys)
    rows = [json.loads(line) for line in (tmp_path / "eval" / "scores.jsonl").read_text().splitlines()]
    assert not any("truth" in k for r in rows for k in r)
