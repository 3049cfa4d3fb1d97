"""GRPO's monitors: the reward preflight, per-task rollout statistics, the reward-failure stop, reward-hacking alarms,
and reward options from config (radgrpo.train.monitors, radgrpo.train.grpo).

Rollout statistics are checked against what a probe reward saw of the same completions; the failure stop and the
preflight run the real trainer on the tiny model (the CLI's one-line preflight error: tests/cli/test_grpo.py).
Run: pytest tests/train/test_monitors.py
"""

import json
import math

import pytest

from radgrpo.train.monitors import RewardFailureError, RunMonitor

PROBE = '''
import json, os

from radgrpo.rewards.base import Reward


def probe(completions, completion_ids=None, task=None, **kwargs):
    """(len(text) % 5) / 5 for every completion; writes what it saw."""
    texts = [c if isinstance(c, str) else "".join(m["content"] for m in c) for c in completions]
    scores = [(len(t) % 5) / 5 for t in texts]
    with open(os.environ["PROBE_OUT"], "a") as f:
        f.write(json.dumps({"task": task, "chars": [len(t) for t in texts],
                            "tokens": [len(i) for i in completion_ids], "scores": scores}) + "\\n")
    return scores


class Flaky(Reward):
    """Fails on every sample after the preflight (one call per task of the tiny data: 2), with a telling error."""

    def __init__(self):
        super().__init__("flaky")
        self.calls = 0

    def score_batch(self, texts, rows):
        self.calls += 1
        if self.calls > 2:
            raise ConnectionError("scorer at 10.0.0.7 went away")
        return [1.0 for _ in texts]


def make_flaky():
    return Flaky()
'''


@pytest.fixture
def probe_rewards(tmp_path, monkeypatch):
    from radgrpo.rewards.registry import REWARDS

    (tmp_path / "probe_mod.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "probe.jsonl"
    monkeypatch.setenv("PROBE_OUT", str(out))
    monkeypatch.setitem(REWARDS, "probe", ("probe_mod:probe", "test probe"))
    monkeypatch.setitem(REWARDS, "flaky", ("probe_mod:make_flaky", "test reward that fails"))
    return out


def _cfg(tiny_model_dir, tiny_records, out, **kw):
    from radgrpo.train.configs import RadGRPOConfig

    values = dict(
        output_dir=str(out),
        model_name_or_path=str(tiny_model_dir),
        train_file=str(tiny_records[1]),
        max_steps=2,
        per_device_train_batch_size=8,
        num_generations=2,
        max_completion_length=8,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
    )
    values.update(kw)
    return RadGRPOConfig(**values)


# ---- RunMonitor on its own ----


def _batch(m, rewards, statuses=None, step=1, chars=None, ref=20):
    n = len(rewards)
    return m.rollout(
        tasks=["report_generation"] * n,
        rewards=rewards,
        chars=chars or [20] * n,
        tokens=[5] * n,
        truncated=[False] * (n - 1) + [True],
        ref_chars=[ref] * n,
        statuses={"r": statuses or ["ok"] * n},
        errors={"r": "ValueError: bad" if statuses and "failed" in statuses else None},
        step=step,
    )


def test_rollout_statistics_by_hand():
    m = RunMonitor(num_generations=2, length_ratio=0.6)
    nan = math.nan
    logs = _batch(m, [1.0, 3.0, 2.0, 2.0, nan, 1.0], chars=[10, 20, 30, 40, 50, 60], ref=50)
    pre = "tasks/report_generation/"
    assert logs[pre + "reward_mean"] == pytest.approx(9 / 5)
    assert logs[pre + "reward_std"] == pytest.approx(math.sqrt(((1 - 1.8) ** 2 + 1.2**2 + 0.04 * 2 + 0.64) / 4))
    assert logs[pre + "zero_std_groups"] == pytest.approx(2 / 3)  # (2, 2) and the one-scored (nan, 1) group
    assert logs[pre + "none_share"] == pytest.approx(1 / 6) and logs[pre + "truncated"] == pytest.approx(1 / 6)
    assert logs[pre + "length_chars"] == 35 and logs[pre + "length_ratio"] == pytest.approx(0.7)
    assert logs["hacking/short_reports"] == 0.0 and m.alarms == []
    assert logs["monitor/r/failed"] == 0 and logs["monitor/r/scored"] == 6
    # thinking runs: the ratio is of the answers (after </think>), the length of the whole completions
    m2 = RunMonitor(num_generations=2, length_ratio=0.6)
    logs = m2.rollout(tasks=["report_generation"] * 2, rewards=[1.0, 0.0], chars=[300, 100], tokens=[5, 5],
                      truncated=[False, False], ref_chars=[50, 50], statuses={}, errors={}, step=1,
                      answer_chars=[40, 20])  # fmt: skip
    assert logs["tasks/report_generation/length_chars"] == 200 and logs["tasks/report_generation/length_ratio"] == 0.6


def test_failure_share_stops_after_min_samples_over_the_window():
    m = RunMonitor(num_generations=2, failure_threshold=0.25, window=8, min_samples=8)
    _batch(m, [1.0] * 4)
    logs = _batch(m, [1.0] * 4, statuses=["ok", "ok", "failed", "skipped"])  # 1 of 7 applied: below min_samples
    assert logs["monitor/r/failure_share"] == pytest.approx(1 / 7)
    _batch(m, [1.0] * 2, statuses=["ok", "failed"])  # window of 8: 2 of 8 = 25%, not above
    with pytest.raises(
        RewardFailureError, match=r"reward r failed on 3 of its last 8 samples .*Last error: ValueError"
    ):
        _batch(m, [1.0] * 2, statuses=["failed", "ok"])


def test_short_report_alarm_fires_once_per_episode():
    m = RunMonitor(num_generations=2, length_ratio=0.6)
    assert _batch(m, [1.0] * 2, chars=[5, 5], step=3)["hacking/short_reports"] == 1.0
    assert _batch(m, [1.0] * 2, chars=[5, 5], step=4)["hacking/short_reports"] == 1.0
    assert [a["step"] for a in m.alarms] == [3]
    _batch(m, [1.0] * 2, chars=[20, 20], step=5)
    _batch(m, [1.0] * 2, chars=[1, 1], step=6)
    assert [a["step"] for a in m.alarms] == [3, 6] and "reports are 5% of the reference length" in m.alarms[1][
        "message"
    ]
    assert "hacking/short_reports" not in _batch(RunMonitor(2, length_ratio=0.0), [1.0, 1.0], chars=[1, 1])


def test_reward_up_metric_down_alarm_and_state_round_trip():
    m = RunMonitor(num_generations=2, patience=3, higher_is_better=False)  # e.g. RadCliQ: lower is better
    seq = [(0.0, 1.0), (0.1, 0.9), (0.2, 1.0), (0.3, 1.1), (0.4, 1.2)]  # (train reward, held-out metric)
    flags = []
    for step, (reward, metric) in enumerate(seq):
        _batch(m, [reward, reward])
        flags.append(m.heldout({"report_generation/radcliq": metric, "report_generation/bleu4": 0.1}, step * 10))
    assert m.metric == "report_generation/radcliq"  # the first key seen
    # metric worse (higher) at steps 20, 30, 40 while the reward rose: the alarm after 3 such evaluations
    assert [f["hacking/reward_up_metric_down"] for f in flags] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert [a["alarm"] for a in m.alarms] == ["reward_up_metric_down"] and m.alarms[0]["step"] == 40
    again = RunMonitor(num_generations=2, patience=3, higher_is_better=False)
    again.load_state_dict(json.loads(json.dumps(m.state_dict())))
    assert again.state_dict() == m.state_dict()


# ---- with the trainer ----


def test_per_task_statistics_equal_what_the_reward_saw(tiny_model_dir, tiny_records, tmp_path, probe_rewards):
    from radgrpo.train.grpo import run_grpo

    out = run_grpo(_cfg(tiny_model_dir, tiny_records, tmp_path / "run", reward_funcs=["probe"]))
    calls = [json.loads(line) for line in probe_rewards.read_text().splitlines()]
    tasks = {r.task.value for r in tiny_records[0]}
    calls = calls[len(tasks) :]  # after the preflight's one sample per task
    logs = [r for r in json.loads((out / "log_history.json").read_text()) if "loss" in r]
    assert len(calls) == len(logs) == 2
    for call, log in zip(calls, logs):
        for task in set(call["task"]):
            idx = [i for i, t in enumerate(call["task"]) if t == task]
            pre = f"tasks/{task}/"
            assert log[pre + "reward_mean"] == pytest.approx(sum(call["scores"][i] for i in idx) / len(idx), abs=1e-6)
            assert log[pre + "length_chars"] == pytest.approx(sum(call["chars"][i] for i in idx) / len(idx))
            assert log[pre + "length_tokens"] == pytest.approx(sum(call["tokens"][i] for i in idx) / len(idx))
            assert log[pre + "none_share"] == 0.0
            assert 0.0 <= log[pre + "truncated"] <= sum(call["tokens"][i] == 8 for i in idx) / len(idx)
            groups = [call["scores"][i : i + 2] for i in range(0, len(call["task"]), 2) if call["task"][i] == task]
            assert log[pre + "zero_std_groups"] == pytest.approx(sum(g[0] == g[1] for g in groups) / len(groups))
    monitors = json.loads((out / "monitors.json").read_text())
    assert set(monitors) == {"alarms", "evals"}
    card = (out / "README.md").read_text()
    assert "## Reward-hacking alarms" in card and "| probe | 1.0 |" in card


def test_a_failing_reward_stops_training_with_its_error(tiny_model_dir, tiny_records, tmp_path, probe_rewards):
    from radgrpo.train.grpo import run_grpo

    cfg = _cfg(
        tiny_model_dir,
        tiny_records,
        tmp_path / "run",
        reward_funcs=["probe", "flaky"],
        reward_failure_min_samples=4,
        reward_failure_window=8,
        max_steps=4,
    )
    with pytest.raises(RewardFailureError, match=r"reward flaky failed on 8 of its last 8 .*went away"):
        run_grpo(cfg)


def test_preflight_names_a_task_no_reward_scores(tiny_model_dir, tiny_records, tmp_path):
    from radgrpo.train.grpo import PreflightError, run_grpo

    with pytest.raises(
        PreflightError, match=r"no reward in --reward_funcs \['bleu4'\] scores task abnormality_grounding"
    ):
        run_grpo(_cfg(tiny_model_dir, tiny_records, tmp_path / "run", reward_funcs=["bleu4"]))
    assert not (tmp_path / "run").exists()


def test_reward_kwargs_from_flags_reach_the_rewards(tmp_path):
    from radgrpo.config import ConfigError
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.grpo import build_rewards
    from radgrpo.train.parse import parse_train_config

    base = ["--model_name_or_path", "m", "--train_file", "t.jsonl", "--output_dir", str(tmp_path)]
    cfg = parse_train_config(
        RadGRPOConfig,
        base
        + ["--reward_funcs", "grounding_soft_f1", "radgraph_f1", "--reward_weights", "1.0", "0.5"]
        + ["--reward_kwargs", '{"grounding_soft_f1": {"variant": "dice"}, "radgraph_f1": {"level": "partial"}}'],
    )
    soft, radgraph = build_rewards(cfg)
    assert (soft.__name__, soft.variant, radgraph.__name__, radgraph.level) == (
        "grounding_soft_f1_dice",
        "dice",
        "radgraph_partial",
        "partial",
    )
    assert cfg.reward_weights == [1.0, 0.5]
    bad = base + ["--reward_funcs", "radgraph_f1", "--reward_kwargs", '{"radgraph_f1": {"levle": "partial"}}']
    with pytest.raises(ConfigError, match="has no option 'levle'; did you mean level"):
        build_rewards(parse_train_config(RadGRPOConfig, bad))
    with pytest.raises(ConfigError, match=r"names \['bleu4'\], which are not in --reward_funcs"):
        parse_train_config(RadGRPOConfig, base + ["--reward_funcs", "radcliq", "--reward_kwargs", '{"bleu4": {}}'])
    with pytest.raises(ConfigError, match="--reward_kwargs: not JSON/YAML"):
        parse_train_config(RadGRPOConfig, base + ["--reward_kwargs", '{"radcliq": [1'])
    with pytest.raises(ConfigError, match="3 rewards"):
        parse_train_config(RadGRPOConfig, base + ["--reward_funcs", "a", "b", "c", "--reward_weights", "1", "2"])
    yaml_cfg = tmp_path / "g.yaml"
    yaml_cfg.write_text("reward_funcs: [radgraph_f1]\nreward_kwargs:\n  radgraph_f1: {level: simple}\n")
    assert build_rewards(parse_train_config(RadGRPOConfig, base + ["--config", str(yaml_cfg)]))[0].level == "simple"
