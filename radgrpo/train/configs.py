"""Training configs: TRL's ``SFTConfig``/``GRPOConfig`` plus radgrpo's fields; YAML keys = fields = CLI flags.

Parsed by ``trl.TrlParser`` (``--config`` file or shipped name such as ``sft/demo_cpu`` first, flags override). On
a machine without CUDA the configs switch to CPU (``use_cpu=True``, ``bf16=False``) so the same YAML runs in tests
and on a cluster. Every run writes its resolved config to ``output_dir/config.yaml``.

Presets ship in the package: ``sft/demo_cpu``, ``sft/paper``, ``grpo/demo_cpu``, ``grpo/paper_report``,
``grpo/paper_grounding`` (``radgrpo configs list``; the verl -> TRL mapping: docs/method.md#verl-to-trl-mapping).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import GRPOConfig, SFTConfig


def _cpu_fallback(cfg) -> None:
    import torch

    if not torch.cuda.is_available():
        cfg.use_cpu = True
        cfg.bf16 = False
        cfg.fp16 = False


@dataclass
class _RadFields:
    model_name_or_path: str | None = field(default=None, metadata={"help": "hub id or local folder of the model"})
    train_file: str | None = field(default=None, metadata={"help": "records JSONL (images relative to its folder)"})
    tasks: list[str] | None = field(default=None, metadata={"help": "keep only these tasks (default: all)"})
    max_train_samples: int = field(default=0, metadata={"help": "cap on training records (0 = all)"})
    time_limit_s: float = field(
        default=0.0,
        metadata={
            "help": "opt-in wall-clock guard (s); > 0 stops training when exceeded and logs time_guard_hit (training "
            "length is max_steps / epochs, so results do not depend on machine speed)"
        },
    )
    min_pixels: int | None = field(default=None, metadata={"help": "image min pixels (paper: 1024)"})
    max_pixels: int | None = field(default=None, metadata={"help": "image max pixels (paper: 451584)"})
    thinking: bool = field(default=False, metadata={"help": "append ' /think' to prompts (thinking mode)"})
    use_lora: bool = field(default=False, metadata={"help": "train LoRA adapters instead of all weights"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})


def _check(cfg) -> None:
    if cfg.model_name_or_path is None:
        raise ValueError("--model_name_or_path is required (a hub id or a local folder)")
    if cfg.train_file is None:
        raise ValueError("--train_file is required (a records JSONL, e.g. from `radgrpo data synth`)")
    if cfg.time_limit_s < 0:
        raise ValueError(f"--time_limit_s must be >= 0, got {cfg.time_limit_s}")


@dataclass
class RadSFTConfig(SFTConfig, _RadFields):
    """``trl.SFTConfig`` + radgrpo fields. Defaults suited to VLM data: assistant-only loss, no truncation."""

    def __post_init__(self) -> None:
        _check(self)
        _cpu_fallback(self)
        super().__post_init__()


@dataclass
class RadGRPOConfig(GRPOConfig, _RadFields):
    """``trl.GRPOConfig`` + radgrpo fields; ``reward_funcs`` are names from ``radgrpo rewards list``."""

    reward_funcs: list[str] = field(
        default_factory=lambda: ["grounding_soft_f1"],
        metadata={"help": "reward names (radgrpo rewards list); weights via --reward_weights"},
    )
    soft_f1_variant: str = field(default="paper_code", metadata={"help": "grounding soft-F1: paper_code or dice"})

    def __post_init__(self) -> None:
        _check(self)
        if not self.reward_funcs:
            raise ValueError("--reward_funcs needs at least one reward name (see `radgrpo rewards list`)")
        _cpu_fallback(self)
        super().__post_init__()
