"""Bootstrap confidence intervals of per-sample scores, and the ``MetricResult`` record of ``results.json``.

Percentile bootstrap as the paper's evaluation scripts do it (paper.md §7, ``scripts/evaluation/bootstrap.py``):
resample the per-sample values with replacement ``n_resamples`` times with ``numpy.random.default_rng(seed)``,
re-aggregate, and take the 2.5 / 97.5 percentiles for a 95 % interval.

Example:
    >>> v, lo, hi = bootstrap_ci([0.0, 1.0] * 50, n_resamples=200)
    >>> v, lo < 0.5 < hi
    (0.5, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class MetricResult:
    """One aggregated metric with its bootstrap CI (``results.json``).

    Args:
        name: metric name (e.g. ``map_50``).
        value: the statistic on all samples.
        ci_low: lower CI bound (NaN when n < 2).
        ci_high: upper CI bound (NaN when n < 2).
        n: number of samples.
        higher_is_better: direction.
    """

    name: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    higher_is_better: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (NaN written as None)."""
        d = asdict(self)
        for k in ("value", "ci_low", "ci_high"):
            if d[k] is not None and isinstance(d[k], float) and math.isnan(d[k]):
                d[k] = None
        return d


def bootstrap_ci(values: Sequence[float], n_resamples: int = 2000, seed: int = 0, confidence: float = 0.95,
                 statistic: Callable[..., Any] = np.mean) -> tuple[float, float, float]:
    """``(value, ci_low, ci_high)`` of ``statistic`` over ``values`` with a percentile bootstrap CI.

    Args:
        values: per-sample scores (NaN not allowed: drop excluded samples first).
        n_resamples: bootstrap resamples.
        seed: ``numpy.random.default_rng`` seed.
        confidence: interval mass, e.g. 0.95.
        statistic: reducer taking ``axis=``; mean by default.
    Returns:
        the statistic and its CI bounds; bounds are NaN with fewer than 2 values, and all NaN with none.

    Example:
        >>> bootstrap_ci([1.0, 1.0, 1.0])
        (1.0, 1.0, 1.0)
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    if np.isnan(v).any():
        raise ValueError("bootstrap_ci got NaN values; drop excluded samples before aggregating")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    value = float(statistic(v))
    if v.size < 2:
        return (value, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, v.size, size=(n_resamples, v.size))
    stats = statistic(v[idx], axis=1)
    alpha = (1.0 - confidence) / 2.0
    return (value, float(np.percentile(stats, 100 * alpha)), float(np.percentile(stats, 100 * (1 - alpha))))
