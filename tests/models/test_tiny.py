"""The tiny Qwen3-VL: real architecture, offline build, exact reload, batched generation.
Run: pytest tests/models/test_tiny.py"""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from radgrpo.models.qwen3_vl import load_model_and_processor, load_processor, lora_config
from radgrpo.models.tiny import TinyModelConfig, count_parameters


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model_and_processor(tiny_model_dir)


def _inputs(proc, n=2, size=256):
    rng = np.random.default_rng(0)
    imgs = [Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).convert("RGB") for _ in range(n)]
    qs = ["Where is the nodule located in this Chest X-ray?", "Provide a radiology report for this Chest X-ray."][:n]
    msgs = [[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]}] for q in qs]
    texts = [proc.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in msgs]
    return proc(text=texts, images=imgs, return_tensors="pt", padding=True)


def test_real_architecture_and_sizes(loaded, tiny_model_dir):
    model, proc = loaded
    assert type(model).__name__ == "Qwen3VLForConditionalGeneration"
    n = count_parameters(model)
    assert 500_000 < n < 1_200_000, n  # config A is ~0.73 M parameters
    assert json.loads((tiny_model_dir / "radgrpo_tiny.json").read_text())["image_size"] == 256
    assert proc.tokenizer.padding_side == "left"
    # digits are single tokens, so box coordinates are learnable
    toks = proc.tokenizer.tokenize("[0.35, 0.51]")
    assert all(len(t.strip("Ġ")) <= 1 or not any(c.isdigit() for c in t) for t in toks), toks


def test_image_gives_64_visual_tokens(loaded):
    _, proc = loaded
    batch = _inputs(proc, n=1)
    image_id = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((batch["input_ids"] == image_id).sum()) == TinyModelConfig().visual_tokens == 64


def test_reload_is_bit_exact(loaded, tiny_model_dir):
    model, proc = loaded
    model2, _ = load_model_and_processor(tiny_model_dir)
    batch = _inputs(proc)
    with torch.no_grad():
        a = model(**batch).logits
        b = model2(**batch).logits
    assert torch.equal(a, b)
    assert model2.lm_head.weight.data_ptr() == model2.model.language_model.embed_tokens.weight.data_ptr()  # tied


def test_batched_greedy_generation_with_left_padding(loaded):
    model, proc = loaded
    batch = _inputs(proc)
    assert (batch["attention_mask"][:, 0] == 0).any()  # prompts differ in length: the shorter is left-padded
    assert batch["attention_mask"][:, -1].all()
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=5, do_sample=False)
    n = batch["input_ids"].shape[1]
    assert out.shape[0] == 2 and n < out.shape[1] <= n + 5


def test_processor_pixel_bounds_and_errors(tiny_model_dir, tmp_path):
    proc = load_processor(tiny_model_dir, min_pixels=1024, max_pixels=451584)
    assert proc.image_processor.size == {"shortest_edge": 1024, "longest_edge": 451584}
    with pytest.raises(OSError, match="cannot load the processor"):
        load_processor(tmp_path / "missing")
    from radgrpo.models.qwen3_vl import resolve_dtype

    assert (resolve_dtype("fp32"), resolve_dtype("bfloat16"), resolve_dtype(None)) == (
        torch.float32,
        torch.bfloat16,
        None,
    )
    with pytest.raises(ValueError, match="unknown dtype 'nn'"):
        resolve_dtype("nn")
    assert lora_config(r=4).target_modules == {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    }
