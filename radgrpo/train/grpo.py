"""GRPO on TRL's ``GRPOTrainer`` with radgrpo rewards chosen by name (docs/method.md#grpo).

The paper's settings are shipped presets (``grpo/paper_report``, ``grpo/paper_grounding``: ``radgrpo configs list``);
the verl -> TRL mapping and its traps are in ``radgrpo.train.verl``. Rewards come from ``radgrpo.rewards.registry``;
a reward returns ``None`` for samples it does not apply to (mixed report + grounding batches work).

Example:
    $ radgrpo grpo --config grpo/paper_grounding --model_name_or_path sft_out --train_file train.jsonl
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radgrpo.data.export.trl import records_to_grpo_dataset
from radgrpo.rewards.registry import get_reward
from radgrpo.train.common import (
    callbacks_for,
    finish,
    load_processor_for,
    load_train_records,
    peft_config_for,
    train_resuming,
)
from radgrpo.train.configs import RadGRPOConfig


def build_rewards(cfg: RadGRPOConfig) -> list[Any]:
    """Reward callables for ``cfg.reward_funcs`` (unknown names raise with the valid list)."""
    rewards = []
    for name in cfg.reward_funcs:
        kwargs = {"variant": cfg.soft_f1_variant} if name == "grounding_soft_f1" else {}
        rewards.append(get_reward(name, **kwargs))
    return rewards


def run_grpo(cfg: RadGRPOConfig, callbacks: list[Any] | None = None) -> Path:
    """Train and save into ``cfg.output_dir``; returns that folder.

    Args:
        cfg: the resolved config (``radgrpo grpo`` flags / YAML); rewards are looked up by ``cfg.reward_funcs``.
        callbacks: extra ``transformers.TrainerCallback`` objects (the opt-in wall-clock guard is added from ``cfg``).
    Returns:
        ``Path(cfg.output_dir)`` holding the final model, processor, ``config.yaml`` and ``log_history.json``.
    """
    from trl import GRPOTrainer

    from radgrpo.models.qwen3_vl import load_model

    rewards = build_rewards(cfg)
    records, base = load_train_records(cfg)
    dataset = records_to_grpo_dataset(records, base, thinking=cfg.thinking)
    processor = load_processor_for(cfg)
    processor.tokenizer.padding_side = "left"
    if cfg.model_name_or_path is None or cfg.output_dir is None:  # RadGRPOConfig requires both; this narrows the types
        raise ValueError("run_grpo needs cfg.model_name_or_path and cfg.output_dir")
    model = load_model(cfg.model_name_or_path)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=rewards,
        args=cfg,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=peft_config_for(cfg),
        callbacks=callbacks_for(cfg) + list(callbacks or []),
    )
    train_resuming(trainer, cfg.output_dir)
    return finish(trainer, processor, cfg)
