"""verl parquet export with the columns of the paper's ``verl/examples/data_preprocess/mimic_mm.py``, and the verl run
script that trains on it.

What it is (``docs/data.md#verl-parquet``): rows ``{data_source, prompt, images, ability, reward_model, extra_info}``
with ``prompt = [{"role": "user", "content": "<image>\\n" + q (+ " /think")}]``, ``images = [{"image":
"file://<abs path>", "min_pixels": 1024, "max_pixels": 451584}]``, ``ability = "radiology"``, ``reward_model =
{"style": "rule", "ground_truth": answer}`` and ``extra_info = {"id", "split", "index", "thinking"}``. The
``data_source`` names the task (:func:`verl_data_source`): the paper's ``mimic_grpo`` for report generation,
``radgrpo_<task>`` for the others, with ``_reasoning`` appended in reasoning mode, so that a reward on a mixed
parquet can route each row (``radgrpo.integrations.verl``). The prompt text is
:func:`radgrpo.data.prompts.inline_image_text`, the same question and suffix the TRL rows and evaluation send. Like
``mimic_mm.py``, the rows are shuffled with ``datasets``' permutation for seed 42
(``numpy.random.default_rng(42).permutation(N)``), train = the first ``int(0.99 N)`` and val = the next 128. Only
the first question/answer pair is used; conversation records are skipped (counted). Image paths are written
absolute: relative ones resolve against the records file's folder (or ``base``), and every exported image must exist
(:mod:`radgrpo.data.export.image_paths`). :func:`write_verl_run_script` writes ``verl_run.sh``, the paper's GRPO
settings in verl 0.9.1 keys (docs/training.md#verl). What it is not: verl's own loader.

Example:
    >>> from radgrpo.records import Record
    >>> row = record_to_verl_row(Record("r", "/a.jpg", "report_generation", "Describe.", "Clear."), "mimic_0", 0, "train")
    >>> row["data_source"], row["prompt"][0]["content"], row["reward_model"]
    ('mimic_grpo', '<image>\\nDescribe. /think', {'style': 'rule', 'ground_truth': 'Clear.'})
    >>> verl_data_source("abnormality_grounding", reasoning=True), parse_verl_data_source("mimic_grpo")
    ('radgrpo_abnormality_grounding_reasoning', (<Task.REPORT_GENERATION: 'report_generation'>, False))
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from radgrpo.data.export.image_paths import ImageCheck, RecordsArg, records_and_base, resolve_image
from radgrpo.data.prompts import inline_image_text
from radgrpo.records import Record, Task

#: The parquet columns of ``mimic_mm.py``, in order.
VERL_COLUMNS = ("data_source", "prompt", "images", "ability", "reward_model", "extra_info")
MIN_PIXELS = 32 * 32
MAX_PIXELS = 672 * 672
#: ``data_source`` of report-generation rows (the paper's name)
REPORT_DATA_SOURCE = "mimic_grpo"
#: ``data_source`` prefix of the other tasks' rows: ``radgrpo_<task>``
TASK_DATA_SOURCE_PREFIX = "radgrpo_"
#: appended to ``data_source`` in reasoning mode (the paper's ``mimic_grpo_reasoning``)
REASONING_SUFFIX = "_reasoning"


def verl_data_source(task: Task | str, reasoning: bool = False) -> str:
    """The ``data_source`` of a row of ``task``: ``mimic_grpo`` for reports, ``radgrpo_<task>`` otherwise.

    Args:
        task: the record's task.
        reasoning: append ``"_reasoning"`` (the paper's ``mimic_grpo_reasoning``).

    Example:
        >>> verl_data_source("report_generation", reasoning=True), verl_data_source("phrase_grounding")
        ('mimic_grpo_reasoning', 'radgrpo_phrase_grounding')
    """
    t = Task(task)
    base = REPORT_DATA_SOURCE if t is Task.REPORT_GENERATION else TASK_DATA_SOURCE_PREFIX + t.value
    return base + (REASONING_SUFFIX if reasoning else "")


def parse_verl_data_source(data_source: str) -> tuple[Task, bool]:
    """``(task, reasoning)`` of a ``data_source`` that :func:`verl_data_source` writes.

    Raises:
        ValueError: a data_source of another dataset.

    Example:
        >>> parse_verl_data_source("radgrpo_anatomical_grounding_reasoning")
        (<Task.ANATOMICAL_GROUNDING: 'anatomical_grounding'>, True)
        >>> parse_verl_data_source("openai/gsm8k")
        Traceback (most recent call last):
        ...
        ValueError: data_source 'openai/gsm8k' is not one radgrpo's verl export writes: mimic_grpo or radgrpo_<task> (tasks: report_generation, classification, anatomical_grounding, abnormality_grounding, detection, phrase_grounding, conversation), optionally + '_reasoning'
    """
    ds = str(data_source)
    reasoning = ds.endswith(REASONING_SUFFIX)
    base = ds[: -len(REASONING_SUFFIX)] if reasoning else ds
    if base == REPORT_DATA_SOURCE:
        return Task.REPORT_GENERATION, reasoning
    if base.startswith(TASK_DATA_SOURCE_PREFIX):
        try:
            return Task(base[len(TASK_DATA_SOURCE_PREFIX) :]), reasoning
        except ValueError:
            pass
    raise ValueError(
        f"data_source {ds!r} is not one radgrpo's verl export writes: {REPORT_DATA_SOURCE} or "
        f"{TASK_DATA_SOURCE_PREFIX}<task> (tasks: {', '.join(t.value for t in Task)}), "
        f"optionally + {REASONING_SUFFIX!r}"
    )


def record_to_verl_row(
    record: Record,
    item_id: str,
    index: int,
    split: str,
    reasoning: bool = False,
    think_suffix: bool = True,
    base: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """One verl row (the image is not checked here; :func:`write_verl` checks them all).

    Args:
        record: the record (its first question/answer pair is used).
        item_id: ``extra_info.id`` (the LLaVA id).
        index: ``extra_info.index`` (row index after shuffling).
        split: ``"train"``, ``"val"`` or ``"test"``.
        reasoning: ``data_source`` with the ``"_reasoning"`` suffix (``mimic_grpo_reasoning`` for reports).
        think_suffix: append ``" /think"`` to the prompt (``mimic_mm.py`` default; off = ``--no_think_suffix``);
            also ``extra_info.thinking``, which tells the reward to score the text after ``</think>``.
        base: folder for relative image paths (the records file's folder).

    Returns:
        The row dict with exactly :data:`VERL_COLUMNS`.

    Raises:
        ValueError: a relative image path without ``base``.
    """
    image = resolve_image(record, base)
    return {
        "data_source": verl_data_source(record.task, reasoning),
        "prompt": [{"role": "user", "content": inline_image_text(record, thinking=think_suffix)}],
        "images": [{"image": f"file://{image}", "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS}],
        "ability": "radiology",
        "reward_model": {"style": "rule", "ground_truth": record.answer},
        "extra_info": {"id": item_id, "split": split, "index": index, "thinking": bool(think_suffix)},
    }


def shuffle_split(
    n: int, seed: int = 42, train_fraction: float = 0.99, val_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """``mimic_mm.py``'s split: permutation of ``datasets.Dataset.shuffle(seed)``, train = first ``int(0.99 n)``,
    val = the next ``val_size``.

    Example:
        >>> tr, va = shuffle_split(300)
        >>> len(tr), len(va), len(set(tr) | set(va))
        (297, 3, 300)
    """
    perm = np.random.default_rng(seed).permutation(n)
    k = int(train_fraction * n)
    return perm[:k], perm[k : k + val_size]


def write_verl(
    records: RecordsArg,
    out_dir: str | os.PathLike,
    seed: int = 42,
    train_fraction: float = 0.99,
    val_size: int = 128,
    reasoning: bool = False,
    think_suffix: bool = True,
    base: str | os.PathLike | None = None,
    check_images: bool = True,
    max_prompt_length: int | None = None,
) -> dict[str, int]:
    """Write ``train.parquet`` and ``val.parquet`` (atomically) the way ``mimic_mm.py`` does.

    Args:
        records: report-generation and grounding records, or the path of a records JSONL (conversations are skipped
            and counted).
        out_dir: output folder.
        seed: shuffle seed (42 in ``mimic_mm.py``).
        train_fraction: share of rows in train.
        val_size: rows in val (taken right after train).
        reasoning: ``data_source`` variant (``_reasoning`` suffix).
        think_suffix: append ``" /think"``.
        base: folder for relative image paths; default the records file's folder when ``records`` is a path.
        check_images: every written row's image must be a file, and its image tokens (at the rows' pixel bounds,
            :data:`MIN_PIXELS` / :data:`MAX_PIXELS`) must fit in ``max_prompt_length``.
        max_prompt_length: verl's ``data.max_prompt_length``; default the run script's for the tasks written
            (:func:`verl_run_overrides`: 3072 for reports only, else 4096).

    Returns:
        ``{"train": n, "val": n, "skipped_conversation": n}``.

    Raises:
        ValueError: a relative image path without a base folder, images that do not exist (the first one and the
            count are named), or an image whose tokens alone exceed ``max_prompt_length`` (verl would drop the prompt
            or cut its image; the record and both numbers are named); nothing is written.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "a.png").write_bytes(b"")
        >>> write_verl([Record(str(i), "a.png", "report_generation", "Q", "A") for i in range(3)], d / "verl", base=d)
        {'train': 2, 'val': 1, 'skipped_conversation': 0}
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    records, base = records_and_base(records, base)
    items: list[tuple[Record, str]] = []
    skipped = 0
    for r in records:
        if r.task is Task.CONVERSATION:
            skipped += 1
            continue
        block = r.meta.get("block")
        items.append((r, f"{block}_{len(items)}" if block else r.id))
    train_idx, val_idx = shuffle_split(len(items), seed, train_fraction, val_size)
    check = ImageCheck("verl export", base)
    splits = {}
    for name, idx in (("train", train_idx), ("val", val_idx)):
        rows = []
        for i, j in enumerate(idx):
            rec, item_id = items[int(j)]
            rows.append(record_to_verl_row(rec, item_id, i, name, reasoning, think_suffix, base))
            if check_images:
                check.add(Path(rows[-1]["images"][0]["image"][len("file://") :]), rec.id)
        splits[name] = rows
    check.raise_if_missing()
    if check_images:
        tasks = sorted({rec.task.value for rec, _ in items}) or [Task.REPORT_GENERATION.value]
        limit = max_prompt_length or verl_run_overrides(tasks)["data.max_prompt_length"]
        _check_image_tokens(splits, limit)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, rows in splits.items():
        table = pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([], pa.null()) for c in VERL_COLUMNS})
        tmp = out / f"{name}.parquet.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, out / f"{name}.parquet")
        counts[name] = len(rows)
    counts["skipped_conversation"] = skipped
    return counts


def _check_image_tokens(splits: dict[str, list[dict[str, Any]]], max_prompt_length: int) -> None:
    """Raise when a row's image tokens (with ``<|vision_start|>`` / ``<|vision_end|>``) exceed ``max_prompt_length``;
    images are read (header only) only when the largest allowed image would not fit."""
    from PIL import Image

    from radgrpo.models.processor import image_token_count

    if max_prompt_length >= MAX_PIXELS // 32**2 + 2:
        return
    bad: list[tuple[str, int]] = []
    for rows in splits.values():
        for row in rows:
            img = row["images"][0]
            with Image.open(img["image"][len("file://") :]) as im:
                n = image_token_count(*im.size, img["min_pixels"], img["max_pixels"])
            if n + 2 > max_prompt_length:
                bad.append((row["extra_info"]["id"], n))
    if bad:
        rid, n = bad[0]
        raise ValueError(
            f"verl export: max_prompt_length {max_prompt_length} is too short for the image tokens of {len(bad)} "
            f"rows (the first, {rid}: {n} image tokens + 2 vision markers = {n + 2}); verl would drop these prompts "
            f"or cut their images. Raise max_prompt_length to at least {max(k for _, k in bad) + 2} or lower the "
            f"rows' max_pixels ({MAX_PIXELS})"
        )


# ---- the run script ----

#: The paper's GRPO run in verl 0.9.1 override keys, plus the verl defaults it relied on made explicit: the one table
#: of these settings. :func:`verl_run_overrides` adds the task-dependent ones; ``radgrpo.train.verl.PAPER_REPORT_VERL``
#: (the TRL mapping's input) is read from it.
VERL_RUN_SETTINGS: dict[str, Any] = {
    "algorithm.adv_estimator": "grpo",
    "algorithm.norm_adv_by_std_in_grpo": True,
    "algorithm.use_kl_in_reward": False,
    "data.train_batch_size": 512,
    "data.filter_overlong_prompts": True,
    "data.truncation": "error",
    "data.image_key": "images",
    "data.reward_fn_key": "data_source",
    "actor_rollout_ref.actor.optim.lr": 1e-6,
    "actor_rollout_ref.actor.optim.lr_scheduler_type": "constant",
    "actor_rollout_ref.actor.optim.lr_warmup_steps_ratio": 0.0,
    "actor_rollout_ref.actor.optim.weight_decay": 0.01,
    "actor_rollout_ref.actor.optim.clip_grad": 1.0,
    "actor_rollout_ref.actor.ppo_mini_batch_size": 128,
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": 4,
    "actor_rollout_ref.actor.use_kl_loss": True,
    "actor_rollout_ref.actor.kl_loss_coef": 0.01,
    "actor_rollout_ref.actor.kl_loss_type": "low_var_kl",
    "actor_rollout_ref.actor.clip_ratio_low": 0.2,
    "actor_rollout_ref.actor.clip_ratio_high": 0.28,
    "actor_rollout_ref.actor.clip_ratio_c": 3.0,
    "actor_rollout_ref.actor.loss_agg_mode": "token-mean",
    "actor_rollout_ref.actor.entropy_coeff": 0.0,
    "actor_rollout_ref.model.enable_gradient_checkpointing": True,
    "actor_rollout_ref.rollout.n": 8,
    "actor_rollout_ref.rollout.temperature": 1.0,
    "actor_rollout_ref.rollout.top_p": 1.0,
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": 4,
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": 4,
    # verl 0.9 runs every reward through its reward loop: the per-sample function under the "naive" manager
    # (the legacy "batch" manager is not registered there); radgrpo batches the concurrent calls itself
    "reward.custom_reward_function.path": "pkg://radgrpo.integrations.verl",
    "reward.custom_reward_function.name": "compute_score",
    "reward.reward_manager.name": "naive",
    "trainer.critic_warmup": 0,
    "trainer.save_freq": 20,
    "trainer.test_freq": 20,
    "trainer.logger": ["console"],
    "trainer.project_name": "radgrpo",
}
#: response tokens: report generation (the paper's report run) and any other task (the grounding run)
REPORT_RESPONSE_LENGTH = 1024
GROUNDING_RESPONSE_LENGTH = 4096
#: prompt tokens (the paper's report run: 3072; its grounding run: 4096)
REPORT_PROMPT_LENGTH = 3072
GROUNDING_PROMPT_LENGTH = 4096
#: actor micro-batch per GPU (the paper's report run: 4; its grounding run: 8)
REPORT_MICRO_BATCH = 4
GROUNDING_MICRO_BATCH = 8
#: run length: report generation (verl steps = rollout batches) and grounding (epochs), as in
#: ``grpo/paper_report|grounding`` (whose ``max_steps`` counts TRL optimizer steps: 4 per rollout batch)
REPORT_TRAINING_STEPS = 300
GROUNDING_EPOCHS = 10


def verl_run_overrides(tasks: Sequence[str]) -> dict[str, Any]:
    """The fixed verl overrides of a run on rows of ``tasks``: :data:`VERL_RUN_SETTINGS` plus prompt and response
    length, actor micro-batch and run length (report only: 3072/1024 tokens, 4 per GPU, 300 steps; with any other
    task, the paper's grounding run: 4096/4096 tokens, 8 per GPU, 10 epochs).

    Example:
        >>> kw = verl_run_overrides(["report_generation"])
        >>> kw["data.max_response_length"], kw["trainer.total_training_steps"], kw["actor_rollout_ref.rollout.n"]
        (1024, 300, 8)
        >>> verl_run_overrides(["phrase_grounding"])["trainer.total_epochs"]
        10
    """
    report_only = {Task(t) for t in tasks} <= {Task.REPORT_GENERATION}
    out = dict(VERL_RUN_SETTINGS)
    out["data.max_prompt_length"] = REPORT_PROMPT_LENGTH if report_only else GROUNDING_PROMPT_LENGTH
    out["data.max_response_length"] = REPORT_RESPONSE_LENGTH if report_only else GROUNDING_RESPONSE_LENGTH
    out["actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu"] = (
        REPORT_MICRO_BATCH if report_only else GROUNDING_MICRO_BATCH
    )
    if report_only:
        out["trainer.total_training_steps"] = REPORT_TRAINING_STEPS
    else:
        out["trainer.total_epochs"] = GROUNDING_EPOCHS
    return out


def hydra_value(value: Any) -> str:
    """A Python value as a Hydra override value (``True``, ``1e-06``, ``[console]``, ``token-mean``).

    Example:
        >>> hydra_value(True), hydra_value(1e-6), hydra_value(["console"]), hydra_value("pkg://radgrpo.x")
        ('True', '1e-06', '[console]', 'pkg://radgrpo.x')
    """
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    return str(value)


_SCRIPT_HEAD = """\
#!/usr/bin/env bash
# GRPO with verl 0.9.1 on radgrpo's verl export (written by `radgrpo data build`; docs/training.md#verl).
# The paper's settings: 8 rollouts, lr 1e-6 constant, KL loss low_var_kl (k3) 0.01, clip 0.2/0.28, dual clip 3,
# temperature 1, 512 prompts per rollout batch, 128 per update (4 updates), micro-batch 4 per GPU on 32 GPUs
# (8 for grounding). Difference from the paper's verl 0.5 job: loss_agg_mode token-mean is a global token mean in
# verl >= 0.6 (a per-micro-batch mean in 0.5).
# The reward is radgrpo.integrations.verl.compute_score (radgrpo must be installed in verl's environment):
# report rows -> REPORT_REWARD (default radcliq), grounding rows -> GROUNDING_REWARD (default grounding_soft_f1),
# scored in each reward worker, or by the reward service at RADGRPO_REWARD_URL when it is set.
# Usage: MODEL_PATH=/path/to/sft_model bash verl_run.sh [more verl overrides ...]
# A checkpoint becomes a Hugging Face folder for `radgrpo eval` with
#   python -m verl.model_merger merge --backend fsdp --local_dir "$CKPT_DIR/global_step_N/actor" --target_dir HF_DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${MODEL_PATH:?set MODEL_PATH to the SFT model folder (a Hugging Face Qwen3-VL folder)}"
NNODES="${NNODES:-4}"
N_GPUS_PER_NODE="${N_GPUS_PER_NODE:-8}"
ROLLOUT_NAME="${ROLLOUT_NAME:-vllm}"
ROLLOUT_TP="${ROLLOUT_TP:-1}"
ROLLOUT_GPU_MEMORY="${ROLLOUT_GPU_MEMORY:-0.5}"
IMAGE_PATCH_SIZE="${IMAGE_PATCH_SIZE:-16}"  # Qwen3-VL; 14 for Qwen2.5-VL
EXPERIMENT_NAME="${EXPERIMENT_NAME:-%(experiment)s}"
CKPT_DIR="${CKPT_DIR:-$PWD/checkpoints/radgrpo/$EXPERIMENT_NAME}"
REPORT_REWARD="${REPORT_REWARD:-radcliq}"
GROUNDING_REWARD="${GROUNDING_REWARD:-grounding_soft_f1}"
RADGRPO_REWARD_URL="${RADGRPO_REWARD_URL:-}"

ARGS=(
    data.train_files="$HERE/train.parquet"
    data.val_files="$HERE/val.parquet"
    data.image_patch_size="$IMAGE_PATCH_SIZE"
    actor_rollout_ref.model.path="$MODEL_PATH"
    actor_rollout_ref.rollout.name="$ROLLOUT_NAME"
    actor_rollout_ref.rollout.tensor_model_parallel_size="$ROLLOUT_TP"
    actor_rollout_ref.rollout.gpu_memory_utilization="$ROLLOUT_GPU_MEMORY"
    trainer.nnodes="$NNODES"
    trainer.n_gpus_per_node="$N_GPUS_PER_NODE"
    trainer.experiment_name="$EXPERIMENT_NAME"
    trainer.default_local_dir="$CKPT_DIR"
    +reward.custom_reward_function.reward_kwargs.report_reward="$REPORT_REWARD"
    +reward.custom_reward_function.reward_kwargs.grounding_reward="$GROUNDING_REWARD"
    "+reward.custom_reward_function.reward_kwargs.reward_url='$RADGRPO_REWARD_URL'"
"""


def verl_run_script(tasks: Sequence[str], experiment: str | None = None) -> str:
    """The text of ``verl_run.sh`` for a parquet of ``tasks`` rows (:func:`verl_run_overrides`, one per line).

    Args:
        tasks: the tasks of the exported rows (``verl_tasks`` of ``radgrpo data build``).
        experiment: default ``trainer.experiment_name`` (``$EXPERIMENT_NAME`` overrides it); ``None`` =
            ``radgrpo_report``, ``radgrpo_grounding`` or ``radgrpo_mixed`` after the tasks.
    Returns:
        a bash script: environment knobs (``MODEL_PATH`` required; ``NNODES``, ``N_GPUS_PER_NODE``, ``ROLLOUT_*``,
        ``REPORT_REWARD``, ``GROUNDING_REWARD``, ``RADGRPO_REWARD_URL``, ``CKPT_DIR``), then
        ``python3 -m verl.trainer.main_ppo`` with the overrides and the script's own arguments.

    Example:
        >>> "    actor_rollout_ref.rollout.n=8" in verl_run_script(["report_generation"]).splitlines()
        True
    """
    if experiment is None:
        kinds = {Task(t) is Task.REPORT_GENERATION for t in tasks}
        experiment = "radgrpo_" + {frozenset({True}): "report", frozenset({False}): "grounding"}.get(
            frozenset(kinds), "mixed"
        )
    lines = [_SCRIPT_HEAD % {"experiment": experiment}]
    for key, value in verl_run_overrides(tasks).items():
        lines.append(f"    {shlex.quote(f'{key}={hydra_value(value)}')}\n")
    lines.append(')\n\npython3 -m verl.trainer.main_ppo "${ARGS[@]}" "$@"\n')
    return "".join(lines)


def write_verl_run_script(out_dir: str | os.PathLike, tasks: Sequence[str], experiment: str | None = None) -> Path:
    """Write ``<out_dir>/verl_run.sh`` (executable, atomically) next to the parquet files.

    Args:
        out_dir: the folder of ``train.parquet`` / ``val.parquet`` (the script finds them there).
        tasks: the tasks of the exported rows.
        experiment: default ``trainer.experiment_name`` (see :func:`verl_run_script`).
    Returns:
        the script's path.

    Example:
        >>> import tempfile
        >>> p = write_verl_run_script(tempfile.mkdtemp(), ["report_generation"])
        >>> p.name, os.access(p, os.X_OK)
        ('verl_run.sh', True)
    """
    path = Path(out_dir) / "verl_run.sh"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(verl_run_script(tasks, experiment), encoding="utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, path)
    return path
