"""Report-text metrics: lexical (BLEU, GLEU, ROUGE-L), BERTScore, CheXbert, RadGraph, RadCliQ-v1, GREEN.

Pure per-pair scoring functions with the peer definitions (docs/metrics.md); model-backed scorers load their
weights lazily through ``radgrpo.metrics.loaders``. Public names are imported lazily so that
``import radgrpo.metrics.text`` stays cheap (no torch / transformers until a model-backed metric is used).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_LAZY = {
    "score_bleu": "bleu",
    "score_gleu": "gleu",
    "score_rouge_l": "rouge",
    "score_bertscore": "bertscore",
    "chexbert_f1": "chexbert",
    "radgraph_f1": "radgraph",
    "radcliq_v1_from_features": "radcliq",
    "score_green": "green",
    "parse_green": "green",
    "GreenScorer": "green",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
