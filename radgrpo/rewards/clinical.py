"""Model-backed report rewards with the paper's rules: −RadCliQ, BERTScore, RadGraph F1 (docs/rewards.md).

What it is: TRL-signature rewards (``fn(completions, **columns) -> list[float | None]``, see ``rewards/base.py``)
that score the completion against the ``reference_report`` column with the batched scorers of
``radgrpo.metrics.text`` (the same code as evaluation), one model call per reward call:

- ``radcliq`` = −RadCliQ (configuration ``radcliq_paper`` by default: RadGraph-XL, BLEU-4, first 2048 characters,
  lowercased; a prediction or reference of ≤ 5 characters -> −3; a thinking sample without ``</think>`` -> −3).
  ``config="radcliq_v1"`` gives −RadCliQ-v1 of CXR-Report-Metric instead (its own rules; the ``</think>`` rule kept).
- ``bertscore`` = BERTScore F1 (distilbert-base-uncased, layer 5, rescaled), texts cut to 2048 characters and
  lowercased; ≤ 5 characters -> 0.0; missing ``</think>`` -> 0.0.
- ``radgraph_<level>`` = RadGraph F1 at ``level`` (``complete`` in the paper; ``simple``/``partial``/``radcliq``
  also), RadGraph-XL, the same truncation/lowercasing, ≤ 5 characters -> 0.0, missing ``</think>`` -> 0.0.

Thinking samples (``thinking`` column true, or ``thinking=True``) are scored on the stripped text after the LAST
``</think>`` (the paper's report client). Sub-scores are logged through TRL's ``log_metric``/``log_extra``
(``radcliq/bertscore``, ``radcliq/semb``...). Samples of other tasks get ``None``. Deliberate difference from the
paper's reward server: an exception is not turned into −3 (a silent score); the batch is retried per sample and the
failing samples get ``None``, counted and logged (``rewards/base.py``). Models load on the first call, not at
construction, and are not pickled (a pickled reward reloads them where it is unpickled).

Example:
    >>> r = make_radcliq_reward(thinking=True)
    >>> r.__name__, r(["no think tag here"], reference_report=["No acute process."])
    ('radcliq', [-3.0])
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from radgrpo.rewards.base import ReportReward
from radgrpo.rewards.composite import RewardBreakdown

#: the paper's report-reward text rules (docs/rewards.md)
MAX_CHARS = 2048
SHORT_CHARS = 5
RADGRAPH_LEVELS = ("simple", "partial", "complete", "radcliq")


class ClinicalReportReward(ReportReward):
    """A model-backed :class:`~radgrpo.rewards.base.ReportReward`: the scorer is built on first use, not pickled.

    Args:
        name: ``__name__`` (TRL logs ``rewards/<name>/mean``).
        thinking: force the thinking rule on/off; ``None`` reads the ``thinking`` column (absent -> off).
        missing_think_score: reward of a thinking sample without ``</think>``.
        scorer: an already built scorer (tests, benchmarks); default: built by :meth:`build_scorer` on first use.
        batch_size: pairs per scoring call (0: every pair of a reward call at once); bounds the scorer's memory.
    """

    def __init__(
        self, name: str, thinking: bool | None, missing_think_score: float, scorer: Any = None, batch_size: int = 0
    ) -> None:
        super().__init__(name, thinking=thinking, missing_think_score=missing_think_score, batch_size=batch_size)
        self._scorer = scorer

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_scorer"] = None  # models are reloaded where the reward is unpickled
        return state

    @property
    def scorer(self) -> Any:
        """The loaded scorer (built on first access)."""
        if self._scorer is None:
            self._scorer = self.build_scorer()
        return self._scorer

    def build_scorer(self) -> Any:
        """Load the metric's scorer (subclasses)."""
        raise NotImplementedError


def _paper_text(text: str) -> str:
    return text[:MAX_CHARS].lower()


def _is_short(ref: str, answer: str) -> bool:
    return len(answer) <= SHORT_CHARS or len(ref) <= SHORT_CHARS


class RadCliQReward(ClinicalReportReward):
    """−RadCliQ per sample (lower RadCliQ is better, so the reward is its negative).

    Args:
        name: ``__name__``.
        config: ``"radcliq_paper"`` (the paper's reward) or ``"radcliq_v1"``.
        thinking: see :class:`ClinicalReportReward`.
        missing_think_score: −3 (paper).
        model_dirs, device, dtype: passed to :class:`radgrpo.metrics.text.radcliq.RadCliQScorer` (dtype
            ``"float32"``, the default, or ``"bfloat16"`` for GPU speed).
        scorer: a prebuilt ``RadCliQScorer``.
    """

    def __init__(
        self,
        name: str = "radcliq",
        config: str = "radcliq_paper",
        thinking: bool | None = None,
        missing_think_score: float = -3.0,
        model_dirs: dict[str, str | os.PathLike] | None = None,
        device: str | None = None,
        scorer: Any = None,
        dtype: str = "float32",
        batch_size: int = 0,
    ) -> None:
        super().__init__(name, thinking, missing_think_score, scorer, batch_size)
        self.config, self.model_dirs, self.device, self.dtype = config, model_dirs, device, dtype

    def required_models(self) -> dict[str, str | None]:
        """The models of the ``radcliq`` metric, with any ``model_dirs`` folder given for them."""
        keys = {
            "radgraph-xl": "radgraph",
            "radgraph-xl-backbone": "radgraph_backbone",
            "chexbert": "chexbert",
            "bert-base-uncased": "chexbert_bert",
            "distilroberta-base": "bertscore",
        }
        dirs = self.model_dirs or {}
        return {m: (str(dirs[k]) if dirs.get(k) else None) for m, k in keys.items()}

    def build_scorer(self) -> Any:
        """A ``RadCliQScorer`` of the configuration (components load on first use)."""
        from radgrpo.metrics.text.radcliq import RadCliQScorer

        return RadCliQScorer(self.config, model_dirs=self.model_dirs, device=self.device, dtype=self.dtype)

    def score_pairs(self, refs: list[str], answers: list[str]) -> list[RewardBreakdown]:
        """−RadCliQ with the features as logged components (short pairs: ``short`` = 1, no features)."""
        scores, feats = self.scorer.score_with_features(refs, answers)
        out = []
        for i, s in enumerate(scores):
            comps = {"radcliq": float(s)}
            short = bool(np.isnan(feats["bleu"][i]))
            comps["short"] = float(short)
            if not short:
                comps.update({k: float(v[i]) for k, v in feats.items()})
            out.append(RewardBreakdown(-float(s), comps))
        return out


class BERTScoreReward(ClinicalReportReward):
    """BERTScore F1 of the named configuration, with the paper's 2048-character/lowercase/short rules.

    Args:
        name: ``__name__``.
        config: ``"bertscore"`` (paper: distilbert-base-uncased, layer 5, rescaled) or ``"bertscore_radcliq"``.
        thinking, missing_think_score: see :class:`ClinicalReportReward` (paper: 0.0).
        short_score: reward of a prediction/reference of ≤ 5 characters (paper: 0.0).
        model_dir, device: passed to ``BERTScorer.from_config``.
        scorer: a prebuilt ``BERTScorer`` (or any ``fn(refs, hyps) -> F1 array``).
    """

    def __init__(
        self,
        name: str = "bertscore",
        config: str = "bertscore",
        thinking: bool | None = None,
        missing_think_score: float = 0.0,
        short_score: float = 0.0,
        model_dir: str | os.PathLike | None = None,
        device: str | None = None,
        scorer: Any = None,
        batch_size: int = 0,
    ) -> None:
        super().__init__(name, thinking, missing_think_score, scorer, batch_size)
        self.config, self.model_dir, self.device, self.short_score = config, model_dir, device, float(short_score)

    def required_models(self) -> dict[str, str | None]:
        """The configuration's BERT model (``bertscore``: distilbert-base-uncased; ``bertscore_radcliq``: distilroberta)."""
        model = "distilroberta-base" if self.config == "bertscore_radcliq" else "distilbert-base-uncased"
        return {model: str(self.model_dir) if self.model_dir else None}

    def build_scorer(self) -> Any:
        """``BERTScorer.from_config(config)``."""
        from radgrpo.metrics.text.bertscore import BERTScorer

        return BERTScorer.from_config(self.config, model_dir=self.model_dir, device=self.device)

    def score_pairs(self, refs: list[str], answers: list[str]) -> list[RewardBreakdown]:
        """F1 of the non-short pairs on truncated, lowercased texts."""
        return _score_with_short_rule(
            refs,
            answers,
            self.short_score,
            lambda r, h: self.scorer([_paper_text(t) for t in r], [_paper_text(t) for t in h]),
        )


class RadGraphReward(ClinicalReportReward):
    """RadGraph F1 at one level, with the paper's 2048-character/lowercase/short rules.

    Args:
        name: ``__name__`` (default ``radgraph_<level>``).
        level: ``complete`` (paper), ``simple``, ``partial`` or ``radcliq``.
        model: ``"radgraph-xl"`` (paper) or ``"radgraph"`` (v1).
        thinking, missing_think_score: see :class:`ClinicalReportReward` (paper: 0.0).
        short_score: reward of a prediction/reference of ≤ 5 characters (paper: 0.0).
        model_dir, backbone_dir, device: passed to ``RadGraphScorer``.
        scorer: a prebuilt ``RadGraphScorer``.
    """

    def __init__(
        self,
        name: str | None = None,
        level: str = "complete",
        model: str = "radgraph-xl",
        thinking: bool | None = None,
        missing_think_score: float = 0.0,
        short_score: float = 0.0,
        model_dir: str | os.PathLike | None = None,
        backbone_dir: str | os.PathLike | None = None,
        device: str | None = None,
        scorer: Any = None,
        batch_size: int = 0,
    ) -> None:
        if level not in RADGRAPH_LEVELS:
            raise ValueError(f"unknown RadGraph level {level!r}; valid: {RADGRAPH_LEVELS}")
        super().__init__(name or f"radgraph_{level}", thinking, missing_think_score, scorer, batch_size)
        self.level, self.model, self.short_score = level, model, float(short_score)
        self.model_dir, self.backbone_dir, self.device = model_dir, backbone_dir, device

    def required_models(self) -> dict[str, str | None]:
        """The RadGraph model and its backbone, with any folders given for them."""
        backbone = f"{self.model}-backbone"
        return {
            self.model: str(self.model_dir) if self.model_dir else None,
            backbone: str(self.backbone_dir) if self.backbone_dir else None,
        }

    def build_scorer(self) -> Any:
        """``RadGraphScorer(model)``."""
        from radgrpo.metrics.text.radgraph import RadGraphScorer

        return RadGraphScorer(self.model, model_dir=self.model_dir, backbone_dir=self.backbone_dir, device=self.device)

    def score_pairs(self, refs: list[str], answers: list[str]) -> list[RewardBreakdown]:
        """F1 at ``level`` of the non-short pairs on truncated, lowercased texts."""

        def f1(r: list[str], h: list[str]) -> np.ndarray:
            return self.scorer([_paper_text(t) for t in r], [_paper_text(t) for t in h], levels=(self.level,))[
                self.level
            ]

        return _score_with_short_rule(refs, answers, self.short_score, f1)


def _score_with_short_rule(
    refs: list[str], answers: list[str], short_score: float, fn: Callable[[list[str], list[str]], Any]
) -> list[RewardBreakdown]:
    out = [RewardBreakdown(short_score, {"short": 1.0}) for _ in refs]
    idx = [i for i in range(len(refs)) if not _is_short(refs[i], answers[i])]
    if idx:
        vals = np.asarray(fn([refs[i] for i in idx], [answers[i] for i in idx]), dtype=np.float64)
        if vals.shape != (len(idx),):
            raise RuntimeError(f"scorer returned shape {vals.shape} for {len(idx)} pairs")
        for i, v in zip(idx, vals):
            out[i] = RewardBreakdown(float(v), {"short": 0.0})
    return out


def make_radcliq_reward(
    config: str = "radcliq_paper",
    thinking: bool | None = None,
    name: str = "radcliq",
    model_dirs: dict[str, str | os.PathLike] | None = None,
    device: str | None = None,
    scorer: Any = None,
    dtype: str = "float32",
    batch_size: int = 0,
) -> RadCliQReward:
    """−RadCliQ reward (registry name ``radcliq``; the paper's main report reward).

    Args:
        config: ``radcliq_paper`` (default) or ``radcliq_v1``.
        thinking: force the ``</think>`` rule (None: the ``thinking`` column).
        name: ``__name__``.
        model_dirs: local model folders (keys of ``RadCliQScorer``'s ``model_dirs``).
        device: torch device.
        scorer: prebuilt ``RadCliQScorer``.
        dtype: ``"float32"`` (default) or ``"bfloat16"`` model components.
        batch_size: pairs per scoring call (0: all pairs of a reward call at once).
    Returns:
        the reward.

    Example:
        >>> make_radcliq_reward()(["ok"], reference_report=["No acute process."])  # ≤ 5 characters: −3, no model
        [-3.0]
    """
    return RadCliQReward(
        name, config, thinking, model_dirs=model_dirs, device=device, scorer=scorer, dtype=dtype, batch_size=batch_size
    )


def make_bertscore_reward(
    config: str = "bertscore",
    thinking: bool | None = None,
    name: str = "bertscore",
    model_dir: str | os.PathLike | None = None,
    device: str | None = None,
    scorer: Any = None,
    batch_size: int = 0,
) -> BERTScoreReward:
    """BERTScore reward (registry name ``bertscore``; the paper's ablation; docs/rewards.md#bertscore).

    Example:
        >>> make_bertscore_reward()(["<think>x</think>"], reference_report=["No acute process."], thinking=[True])
        [0.0]
    """
    return BERTScoreReward(
        name, config, thinking, model_dir=model_dir, device=device, scorer=scorer, batch_size=batch_size
    )


def make_radgraph_reward(
    level: str = "complete",
    model: str = "radgraph-xl",
    thinking: bool | None = None,
    name: str | None = None,
    model_dir: str | os.PathLike | None = None,
    backbone_dir: str | os.PathLike | None = None,
    device: str | None = None,
    scorer: Any = None,
    batch_size: int = 0,
) -> RadGraphReward:
    """RadGraph-F1 reward (registry name ``radgraph_f1``; the paper's RGF1-C ablation uses ``level="complete"``).

    Example:
        >>> make_radgraph_reward(level="partial").__name__
        'radgraph_partial'
    """
    return RadGraphReward(
        name,
        level,
        model,
        thinking,
        model_dir=model_dir,
        backbone_dir=backbone_dir,
        device=device,
        scorer=scorer,
        batch_size=batch_size,
    )


#: −RadCliQ with the paper's rules (``radcliq_paper``); scoring models load from radgrpo's model folder on first use.
radcliq_reward = make_radcliq_reward()
#: BERTScore F1 (distilbert-base-uncased L5 rescaled) with the paper's ablation rules.
bertscore_reward = make_bertscore_reward()
#: RadGraph-XL F1 at the complete level (the paper's RGF1-C ablation reward).
radgraph_reward = make_radgraph_reward()
