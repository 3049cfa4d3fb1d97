"""verl parquet export with exactly the columns of the paper's ``verl/examples/data_preprocess/mimic_mm.py``.

What it is (``docs/data.md``): rows ``{data_source, prompt, images, ability, reward_model, extra_info}``
with ``prompt = [{"role": "user", "content": "<image>\\n" + q (+ " /think")}]``, ``images = [{"image":
"file://<abs path>", "min_pixels": 1024, "max_pixels": 451584}]``, ``ability = "radiology"``, ``reward_model =
{"style": "rule", "ground_truth": answer}`` and ``extra_info = {"id", "split", "index"}`` (grounding rows add
``"thinking"``); the prompt text is :func:`radgrpo.data.prompts.inline_image_text`, the same question and suffix
the TRL rows and evaluation send. Like ``mimic_mm.py``, the rows are shuffled with ``datasets``' permutation for seed
42 (``numpy.random.default_rng(42).permutation(N)``), train = the first ``int(0.99 N)`` and val = the next 128. Only
the first question/answer pair is used; conversation records are skipped (counted). What it is not: verl's own
loader.

Example:
    >>> from radgrpo.records import Record
    >>> row = record_to_verl_row(Record("r", "/a.jpg", "report_generation", "Describe.", "Clear."), "mimic_0", 0, "train")
    >>> row["prompt"][0]["content"], row["reward_model"]
    ('<image>\\nDescribe. /think', {'style': 'rule', 'ground_truth': 'Clear.'})
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from radgrpo.data.prompts import inline_image_text
from radgrpo.records import Record, Task

#: The parquet columns of ``mimic_mm.py``, in order.
VERL_COLUMNS = ("data_source", "prompt", "images", "ability", "reward_model", "extra_info")
MIN_PIXELS = 32 * 32
MAX_PIXELS = 672 * 672


def record_to_verl_row(
    record: Record,
    item_id: str,
    index: int,
    split: str,
    reasoning: bool = False,
    think_suffix: bool = True,
    base: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """One verl row.

    Args:
        record: the record (its first question/answer pair is used).
        item_id: ``extra_info.id`` (the LLaVA id).
        index: ``extra_info.index`` (row index after shuffling).
        split: ``"train"``, ``"val"`` or ``"test"``.
        reasoning: ``data_source = "mimic_grpo_reasoning"`` instead of ``"mimic_grpo"``.
        think_suffix: append ``" /think"`` to the prompt (``mimic_mm.py`` default; off = ``--no_think_suffix``).
        base: folder for relative image paths.

    Returns:
        The row dict with exactly :data:`VERL_COLUMNS`.
    """
    image = record.image_path(base)
    image = image if image.is_absolute() else image.resolve()
    extra: dict[str, Any] = {"id": item_id, "split": split, "index": index}
    if record.task.is_grounding:
        extra["thinking"] = think_suffix
    return {
        "data_source": "mimic_grpo_reasoning" if reasoning else "mimic_grpo",
        "prompt": [{"role": "user", "content": inline_image_text(record, thinking=think_suffix)}],
        "images": [{"image": f"file://{image}", "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS}],
        "ability": "radiology",
        "reward_model": {"style": "rule", "ground_truth": record.answer},
        "extra_info": extra,
    }


def shuffle_split(
    n: int, seed: int = 42, train_fraction: float = 0.99, val_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """``mimic_mm.py``'s split: permutation of ``datasets.Dataset.shuffle(seed)``, train = first ``int(0.99 n)``,
    val = the next ``val_size``.

    Example:
        >>> tr, va = shuffle_split(300)
        >>> len(tr), len(va), len(set(tr) | set(va))
        (297, 3, 300)
    """
    perm = np.random.default_rng(seed).permutation(n)
    k = int(train_fraction * n)
    return perm[:k], perm[k : k + val_size]


def write_verl(
    records: Iterable[Record],
    out_dir: str | os.PathLike,
    seed: int = 42,
    train_fraction: float = 0.99,
    val_size: int = 128,
    reasoning: bool = False,
    think_suffix: bool = True,
    base: str | os.PathLike | None = None,
) -> dict[str, int]:
    """Write ``train.parquet`` and ``val.parquet`` (atomically) the way ``mimic_mm.py`` does.

    Args:
        records: report-generation and grounding records (conversations are skipped and counted).
        out_dir: output folder.
        seed: shuffle seed (42 in ``mimic_mm.py``).
        train_fraction: share of rows in train.
        val_size: rows in val (taken right after train).
        reasoning: ``data_source`` variant.
        think_suffix: append ``" /think"``.
        base: folder for relative image paths.

    Returns:
        ``{"train": n, "val": n, "skipped_conversation": n}``.

    Example:
        >>> import tempfile
        >>> write_verl([Record(str(i), "/a.jpg", "report_generation", "Q", "A") for i in range(3)], tempfile.mkdtemp())
        {'train': 2, 'val': 1, 'skipped_conversation': 0}
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    items: list[tuple[Record, str]] = []
    skipped = 0
    n = 0
    for r in records:
        if r.task is Task.CONVERSATION:
            skipped += 1
            continue
        block = r.meta.get("block")
        items.append((r, f"{block}_{n}" if block else r.id))
        n += 1
    train_idx, val_idx = shuffle_split(len(items), seed, train_fraction, val_size)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, idx in (("train", train_idx), ("val", val_idx)):
        rows = [
            record_to_verl_row(items[int(j)][0], items[int(j)][1], i, name, reasoning, think_suffix, base)
            for i, j in enumerate(idx)
        ]
        table = pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([], pa.null()) for c in VERL_COLUMNS})
        tmp = out / f"{name}.parquet.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, out / f"{name}.parquet")
        counts[name] = len(rows)
    counts["skipped_conversation"] = skipped
    return counts
