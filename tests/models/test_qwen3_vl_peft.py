"""A PEFT (LoRA) adapter folder loads on its base model, merged; other families load through an auto class and
``trust_remote_code``. Nothing is trained: the LoRA B matrices are drawn non-zero so the adapter changes the output.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/models/test_qwen3_vl_peft.py
"""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from radgrpo.models.qwen3_vl import (
    adapter_base_model,
    load_model,
    load_model_and_processor,
    load_processor,
    lora_config,
    read_model_config,
)


def _inputs(proc):
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256), dtype=np.uint8)).convert("RGB")
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Where is the nodule?"}]}]
    text = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    return proc(text=[text], images=[img], return_tensors="pt")


def _logits(model, inputs):
    with torch.no_grad():
        return model.eval()(**inputs).logits


@pytest.fixture(scope="module")
def adapter(tiny_model_dir, tmp_path_factory):
    """(adapter folder, logits of the in-memory PeftModel, the same after merge_and_unload, base logits, inputs)."""
    from peft import get_peft_model

    model, proc = load_model_and_processor(tiny_model_dir)
    inputs = _inputs(proc)
    base_logits = _logits(model, inputs)
    peft_model = get_peft_model(model, lora_config(r=4, alpha=8, dropout=0.0))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:  # peft initialises B to 0 (a no-op adapter); make it change the model
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    folder = tmp_path_factory.mktemp("lora")
    peft_model.save_pretrained(folder)
    peft_logits = _logits(peft_model, inputs)
    merged_logits = _logits(peft_model.merge_and_unload(), inputs)
    return folder, peft_logits, merged_logits, base_logits, inputs


def test_adapter_folder_loads_on_its_base_and_equals_the_in_memory_adapter(adapter, tiny_model_dir):
    folder, peft_logits, merged_logits, base_logits, inputs = adapter
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_model_dir) and config["peft_type"] == "LORA"
    assert adapter_base_model(folder) == str(tiny_model_dir) and adapter_base_model(tiny_model_dir) is None
    model = load_model(folder)
    assert type(model).__name__ == "Qwen3VLForConditionalGeneration"  # merged: a plain model, no PeftModel wrapper
    assert not any("lora" in n for n, _ in model.named_parameters())
    got = _logits(model, inputs)
    assert torch.allclose(merged_logits, peft_logits, atol=1e-4)
    assert torch.allclose(got, merged_logits, atol=1e-4)
    assert (got - base_logits).abs().max() > 0.1  # the adapter is applied, not dropped
    unmerged = load_model(folder, merge=False)
    from peft import PeftModel

    assert isinstance(unmerged, PeftModel) and torch.allclose(_logits(unmerged, inputs), got, atol=1e-4)


def test_base_model_override_and_a_missing_base_named(adapter, tiny_model_dir, tmp_path):
    folder, _, merged_logits, _, inputs = adapter
    moved = tmp_path / "adapter"
    shutil.copytree(folder, moved)
    cfg = json.loads((moved / "adapter_config.json").read_text())
    cfg["base_model_name_or_path"] = str(tmp_path / "runs" / "sft_gone")  # trained on another machine
    (moved / "adapter_config.json").write_text(json.dumps(cfg))
    (tmp_path / "runs").mkdir()
    with pytest.raises(OSError, match=r"cannot load the base model of the PEFT adapter .*: no such folder"):
        load_model(moved)
    got = _logits(load_model(moved, base_model=tiny_model_dir), inputs)
    assert torch.allclose(got, merged_logits, atol=1e-4)
    assert read_model_config(moved, base_model=str(tiny_model_dir))["model_type"] == "qwen3_vl"
    cfg["base_model_name_or_path"] = None
    (moved / "adapter_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="names no base_model_name_or_path; pass the base model"):
        load_model(moved)


def test_processor_comes_from_the_adapter_folder_when_it_has_one(adapter, tiny_model_dir, tmp_path):
    folder, *_ = adapter
    base = load_processor(tiny_model_dir)
    from_base = load_processor(folder)  # the adapter folder holds no processor: the base model's
    assert from_base.image_processor.size == base.image_processor.size
    assert from_base.tokenizer.get_vocab() == base.tokenizer.get_vocab()
    own = tmp_path / "adapter_with_processor"
    shutil.copytree(folder, own)
    longest = base.image_processor.size["longest_edge"]
    load_processor(tiny_model_dir, max_pixels=longest // 4).save_pretrained(own)
    proc = load_processor(own)
    assert proc.image_processor.size["longest_edge"] == longest // 4  # the adapter folder's own setting
    assert proc.tokenizer.padding_side == "left"
    assert load_processor(own, max_pixels=4096).image_processor.size["longest_edge"] == 4096


def test_radgrpo_eval_of_an_adapter_folder_equals_eval_of_the_merged_model(
    adapter, tiny_model_dir, tiny_records, tmp_path
):
    from radgrpo.config import parse_config
    from radgrpo.eval.config import EvalConfig
    from radgrpo.eval.run import run_eval

    folder, *_ = adapter
    merged = tmp_path / "merged"  # the same weights saved as an ordinary model folder
    load_model(folder).save_pretrained(merged)
    load_processor(folder).save_pretrained(merged)
    preds = {}
    for name, model in (("adapter", folder), ("merged", merged), ("base", tiny_model_dir)):
        out = tmp_path / f"eval_{name}"
        argv = ["--model", str(model), "--test_file", str(tiny_records[1]), "--out", str(out), "--adapter"]
        argv.append("radgrpo")  # the same prompts for both (auto would read the folders' names)
        flags = ["--max_samples", "1", "--max_new_tokens", "6", "--metrics", "soft_f1", "rougeL", "--no-html"]
        run_eval(parse_config(EvalConfig, [*argv, *flags, "--no-progress", "--n_resamples", "20"]))  # `radgrpo eval`
        preds[name] = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds["adapter"]) == 2  # one grounding, one report record
    assert preds["adapter"][0]["prompt"] == tiny_records[0][0].question  # the radgrpo adapter: the record's question
    key = ("id", "completion", "n_tokens")
    assert [{k: p[k] for k in key} for p in preds["adapter"]] == [{k: p[k] for k in key} for p in preds["merged"]]
    assert [p["completion"] for p in preds["adapter"]] != [p["completion"] for p in preds["base"]]


PROBE_CODE = """
import torch
from transformers import PretrainedConfig, PreTrainedModel


class ProbeConfig(PretrainedConfig):
    model_type = "radgrpo_probe"

    def __init__(self, width=3, **kwargs):
        self.width = width
        super().__init__(**kwargs)


class ProbeModel(PreTrainedModel):
    config_class = ProbeConfig

    def __init__(self, config):
        super().__init__(config)
        self.lin = torch.nn.Linear(config.width, config.width)
        self.post_init()

    def forward(self, x):
        return self.lin(x)
"""


def test_auto_class_and_trust_remote_code_reach_from_pretrained(tmp_path, monkeypatch):
    # a family outside transformers: its code ships in the model folder (auto_map), as MAIRA-2's or CheXagent's
    import importlib

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "probe_modeling.py").write_text(PROBE_CODE)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    mod = importlib.import_module("probe_modeling")
    mod.ProbeConfig.register_for_auto_class()
    mod.ProbeModel.register_for_auto_class("AutoModelForCausalLM")
    torch.manual_seed(0)
    probe = mod.ProbeModel(mod.ProbeConfig(width=3))
    folder = tmp_path / "probe"
    probe.save_pretrained(folder)
    assert json.loads((folder / "config.json").read_text())["auto_map"]["AutoModelForCausalLM"]
    with pytest.raises(OSError, match=r"ships its own code: pass --trust_remote_code"):
        load_model(folder, auto_class="AutoModelForCausalLM")
    model = load_model(folder, auto_class="AutoModelForCausalLM", trust_remote_code=True)
    assert type(model).__name__ == "ProbeModel"
    assert torch.equal(model.lin.weight, probe.lin.weight)
    with pytest.raises(ValueError, match="unknown transformers auto class 'AutoModelForNothing'"):
        load_model(folder, auto_class="AutoModelForNothing")
