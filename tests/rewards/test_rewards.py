"""Rewards in TRL's signature: values, thinking rules, task routing, failures, registry.
Run: pytest tests/rewards/test_rewards.py"""

import pickle

import pytest

from radgrpo.metrics.grounding import soft_f1
from radgrpo.metrics.text import score_gleu
from radgrpo.rewards import get_reward, list_rewards
from radgrpo.rewards.format import think_format_reward
from radgrpo.rewards.grounding import grounding_soft_f1_reward, make_grounding_soft_f1_reward
from radgrpo.rewards.report import bleu4_reward, gleu_reward

GT = [[0.38, 0.47, 0.76, 0.62]]
ANS = "Cardiomegaly at [0.35, 0.51, 0.75, 0.64]"


def conv(text):
    return [{"role": "assistant", "content": text}]


def test_grounding_reward_equals_metric_and_handles_both_completion_forms():
    expected = soft_f1([(0.35, 0.51, 0.75, 0.64)], [tuple(GT[0])])
    out = grounding_soft_f1_reward([ANS, conv(ANS)], reference_boxes=[GT, GT])
    assert out == [pytest.approx(expected), pytest.approx(expected)]
    dice = make_grounding_soft_f1_reward(variant="dice")
    assert dice([ANS], reference_boxes=["[0.38, 0.47, 0.76, 0.62]"])[0] == pytest.approx(0.5959, abs=1e-4)


def test_grounding_thinking_rule_first_close_tag():
    th = [True] * 4
    comps = ["<think>maybe [0.1, 0.1, 0.2, 0.2]</think> " + ANS, ANS, "<think>x</think>   ",
             "<think>a</think> [0.35, 0.51, 0.75, 0.64] </think> [0, 0, 1, 1]"]
    out = grounding_soft_f1_reward(comps, reference_boxes=[GT] * 4, thinking=th)
    assert out[0] == pytest.approx(0.7468, abs=1e-4)  # the box inside <think> is ignored
    assert out[1] == 0.0 and out[2] == 0.0  # missing tag / empty answer
    # after the FIRST tag: two boxes ([0,0,1,1] is an extra FP) -> lower than the single correct box
    assert 0 < out[3] < out[0]


def test_rewards_route_by_task_and_never_crash_on_garbage():
    tasks = ["abnormality_grounding", "report_generation"]
    g = grounding_soft_f1_reward(["[1e999, 0, 1, 1] ]]][[", "x"], reference_boxes=[GT, None], task=tasks)
    assert g == [0.0, None]
    r = bleu4_reward(["x", "the heart is normal ."], reference_report=[None, "the heart is normal ."], task=tasks)
    assert r[0] is None and r[1] == pytest.approx(1.0, abs=1e-8)


def test_report_rewards_thinking_uses_last_tag_and_missing_tag_scores_zero():
    ref = "no pleural effusion or pneumothorax ."
    comps = ["<think>a</think> wrong <think>b</think> " + ref, ref]
    out = gleu_reward(comps, reference_report=[ref, ref], thinking=[True, True])
    assert out == [pytest.approx(1.0), 0.0]
    assert gleu_reward(["no effusion ."], reference_report=[ref])[0] == pytest.approx(
        score_gleu([ref], ["no effusion ."])[0])


def test_reward_failure_is_none_and_counted(caplog):
    class Boom:
        def __str__(self):
            raise RuntimeError("bad reference")

    r = make_grounding_soft_f1_reward()
    out = r([ANS], reference_boxes=[[Boom()]])  # parse_boxes skips it -> empty GT -> 0.0, not a failure
    assert out == [0.0]
    bad = bleu4_reward.__class__("bleu4_test", lambda refs, hyps: 1 / 0)
    assert bad(["a"], reference_report=["a"]) == [None]
    assert bad.failures.failures == 1
    assert "bleu4_test failed" in caplog.text


def test_think_format_reward():
    assert think_format_reward(["<think>a</think> b", "<think>a<think>b</think> c", "b"], thinking=[True, True, False]) \
        == [1.0, 0.0, None]


def test_registry_names_errors_and_pickling():
    assert {"grounding_soft_f1", "bleu4", "gleu", "think_format"} <= set(list_rewards())
    with pytest.raises(KeyError, match="valid rewards: .*grounding_soft_f1"):
        get_reward("radcliqq")
    r = get_reward("grounding_soft_f1_dice")
    assert r.__name__ == "grounding_soft_f1_dice"
    assert pickle.loads(pickle.dumps(r))([ANS], reference_boxes=[GT])[0] == pytest.approx(0.5959, abs=1e-4)
    log = []
    grounding_soft_f1_reward([ANS], reference_boxes=[GT], log_metric=lambda k, v: log.append((k, v)))
    assert log and log[0][0] == "grounding_soft_f1/mean"
