"""Rewards that wrap a metric give the metric table's value on hand-made pairs, and every report reward shares one
base class (answer extraction, reference check, batch loop).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_base_metric_table.py
"""

import pytest

from radgrpo.metrics.registry import get_metric
from radgrpo.rewards import get_reward
from radgrpo.rewards.base import ReportReward
from radgrpo.rewards.clinical import BERTScoreReward, ClinicalReportReward, RadCliQReward, RadGraphReward
from radgrpo.rewards.report import LexicalReportReward, bleu4_pairs, gleu_pairs

REFS = [
    "No pleural effusion or pneumothorax. Mild cardiomegaly.",
    "a b c d",
    "The heart is enlarged.",
    "no acute cardiopulmonary process",
]
HYPS = [
    "Mild cardiomegaly. No pleural effusion.",
    "a b x",
    "The heart is enlarged .",
    "no acute cardiopulmonary process",
]
GT = [(0.38, 0.47, 0.76, 0.62)]


@pytest.mark.parametrize("name", ["bleu4", "gleu"])
def test_lexical_reward_equals_the_table_metric(name):
    reward, metric = get_reward(name), get_metric(name)
    assert reward(HYPS, reference_report=REFS) == metric.score(REFS, HYPS)


def test_hand_values():
    # GLEU "a b x" vs "a b c d": matches a, b, "a b" = 3; hyp 3+2+1 = 6 n-grams, ref 4+3+2+1 = 10 -> min(3/6, 3/10)
    assert get_reward("gleu")(["a b x"], reference_report=["a b c d"]) == [0.3]
    assert get_metric("gleu").score(["a b c d"], ["a b x"]) == [0.3]
    # identical 4-word texts: BLEU-4 = 1 (up to coco-caption's 1e-9 smoothing terms)
    assert get_reward("bleu4")([HYPS[3]], reference_report=[REFS[3]])[0] == pytest.approx(1.0, abs=1e-8)
    assert get_metric("bleu4").score([REFS[3]], [HYPS[3]])[0] == pytest.approx(1.0, abs=1e-8)


def test_reward_functions_are_the_table_functions():
    assert bleu4_pairs(REFS, HYPS).tolist() == get_metric("bleu4").score(REFS, HYPS)
    assert gleu_pairs(REFS, HYPS).tolist() == get_metric("gleu").score(REFS, HYPS)
    assert get_reward("bleu4").metric.func is get_metric("bleu4").load()
    assert get_reward("gleu").metric is get_metric("gleu").load()


@pytest.mark.parametrize(
    "reward_name,metric_name", [("grounding_soft_f1", "soft_f1"), ("grounding_soft_f1_dice", "soft_f1_dice")]
)
def test_grounding_reward_equals_the_table_metric(reward_name, metric_name):
    answers = [
        "[0.35, 0.51, 0.75, 0.64]",
        "[0.35, 0.51, 0.75, 0.64] and [0.84, 0.34, 0.91, 0.50]",
        "no box",
        "[0.38, 0.47, 0.76, 0.62]",
    ]
    got = get_reward(reward_name)(answers, reference_boxes=[GT] * 4)
    assert got == get_metric(metric_name).score([GT] * 4, answers)
    assert got[2] == 0.0 and got[3] == pytest.approx(1.0, abs=1e-7)


def test_one_report_base_class():
    for cls in (LexicalReportReward, ClinicalReportReward, RadCliQReward, BERTScoreReward, RadGraphReward):
        assert issubclass(cls, ReportReward)
        assert "score_batch" not in vars(cls) and "_answer" not in vars(cls)  # the loop lives in the base only
    for name in ("bleu4", "gleu", "rule_finding_f1", "rule_finding_errors", "radcliq", "bertscore", "radgraph_f1"):
        assert isinstance(get_reward(name), ReportReward)


def test_base_adds_answer_components_and_missing_think_score():
    class Words(ReportReward):
        def score_pairs(self, refs, answers):
            return [float(len(a.split())) for a in answers]

    r = Words("words", missing_think_score=-1.0)
    b = r.breakdowns(
        ["<think>x</think> one two", "no tag", "three"], reference_report=["r"] * 3, thinking=[True, True, False]
    )
    assert [x.total for x in b] == [2.0, -1.0, 1.0]
    assert [x.components for x in b] == [{"answer_found": 1.0}, {"answer_found": 0.0}, {}]
    with pytest.raises(ValueError, match="reference_report"):
        r._reference({"reference_report": "  "})
