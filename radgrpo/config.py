"""Dataclass configs: YAML keys = dataclass fields = CLI flags.

This is the small, dependency-free parser used by the non-training commands (``data synth``, ``eval``, ``demo``,
``serve``). Training configs subclass TRL's ``SFTConfig``/``GRPOConfig`` and go through ``trl.TrlParser`` with the
same conventions (``--config file.yaml`` first, then flags override). Every output folder gets the resolved
``config.yaml`` (:func:`save_config`).

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class C:
    ...     out: str = "x"
    ...     n: int = 3
    ...     fast: bool = False
    >>> parse_config(C, ["--n", "5", "--fast"])
    C(out='x', n=5, fast=True)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


def _field_type(tp: Any) -> Any:
    """The scalar type argparse should call for a (possibly Optional) annotation."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _field_type(args[0]) if len(args) == 1 else str
    if origin in (list, tuple):
        return ("list", _field_type(typing.get_args(tp)[0]) if typing.get_args(tp) else str)
    return tp


def _to_bool(s: str) -> bool:
    v = s.strip().lower()
    if v in ("1", "true", "yes", "y", "on"):
        return True
    if v in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {s!r}")


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML mapping (an empty file gives ``{}``)."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return data


class ConfigError(ValueError):
    """A config or flag value that the config class rejects; the CLI prints it in one line and exits 2."""


def from_dict(cls: type[T], data: dict[str, Any], *, source: str = "config") -> T:
    """Build ``cls`` from a dict, rejecting unknown keys with the list of valid ones.

    Raises:
        ConfigError: unknown keys, or a value the class's checks (``__post_init__``) reject.
    """
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown} for {cls.__name__}; valid keys: {sorted(names)}")
    try:
        return cls(**data)
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(str(e)) from e


def parse_config(cls: type[T], argv: list[str] | None = None, prog: str | None = None) -> T:
    """Parse ``--config file.yaml`` then ``--<field> value`` flags (flags win) into dataclass ``cls``.

    Booleans accept ``--flag`` (true), ``--flag false`` and ``--no-flag``. Lists take several values.
    """
    hints = typing.get_type_hints(cls)
    # allow_abbrev=False: a mistyped flag (``--sft_step``) is an error, never a silent prefix match of another one
    parser = argparse.ArgumentParser(prog=prog, description=(cls.__doc__ or "").strip().split("\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--config", default=None, help="YAML file with keys = the flags below")
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        tp = _field_type(hints[f.name])
        flag = "--" + f.name
        help_ = f.metadata.get("help", "").replace("%", "%%")  # help texts are prose ("5 %"), not %-formats
        if tp is bool:
            parser.add_argument(flag, nargs="?", const=True, default=argparse.SUPPRESS, type=_to_bool, help=help_)
            parser.add_argument("--no-" + f.name, dest=f.name, action="store_false", default=argparse.SUPPRESS)
        elif isinstance(tp, tuple):
            parser.add_argument(flag, nargs="+", type=tp[1], default=argparse.SUPPRESS, help=help_)
        else:
            parser.add_argument(flag, type=tp if callable(tp) else str, default=argparse.SUPPRESS, help=help_)
    ns = vars(parser.parse_args(argv))
    cfg_path = ns.pop("config", None)
    data = load_yaml(cfg_path) if cfg_path else {}
    data.update(ns)
    return from_dict(cls, data, source=cfg_path or "flags")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A dataclass (or an object with ``to_dict``) as a plain dict of YAML-safe values."""
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)

    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, (str, int, float, bool)) or v is None:
            return v
        if hasattr(v, "value"):  # enums
            return clean(v.value)
        return str(v)

    return clean(d)


def save_config(cfg: Any, out_dir: str | os.PathLike, name: str = "config.yaml") -> Path:
    """Write the resolved config next to a run's outputs; returns the file path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(to_dict(cfg), f, sort_keys=False)
    return path
