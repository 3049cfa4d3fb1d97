"""The model adapter base class (:class:`ModelAdapter`), the base of the baseline families
(:class:`BaselineAdapter`) and the box readers they share.

An adapter turns a test :class:`~radgrpo.records.Record` into the chat messages its model family expects
(:meth:`ModelAdapter.messages`), names extra chat-template arguments (:meth:`ModelAdapter.template_kwargs`) and
generation defaults (:attr:`ModelAdapter.generation`), and turns the decoded completion back into an answer in
radgrpo's own format (:meth:`ModelAdapter.parse`). The families and the registry: :mod:`radgrpo.models.adapters`.

Example:
    >>> key_boxes('```json [{"bbox_2d": [100, 200, 400, 500]}] ```', "bbox_2d")
    [(100.0, 200.0, 400.0, 500.0)]
    >>> clean_boxes([(0.5, 0.5, 1.2, 0.9), (float("nan"), 0, 1, 1)])
    [(0.5, 0.5, 1.0, 0.9)]
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from radgrpo.boxes import clip_box, format_boxes, parse_boxes
from radgrpo.config import ConfigError
from radgrpo.data.prompts import label_for_template, prompt_messages, prompt_text
from radgrpo.records import Box, Record, Task
from radgrpo.thinking import split_thinking

__all__ = ["BASELINE_TASKS", "REPORT_ONLY", "BaselineAdapter", "ModelAdapter", "Size", "clean_boxes", "key_boxes"]

Size = tuple[int, int]

#: The tasks the baseline adapters prompt: report generation and single-target grounding (one finding, region or
#: phrase per record, in ``Record.target``).
BASELINE_TASKS: tuple[str, ...] = (
    Task.REPORT_GENERATION.value,
    Task.ANATOMICAL_GROUNDING.value,
    Task.ABNORMALITY_GROUNDING.value,
    Task.PHRASE_GROUNDING.value,
)
#: The tasks of the report-only families.
REPORT_ONLY: tuple[str, ...] = (Task.REPORT_GENERATION.value,)
_THINKING_MODES = ("suffix", "native", "none")

_NUM = r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_FOUR = rf"\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]"


def key_boxes(text: str, key: str) -> list[tuple[float, float, float, float]]:
    """Every ``"key": [a, b, c, d]`` in ``text`` (JSON or almost-JSON: fences, truncation and prose around it are
    fine), numbers as floats in the order written.

    Example:
        >>> key_boxes('[{"bbox_2d": [1, 2, 3, 4]}, {"bbox_2d": [5, 6, 7]}, {"bbox_2d":[8,9,10,11.5]', "bbox_2d")
        [(1.0, 2.0, 3.0, 4.0), (8.0, 9.0, 10.0, 11.5)]
    """
    out = []
    for m in re.finditer(rf'"{re.escape(key)}"\s*:\s*{_FOUR}', text):
        try:
            a, b, c, d = (float(g) for g in m.groups())
        except (ValueError, OverflowError):  # pragma: no cover - the regex only admits float syntax
            continue
        out.append((a, b, c, d))
    return out


def clean_boxes(boxes: Sequence[Sequence[float]]) -> list[Box]:
    """Finite boxes only, clipped to [0, 1] with ordered corners (the form :func:`format_boxes` writes)."""
    finite = parse_boxes(list(boxes))  # drops non-finite and malformed entries
    return [clip_box(b) for b in finite]


@dataclass(frozen=True)
class ModelAdapter:
    """One model family's prompting and answer reading (subclass it, and register an instance with
    :func:`~radgrpo.models.adapters.register_adapter`).

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
            integers), ``"pixels_input"`` (absolute pixels of the resized model input, Qwen2.5-VL),
            ``"gemma1000_yx"`` (MedGemma: y first, 0–1000), ``"maira2_bins"`` (100 bins of a centre-cropped
            square), ``"chexagent100"`` (0–100) or ``"none"`` (reports only).
        thinking: ``"suffix"`` (append ``" /think"`` when thinking), ``"native"`` (the model always thinks through
            its own template; the answer is after ``</think>``) or ``"none"`` (the family cannot think).
        hub_ids: name fragments (lower case) this adapter is chosen for by :func:`resolve_adapter`; a fragment of
            letters and digits only matches the names with punctuation removed (``"qwen25vl"`` matches
            ``Qwen/Qwen2.5-VL-7B-Instruct`` and ``qwen2_5_vl``), one with punctuation matches as written
            (``"-pt"``); ``"a+b"`` needs both.
        tasks: the tasks it has prompts for (empty: every task).
        processor_class: the transformers class that loads its processor (``AutoProcessor``; ``AutoTokenizer`` for
            families whose tokenizer reads the image path itself).
        images_in_text: the prompt names the image by path (:meth:`render` with ``image_path``) and the tokenizer's
            own code loads it, so no image is passed to the processor (CheXagent-2).
        skip_special_tokens: decode the completion with ``skip_special_tokens`` (False where the boxes are special
            tokens, CheXagent-2's ``<|box|>``).
        source: the model card or repository the prompts and formats come from.
    """

    name: str = "radgrpo"
    description: str = "radgrpo / RadVLM models: RadVLM's instructions, normalised [0,1] boxes"
    generation: Mapping[str, Any] = field(default_factory=dict)
    trust_remote_code: bool = False
    auto_class: str = "AutoModelForImageTextToText"
    box_frame: str = "norm"
    thinking: str = "suffix"
    hub_ids: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    processor_class: str = "AutoProcessor"
    images_in_text: bool = False
    skip_special_tokens: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        if self.thinking not in _THINKING_MODES:
            raise ValueError(f"adapter {self.name!r}: thinking must be one of {_THINKING_MODES}, got {self.thinking!r}")

    # ---- prompts ----

    def prompt(self, record: Record, thinking: bool = False) -> str:
        """The user text sent with the image (stored as ``Prediction.prompt``)."""
        return prompt_text(record, thinking=thinking and self.thinking == "suffix")

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        """The chat messages for ``processor.apply_chat_template`` (image placeholder, then :meth:`prompt`)."""
        return prompt_messages(self.prompt(record, thinking))

    def template_kwargs(self, thinking: bool = False) -> dict[str, Any]:
        """Extra ``apply_chat_template`` keyword arguments (none for radgrpo models)."""
        return {}

    def render(
        self, processor: Any, record: Record, thinking: bool = False, image_path: str | os.PathLike | None = None
    ) -> str:
        """The whole model input text of a record, not tokenised: :meth:`messages` through the processor's chat
        template with :meth:`template_kwargs` and the generation prompt. ``image_path`` is used only by families
        that name the image in the text (:attr:`images_in_text`)."""
        return processor.apply_chat_template(
            self.messages(record, thinking),
            tokenize=False,
            add_generation_prompt=True,
            **self.template_kwargs(thinking or self.thinking == "native"),
        )

    def prepare_image(self, image: Any) -> Any:
        """The image as this family's processor expects it (the PIL image unchanged; MAIRA-2 normalises it)."""
        return image

    # ---- checks before generating ----

    def supports(self, task: str | Task) -> bool:
        """Whether the adapter has a prompt for ``task``.

        Example:
            >>> from radgrpo.models.adapters import get_adapter
            >>> get_adapter("llava_rad").supports("phrase_grounding"), get_adapter("radgrpo").supports("detection")
            (False, True)
        """
        return not self.tasks or Task(task).value in self.tasks

    def check(
        self, *, tasks: Sequence[str | Task] = (), thinking: bool = False, trust_remote_code: bool = False
    ) -> None:
        """Raise one :class:`~radgrpo.config.ConfigError` naming every problem of running this adapter on ``tasks``:
        a task without a prompt, thinking asked of a family that cannot think, remote code not allowed.

        Example:
            >>> from radgrpo.models.adapters import get_adapter
            >>> get_adapter("maira2").check(tasks=["report_generation"], trust_remote_code=True)
            >>> get_adapter("maira2").check(tasks=["report_generation"])
            Traceback (most recent call last):
            ...
            radgrpo.config.ConfigError: model adapter 'maira2': its models run their own code from the hub (microsoft/maira-2); review it and pass --trust_remote_code to allow it
        """
        problems = []
        bad = sorted({Task(t).value for t in tasks if not self.supports(t)})
        if bad:
            problems.append(
                f"no prompt for task(s) {', '.join(bad)} (it answers {', '.join(self.tasks)}; select them with --tasks)"
            )
        if thinking and self.thinking == "none":
            problems.append("this family cannot think: drop --thinking (or use a thinking model's adapter)")
        if self.trust_remote_code and not trust_remote_code:
            where = f" ({self.source})" if self.source else ""
            problems.append(
                f"its models run their own code from the hub{where}; review it and pass --trust_remote_code to allow it"
            )
        if problems:
            raise ConfigError(f"model adapter {self.name!r}: " + "; ".join(problems))

    # ---- reading the answer ----

    def answer_text(self, completion: str, thinking: bool = False) -> tuple[str, bool]:
        """``(text, think_closed)``: the stripped completion, or in thinking mode (or for a ``native`` family) the
        text after the LAST ``</think>`` (:func:`radgrpo.thinking.split_thinking`; ``""`` when the tag is missing).
        A family that cannot think (``"none"``) is never split."""
        if self.thinking == "native" or (thinking and self.thinking == "suffix"):
            return split_thinking(completion, "last")
        return completion.strip(), True

    def read_boxes(
        self, text: str, record: Record, *, image_size: Size | None = None, input_size: Size | None = None
    ) -> list[Box]:
        """The boxes of an answer in this family's frame, as normalised [0, 1] xyxy (clipped; ``[]`` when none
        parse). The base adapter reads radgrpo's own ``[x1, y1, x2, y2]`` lists."""
        return parse_boxes(text)

    def clean_report(self, text: str) -> str:
        """A report answer in plain text (family-specific markup removed)."""
        return text

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
        the LAST ``</think>`` (:func:`radgrpo.thinking.split_thinking`), ``""`` when the tag is missing. Families
        whose boxes are in another frame (:attr:`box_frame` not ``"norm"``) answer grounding records with the boxes
        only, written by :func:`radgrpo.boxes.format_boxes` (normalised [0, 1] xyxy, 2 decimals), ``""`` when none
        parse; reports pass :meth:`clean_report`.

        Args:
            completion: the decoded model output.
            record: the test record (its task decides how the answer is read).
            thinking: the run thinks (thinking mode, or a native thinking family).
            image_size: ``(width, height)`` of the original image, pixels (MAIRA-2's crop needs it).
            input_size: ``(width, height)`` of the image after the processor resized it (Qwen2.5-VL needs it).
        """
        text, closed = self.answer_text(completion, thinking)
        if self.box_frame == "norm":
            return text, closed
        if record.task.is_grounding:
            return format_boxes(self.read_boxes(text, record, image_size=image_size, input_size=input_size)), closed
        return self.clean_report(text).strip(), closed


class BaselineAdapter(ModelAdapter):
    """A baseline family: prompts only for :attr:`tasks`, from the record's task and target (never its question)."""

    def target(self, record: Record) -> str:
        """The finding, region or phrase a grounding record asks for: ``Record.target``, in RadVLM's label casing
        for region and abnormality labels (:func:`radgrpo.data.prompts.label_for_template`), verbatim for
        phrases. A grounding record without a target raises :class:`~radgrpo.config.ConfigError`."""
        if not record.target:
            raise ConfigError(
                f"record {record.id!r} ({record.task.value}) has no `target` (the finding, region or phrase to ground), "
                f"which the {self.name} adapter puts in its prompt"
            )
        return record.target if record.task is Task.PHRASE_GROUNDING else label_for_template(record.target)

    def task_prompt(self, record: Record) -> str:
        """The prompt text of a supported record (subclasses)."""
        raise NotImplementedError

    def prompt(self, record: Record, thinking: bool = False) -> str:
        if not self.supports(record.task):
            raise ConfigError(
                f"model adapter {self.name!r} has no prompt for task {record.task.value!r} (record {record.id!r}); "
                f"it answers {', '.join(self.tasks)}"
            )
        return self.task_prompt(record)
