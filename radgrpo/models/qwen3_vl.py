"""Load Qwen3-VL-family models and processors by hub id or local folder; LoRA configs via peft.

One code path for the embedded tiny model (``radgrpo.models.tiny``) and real checkpoints such as
``Qwen/Qwen3-VL-8B-Instruct`` on users' machines. Without torchvision, transformers cannot build the video processor,
so the processor falls back to an image-only subclass (:func:`radgrpo.models.processor.image_only_processor`).
Processors come back with left padding for batched generation. Image resolution is set by
``min_pixels``/``max_pixels`` (the paper: 1024/451584).

Example:
    >>> resolve_dtype("bfloat16")
    torch.bfloat16
"""

from __future__ import annotations

import os
from typing import Any

# Modules LoRA adapts by default: attention and MLP projections of the language model (vision tower frozen).
DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def resolve_dtype(dtype: Any) -> Any:
    """``"bfloat16"``/``"float32"``/``"auto"``/a torch dtype/None -> what ``from_pretrained`` takes."""
    import torch

    if dtype is None or dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    short = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    out = short.get(dtype) or getattr(torch, str(dtype), None)
    if not isinstance(out, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32")
    return out


def _load_error(name_or_path: str, what: str, err: Exception) -> OSError:
    hint = (
        "it is not a local folder; with HF_HUB_OFFLINE=1 a hub id must already be in the HF cache"
        if not os.path.isdir(name_or_path)
        else "the folder exists but is incomplete or not a Qwen-VL checkpoint"
    )
    return OSError(f"cannot load the {what} from {name_or_path!r}: {hint}. ({type(err).__name__}: {err})")


def load_model(
    name_or_path: str | os.PathLike,
    *,
    dtype: Any = None,
    device: str | None = None,
    attn_implementation: str | None = None,
) -> Any:
    """A Qwen-VL ``...ForConditionalGeneration`` (any image-text-to-text model) by hub id or folder.

    Args:
        name_or_path: hub id (e.g. ``Qwen/Qwen3-VL-8B-Instruct``) or local folder.
        dtype: torch dtype or its name; None keeps the checkpoint's.
        device: e.g. ``"cuda"``, ``"cpu"``; None leaves it where ``from_pretrained`` puts it.
        attn_implementation: e.g. ``"sdpa"``, ``"flash_attention_2"``.
    """
    from transformers import AutoModelForImageTextToText

    kwargs: dict[str, Any] = {}
    if dtype is not None:
        kwargs["dtype"] = resolve_dtype(dtype)
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    try:
        model: Any = AutoModelForImageTextToText.from_pretrained(str(name_or_path), **kwargs)
    except (OSError, ValueError) as e:
        raise _load_error(str(name_or_path), "model", e) from e
    if device is not None:
        model = model.to(device)
    return model


def load_processor(
    name_or_path: str | os.PathLike,
    *,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    padding_side: str = "left",
) -> Any:
    """The processor (tokenizer + image processor + chat template), image-only without torchvision.

    Args:
        name_or_path: hub id or folder.
        min_pixels: smallest image area after resizing (paper: 1024); None keeps the saved value.
        max_pixels: largest image area (paper: 451584 = 672²); None keeps the saved value.
        padding_side: ``"left"`` for batched generation.
    """
    from transformers import AutoProcessor

    from radgrpo.models.processor import has_torchvision, image_only_processor

    name = str(name_or_path)
    try:
        if has_torchvision():
            proc = AutoProcessor.from_pretrained(name)
        else:
            import transformers
            from transformers import AutoConfig

            model_type = AutoConfig.from_pretrained(name).model_type
            cls_name = {
                "qwen3_vl": "Qwen3VLProcessor",
                "qwen3_vl_moe": "Qwen3VLProcessor",
                "qwen2_5_vl": "Qwen2_5_VLProcessor",
                "qwen2_vl": "Qwen2VLProcessor",
            }.get(model_type)
            if cls_name is None:
                proc = AutoProcessor.from_pretrained(name)
            else:
                proc = image_only_processor(getattr(transformers, cls_name)).from_pretrained(name)
    except (OSError, ValueError) as e:
        raise _load_error(name, "processor", e) from e
    ip = proc.image_processor
    if min_pixels is not None or max_pixels is not None:
        size = dict(getattr(ip, "size", None) or {})
        if min_pixels is not None:
            size["shortest_edge"] = int(min_pixels)
            if hasattr(ip, "min_pixels"):
                ip.min_pixels = int(min_pixels)
        if max_pixels is not None:
            size["longest_edge"] = int(max_pixels)
            if hasattr(ip, "max_pixels"):
                ip.max_pixels = int(max_pixels)
        ip.size = size
    proc.tokenizer.padding_side = padding_side
    return proc


def load_model_and_processor(
    name_or_path: str | os.PathLike,
    *,
    dtype: Any = None,
    device: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    attn_implementation: str | None = None,
) -> tuple[Any, Any]:
    """``(model, processor)`` from one hub id or folder; the processor pads on the left."""
    model = load_model(name_or_path, dtype=dtype, device=device, attn_implementation=attn_implementation)
    proc = load_processor(name_or_path, min_pixels=min_pixels, max_pixels=max_pixels)
    return model, proc


def lora_config(
    r: int = 16,
    alpha: int = 32,
    dropout: float = 0.05,
    target_modules: tuple[str, ...] | list[str] = DEFAULT_LORA_TARGETS,
) -> Any:
    """A peft ``LoraConfig`` for causal-LM LoRA on the language model's projections.

    Example:
        >>> lora_config(r=8).r
        8
    """
    from peft import LoraConfig

    return LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(target_modules), task_type="CAUSAL_LM"
    )
