"""MedGemma adapters: ``medgemma`` (the -it models: system prompt, instruction, boxes ``box_2d`` as
``[y0, x0, y1, x1]`` on a 0-1000 grid) and ``medgemma_pt`` (the pretrained model, reports only), with their published
prompts.

Example:
    >>> from radgrpo.models.adapters import get_adapter
    >>> from radgrpo.records import Record
    >>> rec = Record("g0", "x.png", "abnormality_grounding", "Where is the nodule?", "x", target="nodule")
    >>> get_adapter("medgemma").parse('Final Answer: ```json[{"box_2d": [200, 100, 500, 400]}]```', rec)
    ('[0.1, 0.2, 0.4, 0.5]', True)
"""

from __future__ import annotations

import re
from typing import Any

from radgrpo.boxes import from_grid, yxyx_to_xyxy
from radgrpo.data.prompts import prompt_messages, user_message
from radgrpo.models.adapters.base import BASELINE_TASKS, REPORT_ONLY, BaselineAdapter, Size, clean_boxes, key_boxes
from radgrpo.models.adapters.registry import register_adapter
from radgrpo.records import Box, Record, Task

__all__ = [
    "MEDGEMMA_LOCALIZATION_PROMPT",
    "MEDGEMMA_PT_CHAT_TEMPLATE",
    "MEDGEMMA_PT_REPORT_PROMPT",
    "MEDGEMMA_REPORT_PROMPT",
    "MEDGEMMA_SYSTEM_PROMPT",
    "MedGemmaAdapter",
    "MedGemmaPtAdapter",
]

# ---- published prompts (each quoted as its source publishes it; the comment above it names the source) ----

# MedGemma (google/medgemma-4b-it model card, https://huggingface.co/google/medgemma-4b-it: the system prompt).
MEDGEMMA_SYSTEM_PROMPT = "You are an expert radiologist."
# The paper's MedGemma-it report instruction (RadVLM-GRPO get_prompt for google/medgemma-27b-it, whose user turn is
# "<image> You are an expert radiologist. " + this; here the first sentence is the system prompt above).
MEDGEMMA_REPORT_PROMPT = "Please succinctly describe the findings for the above chest x-ray."
# MedGemma's chest X-ray localization prompt (Google-Health/medgemma, notebooks/
# cxr_anatomy_localization_with_hugging_face.ipynb): "box_2d" as [y0, x0, y1, x1] normalised to 0-1000, after a
# "Final Answer:" in a ```json block.
MEDGEMMA_LOCALIZATION_PROMPT = (
    "Instructions:\n"
    "The following user query will require outputting bounding boxes. The format of bounding boxes coordinates is "
    "[y0, x0, y1, x1] where (y0, x0) must be top-left corner and (y1, x1) the bottom-right corner. This implies that "
    "x0 < x1 and y0 < y1. Always normalize the x and y coordinates the range [0, 1000], meaning that a bounding box "
    "starting at 15% of the image width would be associated with an x coordinate of 150. You MUST output a single "
    "parseable json list of objects enclosed into ```json...``` brackets, for instance "
    '```json[{{"box_2d": [800, 3, 840, 471], "label": "car"}}, {{"box_2d": [400, 22, 600, 73], "label": "dog"}}]``` '
    "is a valid output. Now answer to the user query.\n\n"
    'Remember "left" refers to the patient\'s left side where the heart is and sometimes underneath an L in the upper '
    "right corner of the image.\n\n"
    "Query:\n"
    "Where is the {}? Don't give a final answer without reasoning. Output the final answer in the format "
    '"Final Answer: X" where X is a JSON list of objects. The object needs a "box_2d" and "label" key. Answer:'
)
# MedGemma-4b-pt's report prompt, sent without a chat template (google/medgemma-4b-pt model card; the paper's
# MedGemma-pt row): the image token, then this text.
MEDGEMMA_PT_REPORT_PROMPT = "findings:"
# The raw "template" of MedGemma-4b-pt: "<start_of_image> findings:" (no turns, no system prompt).
MEDGEMMA_PT_CHAT_TEMPLATE = (
    "{%- for message in messages -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' -%}{{ '<start_of_image>' }}{%- elif item['type'] == 'text' -%}{{ ' ' + item['text'] }}"
    "{%- endif -%}{%- endfor -%}{%- endfor -%}"
)


class MedGemmaAdapter(BaselineAdapter):
    """MedGemma (Gemma 3): system prompt "You are an expert radiologist.", the image, then the instruction; grounding
    with MedGemma's localization prompt, boxes read from the ``box_2d`` of the final answer (y first, 0–1000)."""

    def task_prompt(self, record: Record) -> str:
        if record.task is Task.REPORT_GENERATION:
            return MEDGEMMA_REPORT_PROMPT
        return MEDGEMMA_LOCALIZATION_PROMPT.format(self.target(record))

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": [{"type": "text", "text": MEDGEMMA_SYSTEM_PROMPT}]},
            user_message(self.prompt(record, thinking)),
        ]

    def read_boxes(
        self, text: str, record: Record, *, image_size: Size | None = None, input_size: Size | None = None
    ) -> list[Box]:
        final = text.rfind("Final Answer")
        part = text[final:] if final >= 0 else text
        if final < 0:  # no final answer: the last ```json block, else the whole text
            blocks = re.findall(r"```json(.*?)(?:```|\Z)", text, flags=re.DOTALL)
            part = blocks[-1] if blocks else text
        return clean_boxes([from_grid(yxyx_to_xyxy(b), 1000) for b in key_boxes(part, "box_2d")])


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
        return MEDGEMMA_PT_REPORT_PROMPT

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        return prompt_messages(self.prompt(record, thinking))

    def template_kwargs(self, thinking: bool = False) -> dict[str, Any]:
        return {"chat_template": MEDGEMMA_PT_CHAT_TEMPLATE}

    def clean_report(self, text: str) -> str:
        """Newlines and runs of spaces to one space, repeated commas/periods collapsed, edge punctuation trimmed.

        Example:
            >>> from radgrpo.models.adapters import get_adapter
            >>> get_adapter("medgemma_pt").clean_report(" The heart is normal.. \\n\\nNo effusion , , ")
            'The heart is normal. No effusion'
        """
        for pattern, repl in _PUNCT_RULES:
            text = re.sub(pattern, repl, text)
        return text.strip(" ,.")


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
        tasks=REPORT_ONLY,
        source="https://huggingface.co/google/medgemma-4b-pt",
    )
)
