"""Supervised fine-tuning on TRL's ``SFTTrainer`` (docs/method.md#sft; cold-start thinking SFT uses the same path).

Assistant-only loss on the answer tokens, no truncation of VLM rows (docs/training.md#what-sft-does), full fine-tuning
or LoRA, resume from the newest checkpoint in ``output_dir``, and an opt-in wall-clock guard; length is set in steps.

Example:
    $ radgrpo sft --config sft/demo_cpu --model_name_or_path tiny --train_file data/train.jsonl
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radgrpo.data.export.trl import records_to_sft_dataset
from radgrpo.train.common import (
    callbacks_for,
    finish,
    load_processor_for,
    load_train_records,
    peft_config_for,
    train_resuming,
)
from radgrpo.train.configs import RadSFTConfig


def run_sft(cfg: RadSFTConfig, callbacks: list[Any] | None = None) -> Path:
    """Train and save into ``cfg.output_dir``; returns that folder.

    Args:
        cfg: the resolved config (``radgrpo sft`` flags / YAML).
        callbacks: extra ``transformers.TrainerCallback`` objects (the opt-in wall-clock guard is added from ``cfg``).
    Returns:
        ``Path(cfg.output_dir)`` holding the final model, processor, ``config.yaml`` and ``log_history.json``.
    """
    from trl import SFTTrainer

    from radgrpo.models.qwen3_vl import load_model

    records, base = load_train_records(cfg)
    dataset = records_to_sft_dataset(records, base, thinking=cfg.thinking)
    processor = load_processor_for(cfg)
    if cfg.model_name_or_path is None or cfg.output_dir is None:  # RadSFTConfig requires both; this narrows the types
        raise ValueError("run_sft needs cfg.model_name_or_path and cfg.output_dir")
    model = load_model(cfg.model_name_or_path)
    trainer = SFTTrainer(
        model=model,
        args=cfg,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=peft_config_for(cfg),
        callbacks=callbacks_for(cfg) + list(callbacks or []),
    )
    train_resuming(trainer, cfg.output_dir)
    return finish(trainer, processor, cfg, records=records)
