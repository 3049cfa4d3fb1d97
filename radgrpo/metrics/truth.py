"""Scores against the drawn truth of synthetic studies: what the image shows, not what one reader wrote.

What it is: the row functions of the metric table's truth metrics (``rule_finding_f1_truth``, ``recall_truth``,
``clinical_utility_truth``; the grounding ones reuse the grounding functions with the drawn boxes as references).
Records of the synthetic "readers" world carry ``meta["truth"]``: a list of drawn findings
``{"finding", "side", "severity", "subtle", "boxes"}`` (generator finding names, side ``"right"``, ``"left"``,
``"bilateral"`` or None, boxes normalised [0, 1] xyxy). Here such a list is the REFERENCE of a report (first
argument, the metric table's convention): its findings map to labels by :data:`TRUTH_LABELS`, "bilateral" gives the
sides right and left, None no side. Predictions are read by the ``rule_chexpert`` labeller, hedged mentions named.

- :func:`rule_finding_truth_rows`: finding sets and (tp, fp, fn), plain and side-aware, as
  :func:`radgrpo.metrics.report_labels.rule_finding_rows` writes them against the reference, keys
  :data:`RULE_FINDING_TRUTH_KEYS` (corpus F1s ``rule_finding_f1_truth``, ``rule_finding_f1_side_truth``,
  ``rule_finding_f1_truth/<Label>``);
- :func:`recall_truth_rows`: per subtlety (``subtle``: a typical reader names the finding at most half the time;
  ``conspicuous``: the others) the number of truth findings and how many the report names (side-free) and names on
  every one of their sides (side-aware), keys :data:`RECALL_TRUTH_KEYS` (corpus ratios ``recall_truth/subtle`` ...);
- :func:`clinical_utility_truth_rows`: the clinical utility against the truth (``clinical_utility_truth`` and
  ``clinical_utility_truth/<Label>``).

What it is not: usable on real data (no truth there); records without ``meta["truth"]`` get none of these fields.

Example:
    >>> truth = [{"finding": "pleural effusion", "side": "bilateral", "subtle": True}]
    >>> truth_set(truth, side=True) == {("Pleural Effusion", "right"), ("Pleural Effusion", "left")}
    True
    >>> recall_truth_rows([truth], ["Small left pleural effusion."])[0]  # doctest: +NORMALIZE_WHITESPACE
    {'recall_truth_subtle_n': 1, 'recall_truth_subtle_named': 1, 'recall_truth_subtle_named_side': 0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from radgrpo.metrics.report_labels import finding_keys

__all__ = [
    "RECALL_TRUTH_KEYS",
    "RULE_FINDING_TRUTH_KEYS",
    "SUBTLETY_GROUPS",
    "TRUTH_LABELS",
    "clinical_utility_truth_rows",
    "recall_truth_rows",
    "rule_finding_truth_rows",
    "target_truth_boxes",
    "truth_set",
]

#: Generator finding name -> its label among ``FINDING_LABELS`` (the synthetic source's primary CheXpert label).
TRUTH_LABELS: dict[str, str] = {
    "cardiomegaly": "Cardiomegaly",
    "pleural effusion": "Pleural Effusion",
    "consolidation": "Consolidation",
    "pneumothorax": "Pneumothorax",
    "nodule": "Lung Lesion",
    "atelectasis": "Atelectasis",
}
#: Truth findings are split by ``subtle`` into these groups (``recall_truth/<group>``).
SUBTLETY_GROUPS: tuple[str, ...] = ("subtle", "conspicuous")
#: Row keys ``rule_finding_f1_truth`` writes (as ``rule_finding_f1``'s with ``rule_finding_truth`` as the prefix).
RULE_FINDING_TRUTH_KEYS: tuple[str, ...] = finding_keys("rule_finding_truth")
#: Row keys ``recall_truth`` writes (a group's keys only on rows with a truth finding of that group).
RECALL_TRUTH_KEYS: tuple[str, ...] = tuple(
    f"recall_truth_{g}_{k}" for g in SUBTLETY_GROUPS for k in ("n", "named", "named_side")
)


def _label(entry: Mapping[str, Any]) -> str:
    name = entry.get("finding")
    if name not in TRUTH_LABELS:
        raise ValueError(f"truth: unknown finding {name!r}; known: {list(TRUTH_LABELS)}")
    return TRUTH_LABELS[str(name)]


def _elements(entry: Mapping[str, Any]) -> frozenset:
    """The side-aware elements of one truth finding: ``(label, side)``; bilateral -> right and left."""
    label, side = _label(entry), entry.get("side")
    if label == "Cardiomegaly" or side is None:
        return frozenset({(label, None)})
    if side == "bilateral":
        return frozenset({(label, "right"), (label, "left")})
    if side not in ("right", "left"):
        raise ValueError(f"truth: side must be right, left, bilateral or None, got {side!r}")
    return frozenset({(label, side)})


def truth_set(truth: Sequence[Mapping[str, Any]], side: bool = False) -> frozenset:
    """The truth findings as :func:`radgrpo.metrics.text.rule_labeler.finding_set` gives a report's.

    Args:
        truth: ``meta["truth"]`` of a record.
        side: ``(label, side)`` elements instead of labels.

    Example:
        >>> sorted(truth_set([{"finding": "nodule", "side": "left"}, {"finding": "cardiomegaly", "side": None}]))
        ['Cardiomegaly', 'Lung Lesion']
    """
    elements = frozenset().union(*(_elements(t) for t in truth)) if truth else frozenset()
    return elements if side else frozenset(lab for lab, _ in elements)


def target_truth_boxes(truth: Sequence[Mapping[str, Any]] | None, target: str | None) -> list[tuple] | None:
    """The drawn boxes of the truth finding named ``target`` (a grounding record's target), or None.

    Example:
        >>> target_truth_boxes([{"finding": "nodule", "side": "left", "boxes": [[0.1, 0.2, 0.3, 0.4]]}], "nodule")
        [(0.1, 0.2, 0.3, 0.4)]
        >>> target_truth_boxes([], "heart") is None
        True
    """
    for t in truth or ():
        if t.get("finding") == target:
            return [tuple(float(v) for v in b) for b in t.get("boxes") or ()]
    return None


def _check(truths: Sequence[Any], hyps: Sequence[str]) -> None:
    if len(truths) != len(hyps):
        raise ValueError(f"{len(truths)} truth lists vs {len(hyps)} predictions")


def rule_finding_truth_rows(truths: Sequence[Sequence[Mapping[str, Any]]], hyps: Sequence[str]) -> list[dict[str, Any]]:
    """Per pair, the finding sets of truth and prediction and their (tp, fp, fn), plain and side-aware.

    Args:
        truths: ``meta["truth"]`` of each record (the references).
        hyps: generated reports.
    Returns:
        rows with :data:`RULE_FINDING_TRUTH_KEYS`.

    Example:
        >>> row = rule_finding_truth_rows([[{"finding": "pneumothorax", "side": "left"}]],
        ...                               ["A small right apical pneumothorax cannot be excluded."])[0]
        >>> row["rule_finding_truth_tp"], row["rule_finding_truth_side_fp"], row["rule_finding_truth_side_ref"]
        (1, 1, ['Pneumothorax|left'])
    """
    from radgrpo.metrics.report_labels import finding_fields
    from radgrpo.metrics.text.rule_labeler import finding_set

    _check(truths, hyps)
    return [
        finding_fields(
            "rule_finding_truth",
            (truth_set(t), truth_set(t, side=True)),
            (finding_set(h), finding_set(h, side=True)),
        )
        for t, h in zip(truths, hyps)
    ]


def recall_truth_rows(truths: Sequence[Sequence[Mapping[str, Any]]], hyps: Sequence[str]) -> list[dict[str, int]]:
    """Per pair and subtlety group, the truth findings and how many of them the report names.

    A truth finding is named when the report names its label (side-free) and named on its side when the report's
    side-aware set holds every one of its elements (a bilateral one needs right and left). Groups:
    :data:`SUBTLETY_GROUPS` (``subtle`` from the entry's ``subtle`` flag, missing = conspicuous).

    Returns:
        rows ``{"recall_truth_<group>_n", "recall_truth_<group>_named", "recall_truth_<group>_named_side"}`` (ints)
        for the groups with at least one truth finding in that record.

    Example:
        >>> truth = [{"finding": "cardiomegaly", "side": None, "subtle": False},
        ...          {"finding": "pneumothorax", "side": "right", "subtle": True}]
        >>> recall_truth_rows([truth, []], ["Mild cardiomegaly. Possible small left apical pneumothorax.", ""])
        ... # doctest: +NORMALIZE_WHITESPACE
        [{'recall_truth_subtle_n': 1, 'recall_truth_subtle_named': 1, 'recall_truth_subtle_named_side': 0,
          'recall_truth_conspicuous_n': 1, 'recall_truth_conspicuous_named': 1,
          'recall_truth_conspicuous_named_side': 1}, {}]
    """
    from radgrpo.metrics.text.rule_labeler import finding_set

    _check(truths, hyps)
    rows = []
    for truth, hyp in zip(truths, hyps):
        plain, sided = finding_set(hyp), finding_set(hyp, side=True)
        row: dict[str, int] = {}
        for group in SUBTLETY_GROUPS:
            found = [t for t in truth if bool(t.get("subtle", False)) == (group == "subtle")]
            if not found:
                continue
            row[f"recall_truth_{group}_n"] = len(found)
            row[f"recall_truth_{group}_named"] = sum(_label(t) in plain for t in found)
            row[f"recall_truth_{group}_named_side"] = sum(_elements(t) <= sided for t in found)
        rows.append(row)
    return rows


def clinical_utility_truth_rows(
    truths: Sequence[Sequence[Mapping[str, Any]]],
    hyps: Sequence[str],
    side: bool = True,
    costs: dict[str, Any] | None = None,
) -> list[dict[str, float]]:
    """Per pair, the clinical utility of the report against the truth (:mod:`radgrpo.metrics.text.utility`) and
    its term per label: keys ``clinical_utility_truth`` and ``clinical_utility_truth/<Label>``.

    Example:
        >>> row = clinical_utility_truth_rows([[{"finding": "pleural effusion", "side": "bilateral"}]],
        ...                                   ["Possible small left pleural effusion."])[0]
        >>> row["clinical_utility_truth"], row["clinical_utility_truth/Pleural Effusion"]
        (-2.0, -2.0)
    """
    from radgrpo.metrics.report_labels import utility_fields
    from radgrpo.metrics.text.rule_labeler import finding_set
    from radgrpo.metrics.text.utility import check_costs, label_utilities, sides_by_label

    _check(truths, hyps)
    table = check_costs(costs)
    return [
        utility_fields(
            "clinical_utility_truth",
            label_utilities(
                sides_by_label(truth_set(t, side=True)),
                sides_by_label(finding_set(h, side=True)),
                side=side,
                costs=table,
            ),
        )
        for t, h in zip(truths, hyps)
    ]
