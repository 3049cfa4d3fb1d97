"""The ``maira2`` adapter: MAIRA-2 (remote code, ``--trust_remote_code``) with its processor's reporting and
phrase-grounding turns; boxes ``<box><x55><y45><x70><y56></box>`` are 100 bins of the centre-cropped square.

Example:
    >>> from radgrpo.models.adapters import get_adapter
    >>> from radgrpo.records import Record
    >>> rec = Record("g0", "x.png", "phrase_grounding", "q", "x", target="Small left pleural effusion")
    >>> get_adapter("maira2").prompt(rec).endswith("Finding: Small left pleural effusion")
    True
"""

from __future__ import annotations

import re
from typing import Any

from radgrpo.boxes import clip_box, from_bins, from_center_crop
from radgrpo.data.prompts import image_part
from radgrpo.models.adapters.base import BASELINE_TASKS, BaselineAdapter, Size, clean_boxes
from radgrpo.models.adapters.registry import register_adapter
from radgrpo.records import Box, Record, Task

__all__ = [
    "MAIRA2_GROUNDING_INSTRUCTION",
    "MAIRA2_GROUNDING_PREFIX",
    "MAIRA2_REPORT_INSTRUCTION",
    "MAIRA2_REPORT_PREFIX",
    "Maira2Adapter",
]

# ---- published prompts (each quoted as its source publishes it; the comment above it names the source) ----

# MAIRA-2 (microsoft/maira-2, processing_maira2.py: _construct_chat_messages_reporting with the current frontal
# image only and no indication/technique/comparison ("N/A"), and _construct_chat_messages_phrase_grounding). The text
# before the image, then the text after it (which starts with a space, as in the source).
MAIRA2_REPORT_PREFIX = "Given the current frontal image only"
MAIRA2_REPORT_INSTRUCTION = (
    " Provide a structured description of the findings in the radiology study in comparison to the prior frontal "
    "image. INDICATION: N/A TECHNIQUE: N/A COMPARISON: N/A"
)
MAIRA2_GROUNDING_PREFIX = "Given the current frontal image"
MAIRA2_GROUNDING_INSTRUCTION = (
    " Repeat the following finding as a grounded phrase with bounding boxes indicating all locations where it can be "
    "seen in the given chest X-ray image. Finding: {}"
)


_MAIRA_BOX = re.compile(r"<x(\d+)><y(\d+)><x(\d+)><y(\d+)>")
_MAIRA_TAGS = re.compile(r"</?obj>|<box>.*?</box>", re.DOTALL)


class Maira2Adapter(BaselineAdapter):
    """MAIRA-2: its processor's reporting turn (current frontal image only, no indication/technique/comparison) and
    phrase-grounding turn; boxes ``<box><x55><y45><x70><y56></box>`` are 100 bins of the centre-cropped square,
    mapped back to the whole image (needs ``image_size``; without it the image is taken as square)."""

    def task_prompt(self, record: Record) -> str:
        before, after = self._parts(record)
        return before + after

    def _parts(self, record: Record) -> tuple[str, str]:
        if record.task is Task.REPORT_GENERATION:
            return MAIRA2_REPORT_PREFIX, MAIRA2_REPORT_INSTRUCTION
        return MAIRA2_GROUNDING_PREFIX, MAIRA2_GROUNDING_INSTRUCTION.format(self.target(record))

    def messages(self, record: Record, thinking: bool = False) -> list[dict[str, Any]]:
        self.prompt(record, thinking)  # the task check
        before, after = self._parts(record)
        content = [{"type": "text", "text": before}, image_part(), {"type": "text", "text": after}]
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
        return clean_boxes(out)

    def clean_report(self, text: str) -> str:
        """A grounded report as plain text: phrases kept, ``<obj>`` tags and boxes dropped.

        Example:
            >>> from radgrpo.models.adapters import get_adapter
            >>> get_adapter("maira2").clean_report("<obj>Small effusion.<box><x1><y2><x3><y4></box></obj><obj>No PTX.</obj>")
            'Small effusion. No PTX.'
        """
        if "<obj>" not in text and "<box>" not in text:
            return text
        phrases = re.findall(r"<obj>(.*?)</obj>", text, flags=re.DOTALL)
        parts = [_MAIRA_TAGS.sub("", p).strip() for p in phrases] if phrases else [_MAIRA_TAGS.sub(" ", text)]
        return " ".join(p for p in parts if p)


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
