"""``radgrpo sft``: supervised fine-tuning with TRL's SFTTrainer (flags and ``--config`` YAML keys =
:class:`~radgrpo.train.configs.RadSFTConfig`).

Flags are parsed by :func:`radgrpo.train.parse.parse_train_config`; the work is :func:`radgrpo.train.sft.run_sft`;
the output folder is printed. ``--help`` and ``--help-all``: :mod:`radgrpo.cli.train_help`.

Example:
    $ radgrpo sft --config sft/demo_cpu --model_name_or_path tiny --train_file data/train.jsonl
"""

from __future__ import annotations

from radgrpo.cli.train_help import help_requested
from radgrpo.train.parse import parse_train_config

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run SFT from ``--config``/flags; prints the output folder (``--help``/``--help-all``: the options)."""
    if (code := help_requested("sft", argv)) is not None:
        return code
    from radgrpo.train.configs import RadSFTConfig

    cfg = parse_train_config(RadSFTConfig, argv, "radgrpo sft")
    from radgrpo.train.sft import run_sft

    print(run_sft(cfg))
    return 0
