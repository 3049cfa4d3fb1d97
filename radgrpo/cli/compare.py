"""``radgrpo compare``: paired differences between evaluated runs on their shared test items.

Each RUN is a ``radgrpo eval`` output folder (``scores.jsonl``, and ``results.json`` for the run's name). Every
other run is compared with the first: ``B - A``, ``C - A`` ..., per metric, on the ids both scored, with a paired
bootstrap 95% CI and a two-sided approximate-randomisation p-value (the work is
:func:`radgrpo.eval.compare.compare_folders`, over :func:`~radgrpo.eval.compare.compare_runs`, the function of the
demo's paired comparison). The difference is always later run minus first run in the metric's unit: for ``radcliq``
(lower is better) a negative difference means the later run is better, and ``anc`` (mean answer characters) has no
better direction. It prints one table per comparison and writes them all as JSON (``--out``).

Example:
    $ radgrpo compare runs/eval_sft runs/eval_grpo
    $ radgrpo compare runs/eval_sft runs/eval_grpo runs/eval_grpo_rcq --metrics rougeL radcliq --out compare.json
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, FlagParser
from radgrpo.eval.compare import compare_folders, paired_metrics

__all__ = ["comparison_table", "main"]


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}f}"


def comparison_table(comp: Mapping[str, Any]) -> Any:
    """One comparison of :func:`~radgrpo.eval.compare.compare_folders` as a ``rich`` table: metric, A, B, B - A, 95% CI, p, p Holm, n.

    Values have 3 decimals (``anc``: 1, in characters), p-values 4.

    Example:
        >>> comp = {"run": "B", "reference": "A", "n_shared": 3, "n_only_reference": 0, "n_only_run": 0,
        ...         "metrics": {"radcliq": {"diff": -0.2, "ci95": [-0.3, -0.1], "p_value": 0.01, "n": 3,
        ...                                 "p_holm": 0.01, "reference": 1.2, "run": 1.0, "higher_is_better": False}}}
        >>> t = comparison_table(comp)
        >>> [c.header for c in t.columns], list(t.columns[3].cells), list(t.columns[4].cells)
        (['metric', 'A', 'B', 'B - A', '95% CI', 'p', 'p Holm', 'n'], ['-0.200'], ['[-0.300, -0.100]'])
    """
    from rich.table import Table

    dropped = f"; dropped: {comp['n_only_reference']} only in A, {comp['n_only_run']} only in B"
    table = Table(
        title=f"B = {comp['run']}, A = {comp['reference']}: {comp['n_shared']} shared ids{dropped}",
        caption="diff = B - A (radcliq: lower is better, so negative is better; anc: answer characters)",
    )
    table.add_column("metric", no_wrap=True)
    for col in ("A", "B", "B - A", "95% CI", "p", "p Holm", "n"):
        table.add_column(col, justify="right", no_wrap=True)
    for m, r in comp["metrics"].items():
        digits = 1 if m == "anc" else 3
        lo, hi = r["ci95"]
        table.add_row(
            m,
            _fmt(r["reference"], digits),
            _fmt(r["run"], digits),
            f"{r['diff']:+.{digits}f}",
            f"[{_fmt(lo, digits)}, {_fmt(hi, digits)}]",
            _fmt(r["p_value"]),
            _fmt(r.get("p_holm")),
            str(r["n"]),
        )
    return table


def _json_safe(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, Mapping):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x


def main(argv: list[str] | None = None) -> int:
    """``radgrpo compare`` entry point; returns the exit code (user errors are one line, exit 2, via the CLI)."""
    from rich.console import Console

    p = FlagParser(
        prog="radgrpo compare",
        description="Paired differences of evaluated runs against the first one (B - A, C - A ...) on shared ids: "
        "bootstrap 95% CI and approximate-randomisation p-value per metric.",
    )
    p.add_argument("runs", nargs="+", help="radgrpo eval output folders (scores.jsonl); the first is the reference")
    p.add_argument(
        "--metrics",
        nargs="+",
        default=None,
        help=f"metrics (default: all both runs have): {' '.join(paired_metrics())}",
    )
    p.add_argument("--n_resamples", type=int, default=10_000, help="paired bootstrap resamples")
    p.add_argument("--n_permutations", type=int, default=None, help="randomisation rounds (default: --n_resamples)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and the permutations")
    p.add_argument("--out", default=None, help="write the comparisons as JSON here (e.g. compare.json)")
    a = p.parse_args(argv)
    if a.n_resamples < 1 or (a.n_permutations is not None and a.n_permutations < 1):
        raise ConfigError("--n_resamples and --n_permutations must be >= 1")
    res = compare_folders(
        a.runs, metrics=a.metrics, n_resamples=a.n_resamples, n_permutations=a.n_permutations, seed=a.seed
    )
    console = Console()
    if not console.is_terminal:  # a pipe or file does not wrap: do not squeeze the table to 80 columns
        console = Console(width=120)
    for comp in res["comparisons"]:
        console.print(comparison_table(comp))
        if comp["not_compared"]:
            console.print(f"not in both runs: {', '.join(comp['not_compared'])}")
    if a.out:
        out = Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(_json_safe(res), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return 0
