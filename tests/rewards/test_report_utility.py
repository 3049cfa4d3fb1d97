"""``clinical_utility`` reward: values on hand-written completions (the metric's code), side option, custom costs
validated at construction, task routing (a non-report sample -> None), the thinking rule (no ``</think>`` -> an empty
report), pickling, the registry (its line in ``radgrpo rewards list``: tests/cli/test_rewards_list.py), and the
reward -> metric maps of the reward service and the report's Table 3 agreeing.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_report_utility.py
"""

import pickle

import pytest

from radgrpo.metrics.registry import get_metric
from radgrpo.metrics.text.utility import score_clinical_utility
from radgrpo.rewards import get_reward, list_rewards
from radgrpo.rewards.registry import REWARDS, reward_options
from radgrpo.rewards.report import LexicalReportReward, make_clinical_utility_reward

REFS = [
    "Moderate cardiomegaly. Small left pleural effusion. No pneumothorax.",
    "The heart size is normal. No focal consolidation. No pleural effusion. No pneumothorax.",
    "Normal heart size. Possible small right pleural effusion. No pneumothorax.",
    "Normal heart size. No focal consolidation. Small right apical pneumothorax.",
]
HYPS = [
    "Moderate cardiomegaly. Small right pleural effusion. No pneumothorax.",  # wrong-side effusion: -2
    "Mild cardiomegaly. No pleural effusion.",  # false cardiomegaly: -1
    "Normal heart size. Small right pleural effusion.",  # the hedged reference effusion, named: 0
    "Normal heart size. A small left apical pneumothorax cannot be excluded.",  # hedged, wrong side: -3
]


def test_values_on_hand_written_completions():
    r = get_reward("clinical_utility")
    assert isinstance(r, LexicalReportReward) and r.__name__ == "clinical_utility"
    out = r(
        HYPS + ["[0.1, 0.2, 0.3, 0.4]"],
        reference_report=REFS + ["Mild cardiomegaly."],
        task=["report_generation"] * 4 + ["abnormality_grounding"],
    )
    assert out == [-2.0, -1.0, 0.0, -3.0, None] and r.n_failed == 0
    assert out[:4] == score_clinical_utility(REFS, HYPS)  # the metric's code
    assert [row["clinical_utility"] for row in get_metric("clinical_utility").score(REFS, HYPS)] == out[:4]
    assert get_reward("clinical_utility", side=False)(HYPS, reference_report=REFS) == [0.0, -1.0, 0.0, 0.0]
    # a missed pneumothorax costs more than a missed cardiomegaly, a false finding 1 for every label
    assert r(["Normal heart size. No pneumothorax."] * 2, reference_report=[REFS[3], REFS[0]]) == [-3.0, -3.5]


def test_custom_costs_and_their_validation():
    r = get_reward("clinical_utility", costs={"Pleural Effusion": {"wrong_side": 0.5}, "Cardiomegaly": {"false": 2}})
    assert r(HYPS, reference_report=REFS) == [-0.5, -2.0, 0.0, -3.0]
    with pytest.raises(ValueError, match=r"unknown label 'Effusion'"):
        get_reward("clinical_utility", costs={"Effusion": {"miss": 1}})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['cost'\]"):
        make_clinical_utility_reward(costs={"Pneumothorax": {"cost": 1}})
    with pytest.raises(TypeError, match="has no option 'sides'"):
        get_reward("clinical_utility", sides=False)


def test_thinking_sample_without_answer_is_an_empty_report():
    r = make_clinical_utility_reward(thinking=True)
    out = r(
        ["<think>left or right?</think> " + REFS[0], REFS[0], "<think>x</think> " + REFS[1]],
        reference_report=[REFS[0], REFS[0], REFS[1]],
    )
    # closed: scored on the answer; no </think>: scored as an empty report (both findings missed), not 0
    assert out == [0.0, -3.5, 0.0]


def test_pickles_and_registry():
    r = make_clinical_utility_reward(side=False, costs={"Pneumothorax": {"miss": 4}}, name="cu")
    back = pickle.loads(pickle.dumps(r))
    assert back.__name__ == "cu" and back(HYPS, reference_report=REFS) == r(HYPS, reference_report=REFS)
    assert "clinical_utility" in list_rewards()
    assert REWARDS["clinical_utility"][0] == "radgrpo.rewards.report:make_clinical_utility_reward"
    assert reward_options("clinical_utility") == {"side": True, "costs": None, "thinking": None}


def test_one_answer_to_which_metric_a_reward_scores():
    from radgrpo.eval.report.tables import reward_label, reward_metric, reward_stars
    from radgrpo.rewards.registry import reward_spec
    from radgrpo.serve.catalog import reward_info

    # the reward registry is the one answer: the service's catalogue and Table 3's "*" both read it
    for name in REWARDS:
        if name.startswith("remote:"):
            continue
        metric = reward_spec(name).metric
        assert reward_info(name)["metric"] == metric, name
        assert reward_metric(name) == (get_metric(metric).results[0] if metric else None), name
    assert reward_spec("clinical_utility").metric == "clinical_utility"
    assert reward_spec("radgraph_f1").metric == "radgraph" and reward_stars([{"name": "radgraph_f1"}]) == {"radgraph"}
    # rule_finding_errors optimises no metric of the table (its own costs): neither the catalogue nor Table 3 claims one
    assert reward_spec("rule_finding_errors").metric is None
    assert (
        reward_info("rule_finding_errors")["metric"] is None
        and reward_stars([{"name": "rule_finding_errors"}]) == set()
    )
    assert reward_info("clinical_utility") == {
        "name": "clinical_utility",
        "description": REWARDS["clinical_utility"][1],
        "options": {},
        "metric": "clinical_utility",
        "models": [],
    }
    assert reward_label([{"name": "clinical_utility"}]) == "+ utility"
