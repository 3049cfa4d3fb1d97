"""The YAML configs shipped inside the package, by name: ``sft/demo_cpu``, ``grpo/paper_report``, ``eval/demo_cpu``...

A name is a file's path under this folder without ``.yaml`` (``radgrpo configs list`` prints them all,
``radgrpo configs cp NAME DEST`` copies one to edit). Every ``--config`` flag takes either a file path or one of these
names (:func:`resolve_config`): an existing file wins, so a local copy never hides behind a shipped name.

Example:
    >>> "sft/demo_cpu" in list_configs()
    True
    >>> config_path("eval/demo_cpu.yaml").relative_to(CONFIG_DIR).as_posix()
    'eval/demo_cpu.yaml'
    >>> load_config("grpo/demo_cpu")["reward_funcs"]
    ['grounding_soft_f1', 'rule_finding_errors']
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, load_yaml

#: The folder holding the shipped configs (``<group>/<name>.yaml``).
CONFIG_DIR = Path(__file__).resolve().parent

__all__ = ["CONFIG_DIR", "config_path", "copy_config", "list_configs", "load_config", "resolve_config"]


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


def load_config(name: str) -> dict[str, Any]:
    """The keys of shipped config ``name`` as a dict (a fresh one on every call)."""
    return load_yaml(config_path(name))


def copy_config(name: str, dest: str | os.PathLike) -> Path:
    """Copy shipped config ``name`` to ``dest`` (a file path, or an existing folder: ``dest/<name's file>``).

    Returns:
        the written file, byte-identical to the shipped one.
    Raises:
        ConfigError: an unknown name.
        FileExistsError: the destination file exists (it is never overwritten).

    Example:
        >>> import tempfile
        >>> p = copy_config("sft/demo_cpu", tempfile.mkdtemp())
        >>> p.name, p.read_bytes() == config_path("sft/demo_cpu").read_bytes()
        ('demo_cpu.yaml', True)
    """
    src = config_path(name)
    target = Path(dest)
    if target.is_dir():
        target = target / src.name
    if target.exists():
        raise FileExistsError(f"{target} already exists; remove it or pick another destination")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target)
    return target


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
