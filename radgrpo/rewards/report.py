"""Offline lexical report rewards, named for what they are: BLEU-4 and GLEU (the paper's "GLEU" ablation).

Both score the completion against the ``reference_report`` column with the metric table's functions
(``radgrpo.metrics.registry``, the same code as evaluation's ``bleu4`` and ``gleu``): ``bleu4`` = coco-caption BLEU-4
per pair, ``gleu`` = Google-BLEU as HF ``evaluate``'s ``google_bleu``
with ``references=[[gt]]`` (13a tokens). Thinking samples (``thinking`` column true) are scored on the stripped text
after the LAST ``</think>`` (``rfind``, as the paper's report reward client does); a missing tag gives 0.0 (the
paper's GLEU/BERTScore rule; docs/rewards.md). No lowercasing or truncation (the paper's GLEU reward passes raw strings).
Samples of non-report tasks get ``None``; a report sample with an empty or missing reference fails (``None``,
counted and logged). Logged component: ``answer_found`` (thinking samples).

``rule_finding_f1`` (:func:`make_rule_finding_f1_reward`) is the offline clinical reward of the synthetic demo: the
per-report F1 of the positive findings the ``rule_chexpert`` labeller reads in completion and reference
(:func:`radgrpo.metrics.text.rule_labeler.rule_finding_sample_f1`, side-aware by default), optionally blended with
BLEU-4. It is exact on the synthetic generator's reports and approximate elsewhere; it is not CheXbert.
``clinical_utility`` (:func:`make_clinical_utility_reward`) is the project's declared clinical utility
(:func:`radgrpo.metrics.text.utility.score_clinical_utility`, the evaluation metric's code): minus the per-finding
costs of missed, falsely named and wrong-side findings, side-aware by default. All of them read hedged mentions
("possible small left pleural effusion") as naming the finding.

The model-backed report rewards (−RadCliQ, BERTScore, RadGraph F1) are not here: they live in
``radgrpo.rewards.clinical``. All report rewards share :class:`radgrpo.rewards.base.ReportReward` (answer
extraction, reference check, one metric call per batch).

Example:
    >>> gleu_reward(["The heart is enlarged ."], reference_report=["The heart is enlarged."])
    [1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from radgrpo.metrics.registry import get_metric
from radgrpo.metrics.text.rule_labeler import finding_counts, rule_finding_sample_f1
from radgrpo.metrics.text.utility import check_costs, score_clinical_utility
from radgrpo.rewards.base import ReportReward

#: per-pair coco-caption BLEU-4 ``(refs, hyps) -> array``: the metric table's ``bleu4`` function (picklable)
bleu4_pairs: Callable[[list[str], list[str]], Any] = get_metric("bleu4").function()
#: per-pair Google-BLEU ``(refs, hyps) -> array``: the metric table's ``gleu`` function
gleu_pairs: Callable[[list[str], list[str]], Any] = get_metric("gleu").function()


class LexicalReportReward(ReportReward):
    """A per-pair text metric ``metric(refs, hyps) -> array`` as a TRL reward (picklable if ``metric`` is).

    Args:
        name: ``__name__``.
        metric: module-level per-pair metric, references first (e.g. a metric table function).
        missing_think_score: reward when a thinking sample has no ``</think>`` (paper: 0.0); ``None``: score it as
            an empty answer.
        thinking: force the thinking rule on/off; ``None`` reads the ``thinking`` column (absent -> off).

    Example:
        >>> r = LexicalReportReward("gleu_think", gleu_pairs, thinking=True)
        >>> r(["<think>a</think> no effusion", "no effusion"], reference_report=["no effusion"] * 2)
        [1.0, 0.0]
    """

    def __init__(
        self,
        name: str,
        metric: Callable[[list[str], list[str]], Any],
        missing_think_score: float | None = 0.0,
        thinking: bool | None = None,
    ) -> None:
        super().__init__(name, thinking=thinking, missing_think_score=missing_think_score)
        self.metric = metric

    def score_pairs(self, refs: list[str], answers: list[str]) -> Sequence[float]:
        """``metric(refs, answers)`` as floats."""
        return [float(v) for v in self.metric(refs, answers)]


def make_bleu4_reward(thinking: bool | None = None, name: str = "bleu4") -> LexicalReportReward:
    """BLEU-4 report reward (registry name ``bleu4``).

    Example:
        >>> round(make_bleu4_reward()(["no acute cardiopulmonary process"],
        ...                           reference_report=["no acute cardiopulmonary process"])[0], 6)
        1.0
    """
    return LexicalReportReward(name, bleu4_pairs, thinking=thinking)


def make_gleu_reward(thinking: bool | None = None, name: str = "gleu") -> LexicalReportReward:
    """GLEU report reward, the paper's GLEU ablation (registry name ``gleu``).

    Example:
        >>> make_gleu_reward()(["a b x"], reference_report=["a b c d"])
        [0.3]
    """
    return LexicalReportReward(name, gleu_pairs, thinking=thinking)


def _lexical_weight(value: float) -> float:
    w = float(value)
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"lexical_weight must lie in [0, 1], got {value}")
    return w


def rule_finding_f1_pairs(
    refs: list[str], hyps: list[str], side: bool = True, lexical_weight: float = 0.0
) -> np.ndarray:
    """Per pair ``(1 - lexical_weight) * rule-finding F1 + lexical_weight * BLEU-4`` (module-level so it pickles).

    Args:
        refs: reference reports (first, as every ``LexicalReportReward`` metric takes them).
        hyps: completions (answers), aligned with ``refs``.
        side: side-aware findings (:func:`radgrpo.metrics.text.rule_labeler.finding_set`).
        lexical_weight: BLEU-4 share in [0, 1]; 0 skips BLEU entirely.

    Returns:
        float array, one value per pair.

    Example:
        >>> rule_finding_f1_pairs(["Small left pleural effusion."], ["Small bilateral pleural effusions."]).tolist()
        [0.6666666666666666]
        >>> rule_finding_f1_pairs(["Small left pleural effusion."], ["Small bilateral pleural effusions."],
        ...                       side=False).tolist()
        [1.0]
    """
    w = _lexical_weight(lexical_weight)
    f1 = np.asarray(rule_finding_sample_f1(hyps, refs, side=side), dtype=np.float64)
    if w == 0.0:
        return f1
    return (1.0 - w) * f1 + w * np.asarray(bleu4_pairs(refs, hyps), dtype=np.float64)


def make_rule_finding_f1_reward(
    side: bool = True, lexical_weight: float = 0.0, thinking: bool | None = None, name: str = "rule_finding_f1"
) -> LexicalReportReward:
    """Rule-labeller finding-F1 report reward (registry name ``rule_finding_f1``; synthetic/offline, not CheXbert).

    Args:
        side: compare side-aware findings (a right effusion for a left one earns nothing for that finding).
        lexical_weight: share of BLEU-4 in the reward, in [0, 1].
        thinking: force the thinking rule on/off; ``None`` reads the ``thinking`` column.
        name: ``__name__`` (what TRL logs).

    Returns:
        a picklable :class:`LexicalReportReward` (its metric is a ``functools.partial`` of
        :func:`rule_finding_f1_pairs`).

    Example:
        >>> r = make_rule_finding_f1_reward()
        >>> r(["Moderate cardiomegaly. Small right pleural effusion.", "[0.1, 0.1, 0.5, 0.5]"],
        ...   reference_report=["Moderate cardiomegaly. Small left pleural effusion.", "Mild cardiomegaly."],
        ...   task=["report_generation", "abnormality_grounding"])
        [0.5, None]
    """
    w = _lexical_weight(lexical_weight)
    return LexicalReportReward(
        name, partial(rule_finding_f1_pairs, side=bool(side), lexical_weight=w), thinking=thinking
    )


def rule_finding_errors_pairs(
    refs: list[str], hyps: list[str], false_positive_cost: float = 0.7, side: bool = False
) -> np.ndarray:
    """Per pair ``-(missed findings + false_positive_cost × falsely named findings)`` (module-level so it pickles).

    A report's finding errors as a cost: with group-relative advantages a constant offset does not matter, so this
    is a per-label utility in which naming a finding pays when the policy believes it with probability above
    ``false_positive_cost / (1 + false_positive_cost)`` (0.41 for 0.7, near the threshold that maximises a corpus
    micro-F1 of about 0.8), where per-report F1 punishes a false finding on a normal study hardest.

    Args:
        refs: reference reports.
        hyps: completions (answers), aligned with ``refs``.
        false_positive_cost: cost of one falsely named finding, relative to one missed finding (> 0).
        side: count side-aware findings (a wrong side is one miss plus one false finding).

    Returns:
        float array (≤ 0), one value per pair.

    Example:
        >>> rule_finding_errors_pairs(["Small left pleural effusion. No pneumothorax."],
        ...                           ["Small left pleural effusion. Small right apical pneumothorax."]).tolist()
        [-0.7]
    """
    if false_positive_cost <= 0:
        raise ValueError(f"false_positive_cost must be > 0, got {false_positive_cost}")
    counts = finding_counts(hyps, refs, side=side)
    return -(counts[:, 2] + false_positive_cost * counts[:, 1]).astype(np.float64)


def make_rule_finding_errors_reward(
    false_positive_cost: float = 0.7,
    side: bool = False,
    thinking: bool | None = None,
    name: str = "rule_finding_errors",
) -> LexicalReportReward:
    """Finding-error report reward (registry name ``rule_finding_errors``; synthetic/offline, not CheXbert).

    Args:
        false_positive_cost: cost of a falsely named finding relative to a missed one.
        side: side-aware counting.
        thinking: force the thinking rule on/off; ``None`` reads the ``thinking`` column. A thinking sample without
            ``</think>`` is scored as an empty report (all findings missed), not 0, which is this reward's best value.
        name: ``__name__`` (what TRL logs).

    Returns:
        a picklable :class:`LexicalReportReward` over :func:`rule_finding_errors_pairs`.

    Example:
        >>> make_rule_finding_errors_reward()(["Moderate cardiomegaly.", "No pneumothorax."],
        ...     reference_report=["Moderate cardiomegaly. Small left pleural effusion.", "Mild cardiomegaly."])
        [-1.0, -1.0]
    """
    if false_positive_cost <= 0:
        raise ValueError(f"false_positive_cost must be > 0, got {false_positive_cost}")
    return LexicalReportReward(
        name,
        partial(rule_finding_errors_pairs, false_positive_cost=float(false_positive_cost), side=bool(side)),
        missing_think_score=None,  # 0 is this reward's best value: a missing </think> is scored as an empty report
        thinking=thinking,
    )


def clinical_utility_pairs(
    refs: list[str], hyps: list[str], side: bool = True, costs: dict[str, Any] | None = None
) -> list[float]:
    """Per pair, the clinical utility of the completion against the reference (module-level so it pickles).

    Args:
        refs: reference reports.
        hyps: completions (answers), aligned with ``refs``.
        side: side-aware (a finding named on the wrong side costs ``wrong_side``).
        costs: overrides of the declared costs (label -> {miss, false, wrong_side}).

    Returns:
        one float (<= 0) per pair.

    Example:
        >>> clinical_utility_pairs(["Small left apical pneumothorax."], ["Small right apical pneumothorax."])
        [-3.0]
    """
    return score_clinical_utility(refs, hyps, side=side, costs=costs)


def make_clinical_utility_reward(
    side: bool = True,
    costs: dict[str, Any] | None = None,
    thinking: bool | None = None,
    name: str = "clinical_utility",
) -> LexicalReportReward:
    """The declared clinical utility as a report reward (registry name ``clinical_utility``; synthetic/offline).

    Per report, minus the costs of the findings the completion misses, names falsely or names on the wrong side,
    against ``reference_report`` (:mod:`radgrpo.metrics.text.utility`, the ``clinical_utility`` metric's code; hedged
    mentions name their finding). Its best value is 0. Group-relative advantages make the policy name a finding
    exactly when it believes it above ``false / (miss + false)``
    (:func:`radgrpo.metrics.text.utility.decision_thresholds`).

    Args:
        side: side-aware utility (default); False: a wrong side costs nothing.
        costs: label -> ``{"miss", "false", "wrong_side"}`` laid over the declared costs (validated here: an unknown
            label or key raises ``ValueError``).
        thinking: force the thinking rule on/off; ``None`` reads the ``thinking`` column. A thinking sample without
            ``</think>`` is scored as an empty report (every finding missed), not 0, which is this reward's best value.
        name: ``__name__`` (what TRL logs).

    Returns:
        a picklable :class:`LexicalReportReward` over :func:`clinical_utility_pairs`.

    Example:
        >>> r = make_clinical_utility_reward()
        >>> r(["Mild cardiomegaly. Small right pleural effusion.", "[0.1, 0.1, 0.5, 0.5]"],
        ...   reference_report=["Mild cardiomegaly. Possible small left pleural effusion.", "Mild cardiomegaly."],
        ...   task=["report_generation", "abnormality_grounding"])
        [-2.0, None]
    """
    check_costs(costs)  # fail at construction, not in the first batch
    return LexicalReportReward(
        name,
        partial(clinical_utility_pairs, side=bool(side), costs=dict(costs or {})),
        missing_think_score=None,  # 0 is this reward's best value: a missing </think> is scored as an empty report
        thinking=thinking,
    )


bleu4_reward = make_bleu4_reward()
gleu_reward = make_gleu_reward()
