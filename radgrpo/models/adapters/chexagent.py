"""The ``chexagent`` adapter: CheXagent-2 (remote code, ``--trust_remote_code``) with its repository's prompts in a
``from``/``value`` conversation that names the image by path; boxes ``<|box|> (x1,y1),(x2,y2) <|/box|>`` on a 0-100
grid of the image.

Example:
    >>> from radgrpo.models.adapters import get_adapter
    >>> from radgrpo.records import Record
    >>> rec = Record("g0", "x.png", "abnormality_grounding", "q", "x", target="nodule")
    >>> get_adapter("chexagent").parse("<|ref|>nodule<|/ref|><|box|> (10,20),(40,50) <|/box|>", rec)
    ('[0.1, 0.2, 0.4, 0.5]', True)
"""

from __future__ import annotations

import os
import re
from typing import Any

from radgrpo.boxes import from_grid
from radgrpo.data.prompts import prompt_messages
from radgrpo.models.adapters.base import BASELINE_TASKS, BaselineAdapter, Size, clean_boxes
from radgrpo.models.adapters.registry import register_adapter
from radgrpo.records import Box, Record, Task

__all__ = [
    "CHEXAGENT_ABNORMALITY_PROMPT",
    "CHEXAGENT_PHRASE_PROMPT",
    "CHEXAGENT_REPORT_PROMPT",
    "CHEXAGENT_SYSTEM_PROMPT",
    "CheXagentAdapter",
]

# ---- published prompts (each quoted as its source publishes it; the comment above it names the source) ----

# CheXagent-2 (StanfordAIMI/CheXagent-2-3b; Stanford-AIMI/CheXagent, model_chexagent/chexagent.py): the system turn,
# the paper's findings prompt, and the repository's phrase-grounding and abnormality-detection prompts. Boxes come
# back as "<|box|> (x1,y1),(x2,y2) <|/box|>" on a 0-100 grid of the image.
CHEXAGENT_SYSTEM_PROMPT = "You are a helpful assistant."
CHEXAGENT_REPORT_PROMPT = "Write an example findings section for the CXR"
CHEXAGENT_PHRASE_PROMPT = "Please locate the following phrase: {}"
CHEXAGENT_ABNORMALITY_PROMPT = "Locate areas in the chest X-ray where {} are present, using bounding box coordinates"

_CHEXAGENT_BOX = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*,\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_SPECIAL = re.compile(r"<\|[^|<>]*\|>")


class CheXagentAdapter(BaselineAdapter):
    """CheXagent-2: its repository's prompts in a ``from``/``value`` conversation whose user text names the image by
    path (:meth:`render`); boxes ``<|box|> (x1,y1),(x2,y2) <|/box|>`` on a 0–100 grid of the image."""

    def task_prompt(self, record: Record) -> str:
        if record.task is Task.REPORT_GENERATION:
            return CHEXAGENT_REPORT_PROMPT
        if record.task is Task.ABNORMALITY_GROUNDING:
            return CHEXAGENT_ABNORMALITY_PROMPT.format(self.target(record))
        return CHEXAGENT_PHRASE_PROMPT.format(self.target(record))

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": [{"type": "text", "text": CHEXAGENT_SYSTEM_PROMPT}]},
            *prompt_messages(self.prompt(record, thinking)),
        ]

    def conversation(self, tokenizer: Any, record: Record, image_path: str | os.PathLike) -> list[dict[str, Any]]:
        """CheXagent's own conversation: ``[{"from": "system", ...}, {"from": "human", "value": query}]`` with the
        query from its tokenizer's ``from_list_format([{"image": path}, {"text": prompt}])``."""
        query = tokenizer.from_list_format([{"image": str(image_path)}, {"text": self.prompt(record)}])
        return [{"from": "system", "value": CHEXAGENT_SYSTEM_PROMPT}, {"from": "human", "value": query}]

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
        return clean_boxes([from_grid([int(g) for g in m.groups()], 100) for m in _CHEXAGENT_BOX.finditer(text)])

    def clean_report(self, text: str) -> str:
        """Special tokens (``<|endoftext|>``, ``<|ref|>`` ...) removed, spaces collapsed."""
        return re.sub(r"\s+", " ", _SPECIAL.sub(" ", text)).strip()


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
