"""RewardBreakdown, CompositeReward (weighted sum over a mixed grounding + report batch), log_breakdowns.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_composite.py
"""

import pytest

from radgrpo.rewards.composite import CompositeReward, RewardBreakdown, log_breakdowns
from radgrpo.rewards.format import think_format_reward
from radgrpo.rewards.grounding import grounding_soft_f1_reward
from radgrpo.rewards.report import LexicalReportReward, gleu_reward

GT = [[0.0, 0.0, 0.5, 1.0]]


def test_breakdown_validation():
    with pytest.raises(ValueError, match="finite"):
        RewardBreakdown(float("nan"))
    with pytest.raises(ValueError, match="finite"):
        RewardBreakdown(None)
    with pytest.raises(ValueError, match="no total"):
        RewardBreakdown(1.0, status="skipped")
    with pytest.raises(ValueError, match="status"):
        RewardBreakdown(1.0, status="meh")


def test_mixed_batch_weighted_sum():
    r = CompositeReward([(grounding_soft_f1_reward, 2.0), (gleu_reward, 1.0), (think_format_reward, 0.5)], name="mix")
    comps = ["<think>a</think>[0, 0, 1, 1]", "<think>a</think> no effusion", "no think"]
    out = r(
        comps,
        task=["abnormality_grounding", "report_generation", "report_generation"],
        reference_boxes=[GT, None, None],
        reference_report=[None, "no effusion", "no effusion"],
        thinking=[True, True, True],
    )
    # IoU([0,0,1,1], [0,0,.5,1]) = 0.5 -> paper_code soft-F1 = 2*0.5/1.5 = 2/3
    assert out[0] == pytest.approx(2 * (2 / 3) + 0.5, abs=1e-7)
    assert out[1] == pytest.approx(1.0 + 0.5)
    assert out[2] == 0.0  # missing tag: GLEU 0.0 and format 0.0
    bd = r.breakdowns(comps[:1], reference_boxes=[GT], thinking=[True], task=["abnormality_grounding"])[0]
    assert bd.components["grounding_soft_f1"] == pytest.approx(4 / 3, abs=1e-7)
    assert bd.components["grounding_soft_f1/n_pred_boxes"] == 1.0
    assert set(bd.components) >= {"think_format", "grounding_soft_f1/parseable"}


def test_failed_part_fails_the_sum_and_plain_functions_work():
    def always_none(completions, **kw):
        return [None] * len(completions)

    def boom(refs, hyps):
        raise RuntimeError("x")

    r = CompositeReward([(LexicalReportReward("boom", boom), 1.0), (think_format_reward, 1.0)])
    assert r(["<think>a</think> b"], reference_report=["b"]) == [None]
    r2 = CompositeReward([(always_none, 1.0), (lambda completions, **kw: [0.25] * len(completions), 4.0)])
    assert r2(["a", "b"]) == [1.0, 1.0]
    assert CompositeReward([(always_none, 1.0)])(["a"]) == [None]
    with pytest.raises(ValueError):
        CompositeReward([])
    with pytest.raises(ValueError, match="finite"):
        CompositeReward([(always_none, float("inf"))])


def test_log_breakdowns_means_failed_fraction_and_extra_columns():
    metrics, extra = [], {}
    bds = [
        RewardBreakdown(1.0, {"a": 1.0}),
        RewardBreakdown.failed("E"),
        RewardBreakdown(0.0, {"a": 0.0, "b": 2.0}),
        RewardBreakdown.skipped(),
    ]
    log_breakdowns("r", bds, lambda k, v: metrics.append((k, v)), lambda c, v: extra.__setitem__(c, v))
    assert metrics == [("r/failed_frac", 1 / 3), ("r/a", 0.5), ("r/b", 2.0)]
    assert extra == {"r/a": [1.0, None, 0.0, None], "r/b": [None, None, 2.0, None]}
    metrics.clear()
    log_breakdowns("r", [RewardBreakdown.skipped()], lambda k, v: metrics.append((k, v)), None)
    assert metrics == []
