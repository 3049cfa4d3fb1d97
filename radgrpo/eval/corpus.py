"""Corpus statistics of the label metrics, each with a percentile bootstrap over reports: score rows -> results.

The ``corpus`` metrics of the metric table (``radgrpo.metrics.registry``) are not means of per-sample values, so
``radgrpo.eval.summarize`` hands their rows here: the CheXbert F1s from the rows' label vectors
(:func:`chexbert_results`), the named-finding micro-F1s of the rule labeller against the reference and against the
drawn truth from the rows' finding lists (:func:`finding_f1_results`), and the truth recall per subtlety group from
the rows' counts (:func:`recall_truth_results`). Every one resamples the reports with
:func:`radgrpo.metrics.bootstrap.bootstrap_weighted_ci` (same seed, so the resamples are the same reports for all of
them). ``radgrpo.eval.compare`` pairs the same statistics from the same row fields.

This module only aggregates rows; it scores nothing.

Example:
    >>> rows = [{"recall_truth_subtle_n": 2, "recall_truth_subtle_named": 1, "recall_truth_subtle_named_side": 0}]
    >>> {k: v.value for k, v in recall_truth_results(rows, n_resamples=10, seed=0, confidence=0.95,
    ...                                              only=None).items()}
    {'recall_truth/subtle': 0.5, 'recall_side_truth/subtle': 0.0}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from radgrpo.metrics.bootstrap import MetricResult, bootstrap_weighted_ci

__all__ = [
    "CHEXBERT_POLICIES",
    "FINDING_F1_FAMILIES",
    "chexbert_results",
    "corpus_results",
    "finding_f1_results",
    "recall_truth_results",
]

#: corpus CheXbert F1 result-name prefix -> uncertainty policy (f1chexbert's "uncertain = positive" is the paper's)
CHEXBERT_POLICIES: dict[str, str] = {"chexbert": "positive", "chexbert_uneg": "negative"}
#: row-field prefix of the finding lists -> result-name suffix: against the reference, against the drawn truth
FINDING_F1_FAMILIES: dict[str, str] = {"rule_finding": "", "rule_finding_truth": "_truth"}


def _results(
    names: Sequence[str], n: int, statistic: Callable[[np.ndarray], np.ndarray], only: Sequence[str] | None, **kw: Any
) -> dict[str, MetricResult]:
    value, lo, hi = bootstrap_weighted_ci(n, statistic, **kw)
    return {
        name: MetricResult(
            name=name, value=float(value[j]), ci_low=float(lo[j]), ci_high=float(hi[j]), n=n, higher_is_better=True
        )
        for j, name in enumerate(names)
        if only is None or name in only
    }


def chexbert_results(
    rows: Sequence[dict[str, Any]], *, n_resamples: int, seed: int, confidence: float, only: Sequence[str] | None
) -> dict[str, MetricResult]:
    """Corpus CheXbert F1 (micro/macro, 14/5 labels, both uncertainty policies) with a bootstrap over reports.

    Example:
        >>> pos, neg = [0, 1] + [-2] * 12, [0, 0] + [-2] * 12          # cardiomegaly present / absent
        >>> rows = [{"chexbert_ref_labels": pos, "chexbert_hyp_labels": pos},
        ...         {"chexbert_ref_labels": pos, "chexbert_hyp_labels": neg}]
        >>> res = chexbert_results(rows, n_resamples=50, seed=0, confidence=0.95, only=None)
        >>> round(res["chexbert_micro_5"].value, 4), res["chexbert_micro_5"].n
        (0.6667, 2)
    """
    from radgrpo.metrics.text.chexbert import F1_KEYS, chexbert_f1_weighted

    lab = [r for r in rows if r.get("chexbert_ref_labels") is not None and r.get("chexbert_hyp_labels") is not None]
    if not lab:
        return {}
    ref = np.array([r["chexbert_ref_labels"] for r in lab])
    hyp = np.array([r["chexbert_hyp_labels"] for r in lab])
    out: dict[str, MetricResult] = {}
    for prefix, policy in CHEXBERT_POLICIES.items():
        names = [f"{prefix}_{k}" for k in F1_KEYS]
        if only is not None and not set(names) & set(only):
            continue
        stat = partial(chexbert_f1_weighted, ref, hyp, uncertain=policy)
        out.update(_results(names, len(lab), stat, only, n_resamples=n_resamples, seed=seed, confidence=confidence))
    return out


def finding_f1_results(
    rows: Sequence[dict[str, Any]],
    *,
    n_resamples: int,
    seed: int,
    confidence: float,
    only: Sequence[str] | None,
    prefix: str = "rule_finding",
) -> dict[str, MetricResult]:
    """Corpus named-finding micro-F1s of ``rule_finding_f1`` (``prefix="rule_finding"``) or
    ``rule_finding_f1_truth`` (``prefix="rule_finding_truth"``) with a bootstrap over reports.

    Counts come from the rows' finding lists (``<prefix>_ref`` / ``_hyp`` and their ``side_`` versions, written by
    ``radgrpo.eval.score``); rows without them are left out (records without a truth, for the truth F1s).

    Returns:
        ``rule_finding_f1<s>``, ``rule_finding_f1_side<s>`` and ``rule_finding_f1<s>/<Label>`` for each label of
        ``FINDING_LABELS`` in some reference (truth) or prediction, with ``<s>`` = :data:`FINDING_F1_FAMILIES`
        ``[prefix]``; F1 = 2TP / (2TP + FP + FN), 0.0 without positives.

    Example:
        >>> rows = [{"rule_finding_ref": ["Cardiomegaly"], "rule_finding_hyp": ["Cardiomegaly"],
        ...          "rule_finding_side_ref": ["Cardiomegaly|none"], "rule_finding_side_hyp": ["Cardiomegaly|none"]},
        ...         {"rule_finding_ref": ["Pneumothorax"], "rule_finding_hyp": ["Pneumothorax"],
        ...          "rule_finding_side_ref": ["Pneumothorax|left"], "rule_finding_side_hyp": ["Pneumothorax|right"]}]
        >>> res = finding_f1_results(rows, n_resamples=50, seed=0, confidence=0.95, only=None)
        >>> [(k, round(v.value, 4)) for k, v in res.items()]  # doctest: +NORMALIZE_WHITESPACE
        [('rule_finding_f1', 1.0), ('rule_finding_f1_side', 0.5), ('rule_finding_f1/Cardiomegaly', 1.0),
         ('rule_finding_f1/Pneumothorax', 1.0)]
    """
    from radgrpo.metrics.text.rule_labeler import FINDING_LABELS

    suffix = FINDING_F1_FAMILIES[prefix]
    keys = (f"{prefix}_ref", f"{prefix}_hyp", f"{prefix}_side_ref", f"{prefix}_side_hyp")
    lab = [r for r in rows if all(r.get(k) is not None for k in keys)]
    if not lab:
        return {}
    sets = [[set(r[k]) for k in keys] for r in lab]
    present = [f for f in FINDING_LABELS if any(f in s[0] or f in s[1] for s in sets)]
    names = [
        f"rule_finding_f1{suffix}",
        f"rule_finding_f1_side{suffix}",
        *[f"rule_finding_f1{suffix}/{f}" for f in present],
    ]
    if only is not None and not set(names) & set(only):
        return {}
    # (n, k, 3) counts: k columns = plain, side-aware, one per present label; last axis tp, fp, fn
    counts = np.zeros((len(lab), len(names), 3))
    for i, (ref, hyp, side_ref, side_hyp) in enumerate(sets):
        counts[i, 0] = (len(hyp & ref), len(hyp - ref), len(ref - hyp))
        counts[i, 1] = (len(side_hyp & side_ref), len(side_hyp - side_ref), len(side_ref - side_hyp))
        for j, f in enumerate(present, start=2):
            h, g = f in hyp, f in ref
            counts[i, j] = (h and g, h and not g, g and not h)

    def micro_f1(w: np.ndarray) -> np.ndarray:
        tot = np.einsum("rn,nkc->rkc", w, counts)
        den = 2 * tot[..., 0] + tot[..., 1] + tot[..., 2]
        return np.divide(2 * tot[..., 0], den, out=np.zeros_like(den), where=den > 0)

    return _results(names, len(lab), micro_f1, only, n_resamples=n_resamples, seed=seed, confidence=confidence)


def recall_truth_results(
    rows: Sequence[dict[str, Any]], *, n_resamples: int, seed: int, confidence: float, only: Sequence[str] | None
) -> dict[str, MetricResult]:
    """Share of the drawn findings the reports name, per subtlety group, with a bootstrap over reports.

    Per group (``subtle``, ``conspicuous``) the rows with ``recall_truth_<group>_n`` (reports with a truth finding
    of the group; written by ``radgrpo.metrics.truth.recall_truth_rows``) give ``recall_truth/<group>`` = sum of
    ``..._named`` / sum of ``..._n`` and ``recall_side_truth/<group>`` = sum of ``..._named_side`` / sum of
    ``..._n``; ``n`` of the result is the number of such reports.

    Example:
        >>> rows = [{"recall_truth_conspicuous_n": 1, "recall_truth_conspicuous_named": 1,
        ...          "recall_truth_conspicuous_named_side": 1},
        ...         {"recall_truth_conspicuous_n": 3, "recall_truth_conspicuous_named": 1,
        ...          "recall_truth_conspicuous_named_side": 0}, {}]
        >>> res = recall_truth_results(rows, n_resamples=10, seed=0, confidence=0.95, only=None)
        >>> res["recall_truth/conspicuous"].value, res["recall_side_truth/conspicuous"].value, \\
        ...     res["recall_truth/conspicuous"].n
        (0.5, 0.25, 2)
    """
    from radgrpo.metrics.truth import SUBTLETY_GROUPS

    out: dict[str, MetricResult] = {}
    for group in SUBTLETY_GROUPS:
        key = f"recall_truth_{group}"
        names = [f"recall_truth/{group}", f"recall_side_truth/{group}"]
        lab = [r for r in rows if r.get(f"{key}_n")]
        if not lab or (only is not None and not set(names) & set(only)):
            continue
        x = np.array([[r[f"{key}_named"], r[f"{key}_named_side"], r[f"{key}_n"]] for r in lab], dtype=np.float64)

        def ratio(w: np.ndarray, x: np.ndarray = x) -> np.ndarray:
            tot = w @ x
            return tot[:, :2] / tot[:, 2:3]

        out.update(_results(names, len(lab), ratio, only, n_resamples=n_resamples, seed=seed, confidence=confidence))
    return out


def corpus_results(
    rows: Sequence[dict[str, Any]], *, n_resamples: int, seed: int, confidence: float, only: Sequence[str] | None
) -> dict[str, MetricResult]:
    """Every corpus statistic the rows support: CheXbert F1s, finding F1s (reference and truth), truth recall.

    Example:
        >>> corpus_results([{"bleu4": 0.5}], n_resamples=10, seed=0, confidence=0.95, only=None)
        {}
    """
    kw: dict[str, Any] = dict(n_resamples=n_resamples, seed=seed, confidence=confidence, only=only)
    out = chexbert_results(rows, **kw)
    for prefix in FINDING_F1_FAMILIES:
        out.update(finding_f1_results(rows, prefix=prefix, **kw))
    out.update(recall_truth_results(rows, **kw))
    return out
