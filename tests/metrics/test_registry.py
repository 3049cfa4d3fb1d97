"""The one metric table: names, the references-first convention, values equal to the underlying metrics, the models
each needs, and that evaluation and ``--metrics`` help read it (no second table).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/test_registry.py
"""

import dataclasses

import pytest

from radgrpo.metrics.grounding import matched_mean_iou, radvlm_ap, soft_f1
from radgrpo.metrics.loaders import ModelNotFoundError, all_model_specs
from radgrpo.metrics.registry import (
    DEFAULT_METRICS,
    METRICS,
    MetricSpec,
    check_metrics,
    get_metric,
    list_metrics,
    metrics_help,
    register_metric,
    require_all_models,
)
from radgrpo.metrics.text import score_bleu, score_gleu, score_rouge_l

GT = [(0.38, 0.47, 0.76, 0.62)]
NEAR = "[0.35, 0.51, 0.75, 0.64]"
FAR = "[0.84, 0.34, 0.91, 0.50]"
ALL = [
    "soft_f1",
    "soft_f1_dice",
    "ap_50",
    "matched_iou",
    "bleu4",
    "rougeL",
    "gleu",
    "bertscore",
    "radgraph",
    "radcliq",
    "green",
    "chexbert",
    "rule_finding_f1",
    "clinical_utility",
]
#: scored against the drawn truth of synthetic records, each with the metric it comes with
TRUTH = {
    "rule_finding_f1_truth": "rule_finding_f1",
    "recall_truth": "rule_finding_f1",
    "clinical_utility_truth": "clinical_utility",
    "soft_f1_truth": "soft_f1",
    "soft_f1_dice_truth": "soft_f1_dice",
    "ap_50_truth": "ap_50",
    "matched_iou_truth": "matched_iou",
}


def test_names_kinds_aggregations_and_defaults():
    assert list_metrics() == ALL + list(TRUTH)
    assert list_metrics("grounding") == ALL[:4] + [n for n in TRUTH if TRUTH[n] in ALL[:4]]
    assert list_metrics("report") == ["bleu4", "rougeL", "gleu", "bertscore", "radgraph", "radcliq", "green"]
    assert list_metrics("label") == ["chexbert", "rule_finding_f1", "clinical_utility", *list(TRUTH)[:3]]
    assert DEFAULT_METRICS == ("soft_f1", "soft_f1_dice", "ap_50", "matched_iou", "bleu4", "rougeL")
    assert [n for n in METRICS if METRICS[n].aggregation == "corpus"] == [
        "chexbert",
        "rule_finding_f1",
        "rule_finding_f1_truth",
        "recall_truth",
    ]
    assert [n for n in ALL if not METRICS[n].higher_is_better] == ["radcliq"]
    assert get_metric("ap_50").results == ("map_50",) and get_metric("bleu4").results == ("bleu4",)
    assert {n: METRICS[n].truth_of for n in METRICS if METRICS[n].truth_of} == TRUTH
    assert get_metric("ap_50_truth").results == ("map_50_truth",)
    assert get_metric("clinical_utility").results == ("clinical_utility", "clinical_utility/<Label>")
    assert (get_metric("clinical_utility").kind, get_metric("clinical_utility").aggregation) == ("label", "mean")


def test_grounding_entries_equal_the_metric_functions_references_first():
    refs = [GT, GT, GT, GT]
    answers = [NEAR, f"{NEAR} and {FAR}", f"{FAR} and {NEAR}", "no box"]
    from radgrpo.boxes import parse_boxes, parse_boxes_radvlm_eval

    boxes = [parse_boxes(a) for a in answers]
    assert get_metric("soft_f1").score(refs, answers) == [soft_f1(b, GT) for b in boxes]
    assert get_metric("soft_f1_dice").score(refs, answers) == [soft_f1(b, GT, variant="dice") for b in boxes]
    assert get_metric("matched_iou").score(refs, answers) == [matched_mean_iou(b, GT) for b in boxes]
    assert get_metric("ap_50").score(refs, answers) == [radvlm_ap(parse_boxes_radvlm_eval(a), GT) for a in answers]
    assert get_metric("ap_50").score(refs, answers) == [1.0, 1.0, 0.5, 0.0]  # RadVLM AP depends on output order
    # already parsed boxes give the same values as the answer text
    assert get_metric("soft_f1").score(refs, boxes) == get_metric("soft_f1").score(refs, answers)
    # each metric parses the prediction with its own parser: RadVLM's evaluation regex has no minus sign
    ref, answer = [[(0.0, 0.2, 0.5, 0.6)]], ["[-0.05, 0.2, 0.5, 0.6]"]  # IoU 0.2 / 0.22 = 10/11
    assert get_metric("ap_50").score(ref, answer) == [0.0]
    assert get_metric("soft_f1_dice").score(ref, answer)[0] == pytest.approx(10 / 11, abs=1e-12)


def test_report_entries_take_references_first():
    refs, hyps = ["no acute cardiopulmonary process", "mild edema"], ["no acute process", "mild edema"]
    assert get_metric("bleu4").score(refs, hyps) == score_bleu(refs, hyps, n=4).tolist()
    assert get_metric("rougeL").score(refs, hyps) == score_rouge_l(refs, hyps).tolist()
    assert get_metric("gleu").score(refs, hyps) == score_gleu(refs, hyps).tolist()
    assert get_metric("bleu4").function()(refs, hyps).tolist() == score_bleu(refs, hyps, n=4).tolist()
    # BLEU is asymmetric (precisions and brevity penalty are on the hypothesis): swapping changes the value
    assert get_metric("bleu4").score(refs, hyps)[0] != get_metric("bleu4").score(hyps, refs)[0]


def test_label_entries_write_their_row_fields():
    spec = get_metric("rule_finding_f1")
    rows = spec.score(
        ["Moderate cardiomegaly. Small left pleural effusion."],
        ["Moderate cardiomegaly. Small right pleural effusion."],
    )
    assert set(rows[0]) == set(spec.row_fields)
    assert rows[0]["rule_finding_side_hyp"] == ["Cardiomegaly|none", "Pleural Effusion|right"]
    assert (rows[0]["rule_finding_tp"], rows[0]["rule_finding_side_tp"], rows[0]["rule_finding_side_fp"]) == (2, 1, 1)
    from radgrpo.eval.summarize import CHEXBERT_POLICIES
    from radgrpo.metrics.text.chexbert import F1_KEYS

    assert get_metric("chexbert").results == tuple(f"{p}_{k}" for p in CHEXBERT_POLICIES for k in F1_KEYS)


def test_every_model_named_is_known_to_the_loaders():
    known = all_model_specs()
    named = {m for s in METRICS.values() for m in s.models}
    assert named == {
        "distilbert-base-uncased",
        "radgraph-xl",
        "radgraph-xl-backbone",
        "distilroberta-base",
        "chexbert",
        "bert-base-uncased",
        "GREEN-radllama2-7b",
    }
    assert named <= set(known)
    assert get_metric("chexbert").models == ("chexbert", "bert-base-uncased")


def test_missing_model_is_a_clear_error_and_present_one_resolves(tmp_path, monkeypatch):
    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # an empty HF cache
    spec = get_metric("bertscore")
    assert spec.missing_models() == ["distilbert-base-uncased"]
    with pytest.raises(ModelNotFoundError, match="radgrpo models download distilbert-base-uncased"):
        require_all_models(["bertscore"])
    folder = tmp_path / "distilbert-base-uncased"
    folder.mkdir()
    for f in ("config.json", "vocab.txt"):
        (folder / f).write_text("{}")
    assert spec.missing_models() == ["distilbert-base-uncased"]  # no weights yet
    (folder / "pytorch_model.bin").write_bytes(b"")
    assert spec.missing_models() == []
    require_all_models(["bertscore"])
    assert get_metric("soft_f1").missing_models() == []


def test_model_free_functions_load_and_missing_ones_say_so():
    for name in ("soft_f1", "soft_f1_dice", "ap_50", "matched_iou", "bleu4", "rougeL", "gleu", "rule_finding_f1"):
        assert callable(get_metric(name).load())
    with pytest.raises(ValueError, match=r"metric 'fancy' \(a test\) is not available.*does_not_exist"):
        MetricSpec("fancy", "report", "radgrpo.metrics.text.does_not_exist:score_fancy", "a test").load()


def test_unknown_name_lists_valid_ones_and_register_guards():
    with pytest.raises(KeyError, match="soft_f1"):
        get_metric("mAP")
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['bleu5'\]; did you mean bleu4\?"):
        check_metrics(["bleu5"])
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['mAP'\] \(valid: soft_f1, "):
        check_metrics(["bleu4", "mAP"])
    assert check_metrics(None) == list(DEFAULT_METRICS)
    with pytest.raises(ValueError, match="kind"):
        MetricSpec("x", "image", "m:f", "")
    with pytest.raises(ValueError, match="aggregation"):
        MetricSpec("x", "report", "m:f", "", aggregation="median")
    with pytest.raises(ValueError, match="module:function"):
        MetricSpec("x", "report", "m.f", "")
    with pytest.raises(ValueError, match="already registered"):
        register_metric(MetricSpec("bleu4", "report", "radgrpo.metrics.text.bleu:score_bleu", "again"))


def test_metrics_help_lists_every_table_name():
    text = metrics_help()
    assert all(n in text.split() for n in list_metrics()), text
    assert "distilbert-base-uncased" in text and "radgrpo models download" in text and "%" not in text
    from radgrpo.eval.config import EvalConfig

    field = next(f for f in dataclasses.fields(EvalConfig) if f.name == "metrics")
    assert field.metadata["help"] == text


def test_evaluation_reads_the_table():
    """(a) every name evaluation accepts is in the table and vice versa; a new entry is scored with no other edit."""
    from radgrpo.eval.generate import Prediction
    from radgrpo.eval.score import available_metrics, score_predictions
    from radgrpo.eval.summarize import LOWER_IS_BETTER, RESULT_NAMES, summarize
    from radgrpo.records import Record

    assert available_metrics() == list_metrics()
    assert RESULT_NAMES == {"ap_50": "map_50", "ap_50_truth": "map_50_truth", "parseable": "format_valid_rate"}
    assert {"radcliq"} == LOWER_IS_BETTER
    recs = [
        Record(
            id="g",
            image="g.png",
            task="abnormality_grounding",
            question="q",
            answer=NEAR,
            reference_boxes=GT,
            target="cardiomegaly",
        ),
        Record(
            id="r",
            image="r.png",
            task="report_generation",
            question="q",
            answer="x",
            reference_report="Mild cardiomegaly. No pneumothorax.",
        ),
    ]
    preds = [
        Prediction("g", "abnormality_grounding", "q", NEAR, NEAR, 9, True),
        Prediction("r", "report_generation", "q", "Mild cardiomegaly.", "Mild cardiomegaly.", 5, True),
    ]
    free = ["soft_f1", "soft_f1_dice", "ap_50", "matched_iou", "bleu4", "rougeL", "gleu", "rule_finding_f1"]
    g, r = score_predictions(preds, recs, metrics=free)
    assert [k for k in g if k in METRICS] == list_metrics("grounding")[:4]  # no truth on these records
    assert [k for k in r if k in METRICS] == ["bleu4", "rougeL", "gleu"]
    assert set(get_metric("rule_finding_f1").row_fields) <= set(r)
    assert r["gleu"] == get_metric("gleu").score(["Mild cardiomegaly. No pneumothorax."], ["Mild cardiomegaly."])[0]
    spec = MetricSpec(
        "bleu2_test",
        "report",
        "radgrpo.metrics.text.bleu:score_bleu",
        "BLEU-2 (test entry)",
        (("n", 2),),
        higher_is_better=False,
    )
    register_metric(spec)
    try:
        assert "bleu2_test" in available_metrics()
        rows = score_predictions(preds, recs, metrics=["bleu2_test"])
        want = score_bleu(["Mild cardiomegaly. No pneumothorax."], ["Mild cardiomegaly."], n=2)[0]
        assert rows[1]["bleu2_test"] == pytest.approx(want, abs=0) and "bleu2_test" not in rows[0]
        res = summarize(rows, n_resamples=10).overall["bleu2_test"]
        assert res.value == pytest.approx(want, abs=0) and res.higher_is_better is False
    finally:
        METRICS.pop("bleu2_test")


def test_specs_carry_how_their_results_are_shown():
    """Labels, scale, decimals and direction of every result, for any key form, from the one table."""
    from radgrpo.metrics.display import (
        chart_results,
        format_value,
        higher_is_better,
        label,
        per_target_results,
        result_order,
        score_key,
        spec_for,
    )
    from radgrpo.metrics.registry import DERIVED, DerivedSpec

    # the paper's abbreviations, as Table 1 shows them
    assert [label(n) for n in ("rougeL", "bertscore", "chexbert_micro_14", "chexbert_macro_14", "radgraph")] == [
        "R-L",
        "B-S",
        "CXb-micro",
        "CXb-macro",
        "RGF1",
    ]
    assert [format_value(n, v) for n, v in (("bleu4", 0.1234), ("radcliq", 0.876), ("anc", 181.6), ("n", 7))] == [
        "12.3",
        "0.88",
        "182",
        "7",
    ]
    assert format_value("bleu4", None) == format_value("bleu4", float("nan")) == "–"
    # key forms: results.json name, score key, per-finding result, log key, CI bound, derived result
    for key in ("map_50", "ap_50", "eval_abnormality_grounding/map_50", "map_50_ci_high"):
        assert spec_for(key).name == "map_50" and spec_for(key).label == "mAP@0.5", key
    assert spec_for("rule_finding_f1_truth/Pneumothorax").label == "finding-F1 Pneumothorax vs truth"
    assert spec_for("n_unscored_green").owner == "n_unscored_<metric>" and spec_for("nope") is None
    assert (higher_is_better("radcliq"), higher_is_better("anc"), higher_is_better("clinical_utility")) == (
        False,
        None,
        True,
    )
    assert (score_key("map_50_truth"), score_key("anc"), score_key("format_valid_rate")) == (
        "ap_50_truth",
        "answer_chars",
        "parseable",
    )
    # every result of every entry has a label and a place in the order; derived results come after the metrics
    every = [r for s in (*METRICS.values(), *DERIVED.values()) for r in s.results if "<" not in r]
    assert all(spec_for(r).label for r in every) and result_order(reversed(every)) == every
    assert set(chart_results()) <= set(every) and set(per_target_results(table=True)) <= set(per_target_results())
    assert "format_valid_rate" in per_target_results() and "soft_f1_dice" not in per_target_results()
    # a label for a result the entry does not give, or a table column without the per-target summary, is refused
    with pytest.raises(ValueError, match="labels name results it does not give"):
        MetricSpec("x", "report", "m:f", "d", labels=(("y", "Y"),))
    with pytest.raises(ValueError, match="target_table needs per_target"):
        DerivedSpec("x", "d", target_table=True)
