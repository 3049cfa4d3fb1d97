"""Paired comparison of two systems scored on the same test items: difference, bootstrap CI and permutation p-value.

Every headline metric here is a function of column sums of per-item values: a mean of per-sample scores (soft-F1,
mAP@0.5 = mean of per-sample AP, BLEU-4, ROUGE-L) or a corpus micro-F1 of per-item ``(tp, fp, fn)`` counts. A
*statistic* is therefore ``fn(S, W) -> (R,)``, where ``S`` is an (R, k) array of weighted column sums over the items
and ``W`` the (R,) total weights (items counted, with multiplicity). :func:`mean_statistic` and
:func:`micro_f1_statistic` are the two built in (and :func:`ratio_statistic` for a ratio of counts); :func:`paired_comparison` evaluates one on two systems ``a`` (the
new one) and ``b`` (the one it is compared with) and returns

* ``diff``: statistic(a) - statistic(b) on all items;
* a paired percentile bootstrap CI of ``diff`` (the same item resamples for both systems);
* a two-sided approximate-randomisation p-value (each item's pair of values swapped with probability 1/2), exact
  by enumeration when there are few items.

:func:`paired_items` builds the aligned arrays from two lists of per-item score rows (``scores.jsonl``).

Example:
    >>> rng = np.random.default_rng(1)
    >>> b = rng.uniform(0.0, 1.0, 300)
    >>> a = np.clip(b + 0.1 + rng.normal(0.0, 0.1, 300), 0.0, 1.0)
    >>> res = paired_comparison(a, b, n_resamples=2000, n_permutations=2000)
    >>> sorted(res), res["n"]
    (['ci95', 'diff', 'n', 'p_value'], 300)
    >>> res["ci95"][0] > 0, res["p_value"] < 0.001
    (True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

#: ``fn(S, W) -> (R,)``: S is (R, k) weighted column sums over items, W the (R,) total weights.
Statistic = Callable[[np.ndarray, np.ndarray], np.ndarray]

_TIE_TOL = 1e-12


def mean_statistic(S: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Mean of the per-item values in column 0: ``S[:, 0] / W``.

    Args:
        S: (R, k) weighted column sums; column 0 holds the sums of the per-item scores.
        W: (R,) total weights (number of items counted).
    Returns:
        (R,) means, in the unit of the per-item scores.

    Example:
        >>> mean_statistic(np.array([[3.0], [1.0]]), np.array([4.0, 4.0])).tolist()
        [0.75, 0.25]
    """
    S = np.asarray(S, dtype=np.float64)
    return S[:, 0] / np.asarray(W, dtype=np.float64)


def micro_f1_statistic(S: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Corpus micro-F1 ``2 tp / (2 tp + fp + fn)`` from summed per-item counts in columns 0, 1, 2 = tp, fp, fn.

    Args:
        S: (R, k >= 3) weighted column sums of per-item ``(tp, fp, fn)`` counts.
        W: (R,) total weights (unused: F1 is a ratio of sums).
    Returns:
        (R,) micro-F1 in [0, 1]; 0.0 where ``2 tp + fp + fn == 0`` (nothing predicted, nothing to find).

    Example:
        >>> micro_f1_statistic(np.array([[3.0, 1.0, 1.0], [0.0, 0.0, 0.0]]), np.ones(2)).tolist()
        [0.75, 0.0]
    """
    S = np.asarray(S, dtype=np.float64)
    if S.ndim != 2 or S.shape[1] < 3:
        raise ValueError(f"micro_f1_statistic needs (R, 3) sums of (tp, fp, fn) columns, got shape {S.shape}")
    tp, fp, fn = S[:, 0], S[:, 1], S[:, 2]
    den = 2.0 * tp + fp + fn
    return np.divide(2.0 * tp, den, out=np.zeros_like(den), where=den != 0)


def ratio_statistic(S: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Corpus ratio of summed per-item counts: ``S[:, 0] / S[:, 1]`` (e.g. named truth findings / truth findings).

    Args:
        S: (R, k >= 2) weighted column sums; column 0 the numerator counts, column 1 the denominator counts.
        W: (R,) total weights (unused: a ratio of sums).
    Returns:
        (R,) ratios; 0.0 where the denominator is 0.

    Example:
        >>> ratio_statistic(np.array([[3.0, 4.0], [0.0, 0.0]]), np.ones(2)).tolist()
        [0.75, 0.0]
    """
    S = np.asarray(S, dtype=np.float64)
    if S.ndim != 2 or S.shape[1] < 2:
        raise ValueError(f"ratio_statistic needs (R, 2) sums of (numerator, denominator) columns, got {S.shape}")
    return np.divide(S[:, 0], S[:, 1], out=np.zeros_like(S[:, 0]), where=S[:, 1] != 0)


def _as_items(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise ValueError(f"{name} must have shape (n,) or (n, k) (one row per item), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; drop excluded items first")
    return arr


def _eval(statistic: Statistic, S: np.ndarray, W: np.ndarray) -> np.ndarray:
    out = np.asarray(statistic(S, W), dtype=np.float64)
    if out.shape != (S.shape[0],):
        raise ValueError(f"statistic must return shape ({S.shape[0]},) for S of shape {S.shape}, got {out.shape}")
    return out


def _ci_key(confidence: float) -> str:
    return f"ci{int(round(confidence * 100))}"


def paired_comparison(
    a: Any,
    b: Any,
    statistic: Statistic = mean_statistic,
    *,
    n_resamples: int = 10_000,
    n_permutations: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    chunk: int = 500,
) -> dict[str, Any]:
    """Difference ``statistic(a) - statistic(b)`` with a paired bootstrap CI and a paired permutation p-value.

    Bootstrap: ``numpy.random.default_rng(seed).integers(0, n, (n_resamples, n))`` item indices (drawn chunk by
    chunk, which yields the same stream as one block, so a mean of ``a`` against ``b = 0`` reproduces
    :func:`radgrpo.metrics.bootstrap.bootstrap_ci` with the same seed), turned into multiplicity weights ``w``; each
    resample's difference is ``statistic(w @ a, n) - statistic(w @ b, n)``, the same ``w`` for both systems. The
    bounds are the ``(1 - confidence) / 2`` and ``1 - (1 - confidence) / 2`` percentiles (numpy's linear rule).

    p-value (two-sided approximate randomisation): each of ``n_permutations`` rounds swaps ``a_i`` and ``b_i``
    independently per item with probability 1/2 (``default_rng(seed + 1)``, a stream separate from the bootstrap),
    and ``p = (1 + #{|d_perm| >= |diff| - 1e-12}) / (1 + n_permutations)``. When ``2 ** n <= n_permutations`` all
    ``2 ** n`` swap patterns are enumerated instead and the exact ``p = #{|d_perm| >= |diff| - 1e-12} / 2 ** n`` is
    returned (the no-swap pattern is among them, so p > 0). The result does not depend on ``chunk``.

    Args:
        a: per-item values of the new system, shape (n,) or (n, k); row i is item i.
        b: the system it is compared with, same shape, aligned item by item with ``a`` (see :func:`paired_items`).
        statistic: ``fn(S, W) -> (R,)`` of (R, k) column sums and (R,) total weights; :func:`mean_statistic`
            (column 0) by default, :func:`micro_f1_statistic` for (tp, fp, fn) columns.
        n_resamples: bootstrap resamples.
        n_permutations: random swap rounds (upper bound on the enumeration size for the exact p).
        seed: seed of the bootstrap stream; the permutation stream uses ``seed + 1``.
        confidence: CI mass in (0, 1).
        chunk: resamples / permutations evaluated at once (memory ~ chunk x n floats).
    Returns:
        ``{"diff": float, "ci95": [lo, hi], "p_value": float, "n": int}`` in the statistic's unit. The CI key is
        ``f"ci{round(100 * confidence)}"``: ``"ci95"`` for the default, ``"ci90"`` for 0.9. With n == 1 the bounds
        are NaN (write them as JSON null) and p is 1.0.

    Raises:
        ValueError: ``a`` and ``b`` of different shapes, not 1-D/2-D, empty, containing NaN/inf, bad parameters, or
            a statistic that does not return (R,).

    Example:
        >>> res = paired_comparison([1.0, 0.0, 1.0], [0.0, 0.0, 0.0])
        >>> round(res["diff"], 4), res["p_value"], res["n"]
        (0.6667, 0.5, 3)
    """
    A = _as_items(a, "a")
    B = _as_items(b, "b")
    if A.shape != B.shape:
        raise ValueError(
            f"a and b must have the same shape (aligned item by item), got {np.shape(a)} and {np.shape(b)}"
        )
    n = A.shape[0]
    if n == 0:
        raise ValueError("paired_comparison needs at least one item, got 0")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1 or n_permutations < 1 or chunk < 1:
        raise ValueError(
            f"n_resamples, n_permutations and chunk must be >= 1, got {n_resamples}, {n_permutations}, {chunk}"
        )

    sum_a, sum_b = A.sum(axis=0), B.sum(axis=0)
    one = np.ones(1)
    diff = float(_eval(statistic, sum_a[None], n * one)[0] - _eval(statistic, sum_b[None], n * one)[0])

    # paired percentile bootstrap: the same multiplicity weights for both systems
    key = _ci_key(confidence)
    if n < 2:
        ci = [math.nan, math.nan]
    else:
        AB = np.concatenate([A, B], axis=1)
        k = A.shape[1]
        rng = np.random.default_rng(seed)
        boot = np.empty(n_resamples)
        for start in range(0, n_resamples, chunk):
            c = min(chunk, n_resamples - start)
            idx = rng.integers(0, n, size=(c, n))
            flat = (idx + (np.arange(c) * n)[:, None]).ravel()
            w = np.bincount(flat, minlength=c * n).reshape(c, n).astype(np.float64)
            S = w @ AB
            W = np.full(c, float(n))
            boot[start : start + c] = _eval(statistic, S[:, :k], W) - _eval(statistic, S[:, k:], W)
        alpha = (1.0 - confidence) / 2.0
        ci = [float(np.percentile(boot, 100 * alpha)), float(np.percentile(boot, 100 * (1 - alpha)))]

    # paired permutation (sign-flip) test: swapping item i moves D_i = b_i - a_i from b's sums to a's
    D = B - A
    threshold = abs(diff) - _TIE_TOL
    exact = 2**n <= n_permutations
    total = 2**n if exact else n_permutations
    rng = np.random.default_rng(seed + 1)
    hits = 0
    bits = np.arange(n)
    for start in range(0, total, chunk):
        c = min(chunk, total - start)
        if exact:
            M = ((np.arange(start, start + c)[:, None] >> bits) & 1).astype(np.float64)
        else:
            M = (rng.random((c, n)) < 0.5).astype(np.float64)
        shift = M @ D
        W = np.full(c, float(n))
        d = _eval(statistic, sum_a + shift, W) - _eval(statistic, sum_b - shift, W)
        hits += int(np.count_nonzero(np.abs(d) >= threshold))
    p_value = hits / total if exact else (1 + hits) / (1 + n_permutations)
    return {"diff": diff, key: ci, "p_value": float(p_value), "n": int(n)}


def paired_items(
    rows_a: Sequence[Mapping[str, Any]], rows_b: Sequence[Mapping[str, Any]], columns: str | Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Align two systems' per-item score rows by their ``"id"`` into the arrays :func:`paired_comparison` takes.

    Inner join: an item is kept when its id is in both lists and both rows have a value that is not missing, None
    or NaN for every column (such a value marks an item the metric excludes).

    Args:
        rows_a: per-item dicts of the new system (e.g. ``scores.jsonl`` rows), each with a unique ``"id"``.
        rows_b: the compared system's rows.
        columns: the score keys to take (one key or a sequence), e.g. ``["ap_50"]`` or ``["tp", "fp", "fn"]``.
    Returns:
        ``(a, b)`` float arrays of shape (n, len(columns)), row i the same item in both, in the order of ``rows_a``.

    Raises:
        ValueError: no columns, a row without ``"id"``, duplicate ids within one list, or no usable shared item.

    Example:
        >>> a, b = paired_items([{"id": "x", "s": 1.0}, {"id": "y", "s": None}, {"id": "z", "s": 0.5}],
        ...                     [{"id": "z", "s": 0.0}, {"id": "x", "s": 1.0}, {"id": "y", "s": 1.0}], ["s"])
        >>> a.tolist(), b.tolist()
        ([[1.0], [0.5]], [[1.0], [0.0]])
    """
    cols = [columns] if isinstance(columns, str) else list(columns)
    if not cols:
        raise ValueError("paired_items needs at least one column")

    def values(row: Mapping[str, Any]) -> list[float] | None:
        out = []
        for c in cols:
            v = row.get(c)
            if v is None:
                return None
            f = float(v)
            if math.isnan(f):
                return None
            out.append(f)
        return out

    def index(rows: Sequence[Mapping[str, Any]], name: str) -> dict[Any, Mapping[str, Any]]:
        by_id: dict[Any, Mapping[str, Any]] = {}
        for i, row in enumerate(rows):
            if "id" not in row:
                raise ValueError(f"{name}[{i}] has no 'id' field")
            if row["id"] in by_id:
                raise ValueError(f"duplicate id {row['id']!r} in {name}")
            by_id[row["id"]] = row
        return by_id

    index(rows_a, "rows_a")
    by_b = index(rows_b, "rows_b")
    shared = 0
    out_a: list[list[float]] = []
    out_b: list[list[float]] = []
    for row in rows_a:
        other = by_b.get(row["id"])
        if other is None:
            continue
        shared += 1
        va, vb = values(row), values(other)
        if va is not None and vb is not None:
            out_a.append(va)
            out_b.append(vb)
    if not out_a:
        why = "no id is shared" if shared == 0 else f"none of the {shared} shared ids has values for all of {cols}"
        raise ValueError(f"paired_items: {why} between rows_a and rows_b")
    k = len(cols)
    return np.asarray(out_a, dtype=np.float64).reshape(-1, k), np.asarray(out_b, dtype=np.float64).reshape(-1, k)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given (a family of tests, e.g. one comparison's metrics).

    With the ``m`` finite p-values sorted ascending, ``p_(1) <= ... <= p_(m)``, the adjusted value of the i-th
    (1-based) is ``min(1, max_{j <= i} (m - j + 1) * p_(j))``; rejecting where the adjusted value is below ``alpha``
    controls the family-wise error rate at ``alpha`` (Holm 1979). This equals statsmodels'
    ``multipletests(p, method="holm")[1]``. NaN p-values (tests that could not run) stay NaN and do not count in
    ``m``.

    Args:
        pvalues: raw p-values in [0, 1] (NaN allowed).
    Returns:
        the adjusted p-values, same length and order.
    Raises:
        ValueError: a p-value outside [0, 1].

    Example:
        >>> holm([0.01, 0.04, 0.03, 0.005])
        [0.03, 0.06, 0.06, 0.02]
        >>> holm([0.5, float("nan")])
        [0.5, nan]
    """
    ps = [float(p) for p in pvalues]
    bad = [p for p in ps if not math.isnan(p) and not 0.0 <= p <= 1.0]
    if bad:
        raise ValueError(f"holm: p-values must be in [0, 1], got {bad}")
    order = sorted((i for i, p in enumerate(ps) if not math.isnan(p)), key=lambda i: ps[i])
    m = len(order)
    out = [math.nan] * len(ps)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        out[i] = round(running, 15)
    return out
