"""Paired comparison of two systems on the same items: diff, paired bootstrap CI, permutation p (metrics/paired.py).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/metrics/test_paired.py
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from radgrpo.metrics.bootstrap import bootstrap_ci
from radgrpo.metrics.paired import holm, mean_statistic, micro_f1_statistic, paired_comparison, paired_items


def _scores(seed, n, gain=0.04, noise=0.15):
    """Realistic per-sample scores in [0, 1]: b uniform, a = b + gain + noise, clipped."""
    g = np.random.default_rng(seed)
    b = g.uniform(0.2, 0.8, n)
    return np.clip(b + gain + g.normal(0.0, noise, n), 0.0, 1.0), b


# --- hand-computed cases -----------------------------------------------------------------------------------------


def test_mean_hand_case_exact_enumeration():
    # a = [1, 0, 1], b = [0, 0, 0]: diff = 2/3. 2**3 = 8 <= n_permutations, so all 8 swap patterns are enumerated.
    # Swapping item i flips the sign of its difference d_i = a_i - b_i = (1, 0, 1), so d_perm = (s1 + s3) / 3 with
    # s = +-1 (item 2 contributes 0 either way). |d_perm| = 2/3 exactly when s1 == s3 (both kept or both swapped):
    # 2 of the 4 (s1, s3) patterns, times 2 choices for item 2 = 4 of 8 -> p = 0.5. The other 4 give d_perm = 0.
    res = paired_comparison([1.0, 0.0, 1.0], [0.0, 0.0, 0.0])
    assert res["diff"] == pytest.approx(2 / 3, abs=1e-15)
    assert res["p_value"] == 0.5
    assert res["n"] == 3
    # bootstrap means of [1, 0, 1] take values in {0, 1/3, 2/3, 1}; P(0) = 1/27 and P(1) = 8/27 both exceed 2.5 %,
    # so the 2.5 / 97.5 percentiles are exactly 0 and 1.
    assert res["ci95"] == [0.0, 1.0]


def test_micro_f1_hand_case():
    # per-item (tp, fp, fn); a sums to (3, 1, 1) -> F1 = 6 / 8 = 0.75; b sums to (1, 1, 3) -> 2 / 6 = 1/3.
    a = np.array([[2, 0, 1], [1, 1, 0]], dtype=float)
    b = np.array([[1, 1, 1], [0, 0, 2]], dtype=float)
    res = paired_comparison(a, b, micro_f1_statistic)
    assert res["diff"] == pytest.approx(0.75 - 1 / 3, abs=1e-15)  # 5/12
    # Exact enumeration of the 4 swap patterns: none -> 5/12; both -> -5/12;
    # item 1 only: a' = (1,1,1)+(1,1,0) = (2,2,1) -> 4/7, b' = (2,0,1)+(0,0,2) = (2,0,3) -> 4/7, d = 0;
    # item 2 only: a' = (2,0,1)+(0,0,2) = (2,0,3) -> 4/7, b' = (1,1,1)+(1,1,0) = (2,2,1) -> 4/7, d = 0.  p = 2/4.
    assert res["p_value"] == 0.5
    # Bootstrap resamples of 2 items: item 1 twice: a (4,0,2) -> 0.8, b (2,2,2) -> 0.5, d = 0.3; item 2 twice:
    # a (2,2,0) -> 2/3, b (0,0,4) -> 0, d = 2/3; one of each: d = 5/12. Each extreme has probability 1/4 > 2.5 %.
    assert res["ci95"] == pytest.approx([0.3, 2 / 3], abs=1e-12)


def test_micro_f1_statistic_zero_denominator_and_shape():
    S = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    assert micro_f1_statistic(S, np.ones(3)).tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match=r"\(tp, fp, fn\)"):
        micro_f1_statistic(np.ones((2, 2)), np.ones(2))
    assert mean_statistic(np.array([[6.0, 99.0]]), np.array([4.0])).tolist() == [1.5]


def test_exact_p_matches_brute_force_enumeration_for_micro_f1():
    g = np.random.default_rng(3)
    a = g.integers(0, 4, (5, 3)).astype(float)
    b = g.integers(0, 4, (5, 3)).astype(float)

    def f1(x):
        tp, fp, fn = x.sum(axis=0)
        return 0.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)

    d_obs = f1(a) - f1(b)
    hits = 0
    for swap in itertools.product([False, True], repeat=5):
        m = np.array(swap)[:, None]
        hits += abs(f1(np.where(m, b, a)) - f1(np.where(m, a, b))) >= abs(d_obs) - 1e-12
    res = paired_comparison(a, b, micro_f1_statistic)
    assert res["diff"] == pytest.approx(d_obs, abs=1e-15)
    assert res["p_value"] == hits / 32


def test_single_item_has_nan_ci_and_p_one():
    res = paired_comparison([0.7], [0.2])
    assert res["diff"] == pytest.approx(0.5)
    assert res["n"] == 1
    assert all(math.isnan(v) for v in res["ci95"])
    assert res["p_value"] == 1.0  # the swap gives -0.5, |-0.5| >= 0.5
    assert paired_comparison([0.7], [0.2], n_permutations=1)["p_value"] == 1.0  # Monte Carlo branch too


# --- against scipy ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_scipy_permutation_test_and_paired_bootstrap(seed):
    # n = 60 scores in [0, 1] with a per-item difference sd ~0.15: CI width ~0.07, and the Monte Carlo error of a
    # 2.5 % percentile with 10k resamples is ~0.0015, so 0.01 is a fair tolerance; the p-value's MC error is < 0.005.
    a, b = _scores(100 + seed, 60)
    res = paired_comparison(a, b, n_resamples=10_000, n_permutations=10_000, seed=seed)
    pt = stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        n_resamples=10_000,
        alternative="two-sided",
        random_state=seed,
    )
    bs = stats.bootstrap(
        (a, b),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        paired=True,
        method="percentile",
        n_resamples=10_000,
        random_state=seed,
    )
    assert res["diff"] == pytest.approx(a.mean() - b.mean(), abs=1e-12)
    assert res["p_value"] == pytest.approx(pt.pvalue, abs=0.02)
    assert res["ci95"][0] == pytest.approx(bs.confidence_interval.low, abs=0.01)
    assert res["ci95"][1] == pytest.approx(bs.confidence_interval.high, abs=0.01)


def test_monte_carlo_p_agrees_with_exact_enumeration():
    a, b = _scores(7, 14, gain=0.05)
    exact = paired_comparison(a, b, n_permutations=2**14)  # 2**14 <= n_permutations: enumerated
    mc = paired_comparison(a, b, n_permutations=2**14 - 1)  # one fewer: random swaps
    assert exact["p_value"] * 2**14 == pytest.approx(round(exact["p_value"] * 2**14), abs=1e-9)
    assert 0.01 < exact["p_value"] < 0.9
    assert mc["p_value"] == pytest.approx(exact["p_value"], abs=0.015)  # MC standard error < 0.004


# --- limiting cases, determinism ------------------------------------------------------------------------------------


@pytest.mark.parametrize("statistic,shape", [(mean_statistic, (50,)), (micro_f1_statistic, (50, 3))])
def test_identical_systems(statistic, shape):
    x = np.random.default_rng(0).integers(0, 5, shape).astype(float) / 4
    res = paired_comparison(x, x.copy(), statistic, n_resamples=2000, n_permutations=2000)
    assert res["diff"] == 0.0
    assert res["p_value"] == 1.0  # every swap gives d = 0 and |0| >= |0|
    assert res["ci95"] == [0.0, 0.0]


def test_clear_gain_and_determinism():
    g = np.random.default_rng(11)
    b = g.uniform(0.2, 0.8, 200)
    a = b + 0.1 + g.normal(0.0, 0.1, 200)
    res = paired_comparison(a, b)
    lo, hi = res["ci95"]
    assert 0 < lo < res["diff"] < hi
    assert res["diff"] == pytest.approx(0.1, abs=0.03)
    assert res["p_value"] < 0.001
    assert res["p_value"] == pytest.approx(1 / 10_001)  # no random swap reaches the observed gain
    assert paired_comparison(a, b) == res
    other = paired_comparison(a, b, seed=1)
    assert other["diff"] == res["diff"]
    assert other["ci95"][0] != lo and other["ci95"][1] != hi


def test_result_does_not_depend_on_chunk():
    a, b = _scores(5, 33)
    ref = paired_comparison(a, b, n_resamples=1000, n_permutations=1000)
    for chunk in (1, 7, 999, 5000):
        got = paired_comparison(a, b, n_resamples=1000, n_permutations=1000, chunk=chunk)
        assert got["diff"] == ref["diff"]
        assert got["p_value"] == ref["p_value"]
        assert got["ci95"] == pytest.approx(ref["ci95"], abs=1e-12)


def test_confidence_names_the_ci_key():
    a, b = _scores(2, 80)
    r95 = paired_comparison(a, b)
    r90 = paired_comparison(a, b, confidence=0.9)
    assert set(r95) == {"diff", "ci95", "p_value", "n"}
    assert set(r90) == {"diff", "ci90", "p_value", "n"}
    # same draws: the 5 / 95 percentiles lie inside the 2.5 / 97.5 ones
    assert r95["ci95"][0] < r90["ci90"][0] < r90["ci90"][1] < r95["ci95"][1]


# --- same draws as radgrpo.metrics.bootstrap ------------------------------------------------------------------------


@pytest.mark.parametrize("seed,n,n_resamples,chunk", [(0, 40, 2000, 500), (3, 33, 1000, 7), (9, 101, 999, 250)])
def test_mean_ci_against_zeros_equals_bootstrap_ci(seed, n, n_resamples, chunk):
    g = np.random.default_rng(seed)
    # dyadic values: every resample sum is exact, so the bounds must be bit-identical
    a = g.integers(0, 9, n) / 8
    res = paired_comparison(a, np.zeros(n), n_resamples=n_resamples, seed=seed, chunk=chunk)
    value, lo, hi = bootstrap_ci(a, n_resamples=n_resamples, seed=seed)
    assert res["diff"] == value
    assert res["ci95"] == [lo, hi]
    # arbitrary floats: the same draws, equal up to summation order
    x = g.uniform(0.0, 1.0, n)
    res = paired_comparison(x, np.zeros(n), n_resamples=n_resamples, seed=seed, chunk=chunk)
    assert res["ci95"] == pytest.approx(list(bootstrap_ci(x, n_resamples=n_resamples, seed=seed)[1:]), abs=1e-12)


# --- errors ---------------------------------------------------------------------------------------------------------


def test_errors():
    with pytest.raises(ValueError, match=r"same shape .*\(3,\) and \(4,\)"):
        paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="same shape"):
        paired_comparison(np.ones((3, 3)), np.ones((3, 2)), micro_f1_statistic)
    with pytest.raises(ValueError, match="a contains NaN.*drop excluded items first"):
        paired_comparison([1.0, float("nan")], [1.0, 0.0])
    with pytest.raises(ValueError, match="b contains NaN.*drop excluded items first"):
        paired_comparison([1.0, 0.0], [float("nan"), 0.0])
    with pytest.raises(ValueError, match="at least one item"):
        paired_comparison([], [])
    with pytest.raises(ValueError, match=r"shape \(n,\) or \(n, k\)"):
        paired_comparison(np.ones((2, 2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="confidence"):
        paired_comparison([1.0, 0.0], [0.0, 0.0], confidence=1.0)
    with pytest.raises(ValueError, match=">= 1"):
        paired_comparison([1.0, 0.0], [0.0, 0.0], n_resamples=0)
    with pytest.raises(ValueError, match="statistic must return shape"):
        paired_comparison([1.0, 0.0], [0.0, 0.0], lambda S, W: S / W[:, None])


# --- paired_items -----------------------------------------------------------------------------------------------------


def test_paired_items_aligns_by_id_skips_missing_and_keeps_order_of_a():
    rows_a = [
        {"id": "c", "ap_50": 0.5},
        {"id": "a", "ap_50": 1.0},
        {"id": "only_a", "ap_50": 0.2},
        {"id": "b", "ap_50": None},
        {"id": "d", "ap_50": 0.25},
        {"id": "e", "ap_50": float("nan")},
    ]
    rows_b = [
        {"id": "a", "ap_50": 0.0},
        {"id": "b", "ap_50": 1.0},
        {"id": "d"},
        {"id": "c", "ap_50": 0.75},
        {"id": "only_b", "ap_50": 1.0},
        {"id": "e", "ap_50": 1.0},
    ]
    a, b = paired_items(rows_a, rows_b, ["ap_50"])
    assert a.dtype == np.float64 and a.shape == (2, 1) and b.shape == (2, 1)
    assert a[:, 0].tolist() == [0.5, 1.0]  # ids c, a in rows_a's order
    assert b[:, 0].tolist() == [0.75, 0.0]
    a1, b1 = paired_items(rows_a, rows_b, "ap_50")  # one key as a string
    assert a1.tolist() == a.tolist() and b1.tolist() == b.tolist()


def test_paired_items_multiple_columns_feed_micro_f1():
    rows_a = [{"id": 1, "tp": 2, "fp": 0, "fn": 1}, {"id": 2, "tp": 1, "fp": 1, "fn": 0}]
    rows_b = [
        {"id": 2, "tp": 0, "fp": 0, "fn": 2},
        {"id": 1, "tp": 1, "fp": 1, "fn": 1},
        {"id": 3, "tp": 0, "fp": None, "fn": 1},
    ]
    a, b = paired_items(rows_a, rows_b, ["tp", "fp", "fn"])
    assert a.tolist() == [[2, 0, 1], [1, 1, 0]] and b.tolist() == [[1, 1, 1], [0, 0, 2]]
    assert paired_comparison(a, b, micro_f1_statistic)["diff"] == pytest.approx(5 / 12)


def test_paired_items_errors():
    with pytest.raises(ValueError, match="no id is shared"):
        paired_items([{"id": "a", "s": 1.0}], [{"id": "b", "s": 1.0}], ["s"])
    with pytest.raises(ValueError, match="none of the 1 shared ids"):
        paired_items([{"id": "a", "s": 1.0}], [{"id": "a", "s": None}], ["s"])
    with pytest.raises(ValueError, match="duplicate id 'a' in rows_b"):
        paired_items([{"id": "a", "s": 1.0}], [{"id": "a", "s": 1.0}, {"id": "a", "s": 0.0}], ["s"])
    with pytest.raises(ValueError, match=r"rows_a\[0\] has no 'id'"):
        paired_items([{"s": 1.0}], [{"id": "a", "s": 1.0}], ["s"])
    with pytest.raises(ValueError, match="at least one column"):
        paired_items([{"id": "a", "s": 1.0}], [{"id": "a", "s": 1.0}], [])


# --- Holm-Bonferroni ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_holm_agrees_with_the_step_down_procedure(seed):
    """adjusted p <= alpha exactly for the hypotheses Holm's step-down test rejects at alpha (any alpha)."""
    g = np.random.default_rng(seed)
    p = np.concatenate([g.uniform(0, 0.02, 4), g.uniform(0, 1, 8)])
    g.shuffle(p)
    adjusted = holm(p.tolist())
    m = len(p)
    order = np.argsort(p)
    for alpha in (0.01, 0.05, 0.1, 0.25):
        rejected = set()
        for rank, i in enumerate(order):  # step down: stop at the first p_(k) > alpha / (m - k + 1)
            if p[i] > alpha / (m - rank):
                break
            rejected.add(int(i))
        assert {i for i, a in enumerate(adjusted) if a <= alpha} == rejected, alpha
    assert all(a >= raw for a, raw in zip(adjusted, p)) and max(adjusted) <= 1.0
    assert holm(p[::-1].tolist()) == adjusted[::-1]  # the order of the tests does not matter


def test_holm_nan_and_errors():
    out = holm([0.04, math.nan, 0.01])
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    with pytest.raises(ValueError, match=r"p-values must be in \[0, 1\]"):
        holm([-0.1])
