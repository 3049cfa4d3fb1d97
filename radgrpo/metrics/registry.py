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
  (:func:`with_truth`); other records get no value (absent, not zero).

Not the reward table (``radgrpo.rewards.registry``); rewards that wrap a metric (``bleu4``, ``gleu``) take the
function from here. Definitions of every metric: docs/metrics.md.

Example:
    >>> spec = get_metric("soft_f1")
    >>> [round(v, 4) for v in spec.score([[(0.38, 0.47, 0.76, 0.62)]], ["[0.35, 0.51, 0.75, 0.64]"])]
    [0.7468]
    >>> spec.kind, spec.aggregation, get_metric("ap_50").results, get_metric("radcliq").higher_is_better
    ('grounding', 'mean', ('map_50',), False)
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

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"metric aggregation must be one of {list(AGGREGATIONS)}, got {self.aggregation!r}")
        if self.target.count(":") != 1 or not all(self.target.split(":")):
            raise ValueError(f"metric target must be 'module:function', got {self.target!r}")
        if not self.results:
            object.__setattr__(self, "results", (self.name,))

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


#: the table, in ``--metrics`` help order
METRICS: dict[str, MetricSpec] = {}


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


def result_names() -> dict[str, str]:
    """Score key -> ``results.json`` name, for the ``mean`` metrics whose two names differ.

    Example:
        >>> result_names()
        {'ap_50': 'map_50', 'ap_50_truth': 'map_50_truth'}
    """
    return {s.name: s.results[0] for s in METRICS.values() if s.aggregation == "mean" and s.results[0] != s.name}


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


for _spec in (
    MetricSpec(
        "soft_f1",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_soft_f1",
        "IoU-weighted soft-F1 with Hungarian matching, the released reward's formula (reward box parser)",
        default=True,
    ),
    MetricSpec(
        "soft_f1_dice",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_soft_f1_dice",
        "Dice-like soft-F1 2*sum(IoU)/(|P|+|G|)",
        default=True,
    ),
    MetricSpec(
        "ap_50",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_ap50",
        "RadVLM's per-sample AP at IoU 0.5 (output-order greedy matching, RadVLM's evaluation parser); "
        "its mean is mAP@0.5",
        results=("map_50",),
        default=True,
    ),
    MetricSpec(
        "matched_iou",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_matched_iou",
        "mean IoU of the Hungarian-matched box pairs",
        default=True,
    ),
    MetricSpec(
        "bleu4",
        "report",
        "radgrpo.metrics.text.bleu:score_bleu",
        "coco-caption BLEU-4 per pair (whitespace tokens, closest reference length)",
        (("n", 4),),
        default=True,
    ),
    MetricSpec(
        "rougeL",
        "report",
        "radgrpo.metrics.text.rouge:score_rouge_l",
        "rouge-score ROUGE-L F1 with Porter stemming",
        default=True,
    ),
    MetricSpec(
        "gleu",
        "report",
        "radgrpo.metrics.text.gleu:score_gleu",
        "Google-BLEU per pair (HF google_bleu, 13a tokens; the GLEU ablation reward)",
    ),
    MetricSpec(
        "bertscore",
        "report",
        "radgrpo.metrics.text.bertscore:score_bertscore_named",
        "BERTScore F1, distilbert-base-uncased layer 5, baseline-rescaled",
        (("name", "bertscore"),),
        models=("distilbert-base-uncased",),
    ),
    MetricSpec(
        "radgraph",
        "report",
        "radgrpo.metrics.text.radgraph:score_radgraph",
        "RadGraph-F1 (radgraph-xl; level simple, partial or complete from --radgraph_level, default complete as the "
        "paper; 0 when either report has no entities)",
        models=("radgraph-xl", "radgraph-xl-backbone"),
    ),
    MetricSpec(
        "radcliq",
        "report",
        "radgrpo.metrics.text.radcliq:score_radcliq",
        "RadCliQ, radcliq_paper configuration (lower is better)",
        higher_is_better=False,
        models=("radgraph-xl", "radgraph-xl-backbone", "distilroberta-base", "chexbert", "bert-base-uncased"),
    ),
    MetricSpec(
        "green",
        "report",
        "radgrpo.metrics.text.green:score_green",
        "GREEN (LLM judge, StanfordAIMI/GREEN-radllama2-7b or an OpenAI-compatible endpoint; unparseable "
        "judge outputs are None, counted in diagnostics, never scored)",
        models=("GREEN-radllama2-7b",),
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
    ),
    MetricSpec(
        "clinical_utility",
        "label",
        "radgrpo.metrics.report_labels:clinical_utility_rows",
        "declared clinical utility per report (<= 0, higher is better): minus the costs of missed, falsely named "
        "and wrong-side findings (rule_chexpert labeller, hedged = named; side-aware unless side: false); per "
        "finding as clinical_utility/<Label>; options side, costs",
        results=("clinical_utility", "clinical_utility/<Label>"),
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
    ),
    MetricSpec(
        "clinical_utility_truth",
        "label",
        "radgrpo.metrics.truth:clinical_utility_truth_rows",
        "clinical_utility against the drawn truth; per finding as clinical_utility_truth/<Label>; takes "
        "clinical_utility's options",
        results=("clinical_utility_truth", "clinical_utility_truth/<Label>"),
        truth_of="clinical_utility",
    ),
    MetricSpec(
        "soft_f1_truth",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_soft_f1",
        "soft_f1 against the drawn boxes of the target finding instead of the reader's boxes",
        truth_of="soft_f1",
    ),
    MetricSpec(
        "soft_f1_dice_truth",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_soft_f1_dice",
        "soft_f1_dice against the drawn boxes of the target finding",
        truth_of="soft_f1_dice",
    ),
    MetricSpec(
        "ap_50_truth",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_ap50",
        "ap_50 against the drawn boxes of the target finding; its mean is map_50_truth",
        results=("map_50_truth",),
        truth_of="ap_50",
    ),
    MetricSpec(
        "matched_iou_truth",
        "grounding",
        "radgrpo.metrics.grounding.answers:score_matched_iou",
        "matched_iou against the drawn boxes of the target finding",
        truth_of="matched_iou",
    ),
):
    register_metric(_spec)

#: computed when no metric names are given (grounding ones on grounding rows, report ones on report rows)
DEFAULT_METRICS: tuple[str, ...] = tuple(n for n, s in METRICS.items() if s.default)
