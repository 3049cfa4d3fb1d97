"""``radgrpo demo``: the whole RadVLM-GRPO pipeline on an embedded tiny Qwen3-VL and synthetic chest X-rays.

synthetic data -> tiny model -> eval (untrained) -> image-blind baselines -> SFT (held-out curve) -> eval -> GRPO
(grounding soft-F1 + report finding-error rewards) -> eval -> compute-matched SFT control -> eval -> paired tests ->
``OUT/results.json`` and ``OUT/report.html``.

Every stage is budgeted in optimizer steps, so the same ``--seed`` gives the same numbers on an idle or a busy
machine; ``--time_limit_s`` is an opt-in guard that stops a stage early and is reported when it does. The report
metric is ``rule_finding_f1``: micro-F1 of the positive findings a report names, read by the rule labeller that is
exact on the synthetic report language (``rule_finding_f1_side`` also needs the side). The tiny model is the real
Qwen3-VL architecture; the numbers show what SFT and RL learn on synthetic images, not clinical quality.

Every stage starts from a config shipped inside the package (:data:`STAGE_CONFIGS`; ``radgrpo configs cp NAME DEST``
to run one by hand): DemoConfig's defaults are those files' values, and its flags override them
(:data:`FLAG_KEYS`, plus the per-stage paths, ``seed`` and the overrides each ``*_config`` function names).

Example:
    $ radgrpo demo --out demo_out
    $ radgrpo demo --out /tmp/d --fast --seed 1
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from radgrpo.config import ConfigError, from_dict, parse_config, save_config
from radgrpo.configs import load_config

console = Console()

#: Result columns in display order: the untrained model, the image-blind baseline, SFT, the decoding-only baseline
#: (SFT sampled k times, findings named above the utility's thresholds; readers world), the compute-matched SFT
#: control and GRPO.
STAGES = ("untrained", "prior", "sft", "sft_decoding", "sft_control", "grpo")
#: Paired comparisons ``a_vs_b`` (a minus b on the same test items).
COMPARISONS = (
    ("sft", "untrained"),
    ("sft", "prior"),
    ("grpo", "sft"),
    ("grpo", "sft_control"),
    ("grpo", "sft_decoding"),
    ("sft_decoding", "sft"),
    ("sft_control", "sft"),
)
#: The demo's headline metrics in display order (paired tests too); the ``_truth`` ones exist in the readers world.
HEADLINE = (
    "clinical_utility",
    "clinical_utility_truth",
    "rule_finding_f1_side",
    "rule_finding_f1_side_truth",
    "rule_finding_f1",
    "rule_finding_f1_truth",
    "map_50",
    "soft_f1",
    "soft_f1_truth",
    "bleu4",
    "rougeL",
)
#: The metrics whose GRPO gain the demo claims (each against the reference and against the truth).
CLAIM = ("clinical_utility", "clinical_utility_truth", "rule_finding_f1_side", "rule_finding_f1_side_truth")
#: The comparisons whose paired 95 % CIs must all lie above zero, on every :data:`CLAIM` metric, for the claim to hold.
CLAIM_AGAINST = ("grpo_vs_sft", "grpo_vs_sft_control")
TABLE_METRICS = HEADLINE + ("recall_truth/subtle", "recall_truth/conspicuous", "matched_iou", "anc", "n")
#: The shipped config each stage starts from (``radgrpo configs list``).
STAGE_CONFIGS = {"data": "data/synth_demo", "sft": "sft/demo_cpu", "grpo": "grpo/demo_cpu", "eval": "eval/demo_cpu"}
#: The data overlay of a world other than the shipped default (``--world clean``: today's four findings).
WORLD_CONFIGS = {"clean": "data/synth_clean"}
#: DemoConfig flag -> (stage, key): the flag's default is that key of the stage's shipped config, and it overrides it.
FLAG_KEYS: dict[str, tuple[str, str]] = {
    "world": ("data", "world"),
    "n_train": ("data", "n_train"),
    "n_val": ("data", "n_val"),
    "n_test": ("data", "n_test"),
    "image_size": ("data", "image_size"),
    "sft_steps": ("sft", "max_steps"),
    "sft_learning_rate": ("sft", "learning_rate"),
    "sft_warmup_steps": ("sft", "warmup_steps"),
    "sft_batch_size": ("sft", "per_device_train_batch_size"),
    "grpo_steps": ("grpo", "max_steps"),
    "grpo_learning_rate": ("grpo", "learning_rate"),
    "grpo_beta": ("grpo", "beta"),
    "grpo_num_generations": ("grpo", "num_generations"),
    "grpo_batch_size": ("grpo", "per_device_train_batch_size"),
    "grpo_temperature": ("grpo", "temperature"),
    "grpo_scale_rewards": ("grpo", "scale_rewards"),
    "grpo_loss_type": ("grpo", "loss_type"),
    "grpo_dynamic_sampling": ("grpo", "dynamic_sampling"),
    "grpo_prompt_selection": ("grpo", "prompt_selection"),
    "grpo_prompt_selection_every": ("grpo", "prompt_selection_every"),
    "grpo_prompt_selection_pool": ("grpo", "prompt_selection_pool"),
    "eval_batch_size": ("eval", "batch_size"),
}
#: Learning-rate factor of the compute-matched SFT control (constant LR at the end of SFT's cosine: 5 % of the peak).
CONTROL_LR_FACTOR = 0.05
#: Logging intervals (optimizer steps) in --fast mode, and of the SFT control.
FAST_LOGGING_STEPS = {"sft": 10, "grpo": 1}
CONTROL_LOGGING_STEPS = 10


def stage_config(stage: str) -> dict[str, Any]:
    """The keys of a stage's shipped config (:data:`STAGE_CONFIGS`), a fresh dict on every call.

    Example:
        >>> stage_config("sft")["max_steps"], stage_config("grpo")["reward_funcs"]
        (2000, ['grounding_soft_f1', 'clinical_utility'])
    """
    return load_config(STAGE_CONFIGS[stage])


def _flag(name: str, help_: str) -> Any:
    """A DemoConfig field whose default is read from the shipped config (:data:`FLAG_KEYS`)."""
    stage, key = FLAG_KEYS[name]
    return field(
        default_factory=lambda: stage_config(stage)[key],
        metadata={"help": f"{help_} (default: {key} of {STAGE_CONFIGS[stage]})"},
    )


@dataclass
class DemoConfig:
    """Settings of ``radgrpo demo`` (YAML keys = flags). Training lengths are optimizer steps."""

    out: str = field(default="demo_out", metadata={"help": "output folder"})
    fast: bool = field(default=False, metadata={"help": "smoke mode: tiny data and few steps (~1 min)"})
    seed: int = field(default=0, metadata={"help": "seed for data, model init, training and bootstraps"})
    world: str = _flag(
        "world",
        "synthetic world: readers (graded findings, references by simulated readers: RL has room) or clean (one "
        "complete reference per study: imitation is already optimal)",
    )
    n_train: int = _flag("n_train", "synthetic training studies")
    n_val: int = _flag("n_val", "synthetic validation studies (held-out curves, the pre-RL diagnostic and gate)")
    n_test: int = _flag("n_test", "synthetic held-out test studies")
    image_size: int = _flag("image_size", "synthetic image side (px; 128 = 16 visual tokens)")
    sft_steps: int = _flag("sft_steps", "SFT optimizer steps")
    sft_learning_rate: float = _flag("sft_learning_rate", "peak SFT LR (cosine to 5 %)")
    sft_warmup_steps: int = _flag("sft_warmup_steps", "SFT linear warm-up steps")
    sft_batch_size: int = _flag("sft_batch_size", "SFT batch size")
    sft_eval_every: int = field(default=250, metadata={"help": "SFT steps between held-out evaluations"})
    heldout_samples: int = field(
        default=100, metadata={"help": "validation records per task in the held-out curves of SFT and GRPO"}
    )
    grpo_steps: int = _flag("grpo_steps", "GRPO optimizer steps")
    grpo_learning_rate: float = _flag("grpo_learning_rate", "GRPO LR (constant)")
    grpo_beta: float = _flag("grpo_beta", "GRPO KL coefficient")
    grpo_num_generations: int = _flag("grpo_num_generations", "rollouts per prompt")
    grpo_batch_size: int = _flag("grpo_batch_size", "completions per GRPO step")
    grpo_temperature: float = _flag("grpo_temperature", "rollout sampling temperature")
    grpo_scale_rewards: str = _flag("grpo_scale_rewards", "advantage scaling: none (Dr. GRPO), group or batch")
    grpo_loss_type: str = _flag("grpo_loss_type", "GRPO loss aggregation (TRL's loss_type)")
    grpo_dynamic_sampling: bool = _flag(
        "grpo_dynamic_sampling", "drop zero-variance groups and refill them (DAPO dynamic sampling)"
    )
    grpo_prompt_selection: str = _flag("grpo_prompt_selection", "prompt selection: none or uncertainty")
    grpo_prompt_selection_every: int = _flag(
        "grpo_prompt_selection_every", "re-score the prompt pool every K steps (0: once, from the SFT model)"
    )
    grpo_prompt_selection_pool: int = _flag("grpo_prompt_selection_pool", "training prompts scored per pass")
    samples: int = field(
        default=8,
        metadata={
            "help": "sampled reports per image (temperature 1) for the pre-RL diagnostic and the decoding-only "
            "baseline (readers world)"
        },
    )
    control: bool = field(
        default=True,
        metadata={
            "help": "also continue SFT from the SFT checkpoint for as many samples as GRPO saw (compute-matched control)"
        },
    )
    eval_batch_size: int = _flag("eval_batch_size", "generation batch size in evaluation")
    n_resamples: int = field(
        default=10_000, metadata={"help": "paired bootstrap resamples and randomisation permutations"}
    )
    time_limit_s: float = field(
        default=0.0,
        metadata={"help": "opt-in wall-clock guard per training stage (s); 0 = off. A stage it stops is reported"},
    )
    thinking: bool = field(
        default=False,
        metadata={
            "help": "the thinking path after the plain demo (reused from --out when present): stand-in cold-start "
            "traces -> thinking SFT -> thinking GRPO -> evaluation and paired tests against the plain models"
        },
    )
    thinking_sft_steps: int = field(
        default_factory=lambda: load_config("sft/demo_thinking")["max_steps"],
        metadata={"help": "thinking SFT optimizer steps (default: max_steps of sft/demo_thinking)"},
    )
    thinking_grpo_steps: int = field(
        default_factory=lambda: load_config("grpo/demo_thinking")["max_steps"],
        metadata={"help": "thinking GRPO optimizer steps (default: max_steps of grpo/demo_thinking)"},
    )

    def __post_init__(self) -> None:
        if self.fast:
            self.n_train = min(self.n_train, 200)
            self.n_val = min(self.n_val, 8)
            self.n_test = min(self.n_test, 24)
            self.sft_steps = min(self.sft_steps, 60)
            self.sft_warmup_steps = min(self.sft_warmup_steps, 5)
            self.sft_eval_every = min(self.sft_eval_every, 30)
            self.heldout_samples = min(self.heldout_samples, 8)
            self.samples = min(self.samples, 2)
            self.grpo_prompt_selection_pool = min(self.grpo_prompt_selection_pool, 16)
            self.grpo_steps = min(self.grpo_steps, 3)
            self.grpo_batch_size = min(self.grpo_batch_size, 16)
            self.n_resamples = min(self.n_resamples, 1000)
            self.thinking_sft_steps = min(self.thinking_sft_steps, 30)
            self.thinking_grpo_steps = min(self.thinking_grpo_steps, 2)
        from radgrpo.data.sources.synthetic import WORLDS

        if self.world not in WORLDS:
            raise ValueError(f"--world must be one of {', '.join(WORLDS)}, got {self.world!r}")
        if self.n_train < 1 or self.n_test < 1 or self.n_val < 1:
            raise ValueError("--n_train, --n_val and --n_test must be >= 1")
        if self.sft_steps < 1 or self.grpo_steps < 1:
            raise ValueError("--sft_steps and --grpo_steps must be >= 1")
        if self.grpo_batch_size % self.grpo_num_generations:
            raise ValueError(
                f"--grpo_batch_size ({self.grpo_batch_size}) must be a multiple of "
                f"--grpo_num_generations ({self.grpo_num_generations})"
            )

    @property
    def grpo_prompts(self) -> int:
        """Training prompts GRPO sees (each prompt gets ``grpo_num_generations`` rollouts)."""
        return self.grpo_steps * self.grpo_batch_size // self.grpo_num_generations

    def control_steps(self, prompts: int | None = None) -> int:
        """SFT steps of the compute-matched control: as many training samples as the prompts GRPO saw (``prompts``,
        from its ``sampling.json``: rollout prompts with refills plus scoring passes; default
        :attr:`grpo_prompts`)."""
        return max(1, math.ceil((self.grpo_prompts if prompts is None else prompts) / self.sft_batch_size))


def stage_rule(title: str) -> None:
    console.rule(f"[bold cyan]{title}")


def summary_line(flat: dict) -> str:
    return ", ".join(f"{k}={flat[k]:.3f}" for k in HEADLINE if isinstance(flat.get(k), float))


#: Model folder (under OUT) that each evaluated stage loads; the image-blind prior has none.
STAGE_MODELS = {"untrained": "model_init", "sft": "sft", "grpo": "grpo", "sft_control": "sft_control"}


def synth_config(cfg: DemoConfig) -> Any:
    """The data stage: ``data/synth_demo`` with ``out = OUT/data``, ``seed`` and the demo's count and size flags.

    Example:
        >>> c = synth_config(DemoConfig(out="d", fast=True))
        >>> (c.out, c.n_train, c.n_val, c.n_test, c.image_size)
        ('d/data', 200, 8, 24, 128)
    """
    from radgrpo.data.sources.synthetic import SynthConfig

    values = {
        **stage_config("data"),
        **(load_config(WORLD_CONFIGS[cfg.world]) if cfg.world in WORLD_CONFIGS else {}),
        **stage_overrides(cfg, "data"),
        "out": str(Path(cfg.out) / "data"),
        "seed": cfg.seed,
    }
    return from_dict(SynthConfig, values, source=STAGE_CONFIGS["data"])


def stage_overrides(cfg: DemoConfig, stage: str) -> dict[str, Any]:
    return {key: getattr(cfg, flag) for flag, (s, key) in FLAG_KEYS.items() if s == stage}


def _train_values(cfg: DemoConfig, stage: str, output_dir: Path, model: Path) -> dict[str, Any]:
    """A training stage's shipped keys + the demo's: paths, seed, flags, progress bars and the time guard."""
    out = Path(cfg.out)
    return {
        **stage_config(stage),
        **stage_overrides(cfg, stage),
        "output_dir": str(output_dir),
        "model_name_or_path": str(model),
        "train_file": str(out / "data" / "train.jsonl"),
        "seed": cfg.seed,
        "disable_tqdm": False,
        "time_limit_s": cfg.time_limit_s,
    }


def sft_config(cfg: DemoConfig, *, control: bool = False, prompts: int | None = None) -> Any:
    """The SFT stage: ``sft/demo_cpu`` from ``OUT/model_init`` into ``OUT/sft``, with the demo's SFT flags; --fast
    logs every :data:`FAST_LOGGING_STEPS` steps.

    ``control=True``: the compute-matched control, SFT continued from ``OUT/sft`` into ``OUT/sft_control`` for
    :meth:`DemoConfig.control_steps` ``(prompts)`` steps at a constant :data:`CONTROL_LR_FACTOR` x the peak LR, no
    warm-up.
    """
    from radgrpo.train.configs import RadSFTConfig

    out = Path(cfg.out)
    if control:
        values = {
            **_train_values(cfg, "sft", out / "sft_control", out / "sft"),
            "max_steps": cfg.control_steps(prompts),
            "learning_rate": cfg.sft_learning_rate * CONTROL_LR_FACTOR,
            "lr_scheduler_type": "constant",
            "lr_scheduler_kwargs": {},
            "warmup_steps": 0,
            "logging_steps": CONTROL_LOGGING_STEPS,
        }
    else:
        values = _train_values(cfg, "sft", out / "sft", out / STAGE_MODELS["untrained"])
        if cfg.fast:
            values["logging_steps"] = FAST_LOGGING_STEPS["sft"]
    return RadSFTConfig(**values)


#: GRPO's held-out evaluations during training (at the start, every max_steps / this, and at the end)
GRPO_EVALS = 4


def grpo_config(cfg: DemoConfig) -> Any:
    """The GRPO stage: ``grpo/demo_cpu`` from ``OUT/sft`` into ``OUT/grpo``, with the demo's GRPO flags, and a held-out
    evaluation on the validation split (``eval/demo_cpu``'s metrics, greedy) every ``max_steps /``
    :data:`GRPO_EVALS` steps; --fast logs every step."""
    from radgrpo.train.configs import RadGRPOConfig

    out = Path(cfg.out)
    values = _train_values(cfg, "grpo", out / "grpo", out / "sft")
    values.update(
        eval_file=str(out / "data" / "val.jsonl"),
        eval_config=STAGE_CONFIGS["eval"],
        eval_max_samples=min(cfg.n_val, cfg.heldout_samples),
        eval_steps=max(1, cfg.grpo_steps // GRPO_EVALS),
    )
    if cfg.fast:
        values["logging_steps"] = FAST_LOGGING_STEPS["grpo"]
    return RadGRPOConfig(**values)


def eval_config(cfg: DemoConfig, name: str, overlay: str | None = None) -> Any:
    """The evaluation of stage ``name``: ``eval/demo_cpu`` with the stage's model folder (:data:`STAGE_MODELS`, else
    ``OUT/<name>``; none for the prior), OUT's test split, ``out = OUT/eval_<name>``, ``run_name = name``, ``seed``,
    ``batch_size = --eval_batch_size`` and no HTML (the demo writes one report for all stages). ``overlay``: a shipped
    config layered over ``eval/demo_cpu`` (the thinking stages' ``eval/demo_thinking``).

    Example:
        >>> c = eval_config(DemoConfig(out="d"), "sft")
        >>> (c.model, c.test_file, c.out, c.run_name, c.batch_size, c.html)
        ('d/sft', 'd/data/test.jsonl', 'd/eval_sft', 'sft', 50, False)
    """
    from radgrpo.eval.config import EvalConfig

    out = Path(cfg.out)
    model = "" if name == "prior" else str(out / STAGE_MODELS.get(name, name))
    values = {
        **stage_config("eval"),
        **(load_config(overlay) if overlay else {}),
        "model": model,
        "test_file": str(out / "data" / "test.jsonl"),
        "out": str(out / f"eval_{name}"),
        "run_name": name,
        "seed": cfg.seed,
        "html": False,
        **stage_overrides(cfg, "eval"),
    }
    return from_dict(EvalConfig, values, source=overlay or STAGE_CONFIGS["eval"])


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


def heldout_scorer(
    records: Sequence,
    base_dir: Path,
    processor: Any,
    batch_size: int,
    max_new_tokens: int | dict[str, int] | None = None,
) -> Callable[[Any], dict[str, float]]:
    """``fn(model) -> {"soft_f1", "rule_finding_f1"}`` on validation records (greedy; for the SFT held-out curve).

    ``max_new_tokens``: generation limits as :func:`radgrpo.eval.generate.generate_predictions` takes them (the demo
    passes its evaluation config's).
    """
    from radgrpo.eval.generate import generate_predictions
    from radgrpo.eval.score import score_predictions
    from radgrpo.metrics.text.rule_labeler import f1_from_counts

    def score(model: Any) -> dict[str, float]:
        preds = generate_predictions(
            model, processor, records, base_dir, batch_size=batch_size, max_new_tokens=max_new_tokens, progress=False
        )
        rows = score_predictions(preds, records, ["soft_f1", "rule_finding_f1"])
        grounding = [r["soft_f1"] for r in rows if "soft_f1" in r]
        counts = [sum(r.get(f"rule_finding_{k}", 0) for r in rows) for k in ("tp", "fp", "fn")]
        out = {"rule_finding_f1": f1_from_counts(*counts)}
        if grounding:
            out["soft_f1"] = sum(grounding) / len(grounding)
        return out

    return score


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


def _claim_line(v: dict, sft_steps: int, cfg: DemoConfig) -> str:
    """One sentence from :func:`claim_verdict`'s ``v``: whether this run shows the claim, and which run measures it
    over seeds."""
    if v["holds"]:
        verdict = "holds in this run"
    else:
        unmeasured = f"; not measured: {', '.join(v['missing'])}" if v["missing"] else ""
        verdict = f"does not hold in this run ({v['cleared']} of {v['required']} CIs above zero{unmeasured})"
    return (
        f"Claim (GRPO above SFT and above the SFT control on {', '.join(CLAIM)}, every paired 95% CI above zero): "
        f"{verdict}. The 3-seed claim is measured by benchmarks/rl_gain.py (SFT 4,000 steps, GRPO 16 prompts x 8 "
        f"rollouts per step; docs/rl_vs_imitation.md); this run: SFT {sft_steps} steps, GRPO "
        f"{cfg.grpo_batch_size // cfg.grpo_num_generations} prompts x {cfg.grpo_num_generations} rollouts per step."
    )


def _notes(results: dict, cfg: DemoConfig, rewards: Sequence[str]) -> str:
    """The report's notes, written from the numbers (which stage beat which, significantly or not)."""
    from radgrpo.eval.compare import reading

    def verdict(comp: str, metric: str) -> str:
        r = results["paired"].get(comp, {}).get(metric)
        if r is None:
            return f"{metric}: not measured"
        return (
            f"{metric} {r['diff']:+.3f} (95% CI [{r['ci95'][0]:+.3f}, {r['ci95'][1]:+.3f}], "
            f"p={r['p_value']:.4f}): {reading(r)}"
        )

    tr = results["training"]
    lines = [
        f"Tiny Qwen3-VL on {cfg.image_size}² synthetic radiographs, CPU, seed {cfg.seed}. SFT "
        f"{tr['sft']['steps_done']} steps ({tr['sft']['samples']} samples); GRPO {tr['grpo']['steps_done']} steps "
        f"({tr['grpo']['samples']} prompts × {cfg.grpo_num_generations} rollouts; rewards "
        f"{' + '.join(rewards)}, lr {cfg.grpo_learning_rate:g}, beta {cfg.grpo_beta:g}, temperature "
        f"{cfg.grpo_temperature:g})"
        + (
            f"; SFT control {tr['sft_control']['steps_done']} more SFT steps ({tr['sft_control']['samples']} samples)."
            if "sft_control" in tr
            else "."
        )
    ]
    prior, sft = results["prior"], results["sft"]
    lines.append(
        f"Image-blind baseline ('prior'): the best constant training report "
        f"(rule_finding_f1 {prior.get('rule_finding_f1', 0):.3f}) and the per-finding mean box "
        f"(soft_f1 {prior.get('soft_f1', 0):.3f}). SFT wrote {sft.get('distinct_reports', 0)} distinct "
        f"reports for {sft.get('n_reports', 0)} test images."
    )
    for a, b in COMPARISONS:
        comp = f"{a}_vs_{b}"
        if comp in results["paired"]:
            lines.append(f"{a} vs {b}: " + "; ".join(verdict(comp, m) for m in CLAIM) + ".")
    lines.append(results["claim"]["reading"])
    for name, info in tr.items():
        if info.get("time_guard_hit") is not None:
            lines.append(
                f"The time guard stopped {name} at step {info['time_guard_hit']} of "
                f"{info['steps_planned']}: these numbers depend on machine speed."
            )
    monitors = results.get("grpo_monitors")
    if monitors is not None:
        alarms = monitors.get("alarms", [])
        lines.append(
            "GRPO reward-hacking alarms: "
            + ("; ".join(f"step {a['step']}: {a['message']}" for a in alarms) if alarms else "none raised")
            + f" (held-out evaluations at steps {', '.join(str(e['step']) for e in monitors.get('evals', []))})."
        )
    lines.append(
        "Paired differences: bootstrap over test items and approximate randomisation, "
        f"{cfg.n_resamples} resamples each. Synthetic data and a tiny model: this shows what each stage "
        "learns, not clinical quality."
    )
    return "\n".join(lines)


def _report_stats(eval_dir: Path) -> dict[str, int]:
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


def _split(records: Sequence, task: str, n: int | None = None) -> list:
    out = [r for r in records if r.task.value == task]
    return out if n is None else out[:n]


def sampled_reports(model: Any, processor: Any, records: Sequence, base_dir: Path, cfg: DemoConfig) -> list[list[str]]:
    """``cfg.samples`` reports per report record, sampled at temperature 1 with seeds ``cfg.seed * 1000 + k`` (seeded
    per record, so independent of batch size and order)."""
    from radgrpo.eval.generate import generate_predictions

    limits = eval_config(cfg, "sft").generation_limits()
    runs = [
        generate_predictions(
            model,
            processor,
            records,
            base_dir,
            batch_size=cfg.eval_batch_size,
            max_new_tokens=limits,
            progress=False,
            do_sample=True,
            temperature=1.0,
            seed=cfg.seed * 1000 + k,
        )
        for k in range(cfg.samples)
    ]
    return [[run[i].answer for run in runs] for i in range(len(records))]


def diagnostic_stage(cfg: DemoConfig, val: Sequence, data_dir: Path) -> dict[str, Any]:
    """The pre-RL diagnostic and gate on the validation split (readers world): SFT's greedy and sampled mention
    rates per finding on positive and negative studies, and :func:`radgrpo.eval.mention_rates.gate`; written to
    ``OUT/diagnostic.json``."""
    from radgrpo.eval.generate import generate_predictions
    from radgrpo.eval.mention_rates import gate
    from radgrpo.models.qwen3_vl import load_model_and_processor

    reports = _split(val, "report_generation")
    model, processor = load_model_and_processor(Path(cfg.out) / "sft")
    model.eval()
    limits = eval_config(cfg, "sft").generation_limits()
    greedy = generate_predictions(
        model, processor, reports, data_dir, batch_size=cfg.eval_batch_size, max_new_tokens=limits, progress=False
    )
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
    reports = _split(test, "report_generation")
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


def run_demo(cfg: DemoConfig) -> dict:
    """Run the pipeline; returns the results dict written to ``OUT/results.json``."""
    from radgrpo.data.synth import synthesize
    from radgrpo.eval.baselines import baseline_predictions
    from radgrpo.eval.pipeline import evaluate_predictions
    from radgrpo.eval.report.html import write_report_from_dirs
    from radgrpo.models.qwen3_vl import load_processor
    from radgrpo.models.tiny import TinyModelConfig, build_tiny_model
    from radgrpo.records import read_jsonl
    from radgrpo.train.callbacks import HeldOutCallback
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
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out)
    timings: dict[str, float] = {}
    results: dict[str, Any] = {"training": {}, "world": cfg.world}
    readers = cfg.world == "readers"
    n_stages = 8 + int(cfg.control) + 2 * int(readers)
    counter = iter(range(1, n_stages + 1))

    def stage(title: str) -> float:
        stage_rule(f"{next(counter)}/{n_stages} {title}")
        return time.time()

    t = stage(f"synthetic chest X-rays ({cfg.world} world)")
    synth = synth_config(cfg)
    synthesize(synth)
    data_dir = Path(synth.out)
    train, val, test = (read_jsonl(data_dir / f"{s}.jsonl") for s in ("train", "val", "test"))
    timings["data"] = time.time() - t

    t = stage("tiny Qwen3-VL (random init, local tokenizer)")
    corpus = [s for r in train[:3000] for s in (r.question, r.answer)]
    init_dir = build_tiny_model(
        out / STAGE_MODELS["untrained"], corpus, TinyModelConfig(image_size=cfg.image_size, seed=cfg.seed)
    )
    timings["build"] = time.time() - t

    t = stage("evaluate the untrained model and the image-blind baselines")
    results["untrained"] = evaluate_stage(test, data_dir, "untrained", cfg)
    preds, info = baseline_predictions(train, test)
    results["prior"] = evaluate_predictions(preds, test, eval_config(cfg, "prior"), meta={"baselines": info})
    results["baselines"] = info
    console.print(f"  prior: {summary_line(results['prior'])} (constant report: {info['constant_report']!r})")
    timings["eval_untrained_prior"] = time.time() - t

    t = stage(f"SFT ({cfg.sft_steps} steps, held-out curve every {cfg.sft_eval_every})")
    limits = eval_config(cfg, "sft").generation_limits()
    heldout_records = [
        r for task in ("report_generation", "abnormality_grounding") for r in _split(val, task, cfg.heldout_samples)
    ]
    heldout = HeldOutCallback(
        heldout_scorer(heldout_records, data_dir, load_processor(init_dir), cfg.eval_batch_size, limits),
        cfg.sft_eval_every,
    )
    sft_dir = run_sft(sft_config(cfg), callbacks=[heldout])
    results["training"]["sft"] = train_info(sft_dir, cfg.sft_steps, cfg.sft_batch_size, "sft")
    timings["sft"] = time.time() - t

    t = stage("evaluate SFT")
    results["sft"] = evaluate_stage(test, data_dir, "sft", cfg)
    timings["eval_sft"] = time.time() - t

    if readers:
        t = stage(f"pre-RL diagnostic and gate on the validation split (greedy and {cfg.samples} samples at T=1)")
        results["diagnostic"] = diagnostic_stage(cfg, val, data_dir)
        print_gate(results["diagnostic"])
        timings["diagnostic"] = time.time() - t

        t = stage(f"decoding-only baseline: SFT sampled {cfg.samples}x, findings named above the utility's thresholds")
        results["sft_decoding"] = decoding_stage(cfg, test, data_dir)
        timings["sft_decoding"] = time.time() - t

    rewards = list(stage_config("grpo")["reward_funcs"])
    t = stage(f"GRPO from SFT ({cfg.grpo_steps} steps; rewards {' + '.join(rewards)})")
    grpo_dir = run_grpo(grpo_config(cfg))
    results["training"]["grpo"] = train_info(
        grpo_dir, cfg.grpo_steps, cfg.grpo_batch_size // cfg.grpo_num_generations, "grpo"
    )
    seen = grpo_seen_prompts(grpo_dir)
    if seen is not None:
        results["training"]["grpo"]["prompts_seen"] = seen
        results["grpo_sampling"] = json.loads((grpo_dir / "sampling.json").read_text())
    results["grpo_monitors"] = json.loads((grpo_dir / "monitors.json").read_text())
    timings["grpo"] = time.time() - t

    t = stage("evaluate GRPO")
    results["grpo"] = evaluate_stage(test, data_dir, "grpo", cfg)
    timings["eval_grpo"] = time.time() - t

    stages = [s for s in STAGES if (s != "sft_control" or cfg.control) and (s != "sft_decoding" or readers)]
    if cfg.control:
        steps = cfg.control_steps(seen)
        t = stage(
            f"compute-matched control: SFT continued for {steps} steps "
            f"({steps * cfg.sft_batch_size} samples >= the {seen or cfg.grpo_prompts} prompts GRPO saw)"
        )
        ctrl_dir = run_sft(sft_config(cfg, control=True, prompts=seen))
        results["training"]["sft_control"] = train_info(ctrl_dir, steps, cfg.sft_batch_size, "sft_control")
        results["sft_control"] = evaluate_stage(test, data_dir, "sft_control", cfg)
        timings["sft_control"] = time.time() - t

    t = stage("paired tests and the report")
    for s in stages:
        results[s].update(_report_stats(out / f"eval_{s}"))
    results["paired"] = paired_tests(out, [(a, b) for a, b in COMPARISONS if a in stages and b in stages], cfg)
    claim = claim_verdict(results["paired"])
    results["claim"] = {**claim, "reading": _claim_line(claim, results["training"]["sft"]["steps_done"], cfg)}
    notes = _notes(results, cfg, rewards)
    logs = {
        name: json.loads((out / name / "log_history.json").read_text())
        for name in ("sft", "grpo", "sft_control")
        if (out / name / "log_history.json").exists()
    }
    write_report_from_dirs(
        out / "report.html",
        {s: out / f"eval_{s}" for s in stages},
        records=test,
        base_dir=data_dir,
        title=f"radgrpo demo ({cfg.world} world): untrained, image-blind prior, SFT, decoding-only, SFT control, GRPO",
        notes=notes,
        logs=logs,
        paired=results["paired"],
        diagnostic=results.get("diagnostic"),
    )
    timings["report"] = time.time() - t
    results["notes"] = notes
    results["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    (out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    return results


def _wide() -> Console:
    """A console at least 120 columns wide, so the tables stay legible in a log file or a narrow terminal."""
    return Console(width=max(console.width, 120))


def print_gate(diag: dict) -> None:
    """The diagnostic's mention rates per finding and the gate's conditions on the console."""
    table = Table(title="pre-RL diagnostic (validation split): share of studies whose report names the finding")
    for col in (
        "finding",
        "n pos",
        "greedy pos",
        "sampled pos",
        "greedy neg",
        "sampled neg",
        "subtle: greedy",
        "subtle: sampled",
        "readers pos",
    ):
        table.add_column(col, justify="left" if col == "finding" else "right")

    def f(v: Any) -> str:
        return "-" if v is None else f"{v:.2f}"

    for label, r in diag["rates"].items():
        table.add_row(
            label,
            str(r["n_pos"]),
            f(r["greedy_pos"]),
            f(r["sampled_pos"]),
            f(r["greedy_neg"]),
            f(r["sampled_neg"]),
            f(r["greedy_subtle"]),
            f(r["sampled_subtle"]),
            f(r["reference_pos"]),
        )
    _wide().print(table)
    for c in diag["conditions"]:
        mark = "[green]pass[/]" if c["passed"] else "[red]fail[/]"
        console.print(f"  gate {c['name']}: {mark} ({c['target']}; value {c['value']})")
    u = diag["utility"]
    console.print(
        f"  utility per study vs reference: greedy {u['reference']['greedy']:.3f}, threshold "
        f"{u['reference']['threshold']:.3f}; vs truth: greedy {u['truth']['greedy']:.3f}, threshold "
        f"{u['truth']['threshold']:.3f}"
    )


def print_table(results: dict) -> None:
    """The metric table (one column per stage) and the GRPO-vs-SFT paired differences on the console."""
    stages = [s for s in STAGES if s in results]
    table = Table(title="radgrpo demo: held-out synthetic test split (greedy)")
    table.add_column("metric")
    for s in stages:
        table.add_column(s, justify="right")
    for m in TABLE_METRICS:
        row = [m]
        for s in stages:
            v = results.get(s, {}).get(m)
            row.append("-" if v is None else (str(v) if m == "n" else f"{v:.3f}"))
        table.add_row(*row)
    _wide().print(table)
    paired = Table(title="paired differences (95% bootstrap CI, randomisation p)")
    for col in ("comparison", "metric", "diff", "95% CI", "p"):
        paired.add_column(col, justify="left" if col in ("comparison", "metric") else "right")
    for comp in ("grpo_vs_sft", "grpo_vs_sft_control", "grpo_vs_sft_decoding"):
        for m, r in results.get("paired", {}).get(comp, {}).items():
            lo, hi = r["ci95"]
            paired.add_row(comp, m, f"{r['diff']:+.3f}", f"[{lo:+.3f}, {hi:+.3f}]", f"{r['p_value']:.4f}")
    _wide().print(paired)
    if "claim" in results:
        _wide().print(results["claim"]["reading"])


def main(argv: list[str] | None = None) -> int:
    """``radgrpo demo`` entry point."""
    cfg = parse_config(DemoConfig, argv, prog="radgrpo demo")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.time()
    if cfg.thinking:
        from radgrpo.cli.demo_thinking import print_thinking_table, run_thinking_demo

        results = run_thinking_demo(cfg)
        print_thinking_table(results)
        console.print(
            f"[bold]done in {time.time() - t0:.0f} s[/] -> {Path(cfg.out) / 'thinking' / 'results.json'}, "
            f"{Path(cfg.out) / 'thinking' / 'report.html'}"
        )
        return 0
    results = run_demo(cfg)
    print_table(results)
    console.print(
        f"[bold]done in {time.time() - t0:.0f} s[/] -> {Path(cfg.out) / 'results.json'}, "
        f"{Path(cfg.out) / 'report.html'}"
    )
    return 0
