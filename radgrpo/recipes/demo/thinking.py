"""The demo's thinking path (``radgrpo demo --thinking``): the paper's thinking stages on the demo's tiny model,
offline, next to the plain demo.

cold-start traces (the labelled stand-in teacher, ``radgrpo thinking generate --teacher synthetic``) -> thinking SFT
from the demo's SFT model (traces mixed with a share of plain records) -> evaluation with ``" /think"`` -> thinking
GRPO (the demo's rewards, scored after ``</think>``) -> evaluation -> paired tests against the plain SFT and GRPO
models of the same ``OUT`` -> ``OUT/thinking/results.json`` and ``OUT/thinking/report.html``.

The plain demo's data, SFT and GRPO models are what thinking is compared with, so the thinking path reuses them from
``OUT`` when ``OUT/results.json`` holds a finished plain demo with the same settings, and runs the plain demo
(:func:`~radgrpo.recipes.demo.stages.run_demo`) first otherwise. Every stage is budgeted in optimizer steps and
starts from a shipped config layered over the plain stage's
(:data:`~radgrpo.recipes.demo.config.THINKING_CONFIGS`); the stand-in teacher's traces are brief (one clause per
structure, the heart's box and cardiothoracic ratio, each finding with side, zone, size and box) so that a
0.7 M-parameter model can learn them on a CPU in minutes. The numbers show what the thinking path does on synthetic
data, not clinical quality.

Example:
    >>> results = run_thinking_demo(DemoConfig(out="demo_out", fast=True))  # doctest: +SKIP
    >>> results["paired"]["grpo_thinking_vs_grpo"]["clinical_utility"]["diff"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, load_yaml, to_dict
from radgrpo.errors import check_path
from radgrpo.recipes.demo.config import (
    NOT_PLAIN,
    THINKING_COMPARISONS,
    THINKING_CONFIGS,
    THINKING_STAGES,
    DemoConfig,
    thinking_grpo_config,
    thinking_sft_config,
)
from radgrpo.recipes.demo.notes import console, thinking_notes
from radgrpo.recipes.demo.stages import (
    StageTimer,
    evaluate_stage,
    paired_tests,
    run_demo,
    train_info,
    training_logs,
)


def plain_demo_matches(cfg: DemoConfig) -> bool:
    """Whether ``OUT`` holds a finished plain demo run with the settings of ``cfg`` (``OUT/results.json`` and
    ``OUT/config.yaml`` equal on every field except :data:`~radgrpo.recipes.demo.config.NOT_PLAIN`).

    Raises:
        ConfigError: ``OUT`` holds a plain demo with other settings (it is not overwritten).
    """
    out = Path(cfg.out)
    if not (out / "results.json").is_file() or not (out / "config.yaml").is_file():
        return False
    saved = load_yaml(out / "config.yaml")
    mine = to_dict(cfg)
    diff = sorted(k for k in mine if k not in NOT_PLAIN and k in saved and saved[k] != mine[k])
    if diff:
        raise ConfigError(
            f"{out} holds a demo run with other settings ({', '.join(f'{k}={saved[k]!r}' for k in diff)}); "
            "use another --out, or the same settings, for --thinking"
        )
    return all((out / d / "model.safetensors").is_file() for d in ("sft", "grpo"))


def run_thinking_demo(cfg: DemoConfig) -> dict:
    """Run the thinking stages (and the plain demo first when ``OUT`` lacks it); returns
    ``OUT/thinking/results.json``'s content."""
    from radgrpo.data.cold_start import ThinkingTraceConfig, generate_traces
    from radgrpo.eval.report.html import write_report_from_dirs
    from radgrpo.records import read_jsonl
    from radgrpo.train.grpo import run_grpo
    from radgrpo.train.sft import run_sft

    out = check_path(cfg.out, "--out", kind="out")
    clock = StageTimer(6)
    if plain_demo_matches(cfg):
        console.print(f"[bold]reusing the plain demo in {out} (data, SFT and GRPO models, their evaluations)")
        plain = json.loads((out / "results.json").read_text())
    else:
        console.print(f"[bold]{out} has no plain demo with these settings: running it first")
        with clock.stage("plain_demo"):
            plain = run_demo(cfg)
    data_dir = out / "data"
    test = read_jsonl(data_dir / "test.jsonl")
    results: dict[str, Any] = {"training": {}, "plain": {s: plain[s] for s in ("sft", "grpo") if s in plain}}

    with clock.stage("cold_start", "cold-start traces (stand-in teacher: the generator's scene description)"):
        traces = ThinkingTraceConfig(
            records=str(data_dir / "train.jsonl"),
            out=str(out / "cold_start"),
            teacher="synthetic",
            synthetic_style="brief",
            min_think_words=8,
        )
        results["cold_start"] = generate_traces(traces)
        cs = results["cold_start"]
        console.print(
            f"  accepted {cs['n_accepted']} of {cs['n_records']} records; rejected {cs['rejected'] or 'none'}"
        )

    sft_cfg = thinking_sft_config(cfg)
    title = f"thinking SFT from the demo's SFT model ({cfg.thinking_sft_steps} steps, {sft_cfg.mix_share:.0%} plain)"
    with clock.stage("sft_thinking", title):
        sft_dir = run_sft(sft_cfg)
        results["training"]["sft_thinking"] = train_info(
            sft_dir, cfg.thinking_sft_steps, sft_cfg.per_device_train_batch_size, "sft_thinking"
        )

    with clock.stage("eval_sft_thinking", "evaluate thinking SFT (' /think' prompts)"):
        results["sft_thinking"] = evaluate_stage(test, data_dir, "sft_thinking", cfg, THINKING_CONFIGS["eval"])

    grpo_cfg = thinking_grpo_config(cfg)
    title = f"thinking GRPO ({cfg.thinking_grpo_steps} steps; rewards {' + '.join(grpo_cfg.reward_funcs)})"
    with clock.stage("grpo_thinking", title):
        grpo_dir = run_grpo(grpo_cfg)
        results["training"]["grpo_thinking"] = train_info(
            grpo_dir,
            cfg.thinking_grpo_steps,
            grpo_cfg.per_device_train_batch_size // grpo_cfg.num_generations,
            "grpo_thinking",
        )

    with clock.stage("eval_grpo_thinking", "evaluate thinking GRPO"):
        results["grpo_thinking"] = evaluate_stage(test, data_dir, "grpo_thinking", cfg, THINKING_CONFIGS["eval"])

    dest = out / "thinking"
    with clock.stage("report", "paired tests against the plain models and the report"):
        stages = ["sft", "grpo", *THINKING_STAGES]
        for s in THINKING_STAGES:  # the evaluation's own thinking diagnostics, at the top of the stage's block
            diag = results[s]["diagnostics"]
            results[s].update({k: diag[k] for k in ("think_closed_rate", "mean_thought_words", "well_formed_rate")})
        results["paired"] = paired_tests(out, THINKING_COMPARISONS, cfg)
        results["notes"] = thinking_notes(results, cfg)
        dest.mkdir(exist_ok=True)
        logs = training_logs(out, ("sft", "grpo", "sft_thinking", "grpo_thinking"))
        write_report_from_dirs(
            dest / "report.html",
            {s: out / f"eval_{s}" for s in stages},
            records=test,
            base_dir=data_dir,
            title="radgrpo demo --thinking: plain vs thinking SFT and GRPO (synthetic CXR)",
            notes=results["notes"],
            logs=logs,
            paired=results["paired"],
        )
    results["timings_s"] = clock.rounded()
    (dest / "results.json").write_text(json.dumps(results, indent=2, default=float))
    return results
