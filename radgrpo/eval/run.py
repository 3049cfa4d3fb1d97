"""``run_eval``: evaluate a model (hub id or folder) named in an :class:`~radgrpo.eval.config.EvalConfig` on its test
records JSONL, after checking everything a user can get wrong, and write predictions, scores, results with bootstrap
CIs, an HTML report and the resolved config (``radgrpo eval``'s work).

It loads the model and the records; the evaluation itself is
``radgrpo.eval.pipeline.evaluate(model, processor, records, config)``, which the demo calls directly for its
untrained / SFT / GRPO models.

Example:
    >>> run_eval(EvalConfig(model="runs/sft", test_file="data/test.jsonl", out="runs/eval"))  # doctest: +SKIP
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, save_config
from radgrpo.errors import UserPathError, check_path
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.pipeline import evaluate, select_records
from radgrpo.metrics.registry import check_metrics, require_all_models
from radgrpo.records import Task, read_jsonl
from radgrpo.thinking import is_thinking

__all__ = ["run_eval"]


def _adapter(cfg: EvalConfig, tasks: list[str] | None = None) -> Any:
    """The model adapter of ``cfg`` (``--adapter``, or ``auto`` read from the model's name and local config.json),
    checked against the test tasks, ``--thinking`` and the ``--trust_remote_code`` opt-in (one ConfigError)."""
    from radgrpo.models import qwen3_vl
    from radgrpo.models.adapters import resolve_adapter

    config = qwen3_vl.read_model_config(cfg.model, cfg.base_model or None)
    try:
        adapter = resolve_adapter(cfg.adapter, cfg.model, config)
    except KeyError as e:
        raise ConfigError(f"--adapter: {e.args[0]}") from None
    adapter.check(tasks=tasks or [], thinking=is_thinking(cfg.thinking), trust_remote_code=cfg.trust_remote_code)
    return adapter


def _check_model_source(cfg: EvalConfig) -> None:
    """A model (or PEFT base model) that is neither a folder here nor a usable hub model fails now, in one line."""
    from radgrpo.models import qwen3_vl

    qwen3_vl.check_local_folder(cfg.model)
    base = qwen3_vl.adapter_base_model(cfg.model, cfg.base_model or None)
    if base and cfg.backend == "vllm":
        raise ConfigError(
            f"--backend vllm loads full models, and {cfg.model} is a PEFT adapter: merge it into its base first "
            "(radgrpo.models.qwen3_vl.load_model(path).save_pretrained(out)) or use --backend hf"
        )
    for name, what in ((cfg.model, "model"), (base, f"base model of the PEFT adapter {cfg.model}")):
        if name:
            qwen3_vl.check_local_folder(name, what)
            qwen3_vl.check_hub_model(name, what)


def _load(cfg: EvalConfig, adapter: Any = None) -> tuple[Any, Any]:
    """``(model, processor)`` of ``cfg.model`` (a PEFT adapter folder on its base model, merged), loaded with the
    adapter's auto class and ``cfg.trust_remote_code``; the model is None with ``--backend vllm`` (the engine loads
    ``cfg.model`` itself)."""
    from radgrpo.models import qwen3_vl

    adapter = adapter if adapter is not None else _adapter(cfg)
    common: dict[str, Any] = {"base_model": cfg.base_model or None, "trust_remote_code": cfg.trust_remote_code}
    kw: dict[str, Any] = {**common, "auto_class": adapter.auto_class}
    if cfg.dtype:
        kw["dtype"] = cfg.dtype
    if cfg.device:
        kw["device"] = cfg.device
    model = None if cfg.backend == "vllm" else qwen3_vl.load_model(cfg.model, **kw)  # vLLM loads its own copy
    pkw: dict[str, Any] = {k: v for k, v in (("min_pixels", cfg.min_pixels), ("max_pixels", cfg.max_pixels)) if v}
    processor = qwen3_vl.load_processor(cfg.model, **pkw, **common)
    return model, processor


def run_eval(cfg: EvalConfig) -> dict[str, Any]:
    """Load the model and test records named in ``cfg``, evaluate, and write ``cfg.out``.

    Everything a user can get wrong is checked before the model loads, each as a one-line error of the CLI: the test
    file (JSONL of records, naming the bad line), the tasks left after filtering, every missing scoring model at once,
    the model folder or hub id (no hub retries for a mistyped path), the model adapter (and its
    ``--trust_remote_code`` opt-in), the records' images and the ``--out`` folder (not a file).

    Args:
        cfg: the resolved :class:`EvalConfig`.
    Returns:
        the flat results dict (also in ``cfg.out/results.json``).

    Example:
        >>> run_eval(EvalConfig(model="runs/sft", test_file="data/test.jsonl", out="runs/eval"))  # doctest: +SKIP
    """
    if not cfg.model:
        raise ConfigError("--model is required (a hub id or a local model folder)")
    if not cfg.test_file:
        raise ConfigError("--test_file is required (a records JSONL)")
    test_file = Path(cfg.test_file)
    if test_file.is_dir():
        raise ConfigError(f"--test_file {test_file} is a folder; pass the records JSONL in it (e.g. test.jsonl)")
    if not test_file.is_file():
        raise UserPathError(f"--test_file {test_file} does not exist")
    every = read_jsonl(test_file)
    if not every:
        raise ConfigError(f"--test_file {test_file} holds no records (an empty file)")
    try:
        records = select_records(every, tasks=cfg.tasks or None, max_per_task=cfg.max_samples)
    except ValueError as e:  # an unknown task name
        raise ConfigError(f"--tasks: {e}") from None
    if not records:
        have = sorted({r.task.value for r in every})
        raise ConfigError(f"no records of --tasks {cfg.tasks} in {test_file} (it holds {', '.join(have)})")
    if any(r.task is Task.REPORT_GENERATION for r in records):  # before the model loads: every missing model at once
        require_all_models(check_metrics(cfg.metrics))
    _check_model_source(cfg)  # a mistyped folder fails here, not after a minute of hub retries
    adapter = _adapter(cfg, sorted({r.task.value for r in records}))
    missing = [r for r in records if not r.image_path(test_file.parent).is_file()]
    if missing:  # before the model loads, not at the first batch that needs one
        r = missing[0]
        raise ConfigError(
            f"{len(missing)} of {len(records)} test records name an image that does not exist, e.g. record {r.id!r}: "
            f"{r.image_path(test_file.parent)} (relative image paths resolve against the test file's folder)"
        )
    check_path(cfg.out, "--out", kind="out")
    save_config(cfg, cfg.out)
    t0 = time.perf_counter()
    model, processor = _load(cfg, adapter)
    load_s = time.perf_counter() - t0
    return evaluate(
        model,
        processor,
        records,
        cfg,
        base_dir=test_file.parent,
        meta={"model": cfg.model, "test_file": str(test_file), "load_seconds": round(load_s, 3)},
        adapter=adapter,
    )
