"""Bootstrap CIs. Run: pytest tests/metrics/test_bootstrap.py"""

import math

import numpy as np
import pytest

from radgrpo.metrics.bootstrap import MetricResult, bootstrap_ci


def test_bootstrap_matches_direct_numpy_resampling():
    v = np.array([0.1, 0.4, 0.9, 0.3, 0.7])
    val, lo, hi = bootstrap_ci(v, n_resamples=500, seed=3)
    rng = np.random.default_rng(3)
    stats = v[rng.integers(0, 5, size=(500, 5))].mean(axis=1)
    assert val == pytest.approx(0.48)
    assert (lo, hi) == (pytest.approx(np.percentile(stats, 2.5)), pytest.approx(np.percentile(stats, 97.5)))
    assert lo < val < hi


def test_bootstrap_edge_cases_and_result_json():
    assert math.isnan(bootstrap_ci([])[0])
    val, lo, hi = bootstrap_ci([0.7])
    assert val == 0.7 and math.isnan(lo) and math.isnan(hi)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0.1, float("nan")])
    d = MetricResult("map_50", 0.5, float("nan"), float("nan"), 1).to_dict()
    assert d["ci_low"] is None and d["value"] == 0.5
