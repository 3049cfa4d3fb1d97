"""Qwen3-VL at its published widths with few layers: paper-shaped models that fit a CPU.

What it is: the published architecture values of Qwen3-VL-2B-Instruct and Qwen3-VL-8B-Instruct (:data:`SHAPES`) and
:func:`build_shaped_model`, which builds the real ``Qwen3VLForConditionalGeneration`` with those widths, head counts,
vocabulary (151,936) and vision configuration but only N language and N vision layers, with random weights. Its
tokenizer covers the real id range: a byte-level BPE trained on a local corpus, padded with unreachable filler
tokens to the real 151,643 regular ids, then the 26 added tokens at their real ids (151,643 ``<|endoftext|>`` …
151,655 ``<|image_pad|>`` … 151,668 ``</think>``). Its processor uses the paper's RL/eval pixel bounds, min 1,024
and max 451,584 px² (672²: 1,764 patches of 16 px, 441 visual tokens after the 2×2 merge). What it is not: a
pretrained model (it knows nothing) nor a download (nothing is fetched).

Source of every value in :data:`SHAPES` and :data:`QWEN3_ADDED_TOKENS`: the ``config.json`` and
``tokenizer_config.json`` of ``Qwen/Qwen3-VL-2B-Instruct`` and ``Qwen/Qwen3-VL-8B-Instruct`` on the Hugging Face
hub, as reproduced in torchtitan's ``torchtitan/experiments/qwen3_vl/__init__.py`` (``qwen3_vl_configs["2B"]`` and
``["8B"]``; github.com/pytorch/torchtitan). The pixel bounds are the paper's for RL and evaluation (RadVLM-GRPO: ``min_pixels=1024``,
``max_pixels=451584``).

Deepstack: the real towers feed 3 intermediate vision layers to the language model (2B: 5, 11, 17 of 24; 8B: 8, 16,
24 of 27). With N vision layers each index keeps its relative depth, ``floor(i * N / depth)``, duplicates dropped: 2
layers give deepstack layers [0, 1] for both shapes, 1 layer gives [0].

Example:
    >>> s = SHAPES["qwen3-vl-2b"]
    >>> s.text_hidden_size, s.text_heads, s.vocab_size, s.tie_word_embeddings
    (2048, 16, 151936, True)
    >>> s.deepstack_for(2), SHAPES["qwen3-vl-8b"].deepstack_for(2), s.deepstack_for(1)
    ([0, 1], [0, 1], [0])
    >>> visual_tokens(672 * 672)
    441
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The paper's pixel bounds for RL and evaluation, in px² of the resized image.
PAPER_MIN_PIXELS = 1024
PAPER_MAX_PIXELS = 451584  # 672²

#: Qwen3's added tokens at their published ids (tokenizer_config.json ``added_tokens_decoder``), with their
#: ``special`` flag. Regular BPE tokens take ids 0 … 151,642.
QWEN3_ADDED_TOKENS: tuple[tuple[int, str, bool], ...] = (
    (151643, "<|endoftext|>", True),
    (151644, "<|im_start|>", True),
    (151645, "<|im_end|>", True),
    (151646, "<|object_ref_start|>", True),
    (151647, "<|object_ref_end|>", True),
    (151648, "<|box_start|>", True),
    (151649, "<|box_end|>", True),
    (151650, "<|quad_start|>", True),
    (151651, "<|quad_end|>", True),
    (151652, "<|vision_start|>", True),
    (151653, "<|vision_end|>", True),
    (151654, "<|vision_pad|>", True),
    (151655, "<|image_pad|>", True),
    (151656, "<|video_pad|>", True),
    (151657, "<tool_call>", False),
    (151658, "</tool_call>", False),
    (151659, "<|fim_prefix|>", False),
    (151660, "<|fim_middle|>", False),
    (151661, "<|fim_suffix|>", False),
    (151662, "<|fim_pad|>", False),
    (151663, "<|repo_name|>", False),
    (151664, "<|file_sep|>", False),
    (151665, "<tool_response>", False),
    (151666, "</tool_response>", False),
    (151667, "<think>", False),
    (151668, "</think>", False),
)
REGULAR_TOKENS = 151643  # ids 0 … 151,642 (the real vocab.json)
_FILLER = "<|radgrpo_filler_{}|>"  # unreachable: no merge builds it, so the tokenizer never emits it


@dataclass(frozen=True)
class Qwen3VLShape:
    """Published architecture of one Qwen3-VL checkpoint (all layers); :func:`build_shaped_model` keeps few."""

    hub_id: str
    text_hidden_size: int
    text_intermediate_size: int
    text_layers: int
    text_heads: int
    text_kv_heads: int
    vision_hidden_size: int
    vision_intermediate_size: int
    vision_depth: int
    vision_heads: int
    deepstack_visual_indexes: tuple[int, ...]
    tie_word_embeddings: bool
    vocab_size: int = 151936
    head_dim: int = 128
    rope_theta: float = 5_000_000.0
    mrope_section: tuple[int, int, int] = (24, 20, 20)
    max_position_embeddings: int = 262144
    rms_norm_eps: float = 1e-6
    vision_num_position_embeddings: int = 2304
    patch_size: int = 16
    spatial_merge_size: int = 2
    temporal_patch_size: int = 2

    def deepstack_for(self, vision_layers: int) -> list[int]:
        """The deepstack layer indexes at ``vision_layers`` layers (relative depth kept, duplicates dropped)."""
        return sorted(
            {min(vision_layers - 1, i * vision_layers // self.vision_depth) for i in self.deepstack_visual_indexes}
        )

    def parameter_count(self, text_layers: int, vision_layers: int) -> int:
        """Parameters of the model at these layer counts, from the widths alone (tied embeddings counted once).

        Example:
            >>> round(SHAPES["qwen3-vl-2b"].parameter_count(2, 2) / 1e6)
            516
        """
        h, hd = self.text_hidden_size, self.head_dim
        q, kv = self.text_heads * hd, self.text_kv_heads * hd
        attn = h * q + 2 * h * kv + q * h + 2 * hd  # q, k, v, o (no bias) + q/k RMSNorm
        text_layer = attn + 3 * h * self.text_intermediate_size + 2 * h  # SwiGLU + two RMSNorms
        emb = self.vocab_size * h
        text = emb * (1 if self.tie_word_embeddings else 2) + text_layers * text_layer + h  # + final norm
        v, vi = self.vision_hidden_size, self.vision_intermediate_size
        block = (v * 3 * v + 3 * v) + (v * v + v) + (v * vi + vi) + (vi * v + v) + 4 * v  # qkv, proj, fc1, fc2, 2 LN
        c = self.temporal_patch_size * self.patch_size**2
        patch = 3 * c * v + v  # Conv3d with bias
        pos = self.vision_num_position_embeddings * v
        m = v * self.spatial_merge_size**2

        def merger(postshuffle: bool) -> int:
            norm = 2 * (m if postshuffle else v)
            return norm + (m * m + m) + (m * h + h)

        n_deep = len(self.deepstack_for(vision_layers))
        vision = patch + pos + vision_layers * block + merger(False) + n_deep * merger(True)
        return text + vision


SHAPES: dict[str, Qwen3VLShape] = {
    "qwen3-vl-2b": Qwen3VLShape(
        hub_id="Qwen/Qwen3-VL-2B-Instruct",
        text_hidden_size=2048,
        text_intermediate_size=6144,
        text_layers=28,
        text_heads=16,
        text_kv_heads=8,
        vision_hidden_size=1024,
        vision_intermediate_size=4096,
        vision_depth=24,
        vision_heads=16,
        deepstack_visual_indexes=(5, 11, 17),
        tie_word_embeddings=True,
    ),
    "qwen3-vl-8b": Qwen3VLShape(
        hub_id="Qwen/Qwen3-VL-8B-Instruct",
        text_hidden_size=4096,
        text_intermediate_size=12288,
        text_layers=36,
        text_heads=32,
        text_kv_heads=8,
        vision_hidden_size=1152,
        vision_intermediate_size=4304,
        vision_depth=27,
        vision_heads=16,
        deepstack_visual_indexes=(8, 16, 24),
        tie_word_embeddings=False,
    ),
}


def visual_tokens(pixels: int, patch: int = 16, merge: int = 2) -> int:
    """Visual tokens of a square image of ``pixels`` px² (the side a multiple of ``patch * merge``)."""
    side = int(round(pixels**0.5))
    return (side // (patch * merge)) ** 2


def real_range_tokenizer(corpus: Iterable[str] = (), bpe_size: int = 384) -> Any:
    """A Qwen2 tokenizer whose ids match Qwen3's: a BPE trained on ``corpus`` (``bpe_size`` merges budget) at ids
    0 … k-1, unreachable fillers up to id 151,642, and :data:`QWEN3_ADDED_TOKENS` at their real ids.

    Example:
        >>> tok = real_range_tokenizer(["no acute cardiopulmonary process"] * 3, 40)
        >>> len(tok), tok.convert_tokens_to_ids("<|image_pad|>"), tok.convert_tokens_to_ids("</think>")
        (151669, 151655, 151668)
    """
    from radgrpo.models.tiny import qwen_tokenizer, train_bpe

    vocab, merges = train_bpe(corpus, bpe_size, specials=[])
    if len(vocab) > REGULAR_TOKENS:
        raise ValueError(f"the trained BPE has {len(vocab)} tokens, more than the {REGULAR_TOKENS} regular ids")
    vocab = dict(vocab)
    for i in range(len(vocab), REGULAR_TOKENS):
        vocab[_FILLER.format(i)] = i
    for i, text, _ in QWEN3_ADDED_TOKENS:
        vocab[text] = i
    plain = [t for _, t, special in QWEN3_ADDED_TOKENS if not special]
    return qwen_tokenizer(vocab, merges, extra_tokens=plain)


@dataclass
class ShapedBuild:
    """What :func:`build_shaped_model` built (also saved as ``radgrpo_shape.json``)."""

    shape: str
    text_layers: int
    vision_layers: int
    parameters: int
    min_pixels: int
    max_pixels: int


def shaped_config(shape: str | Qwen3VLShape, text_layers: int = 2, vision_layers: int | None = None) -> Any:
    """The ``Qwen3VLConfig`` of ``shape`` at ``text_layers`` language and ``vision_layers`` (default the same)
    vision layers; every other value is the published one."""
    from transformers import Qwen3VLConfig

    s = SHAPES[shape] if isinstance(shape, str) else shape
    vl = text_layers if vision_layers is None else vision_layers
    if text_layers < 1 or vl < 1:
        raise ValueError(f"--layers must be >= 1 (got text {text_layers}, vision {vl})")
    ids = {t: i for i, t, _ in QWEN3_ADDED_TOKENS}
    return Qwen3VLConfig(
        text_config=dict(
            vocab_size=s.vocab_size,
            hidden_size=s.text_hidden_size,
            intermediate_size=s.text_intermediate_size,
            num_hidden_layers=text_layers,
            num_attention_heads=s.text_heads,
            num_key_value_heads=s.text_kv_heads,
            head_dim=s.head_dim,
            hidden_act="silu",
            max_position_embeddings=s.max_position_embeddings,
            rms_norm_eps=s.rms_norm_eps,
            attention_bias=False,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": s.rope_theta,
                "mrope_section": list(s.mrope_section),
                "mrope_interleaved": True,
            },
            bos_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"],
            tie_word_embeddings=s.tie_word_embeddings,
        ),
        vision_config=dict(
            depth=vl,
            hidden_size=s.vision_hidden_size,
            intermediate_size=s.vision_intermediate_size,
            num_heads=s.vision_heads,
            hidden_act="gelu_pytorch_tanh",
            patch_size=s.patch_size,
            spatial_merge_size=s.spatial_merge_size,
            temporal_patch_size=s.temporal_patch_size,
            out_hidden_size=s.text_hidden_size,
            num_position_embeddings=s.vision_num_position_embeddings,
            deepstack_visual_indexes=s.deepstack_for(vl),
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=s.tie_word_embeddings,
    )


def build_shaped_model(
    out_dir: str | os.PathLike,
    shape: str = "qwen3-vl-2b",
    layers: int = 2,
    *,
    vision_layers: int | None = None,
    corpus: Iterable[str] = (),
    seed: int = 0,
    min_pixels: int = PAPER_MIN_PIXELS,
    max_pixels: int = PAPER_MAX_PIXELS,
    save: bool = True,
) -> tuple[Path, Any]:
    """Build (and save unless ``save`` is False) a random-weight Qwen3-VL of ``shape`` with ``layers`` layers.

    Args:
        out_dir: folder to write (created); loads with ``from_pretrained`` / ``load_model_and_processor``.
        shape: a key of :data:`SHAPES`.
        layers: language layers (and vision layers unless ``vision_layers``).
        corpus: texts the BPE part of the tokenizer is trained on.
        seed: torch seed of the random init.
        min_pixels, max_pixels: the processor's image-area bounds in px² (default the paper's 1,024 / 451,584).
        save: write the model weights (fp32); the tokenizer, processor and ``radgrpo_shape.json`` are always written.
    Returns:
        ``(Path(out_dir), model)``: the model is the in-memory fp32 ``Qwen3VLForConditionalGeneration``.
    """
    import torch
    from transformers import GenerationConfig, Qwen3VLForConditionalGeneration

    from radgrpo.models.processor import add_video_processor_block
    from radgrpo.models.tiny import build_processor, count_parameters

    if shape not in SHAPES:
        raise ValueError(f"unknown --shape {shape!r}; known: {', '.join(SHAPES)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = shaped_config(shape, layers, vision_layers)
    tok = real_range_tokenizer(corpus)
    proc = build_processor(tok, min_pixels=min_pixels, max_pixels=max_pixels)
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config)
    ids = {t: i for i, t, _ in QWEN3_ADDED_TOKENS}
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
        do_sample=True,
        temperature=1.0,
    )
    if save:
        model.save_pretrained(out)
    proc.save_pretrained(out)
    add_video_processor_block(out)
    info = ShapedBuild(
        shape=shape,
        text_layers=layers,
        vision_layers=config.vision_config.depth,
        parameters=count_parameters(model),
        min_pixels=min_pixels,
        max_pixels=max_pixels,
    )
    (out / "radgrpo_shape.json").write_text(json.dumps(asdict(info), indent=2))
    return out, model
