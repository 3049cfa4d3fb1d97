"""Paired comparison of two evaluated runs on the same test items (``scores.jsonl`` rows joined by id).

Each metric is named with the per-item columns it is computed from and its statistic
(:mod:`radgrpo.metrics.paired`), and :data:`PAIRED_METRICS` is built from the metric table
(``radgrpo.metrics.registry``), so every metric a run can have is comparable:

- every ``mean`` metric of the table under its ``results.json`` name (``map_50`` from ``ap_50``, ``soft_f1``,
  ``soft_f1_dice``, ``matched_iou``, ``bleu4``, ``rougeL``, ``gleu``, ``bertscore``, ``radgraph``, ``radcliq``,
  ``green``), plus summarize's own means ``format_valid_rate`` (from ``parseable``) and ``anc`` (mean
  ``answer_chars`` of ``report_generation`` rows, in characters);
- the per-report means of the label metrics: ``clinical_utility`` and, on records with a drawn truth,
  ``clinical_utility_truth`` (and the grounding truth means ``map_50_truth``, ``soft_f1_truth``, ...);
- the corpus F1s, recomputed on every resample from per-report columns: ``rule_finding_f1`` and
  ``rule_finding_f1_side`` from the rows' ``(tp, fp, fn)`` counts, likewise ``rule_finding_f1_truth`` and
  ``rule_finding_f1_side_truth`` from the truth counts, the truth recalls ``recall_truth/<group>`` and
  ``recall_side_truth/<group>`` (``subtle``, ``conspicuous``) as ratios of the rows' named / truth counts (reports
  without a truth finding of the group are left out), and the eight CheXbert F1s (``chexbert_micro_14``
  ... ``chexbert_uneg_macro_5``) from the rows' CheXbert label vectors, binarised with the result's uncertainty
  policy into per-label ``(tp, fp, fn)`` (micro: ratio of the summed counts; macro: mean of the per-label F1s),
  which gives the numbers of ``radgrpo.eval.summarize`` on the same items.

:func:`compare_runs` returns, per metric, ``{"diff": new - old, "ci95": [lo, hi], "p_value": float, "n": int}``
with a paired bootstrap over the shared items and a two-sided approximate-randomisation p-value. The difference is
always ``new - old`` in the metric's unit, whatever its direction: for ``radcliq`` (lower is better) a NEGATIVE
difference means the new run is better; :attr:`PairedMetric.higher_is_better` says which (None for ``anc``, which
has no better direction). :func:`compare_folders` compares evaluated run folders (``scores.jsonl``) against the
first one, with Holm-adjusted p-values; ``radgrpo compare`` prints its tables.

Example:
    >>> new = [{"id": "a", "soft_f1": 0.9}, {"id": "b", "soft_f1": 0.8}, {"id": "c", "soft_f1": 0.7}]
    >>> old = [{"id": "a", "soft_f1": 0.5}, {"id": "b", "soft_f1": 0.6}, {"id": "c", "soft_f1": 0.7}]
    >>> res = compare_runs(new, old, metrics=["soft_f1"], n_resamples=1000, n_permutations=1000)
    >>> round(res["soft_f1"]["diff"], 3), res["soft_f1"]["n"], res["soft_f1"]["p_value"]
    (0.2, 3, 0.5)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radgrpo.config import ConfigError, did_you_mean
from radgrpo.eval.score import ScoreRow
from radgrpo.eval.summarize import ANC, ANC_TASK, RESULT_NAMES
from radgrpo.metrics.paired import (
    Statistic,
    holm,
    mean_statistic,
    micro_f1_statistic,
    paired_comparison,
    paired_items,
    ratio_statistic,
)
from radgrpo.metrics.registry import METRICS

#: ``fn(rows) -> one list of floats (or None: the row has no value) per row``: per-item columns computed from rows
Derive = Callable[[Sequence[Mapping[str, Any]]], list[list[float] | None]]


@dataclass(frozen=True)
class PairedMetric:
    """A metric as a statistic of per-item columns of ``scores.jsonl``.

    Args:
        name: the ``results.json`` name.
        columns: the row keys it reads.
        statistic: ``fn(S, W)`` of the summed per-item values (:mod:`radgrpo.metrics.paired`).
        higher_is_better: direction (None: descriptive, e.g. ``anc``); the difference is ``new - old`` either way.
        tasks: only rows of these tasks count (empty: every row that has the columns).
        derive: computes the per-item values from the columns (None: the columns' values are the per-item values).
    """

    name: str
    columns: tuple[str, ...]
    statistic: Statistic
    higher_is_better: bool | None = True
    tasks: tuple[str, ...] = ()
    derive: Derive | None = None


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    den = 2.0 * tp + fp + fn
    return np.divide(2.0 * tp, den, out=np.zeros_like(den), where=den > 0)


class _CheXbertCounts:
    """Derive: a row's two CheXbert label vectors -> per-label (tp x 14, fp x 14, fn x 14) under one policy."""

    def __init__(self, uncertain: str) -> None:
        self.uncertain = uncertain

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> list[list[float] | None]:
        from radgrpo.metrics.text.chexbert import binarize_labels

        out: list[list[float] | None] = [None] * len(rows)
        ok = [i for i, r in enumerate(rows) if r.get(_CHEX_REF) is not None and r.get(_CHEX_HYP) is not None]
        if ok:
            ref = binarize_labels([rows[i][_CHEX_REF] for i in ok], self.uncertain)
            hyp = binarize_labels([rows[i][_CHEX_HYP] for i in ok], self.uncertain)
            vals = np.concatenate([ref & hyp, (1 - ref) & hyp, ref & (1 - hyp)], axis=1).astype(np.float64)
            for j, i in enumerate(ok):
                out[i] = vals[j].tolist()
        return out


class _CheXbertF1:
    """Statistic: micro or macro F1 over a label subset from summed (tp x L, fp x L, fn x L) columns."""

    def __init__(self, kind: str, labels: Sequence[int], n_labels: int) -> None:
        self.kind, self.labels, self.n_labels = kind, list(labels), n_labels

    def __call__(self, S: np.ndarray, W: np.ndarray) -> np.ndarray:
        S = np.asarray(S, dtype=np.float64)
        L, c = self.n_labels, self.labels
        tp, fp, fn = S[:, 0:L][:, c], S[:, L : 2 * L][:, c], S[:, 2 * L : 3 * L][:, c]
        if self.kind == "micro":
            return _f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
        return _f1(tp, fp, fn).mean(axis=1)


_CHEX_REF, _CHEX_HYP = "chexbert_ref_labels", "chexbert_hyp_labels"
#: summarize's name of the mean of ``parseable`` (share of grounding answers with a box)
FORMAT_RATE: str = RESULT_NAMES["parseable"]


def _corpus_metrics(spec_name: str) -> list[PairedMetric]:
    """The paired forms of a ``corpus`` metric of the table (its per-report row fields -> its result names)."""
    if spec_name in ("rule_finding_f1", "rule_finding_f1_truth"):
        prefix, suffix = ("rule_finding", "") if spec_name == "rule_finding_f1" else ("rule_finding_truth", "_truth")
        return [
            PairedMetric(
                f"rule_finding_f1{tag}{suffix}",
                tuple(f"{prefix}{tag}_{c}" for c in ("tp", "fp", "fn")),
                micro_f1_statistic,
            )
            for tag in ("", "_side")
        ]
    if spec_name == "recall_truth":
        from radgrpo.metrics.truth import SUBTLETY_GROUPS

        return [
            PairedMetric(
                f"recall{tag}_truth/{group}",
                (f"recall_truth_{group}_named{tag}", f"recall_truth_{group}_n"),
                ratio_statistic,
            )
            for tag in ("", "_side")
            for group in SUBTLETY_GROUPS
        ]
    if spec_name == "chexbert":
        from radgrpo.eval.corpus import CHEXBERT_POLICIES
        from radgrpo.metrics.text.chexbert import F1_KEYS, FIVE_LABEL_COLUMNS
        from radgrpo.records import CHEXPERT_LABELS

        n = len(CHEXPERT_LABELS)
        cols = {"14": list(range(n)), "5": list(FIVE_LABEL_COLUMNS)}
        out = []
        for prefix, policy in CHEXBERT_POLICIES.items():
            derive = _CheXbertCounts(policy)
            for key in F1_KEYS:
                kind, suffix = key.split("_")
                stat = _CheXbertF1(kind, cols[suffix], n)
                out.append(PairedMetric(f"{prefix}_{key}", (_CHEX_REF, _CHEX_HYP), stat, derive=derive))
        return out
    return []


def paired_metrics() -> dict[str, PairedMetric]:
    """Every comparable metric, from the metric table as it is now, in its order (see the module docstring).

    Example:
        >>> m = paired_metrics()
        >>> m["map_50"].columns, m["radcliq"].higher_is_better, m["anc"].columns, m["anc"].tasks
        (('ap_50',), False, ('answer_chars',), ('report_generation',))
    """
    out: dict[str, PairedMetric] = {}
    for spec in METRICS.values():
        if spec.aggregation == "mean":
            name = spec.results[0]
            out[name] = PairedMetric(name, (spec.name,), mean_statistic, spec.higher_is_better)
        else:
            out.update({m.name: m for m in _corpus_metrics(spec.name) if m.name in _result_names(spec.results)})
        if spec.name == "matched_iou":  # the grounding format rate follows the grounding means
            out[FORMAT_RATE] = PairedMetric(FORMAT_RATE, ("parseable",), mean_statistic)
    out.setdefault(FORMAT_RATE, PairedMetric(FORMAT_RATE, ("parseable",), mean_statistic))
    out[ANC] = PairedMetric(ANC, ("answer_chars",), mean_statistic, None, tasks=(ANC_TASK,))
    return out


def _result_names(results: Sequence[str]) -> set[str]:
    # the table lists "rule_finding_f1/<Label>" as a placeholder for the per-finding values (not paired here)
    return {r for r in results if "<" not in r}


#: The comparable metrics at import time, in display order (:func:`paired_metrics` rebuilds it from the table).
PAIRED_METRICS: dict[str, PairedMetric] = paired_metrics()


def _aligned(
    m: PairedMetric, rows_new: Sequence[Mapping[str, Any]], rows_old: Sequence[Mapping[str, Any]]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The aligned per-item arrays of metric ``m`` (None: the new run lacks its columns or no shared item has it)."""
    if m.tasks:
        rows_new = [r for r in rows_new if r.get("task") in m.tasks]
        rows_old = [r for r in rows_old if r.get("task") in m.tasks]
    if not any(all(c in r for c in m.columns) for r in rows_new):
        return None
    columns: Sequence[str] = m.columns
    if m.derive is not None:
        vals_new, vals_old = m.derive(rows_new), m.derive(rows_old)
        width = next((len(v) for v in (*vals_new, *vals_old) if v is not None), 0)
        if not width:
            return None
        columns = [f"v{j}" for j in range(width)]
        rows_new, rows_old = _derived_rows(rows_new, vals_new, columns), _derived_rows(rows_old, vals_old, columns)
    try:
        return paired_items(rows_new, rows_old, columns)
    except ValueError:
        return None  # no shared item has this metric


def _derived_rows(
    rows: Sequence[Mapping[str, Any]], values: Sequence[list[float] | None], columns: Sequence[str]
) -> list[dict[str, Any]]:
    return [
        {"id": r["id"], **(dict(zip(columns, v)) if v is not None else {})} for r, v in zip(rows, values) if "id" in r
    ]


def _check_names(metrics: Iterable[str] | None, table: Mapping[str, PairedMetric]) -> list[str]:
    names = list(table) if metrics is None else list(dict.fromkeys(metrics))
    unknown = [m for m in names if m not in table]
    if unknown:
        raise KeyError(f"unknown paired metric(s) {unknown}; valid: {list(table)}")
    return names


def compare_runs(
    rows_new: Sequence[Mapping[str, Any]],
    rows_old: Sequence[Mapping[str, Any]],
    *,
    metrics: Iterable[str] | None = None,
    n_resamples: int = 10_000,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Paired differences ``new - old`` of the metrics, with CIs and p-values.

    Args:
        rows_new: per-item score rows of the new run (``scores.jsonl``, each with ``"id"``).
        rows_old: per-item score rows of the run it is compared with.
        metrics: names from :func:`paired_metrics` (default: all); a metric whose columns the new run does not
            have, or that no shared item has in both runs, is left out of the result.
        n_resamples: paired bootstrap resamples.
        n_permutations: approximate-randomisation permutations.
        seed: seed of both.
    Returns:
        ``{metric: {"diff", "ci95", "p_value", "n"}}`` in the order of ``metrics``; ``diff`` is new - old in the
        metric's unit (for ``radcliq`` negative is better); ``ci95`` bounds are NaN when n < 2.
    Raises:
        KeyError: an unknown metric name.
    """
    table = paired_metrics()
    out: dict[str, dict[str, Any]] = {}
    for name in _check_names(metrics, table):
        m = table[name]
        ab = _aligned(m, rows_new, rows_old)
        if ab is None:
            continue
        out[name] = paired_comparison(
            ab[0], ab[1], m.statistic, n_resamples=n_resamples, n_permutations=n_permutations, seed=seed
        )
    return out


def paired_values(
    rows_new: Sequence[Mapping[str, Any]],
    rows_old: Sequence[Mapping[str, Any]],
    *,
    metrics: Iterable[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each run's value of each metric on the items :func:`compare_runs` pairs (so ``new - old == diff``).

    Returns:
        ``{metric: {"new": float, "old": float, "n": int, "higher_is_better": bool | None}}`` for the metrics
        :func:`compare_runs` returns.

    Example:
        >>> new = [{"id": "a", "bleu4": 0.5}, {"id": "b", "bleu4": 1.0}, {"id": "c", "bleu4": 0.0}]
        >>> paired_values(new, [{"id": "a", "bleu4": 0.25}, {"id": "b", "bleu4": 0.75}], metrics=["bleu4"])
        {'bleu4': {'new': 0.75, 'old': 0.5, 'n': 2, 'higher_is_better': True}}
    """
    table = paired_metrics()
    out: dict[str, dict[str, Any]] = {}
    for name in _check_names(metrics, table):
        m = table[name]
        ab = _aligned(m, rows_new, rows_old)
        if ab is None:
            continue
        n = ab[0].shape[0]
        new, old = (float(m.statistic(x.sum(axis=0)[None], np.array([float(n)]))[0]) for x in ab)
        out[name] = {"new": new, "old": old, "n": int(n), "higher_is_better": m.higher_is_better}
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


def load_run(folder: str | Path) -> tuple[str, list[ScoreRow]]:
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
