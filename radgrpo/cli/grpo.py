"""``radgrpo grpo``: GRPO with TRL's GRPOTrainer and radgrpo's rewards (flags and ``--config`` YAML keys =
:class:`~radgrpo.train.configs.RadGRPOConfig`).

Flags are parsed by :func:`radgrpo.train.parse.parse_train_config`; the work is :func:`radgrpo.train.grpo.run_grpo`;
the output folder is printed. ``--help`` and ``--help-all``: :mod:`radgrpo.cli.train_help`.

Example:
    $ radgrpo grpo --config grpo/paper_grounding --model_name_or_path sft_out --train_file t.jsonl
"""

from __future__ import annotations

from radgrpo.cli.train_help import help_requested
from radgrpo.train.parse import parse_train_config

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run GRPO from ``--config``/flags; prints the output folder (``--help``/``--help-all``: the options)."""
    if (code := help_requested("grpo", argv)) is not None:
        return code
    from radgrpo.train.configs import RadGRPOConfig

    cfg = parse_train_config(RadGRPOConfig, argv, "radgrpo grpo")
    from radgrpo.train.grpo import run_grpo

    print(run_grpo(cfg))
    return 0
