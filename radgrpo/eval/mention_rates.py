"""The pre-RL diagnostic: how often a model names each finding, greedy and sampled, on studies with and without it,
and the gate that says whether RL has anything to win (docs/rl_vs_imitation.md#the-gate).

What it is: for report records that carry the drawn truth (``meta["truth"]``, the synthetic readers world), per
finding label: the share of positive and of negative studies whose greedy report names the finding, the mean share
of k sampled reports naming it (temperature 1), both split into subtle and conspicuous positives, and the readers'
own rates (the records' reference reports). :func:`gate` then checks, before any RL setting is tuned:

1. the model learned the features: for at least ``min_learned`` findings the sampled rate on positives minus the one
   on negatives is at least ``learned_gap``;
2. there is room: naming a finding when its sampled rate exceeds the utility's decision threshold
   (:func:`radgrpo.eval.decoding.threshold_findings`) beats greedy decoding's clinical utility by at least
   ``min_room`` per study, against the reference reports;
3. greedy under-calls: for at least one finding, greedy recall against the truth lies in ``recall_band``.

Findings are read by the ``rule_chexpert`` labeller (hedged = named). Rates are shares in [0, 1]; utilities are per
study (<= 0, higher is better).

Example:
    >>> recs = [{"meta": {"truth": [{"finding": "pneumothorax", "side": "left", "severity": 0.1, "subtle": True}]},
    ...          "answer": "Small left apical pneumothorax."},
    ...         {"meta": {"truth": []}, "answer": "No pneumothorax."}]
    >>> r = mention_rates(recs, ["No pneumothorax.", "No pneumothorax."],
    ...                   [["Small left apical pneumothorax.", "No pneumothorax."], ["No pneumothorax."] * 2])
    >>> r["Pneumothorax"]["greedy_pos"], r["Pneumothorax"]["sampled_pos"], r["Pneumothorax"]["sampled_subtle"]
    (0.0, 0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from radgrpo.eval.decoding import threshold_findings
from radgrpo.metrics.text.rule_labeler import FINDING_LABELS, finding_set
from radgrpo.metrics.text.utility import decision_thresholds, label_utilities, sides_by_label
from radgrpo.metrics.truth import truth_set

__all__ = ["GateSpec", "gate", "mention_rates", "truth_of"]


def _meta(record: Any) -> Mapping[str, Any]:
    return (record.get("meta") if isinstance(record, Mapping) else getattr(record, "meta", None)) or {}


def _answer(record: Any) -> str:
    return str(record.get("answer") if isinstance(record, Mapping) else record.answer)


def truth_of(record: Any) -> list[Mapping[str, Any]] | None:
    """``meta["truth"]`` of a record (a :class:`radgrpo.records.Record` or its dict), None when it has none.

    Example:
        >>> truth_of({"meta": {}}) is None, truth_of({"meta": {"truth": []}})
        (True, [])
    """
    t = _meta(record).get("truth")
    return None if t is None else list(t)


def _named(text: str) -> frozenset:
    return finding_set(text, side=False)


def _share(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


def mention_rates(
    records: Sequence[Any], greedy: Sequence[str], samples: Sequence[Sequence[str]]
) -> dict[str, dict[str, Any]]:
    """Per finding label, the greedy and sampled mention rates on positive and negative studies.

    Args:
        records: report records with ``meta["truth"]`` (Records or dicts), aligned with ``greedy`` and ``samples``.
        greedy: one greedy report per record.
        samples: k sampled reports per record.
    Returns:
        label -> ``n_pos``, ``n_neg``, ``n_subtle``, ``n_conspicuous`` and the shares ``greedy_pos``,
        ``greedy_neg``, ``sampled_pos``, ``sampled_neg``, ``greedy_subtle``, ``sampled_subtle``,
        ``greedy_conspicuous``, ``sampled_conspicuous``, ``reference_pos``, ``reference_neg``,
        ``reference_subtle`` (None where a group is empty), for each label that is positive in some record's truth.
        ``greedy_pos`` is greedy recall against the truth.
    Raises:
        ValueError: lengths differ, or a record has no truth.
    """
    if not len(records) == len(greedy) == len(samples):
        raise ValueError(f"{len(records)} records, {len(greedy)} greedy reports, {len(samples)} sample lists")
    truths = []
    for r in records:
        t = truth_of(r)
        if t is None:
            raise ValueError("mention_rates needs records with meta['truth'] (the synthetic readers world)")
        truths.append(t)
    g = [_named(x) for x in greedy]
    s = [[_named(x) for x in xs] for xs in samples]
    ref = [_named(_answer(r)) for r in records]
    out: dict[str, dict[str, Any]] = {}
    for label in FINDING_LABELS:
        pos = [i for i, t in enumerate(truths) if label in truth_set(t)]
        if not pos:
            continue
        neg = [i for i in range(len(records)) if i not in set(pos)]
        subtle_of = {i: any(truth_set([e]) == {label} and e.get("subtle") for e in truths[i]) for i in pos}
        sub = [i for i in pos if subtle_of[i]]
        con = [i for i in pos if not subtle_of[i]]

        def gr(ix: list[int], label: str = label) -> float | None:
            return _share([float(label in g[i]) for i in ix])

        def sr(ix: list[int], label: str = label) -> float | None:
            return _share([float(np.mean([label in x for x in s[i]])) if s[i] else 0.0 for i in ix])

        def rr(ix: list[int], label: str = label) -> float | None:
            return _share([float(label in ref[i]) for i in ix])

        out[label] = {
            "n_pos": len(pos),
            "n_neg": len(neg),
            "n_subtle": len(sub),
            "n_conspicuous": len(con),
            "greedy_pos": gr(pos),
            "greedy_neg": gr(neg),
            "sampled_pos": sr(pos),
            "sampled_neg": sr(neg),
            "greedy_subtle": gr(sub),
            "sampled_subtle": sr(sub),
            "greedy_conspicuous": gr(con),
            "sampled_conspicuous": sr(con),
            "reference_pos": rr(pos),
            "reference_neg": rr(neg),
            "reference_subtle": rr(sub),
        }
    return out


@dataclass(frozen=True)
class GateSpec:
    """The gate's conditions (docs/rl_vs_imitation.md#the-gate; defaults are the project's)."""

    min_learned: int = 2
    learned_gap: float = 0.3
    min_room: float = 0.02
    recall_band: tuple[float, float] = (0.2, 0.6)
    min_in_band: int = 1


def _utility(pred: Sequence[Mapping[str, frozenset]], ref: Sequence[Mapping[str, frozenset]], costs: Any) -> float:
    return float(np.mean([sum(label_utilities(r, p, side=True, costs=costs).values()) for p, r in zip(pred, ref)]))


def gate(
    records: Sequence[Any],
    greedy: Sequence[str],
    samples: Sequence[Sequence[str]],
    costs: Mapping[str, Any] | None = None,
    spec: GateSpec = GateSpec(),
) -> dict[str, Any]:
    """The mention rates and the gate's three conditions on one split (use validation, never test).

    Args:
        records: report records with ``meta["truth"]``.
        greedy: one greedy report per record.
        samples: k sampled reports per record (temperature 1).
        costs: utility cost overrides (:func:`radgrpo.metrics.text.utility.check_costs`).
        spec: the thresholds of the conditions.
    Returns:
        ``{"rates": mention_rates(...), "thresholds": {label: t}, "utility": {"reference"|"truth": {"greedy",
        "threshold", "room"}}, "conditions": [{"name", "value", "target", "passed"}] x 3, "passed": bool,
        "spec": {...}}``.

    Example:
        >>> recs = [{"meta": {"truth": [{"finding": "pleural effusion", "side": "left", "subtle": True}]},
        ...          "answer": "Possible small left pleural effusion."}]
        >>> g = gate(recs, ["No pleural effusion."], [["Small left pleural effusion.", "No pleural effusion."]])
        >>> g["utility"]["reference"]["room"], [c["passed"] for c in g["conditions"]]
        (2.0, [False, True, False])
    """
    rates = mention_rates(records, greedy, samples)
    thresholds = decision_thresholds(costs)
    ref_sides = [sides_by_label(finding_set(_answer(r), side=True)) for r in records]
    truth_sides = [sides_by_label(truth_set(truth_of(r) or [], side=True)) for r in records]
    g_sides = [sides_by_label(finding_set(x, side=True)) for x in greedy]
    t_sides = [threshold_findings(xs, thresholds) for xs in samples]
    utility = {}
    for name, ref in (("reference", ref_sides), ("truth", truth_sides)):
        ug, ut = _utility(g_sides, ref, costs), _utility(t_sides, ref, costs)
        utility[name] = {"greedy": ug, "threshold": ut, "room": ut - ug}
    gaps = {lab: (r["sampled_pos"] or 0.0) - (r["sampled_neg"] or 0.0) for lab, r in rates.items()}
    learned = sorted(lab for lab, v in gaps.items() if v >= spec.learned_gap)
    lo, hi = spec.recall_band
    in_band = sorted(lab for lab, r in rates.items() if r["greedy_pos"] is not None and lo <= r["greedy_pos"] <= hi)
    conditions = [
        {
            "name": "learned",
            "value": {lab: round(v, 4) for lab, v in gaps.items()},
            "target": f">= {spec.min_learned} findings with sampled rate(pos) - rate(neg) >= {spec.learned_gap}",
            "passed": len(learned) >= spec.min_learned,
            "findings": learned,
        },
        {
            "name": "room",
            "value": round(utility["reference"]["room"], 4),
            "target": f"threshold-on-sampled-rate utility - greedy utility >= {spec.min_room} per study "
            "(against the reference)",
            "passed": utility["reference"]["room"] >= spec.min_room,
        },
        {
            "name": "under_called",
            "value": {lab: r["greedy_pos"] for lab, r in rates.items()},
            "target": f">= {spec.min_in_band} finding with greedy recall against the truth in [{lo}, {hi}]",
            "passed": len(in_band) >= spec.min_in_band,
            "findings": in_band,
        },
    ]
    return {
        "rates": rates,
        "thresholds": thresholds,
        "utility": utility,
        "conditions": conditions,
        "passed": all(c["passed"] for c in conditions),
        "spec": asdict(spec),
    }
