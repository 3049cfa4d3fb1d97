"""Records -> Hugging Face ``datasets`` in TRL's conversational vision format (SFT and GRPO).

SFT rows: ``messages`` (user turn = ``[{"type": "image"}, {"type": "text", "text": question}]``, assistant turn =
the answer; multi-turn ``conversation`` records keep every turn, the image only in the first) and ``images`` (a list
with one image, decoded lazily by ``datasets.Image``). GRPO rows: ``prompt`` (the user turn only) and ``images`` plus
the reward columns every radgrpo reward reads: ``reference_report`` (str or None), ``reference_boxes`` (list of
[x1, y1, x2, y2] normalised), ``task`` (str), ``thinking`` (bool), ``target``. Thinking prompts end with
``" /think"`` (paper.md §4.3). Image paths are resolved against ``base_dir`` (the records file's folder).

Example:
    >>> from radgrpo.records import Record
    >>> r = Record("a", "a.png", "abnormality_grounding", "Where is the nodule?", "At [0.1, 0.2, 0.3, 0.4].",
    ...            reference_boxes=[(0.1, 0.2, 0.3, 0.4)])
    >>> sft_messages(r)[0]["content"][1]["text"], grpo_prompt(r, thinking=True)[0]["content"][1]["text"]
    ('Where is the nodule?', 'Where is the nodule? /think')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radgrpo.records import Record

THINK_SUFFIX = " /think"


def _user(text: str, with_image: bool = True) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "image"}] if with_image else []
    content.append({"type": "text", "text": text})
    return {"role": "user", "content": content}


def _assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def sft_messages(record: Record, thinking: bool = False) -> list[dict[str, Any]]:
    """The conversation SFT supervises (answers of assistant turns only, with ``assistant_only_loss``)."""
    suffix = THINK_SUFFIX if thinking else ""
    if record.conversation:
        msgs, first = [], True
        for turn in record.conversation:
            if turn["role"] == "user":
                msgs.append(_user(turn["content"] + (suffix if first else ""), with_image=first))
                first = False
            else:
                msgs.append(_assistant(turn["content"]))
        return msgs
    return [_user(record.question + suffix), _assistant(record.answer)]


def grpo_prompt(record: Record, thinking: bool = False) -> list[dict[str, Any]]:
    """The prompt GRPO samples completions for: the first user turn (paper: only the first Q/A pair is used)."""
    question = record.conversation[0]["content"] if record.conversation else record.question
    return [_user(question + (THINK_SUFFIX if thinking else ""))]


def _image_path(record: Record, base_dir: str | os.PathLike | None) -> str:
    p = record.image_path(base_dir)
    if not p.exists():
        raise FileNotFoundError(f"record {record.id!r}: image {p} not found (paths are relative to the records "
                                f"file's folder: pass base_dir)")
    return str(p)


def _features(kind: str):
    import datasets

    img = datasets.List(datasets.Image()) if hasattr(datasets, "List") else datasets.Sequence(datasets.Image())
    return img


def records_to_sft_dataset(records: Sequence[Record], base_dir: str | os.PathLike | None = None,
                           thinking: bool = False):
    """``datasets.Dataset`` with ``messages`` and ``images`` columns for ``trl.SFTTrainer``."""
    import datasets

    data = {"messages": [sft_messages(r, thinking) for r in records],
            "images": [[_image_path(r, base_dir)] for r in records],
            "id": [r.id for r in records], "task": [r.task.value for r in records]}
    return datasets.Dataset.from_dict(data).cast_column("images", _features("images"))


def records_to_grpo_dataset(records: Sequence[Record], base_dir: str | os.PathLike | None = None,
                            thinking: bool = False):
    """``datasets.Dataset`` with ``prompt``, ``images`` and the reward columns for ``trl.GRPOTrainer``."""
    import datasets

    data = {
        "prompt": [grpo_prompt(r, thinking) for r in records],
        "images": [[_image_path(r, base_dir)] for r in records],
        "id": [r.id for r in records],
        "task": [r.task.value for r in records],
        "reference_report": [r.reference_report or "" for r in records],
        "reference_boxes": [[list(b) for b in r.reference_boxes] for r in records],
        "target": [r.target or "" for r in records],
        "thinking": [bool(thinking)] * len(records),
    }
    return datasets.Dataset.from_dict(data).cast_column("images", _features("images"))


def save_dataset(ds: Any, out_dir: str | os.PathLike) -> Path:
    """``save_to_disk`` into ``out_dir`` (a folder ``datasets.load_from_disk`` reads back)."""
    out = Path(out_dir)
    ds.save_to_disk(str(out))
    return out
