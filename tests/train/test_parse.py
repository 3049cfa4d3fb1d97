"""Training configs from ``--config`` YAML then flags (:mod:`radgrpo.train.parse`, the parser of ``radgrpo sft`` and
``radgrpo grpo``): flags override the YAML; the config's own checks run.
Run: pytest tests/train/test_parse.py"""

import pytest
import torch

from radgrpo.train.parse import parse_train_config, pop_configs


def test_train_parser_reads_yaml_then_flags(tmp_path):
    from radgrpo.train.configs import RadGRPOConfig

    cfg_file = tmp_path / "g.yaml"
    cfg_file.write_text(
        "reward_funcs: [grounding_soft_f1, bleu4]\nnum_generations: 4\nlearning_rate: 1.0e-6\n"
        "per_device_train_batch_size: 8\n"
    )
    cfg = parse_train_config(
        RadGRPOConfig,
        [
            "--config",
            str(cfg_file),
            "--model_name_or_path",
            "m",
            "--train_file",
            "t.jsonl",
            "--output_dir",
            str(tmp_path / "o"),
            "--learning_rate",
            "3e-6",
        ],
    )
    assert cfg.reward_funcs == ["grounding_soft_f1", "bleu4"] and cfg.num_generations == 4
    assert cfg.learning_rate == 3e-6  # the flag wins over the YAML
    if not torch.cuda.is_available():
        assert cfg.use_cpu is True and cfg.bf16 is False  # the CPU fallback
    with pytest.raises(ValueError, match="--train_file"):
        parse_train_config(RadGRPOConfig, ["--model_name_or_path", "m", "--output_dir", str(tmp_path / "o")])


def test_config_flags_are_taken_out_in_order():
    assert pop_configs(["--config", "a.yaml", "--lr", "1", "--config=b.yaml"]) == (["a.yaml", "b.yaml"], ["--lr", "1"])
