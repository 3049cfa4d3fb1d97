"""One evaluation run end to end: generate -> score -> summarise -> ``results.json`` + ``report.html``.

``evaluate`` takes an already loaded model and processor, so a caller that evaluates several checkpoints (the demo:
untrained / SFT / GRPO) loads code once and calls it per model. Model loading from a name or folder is
:func:`radgrpo.eval.run.run_eval`'s (``radgrpo eval``); the settings are one :class:`EvalConfig`
(``radgrpo.eval.config``). Output folder layout (docs/evaluation.md)::

    out_dir/predictions.jsonl   one Prediction per test record (resumable)
    out_dir/scores.jsonl        per-sample metric values
    out_dir/results.json        flat summary + "detail" (MetricResult with bootstrap CIs, per task / dataset /
                                task and dataset / target) + "manifest" (versions, fingerprints, settings)
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

from radgrpo.config import save_config
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.generate import generate_predictions
from radgrpo.eval.manifest import protocol_manifest
from radgrpo.eval.report.html import write_report
from radgrpo.eval.score import check_metrics, load_metric_functions, score_predictions, write_scores
from radgrpo.eval.summarize import flatten_results, summarize, write_results
from radgrpo.metrics.registry import require_all_models
from radgrpo.records import Prediction, Record, Task, write_predictions


def select_records(
    records: Sequence[Record], *, tasks: Iterable[str] | None = None, max_per_task: int = 0
) -> list[Record]:
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


def evaluate(
    model: Any,
    processor: Any,
    records: Sequence[Record],
    config: EvalConfig,
    *,
    base_dir: str | os.PathLike | None = None,
    meta: dict[str, Any] | None = None,
    adapter: Any = None,
) -> dict[str, Any]:
    """Evaluate one model on test records and write its output folder ``config.out``.

    Args:
        model: a loaded HF image-text-to-text model (e.g. Qwen3-VL), put in eval mode here; with
            ``config.backend == "vllm"`` vLLM loads ``config.model`` itself and ``model`` may be None.
        processor: its processor.
        records: the test records (already filtered; see :func:`select_records`).
        config: the run's settings: ``out``, the generation settings (:meth:`EvalConfig.generation_spec`: batch
            size, new-token limits, thinking mode, the model adapter (``adapter``, resolved with
            :func:`radgrpo.models.adapters.resolve_adapter`), the sampling options, ``seed``, ``regenerate``, the
            backend and its settings), ``metrics``, ``n_resamples``, ``seed`` (also the bootstrap seed),
            ``run_name``/``title``/``notes``/``html`` of the report, ``progress`` and the metrics' options (GREEN's
            judge). An existing ``predictions.jsonl`` in ``config.out`` is resumed.
        base_dir: folder that relative image paths are relative to (default: ``config.test_file``'s folder when it
            is set, else the current directory).
        meta: extra run information stored in ``results.json`` (``detail.meta``) and predictions (load timings...).
        adapter: the model adapter already resolved (the CLI resolves it before loading); None: resolved here from
            ``config.adapter``, the model's name (``config.model``, else the loaded model's ``name_or_path``) and
            its config.
    Returns:
        the flat results dict written to ``results.json`` (``{"map_50": ..., "bleu4": ..., "n": ..., "ci": {...},
        "per_task": ..., "per_target": ..., "diagnostics": ..., "detail": {...}}``), with the generation timing and
        a ``generation`` block (backend, adapter, sampling settings,
        :meth:`radgrpo.eval.settings.GenerationSpec.run_settings`; ``tokens_per_s``, ``samples_per_s``,
        regeneration counts, :func:`radgrpo.eval.generate.generation_stats`) in ``detail.meta``.

    Example:
        >>> cfg = EvalConfig(out="runs/eval_sft", metrics=["soft_f1", "bleu4"], run_name="sft")
        >>> res = evaluate(model, processor, records, cfg, base_dir="data/test")  # doctest: +SKIP
        >>> res["soft_f1"], res["ci"]["soft_f1"]  # doctest: +SKIP
        >>> res["detail"]["meta"]["generation"]["tokens_per_s"]  # doctest: +SKIP
    """
    import torch

    from radgrpo.eval.generate import generation_stats
    from radgrpo.models.adapters import resolve_adapter

    if not records:
        raise ValueError("no test records to evaluate")
    names = check_metrics(config.metrics)  # fail before spending time on generation
    if any(r.task is Task.REPORT_GENERATION for r in records):
        load_metric_functions(names)  # a report metric without an implementation stops the run here
        require_all_models(names)  # and so do missing scoring models, all listed at once
    if base_dir is None and config.test_file:
        base_dir = Path(config.test_file).parent
    if adapter is None:  # "auto": the model's name or folder (a loaded model's own when unset) and its config
        name = config.model or str(getattr(model, "name_or_path", "") or "")
        to_dict = getattr(getattr(model, "config", None), "to_dict", None)
        adapter = resolve_adapter(config.adapter, name, to_dict() if callable(to_dict) else None)
    spec = config.generation_spec(adapter)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    if hasattr(model, "eval"):
        model.eval()
    t0 = time.perf_counter()
    preds = generate_predictions(
        model if config.backend == "hf" else (config.model or model),
        processor,
        records,
        spec,
        base_dir=base_dir,
        out_path=out / "predictions.jsonl",
        progress=config.progress,
        meta=meta,
    )
    gen_s = time.perf_counter() - t0
    generation = {**spec.run_settings(), **generation_stats(preds)}
    run_meta = {
        **(meta or {}),
        "run_name": config.display_name(),
        "n_records": len(records),
        "thinking": config.thinking,
        "batch_size": config.batch_size,
        "generate_seconds": round(gen_s, 3),
        "generation": generation,
    }
    return evaluate_predictions(preds, records, config, base_dir=base_dir, meta=run_meta)


def evaluate_predictions(
    predictions: Sequence[Prediction],
    records: Sequence[Record],
    config: EvalConfig,
    *,
    base_dir: str | os.PathLike | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score given predictions and write ``scores.jsonl`` + ``results.json`` (and ``predictions.jsonl``) to
    ``config.out``.

    The second half of :func:`evaluate`, usable on its own for predictors that are not models (the baselines of
    :mod:`radgrpo.eval.baselines`) or for predictions made elsewhere. Of ``config`` it reads ``out``, ``metrics``,
    ``n_resamples``, ``seed``, ``run_name``, ``title``, ``notes``, ``html`` and the metrics' options; ``results.json``
    gets the protocol manifest (:func:`radgrpo.eval.manifest.protocol_manifest`: package versions, fingerprints of
    ``config.model`` (else ``meta["model"]``) and of the scoring models, settings, the hash of ``config.test_file``
    (else ``meta["test_file"]``), and ``meta["generation"]`` when present).

    Args:
        predictions: one :class:`Prediction` per scored record (ids must be among ``records``).
        records: the test records.
        config: the run's settings (:class:`EvalConfig`).
        base_dir: folder of the records' images (for the report's pictures).
        meta: extra run information stored in ``results.json`` (``detail.meta``).
    Returns:
        the flat results dict written to ``results.json``.

    Example:
        >>> import tempfile
        >>> rec = Record("r1", "x.png", "report_generation", "Write the report.", "No pleural effusion.",
        ...              reference_report="No pleural effusion.")
        >>> cfg = EvalConfig(out=tempfile.mkdtemp(), metrics=["rougeL"], n_resamples=10, html=False)
        >>> pred = Prediction("r1", "report_generation", rec.question, rec.answer, rec.answer, 5, True)
        >>> evaluate_predictions([pred], [rec], cfg)["rougeL"]
        1.0
    """
    names = check_metrics(config.metrics)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out)  # config.yaml: what `radgrpo report` and `compare` read back (test_file, model)
    preds = list(predictions)
    pred_path = out / "predictions.jsonl"
    if not pred_path.exists():
        write_predictions(preds, pred_path)
    run_name = config.display_name()
    t1 = time.perf_counter()
    rows = score_predictions(preds, records, names, metric_options=config.metric_options())
    write_scores(rows, out / "scores.jsonl")
    score_s = time.perf_counter() - t1
    run_meta = {
        "run_name": run_name,
        "n_records": len(records),
        **(meta or {}),
        "metrics": names,
        "n_resamples": config.n_resamples,
        "seed": config.seed,
        "score_seconds": round(score_s, 3),
    }
    run = summarize(rows, n_resamples=config.n_resamples, seed=config.seed, meta=run_meta)
    manifest = protocol_manifest(
        config,
        config.test_file or run_meta.get("test_file"),
        config.model or run_meta.get("model"),
        names,
        generation=run_meta.get("generation"),
        n_records=len(records),
    )
    data = write_results(run, out / "results.json", manifest=manifest)
    if config.html:
        write_report(
            out / "report.html",
            {run_name: run},
            predictions={run_name: preds},
            records=records,
            base_dir=base_dir,
            scores={run_name: rows},
            title=config.title or f"radgrpo eval: {run_name}",
            notes=config.notes or None,
        )
    return data


__all__ = ["EvalConfig", "evaluate", "evaluate_predictions", "flatten_results", "select_records"]
