"""The vLLM backend (``--backend vllm``): offline vLLM generation, the paper's inference engine (the paper ran vLLM
with TP=4, ``gpu_memory_utilization`` 0.7). :class:`VLLMBackend` sends one request per record, each with its own seed;
:class:`VLLMEngine` holds the ``vllm.LLM``.

vLLM is optional and not a dependency of radgrpo: ``pip install vllm`` on a GPU machine. Without it,
:func:`require_vllm` raises a one-line :class:`~radgrpo.config.ConfigError` naming the install command, and the HF
backend (transformers ``generate``) is the default.

The prompts are the same as the HF backend's: :func:`radgrpo.eval.backends.hf.chat_text` renders the model adapter's
messages with the HF processor's chat template (the image placeholder becomes the model's vision tokens), and
:func:`build_requests` pairs each text with its PIL image as vLLM's ``multi_modal_data``; vLLM's own processor then
resizes the image (the processor config saved with the model: pass ``mm_processor_kwargs`` in ``vllm_options`` to
change ``min_pixels``/``max_pixels``). Sampling settings become ``SamplingParams`` keyword arguments through
:func:`sampling_params_kwargs`, one set per request, each with its record's seed, so a seed reproduces a run whatever
the batching. The streams differ from the HF backend's, so a seed reproduces a run on the same backend and device
type only.

Example:
    >>> sampling_params_kwargs(max_new_tokens=64, do_sample=False)
    {'max_tokens': 64, 'n': 1, 'skip_special_tokens': True, 'temperature': 0.0, 'top_p': 1.0, 'top_k': -1}
    >>> build_requests(["<prompt>"], ["IMG"])
    [{'prompt': '<prompt>', 'multi_modal_data': {'image': 'IMG'}}]
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from radgrpo.config import ConfigError
from radgrpo.eval.backends import GenOutput

__all__ = [
    "HF_TO_VLLM",
    "VLLMBackend",
    "VLLMEngine",
    "build_requests",
    "engine_kwargs",
    "require_vllm",
    "sampling_params_kwargs",
    "vllm_available",
]

logger = logging.getLogger(__name__)

#: transformers ``generate`` keyword -> vLLM ``SamplingParams`` keyword, for the adapters' generation defaults.
HF_TO_VLLM: dict[str, str] = {
    "repetition_penalty": "repetition_penalty",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "min_new_tokens": "min_tokens",
    "min_p": "min_p",
    "stop_strings": "stop",
}
#: Keywords that the evaluation's own options set (never taken from an adapter's defaults).
_OWN = {"max_new_tokens", "do_sample", "temperature", "top_p", "top_k", "seed"}

INSTALL_HINT = "pip install vllm"


def vllm_available() -> bool:
    """Whether ``vllm`` can be imported here (without importing it)."""
    return importlib.util.find_spec("vllm") is not None


def require_vllm() -> Any:
    """The ``vllm`` module, or a one-line :class:`~radgrpo.config.ConfigError` saying how to install it.

    Example:
        >>> require_vllm() if not vllm_available() else None  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ConfigError: --backend vllm needs vLLM, which is not installed: pip install vllm (or use --backend hf)
    """
    try:
        vllm = importlib.import_module("vllm")
    except ImportError as e:
        raise ConfigError(
            f"--backend vllm needs vLLM, which is not installed: {INSTALL_HINT} (or use --backend hf)"
        ) from e
    return vllm


def sampling_params_kwargs(
    *,
    max_new_tokens: int,
    do_sample: bool,
    temperature: float = 1.0,
    top_p: float = 1.0,
    top_k: int = 0,
    min_p: float = 0.0,
    seed: int | None = None,
    stop_token_ids: Sequence[int] = (),
    skip_special_tokens: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``vllm.SamplingParams`` keyword arguments of one request.

    Greedy decoding is vLLM's ``temperature=0``; sampling passes ``temperature``/``top_p``/``top_k`` (``top_k=0``,
    off, is vLLM's ``-1``), ``min_p`` when set, and the request's ``seed``. ``extra`` holds an adapter's
    transformers-style generation defaults: the keys of :data:`HF_TO_VLLM` are renamed, the evaluation's own options in it are ignored (they win),
    and any other key is dropped with a warning (vLLM has no equivalent).

    Example:
        >>> kw = sampling_params_kwargs(max_new_tokens=8, do_sample=True, temperature=0.7, top_k=0, seed=5,
        ...                             extra={"repetition_penalty": 1.05, "temperature": 0.1})
        >>> kw["temperature"], kw["top_k"], kw["seed"], kw["repetition_penalty"]
        (0.7, -1, 5, 1.05)
    """
    kw: dict[str, Any] = {}
    dropped = []
    for key, value in (extra or {}).items():
        if key in HF_TO_VLLM:
            kw[HF_TO_VLLM[key]] = value
        elif key not in _OWN:
            dropped.append(key)
    if dropped:
        logger.warning("vLLM backend: generation option(s) %s have no vLLM equivalent and are ignored", sorted(dropped))
    kw.update(max_tokens=int(max_new_tokens), n=1, skip_special_tokens=bool(skip_special_tokens))
    if do_sample:
        kw.update(temperature=float(temperature), top_p=float(top_p), top_k=int(top_k) if top_k > 0 else -1)
        if min_p:
            kw["min_p"] = float(min_p)
        if seed is not None:
            kw["seed"] = int(seed)
    else:
        kw.update(temperature=0.0, top_p=1.0, top_k=-1)
    if stop_token_ids:
        kw["stop_token_ids"] = [int(t) for t in stop_token_ids]
    return kw


def build_requests(texts: Sequence[str], images: Sequence[Any]) -> list[dict[str, Any]]:
    """vLLM prompts: each chat-template text (:func:`radgrpo.eval.backends.hf.chat_text`) with its one image.

    Example:
        >>> [r["prompt"] for r in build_requests(["a", "b"], [1, 2])]
        ['a', 'b']
    """
    if len(texts) != len(images):
        raise ValueError(f"build_requests: {len(texts)} texts but {len(images)} images")
    return [{"prompt": t, "multi_modal_data": {"image": im}} for t, im in zip(texts, images)]


def engine_kwargs(
    model: str,
    *,
    tensor_parallel_size: int = 1,
    gpu_memory_utilization: float = 0.9,
    seed: int = 0,
    limit_mm_per_prompt: Mapping[str, int] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The ``vllm.LLM`` keyword arguments: one image per prompt unless ``limit_mm_per_prompt`` says otherwise;
    ``options`` (``max_model_len``, ``dtype``, ``trust_remote_code``, ``mm_processor_kwargs`` ...) pass through.

    Example:
        >>> engine_kwargs("Qwen/Qwen3-VL-8B-Thinking", tensor_parallel_size=4, gpu_memory_utilization=0.7)
        ... # doctest: +NORMALIZE_WHITESPACE
        {'model': 'Qwen/Qwen3-VL-8B-Thinking', 'tensor_parallel_size': 4, 'gpu_memory_utilization': 0.7, 'seed': 0,
         'limit_mm_per_prompt': {'image': 1}}
    """
    if tensor_parallel_size < 1 or not 0 < gpu_memory_utilization <= 1:
        raise ValueError(
            f"vLLM needs tensor_parallel_size >= 1 and 0 < gpu_memory_utilization <= 1 "
            f"(got {tensor_parallel_size}, {gpu_memory_utilization})"
        )
    return {
        "model": str(model),
        "tensor_parallel_size": int(tensor_parallel_size),
        "gpu_memory_utilization": float(gpu_memory_utilization),
        "seed": int(seed),
        "limit_mm_per_prompt": dict(limit_mm_per_prompt or {"image": 1}),
        **options,
    }


class VLLMEngine:
    """One offline ``vllm.LLM`` (built at construction; loading takes minutes on large models).

    Args:
        model: hub id or local folder.
        **kwargs: :func:`engine_kwargs` arguments (tensor parallelism, memory share, seed, ``vllm.LLM`` options).

    Example:
        >>> engine = VLLMEngine("Qwen/Qwen3-VL-8B-Thinking", tensor_parallel_size=4)  # doctest: +SKIP
        >>> engine.generate(build_requests(texts, images), [sampling_params_kwargs(max_new_tokens=4096,
        ...                 do_sample=True, seed=s) for s in seeds])  # doctest: +SKIP
    """

    def __init__(self, model: str, **kwargs: Any) -> None:
        vllm = require_vllm()
        self.kwargs = engine_kwargs(model, **kwargs)
        self.llm = vllm.LLM(**self.kwargs)
        self._sampling_params = vllm.SamplingParams

    def generate(
        self, requests: Sequence[Mapping[str, Any]], params: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, int, bool]]:
        """``(text, generated tokens, stopped on a stop token)`` per request, in request order.

        Args:
            requests: :func:`build_requests` output.
            params: one :func:`sampling_params_kwargs` dict per request.
        """
        if len(requests) != len(params):
            raise ValueError(f"{len(requests)} requests but {len(params)} sampling parameter sets")
        sps = [self._sampling_params(**p) for p in params]
        outs = self.llm.generate(list(requests), sampling_params=sps, use_tqdm=False)
        return [(o.outputs[0].text, len(o.outputs[0].token_ids), o.outputs[0].finish_reason == "stop") for o in outs]


def _engine(model: Any, spec: Any) -> Any:
    """The vLLM engine for ``model``: a model path (a string / path, or an HF model's ``name_or_path``) is loaded into
    a :class:`VLLMEngine` with the spec's tensor parallelism, memory share, seed and ``vllm_options``; any other object
    is taken as an engine already built (anything with ``generate(requests, params) -> [(text, n_tokens,
    finished)]``)."""
    if isinstance(model, (str, os.PathLike)):
        path = str(model)
    elif hasattr(model, "config"):  # an HF model: vLLM loads the same weights from its folder / hub id
        path = str(getattr(model, "name_or_path", "") or getattr(model.config, "_name_or_path", ""))
    else:
        return model
    if not path:
        raise ValueError("--backend vllm needs the model's hub id or folder (pass it as the model)")
    return VLLMEngine(
        path,
        tensor_parallel_size=spec.tensor_parallel_size,
        gpu_memory_utilization=spec.gpu_memory_utilization,
        seed=spec.seed,
        **dict(spec.vllm_options or {}),
    )


class VLLMBackend:
    """Offline vLLM generation (:class:`VLLMEngine`), one request per record with its own seed.

    Args:
        model: a hub id or folder (or an HF model, whose ``name_or_path`` is loaded, or an engine already built).
        processor: the HF processor (the chat text and, for Qwen2.5-VL-style boxes, the resized image size).
        adapter: the :class:`radgrpo.models.adapters.ModelAdapter`.
        spec: the :class:`radgrpo.eval.settings.GenerationSpec` (sampling options, seed, engine settings).
    """

    name = "vllm"

    def __init__(self, model: Any, processor: Any, adapter: Any, spec: Any) -> None:
        if getattr(adapter, "images_in_text", False):
            raise ValueError(
                f"model adapter {adapter.name!r}: its tokenizer reads the image itself, which vLLM cannot do; "
                "use --backend hf"
            )
        self.engine = _engine(model, spec)
        self.processor = processor
        self.adapter = adapter
        self.sampling = spec.sampling
        self.extra = dict(adapter.generation)
        self.skip_special = bool(getattr(adapter, "skip_special_tokens", True))
        tok = getattr(processor, "tokenizer", processor)
        self.stop_ids = [int(tok.eos_token_id)] if getattr(tok, "eos_token_id", None) is not None else []

    @classmethod
    def check(cls, model: Any) -> None:
        """A model to load (a path, or an HF model's folder) needs vLLM installed: its one-line error, now."""
        if isinstance(model, (str, os.PathLike)) or hasattr(model, "config"):
            require_vllm()

    def _input_size(self, image: Any) -> tuple[int, int] | None:
        from radgrpo.eval.backends.hf import input_sizes

        if self.adapter.box_frame != "pixels_input":  # only Qwen2.5-VL-style answers need it: skip the work
            return None
        inputs = self.processor.image_processor(images=[image], return_tensors="pt")
        return input_sizes(inputs, self.processor, 1)[0]

    def generate(
        self, texts: Sequence[str], images: Sequence[Any], limit: int, seeds: Sequence[int] | None
    ) -> list[GenOutput]:
        """One engine call for the batch: one ``SamplingParams`` per request, with its seed when sampling."""
        params = [
            sampling_params_kwargs(
                max_new_tokens=limit,
                **dataclasses.asdict(self.sampling),
                seed=seeds[i] if seeds is not None else None,
                stop_token_ids=self.stop_ids,
                skip_special_tokens=self.skip_special,
                extra=self.extra,
            )
            for i in range(len(texts))
        ]
        outs = self.engine.generate(build_requests(texts, images), params)
        return [GenOutput(t, n, f, self._input_size(im)) for (t, n, f), im in zip(outs, images)]
