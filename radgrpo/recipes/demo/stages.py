"""The plain demo's stages and :func:`run_demo`, which runs them in order.

synthetic data -> tiny model -> eval (untrained) -> image-blind baselines -> SFT (held-out curve) -> eval -> pre-RL
diagnostic and decoding-only baseline (readers world) -> GRPO (grounding soft-F1 + clinical utility rewards) -> eval
-> compute-matched SFT control -> eval -> paired tests -> ``OUT/results.json`` and ``OUT/report.html``.

Every stage is budgeted in optimizer steps, so the same ``seed`` gives the same numbers on an idle or a busy
machine; ``time_limit_s`` is an opt-in guard that stops a stage early and is reported when it does. The report
metric is ``rule_finding_f1``: micro-F1 of the positive findings a report names, read by the rule labeller that is
exact on the synthetic report language (``rule_finding_f1_side`` also needs the side). The tiny model is the real
Qwen3-VL architecture; the numbers show what SFT and RL learn on synthetic images, not clinical quality.

Example:
    >>> results = run_demo(DemoConfig(out="demo_out", fast=True))  # doctest: +SKIP
    >>> results["grpo"]["clinical_utility"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError, save_config
from radgrpo.errors import check_path
from radgrpo.recipes.demo.config import (
    CLAIM,
    CLAIM_AGAINST,
    COMPARISONS,
    FLAG_KEYS,
    HEADLINE,
    STAGE_MODELS,
    STAGES,
    DemoConfig,
    eval_config,
    grpo_config,
    sft_config,
    stage_config,
    synth_config,
)
from radgrpo.recipes.demo.notes import claim_line, console, print_gate, report_notes, stage_rule, summary_line


class StageTimer:
    """Numbered stage headings on the console and each stage's wall-clock seconds (:attr:`timings`).

    Args:
        n_stages: the number of headed stages (the ``n`` of ``i/n``).
        rule: prints a heading (default :func:`~radgrpo.recipes.demo.notes.stage_rule`).

    Example:
        >>> clock = StageTimer(2, rule=print)
        >>> with clock.stage("data", "synthetic data"):
        ...     pass
        1/2 synthetic data
        >>> with clock.stage("reuse"):  # timed, no heading
        ...     pass
        >>> list(clock.timings), list(clock.rounded().values())
        (['data', 'reuse'], [0.0, 0.0])
    """

    def __init__(self, n_stages: int, rule: Callable[[str], None] = stage_rule) -> None:
        self.n_stages, self.rule = n_stages, rule
        self.headed = 0
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, key: str, title: str | None = None) -> Iterator[None]:
        """Print ``i/n title`` (none when ``title`` is None), run the block and store its seconds under ``key``."""
        if title is not None:
            self.headed += 1
            self.rule(f"{self.headed}/{self.n_stages} {title}")
        t = time.time()
        yield
        self.timings[key] = time.time() - t

    def rounded(self) -> dict[str, float]:
        """:attr:`timings` rounded to 0.1 s (``results.json``'s ``timings_s``)."""
        return {k: round(v, 1) for k, v in self.timings.items()}


def evaluate_stage(records: list, base_dir: Path, name: str, cfg: DemoConfig, overlay: str | None = None) -> dict:
    """Evaluate stage ``name``'s model (:func:`eval_config`) on ``records``; prints and returns the flat results."""
    from radgrpo.eval.pipeline import evaluate
    from radgrpo.models.qwen3_vl import load_model_and_processor

    config = eval_config(cfg, name, overlay)
    model, processor = load_model_and_processor(Path(config.model))
    model.eval()
    flat = evaluate(model, processor, records, config, base_dir=base_dir)
    console.print(f"  {name}: {summary_line(flat)}, n={flat.get('n')}")
    return flat


def train_info(out_dir: Path, steps: int, samples_per_step: int, name: str) -> dict[str, Any]:
    log = json.loads((out_dir / "log_history.json").read_text())
    done = max([int(e.get("step", 0)) for e in log] + [0])
    hit = next((e["time_guard_hit"] for e in log if "time_guard_hit" in e), None)
    if hit is not None:
        console.print(
            f"[bold yellow]  {name}: the --time_limit_s guard stopped training at step {hit} of {steps}; "
            "these numbers depend on machine speed"
        )
    return {
        "steps_planned": steps,
        "steps_done": done,
        "samples_per_step": samples_per_step,
        "samples": done * samples_per_step,
        "time_guard_hit": hit,
    }


def claim_verdict(paired: dict) -> dict:
    """Whether one run shows the demo's claim: every :data:`CLAIM` metric's paired 95 % CI above zero in every
    :data:`CLAIM_AGAINST` comparison. ``paired`` is ``results["paired"]``; returns ``{"holds", "cleared",
    "required", "missing"}`` (``missing``: the comparison/metric pairs not measured, e.g. the truth metrics of the
    clean world, which has no truth).

    Example:
        >>> ok = {"diff": 0.1, "ci95": [0.01, 0.2], "p_value": 0.01, "n": 9}
        >>> v = claim_verdict({c: {m: ok for m in CLAIM} for c in CLAIM_AGAINST})
        >>> v["holds"], v["cleared"], v["required"], v["missing"]
        (True, 8, 8, [])
        >>> claim_verdict({"grpo_vs_sft": {"clinical_utility": {**ok, "ci95": [-0.01, 0.2]}}})["holds"]
        False
    """
    cells = [(c, m, paired.get(c, {}).get(m)) for c in CLAIM_AGAINST for m in CLAIM]
    cleared = sum(1 for _, _, r in cells if r is not None and r["ci95"][0] > 0)
    missing = [f"{c}/{m}" for c, m, r in cells if r is None]
    return {"holds": cleared == len(cells), "cleared": cleared, "required": len(cells), "missing": missing}


def report_stats(eval_dir: Path) -> dict[str, int]:
    from radgrpo.eval.generate import read_predictions

    preds, _ = read_predictions(eval_dir / "predictions.jsonl")
    reports = [p.answer for p in preds if p.task == "report_generation"]
    return {"distinct_reports": len(set(reports)), "n_reports": len(reports)}


def paired_tests(out: Path, pairs: Sequence[tuple[str, str]], cfg: DemoConfig) -> dict[str, dict]:
    """``{"a_vs_b": compare_runs(a, b)}`` on the :data:`HEADLINE` metrics of ``OUT/eval_<stage>/scores.jsonl``, with
    ``cfg.n_resamples`` resamples and permutations and ``cfg.seed``."""
    from radgrpo.eval.compare import compare_runs
    from radgrpo.eval.score import read_scores

    rows = {s: read_scores(out / f"eval_{s}" / "scores.jsonl") for pair in pairs for s in pair}
    return {
        f"{a}_vs_{b}": compare_runs(
            rows[a],
            rows[b],
            metrics=HEADLINE,
            n_resamples=cfg.n_resamples,
            n_permutations=cfg.n_resamples,
            seed=cfg.seed,
        )  # fmt: skip
        for a, b in pairs
    }


def task_records(records: Sequence, task: str) -> list:
    """The records of ``task`` (a task name), in order."""
    return [r for r in records if r.task.value == task]


def sampled_reports(model: Any, processor: Any, records: Sequence, base_dir: Path, cfg: DemoConfig) -> list[list[str]]:
    """``cfg.samples`` reports per report record, sampled at temperature 1 with seeds ``cfg.seed * 1000 + k`` (seeded
    per record, so independent of batch size and order)."""
    from radgrpo.eval.generate import GenerationSpec, generate_predictions

    limits = eval_config(cfg, "sft").generation_limits()
    specs = [
        GenerationSpec.build(
            batch_size=cfg.eval_batch_size,
            max_new_tokens=limits,
            do_sample=True,
            temperature=1.0,
            seed=cfg.seed * 1000 + k,
        )
        for k in range(cfg.samples)
    ]
    runs = [generate_predictions(model, processor, records, spec, base_dir=base_dir, progress=False) for spec in specs]
    return [[run[i].answer for run in runs] for i in range(len(records))]


def diagnostic_stage(cfg: DemoConfig, val: Sequence, data_dir: Path) -> dict[str, Any]:
    """The pre-RL diagnostic and gate on the validation split (readers world): SFT's greedy and sampled mention
    rates per finding on positive and negative studies, and :func:`radgrpo.eval.mention_rates.gate`; written to
    ``OUT/diagnostic.json``."""
    from radgrpo.eval.generate import GenerationSpec, generate_predictions
    from radgrpo.eval.mention_rates import gate
    from radgrpo.models.qwen3_vl import load_model_and_processor

    reports = task_records(val, "report_generation")
    model, processor = load_model_and_processor(Path(cfg.out) / "sft")
    model.eval()
    limits = eval_config(cfg, "sft").generation_limits()
    spec = GenerationSpec(batch_size=cfg.eval_batch_size, max_new_tokens=limits)
    greedy = generate_predictions(model, processor, reports, spec, base_dir=data_dir, progress=False)
    samples = sampled_reports(model, processor, reports, data_dir, cfg)
    result = gate(reports, [p.answer for p in greedy], samples)
    result["n_studies"], result["samples_per_study"], result["split"] = len(reports), cfg.samples, "val"
    (Path(cfg.out) / "diagnostic.json").write_text(json.dumps(result, indent=1, default=float))
    return result


def decoding_stage(cfg: DemoConfig, test: Sequence, data_dir: Path) -> dict[str, Any]:
    """The decoding-only baseline on the test split: SFT's reports sampled ``cfg.samples`` times, a finding named
    when its sampled share exceeds the utility's decision threshold (:func:`radgrpo.eval.decoding.decide_reports`);
    grounding answers are SFT's greedy ones. Evaluated into ``OUT/eval_sft_decoding``."""
    import dataclasses

    from radgrpo.eval.decoding import decide_reports
    from radgrpo.eval.generate import read_predictions
    from radgrpo.eval.pipeline import evaluate_predictions
    from radgrpo.metrics.text.utility import decision_thresholds
    from radgrpo.models.qwen3_vl import load_model_and_processor

    out = Path(cfg.out)
    reports = task_records(test, "report_generation")
    model, processor = load_model_and_processor(out / "sft")
    model.eval()
    thresholds = decision_thresholds()
    decided = dict(
        zip(
            (r.id for r in reports),
            decide_reports(sampled_reports(model, processor, reports, data_dir, cfg), thresholds),
        )
    )
    greedy, _ = read_predictions(out / "eval_sft" / "predictions.jsonl")
    preds = [
        dataclasses.replace(p, answer=decided[p.id], completion=decided[p.id]) if p.id in decided else p for p in greedy
    ]
    config = eval_config(cfg, "sft_decoding")
    config.model = str(out / "sft")
    meta = {"decoding": {"samples": cfg.samples, "temperature": 1.0, "thresholds": thresholds}}
    flat = evaluate_predictions(preds, test, config, base_dir=data_dir, meta=meta)
    console.print(f"  sft_decoding: {summary_line(flat)}, n={flat.get('n')}")
    return flat


def grpo_seen_prompts(grpo_dir: Path) -> int | None:
    """Prompts GRPO saw, refills and prompt-selection scoring included (``sampling.json``'s ``prompts_seen``)."""
    path = grpo_dir / "sampling.json"
    if not path.is_file():
        return None
    return int(json.loads(path.read_text()).get("prompts_seen") or 0) or None


def training_logs(out: Path, runs: Sequence[str]) -> dict[str, list]:
    """``{run: log history}`` of the training runs under ``out`` that wrote ``log_history.json`` (the report's curves).

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); (d / "sft").mkdir(); _ = (d / "sft" / "log_history.json").write_text("[]")
        >>> training_logs(d, ("sft", "grpo"))
        {'sft': []}
    """
    return {
        name: json.loads((out / name / "log_history.json").read_text())
        for name in runs
        if (out / name / "log_history.json").exists()
    }


def run_demo(cfg: DemoConfig) -> dict:
    """Run the pipeline; returns the results dict written to ``OUT/results.json``."""
    from radgrpo.data.synth import synthesize
    from radgrpo.eval.baselines import baseline_predictions
    from radgrpo.eval.pipeline import evaluate_predictions
    from radgrpo.eval.report.html import write_report_from_dirs
    from radgrpo.models.tiny import TinyModelConfig, build_tiny_model
    from radgrpo.records import read_jsonl
    from radgrpo.train.grpo import run_grpo
    from radgrpo.train.sft import run_sft

    # every stage's config is built (and checked) before anything runs, so a bad flag fails in a second
    try:
        synth_config(cfg), sft_config(cfg), sft_config(cfg, control=True), grpo_config(cfg), eval_config(cfg, "sft")
    except (TypeError, ValueError) as e:
        msg = str(e)
        for flag, (_, key) in FLAG_KEYS.items():  # name the demo's flag, not the stage key it sets
            msg = msg.replace(f"--{key} ", f"--{flag} ")
        raise ConfigError(msg) from None
    out = check_path(cfg.out, "--out", kind="out")
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out)
    results: dict[str, Any] = {"training": {}, "world": cfg.world}
    readers = cfg.world == "readers"
    clock = StageTimer(8 + int(cfg.control) + 2 * int(readers))

    with clock.stage("data", f"synthetic chest X-rays ({cfg.world} world)"):
        synth = synth_config(cfg)
        synthesize(synth)
        data_dir = Path(synth.out)
        train, val, test = (read_jsonl(data_dir / f"{s}.jsonl") for s in ("train", "val", "test"))

    with clock.stage("build", "tiny Qwen3-VL (random init, local tokenizer)"):
        corpus = [s for r in train[:3000] for s in (r.question, r.answer)]
        build_tiny_model(
            out / STAGE_MODELS["untrained"], corpus, TinyModelConfig(image_size=cfg.image_size, seed=cfg.seed)
        )

    with clock.stage("eval_untrained_prior", "evaluate the untrained model and the image-blind baselines"):
        results["untrained"] = evaluate_stage(test, data_dir, "untrained", cfg)
        preds, info = baseline_predictions(train, test)
        results["prior"] = evaluate_predictions(preds, test, eval_config(cfg, "prior"), meta={"baselines": info})
        results["baselines"] = info
        console.print(f"  prior: {summary_line(results['prior'])} (constant report: {info['constant_report']!r})")

    with clock.stage("sft", f"SFT ({cfg.sft_steps} steps, held-out curve every {cfg.sft_eval_every})"):
        sft_dir = run_sft(sft_config(cfg))
        results["training"]["sft"] = train_info(sft_dir, cfg.sft_steps, cfg.sft_batch_size, "sft")

    with clock.stage("eval_sft", "evaluate SFT"):
        results["sft"] = evaluate_stage(test, data_dir, "sft", cfg)

    if readers:
        title = f"pre-RL diagnostic and gate on the validation split (greedy and {cfg.samples} samples at T=1)"
        with clock.stage("diagnostic", title):
            results["diagnostic"] = diagnostic_stage(cfg, val, data_dir)
            print_gate(results["diagnostic"])

        title = f"decoding-only baseline: SFT sampled {cfg.samples}x, findings named above the utility's thresholds"
        with clock.stage("sft_decoding", title):
            results["sft_decoding"] = decoding_stage(cfg, test, data_dir)

    rewards = list(stage_config("grpo")["reward_funcs"])
    with clock.stage("grpo", f"GRPO from SFT ({cfg.grpo_steps} steps; rewards {' + '.join(rewards)})"):
        grpo_dir = run_grpo(grpo_config(cfg))
        results["training"]["grpo"] = train_info(
            grpo_dir, cfg.grpo_steps, cfg.grpo_batch_size // cfg.grpo_num_generations, "grpo"
        )
        seen = grpo_seen_prompts(grpo_dir)
        if seen is not None:
            results["training"]["grpo"]["prompts_seen"] = seen
            results["grpo_sampling"] = json.loads((grpo_dir / "sampling.json").read_text())
        results["grpo_monitors"] = json.loads((grpo_dir / "monitors.json").read_text())

    with clock.stage("eval_grpo", "evaluate GRPO"):
        results["grpo"] = evaluate_stage(test, data_dir, "grpo", cfg)

    stages = [s for s in STAGES if (s != "sft_control" or cfg.control) and (s != "sft_decoding" or readers)]
    if cfg.control:
        steps = cfg.control_steps(seen)
        title = (
            f"compute-matched control: SFT continued for {steps} steps "
            f"({steps * cfg.sft_batch_size} samples >= the {seen or cfg.grpo_prompts} prompts GRPO saw)"
        )
        with clock.stage("sft_control", title):
            ctrl_dir = run_sft(sft_config(cfg, control=True, prompts=seen))
            results["training"]["sft_control"] = train_info(ctrl_dir, steps, cfg.sft_batch_size, "sft_control")
            results["sft_control"] = evaluate_stage(test, data_dir, "sft_control", cfg)

    with clock.stage("report", "paired tests and the report"):
        for s in stages:
            results[s].update(report_stats(out / f"eval_{s}"))
        results["paired"] = paired_tests(out, [(a, b) for a, b in COMPARISONS if a in stages and b in stages], cfg)
        claim = claim_verdict(results["paired"])
        results["claim"] = {**claim, "reading": claim_line(claim, results["training"]["sft"]["steps_done"], cfg)}
        notes = report_notes(results, cfg, rewards)
        logs = training_logs(out, ("sft", "grpo", "sft_control"))
        write_report_from_dirs(
            out / "report.html",
            {s: out / f"eval_{s}" for s in stages},
            records=test,
            base_dir=data_dir,
            title=f"radgrpo demo ({cfg.world} world): untrained, image-blind prior, SFT, decoding-only, SFT control, "
            "GRPO",
            notes=notes,
            logs=logs,
            paired=results["paired"],
            diagnostic=results.get("diagnostic"),
        )
    results["notes"] = notes
    results["timings_s"] = clock.rounded()
    (out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    return results
