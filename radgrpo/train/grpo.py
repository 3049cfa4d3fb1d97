"""GRPO on TRL's ``GRPOTrainer`` with radgrpo rewards chosen by name (docs/method.md#grpo).

The paper's settings are shipped presets (``grpo/paper_report``, ``grpo/paper_grounding``, ``grpo/paper_joint``:
``radgrpo configs list``); the verl -> TRL mapping and its traps are in ``radgrpo.train.verl``. Rewards come from
``radgrpo.rewards.registry`` with their options from ``reward_kwargs``; a reward returns ``None`` for samples it does
not apply to (mixed report + grounding batches work).

Before the first step, :func:`preflight` resolves every reward's scoring models (one error lists all that are
missing) and scores one real training sample of each task with every reward; nothing is written to ``output_dir``
until it passes. During training, :class:`RadGRPOTrainer` (TRL's trainer plus a few lines) feeds each rollout batch
to a :class:`radgrpo.train.monitors.RunMonitor`: per-task statistics, the reward-failure stop and the
reward-hacking alarms, logged through ``report_to``; :class:`radgrpo.train.heldout.HeldOutEvalCallback` scores a
fixed held-out subset every ``eval_steps`` when ``eval_file`` is set.

Example:
    $ radgrpo grpo --config grpo/paper_grounding --model_name_or_path sft_out --train_file train.jsonl
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from radgrpo.config import ConfigError
from radgrpo.data.export.trl import records_to_grpo_dataset
from radgrpo.errors import check_path
from radgrpo.records import Record
from radgrpo.rewards.registry import get_reward
from radgrpo.thinking import is_thinking, split_thinking
from radgrpo.train.common import (
    callbacks_for,
    check_run_paths,
    dry_run,
    finish,
    load_processor_for,
    load_train_records,
    peft_config_for,
    train_resuming,
)
from radgrpo.train.configs import RadGRPOConfig
from radgrpo.train.grpo_sampling import SamplingCallback, SamplingState, SamplingTrainerMixin, weighted_rewards
from radgrpo.train.monitors import MonitorCallback, RunMonitor

logger = logging.getLogger("radgrpo.train")


class PreflightError(ConfigError):
    """A reward cannot score the training data (a model is missing, a sample fails, a task has no reward)."""


def build_rewards(cfg: RadGRPOConfig) -> list[Any]:
    """Reward callables for ``cfg.reward_funcs``, each with its ``cfg.reward_kwargs`` options.

    Raises:
        ConfigError: an unknown reward name or option (the message names the nearest valid one), or a bad option
            value.
    """
    rewards = []
    options = cfg.reward_kwargs if isinstance(cfg.reward_kwargs, dict) else {}
    for name in cfg.reward_funcs:
        try:
            rewards.append(get_reward(name, **options.get(name, {})))
        except (KeyError, TypeError, ValueError) as e:
            msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
            raise ConfigError(f"--reward_funcs {name}: {msg}") from None
    return rewards


def _sample_call(
    record: Record, base_dir: Path, thinking: bool | str, tokenizer: Any = None
) -> tuple[str, dict[str, list[Any]]]:
    """One training record as TRL's reward call: the reference answer as the completion, with ``prompts``,
    ``completion_ids`` (empty without a tokenizer) and the dataset columns."""
    ds = records_to_grpo_dataset([record], base_dir, thinking=thinking)
    row = {k: v for k, v in ds[0].items() if k != "images"}
    answer = record.answer if not is_thinking(thinking) else f"<think>checking the image</think> {record.answer}"
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"] if tokenizer is not None else []
    cols = {k: [v] for k, v in row.items() if k != "prompt"}
    return answer, {"prompts": [row["prompt"]], "completion_ids": [ids], **cols}


def preflight(
    rewards: list[Any], records: list[Record], base_dir: Path, thinking: bool | str = False, tokenizer: Any = None
) -> None:
    """Check, before any model loads, that every reward can score this training data.

    1. Every scoring model of every reward resolves (``Reward.required_models``); one error lists all missing ones
       with their files and folders.
    2. Every reward scores the first record of each task it applies to, with the record's reference answer as the
       completion, without failing.
    3. Every task in the data is scored by at least one reward (otherwise its samples train on zero advantages).

    Raises:
        PreflightError: with every problem found (exit code 2 from the CLI).
    """
    from radgrpo.metrics.loaders import ModelNotFoundError, require_models

    need: dict[str, list[str]] = {}
    folders: dict[str, str | None] = {}
    for fn in rewards:
        for model, folder in (getattr(fn, "required_models", dict)() or {}).items():
            need.setdefault(model, []).append(fn.__name__)
            if folder:
                folders[model] = folder
    try:
        require_models(need, folders, consequence="training did not start")
    except ModelNotFoundError as e:
        raise PreflightError(str(e)) from None
    first: dict[str, Record] = {}
    for r in records:
        first.setdefault(r.task.value, r)
    problems: list[str] = []
    for task, record in first.items():
        completion, cols = _sample_call(record, base_dir, thinking, tokenizer)
        scored_by = []
        for fn in rewards:
            try:
                value = fn([completion], **cols)[0]
            except Exception as e:  # a user reward that raises; radgrpo rewards count failures instead
                problems.append(f"{fn.__name__} raised on {record.id} ({task}): {type(e).__name__}: {e}")
                continue
            statuses = getattr(fn, "last_statuses", None)
            if statuses and statuses[0] == "failed":
                problems.append(f"{fn.__name__} failed on {record.id} ({task}): {getattr(fn, 'last_error', '')}")
            elif value is not None and not (isinstance(value, float) and math.isnan(value)):
                scored_by.append(fn.__name__)
        if not scored_by and not any(task in p for p in problems):
            problems.append(
                f"no reward in --reward_funcs {[fn.__name__ for fn in rewards]} scores task {task} (its samples "
                "would train on zero advantages); add a reward for it or leave it out with --tasks"
            )
    for fn in rewards:  # the preflight calls are not training: reset the counters
        for attr, value in (("n_scored", 0), ("n_failed", 0), ("last_statuses", []), ("last_error", None)):
            if hasattr(fn, attr):
                setattr(fn, attr, value)
    if problems:
        raise PreflightError("reward preflight failed, training did not start: " + "; ".join(problems))


def _trainer_class() -> Any:
    from accelerate.utils import gather_object
    from trl import GRPOTrainer

    from radgrpo.rewards.base import completion_text

    class RadGRPOTrainer(SamplingTrainerMixin, GRPOTrainer):
        """``trl.GRPOTrainer`` that hands each rollout batch's rewards to a :class:`RunMonitor` (and logs its values),
        with dynamic sampling and prompt selection (:mod:`radgrpo.train.grpo_sampling`)."""

        radgrpo_monitor: RunMonitor | None = None

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._radgrpo_rewards = rewards_per_func  # all processes' rows: dynamic sampling reads them
            monitor = self.radgrpo_monitor
            if monitor is None or self._radgrpo_scoring:  # prompt-selection scoring is not a training rollout
                return rewards_per_func
            mode = "train" if getattr(self.model, "training", True) else "eval"
            total = weighted_rewards(rewards_per_func, self.reward_weights)
            eos = {*self.eos_token_ids, self._tokenizer.pad_token_id}
            texts = [completion_text(c) for c in completions]
            local = {
                "tasks": [x.get("task") for x in inputs],
                "chars": [len(t) for t in texts],
                "answer_chars": [
                    len(split_thinking(t, "last")[0] if x.get("thinking") else t) for t, x in zip(texts, inputs)
                ],
                "tokens": [len(ids) for ids in completion_ids_list],
                "truncated": [bool(ids) and int(ids[-1]) not in eos for ids in completion_ids_list],
                "ref_chars": [len(x.get("reference_report") or "") for x in inputs],
            }
            gathered = {k: gather_object(v) for k, v in local.items()}
            statuses: dict[str, list[str]] = {}
            errors: dict[str, str | None] = {}
            for fn, name in zip(self.reward_funcs, self.reward_func_names):
                sts = getattr(fn, "last_statuses", None)
                if sts is None:
                    continue
                statuses[name] = gather_object(list(sts))
                errs = [e for e in gather_object([getattr(fn, "last_error", None) if "failed" in sts else None]) if e]
                errors[name] = errs[0] if errs else None
            logs = monitor.rollout(
                rewards=total.tolist(), statuses=statuses, errors=errors, step=int(self.state.global_step), **gathered
            )
            for k, v in logs.items():
                self._metrics[mode][k].append(v)
            return rewards_per_func

    return RadGRPOTrainer


def run_grpo(cfg: RadGRPOConfig, callbacks: list[Any] | None = None) -> Path:
    """Train and save into ``cfg.output_dir``; returns that folder.

    Args:
        cfg: the resolved config (``radgrpo grpo`` flags / YAML); rewards are looked up by ``cfg.reward_funcs``.
        callbacks: extra ``transformers.TrainerCallback`` objects (the opt-in wall-clock guard is added from ``cfg``).
    Returns:
        ``Path(cfg.output_dir)`` holding the final model, processor, ``config.yaml``, ``log_history.json``,
        ``monitors.json`` (alarms), ``sampling.json`` (rollout counts: :class:`radgrpo.train.sampling.SamplingTotals`)
        and, with ``eval_file``, ``heldout.json``.
    Raises:
        radgrpo.errors.UserPathError: a file of ``cfg`` is missing, or ``output_dir`` is a file (nothing is written).
        PreflightError: a reward cannot score the training data (nothing is written).
        RewardFailureError: a reward failed on more than ``reward_failure_threshold`` of its recent samples.
    """
    import json

    from radgrpo.models.qwen3_vl import load_model

    check_run_paths(cfg)
    if cfg.eval_file:
        check_path(cfg.eval_file, "--eval_file")
    rewards = build_rewards(cfg)
    records, base = load_train_records(cfg)
    processor = load_processor_for(cfg)
    processor.tokenizer.padding_side = "left"
    preflight(rewards, records, base, thinking=cfg.thinking, tokenizer=processor.tokenizer)
    heldout_cb = _heldout_callback(cfg)
    dataset = records_to_grpo_dataset(records, base, thinking=cfg.thinking)
    if cfg.model_name_or_path is None or cfg.output_dir is None:  # RadGRPOConfig requires both; this narrows the types
        raise ValueError("run_grpo needs cfg.model_name_or_path and cfg.output_dir")
    monitor = RunMonitor(
        num_generations=int(cfg.num_generations or 8),
        failure_threshold=cfg.reward_failure_threshold,
        window=cfg.reward_failure_window,
        min_samples=cfg.reward_failure_min_samples,
        length_ratio=cfg.hacking_length_ratio,
        patience=cfg.hacking_patience,
        min_std=cfg.dynamic_sampling_min_std,
    )
    sampling = SamplingState.from_config(cfg, dataset["task"])
    extra: list[Any] = [MonitorCallback(monitor), SamplingCallback(sampling)]
    if heldout_cb is not None:
        heldout_cb.monitor = monitor
        extra.append(heldout_cb)
    model = load_model(cfg.model_name_or_path)
    trainer = _trainer_class()(
        model=model,
        reward_funcs=rewards,
        args=cfg,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=peft_config_for(cfg),
        callbacks=callbacks_for(cfg) + extra + list(callbacks or []),
    )
    trainer.radgrpo_monitor = monitor
    trainer.radgrpo_sampling = sampling
    if heldout_cb is not None:
        heldout_cb.trainer = trainer
    if cfg.dry_run:
        return dry_run(trainer, cfg)
    train_resuming(trainer, cfg.output_dir)
    if trainer.is_world_process_zero():
        Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
        monitors = {"alarms": monitor.alarms, "evals": monitor.evals}
        (Path(cfg.output_dir) / "monitors.json").write_text(json.dumps(monitors, indent=1))
        counts = {"dynamic_sampling": cfg.dynamic_sampling, "prompt_selection": cfg.prompt_selection}
        (Path(cfg.output_dir) / "sampling.json").write_text(
            json.dumps({**counts, **sampling.totals.as_dict()}, indent=1)
        )
    return finish(trainer, processor, cfg, records=records)


def _heldout_callback(cfg: RadGRPOConfig) -> Any:
    """The held-out evaluation callback when ``cfg.eval_file`` is set (its scoring models are checked here)."""
    if not cfg.eval_file:
        return None
    from radgrpo.train.heldout import HeldOutEvalCallback

    return HeldOutEvalCallback.from_config(cfg)
