"""The metric table: every metric radgrpo computes, by name. Evaluation, rewards and ``radgrpo eval --metrics`` read it.

One :class:`MetricSpec` per name (the ``--metrics`` name, the score key in ``scores.jsonl``) says:

- the function, as ``"module:function"`` plus fixed keyword arguments; it is imported on first use, so importing this
  module costs no torch and no model code;
- the ARGUMENT ORDER, the same for every entry: REFERENCES FIRST, ``fn(references, predictions, **kwargs)`` -> one
  value per pair (the order of ``radgrpo.metrics.text``). ``grounding``: references are box lists (normalised [0,1]
  xyxy), predictions answer strings (parsed by the metric's own box parser) or box lists, values floats in [0, 1].
  ``report``: report strings, values floats (NaN: the pair could not be scored, e.g. an unparseable GREEN
  judgement). ``label``: report strings, values dicts of per-report row fields (label vectors, finding lists and
  counts, :mod:`radgrpo.metrics.report_labels`; or per-report values such as ``clinical_utility`` and its
  ``clinical_utility/<Label>`` terms, averaged like per-pair scores when the aggregation is ``mean``);
- the aggregation: ``mean`` (the reported number is the mean of the per-sample values; bootstrap over samples) or
  ``corpus`` (a corpus statistic, micro/macro F1 over all reports, computed by ``radgrpo.eval.summarize`` from the
  row fields; bootstrap over reports);
- the direction, the names it gets in ``results.json`` (``ap_50``'s mean is ``map_50``), and
- the scoring models it needs: names of ``radgrpo.metrics.loaders.MODEL_SPECS``; a missing one raises
  ``ModelNotFoundError`` naming the files and the ``radgrpo models download NAME`` command
  (:func:`require_all_models`);
- for a TRUTH metric, the metric it re-scores against the drawn truth of synthetic records (``truth_of``): its
  references are ``meta["truth"]`` (report metrics, :mod:`radgrpo.metrics.truth`) or the drawn boxes of the
  grounding target's truth entry, and it is computed whenever its metric is, on the records that carry a truth
  (:func:`with_truth`); other records get no value (absent, not zero);
- how its results are shown: the short label of each (the paper's abbreviation: ``radgraph`` is ``RGF1``), the scale
  and decimals of the paper tables (scores in [0, 1] ×100 with one decimal), and where the report shows them (bar
  chart, per-target table).

The results that ``radgrpo.eval.summarize`` derives itself (``format_valid_rate``, ``anc``, ``n`` and the
diagnostics) are no ``--metrics`` names; :data:`DERIVED` holds them, one :class:`DerivedSpec` each, with the same
presentation fields. Every name a reader sees in ``results.json``, the report, the demo and the reward service is
one of the two tables; :mod:`radgrpo.metrics.display` finds the entry of any result key and presents it.

Not the reward table (``radgrpo.rewards.registry``); rewards that wrap a metric (``bleu4``, ``gleu``) take the
function from here. Definitions of every metric: docs/metrics.md.

Example:
    >>> spec = get_metric("soft_f1")
    >>> [round(v, 4) for v in spec.score([[(0.38, 0.47, 0.76, 0.62)]], ["[0.35, 0.51, 0.75, 0.64]"])]
    [0.7468]
    >>> spec.kind, spec.aggregation, get_metric("ap_50").results, get_metric("radcliq").higher_is_better
    ('grounding', 'mean', ('map_50',), False)
    >>> get_metric("radgraph").label, DERIVED["anc"].label
    ('RGF1', 'ANC')
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from radgrpo.config import did_you_mean
from radgrpo.metrics.report_labels import CHEXBERT_KEYS, RULE_FINDING_KEYS
from radgrpo.metrics.truth import RECALL_TRUTH_KEYS, RULE_FINDING_TRUTH_KEYS

KINDS: tuple[str, ...] = ("grounding", "report", "label")
AGGREGATIONS: tuple[str, ...] = ("mean", "corpus")


@dataclass(frozen=True)
class MetricSpec:
    """How to compute and report one metric.

    Args:
        name: the ``--metrics`` name and the score key in ``scores.jsonl``.
        kind: ``"grounding"`` (boxes), ``"report"`` (per-pair text score) or ``"label"`` (per-report row fields:
            labels for a corpus statistic, or per-report values averaged like scores).
        target: ``"package.module:function"``, a function ``fn(references, predictions, **kwargs)`` returning one
            value per pair (floats; dicts of row fields for ``label``).
        description: one line on what exactly is computed (shown in errors and ``--metrics`` help).
        kwargs: fixed keyword arguments of the function (e.g. ``n=4`` for BLEU-4).
        aggregation: ``"mean"`` or ``"corpus"``.
        higher_is_better: direction.
        models: scoring-model names the loaders resolve (``radgrpo.metrics.loaders.MODEL_SPECS``).
        results: names in ``results.json`` (default: ``(name,)``; corpus metrics list every name they produce).
        row_fields: the row keys a ``label`` metric writes (bookkeeping, not means).
        default: computed when no ``--metrics`` are given.
        truth_of: for a truth metric, the metric it re-scores against the drawn truth (computed with it).
        label: the short label of its first result in the report's paper tables (default: the result name).
        labels: ``(result, label)`` pairs for its other results (a ``<Label>`` pattern stands for each finding).
        scale: display multiplier of the paper tables (100: a score in [0, 1] shown as 0-100).
        digits: decimals shown after scaling.
        chart: its results are drawn in the report's bar chart.
        per_target: summarised per grounding target as well (``results.json`` ``per_target``).
        target_table: shown in the report's per-target table (implies ``per_target``).

    Example:
        >>> MetricSpec("x", "report", "radgrpo.metrics.text.bleu:score_bleu", "BLEU-2", (("n", 2),)).results
        ('x',)
    """

    name: str
    kind: str
    target: str
    description: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    aggregation: str = "mean"
    higher_is_better: bool = True
    models: tuple[str, ...] = ()
    results: tuple[str, ...] = ()
    row_fields: tuple[str, ...] = ()
    default: bool = False
    truth_of: str = ""
    label: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    scale: float = 100.0
    digits: int = 1
    chart: bool = False
    per_target: bool = False
    target_table: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"metric aggregation must be one of {list(AGGREGATIONS)}, got {self.aggregation!r}")
        if self.target.count(":") != 1 or not all(self.target.split(":")):
            raise ValueError(f"metric target must be 'module:function', got {self.target!r}")
        if not self.results:
            object.__setattr__(self, "results", (self.name,))
        _check_presentation(self)

    def result_labels(self) -> dict[str, str]:
        """``results.json`` name (or ``<Label>`` pattern) -> its short label, for every result of this metric.

        Example:
            >>> get_metric("rule_finding_f1").result_labels()["rule_finding_f1_side"]
            'finding-F1 (side)'
        """
        return _result_labels(self)

    def load(self) -> Callable[..., Sequence[Any]]:
        """Import the function; a missing implementation raises ``ValueError`` naming the module.

        Example:
            >>> MetricSpec("x", "report", "radgrpo.metrics.text.nope:score_x", "a test metric").load()
            Traceback (most recent call last):
            ...
            ValueError: metric 'x' (a test metric) is not available in this radgrpo: radgrpo.metrics.text.nope.score_x could not be imported (No module named 'radgrpo.metrics.text.nope'). Remove it from --metrics or install/implement it.
        """
        module, function = self.target.split(":")
        try:
            return getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError) as e:
            raise ValueError(
                f"metric {self.name!r} ({self.description}) is not available in this radgrpo: "
                f"{module}.{function} could not be imported ({e}). Remove it from --metrics or "
                f"install/implement it."
            ) from e

    def function(self) -> Callable[..., Sequence[Any]]:
        """The function with the fixed keyword arguments bound: ``fn(references, predictions)`` (picklable).

        Example:
            >>> get_metric("bleu4").function()(["a b c d"], ["a b c d"]).round(6).tolist()
            [1.0]
        """
        fn = self.load()
        return partial(fn, **dict(self.kwargs)) if self.kwargs else fn

    def score(self, refs: Sequence[Any], preds: Sequence[Any], **options: Any) -> list[Any]:
        """Score aligned reference/prediction lists.

        Args:
            refs: references (box lists for ``grounding``, report strings otherwise).
            preds: predictions aligned with ``refs``.
            **options: extra keyword arguments of the function (e.g. GREEN's ``backend``, ``base_url``).
        Returns:
            one value per pair: a float, or ``None`` where the function returned NaN (such pairs are left out of the
            mean and counted, never scored 0); for ``label`` metrics a dict of row fields.
        Raises:
            ValueError: the implementation is missing. RuntimeError: the function returned a wrong number of values.

        Example:
            >>> get_metric("rougeL").score(["no effusion"], ["no effusion"])
            [1.0]
        """
        fn = self.load()
        raw = list(fn(list(refs), list(preds), **{**dict(self.kwargs), **options}))
        if len(raw) != len(refs):
            raise RuntimeError(f"{self.name}: {self.target} returned {len(raw)} values for {len(refs)} pairs")
        if self.kind == "label":
            return [dict(v) for v in raw]
        return [None if math.isnan(v) else v for v in (float(x) for x in raw)]

    def missing_models(self) -> list[str]:
        """The names in :attr:`models` that do not resolve locally (explicit folder, radgrpo's model folder, HF cache).

        Example:
            >>> get_metric("bleu4").missing_models()
            []
        """
        from radgrpo.metrics.loaders import ModelNotFoundError, all_model_specs, resolve_model

        all_model_specs()
        missing = []
        for name in self.models:
            try:
                resolve_model(name)
            except ModelNotFoundError:
                missing.append(name)
        return missing


@dataclass(frozen=True)
class DerivedSpec:
    """A result ``radgrpo.eval.summarize`` derives itself (not a ``--metrics`` name): how it is named and shown.

    Args:
        name: its ``results.json`` name (a ``<metric>`` pattern stands for each score key).
        description: one line on what it is, with its unit.
        mean_of: the score-row key it is the mean of (``parseable`` for ``format_valid_rate``), if any.
        task: the task whose rows it averages (``anc``: ``report_generation``); empty: every row that has the key.
        label: short label in the paper tables (default: the name).
        scale: display multiplier.
        digits: decimals shown after scaling.
        higher_is_better: direction; None for a descriptive number (no best value is marked).
        diagnostic: a plain number without CI (``RunResults.diagnostics``; the report's diagnostics table).
        count: a number of items (``n``), shown as an integer also where values are shown unscaled.
        chart: drawn in the report's bar chart.
        per_target: summarised per grounding target as well.
        target_table: shown in the report's per-target table.

    Example:
        >>> DERIVED["anc"].mean_of, DERIVED["anc"].task, DERIVED["anc"].higher_is_better
        ('answer_chars', 'report_generation', None)
    """

    name: str
    description: str
    mean_of: str = ""
    task: str = ""
    label: str = ""
    scale: float = 1.0
    digits: int = 3
    higher_is_better: bool | None = True
    diagnostic: bool = False
    count: bool = False
    chart: bool = False
    per_target: bool = False
    target_table: bool = False

    def __post_init__(self) -> None:
        _check_presentation(self)

    @property
    def results(self) -> tuple[str, ...]:
        """``(name,)``: the names it gives (as :attr:`MetricSpec.results`)."""
        return (self.name,)

    def result_labels(self) -> dict[str, str]:
        """``{name: label}`` (as :meth:`MetricSpec.result_labels`)."""
        return _result_labels(self)


def _check_presentation(spec: MetricSpec | DerivedSpec) -> None:
    if spec.digits < 0 or not spec.scale > 0:
        raise ValueError(f"{spec.name}: digits must be >= 0 and scale > 0, got {spec.digits}, {spec.scale}")
    unknown = [r for r, _ in getattr(spec, "labels", ()) if r not in spec.results]
    if unknown:
        raise ValueError(f"{spec.name}: labels name results it does not give: {unknown} (results: {spec.results})")
    if spec.target_table and not spec.per_target:
        raise ValueError(f"{spec.name}: target_table needs per_target")


def _result_labels(spec: MetricSpec | DerivedSpec) -> dict[str, str]:
    given = {spec.results[0]: spec.label or spec.results[0], **dict(getattr(spec, "labels", ()))}
    return {r: given.get(r, r) for r in spec.results}


#: the table, in ``--metrics`` help order
METRICS: dict[str, MetricSpec] = {}
#: the results radgrpo.eval.summarize derives itself, in display order (filled below the metric table)
DERIVED: dict[str, DerivedSpec] = {}


def register_metric(spec: MetricSpec, overwrite: bool = False) -> MetricSpec:
    """Add ``spec`` under ``spec.name``; re-registering a name needs ``overwrite=True``.

    Example:
        >>> register_metric(MetricSpec("bleu4", "report", "radgrpo.metrics.text.bleu:score_bleu", "again"))
        Traceback (most recent call last):
        ...
        ValueError: metric 'bleu4' is already registered (pass overwrite=True to replace it)
    """
    if spec.name in METRICS and not overwrite:
        raise ValueError(f"metric {spec.name!r} is already registered (pass overwrite=True to replace it)")
    METRICS[spec.name] = spec
    return spec


def register_derived(spec: DerivedSpec, overwrite: bool = False) -> DerivedSpec:
    """Add a derived result (:data:`DERIVED`); re-registering a name needs ``overwrite=True``.

    Example:
        >>> register_derived(DerivedSpec("anc", "again"))
        Traceback (most recent call last):
        ...
        ValueError: derived result 'anc' is already registered (pass overwrite=True to replace it)
    """
    if spec.name in DERIVED and not overwrite:
        raise ValueError(f"derived result {spec.name!r} is already registered (pass overwrite=True to replace it)")
    DERIVED[spec.name] = spec
    return spec


def get_metric(name: str) -> MetricSpec:
    """The spec registered under ``name``; an unknown name raises ``KeyError`` listing the valid ones.

    Example:
        >>> get_metric("map_50")
        Traceback (most recent call last):
        ...
        KeyError: "unknown metric 'map_50'; registered metrics: soft_f1, soft_f1_dice, ap_50, matched_iou, bleu4, rougeL, gleu, bertscore, radgraph, radcliq, green, chexbert, rule_finding_f1, clinical_utility, rule_finding_f1_truth, recall_truth, clinical_utility_truth, soft_f1_truth, soft_f1_dice_truth, ap_50_truth, matched_iou_truth"
    """
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; registered metrics: {', '.join(list_metrics())}") from None


def list_metrics(kind: str | None = None) -> list[str]:
    """Registered names in table order, optionally of one kind.

    Example:
        >>> list_metrics("grounding")[:4]
        ['soft_f1', 'soft_f1_dice', 'ap_50', 'matched_iou']
    """
    return [n for n, s in METRICS.items() if kind is None or s.kind == kind]


def with_truth(names: Iterable[str]) -> list[str]:
    """``names`` followed by the truth metrics of each (the table's entries whose ``truth_of`` is among them).

    Example:
        >>> with_truth(["soft_f1", "clinical_utility", "bleu4"])
        ['soft_f1', 'clinical_utility', 'bleu4', 'clinical_utility_truth', 'soft_f1_truth']
    """
    out = list(dict.fromkeys(names))
    return out + [n for n, s in METRICS.items() if s.truth_of and s.truth_of in out and n not in out]


def require_all_models(metrics: Iterable[str], kinds: Sequence[str] = ("report", "label")) -> None:
    """Resolve the scoring models of every named metric of ``kinds`` at once, before any generation.

    Raises:
        ModelNotFoundError: one message listing every missing model, the metrics that need it, every file it needs
            (weights included), the folder to put it in, and the one ``radgrpo models download`` command.

    Example:
        >>> require_all_models(["bleu4", "soft_f1", "rule_finding_f1"])  # no model needed
    """
    from radgrpo.metrics.loaders import require_models

    need: dict[str, list[str]] = {}
    for name in metrics:
        spec = get_metric(name)
        if spec.kind in kinds:
            for model in spec.models:
                need.setdefault(model, []).append(name)
    require_models(need)


def check_metrics(metrics: Iterable[str] | None) -> list[str]:
    """Validate metric names; unknown names raise ``ValueError`` listing the valid ones.

    Args:
        metrics: names, or None for :data:`DEFAULT_METRICS`.
    Returns:
        the list of names, in the given order without duplicates.

    Example:
        >>> check_metrics(["bleu4", "bleu4", "soft_f1"])
        ['bleu4', 'soft_f1']
    """
    names = list(DEFAULT_METRICS if metrics is None else dict.fromkeys(metrics))
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        hint = did_you_mean(unknown, list_metrics())
        raise ValueError(f"unknown metric(s) {unknown}{hint} (valid: {', '.join(list_metrics())})")
    return names


def result_names(derived: bool = False) -> dict[str, str]:
    """Score key -> ``results.json`` name, for the ``mean`` metrics whose two names differ.

    Args:
        derived: also the :data:`DERIVED` means over every row that has their key (``parseable`` ->
            ``format_valid_rate``).

    Example:
        >>> result_names()
        {'ap_50': 'map_50', 'ap_50_truth': 'map_50_truth'}
        >>> result_names(derived=True)["parseable"]
        'format_valid_rate'
    """
    out = {s.name: s.results[0] for s in METRICS.values() if s.aggregation == "mean" and s.results[0] != s.name}
    if derived:
        out.update({d.mean_of: d.name for d in DERIVED.values() if d.mean_of and not d.task})
    return out


def lower_is_better() -> frozenset[str]:
    """``results.json`` names of the metrics where lower is better.

    Example:
        >>> sorted(lower_is_better())
        ['radcliq']
    """
    return frozenset(r for s in METRICS.values() if not s.higher_is_better for r in s.results)


def label_row_fields() -> tuple[str, ...]:
    """Every row key the ``label`` metrics write (bookkeeping for the corpus statistics, not means).

    Example:
        >>> label_row_fields()[:2]
        ('chexbert_ref_labels', 'chexbert_hyp_labels')
    """
    return tuple(k for s in METRICS.values() for k in s.row_fields)


def metrics_help() -> str:
    """The ``radgrpo eval --metrics`` help text: every name by kind, the defaults and the models each needs.

    Example:
        >>> text = metrics_help()
        >>> all(name in text.split() for name in list_metrics())
        True
    """
    groups = (
        ("grounding", "grounding, per-sample means"),
        ("report", "reports, per-sample means"),
        ("label", "reports, corpus F1s and label-based means"),
    )
    parts = [f"{' '.join(list_metrics(kind))} ({what})" for kind, what in groups if list_metrics(kind)]
    models = "; ".join(f"{n} needs {' + '.join(s.models)}" for n, s in METRICS.items() if s.models)
    return (
        f"metric names: {'; '.join(parts)}. Default: {' '.join(DEFAULT_METRICS)}. The *_truth metrics and "
        f"recall_truth come with their metric on records that carry a drawn truth (synthetic readers world). "
        f"Model-backed metrics need their weights ({models}; fetch them with `radgrpo models download NAME`)"
    )


def _chexbert_labels() -> tuple[tuple[str, str], ...]:
    """Labels of the eight CheXbert F1s (``CXb-micro`` is the paper's micro-F1 over 14 labels)."""
    out = []
    for prefix, policy in (("chexbert", ""), ("chexbert_uneg", ", uncertain = negative")):
        for kind in ("micro", "macro"):
            for n, tag in (("14", ""), ("5", "-5")):
                out.append((f"{prefix}_{kind}_{n}", f"CXb-{kind}{tag}{f' ({policy[2:]})' if policy else ''}"))
    return tuple(out)


for _spec in (
    MetricSpec(
        "soft_f1",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_soft_f1",
        "IoU-weighted soft-F1 with Hungarian matching, the released reward's formula (reward box parser)",
        default=True,
        label="soft-F1",
        chart=True,
        per_target=True,
        target_table=True,
    ),
    MetricSpec(
        "soft_f1_dice",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_soft_f1_dice",
        "Dice-like soft-F1 2*sum(IoU)/(|P|+|G|)",
        default=True,
        label="soft-F1 (Dice)",
    ),
    MetricSpec(
        "ap_50",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_ap50",
        "RadVLM's per-sample AP at IoU 0.5 (output-order greedy matching, RadVLM's evaluation parser); "
        "its mean is mAP@0.5",
        results=("map_50",),
        default=True,
        label="mAP@0.5",
        chart=True,
        per_target=True,
        target_table=True,
    ),
    MetricSpec(
        "matched_iou",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_matched_iou",
        "mean IoU of the Hungarian-matched box pairs",
        default=True,
        label="matched IoU",
        chart=True,
        per_target=True,
    ),
    MetricSpec(
        "bleu4",
        "report",
        "radgrpo.metrics.text.bleu:score_bleu",
        "coco-caption BLEU-4 per pair (whitespace tokens, closest reference length)",
        (("n", 4),),
        default=True,
        label="BLEU-4",
        chart=True,
    ),
    MetricSpec(
        "rougeL",
        "report",
        "radgrpo.metrics.text.rouge:score_rouge_l",
        "rouge-score ROUGE-L F1 with Porter stemming",
        default=True,
        label="R-L",
        chart=True,
    ),
    MetricSpec(
        "gleu",
        "report",
        "radgrpo.metrics.text.gleu:score_gleu",
        "Google-BLEU per pair (HF google_bleu, 13a tokens; the GLEU ablation reward)",
        label="GLEU",
    ),
    MetricSpec(
        "bertscore",
        "report",
        "radgrpo.metrics.text.bertscore:score_bertscore_named",
        "BERTScore F1, distilbert-base-uncased layer 5, baseline-rescaled",
        (("name", "bertscore"),),
        models=("distilbert-base-uncased",),
        label="B-S",
    ),
    MetricSpec(
        "radgraph",
        "report",
        "radgrpo.metrics.text.radgraph:score_radgraph",
        "RadGraph-F1 (radgraph-xl; level simple, partial or complete from --radgraph_level, default complete as the "
        "paper; 0 when either report has no entities)",
        models=("radgraph-xl", "radgraph-xl-backbone"),
        label="RGF1",
    ),
    MetricSpec(
        "radcliq",
        "report",
        "radgrpo.metrics.text.radcliq:score_radcliq",
        "RadCliQ, radcliq_paper configuration (lower is better)",
        higher_is_better=False,
        models=("radgraph-xl", "radgraph-xl-backbone", "distilroberta-base", "chexbert", "bert-base-uncased"),
        label="RCQ",
        scale=1.0,
        digits=2,
    ),
    MetricSpec(
        "green",
        "report",
        "radgrpo.metrics.text.green:score_green",
        "GREEN (LLM judge, StanfordAIMI/GREEN-radllama2-7b or an OpenAI-compatible endpoint; unparseable "
        "judge outputs are None, counted in diagnostics, never scored)",
        models=("GREEN-radllama2-7b",),
        label="GREEN",
    ),
    MetricSpec(
        "chexbert",
        "label",
        "radgrpo.metrics.report_labels:chexbert_rows",
        "CheXbert F1 micro/macro over 14 and 5 labels (f1chexbert; uncertain=positive, and uncertain=negative "
        "as chexbert_uneg_*)",
        aggregation="corpus",
        models=("chexbert", "bert-base-uncased"),
        results=tuple(
            f"{p}_{k}" for p in ("chexbert", "chexbert_uneg") for k in ("micro_14", "macro_14", "micro_5", "macro_5")
        ),
        row_fields=CHEXBERT_KEYS,
        label="CXb-micro",
        labels=_chexbert_labels()[1:],
    ),
    MetricSpec(
        "rule_finding_f1",
        "label",
        "radgrpo.metrics.report_labels:rule_finding_rows",
        "named-finding micro-F1 over FINDING_LABELS read by the rule_chexpert labeller, hedged mentions "
        "named (synthetic reports; not CheXbert); also side-aware as rule_finding_f1_side and per finding as "
        "rule_finding_f1/<Label>",
        aggregation="corpus",
        results=("rule_finding_f1", "rule_finding_f1_side", "rule_finding_f1/<Label>"),
        row_fields=RULE_FINDING_KEYS,
        label="finding-F1",
        labels=(("rule_finding_f1_side", "finding-F1 (side)"), ("rule_finding_f1/<Label>", "finding-F1 <Label>")),
        chart=True,
    ),
    MetricSpec(
        "clinical_utility",
        "label",
        "radgrpo.metrics.report_labels:clinical_utility_rows",
        "declared clinical utility per report (<= 0, higher is better): minus the costs of missed, falsely named "
        "and wrong-side findings (rule_chexpert labeller, hedged = named; side-aware unless side: false); per "
        "finding as clinical_utility/<Label>; options side, costs",
        results=("clinical_utility", "clinical_utility/<Label>"),
        label="utility",
        labels=(("clinical_utility/<Label>", "utility <Label>"),),
        scale=1.0,
        digits=2,
    ),
    # truth metrics: the same scores against the drawn truth (records with meta["truth"]; computed with their metric)
    MetricSpec(
        "rule_finding_f1_truth",
        "label",
        "radgrpo.metrics.truth:rule_finding_truth_rows",
        "rule_finding_f1 against the drawn truth instead of the reference report: named-finding micro-F1, "
        "side-aware as rule_finding_f1_side_truth, per finding as rule_finding_f1_truth/<Label>",
        aggregation="corpus",
        results=("rule_finding_f1_truth", "rule_finding_f1_side_truth", "rule_finding_f1_truth/<Label>"),
        row_fields=RULE_FINDING_TRUTH_KEYS,
        truth_of="rule_finding_f1",
        label="finding-F1 vs truth",
        labels=(
            ("rule_finding_f1_side_truth", "finding-F1 (side) vs truth"),
            ("rule_finding_f1_truth/<Label>", "finding-F1 <Label> vs truth"),
        ),
    ),
    MetricSpec(
        "recall_truth",
        "label",
        "radgrpo.metrics.truth:recall_truth_rows",
        "share of the drawn findings the report names, for subtle and conspicuous ones (side-free, and on every "
        "side of the finding as recall_side_truth/<group>)",
        aggregation="corpus",
        results=(
            "recall_truth/subtle",
            "recall_truth/conspicuous",
            "recall_side_truth/subtle",
            "recall_side_truth/conspicuous",
        ),
        row_fields=RECALL_TRUTH_KEYS,
        truth_of="rule_finding_f1",
        label="recall subtle (truth)",
        labels=(
            ("recall_truth/conspicuous", "recall conspicuous (truth)"),
            ("recall_side_truth/subtle", "recall subtle (side, truth)"),
            ("recall_side_truth/conspicuous", "recall conspicuous (side, truth)"),
        ),
    ),
    MetricSpec(
        "clinical_utility_truth",
        "label",
        "radgrpo.metrics.truth:clinical_utility_truth_rows",
        "clinical_utility against the drawn truth; per finding as clinical_utility_truth/<Label>; takes "
        "clinical_utility's options",
        results=("clinical_utility_truth", "clinical_utility_truth/<Label>"),
        truth_of="clinical_utility",
        label="utility vs truth",
        labels=(("clinical_utility_truth/<Label>", "utility <Label> vs truth"),),
        scale=1.0,
        digits=2,
    ),
    MetricSpec(
        "soft_f1_truth",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_soft_f1",
        "soft_f1 against the drawn boxes of the target finding instead of the reader's boxes",
        truth_of="soft_f1",
        label="soft-F1 vs truth",
        per_target=True,
        target_table=True,
    ),
    MetricSpec(
        "soft_f1_dice_truth",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_soft_f1_dice",
        "soft_f1_dice against the drawn boxes of the target finding",
        truth_of="soft_f1_dice",
        label="soft-F1 (Dice) vs truth",
    ),
    MetricSpec(
        "ap_50_truth",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_ap50",
        "ap_50 against the drawn boxes of the target finding; its mean is map_50_truth",
        results=("map_50_truth",),
        truth_of="ap_50",
        label="mAP@0.5 vs truth",
        per_target=True,
        target_table=True,
    ),
    MetricSpec(
        "matched_iou_truth",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_matched_iou",
        "matched_iou against the drawn boxes of the target finding",
        truth_of="matched_iou",
        label="matched IoU vs truth",
        per_target=True,
    ),
):
    register_metric(_spec)

# the results radgrpo.eval.summarize derives itself (means of row keys that are no metric, counts, diagnostics)
for _derived in (
    DerivedSpec(
        "format_valid_rate",
        "share of grounding answers with at least one parseable box (mean of the rows' parseable)",
        mean_of="parseable",
        label="format-valid",
        scale=100.0,
        digits=1,
        per_target=True,
    ),
    DerivedSpec(
        "anc",
        "ANC, the paper's average number of characters of the report answers (mean answer_chars of "
        "report_generation rows; characters)",
        mean_of="answer_chars",
        task="report_generation",
        label="ANC",
        digits=0,
        higher_is_better=None,
    ),
    DerivedSpec("n", "number of scored samples", digits=0, higher_is_better=None, count=True),
    DerivedSpec("finished_rate", "share of generations that stopped on EOS", higher_is_better=None, diagnostic=True),
    DerivedSpec("mean_n_tokens", "mean generated tokens per sample", higher_is_better=None, diagnostic=True),
    DerivedSpec(
        "think_closed_rate",
        "share of answers whose think block is closed (thinking runs)",
        higher_is_better=None,
        diagnostic=True,
    ),
    DerivedSpec(
        "mean_pred_boxes", "mean boxes per grounding answer (reward parser)", higher_is_better=None, diagnostic=True
    ),
    DerivedSpec(
        "mean_thought_words", "mean words of the thought (thinking runs)", higher_is_better=None, diagnostic=True
    ),
    DerivedSpec(
        "mean_thought_tokens", "mean tokens of the thought (thinking runs)", higher_is_better=None, diagnostic=True
    ),
    DerivedSpec(
        "well_formed_rate",
        "share of thinking answers with a closed think block and a non-empty answer",
        higher_is_better=None,
        diagnostic=True,
    ),
    DerivedSpec(
        "n_grounding_without_reference",
        "grounding records without a reference box (they score 0)",
        digits=0,
        higher_is_better=None,
        diagnostic=True,
        count=True,
    ),
    DerivedSpec(
        "n_unscored_<metric>",
        "rows whose <metric> could not be scored (None, e.g. an unparseable GREEN judgement; left out of the mean)",
        digits=0,
        higher_is_better=None,
        diagnostic=True,
        count=True,
    ),
    DerivedSpec("tokens_per_s", "generation throughput, tokens per second", digits=1, higher_is_better=None),
    DerivedSpec("samples_per_s", "generation throughput, samples per second", digits=1, higher_is_better=None),
):
    register_derived(_derived)

#: computed when no metric names are given (grounding ones on grounding rows, report ones on report rows)
DEFAULT_METRICS: tuple[str, ...] = tuple(n for n, s in METRICS.items() if s.default)
