"""The adapter registry: :data:`ADAPTERS` by name, :func:`register_adapter`, :func:`get_adapter` (with a
did-you-mean), ``--adapter auto`` (:func:`resolve_adapter`: from the model's hub id, folder and ``config.json``) and
the ``--help-adapters`` text (:func:`adapters_help`). Each family's module registers its adapters when
:mod:`radgrpo.models.adapters` imports it.

Example:
    >>> get_adapter("medgemma").box_frame, resolve_adapter("auto", "google/medgemma-4b-pt").name
    ('gemma1000_yx', 'medgemma_pt')
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, closest
from radgrpo.models.adapters.base import ModelAdapter

__all__ = [
    "ADAPTERS",
    "RADGRPO_CARD_MARKER",
    "RADGRPO_RUN_FILES",
    "UnknownAdapterError",
    "adapters_help",
    "get_adapter",
    "is_radgrpo_folder",
    "register_adapter",
    "resolve_adapter",
]


class UnknownAdapterError(ConfigError, KeyError):
    """An ``--adapter`` name that is not registered (a :class:`~radgrpo.config.ConfigError`, so the CLI prints one
    line; also a ``KeyError``). ``args[0]`` is the message, naming the closest registered adapter."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


#: Every registered adapter by name, in registration order (the order of ``--help-adapters``).
ADAPTERS: dict[str, ModelAdapter] = {}


def register_adapter(adapter: ModelAdapter) -> ModelAdapter:
    """Add an adapter to :data:`ADAPTERS` under its name (a duplicate name raises ``ValueError``)."""
    if adapter.name in ADAPTERS:
        raise ValueError(f"adapter {adapter.name!r} is already registered")
    ADAPTERS[adapter.name] = adapter
    return adapter


def get_adapter(name: str) -> ModelAdapter:
    """The adapter called ``name``; an unknown name raises :class:`UnknownAdapterError` (a ``KeyError`` and a
    :class:`~radgrpo.config.ConfigError`) naming the closest registered one.

    Example:
        >>> get_adapter("qwen3_vl_instrct")
        Traceback (most recent call last):
        ...
        radgrpo.models.adapters.registry.UnknownAdapterError: unknown model adapter 'qwen3_vl_instrct'; did you mean 'qwen3_vl_instruct'? (registered: radgrpo, chexagent, llava_rad, maira2, medgemma, medgemma_pt, qwen3_vl_instruct, qwen3_vl_thinking, qwen2_5_vl)
    """
    if name not in ADAPTERS:
        near = closest(name, list(ADAPTERS))
        hint = f"; did you mean {near!r}?" if near else ""
        raise UnknownAdapterError(f"unknown model adapter {name!r}{hint} (registered: {', '.join(ADAPTERS)})")
    return ADAPTERS[name]


# ---- choosing an adapter for a model ----

#: Files only a radgrpo training run leaves in its output folder (beside ``config.yaml``), and the marker of its
#: model card (``README.md``, written by ``radgrpo.train.model_card``).
RADGRPO_RUN_FILES: tuple[str, ...] = ("log_history.json", "heldout.json", "monitors.json", "radgrpo_tiny.json")
RADGRPO_CARD_MARKER = "written by radgrpo.train.model_card"


def is_radgrpo_folder(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` (or, for a ``checkpoint-N`` folder, its parent) was written by radgrpo: its model card, one
    of :data:`RADGRPO_RUN_FILES`, or ``config.yaml`` beside a trainer state.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "README.md").write_text("<!-- written by radgrpo.train.model_card -->")
        >>> is_radgrpo_folder(d), is_radgrpo_folder(d.parent)
        (True, False)
    """
    here = Path(folder)
    for d in (here, here.parent) if here.name.startswith("checkpoint-") else (here,):
        if not d.is_dir():
            continue
        if any((d / f).is_file() for f in RADGRPO_RUN_FILES):
            return True
        if (d / "config.yaml").is_file() and (d / "trainer_state.json").is_file():
            return True
        card = d / "README.md"
        try:
            if card.is_file() and RADGRPO_CARD_MARKER in card.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _names(model: str, config: Mapping[str, Any]) -> list[str]:
    """The strings a model is recognised by: its id or path, ``_name_or_path``, ``architectures``, ``model_type``
    (and a PEFT adapter's ``base_model_name_or_path``)."""
    names = [model] if model else []
    for key in ("_name_or_path", "name_or_path", "model_type", "base_model_name_or_path"):
        if isinstance(config.get(key), str):
            names.append(config[key])
    arch = config.get("architectures")
    if isinstance(arch, (list, tuple)):
        names.extend(a for a in arch if isinstance(a, str))
    return names


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _matches(pattern: str, raw: str, squashed: str) -> bool:
    return all((p in squashed) if p == _alnum(p) else (p in raw) for p in pattern.lower().split("+"))


def resolve_adapter(name: str, model: str = "", model_config: Mapping[str, Any] | None = None) -> ModelAdapter:
    """``--adapter`` resolved: a registered name, or ``"auto"``: the adapter whose ``hub_ids`` match the model's hub
    id / folder name / ``config.json`` (``_name_or_path``, ``architectures``, ``model_type``), else ``radgrpo``.

    A folder that radgrpo trained (:func:`is_radgrpo_folder`) is always ``radgrpo``, whatever base model its config
    names; so is a name matching the radgrpo adapter's own ``hub_ids`` (``radvlm``, ``radgrpo``). Otherwise the match
    with the most fragments wins (``qwen3_vl_thinking`` needs "qwen3vl" and "thinking", so it beats
    ``qwen3_vl_instruct``), ties going to the adapter registered first. ``config.json`` is read from a local folder
    when ``model_config`` is not given (and ``adapter_config.json`` of a PEFT folder).

    Example:
        >>> resolve_adapter("auto", "Qwen/Qwen3-VL-8B-Thinking").name, resolve_adapter("auto", "microsoft/maira-2").name
        ('qwen3_vl_thinking', 'maira2')
        >>> resolve_adapter("auto", "runs/x", {"model_type": "qwen2_5_vl"}).name, resolve_adapter("auto", "my-model").name
        ('qwen2_5_vl', 'radgrpo')
    """
    if name != "auto":
        return get_adapter(name)
    folder = Path(model) if model and Path(model).is_dir() else None
    if folder is not None and is_radgrpo_folder(folder):
        return ADAPTERS["radgrpo"]
    config = dict(model_config) if model_config is not None else {}
    # a local folder is known by its own name (and its run's, for checkpoint-N), not by the folders above it
    names = _names("" if folder is not None else model, config)
    if folder is not None:
        here = folder.resolve()
        names.extend([here.name, here.parent.name] if here.name.startswith("checkpoint-") else [here.name])
        for fname in ("config.json", "adapter_config.json"):
            if model_config is None or fname == "adapter_config.json":
                names.extend(_names("", _read_json(folder / fname)))
    raw = "\n".join(n.lower() for n in names)
    squashed = "\n".join(_alnum(n) for n in names)
    default = ADAPTERS["radgrpo"]
    if any(_matches(p, raw, squashed) for p in default.hub_ids):
        return default
    best: tuple[int, int, ModelAdapter] | None = None
    for i, adapter in enumerate(ADAPTERS.values()):
        for pattern in adapter.hub_ids:
            if _matches(pattern, raw, squashed):
                key = (pattern.count("+") + 1, -i)
                if best is None or key > best[:2]:
                    best = (*key, adapter)
    return best[2] if best is not None else default


def adapters_help() -> str:
    """One line per registered adapter (``radgrpo eval --help-adapters``): name, remote-code flag, description and
    the names ``auto`` picks it for.

    Example:
        >>> print(adapters_help().splitlines()[0])
        radgrpo              the default; RadVLM's instructions, normalised [0,1] boxes  (auto: radvlm, radgrpo, any other model)
    """
    lines = []
    for a in ADAPTERS.values():
        remote = " [--trust_remote_code]" if a.trust_remote_code else ""
        auto = ", ".join(a.hub_ids) + (", any other model" if a.name == "radgrpo" else "")
        lines.append(f"{a.name:<20} {a.description}{remote}  (auto: {auto})")
    return "\n".join(lines)
