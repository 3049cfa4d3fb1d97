"""Aggregate per-sample scores into metric results with bootstrap CIs: ``scores.jsonl`` -> ``results.json``.

A ``mean`` metric of the metric table (``radgrpo.metrics.registry``) is the mean of its per-sample scores, so a
percentile bootstrap over samples (2,000 resamples, numpy ``default_rng(0)``, 95 %, via ``radgrpo.metrics.bootstrap``)
gives its CI; the table also gives the ``results.json`` names and the direction of every metric. Results come
overall, per task, per dataset (``per_source``: the rows' ``source``, e.g. ``ms_cxr`` and ``padchest_gr``, which the
paper's Table 2 reports apart), per task and dataset (``per_task_source``, keys ``"<task>/<source>"``) and, for
grounding, per target (finding / region / phrase): overall mAP can flatter a model that only learned the mean
cardiomegaly box, so per-finding AP is always reported next to it (docs/evaluation.md).

Names in ``results.json`` (the score key on the right when it differs):
``map_50`` (mean ``ap_50``), ``soft_f1``, ``soft_f1_dice``, ``matched_iou``, ``format_valid_rate`` (mean
``parseable``: share of grounding answers with ≥ 1 parseable box), ``bleu4``, ``rougeL`` and any opt-in report
metric, ``clinical_utility`` and ``clinical_utility/<Label>`` (per-report means, <= 0), ``anc`` (the paper's ANC,
Table 3: mean number of characters of the answers of ``report_generation`` rows, from their ``answer_chars``;
derived here for every run, not a ``--metrics`` name; it has no better direction, see :data:`NO_DIRECTION`) and
``n`` (samples). Corpus statistics that are not means (bootstrap over reports as well, :mod:`radgrpo.eval.corpus`):
the CheXbert F1s (``chexbert_micro_14`` ...) and, for the ``rule_finding_f1`` metric, ``rule_finding_f1``
(named-finding micro-F1 over the rule labeller's ``FINDING_LABELS``, hedged mentions named),
``rule_finding_f1_side`` (side-aware) and ``rule_finding_f1/<Label>`` (one per finding present in references or
predictions). On records with a drawn truth (synthetic readers world) the truth metrics come too: means
``map_50_truth``, ``soft_f1_truth``, ``soft_f1_dice_truth``, ``matched_iou_truth``, ``clinical_utility_truth``
(+ ``/<Label>``), and corpus statistics ``rule_finding_f1_truth``, ``rule_finding_f1_side_truth``,
``rule_finding_f1_truth/<Label>``, ``recall_truth/subtle``, ``recall_truth/conspicuous``,
``recall_side_truth/subtle``, ``recall_side_truth/conspicuous``. Diagnostics without CIs: ``finished_rate``
(stopped on EOS), ``mean_n_tokens``, ``mean_pred_boxes``, ``think_closed_rate``.
Every one of these names, with its label, scale and direction, is an entry of the metric table
(``radgrpo.metrics.registry``: ``METRICS`` and, for the names derived here, ``DERIVED``).

This module does not generate or score; it only aggregates.

Example:
    >>> rows = [{"id": "a", "task": "abnormality_grounding", "target": "nodule", "ap_50": 1.0, "parseable": True},
    ...         {"id": "b", "task": "abnormality_grounding", "target": "nodule", "ap_50": 0.0, "parseable": False}]
    >>> run = summarize(rows, n_resamples=200)
    >>> run.overall["map_50"].value, run.overall["format_valid_rate"].value, run.n
    (0.5, 0.5, 2)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from radgrpo.eval.corpus import CHEXBERT_POLICIES as CHEXBERT_POLICIES  # re-exported (the tests and compare read it)
from radgrpo.eval.corpus import corpus_results
from radgrpo.eval.score import ScoreRow
from radgrpo.metrics.bootstrap import MetricResult, bootstrap_ci
from radgrpo.metrics.display import no_direction, per_target_results
from radgrpo.metrics.registry import DERIVED, label_row_fields, lower_is_better, result_names

#: score key in scores.jsonl -> metric name in results.json (the metric table's, plus its derived format rate)
RESULT_NAMES: dict[str, str] = result_names(derived=True)
#: metrics where lower is better (from the metric table); every other summarised metric is higher-is-better
LOWER_IS_BETTER: frozenset[str] = lower_is_better()
#: row keys that are bookkeeping, not metrics (incl. the label metrics' per-report fields)
_NOT_METRICS = frozenset(
    {*ScoreRow.FIELDS, *ScoreRow.THINKING_FIELDS, "n_pred_boxes", "n_ref_boxes", *label_row_fields()}
)
#: the ANC result name (mean ``answer_chars`` of report rows, in characters) and the task whose rows it averages
#: (the metric table's derived entry)
ANC: str = DERIVED["anc"].name
ANC_TASK: str = DERIVED["anc"].task
#: summarised metrics without a better direction (descriptive: a report should not mark a best value); their
#: ``MetricResult.higher_is_better`` is True only because the field needs a value (from the metric table)
NO_DIRECTION: frozenset[str] = no_direction()
#: metrics shown per target (grounding; the metric table's ``per_target`` entries); the truth ones only where the
#: records carry a drawn truth
TARGET_METRICS: tuple[str, ...] = per_target_results()


@dataclass
class RunResults:
    """The summary of one evaluated run (one column of the report).

    Args:
        overall: metric name -> :class:`MetricResult` over all samples the metric applies to.
        per_task: task -> metric name -> result.
        per_target: grounding target (e.g. ``"nodule"``) -> metric name -> result (:data:`TARGET_METRICS`).
        n: number of scored samples.
        diagnostics: plain numbers without CIs (``finished_rate``, ``mean_n_tokens``, ...).
        meta: free-form run information (model, config ...).
        per_source: dataset (the rows' ``source``, ``"unknown"`` when a row has none) -> metric name -> result.
        per_task_source: ``"<task>/<source>"`` (e.g. ``"phrase_grounding/ms_cxr"``) -> metric name -> result.
    """

    overall: dict[str, MetricResult]
    per_task: dict[str, dict[str, MetricResult]] = field(default_factory=dict)
    per_target: dict[str, dict[str, MetricResult]] = field(default_factory=dict)
    n: int = 0
    diagnostics: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    per_source: dict[str, dict[str, MetricResult]] = field(default_factory=dict)
    per_task_source: dict[str, dict[str, MetricResult]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable nested dict (the ``results.json`` ``"detail"`` block).

        Example:
            >>> run = summarize([{"task": "report_generation", "bleu4": 0.5}], n_resamples=10)
            >>> RunResults.from_dict(run.to_dict()) == run
            True
        """

        def block(d: dict[str, MetricResult]) -> dict[str, Any]:
            return {k: v.to_dict() for k, v in d.items()}

        return {
            "n": self.n,
            "overall": block(self.overall),
            "per_task": {k: block(v) for k, v in self.per_task.items()},
            "per_target": {k: block(v) for k, v in self.per_target.items()},
            "per_source": {k: block(v) for k, v in self.per_source.items()},
            "per_task_source": {k: block(v) for k, v in self.per_task_source.items()},
            "diagnostics": dict(self.diagnostics),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResults:
        """Inverse of :meth:`to_dict`; a block missing from an older ``results.json`` (``per_source``,
        ``per_task_source``) is empty.

        Example:
            >>> old = {"n": 1, "overall": {}, "per_task": {}}  # written before the per-dataset blocks existed
            >>> RunResults.from_dict(old).per_source
            {}
        """

        def block(b: dict[str, Any]) -> dict[str, MetricResult]:
            return {k: _metric_result_from_dict(v) for k, v in b.items()}

        return cls(
            overall=block(d["overall"]),
            per_task={k: block(v) for k, v in d.get("per_task", {}).items()},
            per_target={k: block(v) for k, v in d.get("per_target", {}).items()},
            n=int(d["n"]),
            diagnostics=dict(d.get("diagnostics", {})),
            meta=dict(d.get("meta", {})),
            per_source={k: block(v) for k, v in d.get("per_source", {}).items()},
            per_task_source={k: block(v) for k, v in d.get("per_task_source", {}).items()},
        )


def _metric_result_from_dict(d: dict[str, Any]) -> MetricResult:
    def num(v: Any) -> float:  # results.json writes NaN (no CI for n < 2) as null
        return math.nan if v is None else float(v)

    return MetricResult(
        name=d["name"],
        value=num(d["value"]),
        ci_low=num(d["ci_low"]),
        ci_high=num(d["ci_high"]),
        n=int(d["n"]),
        higher_is_better=bool(d["higher_is_better"]),
    )


def _metric_keys(rows: Sequence[dict[str, Any]]) -> list[str]:
    not_metrics = _NOT_METRICS | set(label_row_fields())  # the table as it is now (entries may be registered later)
    keys: dict[str, None] = {}
    for r in rows:
        for k, v in r.items():
            if k not in not_metrics and isinstance(v, (bool, int, float)) and v is not None:
                keys.setdefault(k, None)
    return list(keys)


def summarize_rows(
    rows: Sequence[dict[str, Any]],
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    only: Sequence[str] | None = None,
) -> dict[str, MetricResult]:
    """Bootstrap-CI means of every metric present in ``rows``.

    A metric is averaged over the rows that carry it (grounding metrics over grounding rows, report metrics over
    report rows); ``None`` values are skipped; booleans count as 0/1. ``anc`` is the mean ``answer_chars`` of the
    ``report_generation`` rows.

    Args:
        rows: score rows (``scores.jsonl``).
        n_resamples: bootstrap resamples.
        seed: seed of ``numpy.random.default_rng`` for the resampling.
        confidence: CI level.
        only: restrict to these result names (e.g. :data:`TARGET_METRICS`).
    Returns:
        result name -> :class:`MetricResult` (names mapped through :data:`RESULT_NAMES`), plus ``"n"`` is NOT
        included (see :func:`summarize`).

    Example:
        >>> res = summarize_rows([{"bleu4": 0.2}, {"bleu4": 0.4}, {"soft_f1": 1.0}], n_resamples=100)
        >>> round(res["bleu4"].value, 6), res["bleu4"].n, res["soft_f1"].n
        (0.3, 2, 1)
    """
    out: dict[str, MetricResult] = {}
    renames, lower = {**RESULT_NAMES, **result_names(derived=True)}, LOWER_IS_BETTER | lower_is_better()
    for key in _metric_keys(rows):
        name = renames.get(key, key)
        if only is not None and name not in only:
            continue
        vals = np.array([float(r[key]) for r in rows if r.get(key) is not None], dtype=float)
        if vals.size == 0:
            continue
        value, lo, hi = bootstrap_ci(
            cast(Sequence[float], vals), n_resamples=n_resamples, seed=seed, confidence=confidence
        )
        out[name] = MetricResult(
            name=name,
            value=float(value),
            ci_low=float(lo),
            ci_high=float(hi),
            n=int(vals.size),
            higher_is_better=name not in lower,
        )
    out.update(corpus_results(rows, n_resamples=n_resamples, seed=seed, confidence=confidence, only=only))
    chars = [float(r["answer_chars"]) for r in rows if r.get("task") == ANC_TASK and r.get("answer_chars") is not None]
    if chars and (only is None or ANC in only):
        value, lo, hi = bootstrap_ci(chars, n_resamples=n_resamples, seed=seed, confidence=confidence)
        out[ANC] = MetricResult(
            name=ANC, value=float(value), ci_low=float(lo), ci_high=float(hi), n=len(chars), higher_is_better=True
        )
    return out


def diagnostics(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Plain rates and means that explain a run (no CIs).

    Returns:
        ``finished_rate`` (share of generations that stopped on EOS), ``mean_n_tokens``, ``think_closed_rate``; for
        thinking outputs ``mean_thought_words``, ``mean_thought_tokens`` and ``well_formed_rate`` (a closed think
        block followed by a non-empty answer); when grounding rows exist, ``mean_pred_boxes`` (reward-parser boxes per grounding answer) and
        ``n_grounding_without_reference`` (grounding records with no reference box: they score 0).

    Example:
        >>> diagnostics([{"finished": True, "n_tokens": 10}, {"finished": False, "n_tokens": 20}])
        {'finished_rate': 0.5, 'mean_n_tokens': 15.0, 'think_closed_rate': 1.0}
    """

    def mean(key: str, default: Any = None) -> float | None:
        vals = [float(r.get(key, default)) for r in rows if r.get(key, default) is not None]
        return float(np.mean(vals)) if vals else None

    d = {
        "finished_rate": mean("finished"),
        "mean_n_tokens": mean("n_tokens"),
        "think_closed_rate": mean("think_closed", True),
        "mean_pred_boxes": mean("n_pred_boxes"),
    }
    thinking = [r for r in rows if r.get("thinking")]
    if thinking:  # thinking outputs: the thought's length and the share of well-formed answers
        d["mean_thought_words"] = float(np.mean([r.get("thought_words", 0) for r in thinking]))
        d["mean_thought_tokens"] = float(np.mean([r.get("thought_tokens", 0) for r in thinking]))
        d["well_formed_rate"] = float(
            np.mean([bool(r.get("think_closed", True)) and r.get("answer_chars", 0) > 0 for r in thinking])
        )
    unscored: dict[str, int] = {}
    for r in rows:  # e.g. GREEN judgements that could not be parsed: left out of the mean, counted here
        for k, v in r.items():
            if v is None and k not in _NOT_METRICS:
                unscored[k] = unscored.get(k, 0) + 1
    d.update({f"n_unscored_{k}": float(n) for k, n in unscored.items()})
    grounding = [r for r in rows if "n_ref_boxes" in r]
    if grounding:  # such samples score 0 by definition and pull mAP down: count them, never hide them
        d["n_grounding_without_reference"] = float(sum(1 for r in grounding if not r["n_ref_boxes"]))
    return {k: v for k, v in d.items() if v is not None}


def summarize(
    rows: Sequence[dict[str, Any]],
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    meta: dict[str, Any] | None = None,
) -> RunResults:
    """Summarise one run's score rows overall, per task, per dataset (source), per task and dataset, and per
    grounding target.

    Args:
        rows: score rows from :func:`radgrpo.eval.score.score_predictions`.
        n_resamples: bootstrap resamples (paper: 2,000).
        seed: bootstrap seed (paper: 0).
        confidence: CI level (paper: 0.95, percentile).
        meta: stored in :attr:`RunResults.meta`.
    Returns:
        a :class:`RunResults`.

    Example:
        >>> rows = [{"task": "report_generation", "bleu4": 0.1}, {"task": "report_generation", "bleu4": 0.3},
        ...         {"task": "anatomical_grounding", "target": "heart", "ap_50": 1.0, "parseable": True}]
        >>> run = summarize(rows, n_resamples=100)
        >>> sorted(run.per_task), list(run.per_target), run.per_task["report_generation"]["bleu4"].n
        (['anatomical_grounding', 'report_generation'], ['heart'], 2)
        >>> rows = [{"task": "phrase_grounding", "source": "ms_cxr", "ap_50": 1.0},
        ...         {"task": "phrase_grounding", "source": "padchest_gr", "ap_50": 0.0}]
        >>> {k: v["map_50"].value for k, v in summarize(rows, n_resamples=10).per_task_source.items()}
        {'phrase_grounding/ms_cxr': 1.0, 'phrase_grounding/padchest_gr': 0.0}
    """
    if not rows:
        raise ValueError("no score rows to summarise")
    kw: dict[str, Any] = dict(n_resamples=n_resamples, seed=seed, confidence=confidence)
    tasks: dict[str, list[dict[str, Any]]] = {}
    targets: dict[str, list[dict[str, Any]]] = {}
    sources: dict[str, list[dict[str, Any]]] = {}
    task_sources: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        task, source = str(r.get("task")), str(r.get("source") or "unknown")
        tasks.setdefault(task, []).append(r)
        sources.setdefault(source, []).append(r)
        task_sources.setdefault(f"{task}/{source}", []).append(r)
        if "ap_50" in r or "soft_f1" in r:  # grounding rows
            targets.setdefault(str(r.get("target") or "(none)"), []).append(r)
    done: dict[tuple[int, ...], dict[str, MetricResult]] = {}

    def block(rs: Sequence[dict[str, Any]]) -> dict[str, MetricResult]:
        # a group holding the same rows as another (a task from one dataset) has the same results: computed once
        key = tuple(map(id, rs))
        if key not in done:
            done[key] = summarize_rows(rs, **kw)
        return dict(done[key])

    return RunResults(
        overall=block(rows),
        per_task={t: block(rs) for t, rs in sorted(tasks.items())},
        per_target={t: summarize_rows(rs, only=per_target_results(), **kw) for t, rs in sorted(targets.items())},
        n=len(rows),
        diagnostics=diagnostics(rows),
        meta=dict(meta or {}),
        per_source={s: block(rs) for s, rs in sorted(sources.items())},
        per_task_source={k: block(rs) for k, rs in sorted(task_sources.items())},
    )


def flatten_results(run: RunResults) -> dict[str, Any]:
    """The flat dict of one run for ``results.json`` and the demo's table.

    Returns:
        ``{<metric>: value, ..., "n": n, "ci": {<metric>: [low, high]}, "n_by_metric": {<metric>: n},
        "per_task": {task: {<metric>: value, "n": n}}, "per_target": {target: {<metric>: value, "n": n}},
        "per_source": {source: {...}}, "per_task_source": {"task/source": {...}}, "diagnostics": {...}}``.

    Example:
        >>> run = summarize([{"task": "report_generation", "bleu4": 0.5}], n_resamples=10)
        >>> flat = flatten_results(run)
        >>> flat["bleu4"], flat["n"], flat["ci"]["bleu4"]
        (0.5, 1, [nan, nan])
    """

    def values(d: dict[str, MetricResult], n: int) -> dict[str, Any]:
        return {**{k: v.value for k, v in d.items()}, "n": n}

    def group_n(d: dict[str, MetricResult]) -> int:
        return max((v.n for v in d.values()), default=0)

    flat: dict[str, Any] = {k: v.value for k, v in run.overall.items()}
    flat["n"] = run.n
    flat["ci"] = {k: [v.ci_low, v.ci_high] for k, v in run.overall.items()}
    flat["n_by_metric"] = {k: v.n for k, v in run.overall.items()}
    flat["per_task"] = {t: values(d, group_n(d)) for t, d in run.per_task.items()}
    flat["per_target"] = {t: values(d, group_n(d)) for t, d in run.per_target.items()}
    flat["per_source"] = {t: values(d, group_n(d)) for t, d in run.per_source.items()}
    flat["per_task_source"] = {t: values(d, group_n(d)) for t, d in run.per_task_source.items()}
    flat["diagnostics"] = dict(run.diagnostics)
    return flat


def write_results(run: RunResults, path: str | os.PathLike, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``results.json``: the flat summary, the full nested detail under ``"detail"`` and, when given, the
    protocol manifest under ``"manifest"`` (:func:`radgrpo.eval.manifest.protocol_manifest`).

    Args:
        run: the summary.
        path: the ``results.json`` file.
        manifest: what the numbers depend on (package versions, model fingerprints, settings, test-file hash).
    Returns:
        the dict written.

    Example:
        >>> import tempfile
        >>> run = summarize([{"task": "report_generation", "bleu4": 0.5}], n_resamples=10)
        >>> d = write_results(run, Path(tempfile.mkdtemp(), "results.json"))
        >>> RunResults.from_dict(d["detail"]).overall["bleu4"].value
        0.5
    """
    data = {**flatten_results(run), "detail": run.to_dict()}
    if manifest is not None:
        data["manifest"] = manifest
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def read_results(path: str | os.PathLike) -> RunResults:
    """Load a :class:`RunResults` from a ``results.json`` written by :func:`write_results`.

    Args:
        path: the ``results.json`` file.
    Returns:
        the :class:`RunResults` stored under its ``"detail"`` key.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp(), "results.json")
        >>> _ = write_results(summarize([{"task": "report_generation", "rougeL": 0.5}], n_resamples=10), p)
        >>> read_results(p).overall["rougeL"].n
        1
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "detail" not in data:
        raise ValueError(f"{path}: not a radgrpo eval results.json (no 'detail' block)")
    return RunResults.from_dict(data["detail"])


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    """The ``"manifest"`` block of a ``results.json`` (None for files written before manifests existed).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp(), "results.json")
        >>> _ = write_results(summarize([{"rougeL": 0.5}], n_resamples=10), p, manifest={"seed": 0})
        >>> read_manifest(p)
        {'seed': 0}
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    manifest = data.get("manifest")
    return dict(manifest) if isinstance(manifest, dict) else None
