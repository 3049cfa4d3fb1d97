"""radgrpo's own training options, kept free of TRL so ``radgrpo sft/grpo --help`` lists them in well under a second.

:class:`RadFields` are the options SFT and GRPO share (model, data, images, LoRA, wall-clock guard, the held-out
evaluation: ``radgrpo.train.heldout``); :class:`GRPOFields` are GRPO's (rewards and their options, the reward-failure
stop, the reward-hacking alarm, dynamic sampling and prompt selection: ``radgrpo.train.sampling``).
``radgrpo.train.configs`` mixes them into TRL's ``SFTConfig``/``GRPOConfig``, so every field here is a YAML key and a
flag of the same name. Each field's ``metadata`` holds its ``help``; its group (the
heading ``--help`` prints it under) is in :data:`GROUPS`.

Example:
    >>> from dataclasses import fields
    >>> [f.name for f in fields(GRPOFields)][:2]
    ['reward_funcs', 'reward_kwargs']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: field name -> the heading ``--help`` lists it under (filled by :func:`_opt`, in definition order)
GROUPS: dict[str, str] = {}
_pending: list[str] = []


def _opt(default: Any, help: str, group: str, **extra: Any) -> Any:
    """A dataclass field with ``help`` metadata (plus ``extra`` argparse keywords such as ``nargs``/``const``, which
    HfArgumentParser passes on); its group is recorded when the class is built (:func:`_grouped`)."""
    _pending.append(group)
    if callable(default) and not isinstance(default, (str, int, float, bool)):
        return field(default_factory=default, metadata={"help": help, **extra})
    return field(default=default, metadata={"help": help, **extra})


def _grouped(cls: Any) -> Any:
    """Record each field's group in :data:`GROUPS` (the fields of ``cls`` in the order :func:`_opt` was called)."""
    from dataclasses import fields

    names = [f.name for f in fields(cls) if f.name not in GROUPS]
    for name, group in zip(names, _pending, strict=True):
        GROUPS[name] = group
    _pending.clear()
    return cls


@_grouped
@dataclass
class RadFields:
    """Options SFT and GRPO share (YAML keys = fields = flags), the held-out evaluation's included."""

    model_name_or_path: str | None = _opt(None, "hub id or local folder of the model (required)", "model and data")
    train_file: str | None = _opt(
        None, "records JSONL; image paths resolve against its folder (required)", "model and data"
    )
    tasks: list[str] | None = _opt(None, "keep only these tasks (none given: all)", "model and data")
    max_train_samples: int = _opt(0, "cap on training records (0 = all)", "model and data")
    min_pixels: int | None = _opt(None, "image min pixels (paper: 1024)", "model and data")
    max_pixels: int | None = _opt(None, "image max pixels (paper: 451584)", "model and data")
    thinking: str = _opt(
        "off",
        "thinking mode: off, suffix (append ' /think' to prompts, the paper's RadVLM-Thinking) or native (a "
        "thinking model's own template, no suffix); rewards score the text after </think> in both; a bare "
        "--thinking means suffix, true/false are accepted",
        "model and data",
        nargs="?",
        const="suffix",
    )
    use_lora: bool = _opt(False, "train LoRA adapters instead of all weights", "LoRA")
    lora_r: int = _opt(16, "LoRA rank", "LoRA")
    lora_alpha: int = _opt(32, "LoRA alpha", "LoRA")
    lora_dropout: float = _opt(0.05, "LoRA dropout", "LoRA")
    time_limit_s: float = _opt(
        0.0,
        "opt-in wall-clock guard (s); > 0 stops training when exceeded and logs time_guard_hit (training length is "
        "max_steps / epochs, so results do not depend on machine speed)",
        "run",
    )
    dry_run: bool = _opt(
        False,
        "try a config before renting GPUs: one optimizer step on one micro-batch per process (GRPO: one prompt "
        "group of num_generations rollouts), every other key as given; writes OUTPUT_DIR/dry_run.json (seconds, "
        "peak memory, tokens) and saves no model",
        "run",
    )
    eval_file: str | None = _opt(
        None,
        "held-out records JSONL scored every --eval_steps with greedy decoding (logged as eval/<task>/<metric>)",
        "held-out evaluation",
    )
    eval_config: str | None = _opt(
        None,
        "eval YAML or shipped name (radgrpo configs list) giving the held-out metrics and generation limits "
        "(default: the evaluation defaults)",
        "held-out evaluation",
    )
    eval_max_samples: int = _opt(
        128, "held-out records per task (a fixed subset: the first N of each task; paper: 128)", "held-out evaluation"
    )
    best_metric: str | None = _opt(
        None,
        "held-out metric that picks the best checkpoint, as <task>/<metric> (default: the first metric of the "
        "first task); lower-is-better metrics are known",
        "held-out evaluation",
    )


@_grouped
@dataclass
class SFTFields:
    """SFT's own options: a second records file mixed in (cold-start thinking SFT keeps some plain records)."""

    mix_file: str | None = _opt(
        None,
        "records JSONL mixed into the training set with thinking off (e.g. plain SFT records next to the thinking "
        "traces of `radgrpo thinking generate`); images resolve against its folder",
        "model and data",
    )
    mix_share: float = _opt(
        0.0,
        "share of the final training set drawn from --mix_file (0 <= x < 1; sampled without replacement with "
        "--seed; capped by the file's size)",
        "model and data",
    )


@_grouped
@dataclass
class GRPOFields:
    """GRPO's own options (YAML keys = fields = flags)."""

    reward_funcs: list[str] = _opt(
        lambda: ["grounding_soft_f1"], "reward names (radgrpo rewards list); weights via --reward_weights", "rewards"
    )
    reward_kwargs: dict | str | None = _opt(
        None,
        'JSON mapping reward name -> options, e.g. \'{"radgraph_f1": {"level": "partial"}}\'; unknown rewards and '
        "options are rejected by name (radgrpo rewards list shows each reward's options)",
        "rewards",
    )
    reward_failure_threshold: float = _opt(
        0.05,
        "stop training when more than this share of a reward's recent scored samples failed (0 < x <= 1; 1 = never)",
        "rewards",
    )
    reward_failure_window: int = _opt(256, "recent scored samples the failure share is taken over", "rewards")
    reward_failure_min_samples: int = _opt(64, "the failure share is checked once this many samples exist", "rewards")
    hacking_length_ratio: float = _opt(
        0.6,
        "reward-hacking alarm when the mean report length falls below this share of the reference length (0 = off)",
        "held-out evaluation",
    )
    hacking_patience: int = _opt(
        3,
        "reward-hacking alarm when the training reward rises while the held-out metric falls over this many "
        "evaluations (0 = off)",
        "held-out evaluation",
    )
    dynamic_sampling: bool = _opt(
        False,
        "DAPO dynamic sampling (verl filter_groups): drop groups with reward std <= --dynamic_sampling_min_std, "
        "refill with new prompts",
        "dynamic sampling",
    )
    dynamic_sampling_max_rounds: int = _opt(
        4,
        "generation rounds per rollout batch at most, the first included (verl max_num_gen_batches); at the cap "
        "the step trains on the groups found",
        "dynamic sampling",
    )
    dynamic_sampling_min_std: float = _opt(
        1e-6, "a group whose weighted-reward std is <= this has no signal (not 0: float noise)", "dynamic sampling"
    )
    prompt_selection: str = _opt(
        "none",
        "none, or uncertainty: train on prompts whose reward std over --prompt_selection_samples rollouts is above "
        "--prompt_selection_min_std (arXiv 2504.03380)",
        "prompt selection",
    )
    prompt_selection_every: int = _opt(
        0, "re-score the prompt pool every K optimizer steps (0: once, with the initial model)", "prompt selection"
    )
    prompt_selection_samples: int = _opt(4, "rollouts per prompt when scoring (>= 2)", "prompt selection")
    prompt_selection_pool: int = _opt(
        0, "prompts scored per pass (a seeded subset, redrawn each pass; 0 = all)", "prompt selection"
    )
    prompt_selection_unfiltered_share: float = _opt(
        0.2, "share of training prompts drawn from the whole training set, not the kept set", "prompt selection"
    )
    prompt_selection_min_std: float = _opt(
        1e-6,
        "keep a prompt whose scored weighted-reward std is above this (raise for continuous rewards)",
        "prompt selection",
    )
    prompt_selection_tasks: list[str] | None = _opt(
        None,
        "tasks whose prompts are scored and filtered; the others are always kept (none given: all)",
        "prompt selection",
    )
