"""Per-sample scores of predictions against their test records: ``Prediction`` + ``Record`` -> ``scores.jsonl``.

One row per prediction holds every per-sample metric that applies to its task; corpus aggregation and bootstrap
confidence intervals happen later in ``radgrpo.eval.summarize`` (lm-evaluation-harness: per-sample metric first,
aggregation at the end). Which metrics exist, their functions (references first), kinds, aggregations and models
come from the one metric table, ``radgrpo.metrics.registry`` (:func:`available_metrics`, :func:`check_metrics`);
this module only routes rows to them and never imports rewards or train, so an evaluation metric and the reward of
the same name share code only through ``metrics``. Definitions: docs/metrics.md and docs/evaluation.md.

Grounding rows (boxes normalised [0,1] xyxy) get the table's ``grounding`` metrics (``soft_f1``, ``soft_f1_dice``,
``ap_50``, ``matched_iou``, each with its own box parser) plus ``parseable`` (>= 1 box parsed by the reward parser),
``n_pred_boxes`` and ``n_ref_boxes``. Report rows get the requested ``report`` metrics (``bleu4`` and ``rougeL`` by
default; the model-backed ones fail with an error naming what to download, never a substitute) and, for the
``label`` metrics (``chexbert``, ``rule_finding_f1``, ``clinical_utility``), the per-report label fields that
``radgrpo.eval.summarize`` turns into corpus F1s and means. Other tasks (classification, conversation) get only the
bookkeeping fields for now. Every row carries ``source`` (the record's dataset) and ``answer_chars`` (characters of
the scored answer).

Truth metrics (the table's entries with ``truth_of``, :func:`radgrpo.metrics.registry.with_truth`) come with their
metric: on records whose ``meta["truth"]`` holds the drawn findings (the synthetic readers world), report rows are
also scored against that truth (``rule_finding_f1_truth``, ``recall_truth``, ``clinical_utility_truth``) and
grounding rows against the drawn boxes of their target's truth entry (``soft_f1_truth``, ``ap_50_truth`` ...).
Records without a truth get none of these keys.

Example:
    >>> from radgrpo.records import Record
    >>> from radgrpo.records import Prediction
    >>> rec = Record(id="g", image="g.png", task="abnormality_grounding", question="Where is the nodule?",
    ...              answer="[0.1, 0.1, 0.5, 0.5]", reference_boxes=[(0.1, 0.1, 0.5, 0.5)], target="nodule")
    >>> pred = Prediction("g", "abnormality_grounding", "q", "[0.1, 0.1, 0.5, 0.5]", "[0.1, 0.1, 0.5, 0.5]", 9, True)
    >>> row = score_predictions([pred], [rec])[0]
    >>> row["soft_f1"] > 0.99, row["ap_50"], row["parseable"]
    (True, 1.0, True)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from radgrpo.boxes import parse_boxes
from radgrpo.metrics.registry import DEFAULT_METRICS, check_metrics, get_metric, list_metrics, with_truth
from radgrpo.metrics.report_labels import RULE_FINDING_KEYS
from radgrpo.metrics.truth import target_truth_boxes
from radgrpo.records import Record, Task

__all__ = [
    "DEFAULT_METRICS",
    "RULE_FINDING_KEYS",
    "ScoreRow",
    "available_metrics",
    "check_metrics",
    "load_metric_functions",
    "read_scores",
    "score_grounding",
    "score_predictions",
    "write_scores",
]


class ScoreRow(dict[str, Any]):
    """One line of ``scores.jsonl``: one prediction's bookkeeping fields and its per-sample metric values.

    Every row has :attr:`FIELDS` (``id``, ``task``, ``source`` (the record's dataset), ``target``, ``n_tokens``,
    ``finished``, ``think_closed``, ``answer_chars`` (characters of the scored answer)); a thinking output's row adds
    :attr:`THINKING_FIELDS` (``thinking``, ``thought_words``, ``thought_tokens``); then one value per requested metric
    that applies to the task (``soft_f1``, ``bleu4`` ...; label metrics write their per-report fields). It is a dict,
    so the summary, the report and ``compare`` read ``row[name]`` and JSON writes it as it is; the fixed fields
    also read as typed attributes.

    Example:
        >>> row = ScoreRow(id="g", task="abnormality_grounding", source="ms_cxr", target="nodule", n_tokens=9,
        ...                finished=True, think_closed=True, answer_chars=20, soft_f1=0.5)
        >>> row.id, row.task, row.metric_values(), row["soft_f1"]
        ('g', 'abnormality_grounding', {'soft_f1': 0.5}, 0.5)
    """

    #: The keys every row has, in the order they are written.
    FIELDS: tuple[str, ...] = (
        "id",
        "task",
        "source",
        "target",
        "n_tokens",
        "finished",
        "think_closed",
        "answer_chars",
    )
    #: The keys a thinking output's row adds (the thought is measured, never scored).
    THINKING_FIELDS: tuple[str, ...] = ("thinking", "thought_words", "thought_tokens")

    @property
    def id(self) -> str:
        """The record id."""
        return str(self["id"])

    @property
    def task(self) -> str:
        """The record's task value."""
        return str(self["task"])

    @property
    def source(self) -> str | None:
        """The record's dataset (``"ms_cxr"`` ...)."""
        return self.get("source")

    @property
    def target(self) -> str | None:
        """The grounded finding, region or phrase (None for other tasks)."""
        return self.get("target")

    def metric_values(self) -> dict[str, Any]:
        """The row without its bookkeeping fields: metric name (or label field) -> value."""
        skip = set(self.FIELDS) | set(self.THINKING_FIELDS)
        return {k: v for k, v in self.items() if k not in skip}


def available_metrics() -> list[str]:
    """Every metric name accepted by :func:`score_predictions` (``metrics=``): the metric table's names.

    Example:
        >>> available_metrics()[:4], "bleu4" in available_metrics()
        (['soft_f1', 'soft_f1_dice', 'ap_50', 'matched_iou'], True)
    """
    return list_metrics()


def load_metric_functions(metrics: Iterable[str] | None, kinds: Sequence[str] = ("report",)) -> None:
    """Import the functions of the named metrics of ``kinds``, so that a missing implementation stops a run early.

    Raises:
        ValueError: an unknown name, or a metric whose implementation cannot be imported (the message says which).

    Example:
        >>> load_metric_functions(["bleu4", "soft_f1"])
    """
    for name in check_metrics(metrics):
        spec = get_metric(name)
        if spec.kind in kinds:
            spec.load()


def score_grounding(
    answer: str,
    reference_boxes: Sequence[Sequence[float]],
    metrics: Iterable[str] | None = None,
    truth_boxes: Sequence[Sequence[float]] | None = None,
) -> dict[str, Any]:
    """Per-sample grounding scores of one answer text.

    Args:
        answer: the model's answer (thinking already removed).
        reference_boxes: ground-truth boxes, normalised [0,1] xyxy (the reference's: a reader's in the synthetic
            readers world).
        metrics: which of the table's grounding metrics to compute (None: all of them).
        truth_boxes: the drawn boxes of the target (normalised [0,1] xyxy), for the truth metrics
            (``soft_f1_truth`` ...); None: no truth, no truth metric.
    Returns:
        ``{"soft_f1", "soft_f1_dice", "ap_50", "matched_iou"`` (those requested, in table order; their ``_truth``
        versions when ``truth_boxes`` is given), ``"parseable", "n_pred_boxes", "n_ref_boxes"}``; values in [0, 1]
        except the counts. No parsed box or no reference box gives 0.0 (no credit for an empty side).

    Example:
        >>> s = score_grounding("at [0.35, 0.51, 0.75, 0.64]", [(0.38, 0.47, 0.76, 0.62)])
        >>> round(s["soft_f1"], 3), round(s["soft_f1_dice"], 3), s["ap_50"], s["n_pred_boxes"]
        (0.747, 0.596, 1.0, 1)
        >>> s = score_grounding("at [0.35, 0.51, 0.75, 0.64]", [(0.38, 0.47, 0.76, 0.62)], ["ap_50", "ap_50_truth"],
        ...                     truth_boxes=[(0.35, 0.51, 0.75, 0.64)])
        >>> s["ap_50"], s["ap_50_truth"], "soft_f1" in s
        (1.0, 1.0, False)
    """
    wanted = None if metrics is None else set(metrics)
    gt = [tuple(float(v) for v in b) for b in reference_boxes]
    truth = None if truth_boxes is None else [tuple(float(v) for v in b) for b in truth_boxes]
    row: dict[str, Any] = {}
    for name in list_metrics("grounding"):
        if wanted is None or name in wanted:
            spec = get_metric(name)
            if not spec.truth_of:
                row[name] = spec.score([gt], [answer])[0]
            elif truth is not None:
                row[name] = spec.score([truth], [answer])[0]
    pred = parse_boxes(answer)
    row["parseable"] = len(pred) > 0
    row["n_pred_boxes"] = len(pred)
    row["n_ref_boxes"] = len(gt)
    return row


def score_predictions(
    predictions: Sequence[Any],
    records: Sequence[Record],
    metrics: Iterable[str] | None = None,
    metric_options: dict[str, dict[str, Any]] | None = None,
) -> list[ScoreRow]:
    """Score every prediction against its record; returns one ``scores.jsonl`` row (:class:`ScoreRow`) per prediction.

    Args:
        predictions: :class:`radgrpo.eval.generate.Prediction` objects (or dicts with ``id`` and ``answer``).
        records: the test records; each prediction's id must be among them.
        metrics: metric names (:func:`available_metrics`), or None for :data:`DEFAULT_METRICS`. Grounding names
            apply to grounding tasks, report and label names to ``report_generation``; each brings its truth
            metrics (:func:`radgrpo.metrics.registry.with_truth`), scored on the records with ``meta["truth"]``.
        metric_options: metric name -> extra keyword arguments of its scoring function (e.g.
            ``{"green": {"backend": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "green"}}``); a
            truth metric without an entry of its own takes its metric's (``clinical_utility``'s ``side`` and
            ``costs`` apply to ``clinical_utility_truth``).
    Returns:
        rows ``{"id", "task", "source", "target", "n_tokens", "finished", "think_closed", "answer_chars",
        <metric>: value, ...}`` in the order of ``predictions``: ``source`` is ``record.source`` (the dataset, e.g.
        ``"ms_cxr"``, so results split per dataset), ``answer_chars`` the length in characters of the scored answer
        (thinking removed; its mean over report rows is the paper's ANC). The report reference is
        ``record.reference_report`` (else ``record.answer``).

    Raises:
        ValueError: unknown metric names, a prediction whose id has no record, or duplicate prediction ids.

    Example:
        >>> from radgrpo.records import Prediction
        >>> rec = Record(id="r", image="r.png", task="report_generation", question="Write a report.",
        ...              answer="No acute findings.", reference_report="No acute findings.")
        >>> row = score_predictions([Prediction("r", "report_generation", "q", "x", "No acute findings.", 5, True)],
        ...                         [rec], metrics=["rougeL"])[0]
        >>> row["rougeL"], "bleu4" in row
        (1.0, False)
    """
    names = with_truth(check_metrics(metrics))
    by_id = {r.id: r for r in records}
    preds = [p if isinstance(p, dict) else p.to_dict() for p in predictions]
    ids = [p["id"] for p in preds]
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} prediction(s) have no test record, e.g. {missing[:5]}")
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate prediction ids: " + str(sorted({i for i in ids if ids.count(i) > 1})[:10]))

    rows: list[ScoreRow] = []
    report_idx: list[int] = []
    grounding_names = [m for m in names if get_metric(m).kind == "grounding"]
    for p in preds:
        rec = by_id[p["id"]]
        answer = p.get("answer") or ""
        row = ScoreRow(
            id=rec.id,
            task=rec.task.value,
            source=rec.source,
            target=rec.target,
            n_tokens=p.get("n_tokens"),
            finished=p.get("finished"),
            think_closed=p.get("think_closed", True),
            answer_chars=len(answer),
        )
        if p.get("thinking"):  # the thought is kept for reading (never scored): its length
            row.update(
                thinking=True,
                thought_words=len((p.get("thought") or "").split()),
                thought_tokens=int(p.get("thought_tokens") or 0),
            )
        if rec.task.is_grounding:
            truth_boxes = target_truth_boxes(_truth(rec), rec.target)
            row.update(score_grounding(answer, rec.reference_boxes, grounding_names, truth_boxes))
        elif rec.task is Task.REPORT_GENERATION:
            report_idx.append(len(rows))
        rows.append(row)
    if not report_idx:
        return rows

    refs, hyps = [], []
    for i in report_idx:
        rec = by_id[rows[i]["id"]]
        refs.append(rec.reference_report if rec.reference_report is not None else rec.answer)
        hyps.append(preds[i].get("answer") or "")
    # per-pair report scores in the requested order, then the label fields in table order
    report_names = [m for m in names if get_metric(m).kind == "report"]
    label_names = [m for m in list_metrics("label") if m in names]
    options = metric_options or {}
    for name in report_names:
        for i, v in zip(report_idx, get_metric(name).score(refs, hyps, **options.get(name, {}))):
            rows[i][name] = v
    truths = [_truth(by_id[rows[i]["id"]]) for i in report_idx]
    with_truth_idx = [j for j, t in enumerate(truths) if t is not None]
    for name in label_names:
        spec = get_metric(name)
        if not spec.truth_of:
            for i, fields in zip(report_idx, spec.score(refs, hyps, **options.get(name, {}))):
                rows[i].update(fields)
        elif with_truth_idx:  # against the drawn truth, on the records that have one
            opts = options.get(name, options.get(spec.truth_of, {}))
            got = spec.score([truths[j] for j in with_truth_idx], [hyps[j] for j in with_truth_idx], **opts)
            for j, fields in zip(with_truth_idx, got):
                rows[report_idx[j]].update(fields)
    return rows


def _truth(rec: Record) -> list[dict[str, Any]] | None:
    """The drawn findings of a synthetic readers-world record (``meta["truth"]``), else None."""
    truth = (rec.meta or {}).get("truth")
    return list(truth) if isinstance(truth, list) else None


def write_scores(rows: Iterable[dict[str, Any]], path: str | os.PathLike) -> int:
    """Write score rows as JSONL (atomically); returns the number of rows.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> write_scores([{"id": "a", "task": "report_generation", "bleu4": 0.5}], Path(tempfile.mkdtemp(), "s.jsonl"))
        1
    """
    from radgrpo.records import write_json_lines

    return write_json_lines(rows, path)


def read_scores(path: str | os.PathLike) -> list[ScoreRow]:
    """Read ``scores.jsonl`` written by :func:`write_scores`, one :class:`ScoreRow` per line.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> p = Path(tempfile.mkdtemp(), "s.jsonl")
        >>> _ = write_scores([{"id": "a", "bleu4": 0.5}], p)
        >>> read_scores(p)
        [{'id': 'a', 'bleu4': 0.5}]
    """
    with open(path, encoding="utf-8") as f:
        return [ScoreRow(json.loads(line)) for line in f if line.strip()]
