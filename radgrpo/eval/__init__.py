"""radgrpo.eval: evaluation of a model on test records (docs/evaluation.md).

Stages: ``generate`` (records -> ``Prediction`` -> predictions.jsonl, greedy, batched,
resumable) -> ``score`` (per-sample metrics -> scores.jsonl) -> ``summarize`` (bootstrap-CI ``MetricResult`` per
metric, overall / per task / per target -> results.json) -> ``report`` (report.html). ``pipeline.evaluate`` runs them
all for one loaded model. Evaluation never imports reward code or ``radgrpo.train``; the report's Table 3 reads
only the reward table (``radgrpo.rewards.registry``: the metric and label of each reward).

Public names are imported lazily so ``import radgrpo.eval`` does not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Prediction": "generate",
    "generate_predictions": "generate",
    "read_predictions": "generate",
    "score_predictions": "score",
    "available_metrics": "score",
    "RunResults": "summarize",
    "flatten_results": "summarize",
    "read_results": "summarize",
    "evaluate": "pipeline",
    "select_records": "pipeline",
    "write_report": "report.html",
    "write_report_from_dirs": "report.html",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
