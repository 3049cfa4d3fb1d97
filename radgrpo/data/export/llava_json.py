"""LLaVA / ShareGPT JSON export, exactly as RadVLM's ``create_json_cell_llava`` writes it (``docs/data.md``).

What it is: ``Record`` -> ``{"image": "/abs/path", "conversations": [{"from": "human", "value": "<image>\\n" + q},
{"from": "gpt", "value": a}, ...], "id": "<id_prefix>_<index>", "labels": [...]}``, streamed into one JSON list
(atomic: temp file + rename) that RadVLM's trainers and LLaMA-Factory read with ``"formatting": "sharegpt",
"columns": {"messages": "conversations", "images": "image"}``. ``<image>\\n`` prefixes the first human turn only;
multi-turn records keep all turns. ``labels`` (positive CheXpert names) appears when the record has positives.
Image paths are written absolute: relative ones resolve against the records file's folder (or ``base``), and every
image must exist (:mod:`radgrpo.data.export.image_paths`).
What it is not: the TRL dataset export (``radgrpo.data.export.trl``) nor verl parquet (``radgrpo.data.export.verl``).

Example:
    >>> from radgrpo.records import Record
    >>> item = record_to_llava(Record("r", "/a.jpg", "report_generation", "Describe.", "Clear."), "mimic-train_0")
    >>> item["conversations"][0]["value"]
    '<image>\\nDescribe.'
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from radgrpo.data.export.image_paths import ImageCheck, RecordsArg, records_and_base, resolve_image
from radgrpo.data.prompts import IMAGE_TOKEN, inline_image_text
from radgrpo.records import Record

#: LLaMA-Factory ``dataset_info.json`` entry for these files (authors' fork convention).
LLAMA_FACTORY_INFO = {
    "formatting": "sharegpt",
    "columns": {"messages": "conversations", "images": "image"},
    "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"},
}


def record_to_llava(
    record: Record,
    item_id: str | None = None,
    base: str | os.PathLike | None = None,
    pathologies: list[str] | None = None,
) -> dict[str, Any]:
    """One LLaVA JSON item.

    Args:
        record: the record.
        item_id: the item's ``id`` (RadVLM: ``f"{id_prefix}_{index}"``); default ``record.id``.
        base: folder that relative image paths are resolved against (the item's ``image`` is absolute).
        pathologies: optional ``pathologies`` list (RadVLM adds it for datasets that have one).

    Returns:
        The item dict (the image is not checked here; :func:`write_llava_json` checks them all).

    Raises:
        ValueError: a turn of another role, or a relative image path without ``base``.
    """
    turns = record.conversation or [
        {"role": "user", "content": record.question},
        {"role": "assistant", "content": record.answer},
    ]
    conv = []
    for i, t in enumerate(turns):
        frm = {"user": "human", "assistant": "gpt"}.get(t["role"])
        if frm is None:
            raise ValueError(f"record {record.id!r}: turn {i} has role {t['role']!r}; expected user/assistant")
        value = t["content"]
        if i == 0:
            value = inline_image_text(value)
        conv.append({"from": frm, "value": value})
    item: dict[str, Any] = {
        "image": str(resolve_image(record, base)),
        "conversations": conv,
        "id": item_id or record.id,
    }
    positives = [k for k, v in record.labels.items() if v == 1 and k != "No Finding"]
    if positives:
        item["labels"] = positives
    if pathologies is not None:
        item["pathologies"] = list(pathologies)
    return item


def llava_turns(item: dict[str, Any]) -> list[dict[str, str]]:
    """The item's turns as ``role``/``content`` dicts with the ``<image>`` token removed (inverse of the export).

    Example:
        >>> llava_turns({"conversations": [{"from": "human", "value": "<image>\\nQ"}, {"from": "gpt", "value": "A"}]})
        [{'role': 'user', 'content': 'Q'}, {'role': 'assistant', 'content': 'A'}]
    """
    out = []
    for i, t in enumerate(item["conversations"]):
        v = t["value"]
        if i == 0 and v.startswith(IMAGE_TOKEN):
            v = v[len(IMAGE_TOKEN) :].lstrip("\n")
        out.append({"role": {"human": "user", "gpt": "assistant"}[t["from"]], "content": v})
    return out


def write_llava_json(
    records: RecordsArg,
    path: str | os.PathLike,
    base: str | os.PathLike | None = None,
    radvlm_ids: bool = True,
    check_images: bool = True,
) -> int:
    """Stream records into one LLaVA JSON list, atomically.

    Args:
        records: the records (e.g. a mixed split), or the path of a records JSONL (streamed).
        path: output ``.json`` file.
        base: folder for relative image paths; default the records file's folder when ``records`` is a path.
        radvlm_ids: ids ``f"{meta['block']}_{index}"`` (RadVLM's global index) when the record has a block name;
            otherwise the record id.
        check_images: every item's image must be a file.

    Returns:
        The number of items written.

    Raises:
        ValueError: a relative image path without a base folder, or images that do not exist (the first one and the
            count are named; no file is left behind).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "a.jpg").write_bytes(b"")
        >>> write_llava_json([Record("r", "a.jpg", "classification", "Q?", "A.", meta={"block": "b"})], d / "t.json", d)
        1
        >>> json.loads((d / "t.json").read_text())[0]["id"]
        'b_0'
    """
    records, base = records_and_base(records, base)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    check = ImageCheck(f"LLaVA JSON export {path.name}", base)
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("[")
            for r in records:
                block = r.meta.get("block") if radvlm_ids else None
                item = record_to_llava(r, f"{block}_{n}" if block else None, base)
                if check_images:
                    check.add(Path(item["image"]), r.id)
                f.write(("\n" if n == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
                n += 1
            f.write("\n]\n")
        check.raise_if_missing()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return n


def write_dataset_info(path: str | os.PathLike, name: str, file_name: str) -> None:
    """Write a LLaMA-Factory ``dataset_info.json`` that registers ``file_name`` as dataset ``name``.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "dataset_info.json"
        >>> write_dataset_info(p, "radvlm_train", "all_train.json")
        >>> json.loads(p.read_text())["radvlm_train"]["formatting"]
        'sharegpt'
    """
    Path(path).write_text(
        json.dumps({name: {"file_name": file_name, **LLAMA_FACTORY_INFO}}, indent=2) + "\n", encoding="utf-8"
    )
