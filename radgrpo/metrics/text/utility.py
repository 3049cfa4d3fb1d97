"""``clinical_utility``: the project's declared clinical utility of the findings a report names (docs/metrics.md).

What it is: a cost table per finding label (:data:`UTILITY_COSTS`: a miss, a false finding, a wrong side) and the
utility of a report against a reference (or against the drawn truth, :mod:`radgrpo.metrics.truth`). Per report and
label L of :data:`radgrpo.metrics.text.rule_labeler.FINDING_LABELS`:

- reference names L, prediction does not: ``-miss[L]``;
- prediction names L, reference does not: ``-false[L]``;
- both name L but with different side sets (left vs right, bilateral vs left, a side vs none): ``-wrong_side[L]``
  (side-aware, the default; ``side=False`` skips this case); Cardiomegaly has no side;
- otherwise 0.

A report's utility is the sum over labels (<= 0, higher is better; 0 = every finding named, on its side, nothing
invented); a corpus's is the mean per report. Findings are read by the ``rule_chexpert`` labeller
(:func:`radgrpo.metrics.text.rule_labeler.finding_set`) and a hedged mention names its finding ("Possible small
left pleural effusion." names a left effusion), as in CheXbert's "uncertain = positive".

Decision threshold: a reader who believes L is present with probability p loses ``p * miss`` in expectation by not
naming it and ``(1 - p) * false`` by naming it, so the utility asks to name L exactly when
``p > false / (miss + false)`` (:func:`decision_thresholds`): 0.25 for pneumothorax, 0.33 for pleural effusion,
consolidation and a nodule (Lung Lesion), 0.40 for cardiomegaly and atelectasis. With wrong side = miss, naming a
finding on the side believed more likely is never worse than leaving it out.

What it is not: a validated clinical loss (the costs are a declared, frozen convention of this project, not
measured), nor CheXbert-based: it is exact on the synthetic generator's reports and approximate on real ones.

Example:
    >>> score_clinical_utility(["Small left apical pneumothorax. Mild cardiomegaly."],
    ...                        ["Small right apical pneumothorax."])
    [-4.5]
    >>> decision_thresholds()["Pneumothorax"]
    0.25
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from radgrpo.config import did_you_mean
from radgrpo.metrics.text.rule_labeler import FINDING_LABELS, UNSIDED_LABELS, finding_set

__all__ = [
    "COST_KEYS",
    "UTILITY_COSTS",
    "FindingCosts",
    "check_costs",
    "decision_thresholds",
    "label_utilities",
    "report_label_utilities",
    "score_clinical_utility",
    "sides_by_label",
]


@dataclass(frozen=True)
class FindingCosts:
    """The costs of one finding label (positive numbers; the utility subtracts them).

    Attributes:
        miss: the reference names the finding, the report does not.
        false: the report names a finding the reference does not.
        wrong_side: both name it, on different sides.
    """

    miss: float
    false: float
    wrong_side: float


#: The keys of one label's costs.
COST_KEYS: tuple[str, ...] = ("miss", "false", "wrong_side")

#: THE DECLARED UTILITY. These numbers define the project's ``clinical_utility`` metric and reward and are frozen:
#: results computed with them stay comparable. Change costs per run with the ``costs`` option (recorded in the
#: run's manifest), never here. A false finding costs 1.0 for every label (a needless follow-up or treatment); a
#: finding named on the wrong side costs as much as missing it (the side drives the procedure), which keeps naming
#: worthwhile whenever the side is more likely right than wrong.
UTILITY_COSTS: dict[str, FindingCosts] = {
    # an unnamed pneumothorax can progress to tension within hours: the costliest miss (threshold 0.25)
    "Pneumothorax": FindingCosts(miss=3.0, false=1.0, wrong_side=3.0),
    # a missed effusion delays drainage or the search for its cause (threshold 0.33)
    "Pleural Effusion": FindingCosts(miss=2.0, false=1.0, wrong_side=2.0),
    # a missed consolidation is an untreated pneumonia (threshold 0.33)
    "Consolidation": FindingCosts(miss=2.0, false=1.0, wrong_side=2.0),
    # a missed nodule is a possibly missed early cancer (threshold 0.33)
    "Lung Lesion": FindingCosts(miss=2.0, false=1.0, wrong_side=2.0),
    # cardiomegaly is mostly chronic and known; a miss delays a work-up, not a treatment (threshold 0.40; no side)
    "Cardiomegaly": FindingCosts(miss=1.5, false=1.0, wrong_side=1.5),
    # atelectasis is common and often transient (threshold 0.40)
    "Atelectasis": FindingCosts(miss=1.5, false=1.0, wrong_side=1.5),
}


def _cost_value(label: str, key: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"clinical_utility costs: {label}.{key} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"clinical_utility costs: {label}.{key} must be finite and >= 0, got {value!r}")
    return v


def check_costs(costs: Mapping[str, Any] | None = None) -> dict[str, FindingCosts]:
    """The cost table: :data:`UTILITY_COSTS` with ``costs`` laid over it, label by label and key by key.

    A label's override that sets ``miss`` but not ``wrong_side`` moves ``wrong_side`` with it (the declared rule
    "wrong side = miss").

    Args:
        costs: label -> ``{"miss", "false", "wrong_side"}`` (any of them) or a :class:`FindingCosts`; None or ``{}``
            keeps the declared table.
    Returns:
        label -> :class:`FindingCosts` for every label of :data:`UTILITY_COSTS`.
    Raises:
        ValueError: an unknown label or key, or a value that is not a finite number >= 0 (the message lists the
            valid names).

    Example:
        >>> check_costs({"Pneumothorax": {"miss": 4}})["Pneumothorax"]
        FindingCosts(miss=4.0, false=1.0, wrong_side=4.0)
        >>> check_costs({"Pneumothorax": {"mis": 4}})
        Traceback (most recent call last):
        ...
        ValueError: clinical_utility costs: unknown key(s) ['mis'] for 'Pneumothorax'; did you mean miss? (keys: miss, false, wrong_side)
    """
    table = dict(UTILITY_COSTS)
    for label, over in (costs or {}).items():
        if label not in table:
            hint = did_you_mean([str(label)], list(table))
            raise ValueError(f"clinical_utility costs: unknown label {label!r}{hint} (labels: {', '.join(table)})")
        if isinstance(over, FindingCosts):
            over = asdict(over)
        if not isinstance(over, Mapping):
            raise ValueError(f"clinical_utility costs: {label!r} must map {list(COST_KEYS)} to numbers, got {over!r}")
        bad = [str(k) for k in over if k not in COST_KEYS]
        if bad:
            hint = did_you_mean(bad, list(COST_KEYS))
            raise ValueError(
                f"clinical_utility costs: unknown key(s) {bad} for {label!r}{hint} (keys: {', '.join(COST_KEYS)})"
            )
        values = {k: _cost_value(label, k, v) for k, v in over.items()}
        if "miss" in values and "wrong_side" not in values:
            values["wrong_side"] = values["miss"]
        table[label] = FindingCosts(**{**asdict(table[label]), **values})
    return table


def decision_thresholds(costs: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Per label, the belief above which the utility asks to name the finding: ``false / (miss + false)``.

    Args:
        costs: overrides of the declared costs (:func:`check_costs`).
    Returns:
        label -> probability in [0, 1] (1.0 when both costs are 0: naming never pays), in :data:`UTILITY_COSTS`
        order.

    Example:
        >>> {k: round(v, 2) for k, v in decision_thresholds().items()}  # doctest: +NORMALIZE_WHITESPACE
        {'Pneumothorax': 0.25, 'Pleural Effusion': 0.33, 'Consolidation': 0.33, 'Lung Lesion': 0.33,
         'Cardiomegaly': 0.4, 'Atelectasis': 0.4}
    """
    out = {}
    for label, c in check_costs(costs).items():
        den = c.miss + c.false
        out[label] = c.false / den if den > 0 else 1.0
    return out


def sides_by_label(elements: Iterable[tuple[str, str | None]]) -> dict[str, frozenset]:
    """Side-aware findings ``(label, side)`` grouped per label: label -> its set of sides (``None`` for no side).

    Example:
        >>> s = sides_by_label([("Pleural Effusion", "right"), ("Pleural Effusion", "left"), ("Cardiomegaly", None)])
        >>> sorted(s["Pleural Effusion"]), s["Cardiomegaly"]
        (['left', 'right'], frozenset({None}))
    """
    out: dict[str, set] = {}
    for label, s in elements:
        out.setdefault(label, set()).add(s)
    return {k: frozenset(v) for k, v in out.items()}


def label_utilities(
    reference: Mapping[str, Iterable[str | None]],
    prediction: Mapping[str, Iterable[str | None]],
    side: bool = True,
    costs: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Per-label utility of one prediction against one reference, both as label -> side set.

    Args:
        reference: the reference's (or the truth's) named labels -> their sides (:func:`sides_by_label`).
        prediction: the prediction's named labels -> their sides.
        side: charge ``wrong_side`` when both name a label with different side sets (not for
            :data:`radgrpo.metrics.text.rule_labeler.UNSIDED_LABELS`).
        costs: overrides of the declared costs.
    Returns:
        label -> utility (0 or minus one cost) for every label of
        :data:`radgrpo.metrics.text.rule_labeler.FINDING_LABELS`, in that order.

    Example:
        >>> u = label_utilities({"Pleural Effusion": {"right", "left"}}, {"Pleural Effusion": {"left"},
        ...                     "Cardiomegaly": {None}})
        >>> u["Pleural Effusion"], u["Cardiomegaly"], sum(u.values())
        (-2.0, -1.0, -3.0)
    """
    table = check_costs(costs)
    unknown = sorted((set(reference) | set(prediction)) - set(FINDING_LABELS))
    if unknown:
        raise ValueError(f"clinical_utility: unknown label(s) {unknown}; labels: {list(FINDING_LABELS)}")
    out: dict[str, float] = {}
    for label in FINDING_LABELS:
        ref, hyp = label in reference, label in prediction
        c = table[label]
        if ref and not hyp:
            out[label] = -c.miss
        elif hyp and not ref:
            out[label] = -c.false
        elif (
            ref and side and label not in UNSIDED_LABELS and frozenset(reference[label]) != frozenset(prediction[label])
        ):
            out[label] = -c.wrong_side
        else:
            out[label] = 0.0
    return out


def report_label_utilities(
    reference: str, prediction: str, side: bool = True, costs: Mapping[str, Any] | None = None
) -> dict[str, float]:
    """:func:`label_utilities` of two report texts (findings read by the rule labeller, hedged = named).

    Example:
        >>> u = report_label_utilities("Small bilateral pleural effusions.", "Possible small left pleural effusion.")
        >>> u["Pleural Effusion"], report_label_utilities("Small bilateral pleural effusions.",
        ...     "Possible small left pleural effusion.", side=False)["Pleural Effusion"]
        (-2.0, 0.0)
    """
    return label_utilities(
        sides_by_label(finding_set(reference, side=True)),
        sides_by_label(finding_set(prediction, side=True)),
        side=side,
        costs=costs,
    )


def score_clinical_utility(
    references: Sequence[str],
    predictions: Sequence[str],
    side: bool = True,
    costs: Mapping[str, Any] | None = None,
) -> list[float]:
    """Per report pair, the clinical utility: the sum of :func:`report_label_utilities` (<= 0, higher is better).

    Args:
        references: reference reports (first, the metric table's order).
        predictions: generated reports, aligned with ``references``.
        side: side-aware (default; a wrong side costs ``wrong_side``); False: a side-free variant.
        costs: overrides of the declared costs (:func:`check_costs`).
    Returns:
        one float per pair.
    Raises:
        ValueError: lists of different lengths, or bad costs.

    Example:
        >>> refs = ["Moderate cardiomegaly. Small left pleural effusion.", "No pneumothorax.", "Mild cardiomegaly."]
        >>> preds = ["Mild cardiomegaly. Small right pleural effusion.", "Small left apical pneumothorax.",
        ...          "Normal heart size."]
        >>> score_clinical_utility(refs, preds), score_clinical_utility(refs, preds, side=False)
        ([-2.0, -1.0, -1.5], [0.0, -1.0, -1.5])
        >>> score_clinical_utility(refs[:1], preds[:1], costs={"Pleural Effusion": {"wrong_side": 0.5}})
        [-0.5]
    """
    if len(references) != len(predictions):
        raise ValueError(f"clinical_utility: {len(references)} references vs {len(predictions)} predictions")
    table = check_costs(costs)  # validated once
    return [
        float(sum(report_label_utilities(r, p, side=side, costs=table).values()))
        for r, p in zip(references, predictions)
    ]
