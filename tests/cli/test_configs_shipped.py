"""Every config shipped in radgrpo/configs works: each one that can run on a CPU runs here through its own command
(``radgrpo data|sft|grpo|eval --config NAME``) in a fast form -- the tiny Qwen3-VL, a few synthetic or fixture
records, one optimizer step, a few new tokens -- and every other one is checked by the test file named in
:data:`COVERAGE`. A new shipped file without an entry there fails :func:`test_every_shipped_config_is_covered`.

The fast form changes only sizes (steps, batch, group size, token limits, sample counts) and output folders: each
run's written ``config.yaml`` is the shipped file plus exactly those flags (and the CPU fallbacks: no bf16). The
scoring models of the paper's report metrics and the RadCliQ reward are tiny random ones with the public layouts
(RadGraph-XL archive, CheXbert checkpoint, DistilBERT / DistilRoBERTa encoders) put in ``$RADGRPO_MODELS_DIR``, so
``eval/paper_report`` and ``grpo/paper_report`` resolve them exactly as they resolve the real ones.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_configs_shipped.py
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from radgrpo.cli.main import main as radgrpo_main
from radgrpo.configs import list_configs, load_config
from radgrpo.records import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = "tests/train/test_cluster_configs.py"  # accelerate's own loader and plugins; the vLLM overlays on a preset

#: shipped name -> "run" (run below) or the test file that checks it (it names the config)
COVERAGE = {
    "accelerate/ddp": CLUSTER,
    "accelerate/fsdp2": CLUSTER,
    "accelerate/zero2": CLUSTER,
    "accelerate/zero3": CLUSTER,
    "data/radvlm": "run",
    "data/synth_clean": "run",
    "data/synth_demo": "run",
    "eval/demo_cpu": "run",
    "eval/demo_thinking": "run",  # overlays run over the preset they layer on (the run lists below)
    "eval/paper_grounding": "run",
    "eval/paper_report": "run",
    "grpo/demo_cpu": "run",
    "grpo/demo_thinking": "run",
    "grpo/paper_grounding": "run",
    "grpo/paper_joint": "run",
    "grpo/paper_report": "run",
    "grpo/thinking_native": "run",
    "grpo/thinking_suffix": "run",
    "grpo/vllm_colocate": CLUSTER,  # needs vLLM and GPUs
    "grpo/vllm_server": CLUSTER,
    "sft/demo_cpu": "run",
    "sft/demo_thinking": "run",
    "sft/paper": "run",
    "sft/thinking": "run",
}
#: the TRL values the trainer writes back differently on a CPU (bf16 is switched off without CUDA)
CPU_FALLBACKS = {"bf16": False}


def test_every_shipped_config_is_covered():
    assert sorted(COVERAGE) == list_configs()
    for name, how in COVERAGE.items():
        if how != "run":
            assert name in (ROOT / how).read_text(encoding="utf-8"), f"{how} does not check {name}"
    ran = {n for runs in (SFT_RUNS, GRPO_RUNS, EVAL_RUNS) for names in runs for n in _names(names)}
    ran |= {"data/synth_demo", "data/synth_clean", "data/radvlm"}  # the data tests below
    assert ran == {n for n, how in COVERAGE.items() if how == "run"}


def _flags(overrides: dict) -> list[str]:
    out: list[str] = []
    for k, v in overrides.items():
        out += [f"--{k}", *map(str, v)] if isinstance(v, list) else [f"--{k}", str(v)]
    return out


def _names(names: str | tuple[str, ...]) -> tuple[str, ...]:
    return (names,) if isinstance(names, str) else names


def _id(names: str | tuple[str, ...]) -> str:
    return "+".join(_names(names))


def _shipped(names: str | tuple[str, ...]) -> dict:
    """The keys of shipped config(s), later files winning (as layered ``--config`` flags)."""
    out: dict = {}
    for name in _names(names):
        out.update(load_config(name))
    return out


def _config_flags(names: str | tuple[str, ...]) -> list[str]:
    return [x for name in _names(names) for x in ("--config", name)]


def _assert_shipped_plus(
    name: str | tuple[str, ...], written: Path, overrides: dict, fallbacks: dict | None = None
) -> dict:
    """The run's config.yaml holds every key of the shipped file(s) with its value, except the flags given."""
    got = yaml.safe_load(written.read_text())
    for key, value in _shipped(name).items():
        if key in overrides:
            want = overrides[key]
        elif fallbacks and key in fallbacks:
            want = fallbacks[key]
        else:
            want = value
        if key == "report_to" and want == "none":
            assert got[key] in ("none", []), (name, key, got[key])
            continue
        assert got[key] == pytest.approx(want) if isinstance(want, float) else got[key] == want, (name, key, got[key])
    return got


def _run(argv: list[str], capsys) -> str:
    code = radgrpo_main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    return out.out


# ----------------------------------------------------------------------------------------------------- data


SYNTH = {"n_train": 4, "n_val": 0, "n_test": 6, "image_size": 64}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """``radgrpo data synth --config data/synth_demo`` at a few records: the data of every run below."""
    out = tmp_path_factory.mktemp("synth")
    assert radgrpo_main(["data", "synth", "--config", "data/synth_demo", "--out", str(out), *_flags(SYNTH)]) == 0
    return out


def test_data_synth_demo(synth):
    _assert_shipped_plus("data/synth_demo", synth / "config.yaml", {**SYNTH, "out": str(synth)})
    shipped_tasks = set(load_config("data/synth_demo")["tasks"])
    for split, n in (("train", SYNTH["n_train"]), ("test", SYNTH["n_test"])):
        records = read_jsonl(synth / f"{split}.jsonl")
        reports = [r for r in records if r.task.value == "report_generation"]
        assert len(reports) == n and {r.task.value for r in records} <= shipped_tasks
        assert all((synth / r.image).is_file() for r in records)
    assert any(r.task.value == "abnormality_grounding" for r in read_jsonl(synth / "test.jsonl"))


def test_data_synth_clean_overlay(tmp_path, synth):
    """``--world clean``'s overlay: today's four findings, references without readers, no truth in the records; the
    default (readers) world keeps the drawn truth in every record."""
    out = tmp_path / "clean"
    argv = ["data", "synth", "--config", "data/synth_demo", "--config", "data/synth_clean", "--out", str(out)]
    assert radgrpo_main([*argv, *_flags(SYNTH)]) == 0
    _assert_shipped_plus(("data/synth_demo", "data/synth_clean"), out / "config.yaml", {**SYNTH, "out": str(out)})
    assert all("truth" not in r.meta for r in read_jsonl(out / "test.jsonl"))
    assert all("truth" in r.meta for r in read_jsonl(synth / "test.jsonl"))


def test_data_radvlm_validates_and_builds_on_fixture_roots(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "tests" / "data" / "fixtures"))
    from grounding_layouts import write_chest_imagenome, write_ms_cxr, write_padchest_gr, write_vindr
    from source_layouts import write_chexpert, write_chexpert_plus, write_mimic

    mimic = write_mimic(tmp_path / "mimic", n_subjects=10)
    write_chexpert(tmp_path / "chexpert")
    write_chexpert_plus(tmp_path / "chexpert")
    write_chest_imagenome(tmp_path / "ci", mimic["frontal_meta"])
    write_vindr(tmp_path / "vindr", images=False)
    write_ms_cxr(tmp_path / "ms", mimic["frontal_meta"])
    write_padchest_gr(tmp_path / "pc")
    roots = {
        "mimic_cxr_root": tmp_path / "mimic",
        "chexpert_root": tmp_path / "chexpert",
        "chexpert_plus_root": tmp_path / "chexpert",
        "chest_imagenome_root": tmp_path / "ci",
        "vindr_cxr_root": tmp_path / "vindr",
        "ms_cxr_root": tmp_path / "ms",
        "padchest_gr_root": tmp_path / "pc",
    }
    assert set(roots) == {k for k in load_config("data/radvlm") if k.endswith("_root")}  # every root is set here
    flags = _flags(roots)
    assert "ok: all roots for 9 blocks are in place" in _run(
        ["data", "validate", "--config", "data/radvlm", *flags], capsys
    )
    out = tmp_path / "out"
    _run(["data", "build", "--config", "data/radvlm", *flags, "--out", str(out), "--vindr_image_size", "32",
          "--progress", "false"], capsys)  # fmt: skip
    shipped = load_config("data/radvlm")
    stats = json.loads((out / "stats.json").read_text())
    assert list(stats["blocks"]) == [b["name"] for b in shipped["blocks"]]
    records = read_jsonl(out / "records" / "train.jsonl")
    assert {r.task.value for r in records} == {t for b in shipped["blocks"] for t in b["tasks"]}
    assert shipped["exports"] == ["records", "llava_json", "verl"]
    assert len(json.loads((out / "llava" / "train.json").read_text())) == len(records)
    assert (out / "verl" / "train.parquet").is_file()


# ----------------------------------------------------------------------------------------------------- training


SFT_FAST = {"max_steps": 1, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 1, "logging_steps": 1}
GRPO_FAST = {
    **SFT_FAST,
    "num_generations": 2,
    "steps_per_generation": 1,
    "max_completion_length": 4,
}


SFT_RUNS = ["sft/demo_cpu", "sft/paper", "sft/thinking", ("sft/demo_cpu", "sft/demo_thinking")]


@pytest.mark.parametrize("names", SFT_RUNS, ids=_id)
def test_sft_config_runs(names, tiny_model_dir, synth, tmp_path, capsys):
    from radgrpo.records import write_jsonl

    out = tmp_path / "run"
    train = synth / "train.jsonl"
    extra: dict = {}
    if _shipped(names).get("mix_share"):  # thinking SFT: teacher traces (as `radgrpo thinking generate` writes them)
        traces = [
            dataclasses.replace(r, answer=f"<think>Look at the image.</think>\n\n{r.answer}") for r in read_jsonl(train)
        ]
        write_jsonl(traces, synth / "thinking.jsonl")  # beside the images; plain records are mixed in
        train, extra = synth / "thinking.jsonl", {"mix_file": str(train)}
    argv = ["sft", *_config_flags(names), "--model_name_or_path", str(tiny_model_dir), "--train_file", str(train)]
    _run([*argv, "--output_dir", str(out), *_flags({**SFT_FAST, **extra})], capsys)
    _assert_shipped_plus(names, out / "config.yaml", {**SFT_FAST, **extra}, CPU_FALLBACKS)
    log = json.loads((out / "log_history.json").read_text())
    step = next(r for r in log if "loss" in r)
    assert step["step"] == 1 and math.isfinite(step["loss"]) and step["loss"] > 0
    assert (out / "model.safetensors").is_file()


@pytest.fixture(scope="module")
def scorers(tmp_path_factory):
    """Tiny random scoring models under ``$RADGRPO_MODELS_DIR`` (public layouts), an empty HF cache, fresh caches."""
    import huggingface_hub.constants
    from transformers import BertTokenizer, DistilBertConfig, DistilBertModel

    from radgrpo.metrics.text import bertscore, chexbert_labeler, radcliq, radgraph
    from radgrpo.metrics.text.bertscore_tiny import build_random_roberta
    from radgrpo.metrics.text.chexbert_model import build_random_chexbert
    from radgrpo.metrics.text.radgraph_model.tiny import build_tiny_radgraph

    root = tmp_path_factory.mktemp("scorers")
    models = root / "models"
    rg = build_tiny_radgraph(root / "rg", "radgraph-xl", seed=1, weight_scale=2.0)
    (models / "radgraph-xl").mkdir(parents=True)
    shutil.copy(rg.archive, models / "radgraph-xl" / rg.archive.name)
    for name in ("radgraph-xl-backbone", rg.model_name.replace("/", "--")):  # the preflight's name, the config's
        shutil.copytree(rg.backbone_dir, models / name)
    corpus = ["The heart is enlarged. No pleural effusion.", "There is a nodule in the right lung."] * 10
    build_random_roberta(models / "distilroberta-base", corpus)  # RadCliQ's BERTScore encoder
    shutil.copytree(build_random_chexbert(models / "chexbert"), models / "bert-base-uncased")
    distilbert = models / "distilbert-base-uncased"  # the bertscore metric's encoder (layer 5 of 5)
    shutil.copytree(rg.backbone_dir, distilbert)
    tok = BertTokenizer(str(distilbert / "vocab.txt"))
    tok.save_pretrained(distilbert)
    DistilBertModel(
        DistilBertConfig(vocab_size=len(tok), dim=32, hidden_dim=64, n_layers=5, n_heads=2)
    ).save_pretrained(distilbert)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADGRPO_MODELS_DIR", str(models))
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root / "hf"))
        for module in (bertscore, radcliq, radgraph):  # scorers other tests loaded from other folders
            mp.setattr(module, "_SCORERS", {})
        mp.setattr(chexbert_labeler, "_LABELERS", {})
        yield rg


GRPO_RUNS = [
    "grpo/demo_cpu",
    "grpo/paper_grounding",
    "grpo/paper_report",
    "grpo/paper_joint",
    ("grpo/paper_grounding", "grpo/thinking_native"),
    ("grpo/paper_grounding", "grpo/thinking_suffix"),
    ("grpo/demo_cpu", "grpo/demo_thinking"),
]


@pytest.mark.parametrize("names", GRPO_RUNS, ids=_id)
def test_grpo_config_runs(names, tiny_model_dir, synth, scorers, tmp_path, capsys):
    out = tmp_path / "run"
    # one rollout batch holds every training prompt once, so each task (and each task-routed reward) is in the step
    tasks = _shipped(names).get("tasks")
    n = sum(1 for r in read_jsonl(synth / "train.jsonl") if not tasks or r.task.value in tasks)
    fast = {**GRPO_FAST, "per_device_train_batch_size": 2 * n}
    argv = ["grpo", *_config_flags(names), "--model_name_or_path", str(tiny_model_dir), "--train_file"]
    _run([*argv, str(synth / "train.jsonl"), "--output_dir", str(out), *_flags(fast)], capsys)
    _assert_shipped_plus(names, out / "config.yaml", fast, CPU_FALLBACKS)
    log = json.loads((out / "log_history.json").read_text())
    step = next(r for r in log if "loss" in r)
    assert step["step"] == 1 and math.isfinite(step["loss"])
    for reward in _shipped(names)["reward_funcs"]:  # every reward of the preset scored real completions
        assert step[f"monitor/{reward}/scored"] > 0 and step[f"monitor/{reward}/failed"] == 0, reward
        assert math.isfinite(step[f"rewards/{reward}/mean"])
    assert (out / "model.safetensors").is_file()


# ----------------------------------------------------------------------------------------------------- evaluation


EVAL_FAST = {"max_samples": 2, "batch_size": 4, "n_resamples": 50}


def _result_names(metrics: list[str]) -> list[str]:
    from radgrpo.metrics.registry import get_metric

    return [r for m in metrics for r in get_metric(m).results if "<" not in r]


def _eval(names: str | tuple[str, ...], model: Path, test_file: Path, out: Path, extra: dict, capsys) -> dict:
    overrides = {"model": str(model), "test_file": str(test_file), "out": str(out), **EVAL_FAST, **extra}
    _run(["eval", *_config_flags(names), *_flags(overrides), "--no-html", "--no-progress"], capsys)
    _assert_shipped_plus(names, out / "config.yaml", {**overrides, "html": False, "progress": False})
    return json.loads((out / "results.json").read_text())


EVAL_RUNS = ["eval/demo_cpu", ("eval/demo_cpu", "eval/demo_thinking"), "eval/paper_grounding", "eval/paper_report"]


@pytest.mark.parametrize("names", EVAL_RUNS[:2], ids=_id)
def test_eval_demo_cpu(names, tiny_model_dir, synth, tmp_path, capsys):
    res = _eval(names, tiny_model_dir, synth / "test.jsonl", tmp_path / "e", {}, capsys)
    tasks = [r.task.value for r in read_jsonl(synth / "test.jsonl")]
    assert res["n"] == sum(min(2, tasks.count(t)) for t in set(tasks))  # max_samples is per task
    names_ = _result_names(_shipped(names)["metrics"])
    in_range = [(res[m] <= 0.0) if m.startswith("clinical_utility") else (0.0 <= res[m] <= 1.0) for m in names_]
    assert all(in_range), {m: res.get(m) for m in names_}  # scores in [0, 1]; the utility <= 0
    preds = [json.loads(line) for line in (tmp_path / "e" / "predictions.jsonl").read_text().splitlines()]
    limits = _shipped(names)["max_new_tokens_per_task"]
    assert all(p["max_new_tokens"] == limits[p["task"]] for p in preds)
    assert all(p["prompt"].endswith(" /think") == (_shipped(names)["thinking"] == "suffix") for p in preds)


def test_eval_paper_grounding(tiny_model_dir, synth, tmp_path, capsys):
    res = _eval("eval/paper_grounding", tiny_model_dir, synth / "test.jsonl", tmp_path / "e", {"max_new_tokens": 8},
                capsys)  # fmt: skip
    grounding = [r for r in read_jsonl(synth / "test.jsonl") if r.task.is_grounding]
    assert res["n"] == min(2, len(grounding)) and res["n_by_metric"]["map_50"] == res["n"]
    names = _result_names(load_config("eval/paper_grounding")["metrics"])
    assert all(0.0 <= res[m] <= 1.0 for m in names) and "bleu4" not in res


@pytest.fixture(scope="module")
def varied_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with weights re-drawn (std 0.3, seeded) so its greedy reports are text, not newlines."""
    import torch

    from radgrpo.models.qwen3_vl import load_model_and_processor

    model, processor = load_model_and_processor(tiny_model_dir)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.3)
    out = tmp_path_factory.mktemp("varied")
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def test_eval_paper_report_with_every_metric(varied_model_dir, synth, scorers, tmp_path, capsys):
    from radgrpo.metrics.text.radgraph import RadGraphScorer

    out = tmp_path / "e"
    res = _eval("eval/paper_report", varied_model_dir, synth / "test.jsonl", out, {"max_new_tokens": 12}, capsys)
    assert res["n"] == 2 and load_config("eval/paper_report")["metrics"] == [
        "bleu4",
        "rougeL",
        "bertscore",
        "chexbert",
        "radgraph",
        "radcliq",
    ]
    for m in _result_names(load_config("eval/paper_report")["metrics"]):
        assert math.isfinite(res[m]) and res["n_by_metric"][m] == 2, m
    # the radgraph column is RadGraph-F1 at the paper's complete level of the same annotations
    records = {r.id: r for r in read_jsonl(synth / "test.jsonl")}
    answers = {p["id"]: p["answer"] for p in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    rows = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert all(answers[r["id"]] for r in rows)  # real text answers, not empty ones
    refs = [records[r["id"]].reference_report or records[r["id"]].answer for r in rows]
    want = RadGraphScorer("radgraph-xl", model_dir=scorers.folder, backbone_dir=scorers.backbone_dir, device="cpu")(
        refs, [answers[r["id"]] for r in rows]
    )["complete"]
    assert [r["radgraph"] for r in rows] == want.tolist()


def test_eval_paper_report_lists_every_missing_scoring_model_before_generating(synth, tmp_path, capsys, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    argv = ["eval", "--config", "eval/paper_report", "--model", str(tmp_path / "never_loaded")]
    code = radgrpo_main([*argv, "--test_file", str(synth / "test.jsonl"), "--out", str(tmp_path / "e")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("radgrpo eval: 6 scoring model(s) missing, nothing was generated: ")
    for model, files in (
        ("distilbert-base-uncased", "config.json, vocab.txt and the weights (model.safetensors or pytorch_model.bin)"),
        ("radgraph-xl", "radgraph-xl.tar.gz"),
        ("radgraph-xl-backbone", "config.json, vocab.txt"),
        ("chexbert", "chexbert.pth"),
        ("bert-base-uncased", "config.json, vocab.txt"),
        (
            "distilroberta-base",
            "config.json, vocab.json, merges.txt and the weights (model.safetensors or pytorch_model.bin)",
        ),
    ):
        assert f"{model} (for " in err and f"{files} in {tmp_path / 'models' / model}" in err, model
    assert not (tmp_path / "e").exists()
