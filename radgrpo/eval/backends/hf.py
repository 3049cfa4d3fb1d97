"""The transformers backend (``--backend hf``, the default): batched ``generate`` with left padding, sampling through
:class:`SeededSampler`; and what both backends share: image loading (:func:`load_image`), the chat text of a record
(:func:`chat_text`) and the processor's resized image sizes (:func:`input_sizes`).

Sampling is reproducible per record: a logits processor (:class:`SeededSampler`) draws each row's token from its own
``torch.Generator``, seeded by :func:`radgrpo.eval.settings.sample_seed`, inside one batched ``generate`` call, so the
same seed gives the same predictions whatever the batch size, the record order or the subset evaluated (up to the
float rounding that left padding can cause, which the tests check does not change a draw on the tiny model).

Example:
    >>> import torch
    >>> sampler = SeededSampler([3, 4], top_k=1)  # top-k 1 keeps the most likely token: greedy
    >>> out = sampler(None, torch.tensor([[0.1, 2.0, 0.3], [5.0, 0.0, 0.1]]))
    >>> out.argmax(dim=-1).tolist(), torch.isinf(out).sum().item()
    ([1, 0], 4)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from radgrpo.errors import UserPathError
from radgrpo.eval.backends import GenOutput
from radgrpo.records import Record
from radgrpo.thinking import thinking_mode, uses_suffix

__all__ = [
    "DICOM_SUFFIXES",
    "HFBackend",
    "SeededSampler",
    "chat_text",
    "input_sizes",
    "load_image",
    "record_image",
]

#: Image file suffixes read as DICOM (:mod:`radgrpo.data.dicom`) rather than with PIL.
DICOM_SUFFIXES = (".dcm", ".dicom")


def load_image(path: str | os.PathLike) -> Any:
    """An image file as an RGB PIL image: PNG/JPEG/... through PIL, ``.dcm``/``.dicom`` through
    :func:`radgrpo.data.dicom.read_dicom_array` (display windowing, MONOCHROME1 inverted).

    Raises:
        radgrpo.errors.UserPathError: no such file (a ``FileNotFoundError``).
        ValueError: PIL cannot read it (:class:`radgrpo.data.dicom.DicomError`, a ``ValueError``, for DICOMs).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise UserPathError(f"image not found: {path}")
    if path.suffix.lower() in DICOM_SUFFIXES:
        from radgrpo.data.dicom import read_dicom_array

        arr, _ = read_dicom_array(path)
        return Image.fromarray(arr, mode="L").convert("RGB")
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e} (expected a PNG/JPEG or a .dcm DICOM file)") from e


def record_image(record: Record, base_dir: str | os.PathLike | None) -> Any:
    """A record's image (:func:`load_image`), its relative path resolved against ``base_dir``."""
    path = record.image_path(base_dir)
    if not path.is_file():
        raise UserPathError(
            f"record {record.id!r}: image not found at {path} (relative paths resolve against base_dir={base_dir!s})"
        )
    return load_image(path)


def chat_text(
    processor: Any,
    adapter: Any,
    record: Record,
    thinking: bool | str = False,
    image_path: str | os.PathLike | None = None,
) -> str:
    """The model's input text for a record: the adapter's messages through the processor's chat template (with the
    adapter's template arguments), generation prompt added, not tokenised (the adapter's ``render``). Both backends
    send this text.

    Args:
        processor: the HF processor (its chat template).
        adapter: a :class:`radgrpo.models.adapters.ModelAdapter`.
        record: the test record.
        thinking: the thinking mode (:func:`radgrpo.thinking.thinking_mode`: ``off``/``suffix``/``native``, or a
            bool): ``suffix`` asks the adapter for its thinking prompt (``" /think"`` for radgrpo models).
        image_path: the record's image file, for families that name the image in the text (CheXagent-2).
    """
    suffix = uses_suffix(thinking_mode(thinking))
    render = getattr(adapter, "render", None)
    if callable(render):
        return render(processor, record, suffix, image_path=image_path)
    return processor.apply_chat_template(
        adapter.messages(record, suffix),
        tokenize=False,
        add_generation_prompt=True,
        **adapter.template_kwargs(suffix or adapter.thinking == "native"),
    )


def input_sizes(inputs: Mapping[str, Any], processor: Any, n: int) -> list[tuple[int, int] | None]:
    """``(width, height)`` in pixels of each image after the processor resized it, one per prompt: for Qwen-VL
    processors ``image_grid_thw`` (t, h, w in patches) times the image processor's ``patch_size``; None when the
    processor does not say (or the batch does not hold one image per prompt).

    Example:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> proc = SimpleNamespace(image_processor=SimpleNamespace(patch_size=16))
        >>> input_sizes({"image_grid_thw": torch.tensor([[1, 16, 18]])}, proc, 1)
        [(288, 256)]
    """
    grid = inputs.get("image_grid_thw") if hasattr(inputs, "get") else None
    patch = getattr(getattr(processor, "image_processor", None), "patch_size", None)
    if grid is None or not isinstance(patch, int):
        return [None] * n
    rows = grid.tolist()
    if len(rows) != n:
        return [None] * n
    return [(int(w) * patch, int(h) * patch) for _, h, w in rows]


def _eos_ids(model: Any, processor: Any) -> set[int]:
    ids: set[int] = set()
    gen_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for v in gen_eos if isinstance(gen_eos, (list, tuple)) else [gen_eos]:
        if v is not None:
            ids.add(int(v))
    tok = getattr(processor, "tokenizer", processor)
    if getattr(tok, "eos_token_id", None) is not None:
        ids.add(int(tok.eos_token_id))
    if not ids:
        raise ValueError("neither the model's generation_config nor the tokenizer define an eos token id")
    return ids


class SeededSampler:
    """A transformers logits processor that samples every batch row from its own seeded ``torch.Generator``.

    The scores are warped like transformers' own sampling (temperature, then top-k, then top-p, then min-p, with its
    ``TemperatureLogitsWarper``/``TopKLogitsWarper``/``TopPLogitsWarper``/``MinPLogitsWarper``), one token is drawn
    per row with the row's generator, and every other token's score is set to ``-inf``; ``generate`` then runs
    greedily (``do_sample=False``) and takes the drawn token. Row ``i``'s draws depend only on ``seeds[i]`` and its
    own scores, not on the other rows of the batch. The generators live on the scores' device (created on the first
    step).

    Args:
        seeds: one seed per batch row (:func:`radgrpo.eval.settings.sample_seed`).
        temperature: > 0.
        top_k: keep the ``top_k`` most likely tokens (0: off).
        top_p: keep the smallest set of tokens with this probability mass (1.0: off).
        min_p: drop tokens less likely than ``min_p`` times the most likely one (0.0: off).
    """

    def __init__(
        self,
        seeds: Sequence[int],
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        min_p: float = 0.0,
    ) -> None:
        from transformers import MinPLogitsWarper, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

        self.seeds = [int(s) for s in seeds]
        self.warpers: list[Any] = []
        if temperature != 1.0:
            self.warpers.append(TemperatureLogitsWarper(float(temperature)))
        if top_k:
            self.warpers.append(TopKLogitsWarper(top_k=int(top_k)))
        if top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p=float(top_p)))
        if min_p > 0.0:
            self.warpers.append(MinPLogitsWarper(min_p=float(min_p)))
        self.generators: list[Any] | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if scores.shape[0] != len(self.seeds):
            raise ValueError(f"SeededSampler has {len(self.seeds)} seeds for a batch of {scores.shape[0]} rows")
        if self.generators is None:
            self.generators = [torch.Generator(device=scores.device).manual_seed(s) for s in self.seeds]
        for warp in self.warpers:
            scores = warp(input_ids, scores)
        probs = torch.softmax(scores.float(), dim=-1)
        picks = torch.cat([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.generators)])
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, picks[:, None], 0.0)
        return out


class HFBackend:
    """Batched transformers ``generate`` with left padding; sampling through :class:`SeededSampler`. The adapter's
    generation defaults are passed on (the evaluation's options win); families whose tokenizer reads the image path
    from the text (``images_in_text``) get no images; ``skip_special_tokens`` follows the adapter.

    Args:
        model: an HF image-text-to-text model with ``generate``.
        processor: its processor (padding is already on the left).
        adapter: the :class:`radgrpo.models.adapters.ModelAdapter`.
        spec: the :class:`radgrpo.eval.settings.GenerationSpec` (its ``sampling`` options are read).
    """

    name = "hf"

    def __init__(self, model: Any, processor: Any, adapter: Any, spec: Any) -> None:
        self.model = model
        self.processor = processor
        self.tok = getattr(processor, "tokenizer", processor)
        self.eos = _eos_ids(model, processor)
        self.extra = dict(adapter.generation)
        self.images_in_text = bool(getattr(adapter, "images_in_text", False))
        self.skip_special = bool(getattr(adapter, "skip_special_tokens", True))
        self.sampling = spec.sampling

    @classmethod
    def check(cls, model: Any) -> None:
        """Nothing to check before reading: the model is already loaded."""

    def generate(
        self, texts: Sequence[str], images: Sequence[Any], limit: int, seeds: Sequence[int] | None
    ) -> list[GenOutput]:
        """One ``generate`` call for the batch; ``seeds`` (one per prompt) when sampling, None when greedy."""
        import torch

        if self.images_in_text:
            inputs = self.processor(text=list(texts), return_tensors="pt", padding=True)
        else:
            inputs = self.processor(text=list(texts), images=list(images), return_tensors="pt", padding=True)
        sizes = input_sizes(inputs, self.processor, len(texts))
        device = getattr(self.model, "device", None)
        if device is not None:
            inputs = inputs.to(device)
        pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else min(self.eos)
        kwargs: dict[str, Any] = {
            **self.extra,  # the adapter's generation defaults; the evaluation's options below win
            "max_new_tokens": limit,
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
            "pad_token_id": pad_id,
            "eos_token_id": sorted(self.eos),
        }
        s = self.sampling
        if s.do_sample:
            from transformers import LogitsProcessorList

            assert seeds is not None
            sampler = SeededSampler(seeds, s.temperature, s.top_k, s.top_p, s.min_p)
            kwargs["logits_processor"] = LogitsProcessorList([*self.extra.get("logits_processor", []), sampler])
        with torch.inference_mode():
            out = self.model.generate(**inputs, **kwargs)
        gen = out[:, inputs["input_ids"].shape[1] :].tolist()
        results = []
        for row, size in zip(gen, sizes):
            stop = next((i for i, t in enumerate(row) if t in self.eos), None)
            n = len(row) if stop is None else stop + 1
            kept = row[:n] if self.skip_special else row[: n - (stop is not None)]  # the stop token never shows
            text = self.tok.decode(kept, skip_special_tokens=self.skip_special)
            results.append(GenOutput(text, n, stop is not None, size))
        return results
