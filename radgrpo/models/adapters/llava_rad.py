"""The ``llava_rad`` adapter: LLaVA-Rad (a checkpoint converted to transformers' LLaVA class), its model card's
query in LLaVA's ``v1`` conversation, reports only.

Example:
    >>> from radgrpo.models.adapters import get_adapter
    >>> from radgrpo.records import Record
    >>> get_adapter("llava_rad").prompt(Record("r0", "x.png", "report_generation", "q", "x"))
    'Describe the findings of the chest x-ray.\\n'
"""

from __future__ import annotations

from typing import Any

from radgrpo.models.adapters.base import REPORT_ONLY, BaselineAdapter
from radgrpo.models.adapters.registry import register_adapter
from radgrpo.records import Record

__all__ = ["LLAVA_RAD_REPORT_PROMPT", "LLAVA_V1_CHAT_TEMPLATE", "LLAVA_V1_SYSTEM_PROMPT", "LlavaRadAdapter"]

# ---- published prompts (each quoted as its source publishes it; the comment above it names the source) ----

# LLaVA-Rad (microsoft/llava-rad model card, https://huggingface.co/microsoft/llava-rad): the query
# "<image>\nDescribe the findings of the chest x-ray.\n" in LLaVA's "v1" conversation (conv_vicuna_v1).
LLAVA_RAD_REPORT_PROMPT = "Describe the findings of the chest x-ray.\n"
LLAVA_V1_SYSTEM_PROMPT = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
# LLaVA's conv_vicuna_v1.get_prompt() as a chat template: system + " ", "USER: " + turn + " ", "ASSISTANT:"; the image
# placeholder is "<image>\n" before the text, as in the model card's query.
LLAVA_V1_CHAT_TEMPLATE = (
    "{{- '" + LLAVA_V1_SYSTEM_PROMPT.replace("'", "\\'") + " ' -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'user' -%}{{- 'USER: ' -}}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' -%}{{- '<image>\\n' -}}{%- elif item['type'] == 'text' -%}{{- item['text'] -}}"
    "{%- endif -%}{%- endfor -%}{{- ' ' -}}"
    "{%- elif message['role'] == 'assistant' -%}{{- 'ASSISTANT: ' -}}"
    "{%- for item in message['content'] -%}{%- if item['type'] == 'text' -%}{{- item['text'] -}}{%- endif -%}"
    "{%- endfor -%}{{- '</s>' -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'ASSISTANT:' -}}{%- endif -%}"
)


class LlavaRadAdapter(BaselineAdapter):
    """LLaVA-Rad: the model card's query in LLaVA's ``v1`` conversation (passed as the chat template), reports only."""

    def task_prompt(self, record: Record) -> str:
        return LLAVA_RAD_REPORT_PROMPT

    def template_kwargs(self, thinking: bool = False) -> dict[str, Any]:
        return {"chat_template": LLAVA_V1_CHAT_TEMPLATE}


register_adapter(
    LlavaRadAdapter(
        name="llava_rad",
        description="LLaVA-Rad: 'Describe the findings of the chest x-ray.' in LLaVA's v1 conversation, reports only",
        generation={"do_sample": False, "max_new_tokens": 1024},
        box_frame="none",
        thinking="none",
        hub_ids=("llavarad",),
        tasks=REPORT_ONLY,
        source="https://huggingface.co/microsoft/llava-rad",
    )
)
