"""Supervised fine-tuning on TRL's ``SFTTrainer`` (docs/method.md#sft; cold-start thinking SFT uses the same path).

Assistant-only loss on the answer tokens, no truncation of VLM rows (docs/training.md#what-sft-does), full fine-tuning
or LoRA, resume from the newest checkpoint in ``output_dir``, and an opt-in wall-clock guard; length is set in steps.
With ``eval_file``, :class:`radgrpo.train.heldout.HeldOutEvalCallback` scores a fixed held-out subset every
``eval_steps``, as in GRPO (logged as ``eval_<task>/<metric>``; ``heldout.json`` names the best evaluation).

Example:
    $ radgrpo sft --config sft/demo_cpu --model_name_or_path tiny --train_file data/train.jsonl
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radgrpo.data.export.trl import records_to_sft_dataset
from radgrpo.errors import check_path
from radgrpo.records import Record
from radgrpo.train.common import (
    callbacks_for,
    check_run_paths,
    dry_run,
    finish,
    load_processor_for,
    load_train_records,
    peft_config_for,
    read_task_records,
    train_resuming,
)
from radgrpo.train.configs import RadSFTConfig


def mix_count(n_main: int, share: float, available: int) -> int:
    """How many records of the mix file join ``n_main`` training records so that they make ``share`` of the total
    (rounded, capped by ``available``).

    Example:
        >>> mix_count(950, 0.05, 10_000), mix_count(950, 0.05, 20), mix_count(950, 0.0, 100)
        (50, 20, 0)
    """
    if not 0 <= share < 1:
        raise ValueError(f"share must be in [0, 1), got {share}")
    return min(available, round(share / (1 - share) * n_main))


def sample_mix(records: Sequence[Record], n: int, seed: int) -> list[Record]:
    """``n`` records drawn without replacement with ``random.Random(seed)``, in file order.

    Example:
        >>> rs = [Record(f"r{i}", "x.png", "report_generation", "q", "a") for i in range(10)]
        >>> [r.id for r in sample_mix(rs, 3, seed=0)] == [r.id for r in sample_mix(rs, 3, seed=0)]
        True
    """
    keep = sorted(random.Random(seed).sample(range(len(records)), n))
    return [records[i] for i in keep]


def build_sft_dataset(cfg: RadSFTConfig) -> tuple[Any, list[Record]]:
    """The SFT dataset of ``cfg``: ``train_file`` in ``cfg.thinking`` mode, plus, with ``mix_file``/``mix_share``,
    records of the mix file with thinking off (the plain share of a cold-start thinking SFT), shuffled together
    with ``cfg.seed``. Returns the dataset and every record in it."""
    records, base = load_train_records(cfg)
    dataset = records_to_sft_dataset(records, base, thinking=cfg.thinking)
    if not cfg.mix_file or not cfg.mix_share:
        return dataset, records
    import datasets

    path = Path(cfg.mix_file)
    pool = read_task_records(path, cfg.tasks, "--mix_file")
    mixed = sample_mix(pool, mix_count(len(records), cfg.mix_share, len(pool)), cfg.seed)
    if not mixed:
        return dataset, records
    extra = records_to_sft_dataset(mixed, path.parent, thinking="off")
    both = datasets.concatenate_datasets([dataset, extra]).shuffle(seed=cfg.seed)
    return both, records + mixed


def check_images_fit(dataset: Any, processor: Any, max_length: int | None) -> None:
    """Stop before training when ``max_length`` would cut a row's image tokens (Qwen-VL cannot run on a cut image:
    its image features and image tokens must match). TRL truncates the end of a row, so an image is cut when the
    token after its last image token lies beyond ``max_length``.

    Per row: the rendered first user turn (chat template, one ``<|image_pad|>``) is tokenized; the image's size
    (file header only) gives its image tokens under the processor's pixel bounds. Rows are skipped without reading
    the image when even the largest image (``max_pixels``) would fit.

    Raises:
        ConfigError: one line naming the first row, where its image ends, ``max_length`` and how many rows are cut.
    """
    if max_length is None or len(dataset) == 0:
        return
    from PIL import Image

    from radgrpo.config import ConfigError
    from radgrpo.models.processor import image_token_count, pixel_bounds

    lo, hi, patch, merge = pixel_bounds(processor)
    most = hi // (patch * merge) ** 2
    tok = processor.tokenizer
    pad_id = tok.convert_tokens_to_ids("<|image_pad|>")
    table = dataset.data  # the Arrow table: image paths without decoding the images
    ids_col = table.column("id").to_pylist() if "id" in table.column_names else ["?"] * len(dataset)
    cut: list[tuple[str, int, int]] = []
    for rid, messages, images in zip(ids_col, table.column("messages").to_pylist(), table.column("images").to_pylist()):
        if not images or not images[0].get("path"):
            continue
        text = processor.apply_chat_template(messages[:1], tokenize=False)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        if pad_id not in ids or max_length >= len(ids) + most:
            continue
        start = ids.index(pad_id)
        with Image.open(images[0]["path"]) as im:
            n = image_token_count(*im.size, lo, hi, patch, merge)
        end = start + n + 1  # through <|vision_end|>
        if end > max_length:
            cut.append((str(rid), n, end))
    if cut:
        rid, n, end = cut[0]
        raise ConfigError(
            f"--max_length {max_length} would cut the image tokens of {len(cut)} of {len(dataset)} rows (the first, "
            f"{rid}: {n} image tokens ending at token {end}); Qwen-VL cannot train on a cut image. Set --max_length to "
            f"at least {max(e for _, _, e in cut)} (or null: no truncation) or lower --max_pixels (now {hi})"
        )


def run_sft(cfg: RadSFTConfig, callbacks: list[Any] | None = None) -> Path:
    """Train and save into ``cfg.output_dir``; returns that folder.

    Args:
        cfg: the resolved config (``radgrpo sft`` flags / YAML).
        callbacks: extra ``transformers.TrainerCallback`` objects (the opt-in wall-clock guard is added from ``cfg``).
    Returns:
        ``Path(cfg.output_dir)`` holding the final model, processor, ``config.yaml``, ``log_history.json`` and, with
        ``eval_file``, ``heldout.json``.
    """
    from trl import SFTTrainer

    from radgrpo.models.qwen3_vl import load_model
    from radgrpo.train.heldout import HeldOutEvalCallback

    check_run_paths(cfg)
    if cfg.eval_file:
        check_path(cfg.eval_file, "--eval_file")
    dataset, records = build_sft_dataset(cfg)
    processor = load_processor_for(cfg)
    check_images_fit(dataset, processor, cfg.max_length)
    heldout_cb = HeldOutEvalCallback.from_config(cfg) if cfg.eval_file else None  # its scoring models checked now
    if cfg.model_name_or_path is None or cfg.output_dir is None:  # RadSFTConfig requires both; this narrows the types
        raise ValueError("run_sft needs cfg.model_name_or_path and cfg.output_dir")
    model = load_model(cfg.model_name_or_path)
    trainer = SFTTrainer(
        model=model,
        args=cfg,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=peft_config_for(cfg),
        callbacks=callbacks_for(cfg) + ([heldout_cb] if heldout_cb is not None else []) + list(callbacks or []),
    )
    if heldout_cb is not None:
        heldout_cb.trainer = trainer
    if cfg.dry_run:
        return dry_run(trainer, cfg)
    train_resuming(trainer, cfg.output_dir)
    return finish(trainer, processor, cfg, records=records)
