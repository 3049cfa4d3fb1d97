"""Per-report label fields of the corpus report metrics (``chexbert``, ``rule_finding_f1`` in the metric table).

These metrics are corpus statistics (micro/macro F1 over all reports), not means of per-pair scores, so their
per-pair step writes the labels each report carries into its ``scores.jsonl`` row and ``radgrpo.eval.summarize``
computes the corpus F1s from them with a bootstrap over reports. Both functions take ``(references, predictions)``
(references first, the metric table's convention) and return one dict of row fields per pair:

- :func:`rule_finding_rows`: the positive findings the ``rule_chexpert`` labeller reads in reference and prediction
  (label names among ``FINDING_LABELS``; side-aware ones as ``"Label|side"``, side ``right``, ``left`` or ``none``)
  and their (tp, fp, fn) counts, keys :data:`RULE_FINDING_KEYS`;
- :func:`chexbert_rows`: the 14 CheXbert values (1/0/-1/-2 in ``CHEXPERT_LABELS`` order) of both reports, keys
  :data:`CHEXBERT_KEYS` (needs the CheXbert weights; a missing model raises ``ModelNotFoundError``).

Definitions: docs/metrics.md.

Example:
    >>> row = rule_finding_rows(["Mild cardiomegaly."], ["Mild cardiomegaly. Small left pleural effusion."])[0]
    >>> row["rule_finding_hyp"], (row["rule_finding_tp"], row["rule_finding_fp"], row["rule_finding_fn"])
    (['Cardiomegaly', 'Pleural Effusion'], (1, 1, 0))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Row keys ``rule_finding_f1`` writes: finding lists and their per-row counts.
RULE_FINDING_KEYS: tuple[str, ...] = (
    "rule_finding_ref",
    "rule_finding_hyp",
    "rule_finding_side_ref",
    "rule_finding_side_hyp",
    "rule_finding_tp",
    "rule_finding_fp",
    "rule_finding_fn",
    "rule_finding_side_tp",
    "rule_finding_side_fp",
    "rule_finding_side_fn",
)
#: Row keys ``chexbert`` writes: the reference's and the prediction's 14 CheXbert values.
CHEXBERT_KEYS: tuple[str, ...] = ("chexbert_ref_labels", "chexbert_hyp_labels")


def _check_pairs(refs: Sequence[str], hyps: Sequence[str]) -> None:
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references vs {len(hyps)} predictions")


def _finding_strings(findings: frozenset, side: bool) -> list[str]:
    from radgrpo.metrics.text.rule_labeler import FINDING_LABELS, SIDES

    if not side:
        return [lab for lab in FINDING_LABELS if lab in findings]
    order = {s: j for j, s in enumerate((*SIDES, None))}
    return [
        f"{lab}|{s or 'none'}" for lab, s in sorted(findings, key=lambda e: (FINDING_LABELS.index(e[0]), order[e[1]]))
    ]


def rule_finding_fields(reference: str, prediction: str) -> dict[str, Any]:
    """The ``rule_finding_f1`` fields of one report pair.

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


def rule_finding_rows(refs: Sequence[str], hyps: Sequence[str]) -> list[dict[str, Any]]:
    """:func:`rule_finding_fields` of every (reference, prediction) pair.

    Example:
        >>> rule_finding_rows(["No pneumothorax."], ["No pneumothorax."])[0]["rule_finding_fn"]
        0
    """
    _check_pairs(refs, hyps)
    return [rule_finding_fields(r, h) for r, h in zip(refs, hyps)]


def chexbert_rows(refs: Sequence[str], hyps: Sequence[str], **kwargs: Any) -> list[dict[str, Any]]:
    """CheXbert labels of aligned references and predictions as row fields (one batched labeller call).

    Args:
        refs: reference reports.
        hyps: generated reports, aligned with ``refs``.
        **kwargs: passed to ``radgrpo.metrics.text.chexbert_labeler.label_report_pairs`` (``model_dir``,
            ``bert_dir``, ``device``).
    Returns:
        ``{"chexbert_ref_labels": [14 ints], "chexbert_hyp_labels": [14 ints]}`` per pair.
    Raises:
        ModelNotFoundError: the CheXbert weights are missing (``radgrpo models download chexbert
            bert-base-uncased`` on a connected machine); never a substitute labeller.
    """
    from radgrpo.metrics.text.chexbert_labeler import label_report_pairs

    _check_pairs(refs, hyps)
    ref_labels, hyp_labels = label_report_pairs(list(refs), list(hyps), **kwargs)
    return [
        {CHEXBERT_KEYS[0]: [int(v) for v in a], CHEXBERT_KEYS[1]: [int(v) for v in b]}
        for a, b in zip(ref_labels, hyp_labels)
    ]
