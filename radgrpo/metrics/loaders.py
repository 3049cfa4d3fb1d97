"""Where the scoring models live: resolve a metric model by local directory, radgrpo's model folder or the HF cache.

Every model-backed metric (BERTScore encoders, CheXbert, RadGraph, GREEN) resolves its weights through
:func:`resolve_model`, so a missing model always fails the same way: a :class:`ModelNotFoundError` naming the exact
files, the folder to put them in, and the ``radgrpo models download NAME`` command that fetches them on a connected
machine. Nothing here downloads unless :func:`download_model` is called explicitly (never in tests).

Search order for a spec ``NAME``:
1. an explicit local path (``model_dir=...`` / ``--model-dir``), which must contain the spec's files (an
   incomplete explicit folder is an error, never skipped);
2. ``$RADGRPO_MODELS_DIR/NAME`` (default ``~/.cache/radgrpo/models/NAME``);
3. the Hugging Face cache (``local_files_only=True``; works under ``HF_HUB_OFFLINE=1``).

Example:
    >>> spec = MODEL_SPECS["distilroberta-base"]
    >>> spec.hub_repo
    'distilroberta/distilroberta-base'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.errors import RadgrpoUserError


@dataclass(frozen=True)
class ModelSpec:
    """A scoring model radgrpo knows how to find.

    Args:
        name: short name used on the command line (``radgrpo models download NAME``).
        hub_repo: Hugging Face repository id holding the files.
        files: files that must exist in the local folder (relative paths; for a hub *repo* download, the repo's own
            files; for an archive, the archive's name).
        used_by: metric names that need this model.
        note: one line on what the model is.
        repo_type: "model" or "dataset".
        subfolder_files: optional mapping of file -> path inside ``hub_repo`` when it differs.
        weights: weight files of which at least one must exist (``model.safetensors`` or ``pytorch_model.bin`` ...);
            empty when :attr:`files` already names them or the model takes no weights from this folder.
    """

    name: str
    hub_repo: str
    files: tuple[str, ...]
    used_by: tuple[str, ...]
    note: str = ""
    repo_type: str = "model"
    subfolder_files: dict[str, str] = field(default_factory=dict)
    weights: tuple[str, ...] = ()


#: the weight files of a transformers checkpoint, any one of which is enough
HF_WEIGHTS: tuple[str, ...] = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


#: Registry of known scoring models. Metric modules add their own entries with :func:`register_model`.
MODEL_SPECS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add (or replace) a spec in :data:`MODEL_SPECS`; returns it."""
    MODEL_SPECS[spec.name] = spec
    return spec


#: model name -> a function ``(name, folder_or_None) -> Path`` that finds it where its metric also looks (e.g. an
#: extracted RadGraph archive or the radgraph package's cache), raising ModelNotFoundError; default resolve_model
LOCATORS: dict[str, Any] = {}


def locate_model(name: str, folder: str | os.PathLike | None = None) -> Path:
    """Where model ``name`` is: its registered locator (:func:`register_locator`), else :func:`resolve_model`.

    Raises:
        ModelNotFoundError: not found, with the download instructions.
    """
    all_model_specs()
    return Path(LOCATORS.get(name, resolve_model)(name, folder))


def register_locator(name: str, locate: Any) -> None:
    """Make :func:`require_models` find model ``name`` with ``locate(name, folder)`` instead of :func:`resolve_model`
    (for models whose metric accepts more places or forms than the spec's files)."""
    LOCATORS[name] = locate


#: metric modules that register their model specs on import (CheXbert, RadGraph v1/XL, GREEN)
SPEC_MODULES: tuple[str, ...] = (
    "radgrpo.metrics.text.chexbert",
    "radgrpo.metrics.text.radgraph_model.archive",
    "radgrpo.metrics.text.green",
)


def all_model_specs() -> dict[str, ModelSpec]:
    """Every known scoring-model spec, importing the metric modules that register theirs.

    Example:
        >>> {"chexbert", "radgraph-xl", "distilroberta-base"} <= set(all_model_specs())
        True
    """
    import importlib

    for mod in SPEC_MODULES:
        importlib.import_module(mod)
    return dict(MODEL_SPECS)


for _spec in (
    ModelSpec(
        "distilroberta-base",
        "distilroberta/distilroberta-base",
        ("config.json", "vocab.json", "merges.txt"),
        ("bertscore_radcliq", "radcliq_v1", "radcliq_paper"),
        "BERTScore encoder of RadCliQ (layer 5, baseline-rescaled)",
        weights=HF_WEIGHTS,
    ),
    ModelSpec(
        "distilbert-base-uncased",
        "distilbert/distilbert-base-uncased",
        ("config.json", "vocab.txt"),
        ("bertscore",),
        "BERTScore encoder of the paper's evaluation (layer 5)",
        weights=HF_WEIGHTS,
    ),
    ModelSpec(
        "bert-base-uncased",
        "google-bert/bert-base-uncased",
        ("config.json", "vocab.txt"),
        ("chexbert",),
        "tokenizer/config backbone of CheXbert",
    ),
):
    register_model(_spec)


def models_dir() -> Path:
    """radgrpo's model folder: ``$RADGRPO_MODELS_DIR`` or ``~/.cache/radgrpo/models``."""
    return Path(os.environ.get("RADGRPO_MODELS_DIR", Path.home() / ".cache" / "radgrpo" / "models"))


class ModelNotFoundError(RadgrpoUserError, FileNotFoundError):
    """A scoring model is not available locally; the message says what to download and where to put it."""


def _missing(folder: Path, files: tuple[str, ...], weights: tuple[str, ...] = ()) -> list[str]:
    out = [f for f in files if not (folder / f).exists()]
    if weights and not any((folder / w).exists() for w in weights):
        out.append(" or ".join(weights))
    return out


def needed_files(spec: ModelSpec) -> str:
    """The files a spec's folder must hold, weights included, in words.

    Example:
        >>> needed_files(MODEL_SPECS["distilbert-base-uncased"])
        'config.json, vocab.txt and the weights (model.safetensors or pytorch_model.bin)'
    """
    files = ", ".join(spec.files)
    if not spec.weights:
        return files
    return f"{files} and the weights ({' or '.join(w for w in spec.weights if not w.endswith('.index.json'))})"


def _not_found_message(spec: ModelSpec, tried: list[str]) -> str:
    target = models_dir() / spec.name
    files = needed_files(spec)
    lines = [
        f"model {spec.name!r} (needed by {', '.join(spec.used_by)}) is not available offline.",
        f"  files needed: {files}  (from the Hugging Face {spec.repo_type} repo {spec.hub_repo!r})",
        f"  put them in:  {target}   (or set RADGRPO_MODELS_DIR, or pass the folder as model_dir / --model-dir)",
        f"  on a machine with internet:  radgrpo models download {spec.name}",
        "  looked in: " + "; ".join(tried),
    ]
    if spec.note:
        lines.insert(1, f"  what it is:   {spec.note}")
    return "\n".join(lines)


def resolve_model(name: str, model_dir: str | os.PathLike | None = None) -> Path:
    """Local folder holding the files of model spec ``name`` (or of an arbitrary hub id / folder).

    Args:
        name: a :data:`MODEL_SPECS` name, a hub repo id, or a local folder path.
        model_dir: explicit local folder to use instead of searching.
    Returns:
        the folder path.
    Raises:
        ModelNotFoundError: with the download instructions.
    """
    spec = MODEL_SPECS.get(name)
    tried: list[str] = []
    if model_dir is not None:
        folder = Path(model_dir)
        files, weights = (spec.files, spec.weights) if spec else ((), ())
        if folder.is_dir() and not _missing(folder, files, weights):
            return folder
        missing = ", ".join(_missing(folder, files, weights)) if folder.is_dir() else "the folder itself"
        raise ModelNotFoundError(
            f"model folder {folder} given for {name!r} is incomplete (missing: {missing})"
            + (f"\n{_not_found_message(spec, [str(folder)])}" if spec else "")
        )
    if spec is None:
        p = Path(name)
        if p.is_dir():
            return p
        spec = ModelSpec(name=name.replace("/", "--"), hub_repo=name, files=("config.json",), used_by=("(custom)",))
    folder = models_dir() / spec.name
    if folder.is_dir() and not _missing(folder, spec.files, spec.weights):
        return folder
    tried.append(str(folder))
    try:
        from huggingface_hub import snapshot_download

        cached = Path(snapshot_download(spec.hub_repo, repo_type=spec.repo_type, local_files_only=True))
        if not _missing(cached, spec.files, spec.weights):
            return cached
        tried.append(f"HF cache {cached} (incomplete)")
    except Exception:
        tried.append(f"HF cache for {spec.hub_repo}")
    raise ModelNotFoundError(_not_found_message(spec, tried))


def require_models(
    need: dict[str, list[str]],
    folders: dict[str, str | None] | None = None,
    consequence: str = "nothing was generated",
) -> None:
    """Resolve every scoring model in ``need`` at once; one error lists all the missing ones.

    Args:
        need: model name (:data:`MODEL_SPECS`) -> who needs it (metric or reward names, for the message).
        folders: model name -> an explicit folder given for it (None: search radgrpo's model folder and the HF cache).
        consequence: what did not happen, for the message (``"nothing was generated"``, ``"training did not start"``).
    Raises:
        ModelNotFoundError: one message naming each missing model, who needs it, every file it needs (weights
            included), the folder to put it in, and the one ``radgrpo models download`` command.

    Example:
        >>> require_models({})  # nothing needed
    """
    all_model_specs()
    folders = folders or {}
    missing: dict[str, list[str]] = {}
    for model, users in need.items():
        try:
            locate_model(model, folders.get(model))
        except ModelNotFoundError:
            missing[model] = users
    if not missing:
        return
    parts = []
    for model, users in missing.items():
        files = needed_files(MODEL_SPECS[model]) if model in MODEL_SPECS else "its files"
        where = folders.get(model) or models_dir() / model
        parts.append(f"{model} (for {', '.join(dict.fromkeys(users))}): {files} in {where}")
    raise ModelNotFoundError(
        f"{len(missing)} scoring model(s) missing, {consequence}: {'; '.join(parts)}. On a machine with internet: "
        f"radgrpo models download {' '.join(missing)} (or set RADGRPO_MODELS_DIR to a folder holding them)"
    )


def download_model(name: str, dest: str | os.PathLike | None = None) -> Path:
    """Download spec ``name`` into ``dest`` (default ``models_dir()/name``). Needs internet; never used in tests."""
    all_model_specs()
    if name not in MODEL_SPECS:
        raise KeyError(f"unknown model {name!r}; known: {sorted(MODEL_SPECS)}")
    spec = MODEL_SPECS[name]
    from huggingface_hub import hf_hub_download, snapshot_download

    target = Path(dest) if dest else models_dir() / spec.name
    target.mkdir(parents=True, exist_ok=True)
    if spec.subfolder_files:
        for local, remote in spec.subfolder_files.items():
            path = hf_hub_download(spec.hub_repo, remote, repo_type=spec.repo_type)
            _copy(Path(path), target / local)
    else:
        snapshot_download(spec.hub_repo, repo_type=spec.repo_type, local_dir=target)
    missing = _missing(target, spec.files, spec.weights)
    if missing:
        raise ModelNotFoundError(f"downloaded {spec.hub_repo} into {target} but {missing} are still missing")
    return target


def _copy(src: Path, dst: Path) -> None:
    import shutil

    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
