"""The static evaluation report: one self-contained ``report.html`` comparing one or more runs.

It lays out what ``radgrpo.eval.summarize`` computed: the metric table with 95 % bootstrap CIs (one column per run,
e.g. untrained / sft / grpo), per-task and per-target tables (per-finding AP, docs/evaluation.md#results-file),
diagnostics, a bar chart with CI whiskers, optional training curves, test images with the reference box and each
run's predicted boxes drawn in the run's colour, sample report texts against the reference, and optional notes.
Every picture is an inlined base64 PNG, so the file can be mailed or attached as a CI artefact. It does not compute
any metric and does not run a model.

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

from radgrpo.boxes import format_boxes, parse_boxes
from radgrpo.eval.compare import reading
from radgrpo.eval.generate import Prediction, read_predictions
from radgrpo.eval.report.plots import (
    REFERENCE_COLOUR,
    draw_boxes,
    metric_bar_chart,
    png_bytes,
    png_data_uri,
    run_colours,
    training_curves,
)
from radgrpo.eval.score import read_scores
from radgrpo.eval.summarize import RunResults, read_results
from radgrpo.records import Record, Task

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
#: Metric order in tables; metrics not listed follow alphabetically.
METRIC_ORDER: tuple[str, ...] = (
    "map_50",
    "soft_f1",
    "soft_f1_dice",
    "matched_iou",
    "format_valid_rate",
    "rule_finding_f1",
    "rule_finding_f1_side",
    "bleu4",
    "rougeL",
    "gleu",
    "bertscore",
    "chexbert_micro_14",
    "chexbert_macro_14",
    "chexbert_micro_5",
    "chexbert_macro_5",
    "radgraph",
    "green",
    "radcliq",
)
#: Metrics in the per-target table (one column per run each).
TARGET_TABLE_METRICS: tuple[str, ...] = ("map_50", "soft_f1")
#: Metrics drawn in the bar chart (those present).
CHART_METRICS: tuple[str, ...] = (
    "map_50",
    "soft_f1",
    "matched_iou",
    "rule_finding_f1",
    "rule_finding_f1_side",
    "bleu4",
    "rougeL",
)
#: Training-log keys drawn as curves (those present): losses, GRPO reward/KL, held-out metrics logged during training
#: (SFT's ``heldout/``, GRPO's ``eval_<task>/``), and GRPO's per-task monitors (radgrpo.train.monitors).
CURVE_KEYS: tuple[str, ...] = (
    "loss",
    "reward",
    "kl",
    "heldout/soft_f1",
    "heldout/rule_finding_f1",
    "eval_abnormality_grounding/soft_f1",
    "eval_report_generation/rule_finding_f1",
    "tasks/abnormality_grounding/reward_mean",
    "tasks/report_generation/reward_mean",
    "tasks/report_generation/length_ratio",
    "tasks/abnormality_grounding/zero_std_groups",
    "tasks/report_generation/zero_std_groups",
)


def _ordered(names: Sequence[str]) -> list[str]:
    known = [m for m in METRIC_ORDER if m in names]
    return known + sorted(set(names) - set(known))


def _table(blocks: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows ``{"metric", "cells": [{"text", "ci", "n", "best"}]}`` for run -> metric -> MetricResult."""
    runs = list(blocks)
    names = _ordered(list(dict.fromkeys(m for r in runs for m in blocks[r])))
    rows = []
    for m in names:
        res = [blocks[r].get(m) for r in runs]
        vals = [x.value for x in res if x is not None]
        best = None
        if len(vals) > 1 and len(set(vals)) > 1:
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


def _pick_round_robin(records: Sequence[Record], n: int) -> list[Record]:
    """Up to ``n`` records, one target at a time, so the images show different findings."""
    by_target: dict[str, list[Record]] = {}
    for r in records:
        by_target.setdefault(str(r.target), []).append(r)
    out: list[Record] = []
    queues = [list(v) for v in by_target.values()]
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out


def _samples(
    predictions: Mapping[str, Sequence[Prediction]],
    records: Sequence[Record],
    base_dir: str | os.PathLike | None,
    scores: Mapping[str, Sequence[dict]] | None,
    colours: dict[str, str],
    n_images: int,
    n_texts: int,
    image_size: int,
) -> tuple[list[dict], list[dict]]:
    from PIL import Image

    pred_by_run = {run: {p.id: p for p in ps} for run, ps in predictions.items()}
    score_by_run = {run: {s["id"]: s for s in rows} for run, rows in (scores or {}).items()}
    common = [r for r in records if all(r.id in d for d in pred_by_run.values())]

    images = []
    for rec in _pick_round_robin([r for r in common if r.task.is_grounding], n_images):
        path = rec.image_path(base_dir)
        if not path.is_file():
            raise FileNotFoundError(f"report: image of record {rec.id!r} not found at {path}")
        with Image.open(path) as im:
            boxes = {run: parse_boxes(pred_by_run[run][rec.id].answer) for run in pred_by_run}
            drawn = draw_boxes(im, rec.reference_boxes, boxes, colours=colours, size=image_size)
        answers = []
        for run in pred_by_run:
            s = score_by_run.get(run, {}).get(rec.id, {})
            score = " · ".join(f"{k} {s[k]:.2f}" for k in ("ap_50", "soft_f1") if isinstance(s.get(k), (int, float)))
            answers.append(
                {"run": run, "colour": colours[run], "text": pred_by_run[run][rec.id].answer[:400], "score": score}
            )
        images.append(
            {
                "id": rec.id,
                "task": rec.task.value,
                "target": rec.target,
                "question": rec.question,
                "reference": format_boxes(rec.reference_boxes),
                "src": png_data_uri(png_bytes(drawn)),
                "answers": answers,
            }
        )

    texts = []
    for rec in [r for r in common if r.task is Task.REPORT_GENERATION][:n_texts]:
        answers = []
        for run in pred_by_run:
            s = score_by_run.get(run, {}).get(rec.id, {})
            score = " · ".join(f"{k} {s[k]:.2f}" for k in ("bleu4", "rougeL") if isinstance(s.get(k), (int, float)))
            answers.append(
                {"run": run, "colour": colours[run], "text": pred_by_run[run][rec.id].answer[:2000], "score": score}
            )
        texts.append(
            {
                "id": rec.id,
                "question": rec.question,
                "reference": rec.reference_report if rec.reference_report is not None else rec.answer,
                "answers": answers,
            }
        )
    return images, texts


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
    n_images: int = 4,
    n_texts: int = 3,
    image_size: int = 320,
) -> Path:
    """Render ``report.html`` for one or more runs.

    Args:
        out_path: the HTML file to write (parent folders are created).
        runs: run name -> :class:`RunResults`, in column order (e.g. ``{"untrained": ..., "sft": ..., "grpo": ...}``).
        predictions: run name -> predictions; with ``records`` it enables the image and text samples.
        records: the test records (for images, reference boxes and reference reports).
        base_dir: folder that relative record image paths are relative to.
        scores: run name -> score rows, to print each sample's AP / soft-F1 / BLEU next to its answer.
        title: page title.
        notes: a paragraph of plain text shown under the title (e.g. honest remarks on GRPO vs SFT); HTML-escaped.
        logs: stage -> training log dicts (``step``, ``loss``, ``reward`` ...) for a training-curves figure.
        paired: comparison name (e.g. ``"grpo_vs_sft"``) -> metric -> ``{"diff", "ci95", "p_value", "n"}``
            (:func:`radgrpo.eval.compare.compare_runs`), shown as a table of paired differences.
        n_images: grounding samples drawn (one target at a time).
        n_texts: report-generation samples shown.
        image_size: longer side of the drawn images (px).
    Returns:
        the path written.

    Example:
        >>> write_report("out/report.html", {"sft": run}, predictions={"sft": preds}, records=recs,
        ...              base_dir="data/test")  # doctest: +SKIP
    """
    import jinja2

    if not runs:
        raise ValueError("write_report needs at least one run")
    names = list(runs)
    colours = run_colours(names)
    chart_values = {
        run: {
            m: (r.overall[m].value, r.overall[m].ci_low, r.overall[m].ci_high) for m in CHART_METRICS if m in r.overall
        }
        for run, r in runs.items()
    }
    chart = png_data_uri(metric_bar_chart(chart_values, colours=colours)) if any(chart_values.values()) else None
    curves = (
        png_data_uri(training_curves(logs, CURVE_KEYS, colours={**run_colours(list(logs)), **colours}))
        if logs
        else None
    )
    images: list[dict] = []
    texts: list[dict] = []
    if predictions and records:
        unknown = set(predictions) - set(runs)
        if unknown:
            raise ValueError(f"predictions given for unknown run(s) {sorted(unknown)}; runs: {names}")
        images, texts = _samples(predictions, records, base_dir, scores, colours, n_images, n_texts, image_size)

    diag_names = list(dict.fromkeys(k for r in runs.values() for k in r.diagnostics))
    diagnostics = [
        {"name": k, "cells": ["–" if k not in runs[r].diagnostics else f"{runs[r].diagnostics[k]:.3f}" for r in names]}
        for k in diag_names
    ]
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
        overall=_table({r: runs[r].overall for r in names}),
        per_task=_grouped_tables(runs, "per_task"),
        per_target=_target_table(runs, TARGET_TABLE_METRICS),
        diagnostics=diagnostics,
        paired=_paired_rows(paired or {}),
        chart=chart,
        curves=curves,
        images=images,
        texts=texts,
        meta={r: json.dumps(runs[r].meta, indent=1, default=str) for r in names if runs[r].meta},
        generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def load_run_dir(run_dir: str | os.PathLike) -> tuple[RunResults, list[Prediction], list[dict]]:
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
            raise FileNotFoundError(f"{d}: missing {name}; is this a radgrpo eval output folder?")
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
    **kwargs: Any,
) -> Path:
    """:func:`write_report` for several ``radgrpo eval`` output folders (e.g. untrained / sft / grpo).

    Args:
        out_path: the HTML file to write.
        run_dirs: run name -> eval output folder, in column order.
        records: the test records (enables image and text samples).
        base_dir: folder of relative image paths.
        **kwargs: passed to :func:`write_report` (``title``, ``notes``, ``logs`` ...).
    Returns:
        the path written.

    Example:
        >>> write_report_from_dirs("demo_out/report.html", {"untrained": "demo_out/eval_untrained",
        ...     "sft": "demo_out/eval_sft"}, records=test_records, base_dir="demo_out/data")  # doctest: +SKIP
    """
    runs, preds, scores = {}, {}, {}
    for name, d in run_dirs.items():
        runs[name], preds[name], scores[name] = load_run_dir(d)
    return write_report(out_path, runs, predictions=preds, records=records, base_dir=base_dir, scores=scores, **kwargs)
