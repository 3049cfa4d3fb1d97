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
from pathlib import Path
from typing import Any

from radgrpo.config import closest

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


def looks_local(name_or_path: str) -> bool:
    """Whether a model name is meant as a local folder rather than a hub id (``org/name``).

    A name is local when it starts with ``.``, ``/`` or ``~``, has more than one ``/``, contains a backslash, or its
    first component is an existing folder here (``demo_out/sftt`` when ``demo_out/`` exists).

    Example:
        >>> looks_local("Qwen/Qwen3-VL-8B-Instruct"), looks_local("./runs/sft"), looks_local("/data/m")
        (False, True, True)
    """
    parts = Path(name_or_path).expanduser().parts
    return (
        name_or_path.startswith((".", "/", "~"))
        or name_or_path.count("/") >= 2
        or "\\" in name_or_path
        or (len(parts) > 1 and Path(parts[0]).is_dir())
    )


def check_local_folder(name_or_path: str | os.PathLike, what: str = "model") -> None:
    """Fail at once, naming the nearest existing folders, when a local-looking model folder does not exist (instead of
    treating the name as a hub id and retrying the hub).

    Raises:
        OSError: the folder does not exist (the CLI prints it as one line).

    Example:
        >>> check_local_folder("./no_such_run/checkpoint-1")
        Traceback (most recent call last):
        ...
        OSError: cannot load the model from './no_such_run/checkpoint-1': no such folder
    """
    name = str(name_or_path)
    path = Path(name).expanduser()
    if not looks_local(name) or path.exists():
        return
    parent = path.parent
    near = closest(path.name, [c.name for c in parent.iterdir() if c.is_dir()]) if parent.is_dir() else None
    hint = f"; did you mean {parent / near}?" if near else ""
    raise OSError(f"cannot load the {what} from {name!r}: no such folder{hint}")


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
    check_local_folder(name_or_path, "model")
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
    check_local_folder(name, "processor")
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
