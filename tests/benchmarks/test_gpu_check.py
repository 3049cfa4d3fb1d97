"""benchmarks/gpu_check.py: the dry run writes every part's JSON and the RESULTS.md section; a part past its timeout
is recorded "timeout" and the next part still runs; without a GPU every part is skipped with a reason.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/benchmarks/test_gpu_check.py   (about 1.5 minutes on 2 cores)
"""

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))
from bench_loader import load_benchmark

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"
PARTS = ["rewards", "serve", "rollout", "eval_generation", "train_step", "vllm"]
HEADER = "| part | status | key figures | s |"


def _run(args, env=None, timeout=400):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=SCRIPT.parents[1],
    )


def _parts(out):
    return {p: json.loads((out / f"{p}.json").read_text()) for p in PARTS if (out / f"{p}.json").is_file()}


def _load():
    return load_benchmark("gpu_check")


@pytest.mark.slow
def test_dry_run_runs_every_part_and_writes_the_results_section(tmp_path):
    out = tmp_path / "gc"
    res = _run(["--dry-run", "--out", str(out)])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    parts = _parts(out)
    assert set(parts) == set(PARTS)
    assert all(r["dry_run"] is True and r["status"] in ("ok", "skipped") for r in parts.values())
    for name in ("rewards", "rollout", "eval_generation", "train_step"):  # they all run on a CPU
        assert parts[name]["status"] == "ok", parts[name]
    ray = importlib.util.find_spec("ray") is not None
    assert parts["serve"]["status"] == ("ok" if ray else "skipped"), parts["serve"]
    assert parts["vllm"]["status"] == "skipped" and parts["vllm"]["reason"]  # vLLM needs a GPU (or is absent)

    # the figures each part is there for
    assert parts["rewards"]["figures"]["batched_pairs_per_s"] > 0 and parts["rewards"]["figures"]["speedup"] > 0
    assert json.loads((out / "rewards_raw.json").read_text())["workload"]["pairs"] == 16
    if ray:
        assert parts["serve"]["figures"]["batched_pairs_per_s"] > 0 and parts["serve"]["figures"]["errors"] == 0
    variants = parts["rollout"]["figures"]["variants"]
    assert set(variants) == {"dynamic", "static", "static_compiled"}
    assert all(v["tokens_per_s"] > 0 for v in variants.values()), variants
    ev = parts["eval_generation"]["figures"]
    assert ev["records"] == 2 and ev["generated_tokens"] > 0 and ev["records_per_s"] > 0
    tr = parts["train_step"]["figures"]
    for step in ("sft", "grpo"):
        assert tr[step]["seconds"] > 0 and tr[step]["tokens"] > 0 and "formula" in tr[step], tr[step]

    report = json.loads((out / "gpu_check.json").read_text())
    assert report["dry_run"] is True and [r["part"] for r in report["parts"]] == PARTS
    env = report["environment"]
    assert env["torch"]["torch"] and env["packages"]["transformers"] and env["machine"]["cores"] >= 1
    assert set(env["offline"].values()) == {"1"}
    md = (out / "gpu_check.md").read_text()
    assert HEADER in md and "dry run" in md and "--dry-run" in md
    import torch

    for pkg in ("transformers", "trl", "peft", "accelerate"):
        assert f"{pkg} {importlib.metadata.version(pkg)}" in md
    assert f"torch {torch.__version__}" in md
    assert all(f"| {p} | " in md for p in PARTS)
    assert HEADER in res.stdout or "key figures" in res.stdout  # the printed table


def test_a_part_past_its_timeout_is_recorded_and_the_next_part_runs(tmp_path):
    out = tmp_path / "gc"
    res = _run(["--dry-run", "--out", str(out), "--only", "rollout", "vllm", "--timeout-rollout", "1"], timeout=200)
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]  # a timeout makes the run fail
    parts = _parts(out)
    assert set(parts) == {"rollout", "vllm"}
    r = parts["rollout"]
    assert r["status"] == "timeout" and r["returncode"] is None and r["timeout_s"] == 1.0, r
    assert "1 s" in r["reason"] and isinstance(r["stderr_tail"], list)
    assert r["seconds"] < 30  # stopped, not waited for
    assert parts["vllm"]["status"] == "skipped" and parts["vllm"]["returncode"] == 0  # its child ran
    assert not (out / "rollout.partial.json").exists()
    md = (out / "gpu_check.md").read_text()
    assert "| rollout | timeout |" in md and "| vllm | skipped |" in md


def test_without_a_gpu_every_part_is_skipped(tmp_path):
    out = tmp_path / "gc"
    res = _run(["--out", str(out)], env={"CUDA_VISIBLE_DEVICES": ""}, timeout=200)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    parts = _parts(out)
    assert set(parts) == set(PARTS)
    assert all(r["status"] == "skipped" and r["reason"] == "no CUDA GPU" for r in parts.values()), parts
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["dry_run"] is False and report["environment"]["torch"]["cuda_available"] is False
    md = (out / "gpu_check.md").read_text()
    assert HEADER in md and "no CUDA GPU" in md


def test_markdown_shows_failures_with_their_stderr():
    mod = _load()
    env = {
        "torch": {
            "torch": "2.9.0",
            "cuda": "12.8",
            "cudnn": 91002,
            "gpu": "NVIDIA H100 80GB HBM3",
            "gpu_memory_gib": 79.2,
        },
        "nvidia_smi": {"name": "NVIDIA H100 80GB HBM3", "driver": "570.1"},
        "machine": {"cpu": "x", "cores": 16, "memory_gib": 125.0, "os": "Linux", "python": "3.12.3"},
        "packages": {"transformers": "5.25.0", "vllm": None},
    }
    parts = [
        {"part": "rollout", "status": "failed", "reason": "RuntimeError: boom", "figures": {}, "seconds": 3.0,
         "stderr_tail": ["Traceback", "RuntimeError: boom"]},
        {"part": "vllm", "status": "skipped", "reason": "vllm is not importable", "figures": {}, "seconds": 0.1},
        {"part": "train_step", "status": "ok", "seconds": 20.0, "figures": {
            "model": "2-layer 2B-shaped",
            "sft": {"seconds": 1.5, "peak_memory_gib": 9.1, "tokens": 1000, "formula": "not available"},
        }},
    ]  # fmt: skip
    report = {
        "dry_run": False,
        "date": "2027-01-02T03:04:05+00:00",
        "command": "python benchmarks/gpu_check.py --out d",
    }
    md = mod.markdown({**report, "total_seconds": 400.0, "budget_s": 480.0, "environment": env, "parts": parts})
    assert "### 2027-01-02, NVIDIA H100 80GB HBM3" in md and "driver 570.1" in md and "not installed: vllm" in md
    assert "| rollout | failed | RuntimeError: boom |" in md and "RuntimeError: boom\n```" in md
    assert "SFT step 1.50 s, peak 9.10 GiB, formula: not available (1000 tokens)" in md
    assert "2-layer" in md
