"""Generation backends by name: ``hf`` (transformers ``generate``, :mod:`radgrpo.eval.backends.hf`) and ``vllm``
(offline vLLM, :mod:`radgrpo.eval.backends.vllm`), one module each, imported only when used.

A backend is built once per run as ``Backend(model, processor, adapter, spec)`` (the model adapter and the
:class:`radgrpo.eval.settings.GenerationSpec`) and answers ``generate(texts, images, limit, seeds)`` with one
:class:`GenOutput` per prompt: ``texts`` are the chat-template texts
(:func:`radgrpo.eval.backends.hf.chat_text`), ``images`` the PIL images, ``limit`` the new-token limit and ``seeds``
one seed per prompt when sampling (None when greedy). ``Backend.check(model)`` runs before anything is read (vLLM:
its one-line install hint). A new backend is a module with such a class and a line in :data:`BACKENDS`.

Example:
    >>> list(BACKENDS)
    ['hf', 'vllm']
    >>> get_backend("hf").__name__
    'HFBackend'
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

__all__ = ["BACKENDS", "Backend", "GenOutput", "get_backend"]

#: Backend name -> ``"module:Class"``.
BACKENDS: dict[str, str] = {
    "hf": "radgrpo.eval.backends.hf:HFBackend",
    "vllm": "radgrpo.eval.backends.vllm:VLLMBackend",
}


class GenOutput(NamedTuple):
    """One decoded generation: text (special tokens removed), generated tokens (stop token included), whether it
    stopped on an end-of-sequence token, and the model input's image size ``(w, h)`` (None when unknown)."""

    text: str
    n_tokens: int
    finished: bool
    input_size: tuple[int, int] | None


class Backend(Protocol):
    """What :func:`radgrpo.eval.generate.generate_predictions` asks of a backend class."""

    name: str

    def __init__(self, model: Any, processor: Any, adapter: Any, spec: Any) -> None: ...

    @classmethod
    def check(cls, model: Any) -> None:
        """Raise before anything is read when ``model`` cannot run on this backend."""

    def generate(
        self, texts: Sequence[str], images: Sequence[Any], limit: int, seeds: Sequence[int] | None
    ) -> list[GenOutput]: ...


def get_backend(name: str) -> type[Backend]:
    """The backend class registered as ``name`` (its module is imported now).

    Raises:
        ValueError: an unknown name (the message lists the registered ones).
    """
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {name!r}")
    module, cls = BACKENDS[name].split(":")
    backend: type[Backend] = getattr(importlib.import_module(module), cls)
    return backend
