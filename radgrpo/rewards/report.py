"""Offline lexical report rewards, named for what they are: BLEU-4 and GLEU (paper.md §5.2 "GLEU" ablation).

Both score the completion against the ``reference_report`` column with ``radgrpo.metrics.text`` (the same code as
evaluation). Thinking samples (``thinking`` column true) are scored on the text after the LAST ``</think>``, as the
paper's report reward client does; a missing tag gives 0.0 (the paper's GLEU/BERTScore rule; −RadCliQ uses −3, see
``radgrpo.rewards.clinical``). No lowercasing or truncation (the paper's GLEU reward passes raw strings). Samples of
non-report tasks get ``None``. The model-backed rewards (−RadCliQ, BERTScore, RadGraph F1) live in ``clinical.py``.

Example:
    >>> gleu_reward(["the heart is enlarged ."], reference_report=["the heart is enlarged ."])
    [1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from radgrpo.metrics.text.bleu import score_bleu
from radgrpo.metrics.text.gleu import score_gleu
from radgrpo.rewards.base import FailureCounter, applies, column, completion_text, log_sub_scores, split_thinking

REPORT_TASKS = ("report_generation",)


class LexicalReportReward:
    """A per-pair text metric as a TRL reward (picklable; the metric function is module-level)."""

    def __init__(self, name: str, metric: Callable[[list[str], list[str]], np.ndarray],
                 missing_think_score: float = 0.0) -> None:
        self.__name__ = name
        self.metric = metric
        self.missing_think_score = missing_think_score
        self.failures = FailureCounter(name)

    def score(self, text: str, reference: str, thinking: bool = False) -> float:
        """Reward of one completion text against its reference report."""
        if thinking:
            text, ok = split_thinking(text, which="last")
            if not ok:
                return self.missing_think_score
        return float(self.metric([reference], [text])[0])

    def __call__(self, completions: list[Any], reference_report: list[Any] | None = None,
                 **kwargs: Any) -> list[float | None]:
        n = len(completions)
        refs = column({"r": reference_report}, "r", n)
        tasks = column(kwargs, "task", n)
        thinking = column(kwargs, "thinking", n, False)
        out: list[float | None] = []
        for c, ref, task, th in zip(completions, refs, tasks, thinking):
            if not applies(task, REPORT_TASKS) or not ref:
                out.append(None)
                continue
            out.append(self.failures.run(lambda c=c, ref=ref, th=th: self.score(completion_text(c), str(ref),
                                                                                 bool(th))))
        log_sub_scores(kwargs, f"{self.__name__}/mean", out)
        return out


def _bleu4(refs: list[str], hyps: list[str]) -> np.ndarray:
    return score_bleu(refs, hyps, n=4)


bleu4_reward = LexicalReportReward("bleu4", _bleu4)
gleu_reward = LexicalReportReward("gleu", score_gleu)
