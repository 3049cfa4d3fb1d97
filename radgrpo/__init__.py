"""radgrpo: SFT and GRPO for chest X-ray vision-language models with clinically grounded rewards.

Implements the system of "Enhancing Radiology Report Generation and Visual Grounding using Reinforcement Learning"
(RadVLM-GRPO, arXiv 2512.10691). Layers (imports only go downward): records/boxes/config -> data, metrics, models
-> rewards -> train, eval -> serve, cli.
"""

__version__ = "0.1.0"

from radgrpo.boxes import format_boxes, parse_boxes
from radgrpo.records import CHEXPERT_LABELS, Record, Task, read_jsonl, write_jsonl

__all__ = [
    "CHEXPERT_LABELS",
    "Record",
    "Task",
    "__version__",
    "format_boxes",
    "parse_boxes",
    "read_jsonl",
    "write_jsonl",
]
