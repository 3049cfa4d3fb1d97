"""``radgrpo eval``: evaluate a model (hub id or folder) on a test records JSONL and write predictions, scores,
results with bootstrap CIs, an HTML report and the resolved config.

It only loads the model and parses flags; the work is ``radgrpo.eval.pipeline.evaluate`` (which the demo calls
directly for its untrained / SFT / GRPO models).

Example:
    $ radgrpo eval --model runs/sft --test_file data/synth/test.jsonl --out runs/eval_sft
    $ radgrpo eval --config configs/eval/demo_cpu.yaml --max_samples 20 --metrics soft_f1 ap_50 bleu4
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.config import parse_config, save_config
from radgrpo.eval.pipeline import evaluate, select_records
from radgrpo.eval.score import DEFAULT_METRICS, check_metrics
from radgrpo.records import read_jsonl

__all__ = ["EvalConfig", "evaluate", "main", "print_results", "results_table", "run_eval"]


@dataclass
class EvalConfig:
    """Settings of ``radgrpo eval`` (YAML keys = fields = flags)."""

    model: str = field(default="", metadata={"help": "model: hub id or local folder (weights + processor)"})
    test_file: str = field(default="", metadata={"help": "test records JSONL; images resolve against its folder"})
    out: str = field(default="eval_out", metadata={"help": "output folder (an existing predictions.jsonl resumes)"})
    batch_size: int = field(default=16, metadata={"help": "generation batch size"})
    max_new_tokens: int = field(default=0, metadata={"help": "new-token limit for every task (0: per-task defaults)"})
    tasks: list[str] = field(default_factory=list, metadata={"help": "only these tasks (default: all in the file)"})
    max_samples: int = field(default=0, metadata={"help": "at most this many records PER TASK (0: all)"})
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS),
                               metadata={"help": "metric names: soft_f1 soft_f1_dice ap_50 matched_iou (grounding); "
                                                 "bleu4 rougeL gleu bertscore radgraph radcliq green chexbert "
                                                 "rule_finding_f1 (reports; model-backed ones need their weights, see "
                                                 "`radgrpo models download`)"})
    thinking: bool = field(default=False, metadata={"help": "append ' /think' and score the text after </think>"})
    seed: int = field(default=0, metadata={"help": "bootstrap seed (paper: 0)"})
    n_resamples: int = field(default=2000, metadata={"help": "bootstrap resamples (paper: 2000)"})
    dtype: str = field(default="", metadata={"help": "model dtype, e.g. bfloat16 (default: the loader's choice)"})
    device: str = field(default="", metadata={"help": "device, e.g. cuda or cpu (default: the loader's choice)"})
    min_pixels: int = field(default=0, metadata={"help": "processor min_pixels (0: as saved with the model)"})
    max_pixels: int = field(default=0, metadata={"help": "processor max_pixels (0: as saved with the model)"})
    run_name: str = field(default="", metadata={"help": "column name in the report (default: the model's name)"})
    html: bool = field(default=True, metadata={"help": "write report.html"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})
    green_backend: str = field(default="hf", metadata={
        "help": "GREEN judge backend: hf (local model, see green_model) or openai (an OpenAI-compatible endpoint)"})
    green_model: str = field(default="StanfordAIMI/GREEN-radllama2-7b", metadata={
        "help": "GREEN judge: hub id or local folder (hf), or the served model name (openai)"})
    green_base_url: str = field(default="", metadata={"help": "GREEN endpoint, e.g. http://127.0.0.1:8000/v1"})
    green_api_key_env: str = field(default="OPENAI_API_KEY", metadata={
        "help": "environment variable holding the endpoint's API key (the key is never written to config.yaml)"})
    green_batch_size: int = field(default=8, metadata={"help": "GREEN judge batch size (hf) / concurrency (openai)"})

    def __post_init__(self) -> None:
        if not self.model:
            raise ValueError("--model is required (a hub id or a local model folder)")
        if not self.test_file:
            raise ValueError("--test_file is required (a records JSONL)")
        if self.batch_size < 1:
            raise ValueError(f"--batch_size must be >= 1, got {self.batch_size}")
        if self.max_new_tokens < 0 or self.max_samples < 0:
            raise ValueError("--max_new_tokens and --max_samples must be >= 0")
        if self.n_resamples < 1:
            raise ValueError(f"--n_resamples must be >= 1, got {self.n_resamples}")
        check_metrics(self.metrics)  # unknown names fail here, listing the valid ones
        if self.green_backend not in ("hf", "openai"):
            raise ValueError(f"--green_backend must be hf or openai, got {self.green_backend!r}")
        if "green" in self.metrics and self.green_backend == "openai" and not self.green_base_url:
            raise ValueError("--green_backend openai needs --green_base_url (e.g. http://127.0.0.1:8000/v1)")

    def metric_options(self) -> dict[str, dict[str, Any]]:
        """Keyword arguments of the metrics that take options (GREEN's judge).

        Example:
            >>> EvalConfig(model="m", test_file="t.jsonl").metric_options()["green"]["backend"]
            'hf'
        """
        import os

        green: dict[str, Any] = {"backend": self.green_backend, "model": self.green_model}
        if self.green_backend == "openai":
            green.update(base_url=self.green_base_url, api_key=os.environ.get(self.green_api_key_env),
                         concurrency=self.green_batch_size)
        else:
            green["batch_size"] = self.green_batch_size
            if self.device:
                green["device"] = self.device
        return {"green": green}


def _load(cfg: EvalConfig) -> tuple[Any, Any]:
    from radgrpo.models import qwen3_vl

    kw: dict[str, Any] = {}
    if cfg.dtype:
        kw["dtype"] = cfg.dtype
    if cfg.device:
        kw["device"] = cfg.device
    model = qwen3_vl.load_model(cfg.model, **kw)
    pkw = {k: v for k, v in (("min_pixels", cfg.min_pixels), ("max_pixels", cfg.max_pixels)) if v}
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
    test_file = Path(cfg.test_file)
    if not test_file.is_file():
        raise FileNotFoundError(f"--test_file {test_file} does not exist")
    records = select_records(read_jsonl(test_file), tasks=cfg.tasks or None, max_per_task=cfg.max_samples)
    if not records:
        raise ValueError(f"no records left in {test_file} after --tasks {cfg.tasks} / --max_samples filtering")
    save_config(cfg, cfg.out)
    t0 = time.perf_counter()
    model, processor = _load(cfg)
    load_s = time.perf_counter() - t0
    run_name = cfg.run_name or Path(cfg.model.rstrip("/")).name or cfg.model
    return evaluate(model, processor, records, test_file.parent, cfg.out, batch_size=cfg.batch_size,
                    max_new_tokens=cfg.max_new_tokens or None, thinking=cfg.thinking, metrics=cfg.metrics,
                    n_resamples=cfg.n_resamples, seed=cfg.seed, run_name=run_name, write_html=cfg.html,
                    progress=cfg.progress, meta={"model": cfg.model, "test_file": str(test_file),
                                                 "load_seconds": round(load_s, 3)},
                    metric_options=cfg.metric_options())


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
