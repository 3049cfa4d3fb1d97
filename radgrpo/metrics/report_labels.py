"""Per-report label fields of the label-based report metrics (``chexbert``, ``rule_finding_f1``, ``clinical_utility``
in the metric table).

The F1 metrics are corpus statistics (micro/macro F1 over all reports), not means of per-pair scores, so their
per-pair step writes the labels each report carries into its ``scores.jsonl`` row and ``radgrpo.eval.summarize``
computes the corpus F1s from them with a bootstrap over reports. Every function takes ``(references, predictions)``
(references first, the metric table's convention) and returns one dict of row fields per pair:

- :func:`rule_finding_rows`: the findings the ``rule_chexpert`` labeller reads as named in reference and prediction
  (hedged mentions count as named; label names among ``FINDING_LABELS``; side-aware ones as ``"Label|side"``, side
  ``right``, ``left`` or ``none``) and their (tp, fp, fn) counts, keys :data:`RULE_FINDING_KEYS`;
- :func:`clinical_utility_rows`: the per-report clinical utility (:mod:`radgrpo.metrics.text.utility`) and its
  per-label terms, keys ``clinical_utility`` and ``clinical_utility/<Label>`` (means, averaged like per-pair
  scores);
- :func:`chexbert_rows`: the 14 CheXbert values (1/0/-1/-2 in ``CHEXPERT_LABELS`` order) of both reports, keys
  :data:`CHEXBERT_KEYS` (needs the CheXbert weights; a missing model raises ``ModelNotFoundError``).

The same fields against the drawn truth of synthetic records: :mod:`radgrpo.metrics.truth`.

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


def finding_strings(findings: frozenset | set, side: bool) -> list[str]:
    """A finding set as row strings: labels in ``FINDING_LABELS`` order, side-aware ones as ``"Label|side"``
    (``right``, ``left``, ``none``).

    Example:
        >>> finding_strings({("Pleural Effusion", "left"), ("Cardiomegaly", None)}, side=True)
        ['Cardiomegaly|none', 'Pleural Effusion|left']
    """
    from radgrpo.metrics.text.rule_labeler import FINDING_LABELS, SIDES

    if not side:
        return [lab for lab in FINDING_LABELS if lab in findings]
    order = {s: j for j, s in enumerate((*SIDES, None))}
    return [
        f"{lab}|{s or 'none'}" for lab, s in sorted(findings, key=lambda e: (FINDING_LABELS.index(e[0]), order[e[1]]))
    ]


def finding_fields(
    prefix: str, ref_sets: tuple[frozenset, frozenset], hyp_sets: tuple[frozenset, frozenset]
) -> dict[str, Any]:
    """Row fields of reference and prediction finding sets: ``<prefix>_ref``, ``<prefix>_hyp``,
    ``<prefix>_side_ref``, ``<prefix>_side_hyp`` (:func:`finding_strings`) and ``<prefix>[_side]_tp/fp/fn``.

    Args:
        prefix: ``"rule_finding"`` (against the reference) or ``"rule_finding_truth"`` (against the truth).
        ref_sets: the reference's (plain, side-aware) sets.
        hyp_sets: the prediction's (plain, side-aware) sets.

    Example:
        >>> f = finding_fields("x", (frozenset({"Cardiomegaly"}), frozenset({("Cardiomegaly", None)})),
        ...                    (frozenset(), frozenset()))
        >>> f["x_ref"], f["x_side_ref"], f["x_fn"], f["x_side_tp"]
        (['Cardiomegaly'], ['Cardiomegaly|none'], 1, 0)
    """
    from radgrpo.metrics.text.rule_labeler import set_counts

    row: dict[str, Any] = {}
    for j, (side, tag) in enumerate(((False, ""), (True, "side_"))):
        ref_set, hyp_set = ref_sets[j], hyp_sets[j]
        row[f"{prefix}_{tag}ref"] = finding_strings(ref_set, side)
        row[f"{prefix}_{tag}hyp"] = finding_strings(hyp_set, side)
        tp, fp, fn = set_counts(hyp_set, ref_set)
        row.update({f"{prefix}_{tag}tp": tp, f"{prefix}_{tag}fp": fp, f"{prefix}_{tag}fn": fn})
    return {k: row[k] for k in finding_keys(prefix)}


def finding_keys(prefix: str) -> tuple[str, ...]:
    """The row keys :func:`finding_fields` writes for ``prefix``, in order.

    Example:
        >>> finding_keys("rule_finding") == RULE_FINDING_KEYS
        True
    """
    return (
        *(f"{prefix}_{k}" for k in ("ref", "hyp", "side_ref", "side_hyp")),
        *(f"{prefix}_{t}{c}" for t in ("", "side_") for c in ("tp", "fp", "fn")),
    )


def rule_finding_fields(reference: str, prediction: str, uncertain_positive: bool = True) -> dict[str, Any]:
    """The ``rule_finding_f1`` fields of one report pair.

    Args:
        reference: the reference report.
        prediction: the generated report.
        uncertain_positive: hedged mentions name their finding (default, CheXbert's "uncertain = positive").
    Returns:
        ``rule_finding_ref`` / ``rule_finding_hyp`` (named labels among ``FINDING_LABELS``, in that order),
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
    from radgrpo.metrics.text.rule_labeler import finding_set

    def sets(text: str) -> tuple[frozenset, frozenset]:
        return finding_set(text, False, uncertain_positive), finding_set(text, True, uncertain_positive)

    return finding_fields("rule_finding", sets(reference), sets(prediction))


def rule_finding_rows(
    refs: Sequence[str], hyps: Sequence[str], uncertain_positive: bool = True
) -> list[dict[str, Any]]:
    """:func:`rule_finding_fields` of every (reference, prediction) pair.

    Example:
        >>> rule_finding_rows(["No pneumothorax."], ["No pneumothorax."])[0]["rule_finding_fn"]
        0
        >>> rule_finding_rows(["Possible left pleural effusion."], ["No pleural effusion."])[0]["rule_finding_fn"]
        1
    """
    _check_pairs(refs, hyps)
    return [rule_finding_fields(r, h, uncertain_positive) for r, h in zip(refs, hyps)]


def utility_fields(name: str, per_label: dict[str, float]) -> dict[str, float]:
    """``{name: sum, name/<Label>: term, ...}`` of per-label utilities.

    Example:
        >>> utility_fields("u", {"Cardiomegaly": -1.5, "Pneumothorax": 0.0})
        {'u': -1.5, 'u/Cardiomegaly': -1.5, 'u/Pneumothorax': 0.0}
    """
    return {name: float(sum(per_label.values())), **{f"{name}/{k}": float(v) for k, v in per_label.items()}}


def clinical_utility_rows(
    refs: Sequence[str], hyps: Sequence[str], side: bool = True, costs: dict[str, Any] | None = None
) -> list[dict[str, float]]:
    """Per pair, the ``clinical_utility`` fields: the report's utility and its term per label of ``FINDING_LABELS``
    (every label on every row, so the per-label means add up to the overall mean).

    Args:
        refs: reference reports.
        hyps: generated reports.
        side: side-aware utility (default).
        costs: overrides of the declared costs (:func:`radgrpo.metrics.text.utility.check_costs`).

    Example:
        >>> row = clinical_utility_rows(["Small left apical pneumothorax."], ["Mild cardiomegaly."])[0]
        >>> row["clinical_utility"], row["clinical_utility/Pneumothorax"], row["clinical_utility/Cardiomegaly"]
        (-4.0, -3.0, -1.0)
    """
    from radgrpo.metrics.text.utility import check_costs, report_label_utilities

    _check_pairs(refs, hyps)
    table = check_costs(costs)
    return [
        utility_fields("clinical_utility", report_label_utilities(r, h, side=side, costs=table))
        for r, h in zip(refs, hyps)
    ]


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
