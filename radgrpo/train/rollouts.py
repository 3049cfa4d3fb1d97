"""Pick rows of TRL's GRPO rollout batch and join batches of several generation rounds (dynamic sampling).

A rollout batch is the dict ``GRPOTrainer._generate_and_score_completions`` returns for one process (TRL 1.16), with
``B`` rows (completions), prompt width ``P`` and completion width ``C``:

- left-padded prompt side, ``(B, P)``: ``prompt_ids``, ``prompt_mask``;
- right-padded completion side, ``(B, C)``: ``completion_ids``, ``completion_mask``, ``old_per_token_logps``,
  ``sampling_per_token_logps``, ``ref_per_token_logps``, ``tool_mask``, ``importance_sampling_ratio`` (``(B, 1)`` at
  sequence level);
- prompt + completion, ``(B, P + C)``: ``token_type_ids``, ``mm_token_type_ids``;
- per row: ``advantages`` ``(B,)``, ``num_images`` (list);
- per image: ``image_grid_thw`` ``(n_images, 3)``; per patch: ``pixel_values`` ``(sum of t*h*w, D)`` (Qwen-style
  VLMs; the other VLM layouts TRL knows are refused by name);
- ``num_items_in_batch``: the loss tokens of all processes, which the caller recomputes for the rows it keeps.

It is not the filter itself (:mod:`radgrpo.train.sampling`) and knows nothing of rewards.

Example:
    >>> import torch
    >>> a = {"prompt_ids": torch.tensor([[0, 5], [6, 7]]), "prompt_mask": torch.tensor([[0, 1], [1, 1]]),
    ...      "completion_ids": torch.tensor([[8], [9]]), "completion_mask": torch.tensor([[1], [1]]),
    ...      "advantages": torch.tensor([1.0, -1.0])}
    >>> b = {"prompt_ids": torch.tensor([[4, 4, 4]]), "prompt_mask": torch.tensor([[1, 1, 1]]),
    ...      "completion_ids": torch.tensor([[3, 2]]), "completion_mask": torch.tensor([[1, 1]]),
    ...      "advantages": torch.tensor([0.5])}
    >>> out = concat_rollouts([select_rows(a, [1]), b], pad_token_id=0)
    >>> out["prompt_ids"].tolist(), out["completion_ids"].tolist(), out["advantages"].tolist()
    ([[0, 6, 7], [4, 4, 4]], [[9, 0], [3, 2]], [-1.0, 0.5])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

#: key -> padding value; ``None`` means the tokenizer's pad token id
PROMPT_KEYS: dict[str, float | None] = {"prompt_ids": None, "prompt_mask": 0}
COMPLETION_KEYS: dict[str, float | None] = {
    "completion_ids": None,
    "completion_mask": 0,
    "old_per_token_logps": 0.0,
    "sampling_per_token_logps": 0.0,
    "ref_per_token_logps": 0.0,
    "tool_mask": 1,
    "importance_sampling_ratio": 1.0,
}
SEQUENCE_KEYS = ("token_type_ids", "mm_token_type_ids")
ROW_KEYS = ("advantages",)
IMAGE_KEYS = ("pixel_values", "image_grid_thw", "num_images")
RECOMPUTED_KEYS = ("num_items_in_batch",)
#: other VLM layouts TRL supports (LFM2-VL, Gemma, Idefics, InternVL ...): not handled here
UNSUPPORTED_KEYS = ("pixel_attention_mask", "spatial_shapes", "image_sizes", "image_position_ids", "num_tiles")
KNOWN_KEYS = frozenset([*PROMPT_KEYS, *COMPLETION_KEYS, *SEQUENCE_KEYS, *ROW_KEYS, *IMAGE_KEYS, *RECOMPUTED_KEYS])


def check_keys(batch: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming any key of ``batch`` this module cannot select rows of."""
    odd = sorted(k for k, v in batch.items() if v is not None and k not in KNOWN_KEYS)
    if odd:
        raise ValueError(
            f"dynamic sampling cannot split rollout batches with {odd} (supported: text models and Qwen-style VLMs "
            "with pixel_values + image_grid_thw); turn --dynamic_sampling off for this model"
        )


def _image_rows(batch: dict[str, Any], rows: Sequence[int]) -> dict[str, Any]:
    """``pixel_values``, ``image_grid_thw`` and ``num_images`` of ``rows``."""
    num_images = [int(n) for n in batch["num_images"]]
    out: dict[str, Any] = {"num_images": [num_images[r] for r in rows]}
    grid = batch.get("image_grid_thw")
    if grid is None:
        return out
    first_image = [0]
    for n in num_images:
        first_image.append(first_image[-1] + n)
    patches = grid.prod(-1).tolist()
    first_patch = [0]
    for p in patches:
        first_patch.append(first_patch[-1] + int(p))
    images = [i for r in rows for i in range(first_image[r], first_image[r + 1])]
    out["image_grid_thw"] = grid[images]
    pixels = batch.get("pixel_values")
    if pixels is not None:
        if pixels.size(0) != first_patch[-1]:
            raise ValueError(f"pixel_values has {pixels.size(0)} rows, image_grid_thw says {first_patch[-1]}")
        idx = [p for i in images for p in range(first_patch[i], first_patch[i + 1])]
        out["pixel_values"] = pixels[torch.tensor(idx, dtype=torch.long, device=pixels.device)]
    return out


def select_rows(batch: dict[str, Any], rows: Sequence[int]) -> dict[str, Any]:
    """The rollout batch restricted to ``rows`` (in that order), images and patches included.

    ``num_items_in_batch`` is left out: it counts every process's loss tokens, so the caller recomputes it.

    Example:
        >>> import torch
        >>> b = {"prompt_ids": torch.tensor([[1], [2], [3]]), "advantages": torch.tensor([0.1, 0.2, 0.3]),
        ...      "num_images": [1, 1, 1], "image_grid_thw": torch.tensor([[1, 1, 2], [1, 1, 1], [1, 1, 1]]),
        ...      "pixel_values": torch.tensor([[0.0], [0.5], [1.0], [2.0]])}
        >>> out = select_rows(b, [2, 0])
        >>> out["prompt_ids"].tolist(), out["pixel_values"].flatten().tolist(), out["image_grid_thw"].tolist()
        ([[3], [1]], [2.0, 0.0, 0.5], [[1, 1, 1], [1, 1, 2]])
    """
    check_keys(batch)
    rows = [int(r) for r in rows]
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if value is None or key in RECOMPUTED_KEYS or key in IMAGE_KEYS:
            continue
        out[key] = value[torch.tensor(rows, dtype=torch.long, device=value.device)]
    if batch.get("num_images") is not None:
        out.update(_image_rows(batch, rows))
    return out


def _pad_to(x: torch.Tensor, width: int, value: float, left: bool) -> torch.Tensor:
    if x.size(1) == width:
        return x
    pad = torch.full((x.size(0), width - x.size(1)), value, dtype=x.dtype, device=x.device)
    return torch.cat([pad, x] if left else [x, pad], dim=1)


def concat_rollouts(batches: Sequence[dict[str, Any]], pad_token_id: int) -> dict[str, Any]:
    """Join rollout batches row-wise: prompts re-padded on the left, completions on the right, images concatenated.

    Every batch must hold the same keys (all come from one trainer). ``num_items_in_batch`` is left out.

    Args:
        batches: rollout batches (e.g. from :func:`select_rows`), at least one.
        pad_token_id: the tokenizer's pad token (``prompt_ids``/``completion_ids`` padding).
    Returns:
        one batch with the rows of all, in order.
    """
    if not batches:
        raise ValueError("concat_rollouts needs at least one batch")
    for b in batches:
        check_keys(b)
    keys = [k for k, v in batches[0].items() if v is not None and k not in RECOMPUTED_KEYS]
    prompt_w = max(b["prompt_ids"].size(1) for b in batches)
    completion_w = max(b["completion_ids"].size(1) for b in batches)
    out: dict[str, Any] = {}
    for key in keys:
        parts = [b[key] for b in batches]
        if key == "num_images":
            out[key] = [int(n) for p in parts for n in p]
        elif key in PROMPT_KEYS:
            value = pad_token_id if PROMPT_KEYS[key] is None else PROMPT_KEYS[key]
            out[key] = torch.cat([_pad_to(p, prompt_w, value, left=True) for p in parts])  # type: ignore[arg-type]
        elif key in COMPLETION_KEYS and not (key == "importance_sampling_ratio" and parts[0].size(1) == 1):
            value = pad_token_id if COMPLETION_KEYS[key] is None else COMPLETION_KEYS[key]
            out[key] = torch.cat([_pad_to(p, completion_w, value, left=False) for p in parts])  # type: ignore[arg-type]
        elif key in SEQUENCE_KEYS:
            joined = []
            for b, p in zip(batches, parts):
                split = b["prompt_ids"].size(1)
                left = _pad_to(p[:, :split], prompt_w, 0, left=True)
                joined.append(torch.cat([left, _pad_to(p[:, split:], completion_w, 0, left=False)], dim=1))
            out[key] = torch.cat(joined)
        else:  # rows (advantages, sequence-level ratios), images (image_grid_thw), patches (pixel_values)
            out[key] = torch.cat(parts)
    return out


def loss_tokens(batch: dict[str, Any]) -> torch.Tensor:
    """The number of completion tokens the loss counts in ``batch`` (``completion_mask`` x ``tool_mask``), as TRL's
    ``num_items_in_batch`` counts them before summing over processes."""
    mask = batch["completion_mask"]
    if batch.get("tool_mask") is not None:
        mask = mask * batch["tool_mask"]
    return mask.sum()
