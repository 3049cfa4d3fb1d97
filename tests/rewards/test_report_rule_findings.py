"""``rule_finding_f1`` report reward: equals the rule-labeller sample F1 (side-aware by default), task routing, the
BLEU-4 blend with references first, thinking rule, pickling, registry entry.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_report_rule_findings.py
"""

import pickle

import pytest

from radgrpo.metrics.text.rule_labeler import rule_finding_sample_f1
from radgrpo.rewards import get_reward
from radgrpo.rewards.registry import REWARDS
from radgrpo.rewards.report import LexicalReportReward, bleu4_pairs, make_rule_finding_f1_reward, rule_finding_f1_pairs

REFS = [
    "Moderate cardiomegaly. Small left pleural effusion. No pneumothorax.",
    "Normal heart size. No focal consolidation. No pleural effusion or pneumothorax.",
    "Normal heart size. Small bilateral pleural effusions. No pneumothorax.",
    "Normal heart size. No focal consolidation. Small right apical pneumothorax.",
]
HYPS = [
    "Moderate cardiomegaly. Small right pleural effusion. No pneumothorax.",  # side 1/2 (tp1 fp1 fn1), plain 1
    "The heart size is normal. No pleural effusion. No pneumothorax.",  # both empty -> 1
    "Normal heart size. Small right pleural effusion.",  # side 2/3, plain 1
    "Normal heart size. No pneumothorax.",
]  # 0


def test_values_are_the_sample_f1_and_grounding_gets_none():
    r = get_reward("rule_finding_f1")
    assert isinstance(r, LexicalReportReward) and r.__name__ == "rule_finding_f1"
    out = r(
        HYPS + ["[0.1, 0.2, 0.3, 0.4]"],
        reference_report=REFS + [None],
        task=["report_generation"] * 4 + ["abnormality_grounding"],
    )
    assert out[:4] == pytest.approx([0.5, 1.0, 2 / 3, 0.0])
    assert out[:4] == rule_finding_sample_f1(HYPS, REFS, side=True)
    assert out[4] is None and r.n_failed == 0
    plain = get_reward("rule_finding_f1", side=False)
    assert plain(HYPS, reference_report=REFS) == pytest.approx([1.0, 1.0, 1.0, 0.0])


def test_lexical_blend_is_exact_and_references_come_first():
    # asymmetric pair: BLEU-4's brevity penalty makes BLEU(ref, hyp) != BLEU(hyp, ref)
    ref = (
        "Moderate cardiomegaly. Small left pleural effusion. No pneumothorax. No focal consolidation. The lungs "
        "are otherwise clear."
    )
    hyp = "Moderate cardiomegaly. Small left pleural effusion. No pneumothorax."
    bleu = float(bleu4_pairs([ref], [hyp])[0])
    swapped = float(bleu4_pairs([hyp], [ref])[0])
    assert abs(bleu - swapped) > 0.05
    f1 = rule_finding_sample_f1([hyp], [ref], side=True)[0]
    assert f1 == 1.0
    r = get_reward("rule_finding_f1", lexical_weight=0.5)
    got = r([hyp], reference_report=[ref])[0]
    assert got == pytest.approx(0.5 * f1 + 0.5 * bleu, abs=1e-12)
    assert got != pytest.approx(0.5 * f1 + 0.5 * swapped)
    # an asymmetric finding case: the metric takes (refs, hyps); a predicted extra finding is a false positive
    assert rule_finding_f1_pairs(
        ["Mild cardiomegaly."], ["Mild cardiomegaly. Small left apical pneumothorax."], lexical_weight=0.0
    ).tolist() == pytest.approx([2 / 3])
    # lexical_weight 1 is pure BLEU-4, 0 is pure F1
    assert get_reward("rule_finding_f1", lexical_weight=1.0)([hyp], reference_report=[ref])[0] == pytest.approx(
        bleu, abs=1e-12
    )
    assert get_reward("rule_finding_f1", lexical_weight=0.0)([hyp], reference_report=[ref]) == [1.0]
    with pytest.raises(ValueError, match="lexical_weight"):
        make_rule_finding_f1_reward(lexical_weight=1.5)


def test_thinking_rule():
    r = make_rule_finding_f1_reward(thinking=True)
    out = r(["<think>left or right?</think> " + REFS[0], REFS[0]], reference_report=[REFS[0]] * 2)
    assert out == [1.0, 0.0]  # the text after the last </think>; no tag -> 0.0
    assert get_reward("rule_finding_f1")([REFS[0]], reference_report=[REFS[0]], thinking=[True]) == [0.0]


def test_pickles_and_registry_entry():
    r = make_rule_finding_f1_reward(side=False, lexical_weight=0.25, name="rf")
    back = pickle.loads(pickle.dumps(r))
    assert back.__name__ == "rf"
    assert back(HYPS, reference_report=REFS) == r(HYPS, reference_report=REFS)
    target, desc, metric, _ = REWARDS["rule_finding_f1"]
    assert target == "radgrpo.rewards.report:make_rule_finding_f1_reward" and metric == "rule_finding_f1"
    assert "not CheXbert" in desc and "side-aware by default" in desc


def test_rule_finding_errors_counts_misses_and_false_findings():
    import pickle

    from radgrpo.rewards.registry import get_reward

    r = get_reward("rule_finding_errors")
    refs = [
        "Moderate cardiomegaly. Small left pleural effusion. No pneumothorax.",  # 2 findings
        "The heart size is normal. No focal consolidation. No pleural effusion or pneumothorax.",  # none
        "Normal heart size. Small right apical pneumothorax. No pleural effusion.",
    ]
    hyps = [
        "Moderate cardiomegaly. No pleural effusion or pneumothorax.",  # 1 miss
        "Mild cardiomegaly. There is a small focal consolidation in the left upper lung zone.",  # 2 false
        "Normal heart size. Small left apical pneumothorax. No pleural effusion.",
    ]  # right finding, wrong side
    assert r(hyps, reference_report=refs) == pytest.approx([-1.0, -1.4, 0.0])
    side = get_reward("rule_finding_errors", side=True, false_positive_cost=0.5)
    assert side(hyps, reference_report=refs) == pytest.approx([-1.0, -1.0, -1.5])  # wrong side: 1 miss + 1 false
    assert r(["[0.1, 0.1, 0.5, 0.5]"], reference_report=["x"], task=["abnormality_grounding"]) == [None]
    assert pickle.loads(pickle.dumps(r))(hyps[:1], reference_report=refs[:1]) == [-1.0]
    with pytest.raises(ValueError, match="false_positive_cost must be > 0"):
        get_reward("rule_finding_errors", false_positive_cost=0)
