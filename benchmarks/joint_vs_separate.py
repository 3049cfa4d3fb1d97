"""Joint report + grounding GRPO vs separate runs on the demo data, at the same total number of samples.

The open question the paper leaves (it trained the two tasks separately): does one GRPO run on both tasks help each
task, compared with a run on that task alone? From one demo SFT checkpoint (``radgrpo demo --out DEMO`` first), three
GRPO runs with the demo's GRPO settings (``grpo/demo_cpu``, task-routed rewards):

- ``joint``: both tasks, ``--steps`` optimizer steps;
- ``report_only``: report prompts only, ``steps // 2`` steps;
- ``grounding_only``: grounding prompts only, ``steps // 2`` steps;

so the joint run and the two separate runs together see the same number of prompts and completions. Each model is
evaluated on the demo's test split (``eval/demo_cpu``, greedy); the report metrics compare ``joint`` with
``report_only`` and the grounding metrics ``joint`` with ``grounding_only``, as paired differences with 95% bootstrap
CIs and randomisation p-values (``radgrpo.eval.compare.compare_runs``). Prints a table, writes ``--json`` and with
``--markdown`` the table for ``benchmarks/RESULTS.md``.

Example:
    $ radgrpo demo --out /tmp/demo
    $ python benchmarks/joint_vs_separate.py --demo /tmp/demo --out /tmp/joint --json /tmp/joint.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

REPORT_METRICS = ("rule_finding_f1", "rule_finding_f1_side", "bleu4", "rougeL")
GROUNDING_METRICS = ("map_50", "soft_f1")
RUNS = {
    "joint": (None, 1.0),
    "report_only": (["report_generation"], 0.5),
    "grounding_only": (["abnormality_grounding"], 0.5),
}


def run(demo: Path, out: Path, steps: int, seed: int, n_resamples: int) -> dict:
    from radgrpo.config import from_dict
    from radgrpo.eval.compare import compare_runs
    from radgrpo.eval.config import EvalConfig
    from radgrpo.eval.pipeline import evaluate
    from radgrpo.eval.score import read_scores
    from radgrpo.models.qwen3_vl import load_model_and_processor
    from radgrpo.recipes.demo.config import STAGE_CONFIGS, stage_config
    from radgrpo.records import read_jsonl
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.grpo import run_grpo

    data = demo / "data"
    if not (demo / "sft" / "config.json").exists() or not (data / "train.jsonl").exists():
        raise SystemExit(f"{demo} is not a finished demo folder (run `radgrpo demo --out {demo}` first)")
    test = read_jsonl(data / "test.jsonl")
    results: dict = {"runs": {}, "steps": steps, "seed": seed}
    for name, (tasks, share) in RUNS.items():
        n_steps = max(1, round(steps * share))
        t0 = time.time()
        values = {
            **stage_config("grpo"),
            "output_dir": str(out / name),
            "model_name_or_path": str(demo / "sft"),
            "train_file": str(data / "train.jsonl"),
            "max_steps": n_steps,
            "seed": seed,
            "tasks": tasks,
        }
        model_dir = run_grpo(RadGRPOConfig(**values))
        train_s = time.time() - t0
        ecfg = from_dict(
            EvalConfig,
            {
                **stage_config("eval"),
                "model": str(model_dir),
                "test_file": str(data / "test.jsonl"),
                "out": str(out / f"eval_{name}"),
                "run_name": name,
                "seed": seed,
                "html": False,
            },
            source=STAGE_CONFIGS["eval"],
        )
        model, processor = load_model_and_processor(model_dir)
        model.eval()
        flat = evaluate(model, processor, test, ecfg, base_dir=data)
        prompts = n_steps * values["per_device_train_batch_size"] // values["num_generations"]
        results["runs"][name] = {
            "tasks": tasks or "both",
            "steps": n_steps,
            "prompts": prompts,
            "train_s": round(train_s, 1),
            **{m: flat.get(m) for m in REPORT_METRICS + GROUNDING_METRICS},
        }
        print(f"{name}: {n_steps} steps, {prompts} prompts, {train_s:.0f} s", flush=True)
    rows = {name: read_scores(out / f"eval_{name}" / "scores.jsonl") for name in RUNS}
    kw = {"n_resamples": n_resamples, "n_permutations": n_resamples, "seed": seed}
    results["paired"] = {
        "joint_vs_report_only": compare_runs(rows["joint"], rows["report_only"], metrics=REPORT_METRICS, **kw),
        "joint_vs_grounding_only": compare_runs(rows["joint"], rows["grounding_only"], metrics=GROUNDING_METRICS, **kw),
    }
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}"
    return results


def markdown(results: dict) -> str:
    """The runs and paired differences as Markdown tables."""
    lines = [
        "| run | tasks | optimizer steps | prompts | train s | "
        + " | ".join(REPORT_METRICS + GROUNDING_METRICS)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(REPORT_METRICS + GROUNDING_METRICS),
    ]
    for name, r in results["runs"].items():
        cells = [
            f"{r[m]:.3f}" if isinstance(r.get(m), (int, float)) else "-" for m in REPORT_METRICS + GROUNDING_METRICS
        ]
        tasks = r["tasks"] if isinstance(r["tasks"], str) else ", ".join(r["tasks"])
        lines.append(
            f"| {name} | {tasks} | {r['steps']} | {r['prompts']} | {r['train_s']} | " + " | ".join(cells) + " |"
        )
    lines += ["", "| comparison | metric | diff | 95% CI | p |", "|---|---|---|---|---|"]
    for comp, ms in results["paired"].items():
        for m, d in ms.items():
            lo, hi = d["ci95"]
            lines.append(f"| {comp} | {m} | {d['diff']:+.3f} | [{lo:+.3f}, {hi:+.3f}] | {d['p_value']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--demo", type=Path, required=True, help="a finished `radgrpo demo --out` folder (data + SFT)")
    p.add_argument("--out", type=Path, required=True, help="folder for the three GRPO runs and their evaluations")
    p.add_argument("--steps", type=int, default=120, help="optimizer steps of the joint run (separate: half each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n_resamples", type=int, default=2000)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = run(args.demo, args.out, args.steps, args.seed, args.n_resamples)
    table = markdown(results)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    if args.markdown:
        args.markdown.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
