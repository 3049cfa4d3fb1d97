"""``clinical_utility`` reward: values on hand-written completions (the metric's code), side option, custom costs
validated at construction, task routing (a non-report sample -> None), the thinking rule (no ``</think>`` -> an empty
report), pickling, the registry and ``radgrpo rewards list``, and the reward -> metric maps of the reward service and
the report's Table 3 agreeing.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_clinical_utility_reward.py
"""

import pickle

import pytest

from radgrpo.cli.rewards import list_main
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


def test_pickles_registry_and_listing(capsys):
    r = make_clinical_utility_reward(side=False, costs={"Pneumothorax": {"miss": 4}}, name="cu")
    back = pickle.loads(pickle.dumps(r))
    assert back.__name__ == "cu" and back(HYPS, reference_report=REFS) == r(HYPS, reference_report=REFS)
    assert "clinical_utility" in list_rewards()
    assert REWARDS["clinical_utility"][0] == "radgrpo.rewards.report:make_clinical_utility_reward"
    assert reward_options("clinical_utility") == {"side": True, "costs": None, "thinking": None}
    assert list_main([]) == 0
    out = capsys.readouterr().out.splitlines()
    i = next(k for k, line in enumerate(out) if line.startswith("clinical_utility "))
    assert "side=True" in out[i + 1] and "costs=None" in out[i + 1]


def test_reward_metric_maps_agree():
    from radgrpo.eval.report.tables import REWARD_LABELS
    from radgrpo.eval.report.tables import REWARD_METRICS as STARRED
    from radgrpo.serve.catalog import REWARD_METRICS, reward_info

    # the service's reward -> metric entry and Table 3's reward -> starred results name the same rewards and metrics
    assert set(REWARD_METRICS) == set(STARRED)
    for reward, metric in REWARD_METRICS.items():
        assert reward in REWARDS
        assert get_metric(metric).results[0] in STARRED[reward], reward
    assert REWARD_METRICS["clinical_utility"] == "clinical_utility" and STARRED["clinical_utility"] == (
        "clinical_utility",
    )
    # rule_finding_errors optimises no metric of the table (its own costs): neither map claims one
    assert "rule_finding_errors" not in REWARD_METRICS and "rule_finding_errors" not in STARRED
    assert reward_info("rule_finding_errors")["metric"] is None
    assert reward_info("clinical_utility") == {
        "name": "clinical_utility",
        "description": REWARDS["clinical_utility"][1],
        "options": {},
        "metric": "clinical_utility",
        "models": [],
    }
    assert REWARD_LABELS["clinical_utility"] == "utility"
