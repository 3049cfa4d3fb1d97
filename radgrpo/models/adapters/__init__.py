"""Model adapters: how one family of models is prompted, generated from and read back (prompt, chat template,
generation settings, answer parser, box frame), so radgrpo's evaluation can score radgrpo/RadVLM models and the
baselines the paper compares with on the same test records.

An adapter turns a test :class:`~radgrpo.records.Record` into the chat messages that model family expects
(:meth:`ModelAdapter.messages`), names extra chat-template arguments (:meth:`ModelAdapter.template_kwargs`) and
generation defaults (:attr:`ModelAdapter.generation`), and turns the decoded completion back into an answer in
radgrpo's own format (:meth:`ModelAdapter.parse`): report text as is, boxes rewritten as normalised [0, 1] xyxy
lists (``[0.10, 0.20, 0.40, 0.50]``) so the grounding metrics read every model's boxes the same way.

Image sizes passed to :meth:`ModelAdapter.parse` are ``(width, height)`` in pixels: ``image_size`` of the original
image and ``input_size`` of the image the model saw after its processor resized it (Qwen2.5-VL answers in absolute
pixels of that resized grid).

The families, one module each (``radgrpo``, ``qwen``, ``medgemma``, ``maira2``, ``llava_rad``, ``chexagent``), each
holding its adapter class, its published prompts (the comments cite each model card) and its registration; box
frames: :mod:`radgrpo.boxes`. The base class is in :mod:`~radgrpo.models.adapters.base`, the registry and
``--adapter auto`` in :mod:`~radgrpo.models.adapters.registry`. A new family is a new module that subclasses
:class:`ModelAdapter` (or :class:`BaselineAdapter`) and calls :func:`register_adapter`; nothing else changes
(:data:`FAMILIES` finds it).

=====================  ======================================  ==================================================
adapter                prompts                                 boxes read back
=====================  ======================================  ==================================================
``radgrpo``            the record's RadVLM question            already normalised [0, 1]
``qwen3_vl_instruct``  the paper's report prompt; Qwen's       JSON ``bbox_2d`` on Qwen3-VL's 0–1000 grid
                       grounding prompt
``qwen3_vl_thinking``  as Instruct; answer after ``</think>``  as Instruct
``qwen2_5_vl``         Qwen2.5-VL cookbook prompts             JSON ``bbox_2d`` in pixels of the resized input
``medgemma``           system "You are an expert               JSON ``box_2d`` ``[y0, x0, y1, x1]`` on 0–1000
                       radiologist." + instruction
``medgemma_pt``        ``<start_of_image> findings:``          (reports only)
``maira2``             its processor's reporting / phrase-     ``<box><x..><y..><x..><y..></box>``: 100 bins of
                       grounding turns                         the centre-cropped square
``llava_rad``          LLaVA v1 conversation, its query        (reports only)
``chexagent``          its repository's prompts                ``<|box|> (x1,y1),(x2,y2) <|/box|>`` on 0–100
=====================  ======================================  ==================================================

Unparseable box output gives an answer without boxes (``""``); :meth:`ModelAdapter.parse` never raises on model
text. Baseline adapters prompt report generation and the three single-target grounding tasks only
(:attr:`ModelAdapter.tasks`); :meth:`ModelAdapter.check` says so in one message before anything is generated.

Example:
    >>> from radgrpo.records import Record
    >>> rec = Record("g0", "x.png", "abnormality_grounding", "Where is the nodule?", "[0.1, 0.2, 0.4, 0.5]",
    ...              target="nodule")
    >>> a = get_adapter("radgrpo")
    >>> a.messages(rec)[0]["content"]
    [{'type': 'image'}, {'type': 'text', 'text': 'Where is the nodule?'}]
    >>> a.parse(" The nodule is at [0.1, 0.2, 0.4, 0.5]. ", rec)
    ('The nodule is at [0.1, 0.2, 0.4, 0.5].', True)
    >>> q = get_adapter("qwen3_vl_instruct")
    >>> q.parse('```json\\n[{"bbox_2d": [100, 200, 400, 500], "label": "nodule"}]\\n```', rec)
    ('[0.1, 0.2, 0.4, 0.5]', True)
"""

from __future__ import annotations

import importlib
import pkgutil

from radgrpo.models.adapters.base import BASELINE_TASKS, BaselineAdapter, ModelAdapter
from radgrpo.models.adapters.registry import (
    ADAPTERS,
    UnknownAdapterError,
    adapters_help,
    get_adapter,
    is_radgrpo_folder,
    register_adapter,
    resolve_adapter,
)


def _register_families() -> tuple[str, ...]:
    """Import every family module of this package (all but ``base`` and ``registry``): importing one registers its
    adapters. ``radgrpo`` (the default of ``--adapter auto``) comes first, the others in name order; that is the
    registry's order (``--help-adapters``, and the tie-break of ``--adapter auto``). A new family is a new module."""
    found = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in ("base", "registry"))
    families = tuple(sorted(found, key=lambda n: (n != "radgrpo", n)))
    for name in families:
        importlib.import_module(f"{__name__}.{name}")
    return families


#: The family modules, in registration order.
FAMILIES = _register_families()

# the adapter classes, importable from here as before (already registered above)
from radgrpo.models.adapters.chexagent import CheXagentAdapter  # noqa: E402
from radgrpo.models.adapters.llava_rad import LlavaRadAdapter  # noqa: E402
from radgrpo.models.adapters.maira2 import Maira2Adapter  # noqa: E402
from radgrpo.models.adapters.medgemma import MedGemmaAdapter, MedGemmaPtAdapter  # noqa: E402
from radgrpo.models.adapters.qwen import QwenVLAdapter  # noqa: E402
from radgrpo.models.adapters.radgrpo import RadgrpoAdapter  # noqa: E402

__all__ = [
    "ADAPTERS",
    "BASELINE_TASKS",
    "FAMILIES",
    "BaselineAdapter",
    "CheXagentAdapter",
    "LlavaRadAdapter",
    "Maira2Adapter",
    "MedGemmaAdapter",
    "MedGemmaPtAdapter",
    "ModelAdapter",
    "QwenVLAdapter",
    "RadgrpoAdapter",
    "UnknownAdapterError",
    "adapters_help",
    "get_adapter",
    "is_radgrpo_folder",
    "register_adapter",
    "resolve_adapter",
]
