"""The ``radgrpo`` adapter (the default): radgrpo / RadVLM-trained models, prompted with the record's own RadVLM
question (:func:`radgrpo.data.prompts.prompt_messages`, the builder of the training rows) and answering with
normalised [0, 1] boxes, read as they are.

Example:
    >>> from radgrpo.models.adapters import get_adapter
    >>> from radgrpo.records import Record
    >>> rec = Record("g0", "x.png", "abnormality_grounding", "Where is the nodule?", "x", target="nodule")
    >>> a = get_adapter("radgrpo")
    >>> a.prompt(rec, thinking=True), a.parse(" At [0.1, 0.2, 0.4, 0.5]. ", rec)
    ('Where is the nodule? /think', ('At [0.1, 0.2, 0.4, 0.5].', True))
"""

from __future__ import annotations

from radgrpo.models.adapters.base import ModelAdapter
from radgrpo.models.adapters.registry import register_adapter

__all__ = ["RadgrpoAdapter"]


class RadgrpoAdapter(ModelAdapter):
    """radgrpo / RadVLM-trained models (the default)."""


register_adapter(
    RadgrpoAdapter(
        description="the default; RadVLM's instructions, normalised [0,1] boxes", hub_ids=("radvlm", "radgrpo")
    )
)
