"""The YAML configs shipped inside the package, by name: ``sft/demo_cpu``, ``grpo/paper_report``, ``eval/demo_cpu``...

A name is a file's path under this folder without ``.yaml`` (``radgrpo configs list`` prints them all,
``radgrpo configs cp NAME DEST`` copies one to edit). Every ``--config`` flag takes either a file path or one of these
names (:func:`radgrpo.config.resolve_config`, which owns the lookup): an existing file wins, so a local copy never hides behind a shipped name.

Example:
    >>> "sft/demo_cpu" in list_configs()
    True
    >>> config_path("eval/demo_cpu.yaml").relative_to(CONFIG_DIR).as_posix()
    'eval/demo_cpu.yaml'
    >>> load_config("grpo/demo_cpu")["reward_funcs"]
    ['grounding_soft_f1', 'clinical_utility']
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from radgrpo.config import CONFIG_DIR, ConfigError, config_path, list_configs, load_yaml, resolve_config

__all__ = ["CONFIG_DIR", "ConfigError", "config_path", "copy_config", "list_configs", "load_config", "resolve_config"]


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
