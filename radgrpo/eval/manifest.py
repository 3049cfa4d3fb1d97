"""The protocol manifest of an evaluation run: what its numbers depend on, stored as ``results.json["manifest"]``.

:func:`protocol_manifest` records the package versions (radgrpo, torch, transformers, trl, peft, numpy and the
metric and generation libraries that are installed), a fingerprint of the evaluated model and of every scoring model
the metrics use (as resolved by ``radgrpo.metrics.loaders``), the metric options (API keys and other secrets are
never written), the seed, the bootstrap settings, the generation settings, the test file's sha256 and record count,
and when the manifest was made. Two runs whose manifests agree were made with the same code, models and protocol.

A fingerprint is FAST, not a full hash, so that a 16 GB checkpoint costs milliseconds (:func:`fingerprint_folder`):
small files (configs, tokenizer, processor, chat template, up to :data:`FULL_HASH_MAX_BYTES`) are hashed whole, a
``.safetensors`` file by its header only (the 8-byte length and the JSON header: tensor names, dtypes, shapes and
offsets) plus its size, and any other large file (``pytorch_model.bin``, an archive) by its size and the sha256 of
its first :data:`HEAD_BYTES`. Changed weights therefore change the fingerprint when their shapes, dtypes, size or
(for other files) first MiB change, but NOT when only tensor values inside a ``.safetensors`` file change: to tell
two checkpoints of one training run apart, compare their paths and training logs too, or hash the weights in full.

Example:
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "config.json").write_text('{"model_type": "qwen3_vl"}')
    >>> fp = fingerprint_folder(d)
    >>> list(fp["files"]), fp["files"]["config.json"]["size"], len(fp["sha256"])
    (['config.json'], 26, 64)
"""

from __future__ import annotations

import datetime
import fnmatch
import hashlib
import json
import os
import platform
import struct
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from radgrpo.eval.config import EvalConfig
from radgrpo.eval.settings import SamplingOptions

#: packages always listed (None when not installed)
PACKAGES: tuple[str, ...] = ("radgrpo", "torch", "transformers", "trl", "peft", "numpy")
#: metric and generation libraries, listed when installed
OPTIONAL_PACKAGES: tuple[str, ...] = (
    "accelerate",
    "tokenizers",
    "safetensors",
    "huggingface-hub",
    "scipy",
    "sacrebleu",
    "nltk",
    "rouge-score",
    "bert-score",
    "f1chexbert",
    "radgraph",
    "scikit-learn",
    "pycocotools",
    "evaluate",
    "httpx",
    "openai",
    "vllm",
)
#: files up to this size are hashed whole (configs, tokenizer.json of ~11 MB, vocabularies)
FULL_HASH_MAX_BYTES: int = 32 * 2**20
#: a large file that is not ``.safetensors`` is hashed by its size and its first HEAD_BYTES
HEAD_BYTES: int = 2**20
#: the top-level files of a model folder that a fingerprint reads (by name pattern), and the ones it skips
#: (training bookkeeping that does not change what the model computes)
MODEL_FILE_PATTERNS: tuple[str, ...] = (
    "*.json",
    "*.safetensors",
    "*.bin",
    "*.pt",
    "*.pth",
    "*.model",
    "*.txt",
    "*.jinja",
    "*.tiktoken",
    "*.py",
    "*.tar.gz",
    "*.tgz",
    "*.zip",
    "*.gguf",
)
SKIPPED_FILES: tuple[str, ...] = (
    "trainer_state.json",
    "training_args.bin",
    "log_history.json",
    "monitors.json",
    "heldout.json",
    "results.json",
    "optimizer.pt",
    "scheduler.pt",
    "rng_state*.pth",
)
#: option names whose values are never written (API keys, tokens, passwords)
_SECRET_NAMES = frozenset({"key", "token", "access_token", "auth_token", "hf_token", "password", "secret"})


def _sha256_file(path: Path, limit: int | None = None) -> str:
    h = hashlib.sha256()
    left = limit
    with open(path, "rb") as f:
        while left is None or left > 0:
            block = f.read(2**20 if left is None else min(2**20, left))
            if not block:
                break
            h.update(block)
            if left is not None:
                left -= len(block)
    return h.hexdigest()


def safetensors_header_sha256(path: str | os.PathLike) -> str:
    """sha256 of a ``.safetensors`` file's header: its first 8 bytes (little-endian header length N) and the N
    bytes of JSON after them (tensor names, dtypes, shapes, offsets), never the weights.

    Raises:
        ValueError: the file is too short or its header length is impossible (not a safetensors file).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp(), "m.safetensors")
        >>> _ = p.write_bytes(struct.pack("<Q", 2) + b"{}")
        >>> safetensors_header_sha256(p) == hashlib.sha256(struct.pack("<Q", 2) + b"{}").hexdigest()
        True
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: {size} bytes, too short for a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > size - 8 or n > 2**30:
            raise ValueError(f"{path}: header length {n} does not fit a {size}-byte safetensors file")
        return hashlib.sha256(head + f.read(n)).hexdigest()


def file_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """The fast fingerprint of one file: ``{"size": bytes, <how>: hex}``.

    ``<how>`` is ``"header_sha256"`` for a ``.safetensors`` file (:func:`safetensors_header_sha256`), ``"sha256"``
    (of the whole file) up to :data:`FULL_HASH_MAX_BYTES`, else ``"head_sha256"`` (of the first :data:`HEAD_BYTES`).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp(), "config.json")
        >>> _ = p.write_text("{}")
        >>> file_fingerprint(p) == {"size": 2, "sha256": hashlib.sha256(b"{}").hexdigest()}
        True
    """
    path = Path(path)
    size = path.stat().st_size
    if path.name.endswith(".safetensors"):
        try:
            return {"size": size, "header_sha256": safetensors_header_sha256(path)}
        except ValueError:
            pass  # not a real safetensors file: fingerprint it as any other file
    if size <= FULL_HASH_MAX_BYTES:
        return {"size": size, "sha256": _sha256_file(path)}
    return {"size": size, "head_sha256": _sha256_file(path, HEAD_BYTES)}


def _model_files(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.iterdir(), key=lambda q: q.name):
        name = p.name
        if name.startswith(".") or not p.is_file():
            continue
        if any(fnmatch.fnmatch(name, pat) for pat in SKIPPED_FILES):
            continue
        if any(fnmatch.fnmatch(name, pat) for pat in MODEL_FILE_PATTERNS):
            out.append(p)
    return out


def fingerprint_folder(folder: str | os.PathLike) -> dict[str, Any]:
    """Fast fingerprint of a model folder: every top-level model file (:data:`MODEL_FILE_PATTERNS`, without
    :data:`SKIPPED_FILES`, hidden files and subfolders) by :func:`file_fingerprint`, and one sha256 over them.

    Returns:
        ``{"sha256": hex over the files' names and fingerprints (not the folder's path), "files": {name: {...}},
        "n_bytes": total size}``; a folder copied elsewhere keeps its fingerprint.

    Example:
        >>> import tempfile
        >>> a, b = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
        >>> for d in (a, b):
        ...     _ = (d / "config.json").write_text("{}")
        >>> fingerprint_folder(a)["sha256"] == fingerprint_folder(b)["sha256"]
        True
    """
    folder = Path(folder)
    files = {p.name: file_fingerprint(p) for p in _model_files(folder)}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"sha256": digest, "files": files, "n_bytes": sum(f["size"] for f in files.values())}


def _looks_like_path(name: str) -> bool:
    # a hub id is "name" or "org/name": a leading ".", "/" or "~", a backslash or a second "/" mark a path
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


def hub_revision(repo_id: str, cache_dir: str | os.PathLike | None = None) -> tuple[str, Path] | None:
    """The commit and snapshot folder of ``repo_id`` in the local Hugging Face cache (None when not cached).

    Example:
        >>> hub_revision("no-such-org/no-such-model", cache_dir="/nonexistent") is None
        True
    """
    try:
        from huggingface_hub import try_to_load_from_cache

        cache = None if cache_dir is None else Path(cache_dir)
        found = try_to_load_from_cache(repo_id, "config.json", cache_dir=cache)
    except Exception:  # an id the hub library rejects, or no hub library: just the id
        return None
    if not isinstance(found, str):
        return None
    snapshot = Path(found).parent
    return snapshot.name, snapshot


def fingerprint_model(model: str | os.PathLike, *, hub_cache: str | os.PathLike | None = None) -> dict[str, Any]:
    """Fingerprint of an evaluated model given as a local folder or a hub id.

    Args:
        model: a folder (weights + processor, or a PEFT adapter folder), or a hub id such as ``"org/name"``.
        hub_cache: the Hugging Face cache folder to look a hub id up in (default: the library's).
    Returns:
        a folder: ``{"path": absolute path, **fingerprint_folder}``; a hub id: ``{"id", "revision"}`` plus the
        snapshot's fingerprint when it is in the local cache, else ``{"id"}`` alone; a path that does not exist:
        ``{"path", "exists": False}``.

    Example:
        >>> fingerprint_model("org/not-cached", hub_cache="/nonexistent")
        {'id': 'org/not-cached'}
    """
    name = str(model)
    path = Path(name).expanduser()
    if path.is_dir():
        return {"path": str(path.resolve()), **fingerprint_folder(path)}
    if _looks_like_path(name):
        return {"path": name, "exists": False}
    found = hub_revision(name, hub_cache)
    if found is None:
        return {"id": name}
    revision, snapshot = found
    return {"id": name, "revision": revision, **fingerprint_folder(snapshot)}


def scoring_model_fingerprints(metric_names: Iterable[str]) -> dict[str, Any]:
    """Fingerprints of the scoring models the named metrics need, resolved as the metrics resolve them.

    Returns:
        model name -> ``{"path", "used_by": [metrics], **fingerprint_folder}``, or ``{"used_by", "missing": True}``
        for a model that does not resolve locally (a run that needed it would have stopped before generating).

    Example:
        >>> scoring_model_fingerprints(["bleu4", "soft_f1"])  # no model needed
        {}
    """
    from radgrpo.metrics.loaders import ModelNotFoundError, all_model_specs, locate_model
    from radgrpo.metrics.registry import get_metric

    need: dict[str, list[str]] = {}
    for metric in metric_names:
        for model in get_metric(metric).models:
            need.setdefault(model, []).append(metric)
    if not need:
        return {}
    all_model_specs()
    out: dict[str, Any] = {}
    for model, users in need.items():
        try:
            folder = locate_model(model)
        except ModelNotFoundError:
            out[model] = {"used_by": users, "missing": True}
            continue
        out[model] = {"path": str(Path(folder).resolve()), "used_by": users, **fingerprint_folder(folder)}
    return out


def public_options(options: Any) -> Any:
    """``options`` without secrets: every mapping entry whose name is an API key, token or password (``api_key``,
    ``key``, ``*_key``, ``token``, ``hf_token``, ``password`` ...) is dropped, recursively.

    Example:
        >>> public_options({"green": {"backend": "openai", "api_key": "sk-x", "api_key_env": "OPENAI_API_KEY"}})
        {'green': {'backend': 'openai', 'api_key_env': 'OPENAI_API_KEY'}}
    """
    if isinstance(options, Mapping):
        return {
            k: public_options(v)
            for k, v in options.items()
            if not (str(k).lower() in _SECRET_NAMES or str(k).lower().endswith(("_key", "apikey", "_token")))
        }
    if isinstance(options, (list, tuple)):
        return [public_options(v) for v in options]
    return options


def records_file_fingerprint(path: str | os.PathLike | None) -> dict[str, Any] | None:
    """``{"path", "sha256" (of the whole file), "n_records" (non-blank lines), "size"}`` of the test records file.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp(), "test.jsonl")
        >>> _ = p.write_text('{"id": "a"}\\n\\n{"id": "b"}\\n')
        >>> fp = records_file_fingerprint(p)
        >>> fp["n_records"], fp["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        (2, True)
    """
    if not path:
        return None
    p = Path(path)
    if not p.is_file():
        return {"path": str(p), "exists": False}
    h = hashlib.sha256()
    n = 0
    with open(p, "rb") as f:
        for line in f:
            h.update(line)
            n += bool(line.strip())
    return {"path": str(p.resolve()), "sha256": h.hexdigest(), "n_records": n, "size": p.stat().st_size}


def package_versions() -> dict[str, str | None]:
    """Installed versions of :data:`PACKAGES` (None when absent) and of the :data:`OPTIONAL_PACKAGES` present.

    Example:
        >>> v = package_versions()
        >>> list(v)[:6], v["radgrpo"] is not None
        (['radgrpo', 'torch', 'transformers', 'trl', 'peft', 'numpy'], True)
    """
    from importlib.metadata import PackageNotFoundError, version

    def get(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    out: dict[str, str | None] = {name: get(name) for name in PACKAGES}
    out.update({name: v for name in OPTIONAL_PACKAGES if (v := get(name)) is not None})
    return out


def _generation_settings(config: EvalConfig, generation: Mapping[str, Any] | None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "backend": config.backend,
        "adapter": config.adapter,
        "thinking": config.thinking,
        **SamplingOptions.of(config).settings(),  # do_sample, temperature, top_p, top_k (others when set)
        "regenerate": config.regenerate,
        "batch_size": config.batch_size,
        "max_new_tokens": config.generation_limits(),
    }
    return {**settings, **dict(generation or {})}


def protocol_manifest(
    config: EvalConfig,
    records_path: str | os.PathLike | None,
    model_path: str | os.PathLike | None,
    metric_names: Iterable[str],
    *,
    generation: Mapping[str, Any] | None = None,
    n_records: int | None = None,
    confidence: float = 0.95,
    hub_cache: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """What one evaluation's numbers depend on (``results.json["manifest"]``).

    Args:
        config: the run's :class:`EvalConfig` (its fields are stored without secrets; it holds only the NAME of the
            environment variable with GREEN's API key).
        records_path: the test records file (None: not from a file).
        model_path: the evaluated model's folder or hub id (None or "": not a model, e.g. a baseline predictor).
        metric_names: the metrics computed.
        generation: the run meta's ``"generation"`` block (sampling settings, throughput, regeneration counts);
            it is merged over the settings read from ``config``.
        n_records: how many records were evaluated (after ``--tasks`` / ``--max_samples``).
        confidence: the bootstrap CI level.
        hub_cache: Hugging Face cache folder for a hub id's revision (default: the library's).
    Returns:
        ``{"created" (UTC ISO time), "python", "platform", "packages", "model", "base_model", "scoring_models",
        "metrics", "metric_options", "seed", "bootstrap", "generation", "test_file", "n_records_evaluated",
        "config"}``. Fingerprints are fast ones (module docstring): header-only for ``.safetensors`` weights.

    Example:
        >>> m = protocol_manifest(EvalConfig(n_resamples=500, seed=3), None, None, ["bleu4"])
        >>> m["bootstrap"], m["model"], m["scoring_models"]
        ({'n_resamples': 500, 'seed': 3, 'confidence': 0.95, 'method': 'percentile'}, None, {})
    """
    metrics = list(metric_names)
    return {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "model": fingerprint_model(model_path, hub_cache=hub_cache) if model_path else None,
        "base_model": fingerprint_model(config.base_model, hub_cache=hub_cache) if config.base_model else None,
        "scoring_models": scoring_model_fingerprints(metrics),
        "metrics": metrics,
        "metric_options": public_options(config.metric_options()),
        "seed": config.seed,
        "bootstrap": {
            "n_resamples": config.n_resamples,
            "seed": config.seed,
            "confidence": confidence,
            "method": "percentile",
        },
        "generation": _generation_settings(config, generation),
        "test_file": records_file_fingerprint(records_path),
        "n_records_evaluated": n_records,
        "config": public_options(asdict(config)),
    }


__all__ = [
    "fingerprint_folder",
    "fingerprint_model",
    "file_fingerprint",
    "package_versions",
    "protocol_manifest",
    "public_options",
    "safetensors_header_sha256",
    "scoring_model_fingerprints",
    "records_file_fingerprint",
]
