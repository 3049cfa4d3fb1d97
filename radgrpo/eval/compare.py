"""Paired comparison of two evaluated runs on the same test items (``scores.jsonl`` rows joined by id).

Each headline metric is named with the per-item columns it is computed from and its statistic
(:mod:`radgrpo.metrics.paired`): means of per-sample scores (``map_50`` from ``ap_50``, ``soft_f1``, ``bleu4``,
``rougeL``) and corpus micro-F1s of per-report ``(tp, fp, fn)`` counts (``rule_finding_f1``, ``rule_finding_f1_side``),
which are recomputed on every resample. :func:`compare_runs` returns, per metric,
``{"diff": new - old, "ci95": [lo, hi], "p_value": float, "n": int}`` with a paired bootstrap over the shared items
and a two-sided approximate-randomisation p-value.

Example:
    >>> new = [{"id": "a", "soft_f1": 0.9}, {"id": "b", "soft_f1": 0.8}, {"id": "c", "soft_f1": 0.7}]
    >>> old = [{"id": "a", "soft_f1": 0.5}, {"id": "b", "soft_f1": 0.6}, {"id": "c", "soft_f1": 0.7}]
    >>> res = compare_runs(new, old, metrics=["soft_f1"], n_resamples=1000, n_permutations=1000)
    >>> round(res["soft_f1"]["diff"], 3), res["soft_f1"]["n"], res["soft_f1"]["p_value"]
    (0.2, 3, 0.5)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from radgrpo.metrics.paired import Statistic, mean_statistic, micro_f1_statistic, paired_comparison, paired_items


@dataclass(frozen=True)
class PairedMetric:
    """A metric as a statistic of per-item columns of ``scores.jsonl``."""

    name: str
    columns: tuple[str, ...]
    statistic: Statistic


#: The headline metrics a paired comparison reports, in display order.
PAIRED_METRICS: dict[str, PairedMetric] = {
    m.name: m
    for m in (
        PairedMetric("map_50", ("ap_50",), mean_statistic),
        PairedMetric("soft_f1", ("soft_f1",), mean_statistic),
        PairedMetric("rule_finding_f1", ("rule_finding_tp", "rule_finding_fp", "rule_finding_fn"), micro_f1_statistic),
        PairedMetric(
            "rule_finding_f1_side",
            ("rule_finding_side_tp", "rule_finding_side_fp", "rule_finding_side_fn"),
            micro_f1_statistic,
        ),
        PairedMetric("bleu4", ("bleu4",), mean_statistic),
        PairedMetric("rougeL", ("rougeL",), mean_statistic),
    )
}


def compare_runs(
    rows_new: Sequence[Mapping[str, Any]],
    rows_old: Sequence[Mapping[str, Any]],
    *,
    metrics: Iterable[str] | None = None,
    n_resamples: int = 10_000,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Paired differences ``new - old`` of the headline metrics, with CIs and p-values.

    Args:
        rows_new: per-item score rows of the new run (``scores.jsonl``, each with ``"id"``).
        rows_old: per-item score rows of the run it is compared with.
        metrics: names from :data:`PAIRED_METRICS` (default: all); a metric whose columns neither run has is
            left out of the result.
        n_resamples: paired bootstrap resamples.
        n_permutations: approximate-randomisation permutations.
        seed: seed of both.
    Returns:
        ``{metric: {"diff", "ci95", "p_value", "n"}}``; ``ci95`` bounds are NaN when n < 2.
    Raises:
        KeyError: an unknown metric name.
    """
    names = list(PAIRED_METRICS) if metrics is None else list(metrics)
    unknown = [m for m in names if m not in PAIRED_METRICS]
    if unknown:
        raise KeyError(f"unknown paired metric(s) {unknown}; valid: {list(PAIRED_METRICS)}")
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        m = PAIRED_METRICS[name]
        if not any(all(c in r for c in m.columns) for r in rows_new):
            continue
        try:
            a, b = paired_items(rows_new, rows_old, m.columns)
        except ValueError:
            continue  # no shared item has this metric
        out[name] = paired_comparison(
            a, b, m.statistic, n_resamples=n_resamples, n_permutations=n_permutations, seed=seed
        )
    return out


def _nan(v: float) -> bool:
    return v != v


def reading(r: Mapping[str, Any]) -> str:
    """How a paired difference reads: significant only when the 95% CI excludes 0 and p < 0.05.

    Example:
        >>> reading({"diff": 0.02, "ci95": [0.01, 0.03], "p_value": 0.001})
        'significantly higher'
        >>> reading({"diff": 0.02, "ci95": [0.001, 0.04], "p_value": 0.08})
        'higher by the bootstrap CI, but p >= 0.05'
    """
    lo, hi = r["ci95"]
    if lo is None or hi is None or _nan(lo) or _nan(hi) or not (lo > 0 or hi < 0):
        return "not significantly different"
    word = "higher" if lo > 0 else "lower"
    return f"significantly {word}" if r["p_value"] < 0.05 else f"{word} by the bootstrap CI, but p >= 0.05"
