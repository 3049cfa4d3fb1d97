"""Grounding soft-F1 reward: values equal the metric, the paper's thinking rule (first ``</think>``), task routing,
reference formats, failures -> None counted, TRL logging, pickling and TRL's name/async detection.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_grounding.py
"""

import logging
import pickle

import pytest

from radgrpo.metrics.grounding import soft_f1
from radgrpo.rewards.grounding import (
    GroundingSoftF1Reward,
    grounding_soft_f1_reward,
    make_grounding_soft_f1_reward,
    reference_boxes_of,
)

GT = [[0.38, 0.47, 0.76, 0.62]]
ANS = "Cardiomegaly at [0.35, 0.51, 0.75, 0.64]"
PAPER = 2 * 0.5959004392 / 1.5959004392  # 0.7468, docs/metrics.md#soft-f1


def conv(text):
    return [{"role": "assistant", "content": text}]


def test_equals_metric_for_string_and_conversational_completions():
    expected = soft_f1([(0.35, 0.51, 0.75, 0.64)], [tuple(GT[0])])
    assert expected == pytest.approx(PAPER, abs=1e-7)
    assert grounding_soft_f1_reward([ANS, conv(ANS)], reference_boxes=[GT, GT]) == [expected, expected]
    parts = [{"role": "assistant", "content": [{"type": "text", "text": ANS}]}]
    assert grounding_soft_f1_reward([parts], reference_boxes=[GT]) == [expected]
    # positional reference_boxes as in the TRL-style signature fn(completions, reference_boxes, **kw)
    assert grounding_soft_f1_reward([ANS], [GT]) == [expected]


def test_variants_and_min_iou():
    assert make_grounding_soft_f1_reward(variant="dice")([ANS], reference_boxes=[GT])[0] == pytest.approx(
        0.5959004392, abs=1e-10
    )
    assert make_grounding_soft_f1_reward(min_iou=0.6)([ANS], reference_boxes=[GT]) == [0.0]
    with pytest.raises(ValueError, match="variant"):
        make_grounding_soft_f1_reward(variant="f2")
    with pytest.raises(ValueError, match="min_iou"):
        make_grounding_soft_f1_reward(min_iou=1.5)


def test_thinking_rule_uses_first_close_tag():
    comps = [
        "<think>maybe [0.1, 0.1, 0.2, 0.2]</think> " + ANS,  # box inside <think> ignored
        ANS,  # missing tag -> 0
        "<think>x</think>   ",  # empty answer -> 0
        "<think>a</think> [0.35, 0.51, 0.75, 0.64] </THINK> [0.84, 0.34, 0.91, 0.50]",
        "<THINK>a</THINK>" + ANS,
    ]  # case-insensitive tag
    out = grounding_soft_f1_reward(comps, reference_boxes=[GT] * 5, thinking=[True] * 5)
    v = 0.5959004392
    p, r = v / (v + 1), v  # after the FIRST tag two boxes remain: one match + one FP
    assert out[0] == pytest.approx(PAPER, abs=1e-7)
    assert out[1:3] == [0.0, 0.0]
    assert out[3] == pytest.approx(2 * p * r / (p + r), abs=1e-7)
    assert out[4] == pytest.approx(PAPER, abs=1e-7)
    # the same text without the thinking flag is scored whole (the <think> box is an extra FP)
    no_th = grounding_soft_f1_reward(comps[:1], reference_boxes=[GT], thinking=[False])[0]
    assert no_th < out[0]
    # forcing thinking in the constructor overrides the column
    assert GroundingSoftF1Reward(thinking=True)([ANS], reference_boxes=[GT], thinking=[False]) == [0.0]


def test_task_routing_and_garbage_never_crashes():
    tasks = ["abnormality_grounding", "report_generation", "phrase_grounding", "detection"]
    out = grounding_soft_f1_reward(
        ["[1e999, 0, 1, 1] ]]][[", "x", "[[[[", "\x00" * 10], reference_boxes=[GT, None, GT, GT], task=tasks
    )
    assert out == [0.0, None, 0.0, 0.0]
    # a report-only batch needs no reference_boxes column at all
    assert grounding_soft_f1_reward(["x"], task=["report_generation"]) == [None]
    with pytest.raises(ValueError, match="reference_boxes"):
        grounding_soft_f1_reward([ANS], task=["abnormality_grounding"])
    with pytest.raises(ValueError, match="unknown task"):
        grounding_soft_f1_reward([ANS], reference_boxes=[GT], task=["grounding"])
    with pytest.raises(ValueError, match="2 values for 1 completions"):
        grounding_soft_f1_reward([ANS], reference_boxes=[GT, GT])


def test_reference_formats():
    assert reference_boxes_of("The nodule is at [0.38, 0.47, 0.76, 0.62].") == [tuple(GT[0])]
    assert reference_boxes_of(GT[0]) == [tuple(GT[0])]  # one flat box
    assert reference_boxes_of([GT[0], [1, 2]]) == [tuple(GT[0])]  # malformed entry skipped
    r = GroundingSoftF1Reward()
    out = r([ANS, ANS, ANS], reference_boxes=["[0.38, 0.47, 0.76, 0.62]", GT[0], GT])
    assert out == [pytest.approx(PAPER, abs=1e-7)] * 3


def test_failures_are_none_counted_and_warned(caplog):
    r = GroundingSoftF1Reward(name="g_test")
    with caplog.at_level(logging.WARNING, logger="radgrpo.rewards"):
        out = r([ANS, 42, ANS], reference_boxes=[GT, GT, None], task=["phrase_grounding"] * 3)
    assert out == [pytest.approx(PAPER, abs=1e-7), None, None]
    assert (r.n_failed, r.n_scored) == (2, 1)
    assert "g_test: 2 of 3 samples failed" in caplog.text
    # an empty reference scores 0.0 as in the paper, but is counted as a data error
    assert r([ANS], reference_boxes=[[]]) == [0.0]
    assert r.n_empty_reference == 1 and "no reference box" in caplog.text


def test_logs_components_through_trl_callbacks():
    metrics, extra = [], {}
    out = grounding_soft_f1_reward(
        ["<think>a</think>" + ANS, "<think>a</think> none", ANS, "x"],
        reference_boxes=[GT, GT, GT, None],
        thinking=[True, True, True, False],
        task=["anatomical_grounding"] * 3 + ["report_generation"],
        log_metric=lambda k, v: metrics.append((k, v)),
        log_extra=lambda c, v: extra.__setitem__(c, v),
        trainer_state=object(),
    )
    assert out[1:] == [0.0, 0.0, None]
    assert dict(metrics) == {
        "grounding_soft_f1/failed_frac": 0.0,
        "grounding_soft_f1/answer_found": 2 / 3,
        "grounding_soft_f1/n_pred_boxes": 1 / 3,
        "grounding_soft_f1/parseable": 1 / 3,
    }
    assert extra["grounding_soft_f1/n_pred_boxes"] == [1.0, 0.0, 0.0, None]


def test_picklable_and_named_for_trl():
    from trl.trainer.utils import get_callable_name, is_async_callable

    r = make_grounding_soft_f1_reward(variant="dice")
    r2 = pickle.loads(pickle.dumps(r))
    assert r2([ANS], reference_boxes=[GT])[0] == pytest.approx(0.5959004392, abs=1e-10)
    assert get_callable_name(r2) == "grounding_soft_f1_dice"
    assert get_callable_name(grounding_soft_f1_reward) == "grounding_soft_f1"
    assert not is_async_callable(r2)


def test_numpy_reference_boxes_score_as_their_lists():
    # a datasets/arrow column can hand the reward numpy arrays; they are the same boxes, not "no reference"
    import numpy as np

    from radgrpo.rewards import get_reward

    reward = get_reward("grounding_soft_f1")
    boxes = [[0.1, 0.2, 0.5, 0.6], [0.6, 0.2, 0.9, 0.7]]
    answers = ["The effusion is at [0.1, 0.2, 0.5, 0.6] and [0.6, 0.2, 0.9, 0.7].", "[0.1, 0.2, 0.5, 0.6]"]
    as_lists = reward(answers, reference_boxes=[boxes, boxes])
    as_arrays = reward(answers, reference_boxes=[np.array(boxes), np.array(boxes)])
    assert as_arrays == as_lists and as_lists[0] > 0.99 and 0.5 < as_lists[1] < 0.9
