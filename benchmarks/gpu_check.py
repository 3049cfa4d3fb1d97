"""The first GPU hour in one command: every GPU measurement the project lacks, in at most 8 minutes.

What it measures, on one CUDA GPU, offline (nothing is downloaded; every model is built here with random weights),
each part in its own subprocess with its own timeout (``--timeout-<part>``, ``--timeout-scale``):

a. ``rewards``: −RadCliQ scoring, batched (reference cache on) vs one pair per call, fp32 and bf16
   (``bench_rewards.py --device cuda``; random real-size scoring models). Targets: >= 2,000 pairs/s batched on one
   H100 and >= 50x the per-pair design.
b. ``serve``: the same through the reward service on a local Ray Serve (``bench_serve.py --device cuda``; batched
   replicas vs the paper's one-pair-per-request design with 8 replicas). Same targets. Skipped without ``ray``.
c. ``rollout``: rollout tokens/s of HF ``generate`` for the 8B-shaped model (Qwen3-VL-8B's published widths, vocabulary
   and vision tower, 2 layers; :mod:`radgrpo.models.shapes`) in bf16: 8 rollouts of one 672x672 image prompt (441
   visual tokens), ``--new-tokens`` new tokens each (EOS ignored), after a warm-up, with the dynamic cache, the static
   cache (``cache_implementation="static"``, compilation off) and the static cache compiled as transformers does by
   default on a GPU.
d. ``eval_generation``: throughput of the evaluation's generation stage
   (:func:`radgrpo.eval.generate.generate_predictions`, greedy, batch 8, <= 128 new tokens) on the 2B-shaped model
   (2 layers) saved to a folder in bf16, 16 synthetic 672x672 report records: generated tokens/s and records/s.
e. ``train_step``: one SFT step (2 records) and one GRPO step (2 prompts x 4 rollouts of 128 tokens, the paper's
   grounding settings: ``grounding_soft_f1``, beta 0.01, bnpo) of that folder through ``run_sft``/``run_grpo``
   (``bf16``, gradient checkpointing, bf16 weights as in the published checkpoints): seconds and peak CUDA memory of
   the step, the largest forward's tokens, and the peak that ``radgrpo.models.memory.predict_peak_bytes`` predicts.
f. ``vllm``: generated tokens/s of the evaluation through vLLM (``--backend vllm``) on the 2B-shaped folder, engine
   start-up timed apart. Skipped without ``vllm``.

Every figure of a shaped model is a 2-layer figure: per-layer costs, the vision tower's width, the LM head and the
embeddings are the real models', but the totals are not (the real models have 28 and 36 language layers).

Outputs, in ``--out DIR``: ``<part>.json`` as soon as each part ends (status ``ok``/``skipped``/``failed``/
``timeout``, its figures, seconds; the last lines of stderr when it failed or timed out; a part that timed out keeps
the figures it had recorded), ``rewards_raw.json`` / ``serve_raw.json`` (the benchmarks' own outputs),
``logs/<part>.stdout|stderr``, then ``gpu_check.json`` (all parts + environment: card, driver, torch, CUDA, cuDNN,
package versions, CPU) and ``gpu_check.md`` (a section to paste into ``benchmarks/RESULTS.md``); one table is printed.
Models, records and checkpoints go to ``--work`` (default: a temporary folder, deleted at the end).

Without a CUDA GPU every part is skipped ("no CUDA GPU"). ``--dry-run`` runs every part at toy size on the CPU (tiny
scoring models, the tiny Qwen3-VL instead of the shaped ones, 1-2 new tokens) and writes the same files with
``"dry_run": true``: the plumbing test (about a minute on 2 cores).

Run: python benchmarks/gpu_check.py --out DIR [--dry-run] [--only PART ...] [--skip PART ...] [--timeout-scale X]
     [--timeout-<part> S] [--budget S] [--work DIR] [--keep-work] [--new-tokens N] [--serve-seconds S]
     [--serve-replicas N]
Defaults: timeouts env 25, rewards 110, serve 110, rollout 85, eval_generation 40, train_step 55, vllm 55 s (480 s,
the ``--budget``: a part never runs past it); the exit code is 1 when a part failed or timed out.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "WANDB_DISABLED": "true",
}
for _k, _v in OFFLINE.items():
    os.environ[_k] = _v

HERE = Path(__file__).resolve().parent
#: Parts in run order, with their default timeouts (s). ``env`` (versions, card) runs first and is not a table row.
TIMEOUTS: dict[str, float] = {
    "env": 25,
    "rewards": 110,
    "serve": 110,
    "rollout": 85,
    "eval_generation": 40,
    "train_step": 55,
    "vllm": 55,
}
PARTS = [p for p in TIMEOUTS if p != "env"]
BUDGET_S = sum(TIMEOUTS.values())  # 480 s: the 8 minutes
GRACE_S = 8.0  # SIGTERM -> SIGKILL (Ray shuts down in between)
TAIL_LINES = 15
PACKAGES = ["transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "ray", "vllm", "radgrpo"]
TARGET_PAIRS_PER_S = 2000.0
TARGET_RATIO = 50.0
QUESTION = "Provide a radiology report for this Chest X-ray."
REPORT = "The heart is mildly enlarged. Small right pleural effusion. No pneumothorax. The lungs are otherwise clear."
TABLE_HEADER = ["part", "status", "key figures", "s"]


class Skip(Exception):
    """A part that cannot run here (missing package or GPU); the message is its one-line reason."""


# ------------------------------------------------------------------ the child side: one part
class Ctx:
    """What a part knows: its output and work folders, the device, dry run or not; it records figures."""

    def __init__(self, part: str, args: argparse.Namespace) -> None:
        self.part = part
        self.out = Path(args.out)
        self.work = Path(args.work)
        self.dry_run = bool(args.dry_run)
        self.device = "cpu" if args.dry_run else args.device
        self.gpu = self.device.startswith("cuda")
        self.args = args
        self.figures: dict[str, Any] = {}
        self.t0 = time.perf_counter()

    def log(self, msg: str) -> None:
        print(f"[{self.part} {time.perf_counter() - self.t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    def note(self, **figures: Any) -> None:
        """Record figures; they are also saved at once (``<part>.partial.json``), so a timeout keeps them."""
        self.figures.update(figures)
        _write_json(self.out / f"{self.part}.partial.json", self.figures)

    def require_gpu(self) -> None:
        if self.dry_run:
            return
        import torch

        if not torch.cuda.is_available():
            raise Skip("no CUDA GPU")
        if self.gpu and torch.device(self.device).index is not None:
            torch.cuda.set_device(torch.device(self.device))  # peak-memory figures read the current device


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def _run_bench(ctx: Ctx, name: str, argv: list[str], raw: Path) -> Any:
    """Run ``benchmarks/<name>.py`` in this process with ``argv`` (the command is noted) and return the JSON it
    wrote to ``raw``."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ctx.note(command=f"python benchmarks/{name}.py {' '.join(argv)}")
    rc = bench.main(argv)
    if rc:
        raise RuntimeError(f"{name}.py exited {rc}")
    return json.loads(raw.read_text())


def _sync(ctx: Ctx) -> None:
    if ctx.gpu:
        import torch

        torch.cuda.synchronize()


def _timed_generation(ctx: Ctx, model: Any, proc: Any, records: list[Any], base: Path, kw: dict[str, Any]) -> Any:
    """Warm up on two records, then time ``generate_predictions`` over all of them; notes seconds, generated tokens,
    tokens/s and records/s, and returns the generation statistics."""
    from radgrpo.eval.generate import GenerationSpec, generate_predictions, generation_stats

    spec = GenerationSpec.build(**kw)
    generate_predictions(model, proc, records[:2], spec, base_dir=base, progress=False)  # warm-up
    _sync(ctx)
    t = time.perf_counter()
    preds = generate_predictions(model, proc, records, spec, base_dir=base, progress=False)
    _sync(ctx)
    wall = time.perf_counter() - t
    stats = generation_stats(preds)
    ctx.note(
        seconds=round(wall, 3),
        generated_tokens=stats["generated_tokens"],
        tokens_per_s=round(stats["generated_tokens"] / wall, 1),
        records_per_s=round(len(records) / wall, 2),
    )
    return stats


def _gib(n: float | None) -> float | None:
    return None if n is None else round(n / 2**30, 2)


def _model_label(ctx: Ctx, shape: str) -> str:
    return "tiny Qwen3-VL (dry run)" if ctx.dry_run else f"2-layer {shape.split('-')[-1].upper()}-shaped"


def tiny_dir(ctx: Ctx) -> Path:
    """The tiny Qwen3-VL (dry runs), built once per work folder."""
    from radgrpo.models.tiny import build_tiny_model

    folder = ctx.work / "tiny"
    if not (folder / "radgrpo_tiny.json").is_file():
        tmp = ctx.work / "tiny.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        build_tiny_model(tmp, [QUESTION, REPORT] * 10)
        tmp.replace(folder)
    return folder


def shaped_dir(ctx: Ctx, shape: str = "qwen3-vl-2b", layers: int = 2) -> Path:
    """The saved shaped model, built once per work folder: random init on the part's device, weights saved in bf16
    as the published checkpoints are (so training loads bf16 weights, as ``radgrpo sft`` does with the real ones),
    the paper's pixel bounds."""
    import torch

    from radgrpo.models.shapes import build_shaped_model

    folder = ctx.work / f"{shape}-{layers}l"
    if not (folder / "radgrpo_shape.json").is_file():
        tmp = ctx.work / f"{shape}-{layers}l.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        t = time.perf_counter()
        with torch.device(ctx.device):
            _, model = build_shaped_model(tmp, shape, layers, corpus=[QUESTION, REPORT] * 10, save=False)
        model.to(torch.bfloat16).save_pretrained(tmp)
        del model
        tmp.replace(folder)
        ctx.log(f"built {shape} ({layers} layers, bf16) in {time.perf_counter() - t:.1f} s")
    return folder


def model_dir(ctx: Ctx) -> Path:
    return tiny_dir(ctx) if ctx.dry_run else shaped_dir(ctx)


def write_records(folder: Path, n: int, size: int = 672, tasks: tuple[str, ...] = ("report_generation",)) -> Path:
    """``n`` records with ``size``² greyscale PNGs (a bright square marks the finding), tasks in turn; returns the
    JSONL (images relative to it)."""
    import numpy as np
    from PIL import Image

    from radgrpo.boxes import format_boxes
    from radgrpo.records import Record, Task, write_jsonl

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        arr = rng.normal(60, 8, (size, size)).clip(0, 255).astype(np.uint8)
        side = size // 4
        x1, y1 = int(rng.integers(size // 10, size - side - size // 10)), int(rng.integers(size // 10, size // 2))
        arr[y1 : y1 + side, x1 : x1 + side] = 220
        box = (round(x1 / size, 2), round(y1 / size, 2), round((x1 + side) / size, 2), round((y1 + side) / size, 2))
        Image.fromarray(arr, mode="L").save(folder / f"img{i}.png")
        task = Task(tasks[i % len(tasks)])
        if task is Task.REPORT_GENERATION:
            records.append(
                Record(f"r{i}", f"img{i}.png", task, QUESTION, REPORT, source="gpu_check", reference_report=REPORT)
            )
        else:
            records.append(
                Record(
                    f"g{i}",
                    f"img{i}.png",
                    task,
                    "Where is the nodule located in this Chest X-ray?",
                    f"The nodule is located at the coordinates {format_boxes([box])} on the image.",
                    source="gpu_check",
                    reference_boxes=[box],
                    target="nodule",
                    reference_report=REPORT,
                )
            )
    path = folder / "records.jsonl"
    write_jsonl(records, path)
    return path


# ------------------------------------------------------------------ parts
def part_env(ctx: Ctx) -> None:
    """torch, CUDA, cuDNN and the card (the parent reads package versions and the CPU itself)."""
    import torch

    fig: dict[str, Any] = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cuda_available": torch.cuda.is_available(),
        "gpu_count": torch.cuda.device_count() if torch.cuda.is_available() else 0,
    }
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        fig.update(gpu=p.name, gpu_memory_gib=_gib(p.total_memory), capability=f"{p.major}.{p.minor}")
    ctx.note(**fig)


def part_rewards(ctx: Ctx) -> None:
    ctx.require_gpu()
    raw = ctx.out / "rewards_raw.json"
    common = ["--models-dir", str(ctx.work / "scoring_models"), "--json", str(raw)]
    if ctx.dry_run:
        argv = ["--tiny", "--device", "cpu", "--n-prompts", "2", "--n-per-pair", "4", "--no-bf16", "--threads", "1"]
    else:
        argv = ["--device", ctx.device, "--n-prompts", "256", "--n-per-pair", "128", "--bf16"]
    res = _run_bench(ctx, "bench_rewards", argv + common, raw)
    b, pp = res["batched"], res["per_pair"]
    ctx.note(
        pairs=res["workload"]["pairs"],
        batched_pairs_per_s=b["pairs_per_s"],
        batched_bf16_pairs_per_s=res.get("batched_bf16", {}).get("pairs_per_s"),
        per_pair_pairs_per_s=pp["pairs_per_s"],
        speedup=res["speedup"],
        bf16_max_abs_diff=res.get("bf16_vs_fp32", {}).get("max_abs_diff"),
        agreement_max_abs_diff=res["agreement"]["max_abs_diff"],
        component_s=b["component_s"],
        targets=res["targets"],
    )


def part_serve(ctx: Ctx) -> None:
    ctx.require_gpu()
    try:
        import ray  # noqa: F401
    except ImportError as e:
        raise Skip(f"ray is not installed (pip install 'radgrpo[serve]'): {e}") from e
    raw = ctx.out / "serve_raw.json"
    common = ["--models-dir", str(ctx.work / "scoring_models"), "--json", str(raw)]
    common += ["--markdown", str(ctx.out / "serve_raw.md"), "--no-grounding"]
    if ctx.dry_run:
        argv = ["--tiny", "--device", "cpu", "--seconds", "1", "--warmup-seconds", "0", "--prompts-per-request", "1"]
        argv += ["--clients", "1", "--per-pair-clients", "2", "--per-pair-replicas", "1", "--max-batch-size", "2"]
    else:
        argv = ["--device", ctx.device, "--seconds", str(ctx.args.serve_seconds), "--warmup-seconds", "2"]
        argv += ["--replicas", str(ctx.args.serve_replicas), "--per-pair-replicas", "8"]
    res = _run_bench(ctx, "bench_serve", argv + common, raw)
    designs = {d["design"]: d for d in res["designs"] if d["reward"] == "radcliq"}
    b, pp = designs["batched"], designs["per-pair (paper)"]
    ctx.note(
        batched_pairs_per_s=b["pairs_per_s"],
        batched_p50_ms=b["p50_ms"],
        batched_replicas=b["replicas"],
        per_pair_pairs_per_s=pp["pairs_per_s"],
        per_pair_replicas=pp["replicas"],
        ratio=res["ratio"],
        errors=b["errors"] + pp["errors"],
        targets=res["targets"],
    )


def _rollout_inputs(ctx: Ctx) -> tuple[Any, Any, str]:
    """(model, processor, label): the 8B-shaped model built in bf16 on the GPU, or the tiny one (dry run)."""
    import torch

    if ctx.dry_run:
        from radgrpo.models.qwen3_vl import load_model_and_processor

        model, proc = load_model_and_processor(tiny_dir(ctx))
        return model, proc, _model_label(ctx, "qwen3-vl-8b")
    from transformers import GenerationConfig, Qwen3VLForConditionalGeneration

    from radgrpo.models.shapes import PAPER_MAX_PIXELS, PAPER_MIN_PIXELS, real_range_tokenizer, shaped_config
    from radgrpo.models.tiny import build_processor, count_parameters

    tok = real_range_tokenizer([QUESTION, REPORT] * 10)
    proc = build_processor(tok, min_pixels=PAPER_MIN_PIXELS, max_pixels=PAPER_MAX_PIXELS)
    proc.tokenizer.padding_side = "left"
    torch.manual_seed(0)
    with torch.device(ctx.device):  # random init on the GPU, in bf16: seconds instead of a minute on the CPU
        model = Qwen3VLForConditionalGeneration._from_config(shaped_config("qwen3-vl-8b", 2), dtype=torch.bfloat16)
    model.eval()
    eos = [tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")]
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=eos[1], do_sample=True, temperature=1.0)
    ctx.note(parameters=count_parameters(model))
    return model, proc, _model_label(ctx, "qwen3-vl-8b")


def part_rollout(ctx: Ctx) -> None:
    ctx.require_gpu()
    import numpy as np
    import torch
    from PIL import Image

    model, proc, label = _rollout_inputs(ctx)
    batch, new = (2, 2) if ctx.dry_run else (8, ctx.args.new_tokens)
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.normal(60, 20, (672, 672)).clip(0, 255).astype(np.uint8), mode="L").convert("RGB")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
    text = proc.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = proc(text=[text] * batch, images=[image] * batch, return_tensors="pt", padding=True).to(ctx.device)
    n_visual = int(inputs["image_grid_thw"][0].prod()) // 4
    ctx.note(model=label, batch=batch, new_tokens=new, prompt_tokens=int(inputs["input_ids"].shape[1]))
    ctx.note(visual_tokens=n_visual, dtype=str(model.dtype).replace("torch.", ""))
    ctx.log(f"{label}: {batch} x ({inputs['input_ids'].shape[1]} prompt + {new} new) tokens")

    def run(n_new: int, **kw: Any) -> float:
        _sync(ctx)
        t = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=n_new, min_new_tokens=n_new, **kw)
        _sync(ctx)
        assert out.shape[1] == inputs["input_ids"].shape[1] + n_new, out.shape
        return time.perf_counter() - t

    run(1)  # warm-up of the prefill (kernels, vision tower)
    prefill = run(1)
    ctx.note(prefill_s=round(prefill, 4))
    variants: dict[str, dict[str, Any]] = {
        "dynamic": {},
        "static": {"cache_implementation": "static", "disable_compile": True},
        "static_compiled": {"cache_implementation": "static"},  # transformers compiles the decoding step on a GPU
    }
    results: dict[str, Any] = {}
    for name, kw in variants.items():
        try:
            warm = run(new, **kw)  # the compiled variant compiles here
            s = run(new, **kw)
        except Exception as e:  # one variant failing (e.g. compilation) keeps the others
            results[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]}
            ctx.log(f"{name}: {results[name]['error']}")
        else:
            results[name] = {
                "warmup_s": round(warm, 3),
                "seconds": round(s, 4),
                "tokens_per_s": round(batch * new / s, 1),  # prefill included
                "decode_tokens_per_s": round(batch * new / (s - prefill), 1) if s > prefill else None,
                "ms_per_step": round(1000 * s / new, 2),
            }
            if name == "static_compiled":
                results[name]["compiled"] = getattr(model, "_compiled_call", None) is not None
            ctx.log(f"{name}: {results[name]}")
        ctx.note(variants=results)
    if ctx.gpu:
        ctx.note(peak_memory_gib=_gib(torch.cuda.max_memory_allocated()))
    if all("error" in v for v in results.values()):
        raise RuntimeError("every generate variant failed: " + results["dynamic"]["error"])


def part_eval_generation(ctx: Ctx) -> None:
    ctx.require_gpu()
    import torch

    from radgrpo.models.qwen3_vl import load_model_and_processor
    from radgrpo.records import read_jsonl

    folder = model_dir(ctx)
    n, batch, limit = (2, 2, 2) if ctx.dry_run else (16, 8, 128)
    path = write_records(ctx.work / "eval_records", n)
    records = read_jsonl(path)
    t = time.perf_counter()
    model, proc = load_model_and_processor(folder, dtype=torch.bfloat16 if ctx.gpu else None, device=ctx.device)
    ctx.note(model=_model_label(ctx, "qwen3-vl-2b"), records=n, batch_size=batch, max_new_tokens=limit)
    ctx.note(load_s=round(time.perf_counter() - t, 2), greedy=True)
    kw: dict[str, Any] = dict(batch_size=batch, max_new_tokens=limit)
    stats = _timed_generation(ctx, model, proc, records, path.parent, kw)
    ctx.note(not_finished=stats["not_finished"])
    if ctx.gpu:
        ctx.note(peak_memory_gib=_gib(torch.cuda.max_memory_allocated()))


def _step_probe(ctx: Ctx) -> Any:
    """A trainer callback: seconds and peak CUDA memory of each optimiser step, the largest forward's tokens."""
    import torch
    from transformers import TrainerCallback

    class StepProbe(TrainerCallback):
        def __init__(self) -> None:
            self.steps: list[dict[str, Any]] = []
            self.tokens = 0
            self.logit_tokens = 0
            self.images = 0
            self.t = 0.0

        def _hook(self, module: Any, args: tuple, kwargs: dict) -> None:
            ids = kwargs.get("input_ids", args[0] if args else None)
            if ids is None or getattr(ids, "dim", lambda: 0)() != 2:
                return
            b, s = ids.shape
            if b * s > self.tokens:
                keep, labels = kwargs.get("logits_to_keep") or 0, kwargs.get("labels")
                self.tokens, self.images = b * s, b  # one image per sequence
                if isinstance(keep, int) and keep > 0:
                    self.logit_tokens = b * keep
                elif kwargs.get("fused_lm_head") and labels is not None:  # TRL's GRPO: LM head on labelled tokens
                    self.logit_tokens = int((labels != -100).sum())
                else:
                    self.logit_tokens = b * s

        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            if model is not None:
                model.register_forward_pre_hook(self._hook, with_kwargs=True)

        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            _sync(ctx)
            if ctx.gpu:
                torch.cuda.reset_peak_memory_stats()
            self.t = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            _sync(ctx)
            peak = torch.cuda.max_memory_allocated() if ctx.gpu else None
            self.steps.append({"seconds": round(time.perf_counter() - self.t, 3), "peak_memory_gib": _gib(peak)})

    return StepProbe()


def _predicted(ctx: Ctx, tokens: int, logit_tokens: int, images: int) -> dict[str, Any]:
    """The peak the project's formula (radgrpo.models.memory) predicts for the 2B shape, 2 layers, bf16: the folder's
    bf16 weights train as they load, so the state is 8 bytes per parameter (weights, gradients, two AdamW moments)."""
    from radgrpo.models.memory import predict_peak_bytes

    try:
        pred = predict_peak_bytes(
            "qwen3-vl-2b",
            2,
            tokens=tokens,
            logit_tokens=logit_tokens,
            images=images,
            mode="full",
            dtype="bfloat16",
            state_bytes=8,
        )
        return {"formula": "radgrpo.models.memory.predict_peak_bytes", "predicted_gib": _gib(pred["total"])}
    except ValueError as e:  # an unknown shape or mode: recorded with the step's figures, not fatal
        return {"formula": f"error: {type(e).__name__}: {e}"[:300]}


def part_train_step(ctx: Ctx) -> None:
    ctx.require_gpu()
    import torch

    from radgrpo.train.configs import RadGRPOConfig, RadSFTConfig
    from radgrpo.train.grpo import run_grpo
    from radgrpo.train.sft import run_sft

    folder = model_dir(ctx)
    sft_file = write_records(ctx.work / "train_records", 4, tasks=("abnormality_grounding", "report_generation"))
    grpo_file = write_records(ctx.work / "grpo_records", 4, tasks=("abnormality_grounding",))
    gens, completion = (2, 2) if ctx.dry_run else (4, 128)
    common: dict[str, Any] = dict(
        model_name_or_path=str(folder),
        max_steps=1,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        bf16=ctx.gpu,
        gradient_checkpointing=ctx.gpu,
        seed=0,
    )
    ctx.note(model=_model_label(ctx, "qwen3-vl-2b"), bf16=ctx.gpu, gradient_checkpointing=ctx.gpu)

    def measure(name: str, run: Callable[..., Path], cfg: Any) -> None:
        probe = _step_probe(ctx)
        if ctx.gpu:
            torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        run(cfg, callbacks=[probe])
        step = probe.steps[-1] if probe.steps else {}
        ctx.note(
            **{
                name: {
                    **step,
                    "run_s": round(time.perf_counter() - t, 2),  # loading, the step, saving the model
                    "run_peak_memory_gib": _gib(torch.cuda.max_memory_allocated()) if ctx.gpu else None,
                    "tokens": probe.tokens,
                    "logit_tokens": probe.logit_tokens,
                    **_predicted(ctx, probe.tokens, probe.logit_tokens, probe.images),
                }
            }
        )
        ctx.log(f"{name}: {ctx.figures[name]}")
        gc.collect()  # the trainer and its model go before the next step is measured
        if ctx.gpu:
            torch.cuda.empty_cache()

    sft = RadSFTConfig(
        output_dir=str(ctx.work / "sft_out"),
        train_file=str(sft_file),
        per_device_train_batch_size=2,
        learning_rate=1e-5,
        max_length=None,
        assistant_only_loss=True,
        **common,
    )
    measure("sft", run_sft, sft)
    grpo = RadGRPOConfig(
        output_dir=str(ctx.work / "grpo_out"),
        train_file=str(grpo_file),
        reward_funcs=["grounding_soft_f1"],
        per_device_train_batch_size=2 * gens,
        num_generations=gens,
        max_completion_length=completion,
        learning_rate=1e-6,
        beta=0.01,
        epsilon=0.2,
        epsilon_high=0.28,
        loss_type="bnpo",
        use_bias_correction_kl=False,
        **common,
    )
    ctx.note(grpo_prompts=2, grpo_rollouts=gens, grpo_completion_tokens=completion)
    measure("grpo", run_grpo, grpo)


def part_vllm(ctx: Ctx) -> None:
    ctx.require_gpu()
    if not ctx.gpu:  # a dry run: no import (vLLM takes seconds to import and cannot run here)
        installed = importlib.util.find_spec("vllm") is not None
        raise Skip("vLLM needs a CUDA GPU (dry run on the CPU)" if installed else "vllm is not installed")
    try:
        import vllm  # type: ignore[import-not-found,unused-ignore]
    except Exception as e:  # ImportError, or a vLLM that fails to import against this torch
        raise Skip(f"vllm is not importable ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from e
    from radgrpo.eval.backends.vllm import VLLMEngine
    from radgrpo.models.qwen3_vl import load_processor
    from radgrpo.records import read_jsonl

    folder = model_dir(ctx)
    n, batch, limit = 16, 8, 128
    path = write_records(ctx.work / "eval_records", n)
    records = read_jsonl(path)
    ctx.note(model=_model_label(ctx, "qwen3-vl-2b"), vllm=vllm.__version__, records=n, max_new_tokens=limit)
    t = time.perf_counter()
    engine = VLLMEngine(
        str(folder), gpu_memory_utilization=0.5, max_model_len=4096, enforce_eager=True, dtype="bfloat16"
    )
    ctx.note(engine_start_s=round(time.perf_counter() - t, 1), enforce_eager=True)
    proc = load_processor(folder)
    kw: dict[str, Any] = dict(batch_size=batch, max_new_tokens=limit, backend="vllm")
    _timed_generation(ctx, engine, proc, records, path.parent, kw)


PART_FUNCS: dict[str, Callable[[Ctx], None]] = {
    "env": part_env,
    "rewards": part_rewards,
    "serve": part_serve,
    "rollout": part_rollout,
    "eval_generation": part_eval_generation,
    "train_step": part_train_step,
    "vllm": part_vllm,
}


def run_part(name: str, args: argparse.Namespace) -> int:
    """The child: run one part, write ``<part>.json``; exit 0 unless it failed."""

    def on_term(signum: int, frame: Any) -> None:  # the parent's timeout: unwind (Ray shuts down in finally blocks)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    ctx = Ctx(name, args)
    ctx.log(f"start (device {ctx.device}{', dry run' if ctx.dry_run else ''})")
    rec: dict[str, Any] = {"part": name, "status": "ok", "dry_run": ctx.dry_run, "device": ctx.device}
    try:
        PART_FUNCS[name](ctx)
    except Skip as e:
        rec.update(status="skipped", reason=str(e))
    except Exception as e:
        traceback.print_exc()
        rec.update(status="failed", reason=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:500])
    rec.update(figures=ctx.figures, seconds=round(time.perf_counter() - ctx.t0, 2))
    _write_json(ctx.out / f"{name}.json", rec)
    (ctx.out / f"{name}.partial.json").unlink(missing_ok=True)
    ctx.log(f"end: {rec['status']}")
    return 1 if rec["status"] == "failed" else 0


# ------------------------------------------------------------------ the parent side
def _say(msg: str) -> None:
    try:
        print(msg, flush=True)
    except OSError:  # stdout closed (| head): the files are what counts
        pass


def _tail(path: Path, n: int = TAIL_LINES) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    lines = [ln[-300:] for ln in lines if ln.strip() and "it/s]" not in ln]  # progress bars say nothing
    return lines[-n:]


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM it when this process dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the child's process group, SIGKILL it after :data:`GRACE_S`."""
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def launch(name: str, args: argparse.Namespace, timeout: float) -> dict[str, Any]:
    """Run one part in a child process (its own session, so a timeout ends all it started); its record."""
    out = Path(args.out)
    for f in (out / f"{name}.json", out / f"{name}.partial.json"):
        f.unlink(missing_ok=True)
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--part", name, "--out", str(out), "--work", str(args.work)]
    cmd += ["--device", args.device, "--new-tokens", str(args.new_tokens), "--serve-seconds", str(args.serve_seconds)]
    cmd += ["--serve-replicas", str(args.serve_replicas)] + (["--dry-run"] if args.dry_run else [])
    env = {**os.environ, **OFFLINE, "PYTHONUNBUFFERED": "1"}
    t = time.perf_counter()
    with open(logs / f"{name}.stdout", "wb") as so, open(logs / f"{name}.stderr", "wb") as se:
        proc = subprocess.Popen(
            cmd, stdout=so, stderr=se, env=env, cwd=HERE.parent, start_new_session=True, preexec_fn=_die_with_parent
        )
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            _stop(proc)
        except BaseException:  # Ctrl-C or SIGTERM of this process: the child's session would outlive it
            _stop(proc)
            raise
    seconds = round(time.perf_counter() - t, 2)
    path = out / f"{name}.json"
    if rc is None:
        partial = out / f"{name}.partial.json"
        figures = json.loads(partial.read_text()) if partial.is_file() else {}
        partial.unlink(missing_ok=True)
        rec = {"part": name, "status": "timeout", "reason": f"no result within {timeout:g} s", "figures": figures}
    elif path.is_file():
        rec = json.loads(path.read_text())
    else:
        rec = {"part": name, "status": "failed", "reason": f"the child exited {rc} without a result", "figures": {}}
    rec.update(dry_run=bool(args.dry_run), seconds=seconds, timeout_s=round(timeout, 1), returncode=rc)
    if rec["status"] in ("failed", "timeout"):
        rec["stderr_tail"] = _tail(logs / f"{name}.stderr")
    _write_json(path, rec)
    return rec


def skipped(name: str, reason: str, args: argparse.Namespace) -> dict[str, Any]:
    rec = {"part": name, "status": "skipped", "reason": reason, "figures": {}, "seconds": 0.0, "dry_run": args.dry_run}
    _write_json(Path(args.out) / f"{name}.json", rec)
    return rec


def _version(pkg: str) -> str | None:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """The host without its name: CPU model, cores, memory, OS, Python."""
    cpu = platform.processor() or platform.machine()
    mem = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
    }


def nvidia_smi() -> dict[str, Any] | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return {"error": str(e)}
    first = [x.strip() for x in out.splitlines()[0].split(",")] if out else []
    return {"line": out, **dict(zip(["name", "driver", "memory"], first))}


def key_figures(rec: dict[str, Any]) -> str:
    """One cell of the table: the part's main figures, or why it has none."""
    f, status = rec.get("figures") or {}, rec["status"]
    if status == "skipped":
        return rec.get("reason", "")
    try:
        text = _figures_text(rec["part"], f)
    except (KeyError, TypeError, ValueError):
        text = ""
    if status != "ok":
        why = rec.get("reason", "")
        return f"{why}; {text}" if text else why
    return text


def _n(x: Any, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def _met(t: dict[str, Any]) -> str:
    return "targets met" if t.get("met") else "targets not met"


def _figures_text(part: str, f: dict[str, Any]) -> str:
    if part == "rewards" and "batched_pairs_per_s" in f:
        bf = f" (bf16 {_n(f['batched_bf16_pairs_per_s'])})" if f.get("batched_bf16_pairs_per_s") else ""
        return (
            f"batched {_n(f['batched_pairs_per_s'])} pairs/s{bf}, per-pair {_n(f['per_pair_pairs_per_s'])}, "
            f"{_n(f['speedup'])}x; {_met(f['targets'])} (>= {TARGET_PAIRS_PER_S:,.0f} pairs/s, >= {TARGET_RATIO:.0f}x)"
        )
    if part == "serve" and "batched_pairs_per_s" in f:
        return (
            f"batched {_n(f['batched_pairs_per_s'])} pairs/s (replicas {f['batched_replicas']}, p50 "
            f"{_n(f['batched_p50_ms'], 0)} ms), per-pair {_n(f['per_pair_pairs_per_s'])} (replicas "
            f"{f['per_pair_replicas']}), {_n(f['ratio'])}x; {_met(f['targets'])}; errors {f['errors']}"
        )
    if part == "rollout" and "variants" in f:
        parts = []
        for name, v in f["variants"].items():
            label = name.replace("_", "+")
            if "error" in v:
                parts.append(f"{label} failed")
            else:
                extra = f", warm-up {_n(v['warmup_s'])} s" if name == "static_compiled" else ""
                parts.append(f"{label} {_n(v['tokens_per_s'], 0)} tok/s{extra}")
        return f"{f['model']}, {f['batch']} x {f['new_tokens']} new tokens: " + ", ".join(parts)
    if part == "eval_generation" and "tokens_per_s" in f:
        return (
            f"{f['model']}: {_n(f['tokens_per_s'], 0)} tok/s, {_n(f['records_per_s'], 2)} records/s "
            f"({f['records']} records, batch {f['batch_size']}, <= {f['max_new_tokens']} tokens, greedy)"
        )
    if part == "train_step" and ("sft" in f or "grpo" in f):
        out = [f"{f['model']}"]
        for name in ("sft", "grpo"):
            if name in f:
                s = f[name]
                peak = f", peak {_n(s['peak_memory_gib'], 2)} GiB" if s.get("peak_memory_gib") is not None else ""
                pred = f", predicted {_n(s['predicted_gib'], 2)} GiB" if "predicted_gib" in s else ""
                if s.get("formula") == "not available":
                    pred = ", formula: not available"
                elif str(s.get("formula", "")).startswith("error"):
                    pred = ", formula: error"
                out.append(f"{name.upper()} step {_n(s.get('seconds'), 2)} s{peak}{pred} ({s.get('tokens')} tokens)")
        return "; ".join(out)
    if part == "vllm" and "tokens_per_s" in f:
        return (
            f"{f['model']}: {_n(f['tokens_per_s'], 0)} tok/s, {_n(f['records_per_s'], 2)} records/s; engine start "
            f"{_n(f['engine_start_s'])} s (vllm {f['vllm']}, eager)"
        )
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_rows(parts: list[dict[str, Any]]) -> list[list[str]]:
    return [[r["part"], r["status"], key_figures(r), f"{r.get('seconds', 0):.1f}"] for r in parts]


def environment_line(env: dict[str, Any]) -> str:
    e, m, p = env.get("torch") or {}, env["machine"], env["packages"]
    smi = env.get("nvidia_smi") or {}
    card = e.get("gpu") or smi.get("name") or "no CUDA GPU"
    mem = f", {e['gpu_memory_gib']} GiB" if e.get("gpu_memory_gib") else ""
    driver = f", driver {smi['driver']}" if smi.get("driver") else ""
    versions = ", ".join(f"{k} {v}" for k, v in p.items() if v and k != "radgrpo")
    missing = [k for k, v in p.items() if not v]
    return (
        f"Card: {card}{mem}{driver}; torch {e.get('torch', 'n/a')} (CUDA {e.get('cuda')}, cuDNN {e.get('cudnn')}); "
        f"{versions}{'; not installed: ' + ', '.join(missing) if missing else ''}; Python {m['python']}; "
        f"{m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB RAM, {m['os']}."
    )


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    card = (env.get("torch") or {}).get("gpu") or "cpu"
    title = f"### {report['date'][:10]}, {card}" + (" (dry run: CPU, toy sizes)" if report["dry_run"] else "")
    lines = [
        "## First GPU check (`benchmarks/gpu_check.py`)",
        "",
        title,
        "",
        environment_line(env),
        f"Command: `{report['command']}` ({report['total_seconds']:.0f} s in all, budget {report['budget_s']:.0f} s).",
        "",
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table_rows(report["parts"])]
    lines.append("")
    lines.append(
        "Figures of shaped models are 2-layer figures: Qwen3-VL's published widths, vocabulary and vision tower with 2 "
        "language and 2 vision layers and random weights (the real models have 28 / 36 language layers)."
    )
    for r in report["parts"]:
        if r["status"] in ("failed", "timeout") and r.get("stderr_tail"):
            lines += ["", f"{r['part']} ({r['status']}), last lines of stderr:", "", "```"]
            lines += r["stderr_tail"][-8:] + ["```"]
    return "\n".join(lines) + "\n"


def print_table(report: dict[str, Any]) -> None:
    rows = table_rows(report["parts"])
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"gpu_check{' (dry run)' if report['dry_run'] else ''}: {report['out']}")
        for h in TABLE_HEADER:
            t.add_column(h, justify="right" if h == "s" else "left", overflow="fold")
        for r in rows:
            t.add_row(*r)
        Console(width=max(140, Console().width)).print(t)
    except ImportError:
        print(" | ".join(TABLE_HEADER))
        for r in rows:
            print(" | ".join(r))
    print(environment_line(report["environment"]))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for <part>.json, gpu_check.json, gpu_check.md, logs/")
    p.add_argument("--dry-run", action="store_true", help="every part at toy size on the CPU (plumbing check)")
    p.add_argument(
        "--only", nargs="+", choices=PARTS, metavar="PART", help=f"run only these parts ({', '.join(PARTS)})"
    )
    p.add_argument("--skip", nargs="+", choices=PARTS, default=[], metavar="PART", help="leave these parts out")
    p.add_argument("--device", default="cuda", help="the CUDA device (default cuda)")
    p.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every timeout and the budget")
    for name in PARTS:
        p.add_argument(
            f"--timeout-{name.replace('_', '-')}",
            type=float,
            default=None,
            metavar="S",
            help=f"timeout of {name} (default {TIMEOUTS[name]:g} s x --timeout-scale)",
        )
    p.add_argument("--budget", type=float, default=None, help=f"seconds for everything (default {BUDGET_S:g} x scale)")
    p.add_argument("--work", default=None, help="models, records and checkpoints (default: a temp dir, deleted)")
    p.add_argument("--keep-work", action="store_true", help="keep the default temp work folder")
    p.add_argument("--new-tokens", type=int, default=256, help="rollout: new tokens per rollout (default 256)")
    p.add_argument("--serve-seconds", type=float, default=8.0, help="serve: seconds of each measurement (default 8)")
    p.add_argument("--serve-replicas", type=int, default=2, help="serve: replicas of the batched design (default 2)")
    p.add_argument("--part", choices=list(PART_FUNCS), help=argparse.SUPPRESS)  # the child: run this part only
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.part:
        return run_part(args.part, args)

    t0 = time.perf_counter()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # stop the running part, then exit
    own_work = args.work is None
    args.work = args.work or tempfile.mkdtemp(prefix="gpu_check_")
    Path(args.work).mkdir(parents=True, exist_ok=True)
    scale = args.timeout_scale
    budget = args.budget if args.budget is not None else BUDGET_S * scale
    selected = [p for p in (args.only or PARTS) if p not in args.skip]
    date = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    _say(f"gpu_check{' --dry-run' if args.dry_run else ''}: parts {', '.join(selected)}; out {out}")

    env_rec = launch("env", args, min(TIMEOUTS["env"] * scale, budget))
    torch_info: dict[str, Any] = env_rec.get("figures") or {}
    env: dict[str, Any] = {
        "torch": torch_info,
        "nvidia_smi": nvidia_smi(),
        "machine": machine(),
        "packages": {k: _version(k) for k in PACKAGES},
        "offline": {k: os.environ.get(k) for k in OFFLINE if k.endswith("OFFLINE")},
    }
    if env_rec["status"] != "ok":
        env["env_part"] = {k: env_rec.get(k) for k in ("status", "reason", "stderr_tail")}
    no_gpu = not args.dry_run and torch_info.get("cuda_available") is False
    parts: list[dict[str, Any]] = []
    try:
        for name in selected:
            override = getattr(args, f"timeout_{name}")
            timeout = override if override is not None else TIMEOUTS[name] * scale
            left = budget - (time.perf_counter() - t0) - GRACE_S
            if no_gpu:
                rec = skipped(name, "no CUDA GPU", args)
            elif left < 5:
                rec = skipped(name, f"out of the time budget ({budget:g} s, --budget)", args)
            else:
                rec = launch(name, args, min(timeout, left))
            parts.append(rec)
            _say(f"[{name}] {rec['status']} {rec.get('seconds', 0):.1f} s: {key_figures(rec)}")
    finally:
        if own_work and not args.keep_work:
            shutil.rmtree(args.work, ignore_errors=True)
    cmd = "python benchmarks/gpu_check.py " + " ".join(argv)
    report = {
        "dry_run": bool(args.dry_run),
        "date": date,
        "command": cmd.strip(),
        "out": str(out),
        "budget_s": budget,
        "total_seconds": round(time.perf_counter() - t0, 1),
        "environment": env,
        "parts": parts,
    }
    _write_json(out / "gpu_check.json", report)
    (out / "gpu_check.md").write_text(markdown(report), encoding="utf-8")
    try:
        print_table(report)
    except OSError:  # a closed stdout (| head) must not cost the results, which are written already
        pass
    _say(f"wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'} ({report['total_seconds']:.0f} s)")
    return 1 if any(r["status"] in ("failed", "timeout") for r in parts) else 0


if __name__ == "__main__":
    sys.exit(main())
