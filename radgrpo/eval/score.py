"""Per-sample scores of predictions against their test records: ``Prediction`` + ``Record`` -> ``scores.jsonl``.

One row per prediction holds every per-sample metric that applies to its task; corpus aggregation and bootstrap
confidence intervals happen later in ``radgrpo.eval.summarize`` (lm-evaluation-harness: per-sample metric first,
aggregation at the end). All scoring goes through ``radgrpo.metrics``; this module never imports rewards or train,
so an evaluation metric and the reward of the same name share code only through ``metrics``.

Grounding rows (paper.md §5.3 and §7), boxes normalised [0,1] xyxy:

- ``soft_f1``: the released reward's IoU-weighted soft-F1 (``variant="paper_code"``), boxes parsed with the reward
  regex (``radgrpo.boxes.parse_boxes``);
- ``soft_f1_dice``: the Dice-like variant 2ΣIoU/(|P|+|G|) that matches the paper's Fig. 1;
- ``ap_50``: RadVLM's per-sample, output-order AP at IoU 0.5 with RadVLM's own evaluation parser
  (``parse_boxes_radvlm_eval``); their mean is the paper's mAP@0.5;
- ``matched_iou``: mean IoU of the Hungarian-matched pairs;
- ``parseable`` (≥ 1 box parsed) and ``n_pred_boxes``, ``n_ref_boxes``.

Report rows: ``bleu4`` (coco-caption BLEU-4) and ``rougeL`` (rouge-score ROUGE-L F, stemmed) by default; other
report metrics are opt-in by name (:data:`REPORT_METRICS`, :data:`LABEL_METRICS`), and a metric whose implementation
or model is missing fails with an error that says so, never a substitute. ``rule_finding_f1`` stores per row the
positive findings the ``rule_chexpert`` labeller reads in reference and prediction (plain and side-aware) and their
(tp, fp, fn); ``radgrpo.eval.summarize`` turns them into corpus micro-F1s. Other tasks (classification,
conversation) get only the bookkeeping fields for now.

Example:
    >>> from radgrpo.records import Record
    >>> from radgrpo.eval.generate import Prediction
    >>> rec = Record(id="g", image="g.png", task="abnormality_grounding", question="Where is the nodule?",
    ...              answer="[0.1, 0.1, 0.5, 0.5]", reference_boxes=[(0.1, 0.1, 0.5, 0.5)], target="nodule")
    >>> pred = Prediction("g", "abnormality_grounding", "q", "[0.1, 0.1, 0.5, 0.5]", "[0.1, 0.1, 0.5, 0.5]", 9, True)
    >>> row = score_predictions([pred], [rec])[0]
    >>> row["soft_f1"] > 0.99, row["ap_50"], row["parseable"]
    (True, 1.0, True)
"""

from __future__ import annotations

import importlib
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radgrpo.boxes import parse_boxes, parse_boxes_radvlm_eval
from radgrpo.records import Record, Task

#: Per-sample grounding metrics (always computed for grounding rows unless excluded from ``metrics``).
GROUNDING_METRICS: tuple[str, ...] = ("soft_f1", "soft_f1_dice", "ap_50", "matched_iou")


@dataclass(frozen=True)
class ReportMetric:
    """A per-sample report metric known to evaluation.

    Args:
        name: the score key in ``scores.jsonl`` and ``results.json``.
        module: the ``radgrpo.metrics`` module that implements it.
        function: the name of a function ``fn(refs, hyps, **kwargs) -> sequence of floats`` (one per pair).
        kwargs: fixed keyword arguments (e.g. ``n=4`` for BLEU-4).
        higher_is_better: direction of the metric.
        note: what the metric is, shown in errors and the report.
    """

    name: str
    module: str
    function: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    higher_is_better: bool = True
    note: str = ""

    def load(self) -> Callable[..., Sequence[float]]:
        """Import the scoring function; a missing implementation raises ``ValueError`` naming the module.

        Example:
            >>> ReportMetric("x", "radgrpo.metrics.text.nope", "score_x").load()
            Traceback (most recent call last):
            ...
            ValueError: report metric 'x' () is not available in this radgrpo: radgrpo.metrics.text.nope.score_x could not be imported (No module named 'radgrpo.metrics.text.nope'). Remove it from --metrics or install/implement it.
        """
        try:
            mod = importlib.import_module(self.module)
            return getattr(mod, self.function)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"report metric {self.name!r} ({self.note}) is not available in this radgrpo: "
                             f"{self.module}.{self.function} could not be imported ({e}). Remove it from "
                             f"--metrics or install/implement it.") from e

    def score(self, refs: Sequence[str], hyps: Sequence[str], **options: Any) -> list[float | None]:
        """Score aligned reference/hypothesis lists.

        Args:
            refs: reference reports.
            hyps: generated reports, aligned with ``refs``.
            **options: extra keyword arguments for the scoring function (e.g. GREEN's ``backend``, ``base_url``).
        Returns:
            one float per pair; ``None`` where the metric could not score the pair (NaN from the function, e.g. an
            unparseable GREEN judgement): such pairs are left out of the mean and counted, never scored 0.

        Example:
            >>> REPORT_METRICS["rougeL"].score(["no effusion"], ["no effusion"])
            [1.0]
        """
        fn = self.load()
        raw = [float(v) for v in fn(list(refs), list(hyps), **{**dict(self.kwargs), **options})]
        out: list[float | None] = [None if math.isnan(v) else v for v in raw]
        if len(out) != len(refs):
            raise RuntimeError(f"{self.name}: {self.module}.{self.function} returned {len(out)} scores "
                               f"for {len(refs)} pairs")
        return out


#: Report metrics selectable by name. Model-backed ones load their weights through ``radgrpo.metrics.loaders``
#: and fail with its ``ModelNotFoundError`` (naming what to download) when the weights are absent.
REPORT_METRICS: dict[str, ReportMetric] = {
    m.name: m for m in (
        ReportMetric("bleu4", "radgrpo.metrics.text", "score_bleu", (("n", 4),), True,
                     "coco-caption BLEU-4 per pair"),
        ReportMetric("rougeL", "radgrpo.metrics.text", "score_rouge_l", (), True,
                     "rouge-score ROUGE-L F1 with stemming"),
        ReportMetric("gleu", "radgrpo.metrics.text", "score_gleu", (), True,
                     "Google-BLEU (the paper's GLEU ablation reward)"),
        ReportMetric("bertscore", "radgrpo.metrics.text.bertscore", "score_bertscore_named",
                     (("name", "bertscore"),), True,
                     "BERTScore F1, distilbert-base-uncased layer 5, baseline-rescaled (paper.md §7)"),
        ReportMetric("radgraph", "radgrpo.metrics.text.radgraph", "score_radgraph", (), True,
                     "RadGraph-F1 (radgraph-xl, complete level; paper.md §7)"),
        ReportMetric("radcliq", "radgrpo.metrics.text.radcliq", "score_radcliq", (), False,
                     "RadCliQ-v1 (lower is better; paper.md §5.1)"),
        ReportMetric("green", "radgrpo.metrics.text.green", "score_green", (), True,
                     "GREEN (LLM judge, StanfordAIMI/GREEN-radllama2-7b or an OpenAI-compatible endpoint; "
                     "unparseable judge outputs are None, counted in diagnostics, never scored)"),
    )
}

DEFAULT_METRICS: tuple[str, ...] = GROUNDING_METRICS + ("bleu4", "rougeL")

#: Report metrics that are corpus statistics of per-report labels, not means of per-pair scores: each report row
#: gets its label vectors (``chexbert_ref_labels``, ``chexbert_hyp_labels``: 14 CheXbert values 1/0/-1/-2 in
#: ``CHEXPERT_LABELS`` order) and ``radgrpo.eval.summarize`` computes the corpus F1s with a bootstrap over reports.
LABEL_METRICS: dict[str, str] = {
    "chexbert": "CheXbert F1 micro/macro over 14 and 5 labels (f1chexbert; uncertain=positive, and "
                "uncertain=negative as chexbert_uneg_*); needs chexbert.pth + bert-base-uncased",
    "rule_finding_f1": "positive-finding micro-F1 over FINDING_LABELS read by the rule_chexpert labeller "
                       "(synthetic reports; not CheXbert); also side-aware as rule_finding_f1_side and per finding "
                       "as rule_finding_f1/<Label>",
}
#: Row keys ``rule_finding_f1`` writes: finding lists (label names; side-aware ones as ``"Label|side"``, side
#: ``right``, ``left`` or ``none``) and their per-row counts.
RULE_FINDING_KEYS: tuple[str, ...] = (
    "rule_finding_ref", "rule_finding_hyp", "rule_finding_side_ref", "rule_finding_side_hyp",
    "rule_finding_tp", "rule_finding_fp", "rule_finding_fn",
    "rule_finding_side_tp", "rule_finding_side_fp", "rule_finding_side_fn")


def available_metrics() -> list[str]:
    """Every metric name accepted by :func:`score_predictions` (``metrics=``).

    Example:
        >>> "ap_50" in available_metrics() and "bleu4" in available_metrics()
        True
    """
    return list(GROUNDING_METRICS) + list(REPORT_METRICS) + list(LABEL_METRICS)


def check_metrics(metrics: Iterable[str] | None) -> list[str]:
    """Validate metric names; unknown names raise ``ValueError`` listing the valid ones.

    Args:
        metrics: names, or None for :data:`DEFAULT_METRICS`.
    Returns:
        the list of names, in the given order without duplicates.

    Example:
        >>> check_metrics(["bleu4", "map"])
        Traceback (most recent call last):
        ...
        ValueError: unknown metric(s) ['map']; valid: ['soft_f1', 'soft_f1_dice', 'ap_50', 'matched_iou', \
'bleu4', 'rougeL', 'gleu', 'bertscore', 'radgraph', 'radcliq', 'green', 'chexbert', 'rule_finding_f1']
    """
    names = list(DEFAULT_METRICS if metrics is None else dict.fromkeys(metrics))
    unknown = [m for m in names if m not in available_metrics()]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; valid: {available_metrics()}")
    return names


def score_grounding(answer: str, reference_boxes: Sequence[Sequence[float]],
                    metrics: Iterable[str] = GROUNDING_METRICS) -> dict[str, Any]:
    """Per-sample grounding scores of one answer text.

    Args:
        answer: the model's answer (thinking already removed).
        reference_boxes: ground-truth boxes, normalised [0,1] xyxy.
        metrics: which of :data:`GROUNDING_METRICS` to compute.
    Returns:
        ``{"soft_f1", "soft_f1_dice", "ap_50", "matched_iou"`` (those requested), ``"parseable", "n_pred_boxes",
        "n_ref_boxes"}``; values in [0, 1] except the counts. No parsed box or no reference box gives 0.0
        (paper.md §5.3 / §7: no credit for an empty side).

    Example:
        >>> s = score_grounding("at [0.35, 0.51, 0.75, 0.64]", [(0.38, 0.47, 0.76, 0.62)])
        >>> round(s["soft_f1"], 3), round(s["soft_f1_dice"], 3), s["ap_50"], s["n_pred_boxes"]
        (0.747, 0.596, 1.0, 1)
    """
    from radgrpo.metrics.grounding import matched_mean_iou, radvlm_ap, soft_f1

    wanted = set(metrics)
    gt = [tuple(float(v) for v in b) for b in reference_boxes]
    pred = parse_boxes(answer)
    row: dict[str, Any] = {}
    if "soft_f1" in wanted:
        row["soft_f1"] = float(soft_f1(pred, gt, variant="paper_code"))
    if "soft_f1_dice" in wanted:
        row["soft_f1_dice"] = float(soft_f1(pred, gt, variant="dice"))
    if "ap_50" in wanted:
        row["ap_50"] = float(radvlm_ap(parse_boxes_radvlm_eval(answer), gt, iou_threshold=0.5))
    if "matched_iou" in wanted:
        row["matched_iou"] = float(matched_mean_iou(pred, gt))
    row["parseable"] = len(pred) > 0
    row["n_pred_boxes"] = len(pred)
    row["n_ref_boxes"] = len(gt)
    return row


def score_predictions(predictions: Sequence[Any], records: Sequence[Record],
                      metrics: Iterable[str] | None = None,
                      metric_options: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Score every prediction against its record; returns one ``scores.jsonl`` row per prediction.

    Args:
        predictions: :class:`radgrpo.eval.generate.Prediction` objects (or dicts with ``id`` and ``answer``).
        records: the test records; each prediction's id must be among them.
        metrics: metric names (:func:`available_metrics`), or None for :data:`DEFAULT_METRICS`. Grounding names
            apply to grounding tasks, report names to ``report_generation``.
        metric_options: metric name -> extra keyword arguments of its scoring function (e.g.
            ``{"green": {"backend": "openai", "base_url": "http://127.0.0.1:8000/v1", "model": "green"}}``).
    Returns:
        rows ``{"id", "task", "target", "n_tokens", "finished", "think_closed", <metric>: value, ...}`` in the order
        of ``predictions``. The report reference is ``record.reference_report`` (else ``record.answer``).

    Raises:
        ValueError: unknown metric names, a prediction whose id has no record, or duplicate prediction ids.

    Example:
        >>> from radgrpo.eval.generate import Prediction
        >>> rec = Record(id="r", image="r.png", task="report_generation", question="Write a report.",
        ...              answer="No acute findings.", reference_report="No acute findings.")
        >>> row = score_predictions([Prediction("r", "report_generation", "q", "x", "No acute findings.", 5, True)],
        ...                         [rec], metrics=["rougeL"])[0]
        >>> row["rougeL"], "bleu4" in row
        (1.0, False)
    """
    names = check_metrics(metrics)
    by_id = {r.id: r for r in records}
    preds = [p if isinstance(p, dict) else p.to_dict() for p in predictions]
    ids = [p["id"] for p in preds]
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"{len(missing)} prediction(s) have no test record, e.g. {missing[:5]}")
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate prediction ids: " + str(sorted({i for i in ids if ids.count(i) > 1})[:10]))

    rows: list[dict[str, Any]] = []
    report_idx: list[int] = []
    grounding_names = [m for m in names if m in GROUNDING_METRICS]
    for p in preds:
        rec = by_id[p["id"]]
        row: dict[str, Any] = {"id": rec.id, "task": rec.task.value, "target": rec.target,
                               "n_tokens": p.get("n_tokens"), "finished": p.get("finished"),
                               "think_closed": p.get("think_closed", True)}
        answer = p.get("answer") or ""
        if rec.task.is_grounding:
            row.update(score_grounding(answer, rec.reference_boxes, grounding_names))
        elif rec.task is Task.REPORT_GENERATION:
            report_idx.append(len(rows))
        rows.append(row)

    report_names = [m for m in names if m in REPORT_METRICS]
    refs, hyps = [], []
    for i in report_idx:
        rec = by_id[rows[i]["id"]]
        refs.append(rec.reference_report if rec.reference_report is not None else rec.answer)
        hyps.append(preds[i].get("answer") or "")
    if report_idx and report_names:
        for name in report_names:
            opts = (metric_options or {}).get(name, {})
            for i, v in zip(report_idx, REPORT_METRICS[name].score(refs, hyps, **opts)):
                rows[i][name] = v
    if report_idx and "chexbert" in names:
        ref_labels, hyp_labels = label_chexbert(refs, hyps)
        for i, a, b in zip(report_idx, ref_labels, hyp_labels):
            rows[i]["chexbert_ref_labels"] = [int(v) for v in a]
            rows[i]["chexbert_hyp_labels"] = [int(v) for v in b]
    if report_idx and "rule_finding_f1" in names:
        for i, ref, hyp in zip(report_idx, refs, hyps):
            rows[i].update(rule_finding_fields(ref, hyp))
    return rows


def _finding_strings(findings: frozenset, side: bool) -> list[str]:
    from radgrpo.metrics.text.rule_labeler import FINDING_LABELS, SIDES

    if not side:
        return [lab for lab in FINDING_LABELS if lab in findings]
    order = {s: j for j, s in enumerate((*SIDES, None))}
    return [f"{lab}|{s or 'none'}" for lab, s in sorted(findings, key=lambda e: (FINDING_LABELS.index(e[0]),
                                                                                 order[e[1]]))]


def rule_finding_fields(reference: str, prediction: str) -> dict[str, Any]:
    """The ``rule_finding_f1`` fields of one report row (the metric's scoring step).

    Args:
        reference: the reference report.
        prediction: the generated report.
    Returns:
        ``rule_finding_ref`` / ``rule_finding_hyp`` (positive labels among ``FINDING_LABELS``, in that order),
        ``rule_finding_side_ref`` / ``rule_finding_side_hyp`` (``"Label|right"``, ``"Label|left"``,
        ``"Label|none"``) and the ints ``rule_finding_tp/fp/fn``, ``rule_finding_side_tp/fp/fn`` of those sets.

    Example:
        >>> f = rule_finding_fields("Mild cardiomegaly. Small left pleural effusion.",
        ...                         "Mild cardiomegaly. Small bilateral pleural effusions.")
        >>> f["rule_finding_side_hyp"], (f["rule_finding_tp"], f["rule_finding_fp"], f["rule_finding_fn"])
        (['Cardiomegaly|none', 'Pleural Effusion|right', 'Pleural Effusion|left'], (2, 0, 0))
        >>> f["rule_finding_side_tp"], f["rule_finding_side_fp"], f["rule_finding_side_fn"]
        (2, 1, 0)
    """
    from radgrpo.metrics.text.rule_labeler import finding_set, set_counts

    row: dict[str, Any] = {}
    for side, tag in ((False, ""), (True, "side_")):
        ref_set, hyp_set = finding_set(reference, side), finding_set(prediction, side)
        row[f"rule_finding_{tag}ref"] = _finding_strings(ref_set, side)
        row[f"rule_finding_{tag}hyp"] = _finding_strings(hyp_set, side)
        tp, fp, fn = set_counts(hyp_set, ref_set)
        row.update({f"rule_finding_{tag}tp": tp, f"rule_finding_{tag}fp": fp, f"rule_finding_{tag}fn": fn})
    return {k: row[k] for k in RULE_FINDING_KEYS}


def label_chexbert(refs: Sequence[str], hyps: Sequence[str]) -> tuple[Any, Any]:
    """CheXbert labels of aligned references and predictions (the ``chexbert`` metric's scoring step).

    Loads CheXbert from radgrpo's model folder (``radgrpo models download chexbert bert-base-uncased`` on a connected
    machine); a missing model raises ``ModelNotFoundError`` naming the files, never a substitute labeller.
    """
    from radgrpo.metrics.text.chexbert_labeler import label_report_pairs

    return label_report_pairs(refs, hyps)


def write_scores(rows: Iterable[dict[str, Any]], path: str | os.PathLike) -> int:
    """Write score rows as JSONL (atomically); returns the number of rows.

    Example:
        >>> import tempfile
        >>> write_scores([{"id": "a", "task": "report_generation", "bleu4": 0.5}], Path(tempfile.mkdtemp(), "s.jsonl"))
        1
    """
    from radgrpo.records import write_json_lines

    return write_json_lines(rows, path)


def read_scores(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read ``scores.jsonl`` written by :func:`write_scores`.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp(), "s.jsonl")
        >>> _ = write_scores([{"id": "a", "bleu4": 0.5}], p)
        >>> read_scores(p)
        [{'id': 'a', 'bleu4': 0.5}]
    """
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
