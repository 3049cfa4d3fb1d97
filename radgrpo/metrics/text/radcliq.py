"""RadCliQ-v1 (Yu et al., Patterns 2023): the published linear model over four report metrics, and two honest scorers.

What it is: :func:`radcliq_v1_from_features` applies the published v1 constants (rajpurkarlab/CXR-Report-Metric
``radcliq-v1.pkl``: StandardScaler mean/scale + linear coefficients; docs/metrics.md#radcliq) to the
feature columns ``[radgraph, bertscore, semb, bleu]``. Lower is better; all features 1 -> −1.4406903, all 0 ->
2.4501431. :class:`RadCliQScorer` computes the features from the texts with the component scorers of this package
(BERTScore: ``bertscore.py``, CheXbert [CLS] cosine: ``chexbert.py``, RadGraph F1: ``radgraph.py``, BLEU here or
``bleu.py``), each loaded lazily, under two configurations that are different metrics and carry different names:

- ``radcliq_v1``: exact to CXR-Report-Metric: RadGraph **v1** (entity F1 + relation F1)/2, BERTScore distilroberta-base
  layer 5 rescaled without IDF on texts with runs of spaces collapsed, CheXbert embedding cosine, and fast_bleu's
  sentence BLEU-2 on ``text.lower().replace(".", " .").split(" ")`` tokens (:func:`bleu2_cxr_report_metric`).
- ``radcliq_paper``: the RadVLM-GRPO reward's variant (docs/rewards.md#radcliq): RadGraph-**XL** features into the
  v1 constants, coco-caption BLEU-4, both texts cut to their first 2048 characters and lowercased, and a pair whose
  prediction or reference has ≤ 5 characters gets RadCliQ 3 (reward −3) without scoring. (Missing ``</think>`` -> −3
  belongs to the reward, ``radgrpo.rewards.clinical``.) Runs of spaces are not collapsed here (the paper's worker
  does not).

Per-pair scores depend only on (prediction, reference, configuration): every component scores pairs independently
(no IDF, no batch statistics). What it is not: RadCliQ-v0 or ReXrank's ``1/mean`` (aggregate the per-pair values
yourself; :func:`radcliq_rexrank` gives ``1/mean`` under its own name).

Example:
    >>> radcliq_v1_from_features(1, 1, 1, 1).round(7).tolist(), radcliq_v1_from_features(0, 0, 0, 0).round(7).tolist()
    (-1.4406903, 2.4501431)
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: feature order of the published model (CXR-Report-Metric ``COLS``)
FEATURES: tuple[str, ...] = ("radgraph", "bertscore", "semb", "bleu")
#: StandardScaler ``mean_`` of radcliq-v1.pkl (n = 160)
RADCLIQ_V1_MEAN = np.array([0.5379231241355762, 0.6175725628125001, 0.7647942121140658, 0.44738335396242174])
#: StandardScaler ``scale_`` of radcliq-v1.pkl
RADCLIQ_V1_SCALE = np.array([0.3028258411486429, 0.22430938459304575, 0.2539439110169773, 0.2989271671041838])
#: linear coefficients of radcliq-v1.pkl (BLEU's is ≈ 0)
RADCLIQ_V1_COEF = np.array([-0.37708368261038905, -0.37030009974480316, -0.25261621789593225, 4.315048405024756e-12])
RADCLIQ_V1_INTERCEPT = 2.466552561323256e-10


def radcliq_v1_from_features(radgraph: Any, bertscore: Any, semb: Any, bleu: Any) -> np.ndarray:
    """RadCliQ-v1 of per-pair features: ``Σ coef_i (x_i − mean_i)/scale_i + intercept`` (lower is better).

    Args:
        radgraph: RadGraph combined F1 (entity F1 + relation F1)/2, per pair (scalar or array).
        bertscore: BERTScore F1 (distilroberta-base, layer 5, baseline-rescaled; may be < 0).
        semb: cosine of CheXbert [CLS] embeddings.
        bleu: BLEU (v1: BLEU-2; its weight is ≈ 0).
    Returns:
        float64 array of the broadcast shape (0-d for scalars).
    Raises:
        ValueError: a non-finite feature.

    Example:
        >>> radcliq_v1_from_features([0, 0], [-1, 0], [0, 0.8], [0, 0]).round(7).tolist()
        [4.1009884, 1.6543257]
    """
    x = np.stack(
        np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (radgraph, bertscore, semb, bleu))), axis=-1
    )
    if not np.all(np.isfinite(x)):
        raise ValueError("RadCliQ features must be finite (got NaN or inf)")
    return ((x - RADCLIQ_V1_MEAN) / RADCLIQ_V1_SCALE) @ RADCLIQ_V1_COEF + RADCLIQ_V1_INTERCEPT


def radcliq_rexrank(scores: Sequence[float]) -> float:
    """ReXrank's "1/RadCliQ-v1": the inverse of the mean per-pair RadCliQ-v1 (a set-level number, not per pair).

    Example:
        >>> radcliq_rexrank([1.0, 3.0])
        0.5
    """
    m = float(np.mean(np.asarray(scores, dtype=np.float64)))
    if m == 0:
        raise ZeroDivisionError("mean RadCliQ is 0: 1/mean is undefined")
    return 1.0 / m


def cxr_report_metric_tokens(text: str) -> list[str]:
    """CXR-Report-Metric's BLEU tokens: ``str(x).lower().replace(".", " .").split(" ")`` without empty strings.

    Example:
        >>> cxr_report_metric_tokens("No effusion.  Heart  NORMAL.")
        ['no', 'effusion', '.', 'heart', 'normal', '.']
    """
    return [t for t in str(text).lower().replace(".", " .").split(" ") if t != ""]


def bleu2_cxr_report_metric(refs: Sequence[str], hyps: Sequence[str]) -> np.ndarray:
    """Sentence BLEU-2 per pair as CXR-Report-Metric computes it with ``fast_bleu.BLEU([ref], {"bigram": (½, ½)})``.

    fast_bleu follows NLTK: clipped n-gram precisions; 0 when no unigram matches; smoothing 1 (a zero precision
    becomes 0.1/denominator); denominators at least 1; brevity penalty ``exp(1 − r/c)`` when c ≤ r (c = 0 -> 0).

    Args:
        refs: references.
        hyps: hypotheses.
    Returns:
        float64 array.

    Example:
        >>> bleu2_cxr_report_metric(["no acute process."], ["no acute process."]).tolist()
        [1.0]
        >>> round(float(bleu2_cxr_report_metric(["a b c d"], ["a x"])[0]), 6)  # sqrt(1/2 * 0.1/1) * e^(1 - 4/2)
        0.08226
    """
    if len(refs) != len(hyps):
        raise ValueError(f"refs and hyps must have the same length, got {len(refs)} and {len(hyps)}")
    out = np.zeros(len(hyps), dtype=np.float64)
    for k, (ref, hyp) in enumerate(zip(refs, hyps)):
        r, h = cxr_report_metric_tokens(ref), cxr_report_metric_tokens(hyp)
        logs: list[float] = []
        for n in (1, 2):
            hc = Counter(tuple(h[i : i + n]) for i in range(len(h) - n + 1))
            rc = Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
            num = sum(min(c, rc[g]) for g, c in hc.items())
            den = max(1, sum(hc.values()))
            if n == 1 and num == 0:
                break
            logs.append(math.log((num if num else 0.1) / den))
        if len(logs) < 2:  # no unigram match: the score stays 0
            continue
        c, rl = len(h), len(r)
        bp = 1.0 if c > rl else (0.0 if c == 0 else math.exp(1 - rl / c))
        out[k] = bp * math.exp(0.5 * logs[0] + 0.5 * logs[1])
    return out


def coco_bleu4(refs: Sequence[str], hyps: Sequence[str]) -> np.ndarray:
    """Per-pair coco-caption BLEU-4 (``bleu.py``), the paper variant's BLEU feature.

    Example:
        >>> coco_bleu4(["a b c d"], ["a b c d"]).round(6).tolist()
        [1.0]
    """
    from radgrpo.metrics.text.bleu import score_bleu

    return score_bleu(list(refs), list(hyps), n=4)


BLEU_FUNCTIONS: dict[str, Callable[[Sequence[str], Sequence[str]], np.ndarray]] = {
    "fast_bleu2": bleu2_cxr_report_metric,
    "coco_bleu4": coco_bleu4,
}


@dataclass(frozen=True)
class RadCliQConfig:
    """How a RadCliQ variant turns texts into features.

    Args:
        name: metric name (``radcliq_v1`` / ``radcliq_paper``).
        radgraph_model: ``"radgraph"`` (v1) or ``"radgraph-xl"``.
        bleu: key of :data:`BLEU_FUNCTIONS`.
        bertscore: named BERTScore configuration (``bertscore.NAMED_CONFIGS``).
        lowercase: lowercase both texts first.
        max_chars: keep the first ``max_chars`` characters (None = all).
        short_chars: a pair whose prediction or reference has at most this many characters (before truncation) is
            not scored and gets ``short_score`` (None = no rule).
        short_score: the RadCliQ of such a pair.
        collapse_spaces: replace runs of spaces by one space for BERTScore (CXR-Report-Metric).
    """

    name: str
    radgraph_model: str
    bleu: str
    bertscore: str = "bertscore_radcliq"
    lowercase: bool = False
    max_chars: int | None = None
    short_chars: int | None = None
    short_score: float | None = None
    collapse_spaces: bool = False


RADCLIQ_CONFIGS: dict[str, RadCliQConfig] = {
    "radcliq_v1": RadCliQConfig("radcliq_v1", "radgraph", "fast_bleu2", collapse_spaces=True),
    "radcliq_paper": RadCliQConfig(
        "radcliq_paper", "radgraph-xl", "coco_bleu4", lowercase=True, max_chars=2048, short_chars=5, short_score=3.0
    ),
}

PairScorer = Callable[[list[str], list[str]], np.ndarray]


class RadCliQScorer:
    """RadCliQ-v1 of (reference, prediction) pairs from its four component scorers, each loaded on first use.

    Args:
        config: ``"radcliq_v1"``, ``"radcliq_paper"`` or a :class:`RadCliQConfig`.
        radgraph: per-pair RadGraph combined F1 ``fn(refs, hyps) -> array`` (default: ``RadGraphScorer`` of the
            config's model, level ``radcliq``).
        bertscore: per-pair BERTScore F1 (default: ``BERTScorer.from_config(config.bertscore)``).
        semb: per-pair CheXbert embedding cosine (default: ``load_chexbert`` + ``semb_similarity``).
        bleu: per-pair BLEU (default: the config's :data:`BLEU_FUNCTIONS` entry).
        model_dirs: explicit local folders for the default components: keys ``radgraph`` (archive or folder),
            ``radgraph_backbone``, ``chexbert``, ``chexbert_bert``, ``bertscore``.
        device: torch device of the default components (None = cuda when available).
        cache_size: references whose component outputs are cached (the rollouts of a prompt share one).
        dtype: weights dtype of the three model components, ``"float32"`` (default, the peers') or ``"bfloat16"``
            (GPU speed; ``benchmarks/bench_rewards.py`` reports its largest difference to float32 per feature).

    Example:
        >>> s = RadCliQScorer("radcliq_paper", radgraph=lambda r, h: np.ones(len(r)),
        ...                   bertscore=lambda r, h: np.ones(len(r)), semb=lambda r, h: np.ones(len(r)))
        >>> s.score(["No acute process.", "ok"], ["No acute process.", "No acute process."]).round(7).tolist()
        [-1.4406903, 3.0]
    """

    def __init__(
        self,
        config: str | RadCliQConfig = "radcliq_v1",
        *,
        radgraph: PairScorer | None = None,
        bertscore: PairScorer | None = None,
        semb: PairScorer | None = None,
        bleu: PairScorer | None = None,
        model_dirs: dict[str, str | os.PathLike] | None = None,
        device: str | None = None,
        cache_size: int = 4096,
        dtype: str = "float32",
    ) -> None:
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
        if isinstance(config, str):
            if config not in RADCLIQ_CONFIGS:
                raise KeyError(f"unknown RadCliQ configuration {config!r}; known: {sorted(RADCLIQ_CONFIGS)}")
            config = RADCLIQ_CONFIGS[config]
        if config.bleu not in BLEU_FUNCTIONS:
            raise KeyError(f"unknown BLEU variant {config.bleu!r}; known: {sorted(BLEU_FUNCTIONS)}")
        unknown = set(model_dirs or {}) - {"radgraph", "radgraph_backbone", "chexbert", "chexbert_bert", "bertscore"}
        if unknown:
            raise KeyError(f"unknown model_dirs keys {sorted(unknown)}")
        self.config = config
        self.name = config.name
        self.model_dirs = dict(model_dirs or {})
        self.device = device
        self.cache_size = cache_size
        self.dtype = dtype
        self._components: dict[str, PairScorer | None] = {
            "radgraph": radgraph,
            "bertscore": bertscore,
            "semb": semb,
            "bleu": bleu,
        }

    # ---------------------------------------------------------------- components (lazy)
    def component(self, name: str) -> PairScorer:
        """The per-pair scorer of feature ``name`` (one of :data:`FEATURES`), built on first use."""
        if name not in FEATURES:
            raise KeyError(f"unknown RadCliQ feature {name!r}; known: {FEATURES}")
        scorer = self._components[name]
        if scorer is None:
            build: Callable[[], PairScorer] = getattr(self, f"_default_{name}")
            scorer = self._components[name] = build()
        return scorer

    def _default_bleu(self) -> PairScorer:
        return BLEU_FUNCTIONS[self.config.bleu]

    def _default_bertscore(self) -> PairScorer:
        from radgrpo.metrics.text.bertscore import BERTScorer

        return BERTScorer.from_config(
            self.config.bertscore,
            model_dir=self.model_dirs.get("bertscore"),
            device=self.device,
            ref_cache_size=self.cache_size,
            dtype=self.dtype,
        )

    def _default_radgraph(self) -> PairScorer:
        from radgrpo.metrics.text.radgraph import RadGraphScorer

        return _RadGraphCombined(
            RadGraphScorer(
                self.config.radgraph_model,
                model_dir=self.model_dirs.get("radgraph"),
                backbone_dir=self.model_dirs.get("radgraph_backbone"),
                device=self.device,
                cache_size=self.cache_size,
                dtype=self.dtype,
            )
        )

    def _default_semb(self) -> PairScorer:
        import torch

        from radgrpo.metrics.text.chexbert_labeler import load_chexbert

        labeler = load_chexbert(
            self.model_dirs.get("chexbert"),
            self.model_dirs.get("chexbert_bert"),
            device=self.device,
            cache_size=self.cache_size,
            dtype=getattr(torch, self.dtype),
        )
        return _SembCosine(labeler)

    # ---------------------------------------------------------------- scoring
    def preprocess(self, text: str) -> str:
        """The text the components see (truncation, then lowercasing, per the configuration).

        Example:
            >>> t = RadCliQScorer("radcliq_paper").preprocess("Heart NORMAL. " * 300)
            >>> len(t), t[:13]
            (2048, 'heart normal.')
        """
        if self.config.max_chars is not None:
            text = text[: self.config.max_chars]
        return text.lower() if self.config.lowercase else text

    def is_short(self, ref: str, hyp: str) -> bool:
        """Whether the pair falls under the short-text rule (``len <= short_chars`` on either side, raw text)."""
        n = self.config.short_chars
        return n is not None and (len(hyp) <= n or len(ref) <= n)

    def features(self, refs: Sequence[str], hyps: Sequence[str]) -> dict[str, np.ndarray]:
        """Per-pair features of the pairs that are scored (short pairs get NaN features).

        Args:
            refs: references.
            hyps: predictions.
        Returns:
            dict feature name -> float64 array (in :data:`FEATURES` order).
        Raises:
            ValueError / TypeError: mismatched lengths or non-string items.
        """
        refs, hyps = list(refs), list(hyps)
        if len(refs) != len(hyps):
            raise ValueError(f"refs and hyps must have the same length, got {len(refs)} and {len(hyps)}")
        for name, xs in (("refs", refs), ("hyps", hyps)):
            for i, x in enumerate(xs):
                if not isinstance(x, str):
                    raise TypeError(f"{name}[{i}] is {type(x).__name__}, not str")
        out = {f: np.full(len(refs), np.nan) for f in FEATURES}
        idx = [i for i in range(len(refs)) if not self.is_short(refs[i], hyps[i])]
        if not idx:
            return out
        r = [self.preprocess(refs[i]) for i in idx]
        h = [self.preprocess(hyps[i]) for i in idx]
        for f in FEATURES:
            if f == "bertscore" and self.config.collapse_spaces:
                vals = self.component(f)([_collapse(t) for t in r], [_collapse(t) for t in h])
            else:
                vals = self.component(f)(r, h)
            vals = np.asarray(vals, dtype=np.float64)
            if vals.shape != (len(idx),):
                raise RuntimeError(f"RadCliQ component {f!r} returned shape {vals.shape} for {len(idx)} pairs")
            out[f][idx] = vals
        return out

    def score_with_features(self, refs: Sequence[str], hyps: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(RadCliQ per pair, features)``; short pairs get ``config.short_score``.

        Args:
            refs: references.
            hyps: predictions.
        Returns:
            the scores (float64) and :meth:`features`.
        """
        feats = self.features(refs, hyps)
        scores = np.full(len(feats["bleu"]), np.nan)
        ok = ~np.isnan(feats["bleu"])
        if ok.any():
            scores[ok] = radcliq_v1_from_features(*(feats[f][ok] for f in FEATURES))
        if (~ok).any():
            scores[~ok] = self.config.short_score
        return scores, feats

    def score(self, refs: Sequence[str], hyps: Sequence[str]) -> np.ndarray:
        """RadCliQ per pair (lower is better).

        Args:
            refs: references.
            hyps: predictions.
        Returns:
            float64 array of shape ``(len(hyps),)``.
        """
        return self.score_with_features(refs, hyps)[0]

    __call__ = score


def _collapse(text: str) -> str:
    return re.sub(r" +", " ", text)


class _RadGraphCombined:
    """RadGraph (entity F1 + relation F1)/2 per pair from a ``RadGraphScorer``."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer

    def __call__(self, refs: list[str], hyps: list[str]) -> np.ndarray:
        return self.scorer(refs, hyps, levels=("radcliq",))["radcliq"]


class _SembCosine:
    """CheXbert [CLS] cosine per pair from a ``CheXbertLabeler`` (its LRU cache holds the references)."""

    def __init__(self, labeler: Any) -> None:
        self.labeler = labeler

    def __call__(self, refs: list[str], hyps: list[str]) -> np.ndarray:
        from radgrpo.metrics.text.chexbert import semb_similarity

        return semb_similarity(self.labeler.embed(refs), self.labeler.embed(hyps))


_SCORERS: dict[tuple, RadCliQScorer] = {}


def score_radcliq(
    refs: Sequence[str],
    hyps: Sequence[str],
    config: str = "radcliq_paper",
    model_dirs: dict[str, str | os.PathLike] | None = None,
    device: str | None = None,
) -> np.ndarray:
    """Per-pair RadCliQ of a named configuration, with the scorer loaded once and kept (evaluation entry point).

    Args:
        refs: references.
        hyps: predictions.
        config: ``"radcliq_paper"`` (default: the paper's T1 "RCQ", computed through its reward rules) or
            ``"radcliq_v1"`` (CXR-Report-Metric).
        model_dirs: explicit local folders (see :class:`RadCliQScorer`).
        device: torch device.
    Returns:
        float64 array (lower is better).

    Example:
        >>> score_radcliq(["a"], ["b"], config="radcliq_v0")
        Traceback (most recent call last):
        ...
        KeyError: "unknown RadCliQ configuration 'radcliq_v0'; known: ['radcliq_paper', 'radcliq_v1']"
    """
    if config not in RADCLIQ_CONFIGS:
        raise KeyError(f"unknown RadCliQ configuration {config!r}; known: {sorted(RADCLIQ_CONFIGS)}")
    key = (config, tuple(sorted((k, str(v)) for k, v in (model_dirs or {}).items())), device)
    if key not in _SCORERS:
        _SCORERS[key] = RadCliQScorer(config, model_dirs=model_dirs, device=device)
    return _SCORERS[key].score(refs, hyps)
