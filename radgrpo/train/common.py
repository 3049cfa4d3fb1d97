"""What SFT and GRPO share: reading the training records, the model/processor, LoRA, resume, saving outputs."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from radgrpo.config import save_config
from radgrpo.errors import check_path
from radgrpo.records import Record, read_jsonl

logger = logging.getLogger("radgrpo.train")


def check_run_paths(cfg: Any) -> None:
    """The paths a training config names, checked before any work: ``train_file``, ``mix_file`` (when ``mix_share``
    draws from it), and ``output_dir`` (a folder, or not there yet).

    Raises:
        radgrpo.errors.UserPathError: one line naming the flag and the path.
    """
    check_path(cfg.train_file, "--train_file")
    if getattr(cfg, "mix_file", None) and getattr(cfg, "mix_share", 0):
        check_path(cfg.mix_file, "--mix_file")
    if cfg.output_dir:
        check_path(cfg.output_dir, "--output_dir", kind="out")


def read_task_records(path: str | os.PathLike, tasks: Any, flag: str = "--train_file") -> list[Record]:
    """The records of a JSONL file, only ``tasks`` when given; a missing file raises naming ``flag``
    (:class:`radgrpo.errors.UserPathError`)."""
    path = check_path(path, flag)
    records = read_jsonl(path)
    return [r for r in records if r.task.value in set(tasks)] if tasks else records


def load_train_records(cfg: Any) -> tuple[list[Record], Path]:
    """Training records (task filter, cap) and the folder their image paths are relative to."""
    path = Path(cfg.train_file)
    records = read_task_records(path, cfg.tasks)
    if cfg.max_train_samples:
        records = records[: cfg.max_train_samples]
    if not records:
        raise ValueError(f"no training records left in {path} (tasks={cfg.tasks})")
    return records, path.parent


def load_processor_for(cfg: Any) -> Any:
    """The processor with the config's pixel bounds; right padding for training."""
    from radgrpo.models.qwen3_vl import load_processor

    return load_processor(
        cfg.model_name_or_path, min_pixels=cfg.min_pixels, max_pixels=cfg.max_pixels, padding_side="right"
    )


def peft_config_for(cfg: Any) -> Any:
    """A LoRA config when ``use_lora``, else None."""
    if not cfg.use_lora:
        return None
    from radgrpo.models.qwen3_vl import lora_config

    return lora_config(r=cfg.lora_r, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout)


def last_checkpoint(output_dir: str | os.PathLike) -> str | None:
    """The newest ``checkpoint-*`` folder of a previous run in ``output_dir`` (training resumes from it)."""
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(output_dir)) if Path(output_dir).is_dir() else None


def train_resuming(trainer: Any, output_dir: str | os.PathLike) -> None:
    """``trainer.train()``, continuing from the newest checkpoint in ``output_dir`` when one exists.

    The callbacks' own state (budgets, monitors, the best checkpoint so far) is restored from that checkpoint first
    (:func:`radgrpo.train.callbacks.restore_callback_states`), so a run killed after a checkpoint and started again
    with the same command continues as if it had never stopped.
    """
    from radgrpo.train.callbacks import restore_callback_states

    ckpt = last_checkpoint(output_dir)
    if ckpt is not None:
        logger.info("resuming from %s", ckpt)
        restore_callback_states(trainer.callback_handler.callbacks, ckpt)
    trainer.train(resume_from_checkpoint=ckpt)


def callbacks_for(cfg: Any) -> list[Any]:
    """The wall-clock guard callback when ``time_limit_s`` is set (opt-in; it stops and reports, never schedules)."""
    if cfg.time_limit_s and cfg.time_limit_s > 0:
        from radgrpo.train.callbacks import TimeGuardCallback

        return [TimeGuardCallback(cfg.time_limit_s)]
    return []


def dry_run(trainer: Any, cfg: Any) -> Path:
    """Train the one step of a ``--dry_run`` (no resume, no checkpoint, no model saved) and write what it measured
    (:func:`dry_run_report`); returns ``output_dir``."""
    import time

    start = time.perf_counter()
    trainer.train()
    dry_run_report(trainer, cfg, time.perf_counter() - start)
    return Path(cfg.output_dir)


def dry_run_report(trainer: Any, cfg: Any, seconds: float) -> dict[str, Any]:
    """What a ``--dry_run`` measured, written to ``output_dir/dry_run.json`` by the main process: the step's wall
    seconds (model load excluded), peak memory (CUDA: ``torch.cuda.max_memory_allocated`` of this process's device;
    CPU: the process's peak resident set, model load included), the last logged values (loss, rewards, token
    counts) and the parameter counts. No model is saved."""
    import json
    import resource
    import sys

    import torch

    model = trainer.model
    params = {id(p): p for p in model.parameters()}.values()
    if torch.cuda.is_available():
        peak, kind = int(torch.cuda.max_memory_allocated()), "cuda max_memory_allocated"
    else:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak, kind = int(rss if sys.platform == "darwin" else rss * 1024), "process peak RSS"
    logged = [r for r in trainer.state.log_history if "loss" in r]
    report = {
        "dry_run": True,
        "seconds": round(seconds, 3),
        "peak_memory_bytes": peak,
        "peak_memory_kind": kind,
        "parameters": sum(p.numel() for p in params),
        "trainable_parameters": sum(p.numel() for p in params if p.requires_grad),
        "per_device_train_batch_size": cfg.per_device_train_batch_size,
        "world_size": trainer.accelerator.num_processes,
        "logged": logged[-1] if logged else {},
    }
    if trainer.is_world_process_zero():
        out = Path(cfg.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "dry_run.json").write_text(json.dumps(report, indent=1))
        logger.warning(
            "dry run: one step in %.1f s, peak memory %.2f GiB (%s); %s written, no model saved",
            seconds,
            peak / 2**30,
            kind,
            out / "dry_run.json",
        )
    return report


def finish(trainer: Any, processor: Any, cfg: Any, records: list[Record] | None = None) -> Path:
    """Save the final model (merged if LoRA), processor, config.yaml, log history and model card into ``output_dir``.

    ``trainer.save_model`` gathers ZeRO-3 / FSDP shards and writes on the main process; everything else is written by
    the main process only, then all ranks wait. With ``push_to_hub`` the folder (with its model card) is uploaded.
    """
    import json

    from radgrpo.train.model_card import keep_model_card, write_model_card

    out = Path(cfg.output_dir)
    model = trainer.model
    if cfg.use_lora and hasattr(model, "merge_and_unload"):
        if trainer.is_world_process_zero():
            model.merge_and_unload().save_pretrained(out)
    else:
        trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        processor.tokenizer.padding_side = "left"
        processor.save_pretrained(out)
        pc = out / "processor_config.json"
        if pc.exists():  # keep the folder loadable by AutoProcessor where torchvision exists
            from radgrpo.models.processor import add_video_processor_block

            add_video_processor_block(out)
        save_config(cfg, out)
        (out / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1))
        write_model_card(out, cfg, records=records)
    trainer.accelerator.wait_for_everyone()
    if getattr(cfg, "push_to_hub", False):
        keep_model_card(trainer)
        trainer.push_to_hub()
    return out
