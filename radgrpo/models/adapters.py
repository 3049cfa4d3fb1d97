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

Example:
    >>> from radgrpo.records import Record
    >>> rec = Record("g0", "x.png", "abnormality_grounding", "Where is the nodule?", "[0.1, 0.2, 0.4, 0.5]",
    ...              target="nodule")
    >>> a = get_adapter("radgrpo")
    >>> a.messages(rec)[0]["content"]
    [{'type': 'image'}, {'type': 'text', 'text': 'Where is the nodule?'}]
    >>> a.parse(" The nodule is at [0.1, 0.2, 0.4, 0.5]. ", rec)
    ('The nodule is at [0.1, 0.2, 0.4, 0.5].', True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from radgrpo.data.prompts import prompt_messages, prompt_text
from radgrpo.records import Record
from radgrpo.thinking import split_thinking

__all__ = ["ADAPTERS", "ModelAdapter", "RadgrpoAdapter", "get_adapter", "register_adapter", "resolve_adapter"]

Size = tuple[int, int]


@dataclass(frozen=True)
class ModelAdapter:
    """One model family's prompting and answer reading (subclass and :func:`register_adapter` a new one).

    Attributes:
        name: registry name (``--adapter NAME``).
        description: one line for ``--help`` and the report.
        generation: default ``generate`` keyword arguments of this family (e.g. ``{"repetition_penalty": 1.05}``);
            the evaluation's own options (``max_new_tokens``, sampling) win over them.
        trust_remote_code: whether loading needs ``trust_remote_code=True`` (the user must opt in with
            ``--trust_remote_code``).
        auto_class: the transformers auto class that loads it (``AutoModelForImageTextToText``,
            ``AutoModelForCausalLM``, ...).
        box_frame: how the family writes boxes: ``"norm"`` (radgrpo's normalised [0,1]), ``"qwen1000"`` (0–1000
            integers), ``"pixels_input"`` (absolute pixels of the resized model input, Qwen2.5-VL) or ``"none"``.
        thinking: ``"suffix"`` (append ``" /think"`` when thinking), ``"native"`` (the model always thinks through
            its own template; the answer is after ``</think>``) or ``"none"`` (the family cannot think).
        hub_ids: hub ids (or name fragments, lower case) this adapter is chosen for by :func:`resolve_adapter`.
    """

    name: str = "radgrpo"
    description: str = "radgrpo / RadVLM models: RadVLM's instructions, normalised [0,1] boxes"
    generation: Mapping[str, Any] = field(default_factory=dict)
    trust_remote_code: bool = False
    auto_class: str = "AutoModelForImageTextToText"
    box_frame: str = "norm"
    thinking: str = "suffix"
    hub_ids: tuple[str, ...] = ()

    def prompt(self, record: Record, thinking: bool = False) -> str:
        """The user text sent with the image (stored as ``Prediction.prompt``)."""
        return prompt_text(record, thinking=thinking and self.thinking == "suffix")

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        """The chat messages for ``processor.apply_chat_template`` (image placeholder, then :meth:`prompt`)."""
        return prompt_messages(self.prompt(record, thinking))

    def template_kwargs(self, thinking: bool = False) -> dict[str, Any]:
        """Extra ``apply_chat_template`` keyword arguments (none for radgrpo models)."""
        return {}

    def parse(
        self,
        completion: str,
        record: Record,
        *,
        thinking: bool = False,
        image_size: Size | None = None,
        input_size: Size | None = None,
    ) -> tuple[str, bool]:
        """``(answer in radgrpo's format, think_closed)`` of a decoded completion.

        The default keeps the stripped text; in thinking mode (or for a ``native`` thinking family) the text after
        the LAST ``</think>`` (:func:`radgrpo.thinking.split_thinking`), ``""`` when the tag is missing.
        """
        if thinking or self.thinking == "native":
            return split_thinking(completion, "last")
        return completion.strip(), True


class RadgrpoAdapter(ModelAdapter):
    """radgrpo / RadVLM-trained models (the default)."""


ADAPTERS: dict[str, ModelAdapter] = {}


def register_adapter(adapter: ModelAdapter) -> ModelAdapter:
    """Add an adapter to :data:`ADAPTERS` under its name (a duplicate name raises ``ValueError``)."""
    if adapter.name in ADAPTERS:
        raise ValueError(f"adapter {adapter.name!r} is already registered")
    ADAPTERS[adapter.name] = adapter
    return adapter


def get_adapter(name: str) -> ModelAdapter:
    """The adapter called ``name``; an unknown name raises ``KeyError`` naming the closest registered one."""
    from radgrpo.config import closest

    if name not in ADAPTERS:
        near = closest(name, list(ADAPTERS))
        hint = f"; did you mean {near!r}?" if near else ""
        raise KeyError(f"unknown model adapter {name!r}{hint} (registered: {', '.join(ADAPTERS)})")
    return ADAPTERS[name]


def resolve_adapter(name: str, model: str = "", model_config: Mapping[str, Any] | None = None) -> ModelAdapter:
    """``--adapter`` resolved: a registered name, or ``"auto"``: the adapter whose ``hub_ids`` match the model's hub
    id / folder name / ``config.json`` (``_name_or_path``, ``architectures``), else ``radgrpo``."""
    if name != "auto":
        return get_adapter(name)
    return ADAPTERS["radgrpo"]


register_adapter(RadgrpoAdapter())
