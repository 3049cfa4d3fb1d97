"""Qwen-VL processors without torchvision: the image-only processor class and the saved-folder fix-up.

What it is: the public pieces that both the production loader (:func:`radgrpo.models.qwen3_vl.load_processor`) and
the tiny test-model builder (:mod:`radgrpo.models.tiny`) need. transformers builds a Qwen-VL processor with a video
processor, and a video processor needs torchvision; :func:`image_only_processor` makes a processor class that takes
none, :func:`has_torchvision` says which path applies, and :func:`add_video_processor_block` keeps a folder saved
without torchvision loadable by ``AutoProcessor`` where torchvision exists (docs/training.md). What it is not: a
loader (:mod:`radgrpo.models.qwen3_vl`) nor an image processor (images keep the checkpoint's resizing).

Example:
    >>> class Base:
    ...     def __init__(self, image_processor=None, tokenizer=None, video_processor=None, chat_template=None):
    ...         self.parts = (image_processor, tokenizer, video_processor, chat_template)
    >>> P = image_only_processor(Base)
    >>> P.__name__, P("ip", "tok", chat_template="t").parts
    ('Base', ('ip', 'tok', None, 't'))
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

#: The ``video_processor`` block :func:`add_video_processor_block` writes (Qwen3-VL's patch 16, merge 2).
VIDEO_PROCESSOR_BLOCK: dict[str, Any] = {
    "video_processor_type": "Qwen3VLVideoProcessor",
    "patch_size": 16,
    "merge_size": 2,
    "temporal_patch_size": 2,
    "image_mean": [0.5] * 3,
    "image_std": [0.5] * 3,
}


def has_torchvision() -> bool:
    """Whether torchvision imports (selects the fast image/video processor classes).

    Example:
        >>> isinstance(has_torchvision(), bool)
        True
    """
    try:
        import torchvision  # noqa: F401
    except Exception:
        return False
    return True


def image_only_processor(base: type) -> type[Any]:
    """A subclass of the processor class ``base`` that is built without a video processor.

    The subclass keeps ``base``'s name, so a saved ``processor_config.json`` still says e.g. ``"Qwen3VLProcessor"``.

    Args:
        base: a processor class whose ``__init__`` takes ``(image_processor, tokenizer, video_processor, ...)``,
            such as ``transformers.Qwen3VLProcessor``.

    Returns:
        The subclass; ``from_pretrained`` and the constructor work as for ``base``, with no video processor.
    """

    class ImageOnly(base):
        def __init__(
            self, image_processor: Any = None, tokenizer: Any = None, chat_template: Any = None, **kwargs: Any
        ) -> None:
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    ImageOnly.__name__ = ImageOnly.__qualname__ = base.__name__  # processor_config.json keeps "Qwen3VLProcessor"
    return ImageOnly


def add_video_processor_block(folder: str | os.PathLike) -> None:
    """Add :data:`VIDEO_PROCESSOR_BLOCK` to ``folder/processor_config.json`` unless it has one (file created if
    missing), so that a processor saved without torchvision loads with ``AutoProcessor`` where torchvision exists.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "processor_config.json").write_text('{"processor_class": "P"}')
        >>> add_video_processor_block(d)
        >>> sorted(json.loads((d / "processor_config.json").read_text()))
        ['processor_class', 'video_processor']
    """
    path = Path(folder) / "processor_config.json"
    pc = json.loads(path.read_text()) if path.exists() else {}
    pc.setdefault("video_processor", dict(VIDEO_PROCESSOR_BLOCK))
    path.write_text(json.dumps(pc, indent=2))


def image_token_count(
    width: int, height: int, min_pixels: int, max_pixels: int, patch_size: int = 16, merge_size: int = 2
) -> int:
    """Visual tokens a Qwen-VL processor gives an image of ``width`` × ``height`` px under the area bounds
    ``min_pixels`` / ``max_pixels`` (px²): transformers' ``smart_resize`` to multiples of ``patch_size × merge_size``,
    then one token per merged ``(patch × merge)²`` cell.

    Example:
        >>> image_token_count(672, 672, 1024, 451584), image_token_count(2500, 3000, 1024, 451584)
        (441, 437)
    """
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    factor = patch_size * merge_size
    h, w = smart_resize(int(height), int(width), factor=factor, min_pixels=int(min_pixels), max_pixels=int(max_pixels))
    return (h // factor) * (w // factor)


def pixel_bounds(processor: Any) -> tuple[int, int, int, int]:
    """``(min_pixels, max_pixels, patch_size, merge_size)`` of a Qwen-VL processor (or its image processor).

    Raises:
        ValueError: the processor has no Qwen-VL pixel bounds (another model family).
    """
    ip = getattr(processor, "image_processor", processor)
    size = getattr(ip, "size", None)

    def pick(attr: str, key: str) -> Any:
        value = getattr(ip, attr, None)
        if value is None and size is not None:
            value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
        return value

    lo, hi = pick("min_pixels", "shortest_edge"), pick("max_pixels", "longest_edge")
    patch, merge = getattr(ip, "patch_size", None), getattr(ip, "merge_size", None)
    if not (lo and hi and patch and merge):
        raise ValueError(f"{type(ip).__name__} has no Qwen-VL pixel bounds (min/max pixels, patch and merge size)")
    return int(lo), int(hi), int(patch), int(merge)
