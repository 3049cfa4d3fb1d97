"""Paper-shaped runs on a CPU: Qwen3-VL-2B widths (1 layer), the real 151,936-token id range and 672² images.

What the paper runs and a user first meets on a rented cluster, at the real widths: 1,764 patches and 441 image
tokens per 672² image through a deepstack merger, a full and a LoRA SFT step with no image token cut, two GRPO steps
under the paper preset (LoRA: the PEFT reference model, as beta > 0), save, reload and ``radgrpo eval``, the
one-line errors when ``max_length`` / verl's ``max_prompt_length`` would cut image tokens, and the dry run of
``radgrpo grpo --config grpo/paper_report``. Completions are capped at 16 tokens; other keys come from the presets.
The published values are checked against the cited numbers (radgrpo/models/shapes.py). The 8B shape (2 layers, 1.79 B
parameters, untied): forward and memory only, in a subprocess. The GRPO runs use 224² images (see records_grpo).

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/models/test_shapes.py
"""

import json
import math

import numpy as np
import pytest
import torch
import yaml

from radgrpo.config import ConfigError

LAYERS = 1  # 1 language + 1 vision layer at the 2B widths: 428 M parameters (tied embeddings)
IMAGE_TOKENS_672 = 441  # (672 / 32)²
REPORT = "The heart is enlarged. Small right pleural effusion. No pneumothorax."
CORPUS = [REPORT, "Provide a radiology report for this Chest X-Ray.", "No acute cardiopulmonary process."] * 5


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    """The 2B-shaped model built from flags as a user would: ``radgrpo models build-tiny --shape qwen3-vl-2b``."""
    from radgrpo.config import parse_config
    from radgrpo.models.build import BuildTinyConfig, run_build_tiny

    root = tmp_path_factory.mktemp("shaped")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(CORPUS))
    out = root / "qwen3_vl_2b_shaped"
    argv = ["--shape", "qwen3-vl-2b", "--layers", str(LAYERS), "--out", str(out), "--corpus_file", str(corpus)]
    assert run_build_tiny(parse_config(BuildTinyConfig, argv))[0] == out
    return out


def _records(folder, side):
    """Two report records with ``side`` × ``side`` greyscale PNGs; returns the records file."""
    from PIL import Image

    from radgrpo.records import Record, write_jsonl

    rng = np.random.default_rng(0)
    recs = []
    for i in range(2):
        arr = rng.normal(70, 10, (side, side)).clip(0, 255).astype(np.uint8)
        arr[side // 3 : 2 * side // 3, side // 6 + side // 3 * i : side // 3 + side // 3 * i] = 200
        Image.fromarray(arr, mode="L").save(folder / f"img{i}.png")
        recs.append(
            Record(
                f"r{i}",
                f"img{i}.png",
                "report_generation",
                "Provide a radiology report for this Chest X-Ray.",
                REPORT,
                source="test",
                reference_report=REPORT,
            )
        )
    write_jsonl(recs, folder / "test.jsonl")
    return folder / "test.jsonl"


@pytest.fixture(scope="module")
def records_672(tmp_path_factory):
    """Two report records with 672 × 672 images (441 image tokens at the paper's bounds)."""
    return _records(tmp_path_factory.mktemp("records_672"), 672)


@pytest.fixture(scope="module")
def records_grpo(tmp_path_factory):
    """Two report records with 224 × 224 images (49 image tokens) for the GRPO runs: on a CPU TRL scores the
    151,936-wide LM head at every position of the sequence (its completion-only path needs Triton), so a GRPO step
    costs in proportion to the prompt; 672² prompts are covered by the forward and SFT tests above."""
    return _records(tmp_path_factory.mktemp("records_224"), 224)


@pytest.fixture(scope="module")
def radcliq_dirs(tmp_path_factory):
    """Tiny random RadCliQ scoring models (the tests' stand-ins; the real ones are never downloaded here)."""
    from radgrpo.metrics.text.bertscore_tiny import build_random_roberta
    from radgrpo.metrics.text.chexbert_model import build_random_chexbert
    from radgrpo.metrics.text.radgraph_model.tiny import build_tiny_radgraph

    root = tmp_path_factory.mktemp("radcliq_tiny")
    rg = build_tiny_radgraph(root / "radgraph-xl", "radgraph-xl")
    chexbert = str(build_random_chexbert(root / "cx"))  # its folder holds the BERT config and vocabulary too
    return {
        "bertscore": str(build_random_roberta(root / "roberta", CORPUS * 2)),
        "chexbert": chexbert,
        "chexbert_bert": chexbert,
        "radgraph": str(rg.folder),
        "radgraph_backbone": str(rg.backbone_dir),
    }


class _Inputs:
    """A training callback that records what each forward of the trained model receives."""

    def __init__(self):
        from transformers import TrainerCallback

        seen = self.seen = []
        lora = self.lora_modules = []

        class CB(TrainerCallback):
            def on_train_begin(self, args, state, control, model=None, **kw):
                lora.extend(n for n, _ in model.named_modules() if n.endswith("lora_A"))

                def hook(module, a, kwargs):
                    ids = kwargs.get("input_ids")
                    if ids is not None and kwargs.get("pixel_values") is not None:
                        seen.append(
                            {
                                "image_tokens": (ids == 151655).sum(dim=1).tolist(),
                                "pixel_rows": int(kwargs["pixel_values"].shape[0]),
                                "grid": kwargs["image_grid_thw"].tolist(),
                                "length": int(ids.shape[1]),
                            }
                        )

                base = model.get_base_model() if hasattr(model, "get_base_model") else model
                base.register_forward_pre_hook(hook, with_kwargs=True)

        self.callback = CB()


def _preset(name):
    from radgrpo.config import load_yaml, resolve_config

    return load_yaml(str(resolve_config(name)))


# ------------------------------------------------------------------ the published values
def test_shapes_are_the_published_values():
    from radgrpo.models.shapes import PAPER_MAX_PIXELS, PAPER_MIN_PIXELS, QWEN3_ADDED_TOKENS, SHAPES

    two, eight = SHAPES["qwen3-vl-2b"], SHAPES["qwen3-vl-8b"]
    # Qwen/Qwen3-VL-2B-Instruct and -8B-Instruct config.json (numbers typed here, not read from the module)
    assert (two.text_hidden_size, two.text_intermediate_size, two.text_layers) == (2048, 6144, 28)
    assert (two.text_heads, two.text_kv_heads, two.head_dim, two.tie_word_embeddings) == (16, 8, 128, True)
    assert (two.vision_hidden_size, two.vision_intermediate_size, two.vision_depth, two.vision_heads) == (
        1024,
        4096,
        24,
        16,
    )
    assert two.deepstack_visual_indexes == (5, 11, 17)
    assert (eight.text_hidden_size, eight.text_intermediate_size, eight.text_layers) == (4096, 12288, 36)
    assert (eight.text_heads, eight.text_kv_heads, eight.head_dim, eight.tie_word_embeddings) == (32, 8, 128, False)
    assert (eight.vision_hidden_size, eight.vision_intermediate_size, eight.vision_depth, eight.vision_heads) == (
        1152,
        4304,
        27,
        16,
    )
    assert eight.deepstack_visual_indexes == (8, 16, 24)
    for s in (two, eight):
        assert (s.vocab_size, s.rope_theta, s.mrope_section, s.vision_num_position_embeddings) == (
            151936,
            5_000_000.0,
            (24, 20, 20),
            2304,
        )
        assert (s.patch_size, s.spatial_merge_size, s.temporal_patch_size) == (16, 2, 2)
    ids = {t: i for i, t, _ in QWEN3_ADDED_TOKENS}
    assert (ids["<|endoftext|>"], ids["<|im_start|>"], ids["<|im_end|>"]) == (151643, 151644, 151645)
    assert (ids["<|vision_start|>"], ids["<|vision_end|>"], ids["<|image_pad|>"], ids["<|video_pad|>"]) == (
        151652,
        151653,
        151655,
        151656,
    )
    assert (ids["<think>"], ids["</think>"]) == (151667, 151668)
    assert sorted(ids.values()) == list(range(151643, 151669))
    assert (PAPER_MIN_PIXELS, PAPER_MAX_PIXELS) == (1024, 672 * 672)


def test_saved_folder_has_the_real_config_tokenizer_and_pixel_bounds(shaped):
    from radgrpo.models.processor import pixel_bounds
    from radgrpo.models.qwen3_vl import load_processor
    from radgrpo.models.shapes import QWEN3_ADDED_TOKENS, REGULAR_TOKENS, SHAPES

    cfg = json.loads((shaped / "config.json").read_text())
    tc, vc = cfg["text_config"], cfg["vision_config"]
    assert (tc["vocab_size"], tc["hidden_size"], tc["intermediate_size"], tc["num_hidden_layers"]) == (
        151936,
        2048,
        6144,
        LAYERS,
    )
    assert (tc["num_attention_heads"], tc["num_key_value_heads"], tc["head_dim"]) == (16, 8, 128)
    assert (vc["hidden_size"], vc["intermediate_size"], vc["num_heads"], vc["depth"], vc["out_hidden_size"]) == (
        1024,
        4096,
        16,
        LAYERS,
        2048,
    )
    assert vc["deepstack_visual_indexes"] == [0] and cfg["image_token_id"] == 151655
    built = json.loads((shaped / "radgrpo_shape.json").read_text())
    assert built["parameters"] == SHAPES["qwen3-vl-2b"].parameter_count(LAYERS, LAYERS) == 428_386_560
    proc = load_processor(shaped)
    assert pixel_bounds(proc) == (1024, 451584, 16, 2)
    tok = proc.tokenizer
    assert len(tok) == REGULAR_TOKENS + len(QWEN3_ADDED_TOKENS) == 151669
    added = tok.added_tokens_decoder
    for i, text, special in QWEN3_ADDED_TOKENS:
        assert tok.convert_tokens_to_ids(text) == i and added[i].content == text
        assert added[i].special is special  # as the published tokenizer_config.json flags them
    ids = tok(REPORT, add_special_tokens=False)["input_ids"]
    assert max(ids) < 1000 and tok.decode(ids) == REPORT  # the trained BPE (<= 384 merges + 256 bytes); no filler
    assert tok.eos_token_id == 151645 and tok.pad_token_id == 151643


def test_672_image_gives_1764_patches_441_tokens_through_a_deepstack_merger(shaped, records_672):
    from PIL import Image

    from radgrpo.models.qwen3_vl import load_model_and_processor

    model, proc = load_model_and_processor(shaped)
    img = Image.open(records_672.parent / "img0.png").convert("RGB")
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Provide a report."}]}]
    text = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    batch = proc(text=[text], images=[img], return_tensors="pt")
    assert tuple(batch["pixel_values"].shape) == (1764, 3 * 2 * 16 * 16)
    assert batch["image_grid_thw"].tolist() == [[1, 42, 42]]
    assert int((batch["input_ids"] == 151655).sum()) == IMAGE_TOKENS_672
    mergers = model.model.visual.deepstack_merger_list
    assert len(mergers) == 1
    outs = []
    mergers[0].register_forward_hook(lambda m, a, o: outs.append(tuple(o.shape)))
    with torch.no_grad():
        logits = model(**batch, logits_to_keep=1).logits
    assert outs == [(IMAGE_TOKENS_672, 2048)]  # deepstack features: one per image token, at the text width
    assert tuple(logits.shape) == (1, 1, 151936) and torch.isfinite(logits).all()


# ------------------------------------------------------------------ SFT: full and LoRA
def test_full_sft_step_under_the_paper_preset_sees_every_image_token(shaped, records_672, tmp_path):
    from safetensors import safe_open

    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.sft import run_sft

    keys = _preset("sft/paper")
    assert keys["max_length"] is None and keys["max_pixels"] == 262144 and keys["gradient_checkpointing"] is True
    keys.update(max_steps=1, save_strategy="no", logging_steps=1, warmup_steps=0)  # one step: no room to warm up
    cfg = RadSFTConfig(
        **keys, model_name_or_path=str(shaped), train_file=str(records_672), output_dir=str(tmp_path), seed=0
    )
    probe = _Inputs()
    out = run_sft(cfg, callbacks=[probe.callback])
    per_image = (512 // 32) ** 2  # the paper's SFT bound, 262,144 px² = 512²: a 672² image is resized to 512²
    assert probe.seen and all(s["image_tokens"] == [per_image] for s in probe.seen)
    assert all(s["pixel_rows"] == 4 * per_image and s["grid"] == [[1, 32, 32]] for s in probe.seen)
    log = [r for r in json.loads((out / "log_history.json").read_text()) if "loss" in r]
    assert len(log) == 1 and math.isfinite(log[0]["loss"]) and log[0]["grad_norm"] > 0
    # saved and changed: a language-model weight of the folder differs from the initial one
    name = "model.language_model.layers.0.mlp.down_proj.weight"
    with safe_open(shaped / "model.safetensors", "pt") as a, safe_open(out / "model.safetensors", "pt") as b:
        assert not torch.equal(a.get_tensor(name), b.get_tensor(name))
        assert a.get_tensor(name).shape == b.get_tensor(name).shape == (2048, 6144)


def test_lora_sft_step_at_672_targets_the_real_module_names(shaped, records_672, tmp_path):
    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.sft import run_sft

    keys = _preset("sft/paper")
    keys.update(max_steps=1, save_strategy="no", logging_steps=1, max_pixels=451584, use_lora=True, lora_dropout=0.0)
    cfg = RadSFTConfig(
        **keys, model_name_or_path=str(shaped), train_file=str(records_672), output_dir=str(tmp_path), seed=0
    )
    probe = _Inputs()
    out = run_sft(cfg, callbacks=[probe.callback])
    assert probe.seen and all(s["image_tokens"] == [IMAGE_TOKENS_672] for s in probe.seen)
    assert all(s["pixel_rows"] == 1764 and s["grid"] == [[1, 42, 42]] for s in probe.seen)
    wrapped = {n.split("language_model.layers.0.")[-1].rsplit(".lora_A", 1)[0] for n in probe.lora_modules}
    expected = {f"self_attn.{p}_proj" for p in "qkvo"} | {f"mlp.{p}_proj" for p in ("gate", "up", "down")}
    assert wrapped == expected  # every projection of the language layer, nothing in the vision tower
    assert all("language_model.layers.0." in n for n in probe.lora_modules)
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()  # merged


def test_max_length_that_would_cut_image_tokens_is_one_line_naming_both_numbers(shaped, records_672, tmp_path):
    from radgrpo.train.configs import RadSFTConfig
    from radgrpo.train.sft import run_sft

    cfg = RadSFTConfig(
        model_name_or_path=str(shaped),
        train_file=str(records_672),
        output_dir=str(tmp_path / "out"),
        max_length=300,
        max_pixels=451584,
        max_steps=1,
    )
    with pytest.raises(ConfigError) as e:
        run_sft(cfg)
    msg = str(e.value)
    assert "\n" not in msg and "--max_length 300" in msg and "441 image tokens" in msg
    assert "at least 448" in msg  # 6 tokens before the image + 441 + <|vision_end|>
    assert not (tmp_path / "out").exists()  # stopped before the model loaded


def test_verl_export_max_prompt_length_that_would_cut_image_tokens_names_both_numbers(records_672, tmp_path):
    from radgrpo.data.export.verl import write_verl
    from radgrpo.records import iter_jsonl

    recs = list(iter_jsonl(records_672))
    with pytest.raises(ValueError) as e:
        write_verl(recs, tmp_path / "verl", base=records_672.parent, val_size=1, max_prompt_length=400)
    msg = str(e.value)
    assert "\n" not in msg and "max_prompt_length 400" in msg and "441 image tokens" in msg and "= 443" in msg
    assert not (tmp_path / "verl").exists()
    assert write_verl(recs, tmp_path / "ok", base=records_672.parent, val_size=1) == {
        "train": 1,
        "val": 1,
        "skipped_conversation": 0,
    }  # the paper's 3072 fits


# ------------------------------------------------------------------ GRPO under the paper preset
@pytest.fixture(scope="module")
def grpo_lora(shaped, records_grpo, radcliq_dirs, tmp_path_factory):
    """Two GRPO steps of 2 prompts x 2 rollouts under grpo/paper_report's keys, LoRA (beta 0.01 > 0: the PEFT
    reference model), 16-token completions; the calls to TRL's adapter switch are recorded."""
    import trl.trainer.grpo_trainer as gt

    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.grpo import run_grpo

    keys = _preset("grpo/paper_report")
    keys.update(
        num_generations=2,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=1,
        steps_per_generation=1,
        max_completion_length=16,
        max_steps=2,
        save_strategy="no",
        use_lora=True,
        lora_dropout=0.0,
        reward_kwargs={"radcliq": {"model_dirs": radcliq_dirs, "device": "cpu"}},
    )
    out = tmp_path_factory.mktemp("grpo_lora")
    cfg = RadGRPOConfig(
        **keys, model_name_or_path=str(shaped), train_file=str(records_grpo), output_dir=str(out), seed=0
    )
    calls = []
    real = gt.use_adapter

    def spy(model, adapter_name=None):
        calls.append(adapter_name)
        return real(model, adapter_name=adapter_name)

    probe = _Inputs()
    mp = pytest.MonkeyPatch()
    mp.setattr(gt, "use_adapter", spy)
    try:
        run_grpo(cfg, callbacks=[probe.callback])
    finally:
        mp.undo()
    return out, calls, probe


def test_two_grpo_steps_under_the_paper_preset_are_finite(grpo_lora):
    out, _, probe = grpo_lora
    saved = yaml.safe_load((out / "config.yaml").read_text())
    paper = _preset("grpo/paper_report")
    for key in (
        "beta",
        "epsilon",
        "epsilon_high",
        "delta",
        "loss_type",
        "scale_rewards",
        "learning_rate",
        "max_pixels",
    ):
        assert saved[key] == paper[key], key
    assert saved["gradient_checkpointing"] is True and saved["reward_funcs"] == ["radcliq"]
    log = [r for r in json.loads((out / "log_history.json").read_text()) if "loss" in r]
    assert [r["step"] for r in log] == [1, 2]
    for r in log:
        assert math.isfinite(r["loss"]) and math.isfinite(r["reward"]) and r["reward"] <= 0  # -RadCliQ
        assert math.isfinite(r["kl"]) and r["kl"] >= 0
        assert r["completions/max_length"] <= 16
    # the policy forwards saw every image token of both prompts (224² -> 7 x 7 merged cells)
    assert probe.seen and all(set(s["image_tokens"]) == {49} for s in probe.seen)


def test_grpo_with_lora_uses_the_peft_reference_model(grpo_lora):
    _, calls, probe = grpo_lora
    assert probe.lora_modules  # a PeftModel was trained
    assert calls.count(None) >= 2  # the reference log-probs of each step: the base with its adapter switched off


def test_saved_grpo_folder_reloads_and_evaluates(grpo_lora, records_672, tmp_path):
    from radgrpo.config import parse_config
    from radgrpo.eval.config import EvalConfig
    from radgrpo.eval.run import run_eval

    out, _, _ = grpo_lora
    ev = tmp_path / "eval"
    run_eval(  # what `radgrpo eval` runs
        parse_config(
            EvalConfig,
            [
                "--model",
                str(out),
                "--test_file",
                str(records_672),
                "--out",
                str(ev),
                "--max_new_tokens",
                "8",
                "--metrics",
                "bleu4",
                "gleu",
                "--n_resamples",
                "10",
                "--no-html",
                "--no-progress",
            ],
        )
    )
    preds = [json.loads(line) for line in (ev / "predictions.jsonl").read_text().splitlines()]
    assert sorted(p["id"] for p in preds) == ["r0", "r1"]
    results = json.loads((ev / "results.json").read_text())
    text = json.dumps(results)
    assert '"bleu4"' in text and '"gleu"' in text


# ------------------------------------------------------------------ the cluster recipe, dry
def test_dry_run_of_the_paper_report_recipe_on_the_shaped_model(shaped, records_grpo, radcliq_dirs, tmp_path):
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.grpo import run_grpo
    from radgrpo.train.parse import parse_train_config

    out = tmp_path / "dry"
    argv = [  # what `radgrpo grpo` runs
        "--config",
        "grpo/paper_report",
        "--model_name_or_path",
        str(shaped),
        "--train_file",
        str(records_grpo),
        "--output_dir",
        str(out),
        "--dry_run",
        "--num_generations",
        "2",
        "--max_completion_length",
        "16",
        "--reward_kwargs",
        json.dumps({"radcliq": {"model_dirs": radcliq_dirs, "device": "cpu"}}),
    ]
    run_grpo(parse_train_config(RadGRPOConfig, argv, "radgrpo grpo"))
    report = json.loads((out / "dry_run.json").read_text())
    assert report["dry_run"] is True and report["per_device_train_batch_size"] == 2  # one group of 2 rollouts
    assert report["parameters"] == report["trainable_parameters"] == 428_386_560  # full fine-tuning
    # fp32 weights + gradients + AdamW's two moments (16 bytes/parameter) at least, plus the reference model
    assert report["peak_memory_bytes"] > 16 * report["parameters"]
    logged = report["logged"]
    assert logged["step"] == 1 and math.isfinite(logged["loss"]) and math.isfinite(logged["reward"])
    assert not (out / "model.safetensors").exists()  # a dry run saves no model


# ------------------------------------------------------------------ the 8B shape: forward and memory only
_FORWARD_8B = r"""
import json, os, torch
from transformers import Qwen3VLForConditionalGeneration
from radgrpo.models.shapes import real_range_tokenizer, shaped_config
from radgrpo.models.tiny import build_processor
from PIL import Image

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

torch.manual_seed(0)
proc = build_processor(real_range_tokenizer(), min_pixels=1024, max_pixels=451584)
before = rss()
model = Qwen3VLForConditionalGeneration(shaped_config("qwen3-vl-8b", 2)).eval()
weights = rss() - before
msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Provide a report."}]}]
text = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
batch = proc(text=[text], images=[Image.new("RGB", (672, 672), (90, 90, 90))], return_tensors="pt")
base = rss()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak resident set (VmHWM) to now: the forward's own peak is read below
with torch.no_grad():
    logits = model(**batch, logits_to_keep=1).logits
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
print(json.dumps({
    "parameters": sum(p.numel() for p in model.parameters()),
    "tied": model.lm_head.weight is model.get_input_embeddings().weight,
    "weights_rss": weights, "forward_peak_above_base": peak - base,
    "image_tokens": int((batch["input_ids"] == 151655).sum()), "tokens": int(batch["input_ids"].shape[1]),
    "logits": list(logits.shape), "finite": bool(torch.isfinite(logits).all()),
    "deepstack": list(model.config.vision_config.deepstack_visual_indexes),
}))
"""


def test_8b_shape_forward_and_memory():
    import os
    import subprocess
    import sys

    from radgrpo.models.shapes import SHAPES

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", _FORWARD_8B], capture_output=True, text=True, env=env, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    r = json.loads(res.stdout.strip().splitlines()[-1])
    p = SHAPES["qwen3-vl-8b"].parameter_count(2, 2)
    assert r["parameters"] == p == 1_785_831_456 and r["tied"] is False  # 8B: untied embeddings (2 x 622 M)
    assert r["deepstack"] == [0, 1] and r["image_tokens"] == IMAGE_TOKENS_672
    assert r["logits"] == [1, 1, 151936] and r["finite"]
    assert abs(r["weights_rss"] - 4 * p) < 0.05 * 4 * p  # fp32 weights: 4 bytes per parameter, resident
    # a no-grad forward of one 672² prompt keeps no activations: its peak stays within 1 GiB above the weights
    assert 0 <= r["forward_peak_above_base"] < 2**30
