"""The demo's settings and the config of every stage it runs (plain and thinking).

Every stage starts from a config shipped inside the package (:data:`STAGE_CONFIGS`, :data:`THINKING_CONFIGS`;
``radgrpo configs cp NAME DEST`` to run one by hand): :class:`DemoConfig`'s defaults are those files' values, and its
flags override them (:data:`FLAG_KEYS`, plus the per-stage paths, ``seed`` and the overrides each ``*_config``
function names). Training lengths are optimizer steps.

Example:
    >>> cfg = DemoConfig(out="d", fast=True, sft_steps=40)
    >>> stage_overrides(cfg, "sft")["max_steps"], cfg.grpo_prompts, cfg.control_steps()
    (40, 6, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radgrpo.config import from_dict
from radgrpo.configs import load_config

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
    """The keys of ``stage``'s config that the demo's flags set (:data:`FLAG_KEYS`), with the flags' values."""
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
    """The SFT stage: ``sft/demo_cpu`` from ``OUT/model_init`` into ``OUT/sft``, with the demo's SFT flags and a
    held-out evaluation on the validation split (:func:`heldout_values`) every ``sft_eval_every`` steps; --fast logs
    every :data:`FAST_LOGGING_STEPS` steps.

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
        values.update(heldout_values(cfg), eval_steps=cfg.sft_eval_every)
        if cfg.fast:
            values["logging_steps"] = FAST_LOGGING_STEPS["sft"]
    return RadSFTConfig(**values)


#: GRPO's held-out evaluations during training (at the start, every max_steps / this, and at the end)
GRPO_EVALS = 4


def heldout_values(cfg: DemoConfig) -> dict[str, Any]:
    """The held-out evaluation of SFT and GRPO (:class:`radgrpo.train.heldout.HeldOutEvalCallback`): the first
    ``min(n_val, heldout_samples)`` records of each task of ``OUT/data/val.jsonl``, scored greedily with the metrics
    and generation limits of ``eval/demo_cpu``; logged as ``eval_<task>/<metric>``.

    Example:
        >>> heldout_values(DemoConfig(out="d", fast=True))["eval_max_samples"]
        8
    """
    return {
        "eval_file": str(Path(cfg.out) / "data" / "val.jsonl"),
        "eval_config": STAGE_CONFIGS["eval"],
        "eval_max_samples": min(cfg.n_val, cfg.heldout_samples),
    }


def grpo_config(cfg: DemoConfig) -> Any:
    """The GRPO stage: ``grpo/demo_cpu`` from ``OUT/sft`` into ``OUT/grpo``, with the demo's GRPO flags, and the
    held-out evaluation of :func:`heldout_values` every ``max_steps /`` :data:`GRPO_EVALS` steps; --fast logs every
    step."""
    from radgrpo.train.configs import RadGRPOConfig

    out = Path(cfg.out)
    values = _train_values(cfg, "grpo", out / "grpo", out / "sft")
    values.update(heldout_values(cfg), eval_steps=max(1, cfg.grpo_steps // GRPO_EVALS))
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


#: the shipped overlay of each thinking stage (layered over the plain stage's config)
THINKING_CONFIGS = {"sft": "sft/demo_thinking", "grpo": "grpo/demo_thinking", "eval": "eval/demo_thinking"}
#: evaluated thinking stages (model folders under OUT)
THINKING_STAGES = ("sft_thinking", "grpo_thinking")
#: paired comparisons ``a_vs_b`` (a minus b on the same test items)
THINKING_COMPARISONS = (
    ("sft_thinking", "sft"),
    ("grpo_thinking", "grpo"),
    ("grpo_thinking", "sft_thinking"),
)
#: DemoConfig fields that do not change the plain demo's results (a plain demo in OUT is reused across them)
NOT_PLAIN = frozenset({"out", "thinking", "thinking_sft_steps", "thinking_grpo_steps", "time_limit_s"})


def _layered(stage: str) -> dict[str, Any]:
    return {**stage_config(stage), **load_config(THINKING_CONFIGS[stage])}


def thinking_sft_config(cfg: DemoConfig) -> Any:
    """Thinking SFT: ``sft/demo_cpu`` + ``sft/demo_thinking`` from ``OUT/sft`` on ``OUT/cold_start/thinking.jsonl``,
    mixed with ``OUT/data/train.jsonl``, into ``OUT/sft_thinking``."""
    from radgrpo.train.configs import RadSFTConfig

    out = Path(cfg.out)
    values = {
        **_layered("sft"),
        "max_steps": cfg.thinking_sft_steps,
        "output_dir": str(out / "sft_thinking"),
        "model_name_or_path": str(out / "sft"),
        "train_file": str(out / "cold_start" / "thinking.jsonl"),
        "mix_file": str(out / "data" / "train.jsonl"),
        "seed": cfg.seed,
        "disable_tqdm": False,
        "time_limit_s": cfg.time_limit_s,
    }
    return RadSFTConfig(**values)


def thinking_grpo_config(cfg: DemoConfig) -> Any:
    """Thinking GRPO: ``grpo/demo_cpu`` + ``grpo/demo_thinking`` from ``OUT/sft_thinking`` into ``OUT/grpo_thinking``,
    with the plain demo's GRPO flags (batch, generations, LR, beta, temperature)."""
    from radgrpo.train.configs import RadGRPOConfig

    out = Path(cfg.out)
    values = {
        **_layered("grpo"),
        **stage_overrides(cfg, "grpo"),
        "max_steps": cfg.thinking_grpo_steps,
        "output_dir": str(out / "grpo_thinking"),
        "model_name_or_path": str(out / "sft_thinking"),
        "train_file": str(out / "data" / "train.jsonl"),
        "seed": cfg.seed,
        "disable_tqdm": False,
        "time_limit_s": cfg.time_limit_s,
    }
    return RadGRPOConfig(**values)
