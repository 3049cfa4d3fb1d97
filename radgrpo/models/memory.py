"""Training memory of a Qwen3-VL shape: the stated formula, with activation coefficients measured on CPU.

What it is: :func:`predict_peak_bytes`, the peak memory of one training step of a :data:`radgrpo.models.shapes.SHAPES`
model at ``layers`` layers, and :func:`per_gpu_bytes`, the per-GPU figure of a sharded run. What it is not: a
measurement (``benchmarks/bench_memory.py`` measures and fits the coefficients; ``benchmarks/gpu_check.py`` compares
the formula with a bf16 step on a GPU).

The formula (bytes)::

    peak = P * s  +  (I * (v + w * L) + T * (a + b * L)) * e / 4  +  K * V * c * e / 4

- ``P`` parameters (:meth:`Qwen3VLShape.parameter_count`), ``s`` bytes of training state per parameter: full
  fine-tuning with AdamW keeps weights, gradients and two moments (fp32: 4 + 4 + 8 = 16; bf16 mixed precision with
  fp32 master weights as DeepSpeed/FSDP keep them: 2 + 2 + 12 = 16), LoRA keeps the frozen weights only (``e``);
- ``I`` images in the micro-batch (each 1,764 patches at 672²) and ``T`` tokens (prompt with its image tokens +
  completion, summed over sequences), ``L`` layers; ``v`` / ``w`` activation bytes per image outside / per layer,
  ``a`` / ``b`` per token outside / per layer (gradient checkpointing on), measured in fp32 (so scaled by ``e / 4``
  for ``e``-byte activations);
- ``K`` tokens whose log-probabilities are taken (completion tokens), ``V`` = 151,936, ``c`` bytes per logit kept
  for the backward pass (measured with materialised fp32 logits: ``c`` ≈ 8, a logit and its gradient; TRL's chunked
  log-probabilities on a GPU keep none, so there the term is an upper bound).

Fitted on CPU (fp32, SDPA's math path, 1 and 2 layers): the per-image terms carry the vision tower (1,764 patches
per 672² image; on a CPU its attention matrices are materialised, which flash attention on a GPU avoids), the
per-token terms came out at zero (below the runs' ~50 MB allocator noise: a checkpointed layer stores one hidden
state per token, 8-16 KB), so the figures extrapolated to 28 / 36 layers are upper bounds until ``gpu_check.py``
measures a bf16 step.

Example:
    >>> r = predict_peak_bytes("qwen3-vl-2b", 2, tokens=500, logit_tokens=16, mode="full", dtype="float32")
    >>> r["state"] == 16 * r["parameters"]
    True
"""

from __future__ import annotations

from typing import Any

from radgrpo.models.shapes import SHAPES

#: Activation coefficients per shape (bytes per token outside the layers ``a``, per token and layer ``b``, per kept
#: logit ``c``), fp32, gradient checkpointing on; fitted by ``python benchmarks/bench_memory.py`` (its JSON
#: ``fit``; the run is recorded in benchmarks/RESULTS.md).
COEFFICIENTS: dict[str, dict[str, float]] = {
    # 2026-12-07, x86_64 2 cores, torch 2.13.0+cpu: runs 1x128, 4x128, 1x512 (rollouts x completion) at 1 and 2 layers
    "qwen3-vl-2b": {"v": 253_512_443.0, "w": 43_611_364.0, "a": 0.0, "b": 0.0, "c": 8.503},
    "qwen3-vl-8b": {"v": 200_836_278.0, "w": 137_356_068.0, "a": 0.0, "b": 0.0, "c": 7.002},
}

_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def predict_peak_bytes(
    shape: str,
    layers: int,
    *,
    tokens: int,
    logit_tokens: int,
    images: int = 1,
    mode: str = "full",
    dtype: str = "bfloat16",
    vision_layers: int | None = None,
    coefficients: dict[str, float] | None = None,
    state_bytes: int | None = None,
) -> dict[str, int]:
    """Peak bytes of one training step (one process, nothing sharded): ``{"parameters", "state", "activations",
    "logits", "total"}``.

    Args:
        shape: a key of :data:`radgrpo.models.shapes.SHAPES`.
        layers: language layers (vision layers: ``vision_layers``, default the same).
        tokens: tokens of the micro-batch (all sequences, image tokens included).
        logit_tokens: tokens whose log-probabilities are taken (GRPO: the completions; SFT: the answers).
        images: images in the micro-batch (one per sequence for radgrpo's tasks).
        mode: ``"full"`` (AdamW on every weight: 16 bytes per parameter) or ``"lora"`` (frozen weights only).
        dtype: activation and (for LoRA) weight precision: ``float32``, ``bfloat16`` or ``float16``.
        coefficients: ``{"v", "w", "a", "b", "c"}`` to use instead of :data:`COEFFICIENTS`.
        state_bytes: bytes of training state per parameter instead of the mode's (e.g. 8 for bf16 weights trained
            as they load, with bf16 gradients and AdamW moments, on one GPU).
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")
    if mode not in ("full", "lora"):
        raise ValueError(f"mode must be full or lora, got {mode!r}")
    e = _BYTES[dtype]
    p = SHAPES[shape].parameter_count(layers, layers if vision_layers is None else vision_layers)
    k = coefficients or COEFFICIENTS[shape]
    state = p * (state_bytes if state_bytes is not None else 16 if mode == "full" else e)
    vl = layers if vision_layers is None else vision_layers
    act = int((images * (k["v"] + k["w"] * vl) + tokens * (k["a"] + k["b"] * layers)) * e / 4)
    logits = int(logit_tokens * SHAPES[shape].vocab_size * k["c"] * e / 4)
    return {"parameters": p, "state": state, "activations": act, "logits": logits, "total": state + act + logits}


def per_gpu_bytes(
    shape: str,
    *,
    world_size: int,
    tokens: int,
    images: int = 4,
    logit_tokens: int,
    sharding: str = "zero3",
    reference_model: bool = True,
    dtype: str = "bfloat16",
    coefficients: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Per-GPU bytes of full fine-tuning of the whole ``shape`` (all published layers) under ZeRO-3 or FSDP2.

    Model state (16 bytes per parameter) and a bf16 reference model (GRPO with beta > 0) are sharded over
    ``world_size`` GPUs; activations of the GPU's own micro-batch are not. FSDP2 also holds the largest layer's
    unsharded bf16 weights while it computes (two layers with prefetch); ZeRO-3 gathers likewise (counted the same).

    Example:
        >>> r = per_gpu_bytes("qwen3-vl-8b", world_size=8, tokens=4 * 1500, logit_tokens=4 * 1024)
        >>> round(r["state"] / 2**30, 1)
        16.3
    """
    if sharding not in ("zero3", "fsdp2"):
        raise ValueError(f"sharding must be zero3 or fsdp2, got {sharding!r}")
    s = SHAPES[shape]
    full = predict_peak_bytes(
        shape,
        s.text_layers,
        tokens=tokens,
        logit_tokens=logit_tokens,
        images=images,
        dtype=dtype,
        vision_layers=s.vision_depth,
        coefficients=coefficients,
    )
    p = full["parameters"]
    state = full["state"] // world_size
    ref = (2 * p // world_size) if reference_model else 0
    gathered = 2 * 2 * _layer_parameters(shape)  # two bf16 layers unsharded at a time
    total = state + ref + gathered + full["activations"] + full["logits"]
    return {
        "parameters": p,
        "state": state,
        "reference": ref,
        "gathered_layers": gathered,
        "activations": full["activations"],
        "logits": full["logits"],
        "total": total,
        "world_size": world_size,
        "sharding": sharding,
    }


def _layer_parameters(shape: str) -> int:
    """Parameters of one language layer of ``shape``."""
    s = SHAPES[shape]
    return s.parameter_count(2, 1) - s.parameter_count(1, 1)
