"""How a result is shown: the table entry behind any ``results.json`` or log key, its label, scale, decimals and
direction, and the order of the report's tables and chart, all read from :mod:`radgrpo.metrics.registry`.

A key is a ``results.json`` name (``map_50``, ``rule_finding_f1/Cardiomegaly``, ``anc``), a metric or score key
(``ap_50``), a held-out key logged during training (``eval_<task>/<metric>``) or a CI bound (``<metric>_ci_low``).
:func:`spec_for` finds its entry as a :class:`ResultSpec`; :func:`label` and :func:`format_value` present it. Nothing
here holds a list of metric names: a metric registered in the table shows up everywhere these functions are used.

Example:
    >>> label("radgraph"), format_value("radgraph", 0.2351), label("anc"), format_value("anc", 181.4)
    ('RGF1', '23.5', 'ANC', '181')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from radgrpo.metrics.registry import DERIVED, METRICS, DerivedSpec, MetricSpec

__all__ = [
    "ResultSpec",
    "chart_results",
    "format_value",
    "higher_is_better",
    "label",
    "no_direction",
    "per_target_results",
    "result_order",
    "score_key",
    "shown",
    "spec_for",
]


@dataclass(frozen=True)
class ResultSpec:
    """How one ``results.json`` name is shown, as :func:`spec_for` finds it.

    Args:
        name: the result name (``rule_finding_f1/Cardiomegaly``; a log or CI key is reduced to it).
        owner: the :data:`METRICS` or :data:`DERIVED` entry that gives it.
        label: its short label (the paper's abbreviation; the name when the table gives none).
        scale: display multiplier (100: a score in [0, 1] shown as 0-100).
        digits: decimals shown after scaling.
        higher_is_better: direction; None: no better direction.
        score_key: the score-row key of its per-sample values (``ap_50`` for ``map_50``), or ``""``.
        count: a number of items (``n``).
    """

    name: str
    owner: str
    label: str
    scale: float
    digits: int
    higher_is_better: bool | None
    score_key: str = ""
    count: bool = False

    def format(self, value: Any, scaled: bool = True) -> str:
        """``value`` as shown; ``"–"`` for a missing or non-finite value.

        Args:
            value: the result's value (in its ``results.json`` unit).
            scaled: as the paper tables show it (×scale with :attr:`digits` decimals); False: in its own unit with
                three decimals, a count as an integer (the raw tables: the report's metric table, the demo's).

        Example:
            >>> spec_for("radcliq").format(0.8123), spec_for("bleu4").format(float("nan"))
            ('0.81', '–')
            >>> spec_for("bleu4").format(0.1234, scaled=False), spec_for("n").format(24, scaled=False)
            ('0.123', '24')
        """
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(float(value)):
            return "–"
        if not scaled:
            return f"{float(value):.0f}" if self.count else f"{float(value):.3f}"
        return f"{float(value) * self.scale:.{self.digits}f}"


#: keys that name a result after a prefix: the held-out evaluation logged during SFT and GRPO
#: (``eval_<task>/<metric>``)
_LOG_PREFIX = re.compile(r"^eval_[a-z0-9_]+/")
#: suffixes that name a bound of a result's CI (the demo's flat tables)
_CI_SUFFIXES: tuple[str, ...] = ("_ci_low", "_ci_high")
_INDEX: dict[str, Any] = {}


def _entries() -> list[MetricSpec | DerivedSpec]:
    """Both tables' entries in display order: the metric table, then the derived results."""
    return [*METRICS.values(), *DERIVED.values()]


def _index() -> dict[str, Any]:
    """The result names and ``<pattern>`` results of both tables in display order, with their owners; rebuilt when
    an entry is registered or replaced."""
    version = (tuple(map(id, METRICS.values())), tuple(map(id, DERIVED.values())))
    if _INDEX.get("version") != version:
        entries: list[tuple[str, MetricSpec | DerivedSpec, str]] = [
            (r, spec, lab) for spec in _entries() for r, lab in spec.result_labels().items()
        ]
        aliases = {s.name: s.results[0] for s in METRICS.values() if s.name not in s.results}
        aliases.update({d.mean_of: d.name for d in DERIVED.values() if d.mean_of})
        _INDEX.clear()
        _INDEX.update(
            version=version,
            rank={r: i for i, (r, _, _) in enumerate(entries)},
            exact={r: (spec, lab) for r, spec, lab in entries if "<" not in r},
            patterns=[(r, spec, lab) for r, spec, lab in entries if "<" in r],
            aliases=aliases,
        )
    return _INDEX


def _find(key: str) -> tuple[str, str, MetricSpec | DerivedSpec, str] | None:
    """``(result name, entry, owner, label)`` of a result name, ``<pattern>`` instance or score key."""
    idx = _index()
    key = idx["aliases"].get(key, key)
    if key in idx["exact"]:
        spec, lab = idx["exact"][key]
        return key, key, spec, lab
    for pattern, spec, lab in idx["patterns"]:
        head, _, rest = pattern.partition("<")
        tail = rest.partition(">")[2]
        if key.startswith(head) and key.endswith(tail) and len(key) > len(head) + len(tail):
            part = key[len(head) : len(key) - len(tail)] if tail else key[len(head) :]
            before, bracket, after = lab.partition("<")
            return key, pattern, spec, before + part + after.partition(">")[2] if bracket else lab
    return None


def _reduce(key: str) -> str:
    """A logged or CI key reduced to its result name (``eval_report_generation/bleu4_ci_low`` -> ``bleu4``)."""
    key = _LOG_PREFIX.sub("", key)
    for suffix in _CI_SUFFIXES:
        if key.endswith(suffix):
            return key[: -len(suffix)]
    return key


def spec_for(key: str) -> ResultSpec | None:
    """How the result ``key`` is shown: its label, scale, decimals and direction; None for a name no table holds.

    ``key`` is a ``results.json`` name (``map_50``, ``rule_finding_f1/Cardiomegaly``, ``anc``), a metric or score key
    (``ap_50``, ``parseable``), a logged held-out key (``eval_<task>/<metric>``) or a CI bound
    (``<metric>_ci_low``, ``<metric>_ci_high``).

    Example:
        >>> s = spec_for("eval_report_generation/radcliq")
        >>> s.name, s.label, s.scale, s.digits, s.higher_is_better
        ('radcliq', 'RCQ', 1.0, 2, False)
        >>> spec_for("ap_50").name, spec_for("rule_finding_f1/Cardiomegaly").label, spec_for("nope")
        ('map_50', 'finding-F1 Cardiomegaly', None)
    """
    found = _find(key) or _find(_reduce(key))
    if found is None:
        return None
    name, entry, spec, lab = found
    count = False
    if isinstance(spec, MetricSpec):
        score = spec.name if spec.aggregation == "mean" and entry == spec.results[0] else ""
        score = score or (name if spec.aggregation == "mean" else "")
        hib: bool | None = spec.higher_is_better
    else:
        score, hib, count = spec.mean_of, spec.higher_is_better, spec.count
    return ResultSpec(name, spec.name, lab, float(spec.scale), int(spec.digits), hib, score, count)


def shown(key: str) -> ResultSpec:
    """:func:`spec_for`, or for a name no table holds: the name itself, unscaled, three decimals, higher is better.

    Example:
        >>> shown("my_score").label, shown("my_score").format(0.12345)
        ('my_score', '0.123')
    """
    return spec_for(key) or ResultSpec(key, "", key, 1.0, 3, True, key)


def label(key: str) -> str:
    """The short label of result ``key`` (the paper's abbreviation; the key itself when no table gives one).

    Example:
        >>> label("rougeL"), label("chexbert_macro_14"), label("rule_finding_f1_side_truth"), label("my_score")
        ('R-L', 'CXb-macro', 'finding-F1 (side) vs truth', 'my_score')
    """
    return shown(key).label


def format_value(key: str, value: Any, scaled: bool = True) -> str:
    """``value`` of result ``key`` as the paper tables show it (×scale with its decimals; ``scaled=False``: in its own
    unit with three decimals, a count as an integer, as the raw tables show it); ``"–"`` when missing.

    Example:
        >>> format_value("bleu4", 0.1234), format_value("clinical_utility", -1.234), format_value("n", 40)
        ('12.3', '-1.23', '40')
        >>> format_value("bleu4", 0.1234, scaled=False), format_value("anc", 181.4, scaled=False)
        ('0.123', '181.400')
    """
    return shown(key).format(value, scaled)


def higher_is_better(key: str) -> bool | None:
    """Direction of result ``key``: True, False (``radcliq``) or None (no better direction, e.g. ``anc``).

    Example:
        >>> higher_is_better("map_50"), higher_is_better("radcliq"), higher_is_better("anc")
        (True, False, None)
    """
    return shown(key).higher_is_better


def score_key(key: str) -> str:
    """The score-row key whose per-sample values give result ``key`` (``map_50`` -> ``ap_50``, ``anc`` ->
    ``answer_chars``); the key itself for others.

    Example:
        >>> score_key("map_50"), score_key("format_valid_rate"), score_key("bleu4"), score_key("rule_finding_f1")
        ('ap_50', 'parseable', 'bleu4', 'rule_finding_f1')
    """
    spec = spec_for(key)
    return spec.score_key if spec is not None and spec.score_key else key


def result_order(names: Iterable[str]) -> list[str]:
    """``names`` in the order of the tables (metric table, each metric's results, then :data:`DERIVED`); names no
    table holds follow alphabetically, the finding-wise results of one pattern alphabetically at its place.

    Example:
        >>> result_order(["zz", "anc", "rule_finding_f1/B", "bleu4", "rule_finding_f1/A", "map_50"])
        ['map_50', 'bleu4', 'rule_finding_f1/A', 'rule_finding_f1/B', 'anc', 'zz']
    """
    rank = _index()["rank"]

    def key(name: str) -> tuple[int, str]:
        found = _find(name)
        return (rank[found[1]] if found is not None else len(rank), name)

    return sorted(dict.fromkeys(names), key=key)


def _flagged(flag: str) -> tuple[str, ...]:
    return tuple(r for s in _entries() if getattr(s, flag) for r in s.results if "<" not in r)


def chart_results() -> tuple[str, ...]:
    """The results the report's bar chart draws (those a run has), in table order.

    Example:
        >>> chart_results()
        ('soft_f1', 'map_50', 'matched_iou', 'bleu4', 'rougeL', 'rule_finding_f1', 'rule_finding_f1_side')
    """
    return _flagged("chart")


def per_target_results(table: bool = False) -> tuple[str, ...]:
    """The results summarised per grounding target (``table=True``: those the report's per-target table shows).

    Example:
        >>> per_target_results(table=True)
        ('soft_f1', 'map_50', 'soft_f1_truth', 'map_50_truth')
    """
    return _flagged("target_table" if table else "per_target")


def no_direction() -> frozenset[str]:
    """The results without a better direction (descriptive numbers such as ``anc``: no best value is marked).

    Example:
        >>> "anc" in no_direction(), "map_50" in no_direction()
        (True, False)
    """
    return frozenset(r for s in _entries() if s.higher_is_better is None for r in s.results if "<" not in r)
