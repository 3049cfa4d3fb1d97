"""``radgrpo eval``: evaluate a model (hub id or folder) on a test records JSONL and write predictions, scores,
results with bootstrap CIs, an HTML report and the resolved config.

It parses flags into :class:`radgrpo.eval.config.EvalConfig` (``--config`` takes a file or a shipped name such as
``eval/paper_report``: ``radgrpo configs list``), calls :func:`radgrpo.eval.run.run_eval` and prints the results
table.

Example:
    $ radgrpo eval --model runs/sft --test_file data/synth/test.jsonl --out runs/eval_sft
    $ radgrpo eval --config eval/demo_cpu --max_samples 20 --metrics soft_f1 ap_50 bleu4
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from radgrpo.config import parse_config
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.run import run_eval

__all__ = ["main", "print_results", "results_table"]


def results_table(results: dict[str, Any], title: str = "radgrpo eval") -> Any:
    """The overall metrics with their CIs as a ``rich`` table (one row per metric, then the sample count).

    Args:
        results: the flat dict returned by :func:`~radgrpo.eval.run.run_eval` / ``evaluate``.
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
    """``radgrpo eval`` entry point; returns the exit code (``--help-adapters`` lists the model adapters)."""
    if "--help-adapters" in (sys.argv[1:] if argv is None else argv):
        from radgrpo.models.adapters import adapters_help

        print(adapters_help())
        return 0
    cfg = parse_config(EvalConfig, argv, prog="radgrpo eval")
    results = run_eval(cfg)
    print_results(results, title=f"radgrpo eval: {cfg.model} on {cfg.test_file}")
    out = Path(cfg.out)
    files = ", ".join(str(out / f) for f in ("predictions.jsonl", "scores.jsonl", "results.json", "config.yaml"))
    print(f"wrote {files}" + (f", {out / 'report.html'}" if cfg.html else ""))
    return 0
