"""The shipped GRPO presets do what the paper did, counted as verl counts it (its report and grounding runs).

TRL counts optimizer steps; verl counts rollout batches. :func:`radgrpo.train.verl.trl_schedule` reads a preset back
into verl's terms on a stated world size, and a real TRL run on the tiny model checks that reading against what the
trainer actually did (prompts scored, optimizer steps, checkpoints).
Run: pytest tests/train/test_configs_paper_presets.py
"""

import json

import pytest
import yaml

from radgrpo.config import config_path
from radgrpo.train.verl import trl_schedule, verl_to_trl

GROUNDING = ["anatomical_grounding", "abnormality_grounding", "phrase_grounding"]


def _preset(name):
    return yaml.safe_load(config_path(f"grpo/{name}").read_text())


def test_report_preset_is_the_papers_run_on_32_gpus():
    raw = _preset("paper_report")
    s = trl_schedule(raw, world_size=32)
    # the paper's report run: 512 prompts x 8 rollouts per step, mini-batch 128 prompts -> 4 updates, 300 steps, save/test every 20
    assert (s["prompts_per_rollout"], s["rollouts_per_prompt"], s["updates_per_rollout"]) == (512, 8, 4)
    assert s["prompts_per_update"] == 128 and s["completions_per_update"] == 1024
    assert (s["rollout_batches"], s["total_prompts"]) == (300, 153_600)
    assert (s["save_every_rollouts"], s["eval_every_rollouts"]) == (20, 20)
    assert raw["max_completion_length"] == 1024 and raw["reward_funcs"] == ["radcliq"]
    assert raw["vllm_importance_sampling_correction"] is False  # set explicitly: verl 0.5 had no IS correction


def test_grounding_preset_is_the_papers_run():
    raw = _preset("paper_grounding")
    s = trl_schedule(raw, world_size=32, train_prompts=51_200)
    # the paper's grounding run: as the report run except micro-batch 8 per GPU, response 4096, 10 epochs
    assert raw["per_device_train_batch_size"] == 8 and raw["max_completion_length"] == 4096
    assert (s["prompts_per_rollout"], s["rollouts_per_prompt"], s["updates_per_rollout"]) == (512, 8, 4)
    assert raw["num_train_epochs"] == 10 and "max_steps" not in raw
    assert s["rollout_batches"] == 10 * 51_200 // 512  # 10 epochs of a stated data-set size
    assert (s["save_every_rollouts"], s["eval_every_rollouts"]) == (20, 20)
    assert raw["vllm_importance_sampling_correction"] is False
    assert set(raw["tasks"]) == set(GROUNDING)


def test_joint_preset_routes_both_rewards_at_the_shared_settings():
    raw = _preset("paper_joint")
    s = trl_schedule(raw, world_size=32)
    assert (s["prompts_per_rollout"], s["updates_per_rollout"], s["rollout_batches"]) == (512, 4, 600)
    assert raw["reward_funcs"] == ["radcliq", "grounding_soft_f1"] and set(raw["tasks"]) == {
        "report_generation",
        *GROUNDING,
    }
    report = _preset("paper_report")
    shared = (
        "learning_rate",
        "beta",
        "epsilon",
        "epsilon_high",
        "delta",
        "loss_type",
        "num_generations",
        "temperature",
    )
    assert {k: raw[k] for k in shared} == {k: report[k] for k in shared}


@pytest.mark.parametrize(("name", "tasks"), [("paper_report", ["report_generation"]), ("paper_grounding", GROUNDING)])
def test_presets_equal_the_verl_mapping_of_the_verl_script(name, tasks):
    from radgrpo.data.export.verl import verl_run_overrides

    verl = verl_run_overrides(tasks)
    kw = verl_to_trl(verl, n_gpus=32)
    raw = _preset(name)
    for k in ("num_generations", "per_device_train_batch_size", "gradient_accumulation_steps", "steps_per_generation"):
        assert raw[k] == kw[k], k
    assert raw["vllm_importance_sampling_correction"] == kw["vllm_importance_sampling_correction"]
    s = trl_schedule(raw, world_size=32)
    assert s["prompts_per_rollout"] == verl["data.train_batch_size"]
    assert (
        s["save_every_rollouts"] == verl["trainer.save_freq"] and s["eval_every_rollouts"] == verl["trainer.test_freq"]
    )
    if "trainer.total_training_steps" in verl:
        assert s["rollout_batches"] == verl["trainer.total_training_steps"]


def test_other_world_sizes_keep_the_papers_batches():
    from radgrpo.data.export.verl import verl_run_overrides

    raw = _preset("paper_report")
    for w in (8, 16):
        kw = verl_to_trl(verl_run_overrides(["report_generation"]), n_gpus=w)
        s = trl_schedule({**raw, **kw}, world_size=w)
        assert (s["prompts_per_rollout"], s["updates_per_rollout"], s["rollout_batches"]) == (512, 4, 300)
    with pytest.raises(ValueError, match="whole groups"):
        trl_schedule({"per_device_train_batch_size": 3, "num_generations": 8}, world_size=1)


PROBE = """
import json, os


def count_probe(completions, **kwargs):
    with open(os.environ["COUNT_PROBE_OUT"], "a") as f:
        f.write(json.dumps({"n": len(completions)}) + "\\n")
    return [0.1 * (len(str(c)) % 7) for c in completions]
"""


def test_the_schedule_is_what_trl_does(tiny_model_dir, tiny_records, tmp_path, monkeypatch):
    """A real run: per device 2, GA 2, steps_per_generation 4, 2 rollouts -> 4 prompts per rollout batch, 2 updates.

    max_steps 4 = 2 rollout batches = 8 prompts; save_steps 2 = a checkpoint per rollout batch.
    """
    from radgrpo.rewards.registry import REWARDS
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.grpo import run_grpo

    values = dict(
        per_device_train_batch_size=2,
        gradient_accumulation_steps=2,
        steps_per_generation=4,
        num_generations=2,
        max_steps=4,
        save_steps=2,
    )
    s = trl_schedule(values, world_size=1)
    assert (s["prompts_per_rollout"], s["updates_per_rollout"], s["rollout_batches"], s["total_prompts"]) == (
        4,
        2,
        2,
        8,
    )
    seen = tmp_path / "seen.jsonl"
    (tmp_path / "count_probe_mod.py").write_text(PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COUNT_PROBE_OUT", str(seen))
    REWARDS["count_probe"] = ("count_probe_mod:count_probe", "test probe")
    try:
        cfg = RadGRPOConfig(
            output_dir=str(tmp_path / "run"),
            model_name_or_path=str(tiny_model_dir),
            train_file=str(tiny_records[1]),
            reward_funcs=["count_probe"],
            max_completion_length=4,
            logging_steps=1,
            report_to="none",
            seed=0,
            **values,
        )
        run_grpo(cfg)
    finally:
        del REWARDS["count_probe"]
    calls = [json.loads(line) for line in seen.read_text().splitlines()]
    tasks = {r.task for r in tiny_records[0]}
    assert calls[: len(tasks)] == [{"n": 1}] * len(tasks)  # the preflight: one real sample per task
    calls = calls[len(tasks) :]
    assert len(calls) == s["rollout_batches"]  # one reward call per rollout batch
    assert sum(c["n"] for c in calls) == s["total_prompts"] * s["rollouts_per_prompt"]
    assert all(c["n"] == s["completions_per_rollout"] for c in calls)
    log = json.loads((tmp_path / "run" / "log_history.json").read_text())
    assert max(r["step"] for r in log if "loss" in r) == s["optimizer_steps"]
    ckpts = sorted(p.name for p in (tmp_path / "run").glob("checkpoint-*"))
    assert ckpts == ["checkpoint-2", "checkpoint-4"]  # every save_every_rollouts = 1 rollout batch


@pytest.mark.parametrize("name", ["grpo/demo_cpu", "grpo/paper_report"])
def test_a_runs_saved_grpo_config_loads_again(name, tmp_path):
    """A run folder's config.yaml is a valid --config: TRL derives generation_batch_size, so it is saved unset."""
    from radgrpo.config import save_config
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.parse import parse_train_config

    flags = ["--model_name_or_path", "m", "--train_file", "t.jsonl", "--output_dir", str(tmp_path / "run")]
    cfg = parse_train_config(RadGRPOConfig, ["--config", name, *flags])
    saved = save_config(cfg, tmp_path)
    assert yaml.safe_load(saved.read_text())["generation_batch_size"] is None
    again = parse_train_config(RadGRPOConfig, ["--config", str(saved)])
    assert again.steps_per_generation == cfg.steps_per_generation
    assert again.generation_batch_size == cfg.generation_batch_size > 0
    assert again.per_device_train_batch_size == cfg.per_device_train_batch_size


def test_a_config_saved_before_with_both_batch_keys_loads(tmp_path):
    """Folders written before generation_batch_size was saved unset hold both keys: consistent ones load, others
    stay TRL's error."""
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.parse import parse_train_config

    flags = ["--model_name_or_path", "m", "--train_file", "t.jsonl", "--output_dir", str(tmp_path / "run")]
    base = ["--config", "grpo/demo_cpu", *flags, "--steps_per_generation", "2"]
    cfg = parse_train_config(RadGRPOConfig, [*base, "--generation_batch_size", str(2 * 64)])
    assert (cfg.steps_per_generation, cfg.generation_batch_size, cfg.per_device_train_batch_size) == (2, 128, 64)
    with pytest.raises(Exception, match="can not be both configured"):
        parse_train_config(RadGRPOConfig, [*base, "--generation_batch_size", "64"])
