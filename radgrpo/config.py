"""Dataclass configs: YAML keys = dataclass fields = CLI flags.

This is the small, dependency-free parser used by the non-training commands (``data synth``, ``eval``, ``demo``,
``serve``). Training configs subclass TRL's ``SFTConfig``/``GRPOConfig`` and go through ``trl.TrlParser`` with the
same conventions (``--config file.yaml`` first, then flags override). Every output folder gets the resolved
``config.yaml`` (:func:`save_config`).

User errors (an unknown flag or YAML key, a value of the wrong type, a value ``__post_init__`` rejects) are one-line
:class:`ConfigError` s naming the nearest valid flag or key (:class:`FlagParser`); ``radgrpo.cli.main`` prints them
as ``radgrpo <command>: <message>`` and exits 2.

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
import difflib
import os
import re
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml

from radgrpo.errors import RadgrpoUserError

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


class ConfigError(RadgrpoUserError, ValueError):
    """A config or flag value that the config class rejects; the CLI prints it in one line and exits 2."""


def mapping_flag(value: Any, flag: str) -> dict[str, Any]:
    """A mapping option given as a dict (YAML) or as JSON/YAML text (a flag); ``None`` / ``""`` -> ``{}``.

    Args:
        value: the option's value.
        flag: the flag's name without dashes, for the message.
    Raises:
        ConfigError: text that is not JSON/YAML, or a value that is not a mapping.

    >>> mapping_flag('{"radgraph_f1": {"level": "partial"}}', "reward_kwargs")
    {'radgraph_f1': {'level': 'partial'}}
    """
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as e:
            where = getattr(e, "problem_mark", None)
            at = f" at column {where.column + 1}" if where is not None else ""
            raise ConfigError(f"--{flag}: not JSON/YAML ({getattr(e, 'problem', None) or e}{at})") from None
        value = {} if value is None else value
    if not isinstance(value, dict):
        raise ConfigError(f"--{flag}: expected a mapping, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option most similar to ``word`` (``difflib`` ratio >= 0.6), or None.

    >>> closest("sft_step", ["sft_steps", "out"])
    'sft_steps'
    """
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(wrong: Sequence[str], options: Iterable[str]) -> str:
    """``"; did you mean X?"`` for the wrong words that have a close option ("" when none has).

    >>> did_you_mean(["bleu5"], ["bleu4", "rougeL"]), did_you_mean(["a", "rouge"], ["bleu4", "rougeL"])
    ('; did you mean bleu4?', '; did you mean rougeL (for rouge)?')
    """
    options = list(options)
    hits = [(w, closest(w, options)) for w in wrong]
    hits = [(w, c) for w, c in hits if c]
    if not hits:
        return ""
    if len(wrong) == 1:
        return f"; did you mean {hits[0][1]}?"
    return "; did you mean " + ", ".join(f"{c} (for {w})" for w, c in hits) + "?"


def unknown_flags_message(extras: Sequence[str], known: Iterable[str]) -> str:
    """One line naming the unknown flags among ``extras`` (``parse_known_args`` leftovers), with the nearest
    known flag of each.

    >>> unknown_flags_message(["--sft_step", "10"], ["--sft_steps", "--out"])
    'unknown flag --sft_step; did you mean --sft_steps?'
    >>> unknown_flags_message(["stray"], ["--out"])
    "unexpected argument 'stray' (flags start with --)"
    """
    flags = [t.split("=", 1)[0] for t in extras if t.startswith("-") and not re.fullmatch(r"-[\d.e+-]+", t)]
    if not flags:
        return f"unexpected argument {' '.join(extras)!r} (flags start with --)"
    known = list(known)
    head = f"unknown flag {flags[0]}" if len(flags) == 1 else f"unknown flags {', '.join(flags)}"
    hint = did_you_mean(flags, known)
    return head + (hint or " (--help lists the flags)")


def argparse_message(message: str) -> str:
    """argparse's error text as one line: ``argument --n: invalid int value: 'x'`` -> ``--n: expected int, got 'x'``.

    >>> argparse_message("argument --n_train: invalid int value: 'abc'")
    "--n_train: expected int, got 'abc'"
    >>> argparse_message("argument action: invalid choice: 'lst' (choose from 'list', 'cp')")
    "action: invalid choice: 'lst' (choose from 'list', 'cp'); did you mean 'list'?"
    """
    m = re.match(r"argument ([^:]+): (.*)", message, re.S)
    if m:
        names, rest = m.groups()
        bad = re.fullmatch(r"invalid (\S+) value: (.*)", rest, re.S)
        if bad:
            rest = f"expected {bad[1]}, got {bad[2]}" if bad[1] in ("int", "float") else f"invalid value {bad[2]}"
        rest = {
            "expected one argument": "expected a value",
            "expected at least one argument": "expected at least one value",
        }.get(rest, rest)
        choice = re.fullmatch(r"invalid choice: '([^']*)' \(choose from (.*)\)", rest, re.S)
        if choice:
            near = closest(choice[1], [c.strip().strip("'") for c in choice[2].split(",")])
            rest += f"; did you mean {near!r}?" if near else ""
        message = f"{names.split('/')[0]}: {rest}"
    return " ".join(message.split())


class FlagParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one-line :class:`ConfigError` s (no usage block, no exit).

    Unknown flags name the nearest known flag; prefixes of flags are never accepted (``allow_abbrev=False``).
    ``--help`` still prints and exits 0. Mix it in front of another parser class (``class P(FlagParser, TrlParser)``)
    to give that parser the same errors.

    Example:
        >>> p = FlagParser(prog="radgrpo x")
        >>> _ = p.add_argument("--sft_steps", type=int)
        >>> p.parse_args(["--sft_steps", "3"]).sft_steps
        3
        >>> try:
        ...     p.parse_args(["--sft_step", "3"])
        ... except ConfigError as e:
        ...     print(e)
        unknown flag --sft_step; did you mean --sft_steps?
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)  # a mistyped --sft_step must not silently set --sft_steps
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ConfigError(argparse_message(message))

    def long_flags(self) -> list[str]:
        """Every ``--flag`` the parser knows, the first spelling of each option first."""
        flags = [s for a in self._actions for s in a.option_strings if s.startswith("--")]
        return list(dict.fromkeys(flags))

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            raise ConfigError(unknown_flags_message(extras, self.long_flags()))
        return ns


def unknown_keys_message(unknown: Sequence[str], names: Iterable[str], prefix: str = "", owner: str = "") -> str:
    """One line for config keys that are not fields: the nearest field of each, and the valid keys for those with
    no near one (listed up to 40 keys; past that, ``--help`` lists them).

    >>> unknown_keys_message(["sft_step"], ["sft_steps", "out"], "demo.yaml: ", "DemoConfig")
    "demo.yaml: unknown key(s) ['sft_step'] for DemoConfig; did you mean sft_steps?"
    >>> unknown_keys_message(["zzz"], ["sft_steps", "out"])
    "unknown key(s) ['zzz']; valid keys: ['out', 'sft_steps']"
    """
    names = sorted(names)
    hint = did_you_mean(list(unknown), names)
    msg = f"{prefix}unknown key(s) {list(unknown)}" + (f" for {owner}" if owner else "") + hint
    if any(closest(k, names) is None for k in unknown):
        listing = f"valid keys: {names}" if len(names) <= 40 else "--help lists the valid keys"
        msg += f" ({listing})" if hint else f"; {listing}"
    return msg


def from_dict(cls: type[T], data: dict[str, Any], *, source: str = "config") -> T:
    """Build ``cls`` from a dict, rejecting unknown keys with the list of valid ones.

    Raises:
        ConfigError: unknown keys, or a value the class's checks (``__post_init__``) reject.
    """
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(unknown_keys_message(unknown, names, f"{source}: ", cls.__name__))
    try:
        return cls(**data)
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(str(e)) from e


def _typed_values(data: dict[str, Any], hints: dict[str, Any], source: str) -> dict[str, Any]:
    """YAML strings of int/float/bool fields converted like their flags (``lr: 1e-4`` is a string to PyYAML)."""
    out = dict(data)
    for key, value in data.items():
        tp = _field_type(hints[key]) if key in hints else None
        if isinstance(value, str) and tp in (int, float, bool):
            try:
                out[key] = _to_bool(value) if tp is bool else tp(value)
            except (ValueError, argparse.ArgumentTypeError):
                raise ConfigError(f"{source}: {key}: expected {tp.__name__}, got {value!r}") from None
    return out


def parse_config(cls: type[T], argv: list[str] | None = None, prog: str | None = None) -> T:
    """Parse ``--config file.yaml`` (repeatable: later files win key by key) then ``--<field> value`` flags (flags win)
    into dataclass ``cls``.

    Booleans accept ``--flag`` (true), ``--flag false`` and ``--no-flag``. Lists take several values.
    """
    hints = typing.get_type_hints(cls)
    # FlagParser: bad flags raise a one-line ConfigError naming the nearest flag; no prefix matching
    parser = FlagParser(prog=prog, description=(cls.__doc__ or "").strip().split("\n")[0])
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="YAML file (or a shipped config name) with keys = the flags below; repeatable: later files override "
        "earlier ones key by key, and flags override them all",
    )
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        tp = _field_type(hints[f.name])
        flag = "--" + f.name
        help_ = f.metadata.get("help", "").replace("%", "%%")  # help texts are prose ("5 %"), not %-formats
        if tp is bool:
            parser.add_argument(flag, nargs="?", const=True, default=argparse.SUPPRESS, type=_to_bool, help=help_)
            parser.add_argument("--no-" + f.name, dest=f.name, action="store_false", default=argparse.SUPPRESS)
        elif isinstance(tp, tuple):
            parser.add_argument(flag, nargs="+", type=tp[1], default=argparse.SUPPRESS, help=help_)
        elif f.metadata.get("nargs") == "?":  # a value that may be left out: --flag alone means metadata["const"]
            parser.add_argument(
                flag, nargs="?", const=f.metadata["const"], type=tp, default=argparse.SUPPRESS, help=help_
            )
        else:
            parser.add_argument(flag, type=tp if callable(tp) else str, default=argparse.SUPPRESS, help=help_)
    ns = vars(parser.parse_args(argv))
    cfg_paths = [str(resolve_config(p)) for p in ns.pop("config", None) or []]
    data: dict[str, Any] = {}
    for cfg_path in cfg_paths:
        data.update(_typed_values(load_yaml(cfg_path), hints, cfg_path))
    data.update(ns)
    return from_dict(cls, data, source=" + ".join(cfg_paths) or "flags")


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


#: The folder holding the configs shipped inside the package (``<group>/<name>.yaml``; :mod:`radgrpo.configs`).
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def list_configs() -> list[str]:
    """The shipped config names, sorted (``["data/radvlm", ..., "sft/paper"]``)."""
    return sorted(p.relative_to(CONFIG_DIR).with_suffix("").as_posix() for p in CONFIG_DIR.rglob("*.yaml"))


def _name(name: str) -> str:
    return name.removesuffix(".yaml").removesuffix(".yml").strip("/")


def _unknown(name: str, what: str) -> str:
    near = difflib.get_close_matches(_name(name), list_configs(), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(near)}?" if near else ""
    return f"{what}{hint} (`radgrpo configs list` shows the shipped names)"


def config_path(name: str) -> Path:
    """The file of shipped config ``name`` (``"sft/demo_cpu"``; a trailing ``.yaml`` is allowed).

    Raises:
        ConfigError: an unknown name; the message names the nearest shipped ones.

    Example:
        >>> config_path("sft/demo_cpu").name
        'demo_cpu.yaml'
        >>> config_path("sft/demo")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        radgrpo.config.ConfigError: unknown config 'sft/demo'; did you mean sft/demo_cpu...
    """
    key = _name(name)
    if key not in list_configs():
        raise ConfigError(_unknown(name, f"unknown config {name!r}"))
    return CONFIG_DIR / f"{key}.yaml"


def resolve_config(name_or_path: str | os.PathLike) -> Path:
    """What a ``--config`` value names: an existing file, else a shipped config (``"sft/demo_cpu"``).

    Raises:
        ConfigError: neither a file nor a shipped name; the message names the nearest shipped ones.

    Example:
        >>> resolve_config("grpo/paper_report") == config_path("grpo/paper_report")
        True
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    if _name(str(name_or_path)) in list_configs():
        return config_path(str(name_or_path))
    raise ConfigError(
        _unknown(str(name_or_path), f"--config {str(name_or_path)!r} is neither a file nor a shipped config name")
    )
