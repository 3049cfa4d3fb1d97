"""Metric registry: names, uniform (predictions, references) convention, values equal to the underlying metrics.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/test_metrics_registry.py
"""

import pytest

from radgrpo.metrics.grounding import radvlm_ap, soft_f1
from radgrpo.metrics.registry import METRICS, MetricSpec, get_metric, list_metrics, register_metric
from radgrpo.metrics.text import score_bleu, score_rouge_l

GT = [(0.38, 0.47, 0.76, 0.62)]
PRED = [(0.35, 0.51, 0.75, 0.64)]


def test_registered_names():
    assert list_metrics() == ["bleu4", "gleu", "map_50", "matched_iou", "rougeL", "soft_f1", "soft_f1_dice"]
    assert list_metrics("report") == ["bleu4", "gleu", "rougeL"]
    assert all(METRICS[n].higher_is_better for n in list_metrics())


def test_grounding_specs_equal_the_metric_functions():
    preds, refs = [PRED, PRED + [(0.84, 0.34, 0.91, 0.5)], []], [GT, GT, GT]
    assert get_metric("soft_f1").score_fn(preds, refs) == [soft_f1(p, g) for p, g in zip(preds, refs)]
    assert get_metric("map_50").score_fn(preds, refs) == [1.0, 1.0, 0.0]
    assert get_metric("map_50").aggregate_fn([radvlm_ap(p, g) for p, g in zip(preds, refs)]) == pytest.approx(2 / 3)
    assert get_metric("soft_f1_dice").score_fn(preds, refs)[1] == pytest.approx(2 * 0.5959004392 / 3)


def test_report_specs_take_predictions_first():
    refs, hyps = ["no acute cardiopulmonary process", "mild edema"], ["no acute process", "mild edema"]
    assert get_metric("bleu4").score_fn(hyps, refs) == score_bleu(refs, hyps, n=4).tolist()
    assert get_metric("rougeL").score_fn(hyps, refs) == score_rouge_l(refs, hyps).tolist()
    # BLEU is asymmetric (precisions and brevity penalty are on the hypothesis): swapping changes the value
    assert get_metric("bleu4").score_fn(refs, hyps)[0] != get_metric("bleu4").score_fn(hyps, refs)[0]


def test_unknown_name_lists_valid_ones_and_register_guards():
    with pytest.raises(KeyError, match="soft_f1"):
        get_metric("mAP")
    with pytest.raises(ValueError, match="kind"):
        register_metric(MetricSpec("x", lambda p, r: [], kind="image"))
    spec = MetricSpec("tmp_len", lambda p, r: [float(len(x)) for x in p], higher_is_better=False)
    try:
        register_metric(spec)
        assert get_metric("tmp_len").score_fn(["ab"], ["c"]) == [2.0]
        with pytest.raises(ValueError, match="already registered"):
            register_metric(spec)
    finally:
        METRICS.pop("tmp_len", None)
