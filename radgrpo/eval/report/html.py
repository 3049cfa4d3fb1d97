"""The evaluation report: one self-contained ``report.html`` comparing one or more runs.

It lays out what ``radgrpo.eval.summarize`` computed and what the paired tests find: the paper's Table 1 (report
metrics), Table 2 (mAP@0.5 per dataset) and Table 3 (reward ablation of GRPO runs) with significance marks against a
baseline run (:mod:`radgrpo.eval.report.tables`), the metric table with 95 % bootstrap CIs (one column per run, e.g.
untrained / sft / grpo), the demo's paired differences with a forest plot of GRPO's, its pre-RL diagnostic
(mention rates per finding and the gate, :mod:`radgrpo.eval.report.diagnostic`), per-task and per-target tables,
diagnostics, a bar chart, training curves per run (:func:`radgrpo.eval.report.plots.training_curves`) with the GRPO
reward-hacking alarms, a browser over every test sample (:mod:`radgrpo.eval.report.browser`: filters, sorting,
thumbnails with reference and predicted boxes, word-level differences of the reports) and optional notes. Pictures
are inlined (base64) and the script is inline, so the file opens offline and can be mailed or kept as a CI artefact.
It does not compute any metric of a run and does not run a model, and it lists no metric names: the row order of
the metric tables, the bar chart's metrics and the per-target table's columns come from the metric table
(:mod:`radgrpo.metrics.registry`: ``result_order``, ``chart_results``, ``per_target_results``).

``radgrpo report RUN... --out report.html`` (:func:`write_report_from_runs`) builds it from ``radgrpo eval`` output
folders; ``radgrpo demo`` uses :func:`write_report_from_dirs`; ``radgrpo eval`` writes one per run.

Example:
    >>> import tempfile
    >>> from radgrpo.eval.summarize import summarize
    >>> run = summarize([{"task": "report_generation", "bleu4": 0.25}], n_resamples=10)
    >>> path = write_report(Path(tempfile.mkdtemp()) / "report.html", {"sft": run}, title="t")
    >>> "0.250" in path.read_text()
    True
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError
from radgrpo.errors import UserPathError
from radgrpo.eval.compare import PAIRED_METRICS, reading
from radgrpo.eval.generate import Prediction, read_predictions
from radgrpo.eval.report import tables as T
from radgrpo.eval.report.browser import THUMB_SIZE, browser_data, run_is_thinking, script_json
from radgrpo.eval.report.diagnostic import diagnostic_section, mention_rate_chart
from radgrpo.eval.report.plots import (
    REFERENCE_COLOUR,
    curve_series,
    forest_plot,
    metric_bar_chart,
    png_data_uri,
    run_colours,
    training_curves,
)
from radgrpo.eval.report.runs import (
    TrainingRun,
    augment_rows,
    load_eval_run,
    load_training_run,
    model_training,
    read_test_records,
    training_rewards,
    unique_names,
)
from radgrpo.eval.score import ScoreRow, read_scores
from radgrpo.eval.summarize import RunResults, read_results
from radgrpo.metrics.display import chart_results, per_target_results, result_order
from radgrpo.records import Record

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
#: Comparisons drawn in the forest plot: those whose name starts with this (GRPO against each of its baselines).
FOREST_PREFIX = "grpo_vs_"


def _ordered(names: Sequence[str]) -> list[str]:
    """Result names in the metric table's order (:func:`radgrpo.metrics.display.result_order`)."""
    return result_order(names)


def _table(blocks: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows ``{"metric", "cells": [{"text", "ci", "n", "best"}]}`` for run -> metric -> MetricResult."""
    runs = list(blocks)
    names = _ordered(list(dict.fromkeys(m for r in runs for m in blocks[r])))
    rows = []
    for m in names:
        res = [blocks[r].get(m) for r in runs]
        vals = [x.value for x in res if x is not None]
        best = None
        if len(vals) > 1 and len(set(vals)) > 1 and m not in T.NO_DIRECTION:  # ANC: no better direction
            hib = next(x.higher_is_better for x in res if x is not None)
            best = max(vals) if hib else min(vals)
        cells = []
        for x in res:
            if x is None:
                cells.append({"text": "–", "ci": "", "n": "", "best": False})
            else:
                cells.append(
                    {
                        "text": f"{x.value:.3f}",
                        "ci": f"[{x.ci_low:.3f}, {x.ci_high:.3f}]",
                        "n": x.n,
                        "best": best is not None and x.value == best,
                    }
                )
        rows.append({"metric": m, "cells": cells})
    return rows


def _grouped_tables(runs: Mapping[str, RunResults], attr: str) -> list[dict[str, Any]]:
    groups = list(dict.fromkeys(g for r in runs.values() for g in getattr(r, attr)))
    return [
        {"name": g, "rows": _table({name: getattr(run, attr).get(g, {}) for name, run in runs.items()})}
        for g in sorted(groups)
    ]


def _target_table(runs: Mapping[str, RunResults], metrics: Sequence[str]) -> dict[str, Any]:
    """One row per grounding target: ``n`` then, per metric, one cell per run (value, CI, best in bold)."""
    targets = sorted(dict.fromkeys(t for r in runs.values() for t in r.per_target))
    present = {m for r in runs.values() for b in r.per_target.values() for m in b}
    metrics = [m for m in metrics if m in present or not m.endswith("_truth")]
    rows = []
    for t in targets:
        blocks = {name: run.per_target.get(t, {}) for name, run in runs.items()}
        by_metric = {row["metric"]: row["cells"] for row in _table(blocks)}
        n = max((x.n for b in blocks.values() for x in b.values()), default=0)
        rows.append(
            {
                "name": t,
                "n": n,
                "cells": [
                    c
                    for m in metrics
                    for c in by_metric.get(m, [{"text": "–", "ci": "", "n": "", "best": False}] * len(runs))
                ],
            }
        )
    return {"metrics": list(metrics), "rows": rows}


def _paired_rows(paired: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Rows ``{"comparison", "metric", "diff", "ci", "p", "n", "verdict"}`` of the paired-differences table."""

    def num(v: Any, fmt: str) -> str:
        return "–" if v is None or (isinstance(v, float) and v != v) else format(v, fmt)

    rows = []
    for comp, metrics in paired.items():
        for m, r in metrics.items():
            lo, hi = (list(r.get("ci95") or [None, None]) + [None, None])[:2]
            verdict = reading(r)
            sig = verdict.startswith("significantly")
            rows.append(
                {
                    "comparison": comp,
                    "metric": m,
                    "diff": num(r.get("diff"), "+.3f"),
                    "ci": f"[{num(lo, '+.3f')}, {num(hi, '+.3f')}]",
                    "p": num(r.get("p_value"), ".4f"),
                    "n": r.get("n", ""),
                    "verdict": verdict,
                    "significant": sig,
                }
            )
    return rows


def _forest(paired: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str | None:
    """The forest plot (PNG data URI) of the comparisons starting with :data:`FOREST_PREFIX`; None without one."""
    chosen = {c: m for c, m in paired.items() if c.startswith(FOREST_PREFIX) and m}
    if not chosen:
        return None
    lower = frozenset(m for m, pm in PAIRED_METRICS.items() if pm.higher_is_better is False)
    return png_data_uri(
        forest_plot(chosen, lower_is_better=lower, significant=lambda r: reading(r).startswith("significantly"))
    )


def _pre_rl(diagnostic: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The pre-RL diagnostic section (:func:`diagnostic_section`) with its mention-rate chart; None without one."""
    if diagnostic is None:
        return None
    section = diagnostic_section(diagnostic)
    rates = diagnostic.get("rates") or {}
    section["chart"] = png_data_uri(mention_rate_chart(rates, diagnostic.get("thresholds"))) if rates else None
    return section


def _diagnostics(runs: Mapping[str, RunResults], thinking: Mapping[str, bool]) -> list[dict[str, Any]]:
    """Rows ``{"name", "cells"}``: the runs' diagnostics (``think_closed_rate`` only for thinking runs, and only
    when one is) and the generation throughput recorded in their meta (``generation.tokens_per_s`` ...)."""
    names = list(runs)
    keys = list(dict.fromkeys(k for r in runs.values() for k in r.diagnostics))
    rows = []
    for k in keys:
        if k == "think_closed_rate" and not any(thinking.get(r) for r in names):
            continue
        cells = []
        for r in names:
            v = runs[r].diagnostics.get(k)
            shown = v is not None and (k != "think_closed_rate" or thinking.get(r))
            cells.append(f"{v:.3f}" if shown and v is not None else "–")
        rows.append({"name": k, "cells": cells})
    for k in ("tokens_per_s", "samples_per_s"):
        vals = [(runs[r].meta.get("generation") or {}).get(k) for r in names]
        if any(isinstance(v, (int, float)) for v in vals):
            rows.append({"name": k, "cells": [f"{v:.1f}" if isinstance(v, (int, float)) else "–" for v in vals]})
    return rows


def _curves(
    logs: Mapping[str, Sequence[Mapping[str, Any]]],
    training: Mapping[str, TrainingRun | None],
    colours: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One entry per trained run: ``{"run", "folder", "src" (PNG data URI or None), "missing", "alarms"}``."""
    out = []
    names = list(dict.fromkeys([*logs, *(r for r, t in training.items() if t is not None)]))
    pal = {**run_colours(names), **colours}
    for run in names:
        t = training.get(run)
        entries = list(logs[run]) if run in logs else list(t.log_history if t is not None else [])
        src, missing = None, ""
        if curve_series(entries):
            src = png_data_uri(training_curves({run: entries}, colours={run: pal[run]}))
        else:
            summary = next((e for e in entries if "train_loss" in e), None)
            missing = "no training step was logged" + (
                f" (only the trainer's summary: train_loss {summary['train_loss']:.4g} at step {summary.get('step')})"
                if summary
                else ""
            )
        out.append(
            {
                "run": run,
                "folder": str(t.folder) if t is not None else "",
                "src": src,
                "missing": missing,
                "alarms": None if t is None or t.alarms is None else t.alarms,
            }
        )
    return out


def _init_run(training: Mapping[str, TrainingRun | None]) -> str | None:
    """The run whose model every GRPO run started from (Table 3's "no RL" row), if there is exactly one."""
    folders = {r: t.folder.resolve() for r, t in training.items() if t is not None}
    inits = {
        Path(t.init_model).resolve() for t in training.values() if t is not None and t.method == "grpo" and t.init_model
    }
    if len(inits) != 1:
        return None
    hits = [r for r, f in folders.items() if f in inits]
    return hits[0] if len(hits) == 1 else None


def write_report(
    out_path: str | os.PathLike,
    runs: Mapping[str, RunResults],
    *,
    predictions: Mapping[str, Sequence[Prediction]] | None = None,
    records: Sequence[Record] | None = None,
    base_dir: str | os.PathLike | None = None,
    scores: Mapping[str, Sequence[dict]] | None = None,
    title: str = "radgrpo evaluation",
    notes: str | None = None,
    logs: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    paired: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    diagnostic: Mapping[str, Any] | None = None,
    baseline: str | None = None,
    training: Mapping[str, TrainingRun | None] | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
    thumb_size: int = THUMB_SIZE,
) -> Path:
    """Render ``report.html`` for one or more runs.

    Args:
        out_path: the HTML file to write (parent folders are created).
        runs: run name -> :class:`RunResults`, in column / row order (e.g. ``{"untrained": ..., "sft": ...}``).
        predictions: run name -> predictions; they fill the per-sample browser (all samples), with ``records``
            adding the question, references and image.
        records: the test records (images, reference boxes and reports, source, finding).
        base_dir: folder that relative record image paths are relative to.
        scores: run name -> score rows (``scores.jsonl``): per-sample scores in the browser, the paired tests of
            the tables' significance marks, per-dataset mAP and ANC where the results lack them.
        title: page title.
        notes: a paragraph of plain text shown under the title (e.g. honest remarks on GRPO vs SFT); HTML-escaped.
        logs: run name -> training log dicts (``step``, ``loss``, ``reward`` ...) for its training curves; wins over
            the log history of ``training``.
        paired: comparison name (e.g. ``"grpo_vs_sft"``) -> metric -> ``{"diff", "ci95", "p_value", "n"}``
            (:func:`radgrpo.eval.compare.compare_runs`), shown as a table of paired differences, with a forest plot
            of the comparisons named ``"grpo_vs_..."``.
        diagnostic: the pre-RL diagnostic on the validation split (:func:`radgrpo.eval.mention_rates.gate`'s dict,
            the demo's ``diagnostic.json``), shown as its own section: mention rates per finding (table and chart),
            decision thresholds, the gate's conditions and the utility of greedy decoding vs the threshold rule.
        baseline: the run the tables' significance marks compare with (default: the first run; no marks with one
            run).
        training: run name -> the training run of its model (:func:`radgrpo.eval.report.runs.load_training_run`):
            Table 3's rewards for GRPO runs, training curves and reward-hacking alarms.
        n_resamples: bootstrap resamples and permutations of each paired test behind the marks.
        seed: their seed.
        thumb_size: longer side of the browser's thumbnails (px).
    Returns:
        the path written.

    Raises:
        ValueError: no run, predictions of an unknown run, or an unknown baseline.
        FileNotFoundError: a record's image does not exist.

    Example:
        >>> write_report("out/report.html", {"sft": run}, predictions={"sft": preds}, records=recs,
        ...              base_dir="data/test")  # doctest: +SKIP
    """
    import jinja2

    if not runs:
        raise ValueError("write_report needs at least one run")
    names = list(runs)
    if baseline is not None and baseline not in runs:
        raise ValueError(f"baseline {baseline!r} is not a run; runs: {names}")
    if predictions:
        unknown = set(predictions) - set(runs)
        if unknown:
            raise ValueError(f"predictions given for unknown run(s) {sorted(unknown)}; runs: {names}")
    base = baseline if baseline is not None else (names[0] if len(names) > 1 else None)
    colours = run_colours(names)
    training = dict(training or {})
    preds = dict(predictions or {})
    thinking = {r: run_is_thinking(preds.get(r, ()), runs[r].meta) for r in names}
    rows = {r: augment_rows((scores or {})[r], preds.get(r, ()), records) for r in names if r in (scores or {})}
    kw: dict[str, Any] = dict(baseline=base, n_resamples=n_resamples, seed=seed)
    table1 = T.table1(runs, rows, **kw)
    table2 = T.table2(runs, rows, **kw)
    init = _init_run(training)
    table3 = T.table3(runs, training_rewards(training), rows, **{**kw, "baseline": init or base}, init_run=init)

    chart_values = {
        run: {
            m: (r.overall[m].value, r.overall[m].ci_low, r.overall[m].ci_high)
            for m in chart_results()
            if m in r.overall
        }
        for run, r in runs.items()
    }
    chart = png_data_uri(metric_bar_chart(chart_values, colours=colours)) if any(chart_values.values()) else None
    curves = _curves(logs or {}, training, colours)
    browser = None
    if preds:
        data = browser_data(
            records,
            {r: preds[r] for r in names if r in preds},
            {r: rows[r] for r in rows},
            base_dir=base_dir,
            colours=colours,
            thinking=thinking,
            images=records is not None,
            thumb_size=thumb_size,
        )
        browser = script_json(data)  # escaped for a <script> element by script_json; inserted with |safe
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )
    html = env.get_template("report.html.j2").render(
        title=title,
        notes=notes,
        runs=names,
        colours=colours,
        reference_colour=REFERENCE_COLOUR,
        n={r: runs[r].n for r in names},
        table1=table1,
        table2=table2,
        table3=table3,
        baseline=base,
        n_resamples=n_resamples,
        overall=_table({r: runs[r].overall for r in names}),
        per_task=_grouped_tables(runs, "per_task"),
        per_target=_target_table(runs, per_target_results(table=True)),
        diagnostics=_diagnostics(runs, thinking),
        paired=_paired_rows(paired or {}),
        forest=_forest(paired or {}),
        pre_rl=_pre_rl(diagnostic),
        chart=chart,
        curves=curves,
        browser=browser,
        browser_js=(TEMPLATE_DIR / "browser.js").read_text(encoding="utf-8"),  # our own file; inserted with |safe
        meta={r: json.dumps(runs[r].meta, indent=1, default=str) for r in names if runs[r].meta},
        generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def load_run_dir(run_dir: str | os.PathLike) -> tuple[RunResults, list[Prediction], list[ScoreRow]]:
    """Load a ``radgrpo eval`` output folder: ``results.json``, ``predictions.jsonl`` and ``scores.jsonl``.

    Args:
        run_dir: folder written by :func:`radgrpo.eval.pipeline.evaluate`.
    Returns:
        ``(run_results, predictions, score_rows)``; predictions in file order (generation order).

    Example:
        >>> import tempfile
        >>> from radgrpo.eval.generate import write_predictions
        >>> from radgrpo.eval.score import write_scores
        >>> from radgrpo.eval.summarize import summarize, write_results
        >>> d = Path(tempfile.mkdtemp())
        >>> rows = [{"id": "a", "task": "report_generation", "bleu4": 0.5}]
        >>> _ = write_scores(rows, d / "scores.jsonl"), write_results(summarize(rows, n_resamples=10), d / "results.json")
        >>> _ = write_predictions([Prediction("a", "report_generation", "q", "c", "c", 1, True)], d / "predictions.jsonl")
        >>> run, preds, scores = load_run_dir(d)
        >>> run.overall["bleu4"].value, preds[0].id, scores == rows
        (0.5, 'a', True)
    """
    d = Path(run_dir)
    for name in ("results.json", "predictions.jsonl", "scores.jsonl"):
        if not (d / name).is_file():
            raise UserPathError(f"{d}: missing {name}; is this a radgrpo eval output folder?")
    preds, bad = read_predictions(d / "predictions.jsonl")
    if bad:
        raise ValueError(f"{d / 'predictions.jsonl'}: {bad} malformed line(s)")
    return read_results(d / "results.json"), preds, read_scores(d / "scores.jsonl")


def write_report_from_dirs(
    out_path: str | os.PathLike,
    run_dirs: Mapping[str, str | os.PathLike],
    *,
    records: Sequence[Record] | None = None,
    base_dir: str | os.PathLike | None = None,
    training: Mapping[str, str | os.PathLike | TrainingRun | None] | None = None,
    diagnostic: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Path:
    """:func:`write_report` for several ``radgrpo eval`` output folders (e.g. untrained / sft / grpo).

    Args:
        out_path: the HTML file to write.
        run_dirs: run name -> eval output folder, in column order.
        records: the test records (enables images and references in the sample browser).
        base_dir: folder of relative image paths.
        training: run name -> its training output folder (or a loaded :class:`TrainingRun`), for Table 3, the
            curves and alarms; runs not named use the training run of their ``config.yaml`` model, if any.
        diagnostic: the pre-RL diagnostic (the demo's ``diagnostic.json``), as in :func:`write_report`.
        **kwargs: passed to :func:`write_report` (``title``, ``notes``, ``logs``, ``paired``, ``baseline`` ...).
    Returns:
        the path written.

    Example:
        >>> write_report_from_dirs("demo_out/report.html", {"untrained": "demo_out/eval_untrained",
        ...     "sft": "demo_out/eval_sft"}, records=test_records, base_dir="demo_out/data")  # doctest: +SKIP
    """
    runs, preds, scores = {}, {}, {}
    trained: dict[str, TrainingRun | None] = {}
    for name, d in run_dirs.items():
        runs[name], preds[name], scores[name] = load_run_dir(d)
        given = (training or {}).get(name)
        if isinstance(given, TrainingRun) or given is None:
            trained[name] = given if given is not None else model_training(d)
        else:
            trained[name] = load_training_run(given)
    return write_report(
        out_path,
        runs,
        predictions=preds,
        records=records,
        base_dir=base_dir,
        scores=scores,
        training=trained,
        diagnostic=diagnostic,
        **kwargs,
    )


def write_report_from_runs(
    out_path: str | os.PathLike,
    run_specs: Sequence[str | os.PathLike],
    *,
    test_files: Sequence[str | os.PathLike] = (),
    baseline: str | None = None,
    **kwargs: Any,
) -> Path:
    """``radgrpo report``: one report of eval output folders given as ``FOLDER`` or ``NAME=FOLDER``.

    Test records (images, references) come from ``test_files`` or else each run's ``config.yaml`` ``test_file``
    (images resolve against that file's folder); a run whose model is a training output folder brings its training
    curves and, for GRPO, its rewards into Table 3.

    Args:
        out_path: the HTML file to write.
        run_specs: the runs, in row / column order.
        test_files: test records JSONL files (default: the runs' own).
        baseline: the run that significance marks compare with (default: the first).
        **kwargs: passed to :func:`write_report` (``title``, ``notes``, ``n_resamples``, ``seed``, ``thumb_size``).
    Returns:
        the path written.

    Raises:
        ConfigError: no run, a missing folder, file or test file, or an unknown baseline.

    Example:
        >>> write_report_from_runs("report.html", ["sft=runs/eval_sft", "grpo=runs/eval_grpo"],
        ...                        baseline="sft")  # doctest: +SKIP
    """
    if not run_specs:
        raise ConfigError("radgrpo report needs at least one run folder (a `radgrpo eval` output folder)")
    loaded = [load_eval_run(s) for s in run_specs]
    for run, name in zip(loaded, unique_names([r.name for r in loaded])):
        run.name = name
    names = [r.name for r in loaded]
    if baseline is not None and baseline not in names:
        raise ConfigError(f"--baseline {baseline!r} is not one of the runs: {', '.join(names)}")
    records = read_test_records(loaded, test_files)
    by = {r.name: r for r in loaded}
    return write_report(
        out_path,
        {n: by[n].results for n in names},
        predictions={n: by[n].predictions for n in names},
        records=records,
        scores={n: by[n].scores for n in names},
        training={n: by[n].training for n in names},
        baseline=baseline,
        **kwargs,
    )
