"""Records -> Hugging Face ``datasets`` in TRL's conversational vision format (SFT and GRPO).

SFT rows: ``messages`` (user turn = ``[{"type": "image"}, {"type": "text", "text": question}]``, assistant turn =
the answer; multi-turn ``conversation`` records keep every turn, the image only in the first) and ``images`` (a list
with one image, decoded lazily by ``datasets.Image``). GRPO rows: ``prompt`` (the user turn only) and ``images`` plus
the reward columns every radgrpo reward reads: ``reference_report`` (str or None), ``reference_boxes`` (list of
[x1, y1, x2, y2] normalised), ``task`` (str), ``thinking`` (bool: the outputs think), ``target``. The user turns come from
:mod:`radgrpo.data.prompts` (:func:`~radgrpo.data.prompts.user_message`, :func:`~radgrpo.data.prompts.prompt_messages`),
the builder evaluation uses too. ``thinking`` is a mode of :mod:`radgrpo.thinking` (``"off"``, ``"suffix"``,
``"native"``; ``True``/``False`` = suffix/off): suffix prompts end with :data:`~radgrpo.data.prompts.THINK_SUFFIX`
(``" /think"``); native prompts have no suffix (the model's own template thinks); both set the ``thinking`` column.
Image paths are resolved against ``base_dir`` (the records file's folder).

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

from radgrpo.data.prompts import prompt_messages, user_message
from radgrpo.errors import UserPathError
from radgrpo.records import Record
from radgrpo.thinking import is_thinking, uses_suffix


def _assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def sft_messages(record: Record, thinking: bool | str = False) -> list[dict[str, Any]]:
    """The conversation SFT supervises (answers of assistant turns only, with ``assistant_only_loss``).

    Args:
        record: a record; multi-turn ``conversation`` records keep every turn (the image in the first user turn).
        thinking: thinking mode; ``suffix`` (or True) appends ``" /think"`` to the first user turn.
    Returns:
        TRL conversational messages, e.g. ``[{"role": "user", "content": [{"type": "image"}, {"type": "text",
        "text": question}]}, {"role": "assistant", "content": [{"type": "text", "text": answer}]}]``; the first
        user turn equals :func:`grpo_prompt`'s.
    """
    thinking = uses_suffix(thinking)
    if record.conversation:
        msgs, first = [], True
        for turn in record.conversation:
            if turn["role"] == "user":
                msgs.append(user_message(turn["content"], thinking=thinking and first, with_image=first))
                first = False
            else:
                msgs.append(_assistant(turn["content"]))
        return msgs
    return [*prompt_messages(record, thinking=thinking), _assistant(record.answer)]


def grpo_prompt(record: Record, thinking: bool | str = False) -> list[dict[str, Any]]:
    """The prompt GRPO samples completions for: the first user turn only (:func:`radgrpo.data.prompts.prompt_messages`,
    the prompt evaluation sends too).

    Args:
        record: a record.
        thinking: thinking mode; ``suffix`` (or True) appends ``" /think"`` to the question.
    Returns:
        a one-message conversational prompt with the image placeholder first.
    """
    return prompt_messages(record, thinking=uses_suffix(thinking))


def _image_path(record: Record, base_dir: str | os.PathLike | None) -> str:
    p = record.image_path(base_dir)
    if not p.exists():
        raise UserPathError(
            f"record {record.id!r}: image {p} not found (paths are relative to the records "
            f"file's folder: pass base_dir)"
        )
    return str(p.resolve())


def _image_list_feature():
    """``images`` column type: a list of lazily decoded images (paths in Arrow, PIL when a row is read)."""
    import datasets

    return datasets.List(datasets.Image()) if hasattr(datasets, "List") else datasets.Sequence(datasets.Image())


def records_to_sft_dataset(
    records: Sequence[Record], base_dir: str | os.PathLike | None = None, thinking: bool | str = False
):
    """``datasets.Dataset`` with ``messages``, ``images``, ``id`` and ``task`` columns for ``trl.SFTTrainer``.

    Args:
        records: training records (every image must exist).
        base_dir: folder the records' relative image paths start from (the records file's folder).
        thinking: thinking mode (``suffix`` appends ``" /think"`` to the first user turn).
    Returns:
        a ``datasets.Dataset``; images are stored as paths and decoded to PIL only when a row is read.
    """
    import datasets

    data = {
        "messages": [sft_messages(r, thinking) for r in records],
        "images": [[_image_path(r, base_dir)] for r in records],
        "id": [r.id for r in records],
        "task": [r.task.value for r in records],
    }
    return datasets.Dataset.from_dict(data).cast_column("images", _image_list_feature())


def records_to_grpo_dataset(
    records: Sequence[Record], base_dir: str | os.PathLike | None = None, thinking: bool | str = False
):
    """``datasets.Dataset`` with ``prompt``, ``images`` and the reward columns for ``trl.GRPOTrainer``.

    Args:
        records: training records (every image must exist).
        base_dir: folder the records' relative image paths start from.
        thinking: thinking mode: ``suffix`` appends ``" /think"`` to the prompt; ``suffix`` and ``native`` set the
            ``thinking`` column (rewards then score the text after ``</think>``).
    Returns:
        a ``datasets.Dataset`` with columns prompt, images, id, task, reference_report (``""`` when absent),
        reference_boxes (lists of 4 normalised floats), target (``""`` when absent), thinking.
    """
    import datasets

    data = {
        "prompt": [grpo_prompt(r, thinking) for r in records],
        "images": [[_image_path(r, base_dir)] for r in records],
        "id": [r.id for r in records],
        "task": [r.task.value for r in records],
        "reference_report": [r.reference_report or "" for r in records],
        "reference_boxes": [[list(b) for b in r.reference_boxes] for r in records],
        "target": [r.target or "" for r in records],
        "thinking": [is_thinking(thinking)] * len(records),
    }
    return datasets.Dataset.from_dict(data).cast_column("images", _image_list_feature())


def save_dataset(ds: Any, out_dir: str | os.PathLike) -> Path:
    """``save_to_disk`` into ``out_dir`` (images are embedded, so the folder stands alone).

    Args:
        ds: a dataset from :func:`records_to_sft_dataset` / :func:`records_to_grpo_dataset`.
        out_dir: folder to write.
    Returns:
        ``Path(out_dir)``, readable with :func:`load_saved_dataset`.
    """
    out = Path(out_dir)
    ds.save_to_disk(str(out))
    return out


def load_saved_dataset(path: str | os.PathLike):
    """Read back a folder written by :func:`save_dataset`.

    Args:
        path: the folder.
    Returns:
        the ``datasets.Dataset`` (images decode to PIL when a row is read).
    """
    import datasets

    if not Path(path, "dataset_info.json").exists():
        raise UserPathError(f"{path} is not a saved dataset folder (no dataset_info.json)")
    return datasets.load_from_disk(str(path))
