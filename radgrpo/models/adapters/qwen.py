"""Qwen-VL adapters: ``qwen3_vl_instruct``, ``qwen3_vl_thinking`` (native thinking, the answer after the last
``</think>``) and ``qwen2_5_vl``, with their published prompts.

Qwen3-VL answers boxes as JSON ``bbox_2d`` on a 0-1000 grid of the image; Qwen2.5-VL in absolute pixels of the image
its processor resized (``parse`` needs ``input_size``).

Example:
    >>> from radgrpo.models.adapters import get_adapter
    >>> from radgrpo.records import Record
    >>> rec = Record("g0", "x.png", "abnormality_grounding", "Where is the nodule?", "x", target="nodule")
    >>> get_adapter("qwen3_vl_instruct").parse('[{"bbox_2d": [100, 200, 400, 500], "label": "nodule"}]', rec)
    ('[0.1, 0.2, 0.4, 0.5]', True)
"""

from __future__ import annotations

from typing import Any

from radgrpo.boxes import from_grid, from_pixels_input, parse_boxes
from radgrpo.models.adapters.base import BASELINE_TASKS, BaselineAdapter, Size, clean_boxes, key_boxes
from radgrpo.models.adapters.registry import register_adapter
from radgrpo.records import Box, Record, Task

__all__ = [
    "QWEN2_5_VL_GROUNDING_PROMPT",
    "QWEN2_5_VL_PHRASE_PROMPT",
    "QWEN3_VL_GROUNDING_PROMPT",
    "QWEN3_VL_REPORT_PROMPT",
    "QWEN_BBOX_EXAMPLE",
    "QwenVLAdapter",
]

# ---- published prompts (each quoted as its source publishes it; the comment above it names the source) ----

# Qwen3-VL-8B-Instruct / -Thinking report prompt of the paper's own evaluation (uzh-dqbm-cmi/RadVLM-GRPO,
# radvlm/evaluation/models_loading_inference.py, get_prompt; "Chext" is the source's typo, kept).
QWEN3_VL_REPORT_PROMPT = (
    "Please write a radiology report for this Chext X-ray.\n\n"
    "It should be one unstructured paragraph of findings only: concise, natural clinical language, objective, "
    "declarative sentences describing visible features only, suitable for a radiology findings report using standard "
    "radiology phrasing."
)
# Qwen3-VL referring-expression grounding prompt (Qwen3-VL technical report, Appendix B, grounding evaluation;
# https://github.com/QwenLM/Qwen3-VL). Boxes come back as JSON "bbox_2d" in Qwen3-VL's relative 0-1000 frame.
QWEN3_VL_GROUNDING_PROMPT = (
    'Locate every object that matches the description "{}" in the image. Report bbox coordinates in JSON format.'
)
# The box format stated by example, in the form of the same report's point prompt ('For example: [{"point_2d": ...'):
# the paper says its Qwen3-VL prompt specifies the expected box format. "{}" is the label (the grounded target).
QWEN_BBOX_EXAMPLE = ' For example: [{{"bbox_2d": [x1, y1, x2, y2], "label": "{}"}}]'
# Qwen2.5-VL grounding prompts of its spatial-understanding cookbook ("prompt examples following the official
# setting", https://github.com/QwenLM/Qwen2.5-VL/blob/main/cookbooks/spatial_understanding.ipynb): a category
# (anatomical region / abnormality) and a referring phrase. Answers: JSON "bbox_2d" in absolute pixels of the
# resized input image.
QWEN2_5_VL_GROUNDING_PROMPT = "Outline the position of each {} and output all the coordinates in JSON format."
QWEN2_5_VL_PHRASE_PROMPT = "Locate {}, output its bbox coordinates using JSON format."


class QwenVLAdapter(BaselineAdapter):
    """Qwen3-VL Instruct / Thinking (0–1000 grid) and Qwen2.5-VL (pixels of the resized input): the paper's report
    prompt for Qwen3-VL, Qwen's own grounding prompts, boxes read from JSON ``bbox_2d`` (plain ``[a, b, c, d]``
    lists when there is no ``bbox_2d``)."""

    def task_prompt(self, record: Record) -> str:
        qwen25 = self.box_frame == "pixels_input"
        if record.task is Task.REPORT_GENERATION:
            return QWEN3_VL_REPORT_PROMPT
        target = self.target(record)
        if qwen25:
            pool = QWEN2_5_VL_PHRASE_PROMPT if record.task is Task.PHRASE_GROUNDING else QWEN2_5_VL_GROUNDING_PROMPT
            return pool.format(target)
        return QWEN3_VL_GROUNDING_PROMPT.format(target) + QWEN_BBOX_EXAMPLE.format(target)

    def template_kwargs(self, thinking: bool = False) -> dict[str, Any]:
        """``enable_thinking`` for the native thinking variant (templates that do not read it ignore it)."""
        return {"enable_thinking": True} if self.thinking == "native" else {}

    def read_boxes(
        self, text: str, record: Record, *, image_size: Size | None = None, input_size: Size | None = None
    ) -> list[Box]:
        raw = key_boxes(text, "bbox_2d") or parse_boxes(text)
        if self.box_frame == "pixels_input":
            if input_size is None:
                raise ValueError(
                    f"the {self.name} adapter reads boxes in pixels of the resized input: parse() needs "
                    "input_size=(width, height) (image_grid_thw[1:] reversed times the image processor's patch_size)"
                )
            return clean_boxes([from_pixels_input(b, input_size) for b in parse_boxes(raw)])
        return clean_boxes([from_grid(b, 1000) for b in raw])


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
