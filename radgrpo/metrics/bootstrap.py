"""Bootstrap confidence intervals of per-sample scores, and the ``MetricResult`` record of ``results.json``.

Percentile bootstrap as the paper's evaluation scripts do it (``scripts/evaluation/bootstrap.py``; see
docs/metrics.md#bootstrap-confidence-intervals):
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


def bootstrap_ci(
    values: Sequence[float],
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    statistic: Callable[..., Any] = np.mean,
) -> tuple[float, float, float]:
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


def bootstrap_weighted_ci(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    chunk: int = 250,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile bootstrap of a corpus statistic that is not a mean of per-sample values (e.g. micro/macro F1).

    The resamples are drawn exactly as :func:`bootstrap_ci` draws them (``default_rng(seed).integers(0, n,
    (n_resamples, n))``) and passed to ``statistic`` as multiplicity weights, so a mean statistic gives the same CI
    as :func:`bootstrap_ci` with the same seed.

    Args:
        n: number of samples.
        statistic: ``fn(weights) -> values``; ``weights`` is a float (R, n) array of sample multiplicities (all-ones
            row = the full set); returns (R,) or (R, k).
        n_resamples: bootstrap resamples.
        seed: ``numpy.random.default_rng`` seed.
        confidence: interval mass.
        chunk: resamples evaluated at once (bounds memory to chunk × n floats).
    Returns:
        ``(value, ci_low, ci_high)`` arrays of the statistic's shape (NaN bounds when n < 2).

    Example:
        >>> v = np.array([0.0, 1.0] * 50)
        >>> val, lo, hi = bootstrap_weighted_ci(v.size, lambda w: (w @ v) / w.sum(axis=1), n_resamples=200)
        >>> (float(val), float(lo), float(hi)) == bootstrap_ci(v, n_resamples=200)
        True
    """
    if n <= 0:
        raise ValueError("bootstrap_weighted_ci needs at least one sample")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    value = np.asarray(statistic(np.ones((1, n))), dtype=np.float64)[0]
    if n < 2:
        nan = np.full_like(value, math.nan)
        return value, nan, nan.copy()
    idx = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    stats = []
    for start in range(0, n_resamples, chunk):
        block = idx[start : start + chunk]
        w = np.zeros((block.shape[0], n))
        np.add.at(w, (np.arange(block.shape[0])[:, None], block), 1.0)
        stats.append(np.asarray(statistic(w), dtype=np.float64))
    s = np.concatenate(stats, axis=0)
    alpha = (1.0 - confidence) / 2.0
    return value, np.percentile(s, 100 * alpha, axis=0), np.percentile(s, 100 * (1 - alpha), axis=0)
