"""``radgrpo eval``: evaluate a model (hub id or folder) on a test records JSONL and write predictions, scores,
results with bootstrap CIs, an HTML report and the resolved config.

It only loads the model and parses flags into :class:`radgrpo.eval.config.EvalConfig` (``--config`` takes a file or
a shipped name such as ``eval/paper_report``: ``radgrpo configs list``); the work is
``radgrpo.eval.pipeline.evaluate(model, processor, records, config)``, which the demo calls directly for its
untrained / SFT / GRPO models.

Example:
    $ radgrpo eval --model runs/sft --test_file data/synth/test.jsonl --out runs/eval_sft
    $ radgrpo eval --config eval/demo_cpu --max_samples 20 --metrics soft_f1 ap_50 bleu4
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, parse_config, save_config
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.pipeline import evaluate, select_records
from radgrpo.metrics.registry import check_metrics, require_all_models
from radgrpo.records import Task, read_jsonl

__all__ = ["EvalConfig", "evaluate", "main", "print_results", "results_table", "run_eval"]


def _load(cfg: EvalConfig) -> tuple[Any, Any]:
    from radgrpo.models import qwen3_vl

    kw: dict[str, Any] = {}
    if cfg.dtype:
        kw["dtype"] = cfg.dtype
    if cfg.device:
        kw["device"] = cfg.device
    model = qwen3_vl.load_model(cfg.model, **kw)
    pkw: dict[str, Any] = {k: v for k, v in (("min_pixels", cfg.min_pixels), ("max_pixels", cfg.max_pixels)) if v}
    processor = qwen3_vl.load_processor(cfg.model, **pkw)
    return model, processor


def run_eval(cfg: EvalConfig) -> dict[str, Any]:
    """Load the model and test records named in ``cfg``, evaluate, and write ``cfg.out``.

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
    if not test_file.is_file():
        raise FileNotFoundError(f"--test_file {test_file} does not exist")
    records = select_records(read_jsonl(test_file), tasks=cfg.tasks or None, max_per_task=cfg.max_samples)
    if not records:
        raise ValueError(f"no records left in {test_file} after --tasks {cfg.tasks} / --max_samples filtering")
    if any(r.task is Task.REPORT_GENERATION for r in records):  # before the model loads: every missing model at once
        require_all_models(check_metrics(cfg.metrics))
    save_config(cfg, cfg.out)
    t0 = time.perf_counter()
    model, processor = _load(cfg)
    load_s = time.perf_counter() - t0
    return evaluate(
        model,
        processor,
        records,
        cfg,
        base_dir=test_file.parent,
        meta={"model": cfg.model, "test_file": str(test_file), "load_seconds": round(load_s, 3)},
    )


def results_table(results: dict[str, Any], title: str = "radgrpo eval") -> Any:
    """The overall metrics with their CIs as a ``rich`` table (one row per metric, then the sample count).

    Args:
        results: the flat dict returned by :func:`run_eval` / ``evaluate``.
        title: table title.
    Returns:
        a ``rich.table.Table``.

    Example:
        >>> t = results_table({"map_50": 0.5, "ci": {"map_50": [0.25, 0.75]}, "n_by_metric": {"map_50": 4}, "n": 6})
        >>> t.row_count, [c.header for c in t.columns]
        (2, ['metric', 'value', '95% CI', 'n'])
    """
    from rich.table import Table

    table = Table(title=title)
    for col, justify in (("metric", "left"), ("value", "right"), ("95% CI", "right"), ("n", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, (lo, hi) in results.get("ci", {}).items():
        table.add_row(name, f"{results[name]:.4f}", f"[{lo:.4f}, {hi:.4f}]", str(results["n_by_metric"][name]))
    table.add_row("samples", "", "", str(results["n"]))
    return table


def print_results(results: dict[str, Any], title: str = "radgrpo eval") -> None:
    """Print :func:`results_table` to the console.

    Args:
        results: the flat results dict.
        title: table title.
    """
    from rich.console import Console

    Console().print(results_table(results, title))


def main(argv: list[str] | None = None) -> int:
    """``radgrpo eval`` entry point; returns the exit code."""
    cfg = parse_config(EvalConfig, argv, prog="radgrpo eval")
    results = run_eval(cfg)
    print_results(results, title=f"radgrpo eval: {cfg.model} on {cfg.test_file}")
    out = Path(cfg.out)
    files = ", ".join(str(out / f) for f in ("predictions.jsonl", "scores.jsonl", "results.json", "config.yaml"))
    print(f"wrote {files}" + (f", {out / 'report.html'}" if cfg.html else ""))
    return 0
