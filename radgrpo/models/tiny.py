"""A tiny, real Qwen3-VL built locally: for tests, the embedded demo and CPU experiments.

It is the real ``Qwen3VLForConditionalGeneration`` architecture (vision tower with deepstack mergers, interleaved
MRoPE text model) at toy size, with a byte-level BPE tokenizer trained on a local corpus (digits split one per token,
so box coordinates are learnable), the Qwen3-VL chat template that TRL ships, and a Qwen2-VL image processor (patch 16,
merge 2: one visual token per 32×32 px). Nothing is downloaded. The saved folder loads with ``from_pretrained`` and
through :func:`radgrpo.models.qwen3_vl.load_model_and_processor`, with or without torchvision.

Defaults are the size we call "config A" (0.7 M parameters; 64 visual tokens for a 256² image), measured to learn
synthetic grounding on 2 CPU cores in minutes. Not a pretrained model: it knows nothing until trained.

Example:
    >>> cfg = TinyModelConfig()
    >>> cfg.text_hidden_size, cfg.image_size, cfg.visual_tokens
    (128, 256, 64)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.models.processor import add_video_processor_block, has_torchvision, image_only_processor

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
EXTRA_TOKENS = ["<think>", "</think>", "<tool_call>", "</tool_call>"]
# Qwen2's pre-tokenizer regex with single digits (\p{N} alone), so "0.35" is 4 tokens.
_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# A small always-included corpus so every build has the chat/format tokens whatever the user corpus is.
_BASE_CORPUS = [
    "user assistant system You are a helpful assistant.",
    "The finding is located at the coordinates [0.12, 0.34, 0.56, 0.78] and [0.9, 0.05, 1.0, 0.6] on the image.",
    "<think> Let me look at the image step by step. </think> No acute cardiopulmonary process.",
    "0 1 2 3 4 5 6 7 8 9 . , ; : ( ) [ ] - / ' \" ? !",
]


@dataclass
class TinyModelConfig:
    """Sizes of the tiny Qwen3-VL ("config A" by default; docs/training.md#the-demo)."""

    vocab_size: int = field(default=384, metadata={"help": "BPE merges budget (specials added on top)"})
    text_hidden_size: int = field(default=128, metadata={"help": "text hidden size"})
    text_layers: int = field(default=2, metadata={"help": "text decoder layers"})
    text_heads: int = field(default=4, metadata={"help": "attention heads"})
    text_kv_heads: int = field(default=2, metadata={"help": "key/value heads"})
    vision_hidden_size: int = field(default=64, metadata={"help": "vision hidden size"})
    vision_depth: int = field(default=2, metadata={"help": "vision blocks"})
    vision_heads: int = field(default=2, metadata={"help": "vision attention heads"})
    image_size: int = field(default=256, metadata={"help": "images are resized to image_size² (min = max pixels)"})
    seed: int = field(default=0, metadata={"help": "torch seed of the random init"})

    @property
    def head_dim(self) -> int:
        return self.text_hidden_size // self.text_heads

    @property
    def visual_tokens(self) -> int:
        return (self.image_size // 32) ** 2

    def __post_init__(self) -> None:
        if self.text_hidden_size % self.text_heads or (self.head_dim // 2) % 4:
            raise ValueError("--text_hidden_size / --text_heads must give a head_dim divisible by 8 (MRoPE sections)")
        if self.image_size % 32:
            raise ValueError(f"--image_size must be a multiple of 32 (patch 16 × merge 2), got {self.image_size}")
        if self.vision_depth < 2:
            raise ValueError("--vision_depth must be >= 2 (one deepstack layer below the last block)")


def train_bpe(corpus: Iterable[str], vocab_size: int = 384, specials: list[str] | None = None) -> tuple[dict, list]:
    """Train a byte-level BPE (Qwen2's split, digits one per token) on ``corpus``: ``(vocab, merges)``.

    ``specials`` take the first ids (default :data:`SPECIAL_TOKENS`; ``[]`` for none); the budget is ``vocab_size``
    learned tokens on top of them (fewer when the corpus runs out of pairs seen twice).

    The 256 byte-level symbols are always in the vocabulary (so any text encodes), the merges come on top.

    Example:
        >>> vocab, merges = train_bpe(["a radiology report"] * 3, 384, specials=[])
        >>> "Ġreport" in vocab, len(vocab) == 256 + len(merges)
        (True, True)
        >>> train_bpe(["a radiology report"] * 3)[0]["<|image_pad|>"]  # specials take the first ids
        12
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    specials = SPECIAL_TOKENS if specials is None else specials
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size + len(specials),
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(_BASE_CORPUS) + list(corpus), trainer)
    merges = [tuple(m) for m in json.loads(bpe.to_str())["model"]["merges"]]
    return bpe.get_vocab(), merges


def qwen_tokenizer(vocab: dict, merges: list, extra_tokens: Iterable[str] = EXTRA_TOKENS) -> Any:
    """Wrap a BPE ``(vocab, merges)`` as a Qwen2 tokenizer with Qwen3-VL's specials and TRL's Qwen3-VL template.

    Specials already in ``vocab`` keep their ids there; ``extra_tokens`` are added as plain added tokens.
    """
    from transformers import Qwen2Tokenizer
    from trl.chat_template_utils import qwen3_vl_chat_template

    # merges as (left, right) pairs and unk_token=None: both accepted at runtime, narrower in the type stubs
    no_unk: Any = None
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=no_unk,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )
    tok.add_tokens(list(extra_tokens))
    tok.chat_template = qwen3_vl_chat_template  # verbatim: TRL recognises it for assistant-only loss
    return tok


def build_tokenizer(corpus: Iterable[str], vocab_size: int = 384) -> Any:
    """Train a byte-level BPE on ``corpus`` and wrap it as a Qwen2 tokenizer with Qwen3-VL's specials and template."""
    vocab, merges = train_bpe(corpus, vocab_size)
    return qwen_tokenizer(vocab, merges)


def build_processor(
    tokenizer: Any, image_size: int = 256, *, min_pixels: int | None = None, max_pixels: int | None = None
) -> Any:
    """Qwen3-VL processor (patch 16, merge 2, mean/std 0.5): min = max pixels = ``image_size``², unless
    ``min_pixels`` / ``max_pixels`` (image areas in px²) are given."""
    from transformers import Qwen3VLProcessor

    pixels = image_size * image_size
    kw: dict[str, Any] = dict(
        patch_size=16,
        merge_size=2,
        temporal_patch_size=2,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
        size={"shortest_edge": min_pixels or pixels, "longest_edge": max_pixels or pixels},
    )
    if has_torchvision():
        from transformers import Qwen2VLImageProcessor
        from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor

        return Qwen3VLProcessor(
            image_processor=Qwen2VLImageProcessor(**kw),
            tokenizer=tokenizer,
            video_processor=Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2),
            chat_template=tokenizer.chat_template,
        )
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return image_only_processor(Qwen3VLProcessor)(
        image_processor=Qwen2VLImageProcessorPil(**kw), tokenizer=tokenizer, chat_template=tokenizer.chat_template
    )


def build_tiny_model(
    out_dir: str | os.PathLike, corpus: Iterable[str] = (), cfg: TinyModelConfig | None = None
) -> Path:
    """Build, save and return the folder of a tiny Qwen3-VL (model + tokenizer + processor + chat template).

    Args:
        out_dir: folder to write (created).
        corpus: texts the tokenizer is trained on (questions and answers of the task).
        cfg: sizes; :class:`TinyModelConfig` defaults when None.
    Returns:
        ``Path(out_dir)``, loadable with ``from_pretrained`` / ``load_model_and_processor``.
    """
    import torch
    from transformers import GenerationConfig, Qwen3VLConfig, Qwen3VLForConditionalGeneration

    cfg = cfg or TinyModelConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(corpus, cfg.vocab_size)
    ids = {s: tok.convert_tokens_to_ids(s) for s in SPECIAL_TOKENS}
    proc = build_processor(tok, cfg.image_size)
    hd = cfg.head_dim
    q = hd // 2 // 4  # MRoPE sections (t, h, w) sum to head_dim / 2, in Qwen3-VL's 2:1:1 proportion
    grid = cfg.image_size // 16
    model_cfg = Qwen3VLConfig(
        text_config=dict(
            vocab_size=len(tok),
            hidden_size=cfg.text_hidden_size,
            intermediate_size=2 * cfg.text_hidden_size,
            num_hidden_layers=cfg.text_layers,
            num_attention_heads=cfg.text_heads,
            num_key_value_heads=cfg.text_kv_heads,
            head_dim=hd,
            max_position_embeddings=4096,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 5e6,
                "mrope_section": [2 * q, q, q],
                "mrope_interleaved": True,
            },
            pad_token_id=ids["<|endoftext|>"],
            tie_word_embeddings=True,
        ),
        vision_config=dict(
            depth=cfg.vision_depth,
            hidden_size=cfg.vision_hidden_size,
            intermediate_size=2 * cfg.vision_hidden_size,
            num_heads=cfg.vision_heads,
            patch_size=16,
            spatial_merge_size=2,
            temporal_patch_size=2,
            out_hidden_size=cfg.text_hidden_size,
            num_position_embeddings=grid * grid,
            deepstack_visual_indexes=[cfg.vision_depth - 1],
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(cfg.seed)
    model = Qwen3VLForConditionalGeneration(model_cfg)
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"],
        do_sample=True,
        temperature=1.0,
    )
    model.save_pretrained(out)
    proc.save_pretrained(out)
    add_video_processor_block(out)
    (out / "radgrpo_tiny.json").write_text(json.dumps(asdict(cfg), indent=2))
    return out


def count_parameters(model: Any) -> int:
    """Number of parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
