"""``radgrpo sft`` and ``radgrpo grpo``: TRL's parser over radgrpo's training configs (YAML keys = flags).

Flags and ``--config`` YAML keys are checked before any model is loaded: an unknown flag or key, a value of the wrong
type or one the config rejects is a one-line :class:`~radgrpo.config.ConfigError` naming the nearest valid flag
(``radgrpo.cli.main`` prints it and exits 2).

Example:
    $ radgrpo sft --config sft/demo_cpu --model_name_or_path tiny --train_file data/train.jsonl
    $ radgrpo grpo --config grpo/paper_grounding --model_name_or_path sft_out --train_file t.jsonl
"""

from __future__ import annotations

import os
from typing import Any

from radgrpo.config import ConfigError, FlagParser, load_yaml, unknown_keys_message


def _pop_config(args: list[str]) -> tuple[list[str], list[str]]:
    """Every ``--config PATH`` (or ``--config=PATH``) taken out of ``args``, in order; the paths and the rest.

    Several ``--config`` files layer: later files override earlier ones key by key (e.g. a paper preset, then a
    vLLM preset), and flags override them all.

    >>> _pop_config(["--lr", "1", "--config", "a.yaml", "--config=b.yaml"])
    (['a.yaml', 'b.yaml'], ['--lr', '1'])
    """
    rest: list[str] = []
    paths: list[str] = []
    it = iter(range(len(args)))
    for i in it:
        a = args[i]
        if a == "--config":
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise ConfigError("--config: expected a value (a YAML file)")
            paths.append(args[i + 1])
            next(it)
        elif a.startswith("--config="):
            paths.append(a.split("=", 1)[1])
        else:
            rest.append(a)
    return paths, rest


def _parse(cls: Any, argv: list[str] | None, prog: str | None = None) -> Any:
    """``cls`` (a TRL config dataclass) from ``--config`` YAML then flags, like ``TrlParser.parse_args_and_config``.

    Raises:
        ConfigError: unknown flags or YAML keys (with the nearest valid one), bad values, or values the config's
            ``__post_init__`` rejects.
        FileNotFoundError: the ``--config`` file cannot be read.
    """
    from trl import TrlParser

    class _Parser(FlagParser, TrlParser):
        """TRL's parser with radgrpo's one-line errors."""

    parser = _Parser((cls,), prog=prog)
    cfg_paths, args = _pop_config(list(argv or []))
    if cfg_paths:
        from radgrpo.config import resolve_config  # a file or a shipped name (radgrpo configs list)

        fields = {a.dest for a in parser._actions if a.option_strings and a.dest != "help"}
        merged: dict[str, Any] = {}
        for cfg_path in cfg_paths:
            cfg_path = str(resolve_config(cfg_path))
            config = load_yaml(cfg_path)
            env = config.pop("env", {})  # TrlParser's convention: env: {VAR: value} sets environment variables
            if not isinstance(env, dict):
                raise ConfigError(f"{cfg_path}: env: expected a mapping of environment variables")
            unknown = [k for k in config if k not in fields]
            if unknown:
                raise ConfigError(unknown_keys_message(unknown, fields, f"{cfg_path}: ", cls.__name__))
            for key, value in env.items():
                os.environ[key] = str(value)
            merged.update(config)
        parser.set_defaults_with_config(**merged)
    parser.parse_args(args)  # unknown flags and bad values, before the dataclass (and its checks) is built
    try:
        (cfg,) = parser.parse_args_into_dataclasses(args=args)
    except ValueError as e:  # the config classes' own checks (required flags, CPU fallbacks, naming errors)
        raise ConfigError(str(e)) from e
    return cfg


def sft_main(argv: list[str] | None = None) -> int:
    """Run SFT from ``--config``/flags; prints the output folder."""
    from radgrpo.train.configs import RadSFTConfig

    cfg = _parse(RadSFTConfig, argv, "radgrpo sft")
    from radgrpo.train.sft import run_sft

    print(run_sft(cfg))
    return 0


def grpo_main(argv: list[str] | None = None) -> int:
    """Run GRPO from ``--config``/flags; prints the output folder."""
    from radgrpo.train.configs import RadGRPOConfig

    cfg = _parse(RadGRPOConfig, argv, "radgrpo grpo")
    from radgrpo.train.grpo import run_grpo

    print(run_grpo(cfg))
    return 0
