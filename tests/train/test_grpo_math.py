"""GRPO arithmetic against hand-worked numbers, through TRL's own code, and the verl -> TRL mapping (docs/method.md).

What is TRL's code here: ``GRPOTrainer._compute_loss`` (clipped surrogate, ``delta`` dual clip, k3 KL, ``bnpo``
aggregation) driven with crafted per-token log-probabilities (we replace only the model forward that produces them),
and ``trl.trainer.utils.nanstd`` (the Bessel-corrected std TRL's advantage uses). The advantage formula
(r − mean)/(std + 1e-4) is TRL's, re-evaluated here with that function.
Run: pytest tests/train/test_grpo_math.py
"""

import pytest
import torch

from radgrpo.train.configs import RadGRPOConfig
from radgrpo.train.verl import PAPER_REPORT_VERL, verl_to_trl


@pytest.fixture(scope="module")
def trainer(tiny_model_dir, tiny_records, tmp_path_factory):
    from trl import GRPOTrainer

    from radgrpo.data.export.trl import records_to_grpo_dataset
    from radgrpo.models.qwen3_vl import load_model, load_processor
    from radgrpo.rewards import get_reward

    records, path = tiny_records
    cfg = RadGRPOConfig(
        output_dir=str(tmp_path_factory.mktemp("g")),
        model_name_or_path=str(tiny_model_dir),
        train_file=str(path),
        num_generations=4,
        per_device_train_batch_size=4,
        beta=0.0,
        epsilon=0.2,
        epsilon_high=0.28,
        delta=3.0,
        loss_type="bnpo",
        use_bias_correction_kl=False,
        report_to="none",
        max_completion_length=8,
    )
    t = GRPOTrainer(
        model=load_model(tiny_model_dir),
        reward_funcs=[get_reward("grounding_soft_f1")],
        args=cfg,
        train_dataset=records_to_grpo_dataset(records, path.parent),
        processing_class=load_processor(tiny_model_dir),
    )
    t.current_gradient_accumulation_steps = 1
    return t


def _loss(trainer, logp, old, adv, ref=None, beta=0.0):
    """TRL's loss for 4 one-token completions whose log-probs are ``logp`` (the model forward is replaced)."""
    b = len(logp)
    inputs = {
        "prompt_ids": torch.zeros(b, 1, dtype=torch.long),
        "prompt_mask": torch.ones(b, 1, dtype=torch.long),
        "completion_ids": torch.zeros(b, 1, dtype=torch.long),
        "completion_mask": torch.ones(b, 1, dtype=torch.long),
        "advantages": torch.tensor(adv),
        "old_per_token_logps": torch.tensor(old).unsqueeze(1),
        "num_items_in_batch": torch.tensor(float(b)),
    }
    if ref is not None:
        inputs["ref_per_token_logps"] = torch.tensor(ref).unsqueeze(1)
    logps = torch.tensor(logp).unsqueeze(1)
    trainer._get_per_token_logps_and_entropies = lambda *a, **k: (logps, torch.zeros_like(logps), None)
    trainer.beta = beta
    return float(trainer._compute_loss(trainer.model, inputs))


def test_clipped_surrogate_worked_examples(trainer):
    import math

    # rho = exp(logp - old); worked by hand: (1.5,+1)->-1.28, (1.5,-1)->+1.5, (0.5,+1)->-0.5, (0.5,-1)->+0.8
    old = [0.0, 0.0, 0.0, 0.0]
    logp = [math.log(1.5), math.log(1.5), math.log(0.5), math.log(0.5)]
    per_token = [-1.28, 1.5, -0.5, 0.8]
    for i in range(4):  # one at a time: bnpo over a single token is that token's loss
        adv = [0.0] * 4
        adv[i] = [1.0, -1.0, 1.0, -1.0][i]
        got = _loss(trainer, logp, old, adv) * 4  # bnpo = mean over the 4 tokens, other tokens contribute 0
        assert got == pytest.approx(per_token[i], abs=1e-6)
    # dual clip: rho = 5, A = -1 with delta 3 -> +3.0 (not +5)
    assert _loss(trainer, [math.log(5.0)] * 4, old, [-1.0] * 4) == pytest.approx(3.0, abs=1e-5)


def test_k3_kl_worked_example(trainer):
    logp, ref = [-1.0, -2.0, -0.5, -0.5], [-1.2, -1.5, -0.5, -0.5]
    # zero advantages: the loss is beta * mean(k3); k3 = [0.018731, 0.148721, 0, 0]
    got = _loss(trainer, logp, logp, [0.0] * 4, ref=ref, beta=1.0)
    assert got == pytest.approx((0.018731 + 0.148721) / 4, abs=1e-6)


def test_group_advantage_worked_example():
    from trl.trainer.utils import nanstd

    r = torch.tensor([0.2, 0.5, 0.9, 0.4])
    assert float(nanstd(r)) == pytest.approx(0.294392, abs=1e-6)  # Bessel-corrected
    adv = (r - r.mean()) / (nanstd(r) + 1e-4)
    assert adv.tolist() == pytest.approx([-1.018703, 0.0, 1.358271, -0.339568], abs=1e-5)


def test_verl_to_trl_paper_mapping():
    kw = verl_to_trl(PAPER_REPORT_VERL, n_gpus=32)
    assert kw["num_generations"] == 8 and kw["beta"] == 0.01 and kw["delta"] == 3.0
    assert (kw["per_device_train_batch_size"], kw["gradient_accumulation_steps"]) == (4, 8)
    assert 4 * 8 * 32 == 128 * 8  # completions per optimizer step = one verl mini-batch of 128 prompts x 8
    assert kw["steps_per_generation"] == 4 * kw["gradient_accumulation_steps"]  # 4 updates per rollout batch
    assert kw["use_bias_correction_kl"] is False and kw["loss_type"] == "bnpo"
    assert (kw["epsilon"], kw["epsilon_high"], kw["learning_rate"]) == (0.2, 0.28, 1e-6)
    assert verl_to_trl(PAPER_REPORT_VERL, 32, verl_version="0.8")["loss_type"] == "dapo"
    with pytest.raises(ValueError, match="micro-batches"):
        verl_to_trl(PAPER_REPORT_VERL, n_gpus=3)
    with pytest.raises(ValueError, match="k3"):
        verl_to_trl({**PAPER_REPORT_VERL, "actor_rollout_ref.actor.kl_loss_type": "mse"}, 32)


def test_paper_presets_parse_and_agree_with_the_mapping(tmp_path):
    from pathlib import Path

    import yaml
    from trl import TrlParser

    root = Path(__file__).resolve().parents[2] / "radgrpo" / "configs"
    from radgrpo.data.export.verl import verl_run_overrides

    mapped = {
        "paper_report": verl_to_trl(PAPER_REPORT_VERL, n_gpus=32),
        "paper_grounding": verl_to_trl(verl_run_overrides(["phrase_grounding"]), n_gpus=32),
    }
    for name in ("paper_report", "paper_grounding", "paper_joint", "demo_cpu"):
        raw = yaml.safe_load((root / "grpo" / f"{name}.yaml").read_text())
        (cfg,) = TrlParser((RadGRPOConfig,)).parse_args_and_config(
            args=[
                "--config",
                str(root / "grpo" / f"{name}.yaml"),
                "--model_name_or_path",
                "m",
                "--train_file",
                "t.jsonl",
                "--output_dir",
                str(tmp_path / name),
            ]
        )
        assert cfg.reward_funcs == raw["reward_funcs"]
        if name in mapped:
            kw = mapped[name]
            for k in (
                "num_generations",
                "per_device_train_batch_size",
                "gradient_accumulation_steps",
                "steps_per_generation",
                "learning_rate",
                "beta",
                "epsilon",
                "epsilon_high",
                "delta",
                "loss_type",
                "use_bias_correction_kl",
            ):
                assert getattr(cfg, k) == kw[k], k
            assert (cfg.min_pixels, cfg.max_pixels) == (1024, 451584)
    from radgrpo.train.configs import RadSFTConfig

    for name in ("paper", "demo_cpu"):
        (cfg,) = TrlParser((RadSFTConfig,)).parse_args_and_config(
            args=[
                "--config",
                str(root / "sft" / f"{name}.yaml"),
                "--model_name_or_path",
                "m",
                "--train_file",
                "t.jsonl",
                "--output_dir",
                str(tmp_path / name),
            ]
        )
        assert cfg.assistant_only_loss is True and cfg.max_length is None
