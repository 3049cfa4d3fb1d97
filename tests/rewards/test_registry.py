"""Reward registry (``radgrpo rewards list``: tests/cli/test_rewards_list.py).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/rewards/test_registry.py
"""

import pytest

from radgrpo.rewards import get_reward, list_rewards, register_reward
from radgrpo.rewards.registry import REWARDS


def test_names_and_factories():
    assert {"grounding_soft_f1", "grounding_soft_f1_dice", "bleu4", "gleu", "think_format"} <= set(list_rewards())
    for name in ("grounding_soft_f1", "grounding_soft_f1_dice", "bleu4", "gleu", "think_format"):
        assert get_reward(name).__name__ == name
    r = get_reward("grounding_soft_f1", variant="dice", min_iou=0.1)
    assert (r.__name__, r.variant, r.min_iou) == ("grounding_soft_f1_dice", "dice", 0.1)
    assert get_reward("gleu", thinking=True)(["no tag"], reference_report=["no tag"]) == [0.0]
    # each call builds a fresh reward (independent failure counters)
    assert get_reward("bleu4") is not get_reward("bleu4")


def test_errors_list_valid_names():
    with pytest.raises(KeyError, match="valid rewards: .*grounding_soft_f1"):
        get_reward("radcliqq")
    with pytest.raises(TypeError):
        get_reward("bleu4", variant="dice")
    with pytest.raises(ValueError, match="already registered"):
        register_reward("gleu", "radgrpo.rewards.report:make_gleu_reward", "dup")
    with pytest.raises(ValueError, match="module:attribute"):
        register_reward("x", "radgrpo.rewards.report", "no attribute")


def test_lazy_registration_imports_only_when_requested():
    register_reward("tmp_lazy", "radgrpo_nonexistent_module:make_x", "a reward whose module does not exist")
    try:
        assert "tmp_lazy" in list_rewards()  # registering imports nothing
        with pytest.raises(ModuleNotFoundError, match="radgrpo_nonexistent_module"):
            get_reward("tmp_lazy")
    finally:
        REWARDS.pop("tmp_lazy")


def test_default_rewards_importable_from_the_package():
    import radgrpo.rewards as R

    assert R.grounding_soft_f1_reward.__name__ == "grounding_soft_f1"
    assert R.radcliq_reward.__name__ == "radcliq" and R.bertscore_reward.__name__ == "bertscore"
    assert R.radgraph_reward.__name__ == "radgraph_complete" and R.gleu_reward.__name__ == "gleu"
    # the rules that need no model: a <= 5-character answer gets the paper's floor values
    assert R.radcliq_reward(["ok"], reference_report=["No acute process."]) == [-3.0]
    assert R.bertscore_reward(["ok"], reference_report=["No acute process."]) == [0.0]
    assert R.radgraph_reward(["ok"], reference_report=["No acute process."]) == [0.0]
    assert R.gleu_reward(["no acute process"], reference_report=["no acute process"]) == [1.0]
    # a grounding prompt gets None from a report reward and vice versa
    assert R.radcliq_reward(["[0, 0, 1, 1]"], reference_report=["x"], task=["abnormality_grounding"]) == [None]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = R.nope


def test_reward_options_are_checked_by_name():
    from radgrpo.rewards.registry import check_reward_options, get_reward, reward_options

    assert reward_options("grounding_soft_f1") == {"variant": "paper_code", "min_iou": 0.0, "thinking": None}
    assert {"config", "dtype", "device", "batch_size", "model_dirs"} <= set(reward_options("radcliq"))
    assert "name" not in reward_options("radcliq") and "scorer" not in reward_options("radcliq")
    assert get_reward("radgraph_f1", level="partial").__name__ == "radgraph_partial"
    assert get_reward("radcliq", config="radcliq_v1", batch_size=8).batch_size == 8
    with pytest.raises(
        TypeError, match=r"reward 'radgraph_f1' has no option 'levle'; did you mean level\? Its options:"
    ):
        get_reward("radgraph_f1", levle="partial")
    with pytest.raises(TypeError, match="has no option 'variant'"):
        check_reward_options("bleu4", {"variant": "dice"})
    with pytest.raises(TypeError, match="retries"):
        get_reward("remote:radcliq@http://127.0.0.1:1", retry=2)


def test_each_reward_names_the_metric_it_scores():
    from radgrpo.metrics.registry import get_metric
    from radgrpo.rewards.registry import RewardSpec, reward_label, reward_spec

    for name in REWARDS:
        spec = reward_spec(name)
        assert isinstance(spec, RewardSpec) and spec[:2] == tuple(REWARDS[name][:2])
        if spec.metric is not None:
            get_metric(spec.metric)  # a metric of the table
    # what each reward computes: the metric's own function (radgraph_f1 -> radgraph); rule_finding_errors counts
    # errors with its own costs and think_format checks the format: no metric of the table
    assert {n: reward_spec(n).metric for n in ("radgraph_f1", "grounding_soft_f1", "rule_finding_errors")} == {
        "radgraph_f1": "radgraph",
        "grounding_soft_f1": "soft_f1",
        "rule_finding_errors": None,
    }
    assert [reward_label(n) for n in ("radcliq", "rule_finding_errors", "grounding_soft_f1_dice")] == [
        "RCQ",
        "finding errors",
        "soft-F1 (Dice)",
    ]
    # an entry set by hand as (target, description) scores no metric; an unknown metric is refused at registration
    REWARDS["tmp_pair"] = ("radgrpo.rewards.report:make_bleu4_reward", "a hand-set pair")
    try:
        assert reward_spec("tmp_pair").metric is None and reward_label("tmp_pair") == "tmp_pair"
        with pytest.raises(KeyError, match="unknown metric 'bleu5'"):
            register_reward("tmp_pair", "radgrpo.rewards.report:make_bleu4_reward", "x", overwrite=True, metric="bleu5")
    finally:
        REWARDS.pop("tmp_pair")
    with pytest.raises(KeyError, match="unknown reward 'nope'"):
        reward_spec("nope")
