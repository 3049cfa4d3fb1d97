"""Percentile bootstrap CI and MetricResult (docs/metrics.md#bootstrap-confidence-intervals).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/test_bootstrap.py
"""

import json
import math

import numpy as np
import pytest

from radgrpo.metrics.bootstrap import MetricResult, bootstrap_ci


def test_matches_a_direct_numpy_percentile_bootstrap():
    vals = np.array([0.1, 0.9, 0.4, 0.7, 0.3, 0.8, 0.55])
    rng = np.random.default_rng(7)
    means = np.array([vals[rng.integers(0, 7, 7)].mean() for _ in range(500)])
    want = (vals.mean(), np.percentile(means, 2.5), np.percentile(means, 97.5))
    got = bootstrap_ci(vals, n_resamples=500, seed=7)
    assert got == pytest.approx(want, abs=1e-12)


def test_seeded_and_reproducible():
    vals = np.linspace(0, 1, 50)
    assert bootstrap_ci(vals, seed=1) == bootstrap_ci(vals, seed=1)
    assert bootstrap_ci(vals, seed=1) != bootstrap_ci(vals, seed=2)


def test_ci_width_shrinks_with_confidence_and_covers_the_mean():
    vals = np.random.default_rng(0).normal(0.5, 0.1, 400)
    v, lo, hi = bootstrap_ci(vals, n_resamples=1000)
    _, lo80, hi80 = bootstrap_ci(vals, n_resamples=1000, confidence=0.8)
    assert lo < lo80 < v < hi80 < hi
    # normal-theory half-width 1.96 * 0.1 / 20 ≈ 0.0098
    assert (hi - lo) / 2 == pytest.approx(1.96 * vals.std() / 20, rel=0.15)


def test_other_statistic():
    v, lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 100.0], statistic=np.median, n_resamples=300)
    assert v == 2.5 and lo >= 1.0 and hi <= 100.0


def test_edge_cases_and_errors():
    assert all(math.isnan(x) for x in bootstrap_ci([]))
    v, lo, hi = bootstrap_ci([0.3])
    assert v == 0.3 and math.isnan(lo) and math.isnan(hi)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0.1, float("nan")])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([0.1, 0.2], confidence=95)


def test_metric_result_to_dict_is_json_safe():
    r = MetricResult("map_50", 0.5, float("nan"), 0.7, 3, True)
    d = r.to_dict()
    assert d == {"name": "map_50", "value": 0.5, "ci_low": None, "ci_high": 0.7, "n": 3, "higher_is_better": True}
    assert json.loads(json.dumps(d)) == d
