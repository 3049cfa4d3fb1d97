"""``radgrpo compare``: paired differences between evaluated runs on their shared test items.

Each RUN is a ``radgrpo eval`` output folder (``scores.jsonl``, and ``results.json`` for the run's name). Every
other run is compared with the first: ``B - A``, ``C - A`` ..., per metric, on the ids both scored, with a paired
bootstrap 95% CI and a two-sided approximate-randomisation p-value
(:func:`radgrpo.eval.compare.compare_runs`, the function of the demo's paired comparison). The difference is
always later run minus first run in the metric's unit: for ``radcliq`` (lower is better) a negative difference
means the later run is better, and ``anc`` (mean answer characters) has no better direction. It prints one table per
comparison and writes them all as JSON (``--out``).

Example:
    $ radgrpo compare runs/eval_sft runs/eval_grpo
    $ radgrpo compare runs/eval_sft runs/eval_grpo runs/eval_grpo_rcq --metrics rougeL radcliq --out compare.json
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, FlagParser, did_you_mean

__all__ = ["compare_folders", "comparison_table", "load_run", "main"]


def load_run(folder: str | Path) -> tuple[str, list[dict[str, Any]]]:
    """``(name, score rows)`` of one eval output folder; the name is ``results.json``'s run name, else the folder's.

    Raises:
        ConfigError: the folder does not exist or holds no ``scores.jsonl``, or the rows have no or duplicate ids.
    """
    from radgrpo.eval.score import read_scores

    path = Path(folder)
    if not path.is_dir():
        raise ConfigError(f"run folder {path} does not exist (give radgrpo eval output folders)")
    scores = path / "scores.jsonl"
    if not scores.is_file():
        raise ConfigError(f"{path} has no scores.jsonl: not a radgrpo eval output folder")
    try:
        rows = read_scores(scores)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{scores}: line {e.lineno} is not JSON ({e.msg})") from None
    ids = [r.get("id") for r in rows]
    if any(i is None for i in ids):
        raise ConfigError(f"{scores}: a row has no 'id'")
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{scores}: duplicate ids, e.g. {next(i for i in ids if ids.count(i) > 1)!r}")
    name = path.resolve().name
    results = path / "results.json"
    if results.is_file():
        try:
            meta = json.loads(results.read_text(encoding="utf-8")).get("detail", {}).get("meta", {})
            name = str(meta.get("run_name") or name)
        except (json.JSONDecodeError, AttributeError):
            pass  # the numbers come from scores.jsonl; a damaged results.json only loses the name
    return name, rows


def _names(folders: Sequence[str], loaded: Sequence[str]) -> list[str]:
    """Run labels, made unique (a repeated name gets its folder as given)."""
    return [n if loaded.count(n) == 1 else f"{n} ({f})" for n, f in zip(loaded, folders)]


def compare_folders(
    folders: Sequence[str | Path],
    *,
    metrics: Sequence[str] | None = None,
    n_resamples: int = 10_000,
    n_permutations: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare every run folder after the first with the first.

    Args:
        folders: eval output folders; the first is the reference ``A``.
        metrics: metric names (:func:`radgrpo.eval.compare.paired_metrics`; default: every one both runs have).
        n_resamples: paired bootstrap resamples.
        n_permutations: approximate-randomisation permutations (default: ``n_resamples``).
        seed: seed of both.
    Returns:
        ``{"runs": [{"name", "path", "n_rows"}], "reference": name, "settings": {...}, "comparisons": [{"run",
        "reference", "n_shared", "n_only_reference", "n_only_run", "metrics": {metric: {"diff", "ci95",
        "p_value", "n", "p_holm", "reference", "run", "higher_is_better"}}, "not_compared": [metrics]}]}``.
        ``diff``, ``ci95``, ``p_value`` and ``n`` are :func:`~radgrpo.eval.compare.compare_runs`'s for (run,
        reference); ``p_holm`` is ``p_value`` Holm-adjusted over the metrics of that comparison
        (:func:`radgrpo.metrics.paired.holm`); ``reference`` and ``run`` are the two runs' values on the same items
        (``run - reference == diff``).
    Raises:
        ConfigError: fewer than two folders, a folder without ``scores.jsonl``, an unknown metric, two runs that
            share no id, or no requested metric present in both runs.
    """
    from radgrpo.eval.compare import compare_runs, paired_metrics, paired_values
    from radgrpo.metrics.paired import holm

    if len(folders) < 2:
        raise ConfigError("give at least two run folders (RUN_A RUN_B [...]); the first is the reference")
    table = paired_metrics()
    if metrics:
        unknown = [m for m in metrics if m not in table]
        if unknown:
            raise ConfigError(f"unknown metric(s) {unknown}{did_you_mean(unknown, table)} (valid: {', '.join(table)})")
    loaded = [load_run(f) for f in folders]
    names = _names([str(f) for f in folders], [n for n, _ in loaded])
    n_perm = n_resamples if n_permutations is None else n_permutations
    ref_name, ref_rows = names[0], loaded[0][1]
    ref_ids = {r["id"] for r in ref_rows}
    comparisons = []
    for name, (_, rows) in zip(names[1:], loaded[1:]):
        ids = {r["id"] for r in rows}
        shared = ids & ref_ids
        if not shared:
            raise ConfigError(f"runs {ref_name!r} and {name!r} share no test id (were they evaluated on one file?)")
        res = compare_runs(
            rows, ref_rows, metrics=metrics or None, n_resamples=n_resamples, n_permutations=n_perm, seed=seed
        )
        if not res:
            what = f"none of {list(metrics)}" if metrics else "no metric"
            raise ConfigError(f"runs {ref_name!r} and {name!r}: {what} is scored in both on a shared id")
        values = paired_values(rows, ref_rows, metrics=list(res))
        adjusted = holm([r["p_value"] for r in res.values()])
        comparisons.append(
            {
                "run": name,
                "reference": ref_name,
                "n_shared": len(shared),
                "n_only_reference": len(ref_ids - ids),
                "n_only_run": len(ids - ref_ids),
                "metrics": {
                    m: {
                        **r,
                        "p_holm": p_holm,
                        "reference": values[m]["old"],
                        "run": values[m]["new"],
                        "higher_is_better": values[m]["higher_is_better"],
                    }
                    for (m, r), p_holm in zip(res.items(), adjusted)
                },
                "not_compared": [m for m in (metrics or []) if m not in res],
            }
        )
    return {
        "runs": [{"name": n, "path": str(f), "n_rows": len(r)} for n, f, (_, r) in zip(names, folders, loaded)],
        "reference": ref_name,
        "settings": {
            "n_resamples": n_resamples,
            "n_permutations": n_perm,
            "seed": seed,
            "metrics": list(metrics) if metrics else None,
            "confidence": 0.95,
        },
        "comparisons": comparisons,
    }


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}f}"


def comparison_table(comp: Mapping[str, Any]) -> Any:
    """One comparison of :func:`compare_folders` as a ``rich`` table: metric, A, B, B - A, 95% CI, p, p Holm, n.

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

    from radgrpo.eval.compare import paired_metrics

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
