"""SFT and GRPO a few steps on the tiny Qwen3-VL: parameters change, rewards logged, configs written, resume.
Run: pytest tests/train/test_sft_grpo.py"""

import json

import pytest
import torch
import yaml

from radgrpo.models.qwen3_vl import load_model


def _params(path):
    return {k: v.detach().clone() for k, v in load_model(path).state_dict().items()}


def _changed(before, after):
    return [k for k in before if not torch.equal(before[k], after[k])]


@pytest.fixture(scope="module")
def sft_run(tiny_model_dir, tiny_records, tmp_path_factory):
    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.sft import run_sft

    out = tmp_path_factory.mktemp("sft")
    cfg = RadSFTConfig(
        output_dir=str(out),
        model_name_or_path=str(tiny_model_dir),
        train_file=str(tiny_records[1]),
        max_steps=4,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        max_length=None,
        assistant_only_loss=True,
        gradient_checkpointing=False,
        seed=0,
    )
    return run_sft(cfg)


def test_sft_changes_weights_and_logs_loss(sft_run, tiny_model_dir):
    changed = _changed(_params(tiny_model_dir), _params(sft_run))
    assert any("language_model" in k for k in changed) and any("visual" in k for k in changed)
    logs = json.loads((sft_run / "log_history.json").read_text())
    losses = [r["loss"] for r in logs if "loss" in r]
    assert len(losses) == 4 and all(v > 0 and v == v for v in losses)  # finite, positive: nothing truncated away
    cfg = yaml.safe_load((sft_run / "config.yaml").read_text())
    assert cfg["model_name_or_path"] == str(tiny_model_dir) and cfg["max_steps"] == 4
    assert cfg["use_cpu"] is (not torch.cuda.is_available())


def test_grpo_changes_weights_and_logs_both_rewards(sft_run, tiny_records, tmp_path):
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.grpo import run_grpo

    cfg = RadGRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        model_name_or_path=str(sft_run),
        train_file=str(tiny_records[1]),
        reward_funcs=["grounding_soft_f1", "bleu4"],
        max_steps=2,
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=16,
        learning_rate=1e-3,
        beta=0.02,
        epsilon=0.2,
        epsilon_high=0.28,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=0,
        use_bias_correction_kl=False,
    )
    out = run_grpo(cfg)
    assert _changed(_params(sft_run), _params(out))
    logs = json.loads((out / "log_history.json").read_text())
    keys = set().union(*[r.keys() for r in logs])
    assert {"rewards/grounding_soft_f1/mean", "rewards/bleu4/mean", "kl"} <= keys, sorted(keys)
    # a step whose prompts are all of the other task logs None for that reward (TRL's nanmean of no values)
    g = [r["rewards/grounding_soft_f1/mean"] for r in logs if r.get("rewards/grounding_soft_f1/mean") is not None]
    b = [r["rewards/bleu4/mean"] for r in logs if r.get("rewards/bleu4/mean") is not None]
    assert g and b and all(0.0 <= v <= 1.0 for v in g + b)


def test_config_errors_name_the_flag(tmp_path):
    from radgrpo.train.configs import RadGRPOConfig

    with pytest.raises(ValueError, match="--model_name_or_path"):
        RadGRPOConfig(output_dir=str(tmp_path), train_file="x.jsonl")
    with pytest.raises(ValueError, match="--reward_funcs"):
        RadGRPOConfig(output_dir=str(tmp_path), model_name_or_path="m", train_file="x", reward_funcs=[])


def test_resume_continues_from_the_last_checkpoint(tiny_model_dir, tiny_records, tmp_path):
    from transformers import TrainerCallback

    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.sft import run_sft

    class Steps(TrainerCallback):
        def __init__(self):
            self.begin, self.steps = None, []

        def on_train_begin(self, args, state, control, **kw):
            self.begin = state.global_step

        def on_step_end(self, args, state, control, **kw):
            self.steps.append(state.global_step)

    def cfg(max_steps):
        return RadSFTConfig(
            output_dir=str(tmp_path),
            model_name_or_path=str(tiny_model_dir),
            train_file=str(tiny_records[1]),
            max_steps=max_steps,
            per_device_train_batch_size=2,
            learning_rate=1e-3,
            logging_steps=1,
            save_strategy="steps",
            save_steps=1,
            report_to="none",
            max_length=None,
            assistant_only_loss=True,
            seed=0,
        )

    first, second = Steps(), Steps()
    run_sft(cfg(2), callbacks=[first])
    assert (first.begin, first.steps) == (0, [1, 2]) and (tmp_path / "checkpoint-2").is_dir()
    out = run_sft(cfg(3), callbacks=[second])
    assert (second.begin, second.steps) == (2, [3])  # only the missing step ran
    logs = json.loads((out / "log_history.json").read_text())
    assert [r["step"] for r in logs if "loss" in r] == [1, 2, 3]


def test_lora_sft_merges_into_the_language_projections_only(tiny_model_dir, tiny_records, tmp_path):
    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.sft import run_sft

    cfg = RadSFTConfig(
        output_dir=str(tmp_path),
        model_name_or_path=str(tiny_model_dir),
        train_file=str(tiny_records[1]),
        max_steps=2,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        use_lora=True,
        lora_r=4,
        lora_alpha=8,
        lora_dropout=0.0,
        save_strategy="no",
        report_to="none",
        max_length=None,
        assistant_only_loss=True,
        seed=0,
    )
    out = run_sft(cfg)
    before, after = _params(tiny_model_dir), _params(out)
    assert set(after) == set(before)  # merged and unloaded: a plain checkpoint, no lora_A/lora_B keys
    changed = _changed(before, after)
    projections = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    assert changed and all("language_model" in k and any(p in k for p in projections) for k in changed), changed
