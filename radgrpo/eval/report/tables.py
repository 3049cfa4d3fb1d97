"""The paper-style tables of the report, as plain data: Table 1 (report metrics), Table 2 (mAP@0.5 per dataset),
Table 3 (reward ablation), with significance marks from paired tests against a baseline run.

Rows are runs and columns metrics, as in the paper's Tables 1-3 (docs/evaluation.md#report). Headers, scales and
decimals come from the metric table (:func:`radgrpo.metrics.display.spec_for`): values in [0, 1] are shown ×100
with one decimal, RadCliQ (lower is better, ``↓`` in its header) and the clinical utility (<= 0, higher is better)
with two decimals, ANC (mean characters of the report answers) as an integer. Table 1's columns are
:data:`TABLE1_PAPER` (the paper's, in its order) then :data:`TABLE1_MORE`, where runs have them: the rule-labeller
finding-F1s, the utility, and the same scored against the drawn truth of synthetic readers-world records
(finding-F1, utility, recall of subtle and of conspicuous findings). Table 3's reward labels and ``*`` (metric also
the training reward) come from the reward table (:func:`radgrpo.rewards.registry.reward_spec`). Best values are bold
and second-best underlined (not for ANC, which has no better direction).

Significance: for every run but the baseline, each column's paired difference ``run - baseline`` on the shared items
(:func:`radgrpo.eval.compare.compare_runs` for its metrics; a paired bootstrap and approximate-randomisation test of
the per-sample mean, :func:`radgrpo.metrics.paired.paired_comparison`, for other per-sample metrics such as
BERTScore, RadCliQ, GREEN and ANC; corpus CheXbert F1s are not tested), then the p-values of that run's columns are
Holm-corrected together (:func:`radgrpo.metrics.paired.holm`). A column is marked ``▲`` (significantly better) or
``▼`` (significantly worse) when the 95 % CI of the difference excludes 0 and the Holm-adjusted p < 0.05; ANC gets
``+`` / ``−`` (longer / shorter).

This module computes no metric of a single run (``radgrpo.eval.summarize`` does); it only reads results, compares
runs and lays out cells.

Example:
    >>> holm_marks({"bleu4": {"diff": 0.1, "ci95": [0.05, 0.15], "p_value": 0.01, "n": 50},
    ...             "rougeL": {"diff": 0.1, "ci95": [0.01, 0.2], "p_value": 0.03, "n": 50}})["rougeL"]["p_holm"]
    0.03
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from radgrpo.eval.compare import PAIRED_METRICS, compare_runs
from radgrpo.eval.summarize import ANC, ANC_TASK
from radgrpo.metrics.bootstrap import MetricResult, bootstrap_ci
from radgrpo.metrics.display import no_direction, score_key, shown
from radgrpo.metrics.paired import holm, mean_statistic, paired_comparison, paired_items
from radgrpo.metrics.registry import get_metric
from radgrpo.rewards.registry import REWARDS, reward_spec
from radgrpo.rewards.registry import reward_label as short_reward_label

#: the report task whose rows Table 1 and ANC read
REPORT_TASK = ANC_TASK
#: columns without a better direction (no bold, ``+``/``−`` marks): the metric table's (ANC)
NO_DIRECTION: frozenset[str] = no_direction()
#: significance level of the marks (on Holm-adjusted p-values)
ALPHA = 0.05
#: grounding tasks in Table 2 column order, with the paper's short names
GROUNDING_TASKS: dict[str, str] = {
    "anatomical_grounding": "Anatomy",
    "abnormality_grounding": "Abnorm.",
    "phrase_grounding": "Phrase",
    "detection": "Detection",
}


@dataclass(frozen=True)
class Column:
    """One metric column of a paper table.

    Args:
        label: the header (the paper's abbreviation).
        names: ``results.json`` names that fill it, first present wins.
        scale: multiplier for display (100 for scores in [0, 1]).
        digits: decimals shown.
        paper: whether the paper's table has the column (the others are shown when a run has them).
    """

    label: str
    names: tuple[str, ...]
    scale: float = 100.0
    digits: int = 1
    paper: bool = True


def column(name: str, paper: bool = True) -> Column:
    """The column of result ``name`` as the metric table presents it: its label (``↓`` appended when lower is
    better), scale and decimals.

    Example:
        >>> column("radcliq")
        Column(label='RCQ↓', names=('radcliq',), scale=1.0, digits=2, paper=True)
    """
    spec = shown(name)
    arrow = "↓" if spec.higher_is_better is False else ""
    return Column(spec.label + arrow, (name,), scale=spec.scale, digits=spec.digits, paper=paper)


#: The paper's Table 1 columns, in the paper's order. A list of names because the order is the content (each
#: column's header and format come from the metric table).
TABLE1_PAPER: tuple[str, ...] = (
    "rougeL",
    "bertscore",
    "chexbert_micro_14",
    "chexbert_macro_14",
    "radgraph",
    "green",
    "radcliq",
)
#: Table 1's further columns, after the paper's and in this order (the order is the content): lexical, the rule
#: labeller's finding-F1s and the utility, then the same against the drawn truth (synthetic readers world: what the
#: image shows, not what one reader wrote).
TABLE1_MORE: tuple[str, ...] = (
    "bleu4",
    "gleu",
    "rule_finding_f1",
    "rule_finding_f1_side",
    "clinical_utility",
    "rule_finding_f1_truth",
    "rule_finding_f1_side_truth",
    "clinical_utility_truth",
    "recall_truth/subtle",
    "recall_truth/conspicuous",
)
#: Table 1's columns (the paper's, then the further ones); a column no run has is left out.
TABLE1_COLUMNS: tuple[Column, ...] = tuple(column(n) for n in TABLE1_PAPER) + tuple(
    column(n, paper=False) for n in TABLE1_MORE
)
ANC_COLUMN = column(ANC)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def report_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The score rows of report generation."""
    return [r for r in rows if r.get("task") == REPORT_TASK]


def anc_result(rows: Sequence[Mapping[str, Any]], *, n_resamples: int = 2000, seed: int = 0) -> MetricResult | None:
    """ANC (mean ``answer_chars`` of the report rows, characters) with a 95 % bootstrap CI; None without such rows.

    Example:
        >>> rows = [{"task": "report_generation", "answer_chars": 100}, {"task": "report_generation", "answer_chars": 50},
        ...         {"task": "phrase_grounding", "answer_chars": 9}]
        >>> anc_result(rows, n_resamples=10).value
        75.0
    """
    vals = [float(r["answer_chars"]) for r in report_rows(rows) if _finite(r.get("answer_chars"))]
    if not vals:
        return None
    v, lo, hi = bootstrap_ci(vals, n_resamples=n_resamples, seed=seed)
    return MetricResult(ANC, float(v), float(lo), float(hi), len(vals), True)


def report_metric(run: Any, name: str) -> MetricResult | None:
    """A report metric of a :class:`~radgrpo.eval.summarize.RunResults`: its report-task value, else overall."""
    block = (getattr(run, "per_task", None) or {}).get(REPORT_TASK) or {}
    return block.get(name) or (getattr(run, "overall", None) or {}).get(name)


def _score_key(name: str) -> str:
    """The per-sample score key of a ``results.json`` mean metric (``map_50`` -> ``ap_50``, ANC -> ``answer_chars``)."""
    return score_key(name)


def paired_tests(
    rows_new: Sequence[Mapping[str, Any]],
    rows_old: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    *,
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Paired differences ``new - old`` of result names on the shared items: ``{name: {"diff", "ci95", "p_value",
    "n"}}`` for the names that can be tested (compare_runs' metrics; per-sample means; ANC on report rows).

    Example:
        >>> new = [{"id": i, "task": "report_generation", "bleu4": 0.5, "answer_chars": 90} for i in "abcdef"]
        >>> old = [{"id": i, "task": "report_generation", "bleu4": 0.1, "answer_chars": 90} for i in "abcdef"]
        >>> res = paired_tests(new, old, ["bleu4", "anc", "chexbert_micro_14"], n_resamples=64)
        >>> sorted(res), round(res["bleu4"]["diff"], 3), res["anc"]["diff"], res["bleu4"]["p_value"]
        (['anc', 'bleu4'], 0.4, 0.0, 0.03125)
    """
    out: dict[str, dict[str, Any]] = {}
    via_compare = [n for n in names if n in PAIRED_METRICS]
    if via_compare:
        out.update(
            compare_runs(
                rows_new, rows_old, metrics=via_compare, n_resamples=n_resamples, n_permutations=n_resamples, seed=seed
            )
        )
    for name in names:
        if name in PAIRED_METRICS:
            continue
        key = _score_key(name)
        a_rows, b_rows = (report_rows(rows_new), report_rows(rows_old)) if name == ANC else (rows_new, rows_old)
        if not any(_finite(r.get(key)) for r in a_rows):
            continue
        try:
            a, b = paired_items(a_rows, b_rows, [key])
        except ValueError:
            continue  # no shared item with this score
        out[name] = paired_comparison(
            a, b, mean_statistic, n_resamples=n_resamples, n_permutations=n_resamples, seed=seed
        )
    return out


def holm_marks(tests: Mapping[str, Mapping[str, Any]], alpha: float = ALPHA) -> dict[str, dict[str, Any]]:
    """Holm-correct one comparison's tests together; adds ``p_holm`` and ``significant`` (CI excludes 0 and
    ``p_holm < alpha``) to a copy of each.

    Example:
        >>> t = {"a": {"diff": 0.2, "ci95": [0.1, 0.3], "p_value": 0.02}, "b": {"diff": 0.1, "ci95": [0.0, 0.2],
        ...      "p_value": 0.04}}
        >>> {k: (v["p_holm"], v["significant"]) for k, v in holm_marks(t).items()}
        {'a': (0.04, True), 'b': (0.04, False)}
    """
    names = list(tests)
    adjusted = holm([float(tests[n].get("p_value", math.nan)) for n in names])
    out = {}
    for n, p in zip(names, adjusted):
        t = dict(tests[n])
        lo, hi = (list(t.get("ci95") or [None, None]) + [None, None])[:2]
        excludes = _finite(lo) and _finite(hi) and (float(lo) > 0 or float(hi) < 0)
        t["p_holm"] = p
        t["significant"] = bool(excludes and not math.isnan(p) and p < alpha)
        out[n] = t
    return out


def mark(test: Mapping[str, Any] | None, name: str, higher_is_better: bool) -> str:
    """The cell mark of a Holm-marked test: ``▲`` better, ``▼`` worse, ``+``/``−`` for ANC, ``""`` otherwise.

    Example:
        >>> mark({"diff": -0.3, "significant": True}, "radcliq", higher_is_better=False)
        '▲'
        >>> mark({"diff": 12.0, "significant": True}, "anc", higher_is_better=True), mark(None, "bleu4", True)
        ('+', '')
    """
    if not test or not test.get("significant"):
        return ""
    up = float(test["diff"]) > 0
    if name in NO_DIRECTION:
        return "+" if up else "−"
    return "▲" if up == higher_is_better else "▼"


def _fmt(res: MetricResult | None, col: Column) -> str:
    if res is None or not _finite(res.value):
        return "–"
    return f"{res.value * col.scale:.{col.digits}f}"


def _tip(res: MetricResult | None, col: Column, test: Mapping[str, Any] | None) -> str:
    if res is None:
        return "not measured"
    parts = [f"{res.name} = {res.value * col.scale:.{col.digits + 1}f}" + (" (×100)" if col.scale == 100 else "")]
    if _finite(res.ci_low) and _finite(res.ci_high):
        parts.append(
            f"95% CI [{res.ci_low * col.scale:.{col.digits + 1}f}, {res.ci_high * col.scale:.{col.digits + 1}f}]"
        )
    parts.append(f"n={res.n}")
    if test:
        lo, hi = (list(test.get("ci95") or [math.nan, math.nan]) + [math.nan, math.nan])[:2]
        parts.append(
            f"vs baseline {float(test['diff']) * col.scale:+.{col.digits + 1}f} "
            f"[{float(lo if lo is not None else math.nan) * col.scale:+.{col.digits + 1}f}, "
            f"{float(hi if hi is not None else math.nan) * col.scale:+.{col.digits + 1}f}], "
            f"p={float(test['p_value']):.4f}, Holm p={float(test['p_holm']):.4f}"
        )
    return " · ".join(parts)


def _rank_cells(cells: list[dict[str, Any]], values: list[float | None], higher_is_better: bool | None) -> None:
    """Bold the best value (at least two distinct values) and underline the second best (at least three distinct
    values, so that with two runs the other one is not called second)."""
    if higher_is_better is None:
        return
    distinct = sorted({v for v in values if v is not None}, reverse=higher_is_better)
    if len(distinct) < 2:
        return
    for c, v in zip(cells, values):
        c["best"] = v == distinct[0]
        c["second"] = len(distinct) > 2 and v == distinct[1]


@dataclass
class PaperTable:
    """A paper table: ``columns`` (header labels), ``rows`` (``{"run", "label", "cells": [{"text", "title", "mark",
    "best", "second", "star"}]}``), ``baseline`` (the run marks compare with, or None) and ``tests`` (run -> column
    key -> Holm-marked paired test)."""

    columns: list[str]
    keys: list[str]
    rows: list[dict[str, Any]]
    baseline: str | None
    tests: dict[str, dict[str, dict[str, Any]]]


def _present(col: Column, runs: Mapping[str, Any], getter: Any) -> str | None:
    for name in col.names:
        if any(getter(run, name) is not None for run in runs.values()):
            return name
    return None


def _layout(
    runs: Mapping[str, Any],
    columns: Sequence[tuple[str, str, Column]],
    values: Mapping[str, Mapping[str, MetricResult | None]],
    tests: Mapping[str, Mapping[str, Mapping[str, Any]]],
    baseline: str | None,
) -> list[dict[str, Any]]:
    """Rows of cells: ``columns`` are (key, result name, Column) triples; ``values[run][key]`` the results."""
    rows: list[dict[str, Any]] = [{"run": r, "label": r, "baseline": r == baseline, "cells": []} for r in runs]
    for key, name, col in columns:
        found = [res for r in runs if (res := values[r].get(key)) is not None]
        hib = None if name in NO_DIRECTION else (found[0].higher_is_better if found else True)
        cells: list[dict[str, Any]] = []
        nums: list[float | None] = []
        for row in rows:
            r = str(row["run"])
            res = values[r].get(key)
            test = tests.get(r, {}).get(key)
            cells.append(
                {
                    "text": _fmt(res, col),
                    "title": _tip(res, col, test),
                    "mark": mark(test, name, bool(hib) if hib is not None else True),
                    "best": False,
                    "second": False,
                    "star": False,
                }
            )
            nums.append(res.value if res is not None and _finite(res.value) else None)
        _rank_cells(cells, nums, hib)
        for row, c in zip(rows, cells):
            row["cells"].append(c)
    return rows


def _marked_tests(
    rows: Mapping[str, Sequence[Mapping[str, Any]]] | None,
    runs: Sequence[str],
    baseline: str | None,
    names: Mapping[str, str],
    *,
    n_resamples: int,
    seed: int,
    subsets: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """run -> key -> Holm-marked test of ``run - baseline`` for the column keys ``names`` (key -> result name).

    ``subsets``: key -> predicate on a row, to test a column on a subset (Table 2's datasets)."""
    if not rows or baseline is None or baseline not in rows:
        return {}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        if run == baseline or run not in rows:
            continue
        family: dict[str, dict[str, Any]] = {}
        for key, name in names.items():
            keep = (subsets or {}).get(key)
            new = [r for r in rows[run] if keep is None or keep(r)]
            old = [r for r in rows[baseline] if keep is None or keep(r)]
            res = paired_tests(new, old, [name], n_resamples=n_resamples, seed=seed).get(name)
            if res is not None and _finite(res.get("p_value")):
                family[key] = res
        out[run] = holm_marks(family)
    return out


def table1(
    runs: Mapping[str, Any],
    rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    *,
    baseline: str | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
    columns: Sequence[Column] = TABLE1_COLUMNS,
    anc: bool = True,
) -> PaperTable | None:
    """Table 1: report metrics per run (rows) with significance marks against ``baseline``.

    Args:
        runs: run name -> :class:`~radgrpo.eval.summarize.RunResults`, in row order.
        rows: run name -> score rows (``scores.jsonl``), for the paired tests and an ANC the results lack.
        baseline: the run the others are tested against (None: no marks).
        n_resamples: bootstrap resamples and permutations of each paired test.
        seed: their seed.
        columns: the metric columns (those no run has are left out).
        anc: add the ANC column (from results, else from the rows' ``answer_chars``).
    Returns:
        the table, or None when no run has any of the columns.
    """
    getter = report_metric
    chosen = [(name, name, c) for c in columns if (name := _present(c, runs, getter)) is not None]
    values: dict[str, dict[str, MetricResult | None]] = {
        r: {key: getter(run, name) for key, name, _ in chosen} for r, run in runs.items()
    }
    if anc:
        for r, run in runs.items():
            res = getter(run, ANC)
            if res is None and rows and r in rows:
                res = anc_result(rows[r], n_resamples=n_resamples, seed=seed)
            values[r][ANC] = res
        if any(values[r][ANC] is not None for r in runs):
            chosen.append((ANC, ANC, ANC_COLUMN))
    if not chosen:
        return None
    keep = [r for r in runs if any(values[r].get(k) is not None for k, _, _ in chosen)]
    runs = {r: runs[r] for r in keep}
    tests = _marked_tests(rows, list(runs), baseline, {k: n for k, n, _ in chosen}, n_resamples=n_resamples, seed=seed)
    return PaperTable(
        columns=[c.label for _, _, c in chosen],
        keys=[k for k, _, _ in chosen],
        rows=_layout(runs, chosen, values, tests, baseline if baseline in runs else None),
        baseline=baseline if baseline in runs else None,
        tests=tests,
    )


def _result_block(run: Any, attr: str) -> dict[str, dict[str, MetricResult]]:
    block = getattr(run, attr, None)
    return dict(block) if isinstance(block, Mapping) else {}


def dataset_results(
    run: Any, rows: Sequence[Mapping[str, Any]] | None = None, *, n_resamples: int = 2000, seed: int = 0
) -> dict[str, MetricResult]:
    """mAP@0.5 per grounding dataset: ``"task/source"`` -> :class:`MetricResult`.

    Read from the run's ``per_task_source`` block when it has one with ``map_50``; else computed from the score
    rows' ``ap_50`` grouped by ``task`` and ``source`` (rows without a source count as ``"unknown"``).

    Example:
        >>> rows = [{"task": "phrase_grounding", "source": "ms_cxr", "ap_50": 1.0},
        ...         {"task": "phrase_grounding", "source": "ms_cxr", "ap_50": 0.5},
        ...         {"task": "phrase_grounding", "source": "padchest_gr", "ap_50": 0.0}]
        >>> {k: v.value for k, v in dataset_results(None, rows, n_resamples=10).items()}
        {'phrase_grounding/ms_cxr': 0.75, 'phrase_grounding/padchest_gr': 0.0}
    """
    block = _result_block(run, "per_task_source")
    out = {k: v["map_50"] for k, v in block.items() if "map_50" in v and k.split("/", 1)[0] in GROUNDING_TASKS}
    if out or not rows:
        return dict(sorted(out.items(), key=lambda kv: _dataset_order(kv[0])))
    groups: dict[str, list[float]] = {}
    for r in rows:
        if _finite(r.get("ap_50")) and r.get("task") in GROUNDING_TASKS:
            groups.setdefault(f"{r['task']}/{r.get('source') or 'unknown'}", []).append(float(r["ap_50"]))
    for key, vals in groups.items():
        v, lo, hi = bootstrap_ci(vals, n_resamples=n_resamples, seed=seed)
        out[key] = MetricResult("map_50", float(v), float(lo), float(hi), len(vals), True)
    return dict(sorted(out.items(), key=lambda kv: _dataset_order(kv[0])))


def _dataset_order(key: str) -> tuple[int, str]:
    task, _, source = key.partition("/")
    return (list(GROUNDING_TASKS).index(task) if task in GROUNDING_TASKS else len(GROUNDING_TASKS), source)


def dataset_label(key: str) -> str:
    """Table 2's header of a ``"task/source"`` key.

    Example:
        >>> dataset_label("phrase_grounding/ms_cxr")
        'Phrase · ms_cxr'
    """
    task, _, source = key.partition("/")
    return f"{GROUNDING_TASKS.get(task, task)} · {source or 'unknown'}"


def table2(
    runs: Mapping[str, Any],
    rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    *,
    baseline: str | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> PaperTable | None:
    """Table 2: mAP@0.5 (×100) per grounding dataset (``task · source`` columns) and over all grounding samples,
    with significance marks against ``baseline`` (each dataset tested on its rows; Holm across the columns).

    Returns:
        the table, or None when no run has grounding results.
    """
    per_run = {
        r: dataset_results(run, (rows or {}).get(r), n_resamples=n_resamples, seed=seed) for r, run in runs.items()
    }
    keys = sorted({k for d in per_run.values() for k in d}, key=_dataset_order)
    if not keys:
        return None
    col = column("map_50")
    columns = [(k, "map_50", col) for k in keys]
    values: dict[str, dict[str, MetricResult | None]] = {r: {k: per_run[r].get(k) for k in keys} for r in runs}
    if len(keys) > 1:
        for r, run in runs.items():
            values[r]["all"] = (getattr(run, "overall", None) or {}).get("map_50")
        columns.append(("all", "map_50", col))
    keep = [r for r in runs if any(v is not None for v in values[r].values())]
    runs = {r: runs[r] for r in keep}

    def subset(key: str) -> Any:
        task, _, source = key.partition("/")
        return lambda row: row.get("task") == task and (row.get("source") or "unknown") == source

    tests = _marked_tests(
        rows,
        list(runs),
        baseline,
        dict.fromkeys(keys, "map_50"),
        n_resamples=n_resamples,
        seed=seed,
        subsets={k: subset(k) for k in keys},
    )
    return PaperTable(
        columns=[dataset_label(k) for k in keys] + (["all grounding"] if len(keys) > 1 else []),
        keys=[k for k, _, _ in columns],
        rows=_layout(runs, columns, values, tests, baseline if baseline in runs else None),
        baseline=baseline if baseline in runs else None,
        tests=tests,
    )


def reward_label(rewards: Sequence[Mapping[str, Any]]) -> str:
    """Table 3's row label of a GRPO run's rewards: ``"+ RCQ"``, ``"+ 0.5×B-S + RCQ"``, options in parentheses.

    Example:
        >>> reward_label([{"name": "radgraph_f1", "weight": 1.0, "options": {"reward_level": "complete"}}])
        '+ RGF1 (reward_level=complete)'
        >>> reward_label([{"name": "bertscore", "weight": 0.5}, {"name": "radcliq", "weight": 1.0}])
        '+ 0.5×B-S + RCQ'
    """
    parts = []
    for r in rewards:
        name = str(r.get("name"))
        w = r.get("weight", 1.0)
        text = short_reward_label(name)
        if _finite(w) and float(w) != 1.0:
            text = f"{float(w):g}×{text}"
        opts = r.get("options") or {}
        if isinstance(opts, Mapping) and opts:
            text += " (" + ", ".join(f"{k}={v}" for k, v in opts.items()) + ")"
        parts.append(text)
    return "+ " + " + ".join(parts) if parts else "(no reward recorded)"


def reward_metric(name: str) -> str | None:
    """The ``results.json`` name a reward scores (its metric's first result, :class:`~radgrpo.rewards.registry.RewardSpec`), or None.

    Example:
        >>> reward_metric("radgraph_f1"), reward_metric("grounding_soft_f1"), reward_metric("rule_finding_errors")
        ('radgraph', 'soft_f1', None)
    """
    metric = reward_spec(name).metric if name in REWARDS else None
    return get_metric(metric).results[0] if metric else None


def reward_stars(rewards: Sequence[Mapping[str, Any]]) -> set[str]:
    """The result names that were also a training reward of the run (Table 3's ``*``).

    Example:
        >>> sorted(reward_stars([{"name": "radcliq"}, {"name": "rule_finding_errors"}]))
        ['radcliq']
    """
    return {m for r in rewards if (m := reward_metric(str(r.get("name")))) is not None}


def table3(
    runs: Mapping[str, Any],
    rewards: Mapping[str, Sequence[Mapping[str, Any]]],
    rows: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    *,
    baseline: str | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
    init_run: str | None = None,
) -> PaperTable | None:
    """Table 3 (reward ablation): the baseline and every GRPO run (``rewards`` names them: run -> list of
    ``{"name", "weight", "options"}`` read from its training config), report metrics and ANC, ``*`` on a metric that
    was also the run's training reward, marks against the baseline.

    Args:
        init_run: the run evaluated on the model the GRPO runs started from; its row reads ``"<run> (no RL)"``.
    Returns:
        the table (row ``label`` = the reward, e.g. ``"grpo: + RCQ"``), or None without a GRPO run.
    """
    grpo = [r for r in runs if r in rewards]
    if not grpo:
        return None
    order = ([baseline] if baseline is not None and baseline in runs and baseline not in rewards else []) + grpo
    sub = {r: runs[r] for r in order}
    t = table1(sub, rows, baseline=baseline if baseline in sub else None, n_resamples=n_resamples, seed=seed)
    if t is None:
        return None
    stars = {r: reward_stars(rewards.get(r, ())) for r in sub}
    for row in t.rows:
        run = row["run"]
        if run in rewards:
            row["label"] = f"{run}: {reward_label(rewards[run])}"
        else:
            row["label"] = f"{run} (no RL)" if run == init_run else run
        for key, cell in zip(t.keys, row["cells"]):
            cell["star"] = key in stars.get(run, set())
    return t


def value_table_text(table: PaperTable) -> list[list[str]]:
    """The table as text rows (header first), marks appended; for logs and tests.

    Example:
        >>> from radgrpo.eval.summarize import summarize
        >>> run = summarize([{"task": "report_generation", "rougeL": 0.25, "answer_chars": 10}], n_resamples=5)
        >>> value_table_text(table1({"a": run}))
        [['run', 'R-L', 'ANC'], ['a', '25.0', '10']]
    """
    out = [["run", *table.columns]]
    for row in table.rows:
        out.append([row["label"], *[c["text"] + c["mark"] + ("*" if c["star"] else "") for c in row["cells"]]])
    return out
