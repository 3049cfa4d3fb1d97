"""The paper's verl GRPO settings mapped onto TRL's ``GRPOConfig``, with the traps made explicit.

The paper's report runs used verl 0.5 with ``rollout.n=8, train_batch_size=512, ppo_mini_batch_size=128`` (4
optimizer updates per rollout batch), micro-batch 4/GPU on 32 GPUs, lr 1e-6 constant, ``use_kl_loss`` with
``low_var_kl`` (k3) 0.01, clip 0.20/0.28, dual-clip 3, ``token-mean`` aggregation, temperature 1. In TRL
(docs/method.md#verl-to-trl-mapping):

- ``per_device_train_batch_size`` counts completions; GA is chosen so one optimizer step sees a verl mini-batch;
- ``steps_per_generation`` counts *micro-steps*: 4 optimizer updates per generation need ``4 × GA``;
- ``use_bias_correction_kl=False`` (TRL 1.16 defaults True; verl has no IS factor on its KL);
- verl 0.5's ``token-mean`` is a per-micro-batch token mean = TRL ``bnpo``; ``dapo`` is the global token mean of
  current verl/EasyR1;
- ``delta=3`` reproduces verl's dual clip for negative advantages.
Remaining differences (not expressible in TRL): advantage epsilon 1e-4 vs 1e-6, verl's ±20 log-ratio and ±10 KL
clamps, verl's singleton-group rule.

:func:`trl_schedule` reads a TRL config back into verl's terms (prompts per rollout batch, updates per batch, total
prompts, save/evaluation cadence in rollout batches), which is how the presets are checked against the paper.

Example:
    >>> kw = verl_to_trl(PAPER_REPORT_VERL, n_gpus=32)
    >>> kw["per_device_train_batch_size"], kw["gradient_accumulation_steps"], kw["steps_per_generation"]
    (4, 8, 32)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from radgrpo.data.export.verl import verl_run_overrides

#: The verl overrides that decide the TRL mapping (the rest of a verl run is cluster and logging settings).
MAPPED_KEYS: tuple[str, ...] = (
    "actor_rollout_ref.rollout.n",
    "data.train_batch_size",
    "actor_rollout_ref.actor.ppo_mini_batch_size",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu",
    "actor_rollout_ref.actor.optim.lr",
    "actor_rollout_ref.actor.use_kl_loss",
    "actor_rollout_ref.actor.kl_loss_coef",
    "actor_rollout_ref.actor.kl_loss_type",
    "actor_rollout_ref.actor.clip_ratio_low",
    "actor_rollout_ref.actor.clip_ratio_high",
    "actor_rollout_ref.actor.clip_ratio_c",
    "actor_rollout_ref.actor.loss_agg_mode",
    "actor_rollout_ref.actor.entropy_coeff",
    "actor_rollout_ref.rollout.temperature",
    "actor_rollout_ref.rollout.top_p",
    "data.max_response_length",
)

#: The paper's report-generation run as verl overrides: the mapped keys of the one settings table that the verl run
#: script is written from (:func:`radgrpo.data.export.verl.verl_run_overrides`), so the TRL presets and the verl script
#: cannot drift apart.
PAPER_REPORT_VERL: dict[str, Any] = {k: verl_run_overrides(["report_generation"])[k] for k in MAPPED_KEYS}
_AGG = {"token-mean": "bnpo", "seq-mean-token-mean": "grpo", "seq-mean-token-sum-norm": "dr_grpo"}


def verl_to_trl(verl: dict[str, Any], n_gpus: int, verl_version: str = "0.5") -> dict[str, Any]:
    """``GRPOConfig`` keyword arguments equivalent to verl overrides ``verl`` on ``n_gpus`` ranks.

    Args:
        verl: dotted verl overrides (keys as in :data:`PAPER_REPORT_VERL`).
        n_gpus: data-parallel ranks (``trainer.nnodes × n_gpus_per_node``).
        verl_version: ``"0.5"`` maps ``token-mean`` to ``bnpo`` (the paper's); later versions to ``dapo``.
    Returns:
        dict of GRPOConfig fields.
    Raises:
        KeyError: ``data.train_batch_size`` or ``actor_rollout_ref.actor.ppo_mini_batch_size`` is missing (no default).
        ValueError: the batch sizes do not divide, or the loss/KL mode has no TRL equivalent.
    """
    n = int(verl.get("actor_rollout_ref.rollout.n", 1))
    mini_prompts = int(verl["actor_rollout_ref.actor.ppo_mini_batch_size"])
    batch_prompts = int(verl["data.train_batch_size"])
    micro = int(verl.get("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu", 1))
    if batch_prompts % mini_prompts:
        raise ValueError("data.train_batch_size must be a multiple of ppo_mini_batch_size")
    completions_per_update = mini_prompts * n
    if completions_per_update % (micro * n_gpus):
        raise ValueError(
            f"a mini-batch of {completions_per_update} completions does not split into micro-batches "
            f"of {micro} on {n_gpus} ranks"
        )
    ga = completions_per_update // (micro * n_gpus)
    updates = batch_prompts // mini_prompts
    agg = verl.get("actor_rollout_ref.actor.loss_agg_mode", "token-mean")
    loss_type = _AGG.get(agg)
    if loss_type is None:
        raise ValueError(f"unsupported loss_agg_mode {agg!r}; known: {sorted(_AGG)}")
    if agg == "token-mean" and verl_version != "0.5":
        loss_type = "dapo"
    use_kl = bool(verl.get("actor_rollout_ref.actor.use_kl_loss", False))
    kl_type = verl.get("actor_rollout_ref.actor.kl_loss_type", "low_var_kl")
    if use_kl and kl_type not in ("low_var_kl", "k3"):
        raise ValueError(f"TRL's KL term is k3; verl kl_loss_type {kl_type!r} has no TRL equivalent")
    return {
        "num_generations": n,
        "per_device_train_batch_size": micro,
        "gradient_accumulation_steps": ga,
        "steps_per_generation": updates * ga,
        "num_iterations": 1,
        "learning_rate": float(verl.get("actor_rollout_ref.actor.optim.lr", 1e-6)),
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        "weight_decay": 0.01,
        "max_grad_norm": 1.0,
        "beta": float(verl.get("actor_rollout_ref.actor.kl_loss_coef", 0.0)) if use_kl else 0.0,
        "use_bias_correction_kl": False,
        "epsilon": float(verl.get("actor_rollout_ref.actor.clip_ratio_low", 0.2)),
        "epsilon_high": float(verl.get("actor_rollout_ref.actor.clip_ratio_high", 0.2)),
        "delta": float(verl.get("actor_rollout_ref.actor.clip_ratio_c", 3.0)),
        "loss_type": loss_type,
        "scale_rewards": "group",
        "temperature": float(verl.get("actor_rollout_ref.rollout.temperature", 1.0)),
        "top_p": float(verl.get("actor_rollout_ref.rollout.top_p", 1.0)),
        "max_completion_length": int(verl.get("data.max_response_length", 1024)),
        "vllm_importance_sampling_correction": False,
    }


def trl_schedule(cfg: Mapping[str, Any] | Any, world_size: int, train_prompts: int | None = None) -> dict[str, Any]:
    """What a TRL GRPO config does, counted as verl counts it, on ``world_size`` data-parallel ranks.

    TRL counts *optimizer steps* (``max_steps``, ``save_steps``, ``eval_steps``); one rollout (generation) batch of
    ``per_device_train_batch_size × steps_per_generation × world_size`` completions is used for
    ``steps_per_generation / gradient_accumulation_steps × num_iterations`` optimizer updates. verl counts *rollout
    batches* (its "steps": ``data.train_batch_size`` prompts each).

    Args:
        cfg: a config object or its YAML mapping (missing keys take TRL's defaults: ``gradient_accumulation_steps``
            1, ``steps_per_generation`` = GA, ``num_iterations`` 1, ``max_steps`` -1 -> epochs).
        world_size: data-parallel ranks (GPUs).
        train_prompts: training prompts in the data set; needed only for an epoch-based run's totals.
    Returns:
        ``completions_per_update``, ``prompts_per_update``, ``completions_per_rollout``, ``prompts_per_rollout``,
        ``rollouts_per_prompt``, ``updates_per_rollout``, ``optimizer_steps`` and ``rollout_batches`` (None for an
        epoch run without ``train_prompts``), ``total_prompts``, ``save_every_rollouts``, ``eval_every_rollouts``
        (None when unset).
    Raises:
        ValueError: the batch sizes do not divide into whole groups / updates.

    Example:
        >>> s = trl_schedule({"per_device_train_batch_size": 4, "gradient_accumulation_steps": 8,
        ...                   "steps_per_generation": 32, "num_generations": 8, "max_steps": 1200,
        ...                   "save_steps": 80}, world_size=32)
        >>> s["prompts_per_rollout"], s["updates_per_rollout"], s["rollout_batches"], s["total_prompts"]
        (512, 4, 300, 153600)
        >>> s["save_every_rollouts"]
        20
    """

    def get(key: str, default: Any = None) -> Any:
        value = cfg.get(key, default) if isinstance(cfg, Mapping) else getattr(cfg, key, default)
        return default if value is None else value

    per_device = int(get("per_device_train_batch_size", 8))
    ga = int(get("gradient_accumulation_steps", 1))
    spg = int(get("steps_per_generation", ga))
    n = int(get("num_generations", 8))
    mu = int(get("num_iterations", 1))
    if spg % ga:
        raise ValueError(f"steps_per_generation ({spg}) must be a multiple of gradient_accumulation_steps ({ga})")
    per_update = per_device * ga * world_size
    per_rollout = per_device * spg * world_size
    if per_rollout % n:
        raise ValueError(f"a rollout batch of {per_rollout} completions is not whole groups of {n}")
    updates = spg // ga * mu
    max_steps = int(get("max_steps", -1))
    rollouts: int | None
    if max_steps > 0:
        if max_steps % updates:
            raise ValueError(f"max_steps ({max_steps}) is not a whole number of rollout batches of {updates} updates")
        rollouts = max_steps // updates
    elif train_prompts is not None:
        per_epoch = -(-int(train_prompts) // (per_rollout // n))
        rollouts = per_epoch * int(float(get("num_train_epochs", 3)))
    else:
        rollouts = None

    def every(key: str) -> int | float | None:
        steps = get(key)
        if not steps:
            return None
        value = float(steps) / updates
        return int(value) if value.is_integer() else value

    return {
        "completions_per_update": per_update,
        "prompts_per_update": per_update / n if per_update % n else per_update // n,
        "completions_per_rollout": per_rollout,
        "prompts_per_rollout": per_rollout // n,
        "rollouts_per_prompt": n,
        "updates_per_rollout": updates,
        "optimizer_steps": None if rollouts is None else rollouts * updates,
        "rollout_batches": rollouts,
        "total_prompts": None if rollouts is None else rollouts * (per_rollout // n),
        "save_every_rollouts": every("save_steps"),
        "eval_every_rollouts": every("eval_steps"),
    }
