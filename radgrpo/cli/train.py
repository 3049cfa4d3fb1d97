"""``radgrpo sft`` and ``radgrpo grpo``: TRL's parser over radgrpo's training configs (YAML keys = flags).

Example:
    $ radgrpo sft --config configs/sft/demo_cpu.yaml --model_name_or_path tiny --train_file data/train.jsonl
    $ radgrpo grpo --config configs/grpo/paper_grounding.yaml --model_name_or_path sft_out --train_file t.jsonl
"""

from __future__ import annotations


def _parse(cls, argv):
    from trl import TrlParser

    from radgrpo.config import ConfigError

    try:
        (cfg,) = TrlParser((cls,)).parse_args_and_config(args=argv)
    except ValueError as e:  # the config classes' own checks (required flags, CPU fallbacks, naming errors)
        raise ConfigError(str(e)) from e
    return cfg


def sft_main(argv: list[str] | None = None) -> int:
    """Run SFT from ``--config``/flags; prints the output folder."""
    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.sft import run_sft

    print(run_sft(_parse(RadSFTConfig, argv)))
    return 0


def grpo_main(argv: list[str] | None = None) -> int:
    """Run GRPO from ``--config``/flags; prints the output folder."""
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.grpo import run_grpo

    print(run_grpo(_parse(RadGRPOConfig, argv)))
    return 0
