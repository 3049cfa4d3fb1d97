"""Peak training memory of the paper-shaped Qwen3-VL models (1 and 2 layers), and the fitted per-GPU formula.

What it measures, on CPU in fp32 (each run a fresh subprocess, so the process peak is the run's): a model of the
published Qwen3-VL-2B or -8B widths (``radgrpo.models.shapes``) with L = 1 and 2 language and vision layers, random
weights, gradient checkpointing on, embeddings and LM head frozen (their gradients are weight state, not
activations); one forward and backward of B rollouts, each a 672² image prompt (441 image tokens, 1,764 patches) plus C
completion tokens (B x C = 1 x 128, 4 x 128 and 1 x 512) whose log-probabilities are taken as TRL's GRPO takes them (``logits_to_keep = C``, cross-entropy
on those). Per run: resident memory after the model is built (weights), the process peak, and the activation bytes
``peak - weights - gradients`` (gradients = 4 bytes per trainable parameter). The peak is the kernel's VmHWM, reset
(``/proc/self/clear_refs``) once the model is built, so the build's own temporaries are not in it (Linux only).

The fit (per shape, least squares over the runs): ``activations = I * (v + w * L) + T * (a + b * L) + K * V * c`` with
I = B images (the vision tower's 1,764 patches each), T tokens of the micro-batch, K = B * C logit tokens,
V = 151,936 (radgrpo.models.memory states the whole formula). From it, the
per-GPU figure of full fine-tuning of the whole 8B model (36 layers) under the shipped ZeRO-3 and FSDP2 configs on
8 GPUs at the paper's micro-batch (4 completions of 1,024 tokens after a ~500-token prompt, bf16, a bf16 reference
model), printed and written to the JSON.

Caveats: CPU fp32 activations are scaled by 2/4 for bf16; attention on CPU is SDPA's math path (it materialises the
score matrix, which flash attention on a GPU does not), so ``b`` is an upper bound there; the allocator's slack is
in the peak. ``benchmarks/gpu_check.py`` compares the formula with a measured bf16 step on a GPU.

Run: HF_HUB_OFFLINE=1 python benchmarks/bench_memory.py [--shapes qwen3-vl-2b qwen3-vl-8b] [--runs 1x128 4x128 1x512]
     [--json out.json]   (about 6 minutes on 2 CPU cores; needs ~20 GiB RAM for the 8B shape at 2 layers)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak() -> None:
    """Reset the kernel's peak resident set (VmHWM) to the current one, so the step's own peak is read after it."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def measure(shape: str, layers: int, completion: int, batch: int) -> dict:
    """One forward + backward in this process; returns the measured bytes."""
    import numpy as np
    import torch
    from PIL import Image
    from transformers import Qwen3VLForConditionalGeneration

    from radgrpo.models.shapes import real_range_tokenizer, shaped_config
    from radgrpo.models.tiny import build_processor

    torch.manual_seed(0)
    proc = build_processor(real_range_tokenizer(), min_pixels=1024, max_pixels=672 * 672)
    model = Qwen3VLForConditionalGeneration(shaped_config(shape, layers))
    model.train()
    model.gradient_checkpointing_enable()
    model.config.use_cache = False
    frozen = {id(model.get_input_embeddings().weight), id(model.get_output_embeddings().weight)}
    for p in model.parameters():
        p.requires_grad_(id(p) not in frozen)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (672, 672), dtype=np.uint8)).convert("RGB")
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Provide a radiology report."}]}]
    text = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    enc = proc(text=[text] * batch, images=[img] * batch, return_tensors="pt")
    gen = torch.randint(0, 1000, (batch, completion))
    ids = torch.cat([enc["input_ids"], gen], dim=1)
    mask = torch.ones_like(ids)
    mm = torch.cat([enc["mm_token_type_ids"], torch.zeros_like(gen)], dim=1)
    import gc

    gc.collect()
    weights = _rss()
    _reset_peak()
    start = time.perf_counter()
    out = model(
        input_ids=ids,
        attention_mask=mask,
        mm_token_type_ids=mm,
        pixel_values=enc["pixel_values"],
        image_grid_thw=enc["image_grid_thw"],
        logits_to_keep=completion + 1,
    )
    logits = out.logits[:, :-1].float()
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), gen.reshape(-1))
    loss.backward()
    seconds = time.perf_counter() - start
    peak = _peak()
    grads = 4 * trainable
    return {
        "shape": shape,
        "layers": layers,
        "completion": completion,
        "batch": batch,
        "tokens": int(ids.numel()),
        "logit_tokens": batch * completion,
        "image_tokens_per_sequence": int((enc["input_ids"][0] == 151655).sum()),
        "weights_rss": weights,
        "peak_rss": peak,
        "gradients": grads,
        "activations": peak - weights - grads,
        "seconds": round(seconds, 2),
        "loss_finite": bool(torch.isfinite(loss)),
    }


def fit(runs: list[dict]) -> dict[str, float]:
    """Non-negative least squares (``scipy.optimize.nnls``: no coefficient of a memory can be negative) of
    ``activations = I * (v + w * L) + T * (a + b * L) + K * V * c`` over the runs of one shape (I images = rollouts,
    T tokens, K logit tokens, L layers, V = 151,936)."""
    import numpy as np
    from scipy.optimize import nnls

    x = np.array(
        [
            [r["batch"], r["batch"] * r["layers"], r["tokens"], r["tokens"] * r["layers"], r["logit_tokens"] * 151936]
            for r in runs
        ],
        float,
    )
    y = np.array([r["activations"] for r in runs], float)
    scale = x.max(axis=0)  # columns of similar size for the solver
    coef = nnls(x / scale, y)[0] / scale
    pred = x @ coef
    names = ("v", "w", "a", "b", "c")
    return {
        **{n: float(c) for n, c in zip(names, coef)},
        "max_rel_error": float(np.max(np.abs(pred - y) / np.maximum(y, 1))),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shapes", nargs="+", default=["qwen3-vl-2b", "qwen3-vl-8b"])
    p.add_argument("--layers", nargs="+", type=int, default=[1, 2])
    p.add_argument(
        "--runs",
        nargs="+",
        default=["1x128", "4x128", "1x512"],
        help="rollouts x completion tokens (BxC) per run; two C values separate the logit term from the token term",
    )
    p.add_argument("--json", help="write the runs, the fit and the per-GPU figures here")
    p.add_argument("--from-json", help="fit the runs of an earlier --json instead of measuring again")
    p.add_argument("--one", nargs=4, metavar=("SHAPE", "LAYERS", "C", "B"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one:
        print(json.dumps(measure(a.one[0], int(a.one[1]), int(a.one[2]), int(a.one[3]))))
        return 0
    from radgrpo.models.memory import per_gpu_bytes

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    runs, fits, gpu = [], {}, {}
    earlier = json.loads(Path(a.from_json).read_text())["runs"] if a.from_json else None
    print(
        f"{'shape':<12} {'L':>2} {'B':>2} {'C':>4} {'tokens':>6} {'weights GiB':>11} {'peak GiB':>9} {'act MiB':>8} {'s':>6}"
    )
    for shape in a.shapes:
        mine = []
        for layers in a.layers:
            for bc in a.runs:
                b, c = (int(x) for x in bc.split("x"))
                if earlier is not None:
                    r = next(
                        x
                        for x in earlier
                        if (x["shape"], x["layers"], x["batch"], x["completion"]) == (shape, layers, b, c)
                    )
                else:
                    cmd = [sys.executable, __file__, "--one", shape, str(layers), str(c), str(b)]
                    res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                    if res.returncode != 0:
                        print(f"{shape} L={layers} B={b}: failed\n{res.stderr[-2000:]}", file=sys.stderr)
                        return 1
                    r = json.loads(res.stdout.strip().splitlines()[-1])
                mine.append(r)
                print(
                    f"{shape:<12} {layers:>2} {b:>2} {c:>4} {r['tokens']:>6} {r['weights_rss'] / 2**30:>11.2f} "
                    f"{r['peak_rss'] / 2**30:>9.2f} {r['activations'] / 2**20:>8.0f} {r['seconds']:>6.1f}"
                )
        runs += mine
        fits[shape] = fit(mine)
    print("\nfit (fp32 bytes, non-negative): activations = I * (v + w * L) + T * (a + b * L) + K * 151936 * c")
    for shape, f in fits.items():
        print(
            f"  {shape}: v = {f['v'] / 2**20:.0f} MiB, w = {f['w'] / 2**20:.0f} MiB, a = {f['a'] / 1024:.0f} KiB, "
            f"b = {f['b'] / 1024:.0f} KiB, c = {f['c']:.2f} B (max rel. error {f['max_rel_error']:.1%})"
        )
    if "qwen3-vl-8b" in fits:
        k = {x: fits["qwen3-vl-8b"][x] for x in "vwabc"}
        print("\n8B, full fine-tuning, 8 GPUs, micro-batch 4 x (500 + 1,024) tokens, bf16, reference model:")
        for sharding in ("zero3", "fsdp2"):
            g = per_gpu_bytes(
                "qwen3-vl-8b",
                world_size=8,
                images=4,
                tokens=4 * 1524,
                logit_tokens=4 * 1024,
                sharding=sharding,
                coefficients=k,
            )
            gpu[sharding] = g
            parts = ", ".join(
                f"{n} {g[n] / 2**30:.1f}" for n in ("state", "reference", "gathered_layers", "activations", "logits")
            )
            print(f"  {sharding}: {g['total'] / 2**30:.1f} GiB per GPU ({parts} GiB)")
    if a.json:
        import torch
        import transformers

        meta = {
            "machine": f"{platform.machine()} {os.cpu_count()} cores",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "command": "python benchmarks/bench_memory.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        }
        Path(a.json).write_text(json.dumps({"meta": meta, "runs": runs, "fit": fits, "per_gpu_8b": gpu}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
