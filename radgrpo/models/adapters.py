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

The families (prompt text: :mod:`radgrpo.data.prompts`, whose comments cite each model card; box frames:
:mod:`radgrpo.boxes`):

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

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.boxes import (
    clip_box,
    format_boxes,
    from_bins,
    from_center_crop,
    from_grid,
    from_pixels_input,
    parse_boxes,
    yxyx_to_xyxy,
)
from radgrpo.config import ConfigError, closest
from radgrpo.data import prompts as P
from radgrpo.data.prompts import label_for_template, prompt_messages, prompt_text
from radgrpo.records import Box, Record, Task
from radgrpo.thinking import split_thinking

__all__ = [
    "ADAPTERS",
    "BASELINE_TASKS",
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

Size = tuple[int, int]

#: The tasks the baseline adapters prompt: report generation and single-target grounding (one finding, region or
#: phrase per record, in ``Record.target``).
BASELINE_TASKS: tuple[str, ...] = (
    Task.REPORT_GENERATION.value,
    Task.ANATOMICAL_GROUNDING.value,
    Task.ABNORMALITY_GROUNDING.value,
    Task.PHRASE_GROUNDING.value,
)
_REPORT_ONLY: tuple[str, ...] = (Task.REPORT_GENERATION.value,)
_THINKING_MODES = ("suffix", "native", "none")

_NUM = r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_FOUR = rf"\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]"


class UnknownAdapterError(ConfigError, KeyError):
    """An ``--adapter`` name that is not registered (a :class:`~radgrpo.config.ConfigError`, so the CLI prints one
    line; also a ``KeyError``). ``args[0]`` is the message, naming the closest registered adapter."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _key_boxes(text: str, key: str) -> list[tuple[float, float, float, float]]:
    """Every ``"key": [a, b, c, d]`` in ``text`` (JSON or almost-JSON: fences, truncation and prose around it are
    fine), numbers as floats in the order written.

    Example:
        >>> _key_boxes('[{"bbox_2d": [1, 2, 3, 4]}, {"bbox_2d": [5, 6, 7]}, {"bbox_2d":[8,9,10,11.5]', "bbox_2d")
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


def _clean_boxes(boxes: Sequence[Sequence[float]]) -> list[Box]:
    """Finite boxes only, clipped to [0, 1] with ordered corners (the form :func:`format_boxes` writes)."""
    finite = parse_boxes(list(boxes))  # drops non-finite and malformed entries
    return [clip_box(b) for b in finite]


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


class RadgrpoAdapter(ModelAdapter):
    """radgrpo / RadVLM-trained models (the default)."""


class _BaselineAdapter(ModelAdapter):
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


class QwenVLAdapter(_BaselineAdapter):
    """Qwen3-VL Instruct / Thinking (0–1000 grid) and Qwen2.5-VL (pixels of the resized input): the paper's report
    prompt for Qwen3-VL, Qwen's own grounding prompts, boxes read from JSON ``bbox_2d`` (plain ``[a, b, c, d]``
    lists when there is no ``bbox_2d``)."""

    def task_prompt(self, record: Record) -> str:
        qwen25 = self.box_frame == "pixels_input"
        if record.task is Task.REPORT_GENERATION:
            return P.QWEN3_VL_REPORT_PROMPT
        target = self.target(record)
        if qwen25:
            pool = P.QWEN2_5_VL_PHRASE_PROMPT if record.task is Task.PHRASE_GROUNDING else P.QWEN2_5_VL_GROUNDING_PROMPT
            return pool.format(target)
        return P.QWEN3_VL_GROUNDING_PROMPT.format(target) + P.QWEN_BBOX_EXAMPLE.format(target)

    def template_kwargs(self, thinking: bool = False) -> dict[str, Any]:
        """``enable_thinking`` for the native thinking variant (templates that do not read it ignore it)."""
        return {"enable_thinking": True} if self.thinking == "native" else {}

    def read_boxes(
        self, text: str, record: Record, *, image_size: Size | None = None, input_size: Size | None = None
    ) -> list[Box]:
        raw = _key_boxes(text, "bbox_2d") or parse_boxes(text)
        if self.box_frame == "pixels_input":
            if input_size is None:
                raise ValueError(
                    f"the {self.name} adapter reads boxes in pixels of the resized input: parse() needs "
                    "input_size=(width, height) (image_grid_thw[1:] reversed times the image processor's patch_size)"
                )
            return _clean_boxes([from_pixels_input(b, input_size) for b in parse_boxes(raw)])
        return _clean_boxes([from_grid(b, 1000) for b in raw])


class MedGemmaAdapter(_BaselineAdapter):
    """MedGemma (Gemma 3): system prompt "You are an expert radiologist.", the image, then the instruction; grounding
    with MedGemma's localization prompt, boxes read from the ``box_2d`` of the final answer (y first, 0–1000)."""

    def task_prompt(self, record: Record) -> str:
        if record.task is Task.REPORT_GENERATION:
            return P.MEDGEMMA_REPORT_PROMPT
        return P.MEDGEMMA_LOCALIZATION_PROMPT.format(self.target(record))

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": [{"type": "text", "text": P.MEDGEMMA_SYSTEM_PROMPT}]},
            P.user_message(self.prompt(record, thinking)),
        ]

    def read_boxes(
        self, text: str, record: Record, *, image_size: Size | None = None, input_size: Size | None = None
    ) -> list[Box]:
        final = text.rfind("Final Answer")
        part = text[final:] if final >= 0 else text
        if final < 0:  # no final answer: the last ```json block, else the whole text
            blocks = re.findall(r"```json(.*?)(?:```|\Z)", text, flags=re.DOTALL)
            part = blocks[-1] if blocks else text
        return _clean_boxes([from_grid(yxyx_to_xyxy(b), 1000) for b in _key_boxes(part, "box_2d")])


_PUNCT_RULES: tuple[tuple[str, str], ...] = (
    (r"[\r\n]+", " "),
    (r"\s+", " "),
    (r"\s*,\s*,+", ", "),
    (r"\s*,\s*\.", "."),
    (r"\s*\.\s*\.", "."),
    (r"\s*,\s*$", ""),
    (r"^\s*,\s*", ""),
    (r"(,\s*){2,}", ", "),
    (r"(\.\s*){2,}", ". "),
)


class MedGemmaPtAdapter(MedGemmaAdapter):
    """MedGemma-4b-pt (pretrained, no chat turns): ``<start_of_image> findings:``; the report's whitespace and
    stray punctuation are tidied as in the paper's evaluation."""

    def task_prompt(self, record: Record) -> str:
        return P.MEDGEMMA_PT_REPORT_PROMPT

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        return prompt_messages(self.prompt(record, thinking))

    def template_kwargs(self, thinking: bool = False) -> dict[str, Any]:
        return {"chat_template": P.MEDGEMMA_PT_CHAT_TEMPLATE}

    def clean_report(self, text: str) -> str:
        """Newlines and runs of spaces to one space, repeated commas/periods collapsed, edge punctuation trimmed.

        Example:
            >>> get_adapter("medgemma_pt").clean_report(" The heart is normal.. \\n\\nNo effusion , , ")
            'The heart is normal. No effusion'
        """
        for pattern, repl in _PUNCT_RULES:
            text = re.sub(pattern, repl, text)
        return text.strip(" ,.")


_MAIRA_BOX = re.compile(r"<x(\d+)><y(\d+)><x(\d+)><y(\d+)>")
_MAIRA_TAGS = re.compile(r"</?obj>|<box>.*?</box>", re.DOTALL)


class Maira2Adapter(_BaselineAdapter):
    """MAIRA-2: its processor's reporting turn (current frontal image only, no indication/technique/comparison) and
    phrase-grounding turn; boxes ``<box><x55><y45><x70><y56></box>`` are 100 bins of the centre-cropped square,
    mapped back to the whole image (needs ``image_size``; without it the image is taken as square)."""

    def task_prompt(self, record: Record) -> str:
        before, after = self._parts(record)
        return before + after

    def _parts(self, record: Record) -> tuple[str, str]:
        if record.task is Task.REPORT_GENERATION:
            return P.MAIRA2_REPORT_PREFIX, P.MAIRA2_REPORT_INSTRUCTION
        return P.MAIRA2_GROUNDING_PREFIX, P.MAIRA2_GROUNDING_INSTRUCTION.format(self.target(record))

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        self.prompt(record, thinking)  # the task check
        before, after = self._parts(record)
        content = [{"type": "text", "text": before}, P.image_part(), {"type": "text", "text": after}]
        return [{"role": "user", "content": content}]

    def prepare_image(self, image: Any) -> Any:
        """Grey scale stretched to 0–255, as MAIRA-2's processor does before its own resize and crop."""
        import numpy as np
        from PIL import Image

        arr = np.asarray(image.convert("L"), dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(arr.astype(np.uint8)).convert("L")

    def read_boxes(
        self, text: str, record: Record, *, image_size: Size | None = None, input_size: Size | None = None
    ) -> list[Box]:
        out = []
        for box_text in re.findall(r"<box>(.*?)</box>", text, flags=re.DOTALL):
            m = _MAIRA_BOX.search(box_text)
            if m is None:
                continue
            b = from_bins([int(g) for g in m.groups()], 100)
            out.append(from_center_crop(b, image_size) if image_size is not None else clip_box(b))
        return _clean_boxes(out)

    def clean_report(self, text: str) -> str:
        """A grounded report as plain text: phrases kept, ``<obj>`` tags and boxes dropped.

        Example:
            >>> get_adapter("maira2").clean_report("<obj>Small effusion.<box><x1><y2><x3><y4></box></obj><obj>No PTX.</obj>")
            'Small effusion. No PTX.'
        """
        if "<obj>" not in text and "<box>" not in text:
            return text
        phrases = re.findall(r"<obj>(.*?)</obj>", text, flags=re.DOTALL)
        parts = [_MAIRA_TAGS.sub("", p).strip() for p in phrases] if phrases else [_MAIRA_TAGS.sub(" ", text)]
        return " ".join(p for p in parts if p)


class LlavaRadAdapter(_BaselineAdapter):
    """LLaVA-Rad: the model card's query in LLaVA's ``v1`` conversation (passed as the chat template), reports only."""

    def task_prompt(self, record: Record) -> str:
        return P.LLAVA_RAD_REPORT_PROMPT

    def template_kwargs(self, thinking: bool = False) -> dict[str, Any]:
        return {"chat_template": P.LLAVA_V1_CHAT_TEMPLATE}


_CHEXAGENT_BOX = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_SPECIAL = re.compile(r"<\|[^|<>]*\|>")


class CheXagentAdapter(_BaselineAdapter):
    """CheXagent-2: its repository's prompts in a ``from``/``value`` conversation whose user text names the image by
    path (:meth:`render`); boxes ``<|box|> (x1,y1),(x2,y2) <|/box|>`` on a 0–100 grid of the image."""

    def task_prompt(self, record: Record) -> str:
        if record.task is Task.REPORT_GENERATION:
            return P.CHEXAGENT_REPORT_PROMPT
        if record.task is Task.ABNORMALITY_GROUNDING:
            return P.CHEXAGENT_ABNORMALITY_PROMPT.format(self.target(record))
        return P.CHEXAGENT_PHRASE_PROMPT.format(self.target(record))

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": [{"type": "text", "text": P.CHEXAGENT_SYSTEM_PROMPT}]},
            *prompt_messages(self.prompt(record, thinking)),
        ]

    def conversation(self, tokenizer: Any, record: Record, image_path: str | os.PathLike) -> list[dict[str, Any]]:
        """CheXagent's own conversation: ``[{"from": "system", ...}, {"from": "human", "value": query}]`` with the
        query from its tokenizer's ``from_list_format([{"image": path}, {"text": prompt}])``."""
        query = tokenizer.from_list_format([{"image": str(image_path)}, {"text": self.prompt(record)}])
        return [{"from": "system", "value": P.CHEXAGENT_SYSTEM_PROMPT}, {"from": "human", "value": query}]

    def render(
        self, processor: Any, record: Record, thinking: bool = False, image_path: str | os.PathLike | None = None
    ) -> str:
        if image_path is None:
            raise ValueError(f"the {self.name} adapter names the image in its prompt: render() needs image_path")
        tok = getattr(processor, "tokenizer", processor)
        return tok.apply_chat_template(
            self.conversation(tok, record, image_path), add_generation_prompt=True, tokenize=False
        )

    def read_boxes(
        self, text: str, record: Record, *, image_size: Size | None = None, input_size: Size | None = None
    ) -> list[Box]:
        return _clean_boxes([from_grid([int(g) for g in m.groups()], 100) for m in _CHEXAGENT_BOX.finditer(text)])

    def clean_report(self, text: str) -> str:
        """Special tokens (``<|endoftext|>``, ``<|ref|>`` ...) removed, spaces collapsed."""
        return re.sub(r"\s+", " ", _SPECIAL.sub(" ", text)).strip()


ADAPTERS: dict[str, ModelAdapter] = {}


def register_adapter(adapter: ModelAdapter) -> ModelAdapter:
    """Add an adapter to :data:`ADAPTERS` under its name (a duplicate name raises ``ValueError``)."""
    if adapter.name in ADAPTERS:
        raise ValueError(f"adapter {adapter.name!r} is already registered")
    ADAPTERS[adapter.name] = adapter
    return adapter


def get_adapter(name: str) -> ModelAdapter:
    """The adapter called ``name``; an unknown name raises :class:`UnknownAdapterError` (a ``KeyError`` and a
    :class:`~radgrpo.config.ConfigError`) naming the closest registered one.

    Example:
        >>> get_adapter("qwen3_vl_instrct")
        Traceback (most recent call last):
        ...
        radgrpo.models.adapters.UnknownAdapterError: unknown model adapter 'qwen3_vl_instrct'; did you mean 'qwen3_vl_instruct'? (registered: radgrpo, qwen3_vl_instruct, qwen3_vl_thinking, qwen2_5_vl, medgemma, medgemma_pt, maira2, llava_rad, chexagent)
    """
    if name not in ADAPTERS:
        near = closest(name, list(ADAPTERS))
        hint = f"; did you mean {near!r}?" if near else ""
        raise UnknownAdapterError(f"unknown model adapter {name!r}{hint} (registered: {', '.join(ADAPTERS)})")
    return ADAPTERS[name]


# ---- choosing an adapter for a model ----

#: Files only a radgrpo training run leaves in its output folder (beside ``config.yaml``), and the marker of its
#: model card (``README.md``, written by ``radgrpo.train.model_card``).
RADGRPO_RUN_FILES: tuple[str, ...] = ("log_history.json", "heldout.json", "monitors.json", "radgrpo_tiny.json")
RADGRPO_CARD_MARKER = "written by radgrpo.train.model_card"


def is_radgrpo_folder(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` (or, for a ``checkpoint-N`` folder, its parent) was written by radgrpo: its model card, one
    of :data:`RADGRPO_RUN_FILES`, or ``config.yaml`` beside a trainer state.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "README.md").write_text("<!-- written by radgrpo.train.model_card -->")
        >>> is_radgrpo_folder(d), is_radgrpo_folder(d.parent)
        (True, False)
    """
    here = Path(folder)
    for d in (here, here.parent) if here.name.startswith("checkpoint-") else (here,):
        if not d.is_dir():
            continue
        if any((d / f).is_file() for f in RADGRPO_RUN_FILES):
            return True
        if (d / "config.yaml").is_file() and (d / "trainer_state.json").is_file():
            return True
        card = d / "README.md"
        try:
            if card.is_file() and RADGRPO_CARD_MARKER in card.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _names(model: str, config: Mapping[str, Any]) -> list[str]:
    """The strings a model is recognised by: its id or path, ``_name_or_path``, ``architectures``, ``model_type``
    (and a PEFT adapter's ``base_model_name_or_path``)."""
    names = [model] if model else []
    for key in ("_name_or_path", "name_or_path", "model_type", "base_model_name_or_path"):
        if isinstance(config.get(key), str):
            names.append(config[key])
    arch = config.get("architectures")
    if isinstance(arch, (list, tuple)):
        names.extend(a for a in arch if isinstance(a, str))
    return names


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _matches(pattern: str, raw: str, squashed: str) -> bool:
    return all((p in squashed) if p == _alnum(p) else (p in raw) for p in pattern.lower().split("+"))


def resolve_adapter(name: str, model: str = "", model_config: Mapping[str, Any] | None = None) -> ModelAdapter:
    """``--adapter`` resolved: a registered name, or ``"auto"``: the adapter whose ``hub_ids`` match the model's hub
    id / folder name / ``config.json`` (``_name_or_path``, ``architectures``, ``model_type``), else ``radgrpo``.

    A folder that radgrpo trained (:func:`is_radgrpo_folder`) is always ``radgrpo``, whatever base model its config
    names; so is a name matching the radgrpo adapter's own ``hub_ids`` (``radvlm``, ``radgrpo``). Otherwise the match
    with the most fragments wins (``qwen3_vl_thinking`` needs "qwen3vl" and "thinking", so it beats
    ``qwen3_vl_instruct``), ties going to the adapter registered first. ``config.json`` is read from a local folder
    when ``model_config`` is not given (and ``adapter_config.json`` of a PEFT folder).

    Example:
        >>> resolve_adapter("auto", "Qwen/Qwen3-VL-8B-Thinking").name, resolve_adapter("auto", "microsoft/maira-2").name
        ('qwen3_vl_thinking', 'maira2')
        >>> resolve_adapter("auto", "runs/x", {"model_type": "qwen2_5_vl"}).name, resolve_adapter("auto", "my-model").name
        ('qwen2_5_vl', 'radgrpo')
    """
    if name != "auto":
        return get_adapter(name)
    folder = Path(model) if model and Path(model).is_dir() else None
    if folder is not None and is_radgrpo_folder(folder):
        return ADAPTERS["radgrpo"]
    config = dict(model_config) if model_config is not None else {}
    # a local folder is known by its own name (and its run's, for checkpoint-N), not by the folders above it
    names = _names("" if folder is not None else model, config)
    if folder is not None:
        here = folder.resolve()
        names.extend([here.name, here.parent.name] if here.name.startswith("checkpoint-") else [here.name])
        for fname in ("config.json", "adapter_config.json"):
            if model_config is None or fname == "adapter_config.json":
                names.extend(_names("", _read_json(folder / fname)))
    raw = "\n".join(n.lower() for n in names)
    squashed = "\n".join(_alnum(n) for n in names)
    default = ADAPTERS["radgrpo"]
    if any(_matches(p, raw, squashed) for p in default.hub_ids):
        return default
    best: tuple[int, int, ModelAdapter] | None = None
    for i, adapter in enumerate(ADAPTERS.values()):
        for pattern in adapter.hub_ids:
            if _matches(pattern, raw, squashed):
                key = (pattern.count("+") + 1, -i)
                if best is None or key > best[:2]:
                    best = (*key, adapter)
    return best[2] if best is not None else default


def adapters_help() -> str:
    """One line per registered adapter (``radgrpo eval --help-adapters``): name, remote-code flag, description and
    the names ``auto`` picks it for.

    Example:
        >>> print(adapters_help().splitlines()[0])
        radgrpo              the default; RadVLM's instructions, normalised [0,1] boxes  (auto: radvlm, radgrpo, any other model)
    """
    lines = []
    for a in ADAPTERS.values():
        remote = " [--trust_remote_code]" if a.trust_remote_code else ""
        auto = ", ".join(a.hub_ids) + (", any other model" if a.name == "radgrpo" else "")
        lines.append(f"{a.name:<20} {a.description}{remote}  (auto: {auto})")
    return "\n".join(lines)


register_adapter(
    RadgrpoAdapter(
        description="the default; RadVLM's instructions, normalised [0,1] boxes", hub_ids=("radvlm", "radgrpo")
    )
)
register_adapter(
    QwenVLAdapter(
        name="qwen3_vl_instruct",
        description="Qwen3-VL Instruct: the paper's report prompt, Qwen's JSON bbox_2d grounding on a 0-1000 grid",
        generation={"do_sample": False, "max_new_tokens": 1024},
        box_frame="qwen1000",
        thinking="none",
        hub_ids=("qwen3vl",),
        tasks=BASELINE_TASKS,
        source="https://huggingface.co/Qwen/Qwen3-VL-8B-Instruct",
    )
)
register_adapter(
    QwenVLAdapter(
        name="qwen3_vl_thinking",
        description="Qwen3-VL Thinking: the Instruct prompts, native thinking, the answer after the last </think>",
        generation={"do_sample": True, "temperature": 1.0, "max_new_tokens": 4096},
        box_frame="qwen1000",
        thinking="native",
        hub_ids=("qwen3vl+thinking",),
        tasks=BASELINE_TASKS,
        source="https://huggingface.co/Qwen/Qwen3-VL-8B-Thinking",
    )
)
register_adapter(
    QwenVLAdapter(
        name="qwen2_5_vl",
        description="Qwen2.5-VL: its cookbook's grounding prompts, JSON bbox_2d in pixels of the resized input",
        generation={"do_sample": False, "max_new_tokens": 1024},
        box_frame="pixels_input",
        thinking="none",
        hub_ids=("qwen25vl",),
        tasks=BASELINE_TASKS,
        source="https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct",
    )
)
register_adapter(
    MedGemmaAdapter(
        name="medgemma",
        description="MedGemma (-it): 'You are an expert radiologist.', box_2d [y0, x0, y1, x1] on a 0-1000 grid",
        generation={"do_sample": False, "max_new_tokens": 1024},
        box_frame="gemma1000_yx",
        thinking="none",
        hub_ids=("medgemma",),
        tasks=BASELINE_TASKS,
        source="https://huggingface.co/google/medgemma-4b-it",
    )
)
register_adapter(
    MedGemmaPtAdapter(
        name="medgemma_pt",
        description="MedGemma-4b-pt: '<start_of_image> findings:' without chat turns, reports only",
        generation={"do_sample": False, "max_new_tokens": 100},
        box_frame="none",
        thinking="none",
        hub_ids=("medgemma+-pt",),
        tasks=_REPORT_ONLY,
        source="https://huggingface.co/google/medgemma-4b-pt",
    )
)
register_adapter(
    Maira2Adapter(
        name="maira2",
        description="MAIRA-2: its reporting and phrase-grounding turns, <box> tokens on 100 bins of the centre crop",
        generation={"do_sample": False, "max_new_tokens": 500},
        trust_remote_code=True,
        auto_class="AutoModelForCausalLM",
        box_frame="maira2_bins",
        thinking="none",
        hub_ids=("maira2",),
        tasks=BASELINE_TASKS,
        source="microsoft/maira-2",
    )
)
register_adapter(
    LlavaRadAdapter(
        name="llava_rad",
        description="LLaVA-Rad: 'Describe the findings of the chest x-ray.' in LLaVA's v1 conversation, reports only",
        generation={"do_sample": False, "max_new_tokens": 1024},
        box_frame="none",
        thinking="none",
        hub_ids=("llavarad",),
        tasks=_REPORT_ONLY,
        source="https://huggingface.co/microsoft/llava-rad",
    )
)
register_adapter(
    CheXagentAdapter(
        name="chexagent",
        description="CheXagent-2: its repository's prompts, <|box|> (x1,y1),(x2,y2) on a 0-100 grid",
        generation={"do_sample": False, "max_new_tokens": 500},
        trust_remote_code=True,
        auto_class="AutoModelForCausalLM",
        box_frame="chexagent100",
        thinking="none",
        hub_ids=("chexagent",),
        tasks=BASELINE_TASKS,
        processor_class="AutoTokenizer",
        images_in_text=True,
        skip_special_tokens=False,
        source="StanfordAIMI/CheXagent-2-3b",
    )
)
