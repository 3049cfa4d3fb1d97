"""One evaluation run end to end: generate -> score -> summarise -> ``results.json`` + ``report.html``.

``evaluate`` takes an already loaded model and processor, so a caller that evaluates several checkpoints (the demo:
untrained / SFT / GRPO) loads code once and calls it per model. Model loading from a name or folder, YAML/flag
parsing and console output live in ``radgrpo.cli.evaluate``. Output folder layout (STYLE.md data-flow names)::

    out_dir/predictions.jsonl   one Prediction per test record (resumable)
    out_dir/scores.jsonl        per-sample metric values
    out_dir/results.json        flat summary + "detail" (MetricResult with bootstrap CIs, per task / target)
    out_dir/report.html         self-contained report of this run

Example:
    >>> select_records([], tasks=["report_generation"], max_per_task=2)
    []
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from radgrpo.eval.generate import Prediction, generate_predictions, write_predictions
from radgrpo.eval.report.html import write_report
from radgrpo.eval.score import REPORT_METRICS, check_metrics, score_predictions, write_scores
from radgrpo.eval.summarize import flatten_results, summarize, write_results
from radgrpo.records import Record, Task


def select_records(records: Sequence[Record], *, tasks: Iterable[str] | None = None,
                   max_per_task: int = 0) -> list[Record]:
    """Filter test records by task and cap each task's count, keeping file order.

    Args:
        records: the test records.
        tasks: task values to keep (None or empty: all); unknown names raise ``ValueError`` listing valid ones.
        max_per_task: keep at most this many records of each task (0: all).
    Returns:
        the selected records.

    Example:
        >>> rs = [Record(f"r{i}", "x.png", t, "q", "a") for i, t in
        ...       enumerate(["report_generation", "phrase_grounding", "report_generation", "report_generation"])]
        >>> [r.id for r in select_records(rs, max_per_task=2)]
        ['r0', 'r1', 'r2']
        >>> [r.id for r in select_records(rs, tasks=["phrase_grounding"])]
        ['r1']
    """
    if max_per_task < 0:
        raise ValueError(f"max_per_task must be >= 0, got {max_per_task}")
    wanted = None
    if tasks:
        valid = [t.value for t in Task]
        bad = [t for t in tasks if t not in valid]
        if bad:
            raise ValueError(f"unknown task(s) {bad}; valid: {valid}")
        wanted = set(tasks)
    counts: dict[str, int] = {}
    out = []
    for r in records:
        if wanted is not None and r.task.value not in wanted:
            continue
        if max_per_task and counts.get(r.task.value, 0) >= max_per_task:
            continue
        counts[r.task.value] = counts.get(r.task.value, 0) + 1
        out.append(r)
    return out


def evaluate(model: Any, processor: Any, records: Sequence[Record], base_dir: str | os.PathLike | None,
             out_dir: str | os.PathLike, *, batch_size: int = 16,
             max_new_tokens: int | dict[str, int] | None = None, thinking: bool = False,
             metrics: Iterable[str] | None = None, n_resamples: int = 2000, seed: int = 0,
             run_name: str = "model", title: str | None = None, notes: str | None = None,
             write_html: bool = True, progress: bool = True, meta: dict[str, Any] | None = None,
             metric_options: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Evaluate one model on test records and write its output folder.

    Args:
        model: a loaded HF image-text-to-text model (e.g. Qwen3-VL), put in eval mode here.
        processor: its processor.
        records: the test records (already filtered; see :func:`select_records`).
        base_dir: folder that relative image paths are relative to.
        out_dir: output folder (created); an existing ``predictions.jsonl`` there is resumed.
        batch_size: generation batch size.
        max_new_tokens: one limit, a per-task dict, or None for the per-task defaults.
        thinking: thinking-mode prompts and answer extraction (paper.md §7).
        metrics: metric names (``radgrpo.eval.score.available_metrics``), None for the defaults.
        n_resamples: bootstrap resamples.
        seed: bootstrap seed (and torch seed, although greedy decoding does not sample).
        run_name: column name of this run in its report.
        title: report title (default: ``"radgrpo eval: <run_name>"``).
        notes: a paragraph shown in the report.
        write_html: also write ``report.html``.
        progress: show progress bars.
        meta: extra run information stored in ``results.json`` (``detail.meta``) and predictions.
        metric_options: metric name -> extra keyword arguments of its scoring function (GREEN's backend...).
    Returns:
        the flat results dict written to ``results.json`` (``{"map_50": ..., "bleu4": ..., "n": ..., "ci": {...},
        "per_task": ..., "per_target": ..., "diagnostics": ..., "detail": {...}}``), with the generation timing in
        ``detail.meta``.

    Example:
        >>> res = evaluate(model, processor, records, "data/test", "runs/eval_sft")  # doctest: +SKIP
        >>> res["map_50"], res["ci"]["map_50"]  # doctest: +SKIP
    """
    import torch

    if not records:
        raise ValueError("no test records to evaluate")
    names = check_metrics(metrics)  # fail before spending time on generation
    if any(r.task is Task.REPORT_GENERATION for r in records):
        for name in names:
            if name in REPORT_METRICS:
                REPORT_METRICS[name].load()  # a metric without an implementation stops the run here
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model.eval()
    t0 = time.perf_counter()
    preds = generate_predictions(model, processor, records, base_dir, batch_size=batch_size,
                                 max_new_tokens=max_new_tokens, thinking=thinking,
                                 out_path=out / "predictions.jsonl", progress=progress, meta=meta)
    gen_s = time.perf_counter() - t0
    run_meta = {**(meta or {}), "run_name": run_name, "n_records": len(records), "thinking": thinking,
                "batch_size": batch_size, "generate_seconds": round(gen_s, 3)}
    return evaluate_predictions(preds, records, out, metrics=names, n_resamples=n_resamples, seed=seed,
                                run_name=run_name, title=title, notes=notes, write_html=write_html,
                                base_dir=base_dir, meta=run_meta, metric_options=metric_options)


def evaluate_predictions(predictions: Sequence[Prediction], records: Sequence[Record],
                         out_dir: str | os.PathLike, *, metrics: Iterable[str] | None = None,
                         n_resamples: int = 2000, seed: int = 0, run_name: str = "model", title: str | None = None,
                         notes: str | None = None, write_html: bool = False,
                         base_dir: str | os.PathLike | None = None, meta: dict[str, Any] | None = None,
                         metric_options: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Score given predictions and write ``scores.jsonl`` + ``results.json`` (and ``predictions.jsonl``).

    The second half of :func:`evaluate`, usable on its own for predictors that are not models (the baselines of
    :mod:`radgrpo.eval.baselines`) or for predictions made elsewhere.

    Args:
        predictions: one :class:`Prediction` per scored record (ids must be among ``records``).
        records: the test records.
        out_dir: output folder (created).
        metrics: metric names, None for the defaults.
        n_resamples: bootstrap resamples.
        seed: bootstrap seed.
        run_name: column name of this run in its report.
        title: report title.
        notes: a paragraph shown in the report.
        write_html: also write ``report.html``.
        base_dir: folder of the records' images (for the report's pictures).
        meta: extra run information stored in ``results.json`` (``detail.meta``).
        metric_options: metric name -> extra keyword arguments of its scoring function.
    Returns:
        the flat results dict written to ``results.json``.
    """
    names = check_metrics(metrics)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    preds = list(predictions)
    pred_path = out / "predictions.jsonl"
    if not pred_path.exists():
        write_predictions(preds, pred_path)
    t1 = time.perf_counter()
    rows = score_predictions(preds, records, names, metric_options=metric_options)
    write_scores(rows, out / "scores.jsonl")
    score_s = time.perf_counter() - t1
    run_meta = {"run_name": run_name, "n_records": len(records), **(meta or {}), "metrics": names,
                "n_resamples": n_resamples, "seed": seed, "score_seconds": round(score_s, 3)}
    run = summarize(rows, n_resamples=n_resamples, seed=seed, meta=run_meta)
    data = write_results(run, out / "results.json")
    if write_html:
        write_report(out / "report.html", {run_name: run}, predictions={run_name: preds}, records=records,
                     base_dir=base_dir, scores={run_name: rows}, title=title or f"radgrpo eval: {run_name}",
                     notes=notes)
    return data


__all__ = ["evaluate", "flatten_results", "select_records"]
