"""Training configs: TRL's ``SFTConfig``/``GRPOConfig`` plus radgrpo's fields; YAML keys = fields = CLI flags.

Parsed by ``trl.TrlParser`` (``--config`` file or shipped name such as ``sft/demo_cpu`` first, flags override). On
a machine without CUDA the configs switch to CPU (``use_cpu=True``, ``bf16=False``) so the same YAML runs in tests
and on a cluster. Every run writes its resolved config to ``output_dir/config.yaml``.

Presets ship in the package: ``sft/demo_cpu``, ``sft/paper``, ``grpo/demo_cpu``, ``grpo/paper_report``,
``grpo/paper_grounding`` (``radgrpo configs list``; the verl -> TRL mapping: docs/method.md#verl-to-trl-mapping).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

from trl import GRPOConfig, SFTConfig

from radgrpo.config import mapping_flag
from radgrpo.thinking import thinking_mode
from radgrpo.train.fields import GRPOFields, RadFields, SFTFields
from radgrpo.train.sampling import SELECTION_MODES

# TRL 1.16's configs set `gradient_checkpointing` (True unless a config says false), which transformers 5.25 renamed
# `activation_checkpointing` and warns about on every config built. The key still works and the warning is not a
# user's to act on, so it is silenced here, by its exact text only.
warnings.filterwarnings("ignore", message="`gradient_checkpointing` is deprecated", category=FutureWarning)

#: TRL 1.16's advantage scalings (``scale_rewards``; true/false are read as group/none) and loss aggregations.
SCALE_REWARDS: tuple[str, ...] = ("group", "batch", "none")
LOSS_TYPES: tuple[str, ...] = ("grpo", "bnpo", "dr_grpo", "dapo", "cispo", "sapo", "luspo", "vespo")


def _cpu_fallback(cfg) -> None:
    import torch

    if not torch.cuda.is_available():
        cfg.use_cpu = True
        cfg.bf16 = False
        cfg.fp16 = False


def _dry_run(cfg, grpo: bool) -> None:
    """Shrink a run to one optimizer step on one micro-batch per process (``--dry_run``); other keys are kept."""
    if not cfg.dry_run:
        return
    cfg.max_steps = 1
    cfg.gradient_accumulation_steps = 1
    cfg.save_strategy = "no"
    cfg.eval_strategy = "no"
    cfg.report_to = "none"
    cfg.eval_file = None
    if grpo:
        cfg.per_device_train_batch_size = int(cfg.num_generations or 8)
        cfg.steps_per_generation = 1
        cfg.generation_batch_size = None


def _check(cfg) -> None:
    if cfg.model_name_or_path is None:
        raise ValueError("--model_name_or_path is required (a hub id or a local folder)")
    if cfg.train_file is None:
        raise ValueError("--train_file is required (a records JSONL, e.g. from `radgrpo data synth`)")
    if cfg.time_limit_s < 0:
        raise ValueError(f"--time_limit_s must be >= 0, got {cfg.time_limit_s}")
    if cfg.eval_max_samples < 1:
        raise ValueError(f"--eval_max_samples must be >= 1, got {cfg.eval_max_samples}")
    cfg.thinking = thinking_mode(cfg.thinking)


@dataclass
class RadSFTConfig(SFTConfig, RadFields, SFTFields):
    """``trl.SFTConfig`` + radgrpo fields. Defaults suited to VLM data: assistant-only loss, no truncation."""

    def __post_init__(self) -> None:
        _check(self)
        if not 0 <= self.mix_share < 1:
            raise ValueError(f"--mix_share must be in [0, 1), got {self.mix_share}")
        if self.mix_share and not self.mix_file:
            raise ValueError("--mix_share needs --mix_file (the records to mix in)")
        _dry_run(self, grpo=False)
        _cpu_fallback(self)
        super().__post_init__()


def _derived_generation_batch(cfg: Any) -> None:
    """Unset ``generation_batch_size`` when it is exactly what TRL derives from ``steps_per_generation`` (a run's
    ``config.yaml`` written before radgrpo saved it unset holds both, and TRL refuses both); two values that disagree
    are left for TRL to refuse."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    gbs, spg = cfg.generation_batch_size, cfg.steps_per_generation
    if gbs is not None and spg is not None and gbs == cfg.per_device_train_batch_size * world * spg:
        cfg.generation_batch_size = None


@dataclass
class RadGRPOConfig(GRPOConfig, RadFields, GRPOFields):
    """``trl.GRPOConfig`` + radgrpo fields; ``reward_funcs`` are names from ``radgrpo rewards list``.

    ``reward_kwargs`` (a mapping, or its JSON text from a flag) gives each reward its options; ``reward_weights``
    (TRL's) must have one weight per reward. The paper presets set ``vllm_importance_sampling_correction: false``
    (TRL's default is true; verl 0.5 had no such correction).
    """

    def to_dict(self) -> dict[str, Any]:
        """TRL's dict with ``generation_batch_size`` left unset: TRL derives it from ``steps_per_generation`` and
        refuses a config that sets both, so a run's saved ``config.yaml`` loads again as ``--config`` (and gives the
        same batches on the same number of processes)."""
        d = super().to_dict()
        d["generation_batch_size"] = None
        return d

    def __post_init__(self) -> None:
        _check(self)
        if not self.reward_funcs:
            raise ValueError("--reward_funcs needs at least one reward name (see `radgrpo rewards list`)")
        self.reward_kwargs = mapping_flag(self.reward_kwargs, "reward_kwargs")
        bad = [k for k in self.reward_kwargs if k not in self.reward_funcs]
        if bad:
            raise ValueError(f"--reward_kwargs names {bad}, which are not in --reward_funcs {list(self.reward_funcs)}")
        for name, opts in self.reward_kwargs.items():
            if not isinstance(opts, dict):
                raise ValueError(f"--reward_kwargs: the options of {name!r} must be a mapping, got {opts!r}")
        if self.reward_weights is not None and len(self.reward_weights) != len(self.reward_funcs):
            raise ValueError(
                f"--reward_weights has {len(self.reward_weights)} values for {len(self.reward_funcs)} rewards "
                f"{list(self.reward_funcs)}"
            )
        if not 0 < self.reward_failure_threshold <= 1:
            raise ValueError(f"--reward_failure_threshold must be in (0, 1], got {self.reward_failure_threshold}")
        if self.reward_failure_window < 1 or not 1 <= self.reward_failure_min_samples <= self.reward_failure_window:
            raise ValueError("--reward_failure_min_samples must be in [1, --reward_failure_window]")
        if not 0 <= self.hacking_length_ratio < 1 or self.hacking_patience < 0:
            raise ValueError("--hacking_length_ratio must be in [0, 1) and --hacking_patience >= 0")
        _check_sampling(self)
        _dry_run(self, grpo=True)
        _cpu_fallback(self)
        _derived_generation_batch(self)
        super().__post_init__()
        # TRL reads these at the first advantage / loss computation: check them before any model loads
        if self.scale_rewards not in SCALE_REWARDS:
            raise ValueError(f"--scale_rewards must be one of {', '.join(SCALE_REWARDS)}, got {self.scale_rewards!r}")
        if self.loss_type not in LOSS_TYPES:
            raise ValueError(f"--loss_type must be one of {', '.join(LOSS_TYPES)}, got {self.loss_type!r}")
        if self.dynamic_sampling:
            _check_whole_groups(self)


def _check_sampling(cfg) -> None:
    """The dynamic-sampling and prompt-selection options (radgrpo.train.sampling)."""
    if cfg.dynamic_sampling_max_rounds < 1:
        raise ValueError(f"--dynamic_sampling_max_rounds must be >= 1, got {cfg.dynamic_sampling_max_rounds}")
    for flag in (
        "dynamic_sampling_min_std",
        "prompt_selection_min_std",
        "prompt_selection_every",
        "prompt_selection_pool",
    ):
        if getattr(cfg, flag) < 0:
            raise ValueError(f"--{flag} must be >= 0, got {getattr(cfg, flag)}")
    if cfg.prompt_selection not in SELECTION_MODES:
        raise ValueError(
            f"--prompt_selection must be one of {', '.join(SELECTION_MODES)}, got {cfg.prompt_selection!r}"
        )
    if cfg.prompt_selection_samples < 2:
        raise ValueError(
            f"--prompt_selection_samples must be >= 2 (a std needs two rollouts), got {cfg.prompt_selection_samples}"
        )
    if not 0 <= cfg.prompt_selection_unfiltered_share <= 1:
        raise ValueError(
            f"--prompt_selection_unfiltered_share must be in [0, 1], got {cfg.prompt_selection_unfiltered_share}"
        )


def _check_whole_groups(cfg) -> None:
    """Dynamic sampling drops whole groups, so each process must hold whole groups (TRL lets them straddle)."""
    per_process = cfg.per_device_train_batch_size * cfg.steps_per_generation
    if per_process % cfg.num_generations:
        raise ValueError(
            f"--dynamic_sampling needs whole groups on each process: per_device_train_batch_size x "
            f"steps_per_generation = {cfg.per_device_train_batch_size} x {cfg.steps_per_generation} = {per_process} "
            f"is not a multiple of --num_generations {cfg.num_generations}; change one of the three"
        )
