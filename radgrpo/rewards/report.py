"""Offline lexical report rewards, named for what they are: BLEU-4 and GLEU (paper.md §5.2 "GLEU" ablation).

Both score the completion against the ``reference_report`` column with ``radgrpo.metrics.text`` (the same code as
evaluation): ``bleu4`` = coco-caption BLEU-4 per pair, ``gleu`` = Google-BLEU as HF ``evaluate``'s ``google_bleu``
with ``references=[[gt]]`` (13a tokens). Thinking samples (``thinking`` column true) are scored on the stripped text
after the LAST ``</think>`` (``rfind``, as the paper's report reward client does); a missing tag gives 0.0 (the
paper's GLEU/BERTScore rule, §5.4). No lowercasing or truncation (the paper's GLEU reward passes raw strings).
Samples of non-report tasks get ``None``; a report sample with an empty or missing reference fails (``None``,
counted and logged). Logged component: ``answer_found`` (thinking samples).

The model-backed report rewards (−RadCliQ, BERTScore, RadGraph F1) are not here: they live in
``radgrpo.rewards.clinical`` and subclass :class:`radgrpo.rewards.base.Reward` with a batched ``score_batch``.

Example:
    >>> gleu_reward(["The heart is enlarged ."], reference_report=["The heart is enlarged."])
    [1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from radgrpo.metrics.text.bleu import score_bleu
from radgrpo.metrics.text.gleu import score_gleu
from radgrpo.rewards.base import REPORT_TASKS, Reward, split_thinking
from radgrpo.rewards.composite import RewardBreakdown


def bleu4_pairs(refs: list[str], hyps: list[str]) -> np.ndarray:
    """Per-pair coco-caption BLEU-4 (module-level so that rewards pickle).

    Example:
        >>> bleu4_pairs(["a b c d"], ["a b c d"]).round(6).tolist()
        [1.0]
    """
    return score_bleu(refs, hyps, n=4)


class LexicalReportReward(Reward):
    """A per-pair text metric ``metric(refs, hyps) -> array`` as a TRL reward (picklable if ``metric`` is).

    Args:
        name: ``__name__``.
        metric: module-level per-pair metric.
        missing_think_score: reward when a thinking sample has no ``</think>`` (paper: 0.0).
        thinking: force the thinking rule on/off; ``None`` reads the ``thinking`` column (absent -> off).

    Example:
        >>> r = LexicalReportReward("gleu_think", score_gleu, thinking=True)
        >>> r(["<think>a</think> no effusion", "no effusion"], reference_report=["no effusion"] * 2)
        [1.0, 0.0]
    """

    required_columns = ("reference_report",)

    def __init__(self, name: str, metric: Callable[[list[str], list[str]], Any], missing_think_score: float = 0.0,
                 thinking: bool | None = None) -> None:
        super().__init__(name, tasks=REPORT_TASKS)
        self.metric = metric
        self.missing_think_score = float(missing_think_score)
        self.thinking = thinking

    def _answer(self, text: str, row: dict[str, Any]) -> tuple[str | None, dict[str, float]]:
        thinking = bool(row.get("thinking")) if self.thinking is None else self.thinking
        if not thinking:
            return text.strip(), {}
        answer, found = split_thinking(text, which="last")
        return (answer if found else None), {"answer_found": float(found)}

    @staticmethod
    def _reference(row: dict[str, Any]) -> str:
        ref = row.get("reference_report")
        if not isinstance(ref, str) or not ref.strip():
            raise ValueError(f"report sample without a reference_report (got {ref!r})")
        return ref

    def score_batch(self, texts: list[str], rows: list[dict[str, Any]]) -> list[RewardBreakdown]:
        """Score all applicable samples with one metric call.

        Args:
            texts: completion texts.
            rows: their columns (``reference_report``, optional ``thinking``).
        Returns:
            one breakdown per sample.
        """
        refs = [self._reference(r) for r in rows]
        answers = [self._answer(t, r) for t, r in zip(texts, rows)]
        todo = [i for i, (a, _) in enumerate(answers) if a is not None]
        scores = self.metric([refs[i] for i in todo], [answers[i][0] for i in todo]) if todo else []
        if len(scores) != len(todo):
            raise RuntimeError(f"{self.__name__}: metric returned {len(scores)} scores for {len(todo)} pairs")
        out = [RewardBreakdown(self.missing_think_score, comps) for _, comps in answers]
        for i, s in zip(todo, scores):
            out[i] = RewardBreakdown(float(s), answers[i][1])
        return out


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
    return LexicalReportReward(name, score_gleu, thinking=thinking)


bleu4_reward = make_bleu4_reward()
gleu_reward = make_gleu_reward()
