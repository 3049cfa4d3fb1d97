"""Tiny random instances of the baseline architectures that transformers ships (Qwen2.5-VL, Gemma 3 for MedGemma,
LLaVA for LLaVA-Rad), each with a real processor built offline: a byte-level BPE tokenizer trained on a few local
sentences, the family's image processor at toy size and its chat template (TRL's verbatim copies, where TRL ships
one). Nothing is downloaded; each builder takes about a second on one CPU core.

The models are the real ``*ForConditionalGeneration`` classes with random weights: they generate token soup, which
is what the adapter tests need (the prompt goes through the real chat template and processor, ``generate`` runs on a
real image, the decoded text is parsed).

Example:
    >>> model, processor = tiny_llava()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Sentences the tokenizers are trained on (any text still encodes: byte-level BPE).
CORPUS = [
    "Describe the findings of the chest x-ray. The heart is normal in size. No pleural effusion.",
    "Locate every object that matches the description in the image. Report bbox coordinates in JSON format.",
    '[{"bbox_2d": [120, 340, 560, 780], "label": "nodule"}] {"box_2d": [1, 2, 3, 4]} findings: USER ASSISTANT',
    "You are an expert radiologist. Please succinctly describe the findings for the above chest x-ray.",
] * 4


def byte_bpe_tokenizer(
    specials: Sequence[str], extra: dict[str, str] | None = None, vocab_size: int = 256, **tokens: str
) -> Any:
    """A ``PreTrainedTokenizerFast`` over a byte-level BPE trained on :data:`CORPUS`.

    Args:
        specials: special tokens (added first, so they keep ids ``0..n-1``).
        extra: named extra special tokens (``{"image_token": "<image>"}`` -> ``tok.image_token``, ``tok.image_token_id``).
        vocab_size: merges budget on top of the specials.
        **tokens: ``bos_token``, ``eos_token``, ``pad_token``, ``unk_token``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size + len(specials),
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, extra_special_tokens=dict(extra or {}), **tokens)


def _seeded(cls: Any, config: Any, seed: int = 0) -> Any:
    import torch

    torch.manual_seed(seed)
    return cls(config).eval()


def tiny_qwen2_5_vl(min_tokens: int = 4, max_tokens: int = 16) -> tuple[Any, Any]:
    """``(Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor)``: patch 14, merge 2 (one visual token per
    28×28 px), between ``min_tokens`` and ``max_tokens`` visual tokens per image; TRL's Qwen2.5-VL chat template."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    from trl.chat_template_utils import qwen2_5_vl_chat_template

    from radgrpo.models.processor import image_only_processor
    from radgrpo.models.tiny import build_tokenizer

    tok = build_tokenizer(CORPUS, 256)
    tok.chat_template = qwen2_5_vl_chat_template
    image_processor = Qwen2VLImageProcessorPil(
        patch_size=14,
        merge_size=2,
        temporal_patch_size=2,
        size={"shortest_edge": 28 * 28 * min_tokens, "longest_edge": 28 * 28 * max_tokens},
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )
    processor = image_only_processor(Qwen2_5_VLProcessor)(
        image_processor=image_processor, tokenizer=tok, chat_template=qwen2_5_vl_chat_template
    )
    ids = {s: tok.convert_tokens_to_ids(s) for s in ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>")}
    ids |= {s: tok.convert_tokens_to_ids(s) for s in ("<|vision_end|>", "<|endoftext|>", "<|im_end|>")}
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=1024,
            rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
            pad_token_id=ids["<|endoftext|>"],
            bos_token_id=None,
            eos_token_id=ids["<|im_end|>"],
        ),
        vision_config=dict(
            depth=1,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            out_hidden_size=32,
            window_size=56,
            fullatt_block_indexes=[0],
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    return _seeded(Qwen2_5_VLForConditionalGeneration, config), processor


GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
GEMMA_IMAGE = {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"}


def tiny_gemma3(image_size: int = 64, tokens_per_image: int = 4) -> tuple[Any, Any]:
    """``(Gemma3ForConditionalGeneration, Gemma3Processor)`` (MedGemma's architecture): SigLIP patch 16 on
    ``image_size``² images pooled to ``tokens_per_image`` soft tokens; TRL's Gemma 3 chat template."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3Processor
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil
    from trl.chat_template_utils import gemma3_chat_template

    tok = byte_bpe_tokenizer(
        GEMMA_SPECIALS + list(GEMMA_IMAGE.values()),
        GEMMA_IMAGE,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    image_processor = Gemma3ImageProcessorPil(
        size={"height": image_size, "width": image_size}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    processor = Gemma3Processor(
        image_processor=image_processor,
        tokenizer=tok,
        chat_template=gemma3_chat_template,
        image_seq_length=tokens_per_image,
    )
    config = Gemma3Config(
        text_config=dict(
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=16,
            max_position_embeddings=512,
            sliding_window=64,
            pad_token_id=tok.pad_token_id,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=image_size,
            patch_size=16,
        ),
        mm_tokens_per_image=tokens_per_image,
        boi_token_index=tok.boi_token_id,
        eoi_token_index=tok.convert_tokens_to_ids(GEMMA_IMAGE["eoi_token"]),
        image_token_index=tok.image_token_id,
    )
    return _seeded(Gemma3ForConditionalGeneration, config), processor


def tiny_llava(image_size: int = 32) -> tuple[Any, Any]:
    """``(LlavaForConditionalGeneration, LlavaProcessor)`` (LLaVA-Rad's architecture, in its transformers form):
    a CLIP vision tower (patch 16, one CLS token) and a Llama decoder; TRL's LLaVA-NeXT chat template (the adapter
    passes its own)."""
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from trl.chat_template_utils import llava_next_chat_template

    tok = byte_bpe_tokenizer(
        ["<unk>", "<s>", "</s>", "<pad>", "<image>"],
        {"image_token": "<image>"},
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tok,
        patch_size=16,
        vision_feature_select_strategy="default",
        chat_template=llava_next_chat_template,
        num_additional_image_tokens=1,
    )
    config = LlavaConfig(
        vision_config=dict(
            model_type="clip_vision_model",
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=image_size,
            patch_size=16,
        ),
        text_config=dict(
            model_type="llama",
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=512,
            pad_token_id=tok.pad_token_id,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
        ),
        image_token_index=tok.image_token_id,
        vision_feature_select_strategy="default",
        vision_feature_layer=-2,
    )
    return _seeded(LlavaForConditionalGeneration, config), processor
