"""Training configs from ``--config`` YAML files and flags: TRL's parser over radgrpo's training config dataclasses
(YAML keys = flags), as ``radgrpo sft`` and ``radgrpo grpo`` read them.

Flags and ``--config`` YAML keys are checked before any model is loaded: an unknown flag or key, a value of the wrong
type or one the config rejects is a one-line :class:`~radgrpo.config.ConfigError` naming the nearest valid flag
(the command line prints it and exits 2).

Example:
    >>> from radgrpo.train.configs import RadSFTConfig  # doctest: +SKIP
    >>> cfg = parse_train_config(RadSFTConfig, ["--config", "sft/demo_cpu", "--model_name_or_path", "tiny",
    ...                                         "--train_file", "t.jsonl", "--output_dir", "o"])  # doctest: +SKIP
    >>> pop_configs(["--config", "sft/paper", "--max_steps", "10"])
    (['sft/paper'], ['--max_steps', '10'])
"""

from __future__ import annotations

import os
from typing import Any

from radgrpo.config import ConfigError, FlagParser, load_yaml, unknown_keys_message

__all__ = ["parse_train_config", "pop_configs", "trl_parser"]


def pop_configs(args: list[str]) -> tuple[list[str], list[str]]:
    """Every ``--config PATH`` (or ``--config=PATH``) taken out of ``args``, in order; the paths and the rest.

    Several ``--config`` files layer: later files override earlier ones key by key (e.g. a paper preset, then a
    vLLM preset), and flags override them all.

    >>> pop_configs(["--lr", "1", "--config", "a.yaml", "--config=b.yaml"])
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


def trl_parser(cls: Any, prog: str | None = None) -> Any:
    """TRL's ``TrlParser`` over ``cls`` with radgrpo's one-line errors (imports TRL)."""
    from trl import TrlParser

    class _Parser(FlagParser, TrlParser):
        """TRL's parser with radgrpo's one-line errors."""

    return _Parser((cls,), prog=prog)


def parse_train_config(cls: Any, argv: list[str] | None, prog: str | None = None) -> Any:
    """``cls`` (a TRL config dataclass) from ``--config`` YAML then flags, like ``TrlParser.parse_args_and_config``.

    Raises:
        ConfigError: unknown flags or YAML keys (with the nearest valid one), bad values, or values the config's
            ``__post_init__`` rejects.
        FileNotFoundError: the ``--config`` file cannot be read.
    """
    parser = trl_parser(cls, prog)
    cfg_paths, args = pop_configs(list(argv or []))
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
