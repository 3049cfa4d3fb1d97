"""Dynamic sampling and prompt selection inside ``RadGRPOTrainer`` (the decisions are in :mod:`radgrpo.train.sampling`;
user guide: docs/training.md#dynamic-sampling and docs/training.md#prompt-selection).

:class:`SamplingTrainerMixin` sits in front of ``trl.GRPOTrainer`` and overrides ``_generate_and_score_completions``
for training rollouts (evaluation passes through):

1. *Prompt selection* (``--prompt_selection uncertainty``): when a scoring pass is due (before the first rollout,
   then every ``--prompt_selection_every`` optimizer steps), the current policy samples
   ``--prompt_selection_samples`` rollouts for each prompt of the pool with the training sampling settings, the
   training rewards score them (weighted sum) and the prompts with intermediate success become the kept set. Each
   process scores a shard of the pool; the rewards are gathered, so every process computes the same kept set. The
   rollout batch is then drawn from the kept set mixed with ``--prompt_selection_unfiltered_share`` of the whole
   training set (:class:`~radgrpo.train.sampling.PromptSource`) at generation time, so a pass at step ``t``
   shapes the batch of step ``t`` (a sampler would lag a batch: accelerate's loader fetches one batch ahead). TRL's
   data loader still runs and sets the epochs, but its rows are not used.
2. *Dynamic sampling* (``--dynamic_sampling``): the batch is generated and scored by TRL (``super()``), groups
   whose weighted-reward std is at most ``--dynamic_sampling_min_std`` are dropped, and rounds of as many fresh
   prompts (a seeded draw from the training set, or from the selection above) are generated until every process
   holds as many groups with signal as the batch had prompts, or ``--dynamic_sampling_max_rounds`` rounds ran. Every
   process runs the same rounds (the decision uses the smallest count over processes) and trains on the same number
   of groups: that smallest count, at most the batch's, rounded down so that TRL's ``steps_per_generation`` slices
   stay equal. If no group can be kept, the step trains on the first round's batch with every advantage set to 0
   (no policy-gradient signal; with ``beta > 0`` the KL term still acts), logged as ``capped`` with 0 kept groups.

Each round's rollouts pass through TRL's own metrics and radgrpo's :class:`~radgrpo.train.monitors.RunMonitor`, so
``tasks/<task>/zero_std_groups``, ``reward`` and ``frac_reward_zero_std`` describe all generated rollouts (averaged
over rounds), before filtering. Per rollout batch it logs ``dynamic_sampling/{refill_rounds, prompts_generated,
groups_kept, groups_dropped, groups_surplus, capped}`` and ``prompt_selection/unfiltered_share``; per scoring pass
``prompt_selection/{pool, kept, kept_share, completions}`` and ``prompt_selection/<task>/{pool, kept}``. The counts
are summed over processes. :class:`SamplingState` keeps the draws, the kept set and the run's totals
(:class:`~radgrpo.train.sampling.SamplingTotals`, written to ``sampling.json``); :class:`SamplingCallback` saves it
with every checkpoint, so a resumed run keeps its kept set and draws on.

Advantages are TRL's, computed per round: with ``scale_rewards: batch`` the std is that round's, dropped groups
included.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any

from radgrpo.train.callbacks import StatefulCallback
from radgrpo.train.sampling import (
    PromptSource,
    SamplingTotals,
    group_unit,
    groups_with_signal,
    intermediate_prompts,
    needs_refill,
    pool_subset,
    trainable_groups,
)

logger = logging.getLogger("radgrpo.train")


def weighted_rewards(rewards_per_func: Any, weights: Any) -> Any:
    """TRL's reward of each completion: the weighted sum of the rewards that scored it, NaN where none did.

    Args:
        rewards_per_func: ``(N, n_rewards)`` tensor (NaN: that reward did not score the completion).
        weights: ``(n_rewards,)`` tensor.
    Returns:
        ``(N,)`` tensor.
    """
    total = (rewards_per_func * weights.to(rewards_per_func.device).unsqueeze(0)).nansum(dim=1)
    total[rewards_per_func.isnan().all(dim=1)] = float("nan")
    return total


class SamplingState:
    """The sampling options of one run and what they carry across steps and checkpoints.

    Args:
        n_prompts: rows of the training dataset.
        tasks: each row's task (None: unknown), for the per-task counts and ``selection_tasks``.
        seed: the run's seed (draws are seeded from it, independently of TRL's sampler).
        dynamic_sampling, max_rounds, min_std: the ``--dynamic_sampling*`` options.
        selection, every, samples, pool, unfiltered_share, selection_min_std, selection_tasks: the
            ``--prompt_selection*`` options.
    """

    def __init__(
        self,
        n_prompts: int,
        tasks: Sequence[str | None],
        seed: int = 0,
        dynamic_sampling: bool = False,
        max_rounds: int = 4,
        min_std: float = 1e-6,
        selection: str = "none",
        every: int = 0,
        samples: int = 4,
        pool: int = 0,
        unfiltered_share: float = 0.2,
        selection_min_std: float = 1e-6,
        selection_tasks: Sequence[str] | None = None,
    ) -> None:
        self.n_prompts, self.tasks, self.seed = int(n_prompts), list(tasks), int(seed)
        self.dynamic_sampling, self.max_rounds, self.min_std = bool(dynamic_sampling), int(max_rounds), float(min_std)
        self.selection = selection != "none"
        self.every, self.samples, self.pool = int(every), int(samples), int(pool)
        self.selection_min_std = float(selection_min_std)
        self.selection_tasks = set(selection_tasks) if selection_tasks else None
        share = float(unfiltered_share) if self.selection else 0.0
        self.source = PromptSource(self.n_prompts, self.seed, share, tag="rollouts")
        self.scored_at: int | None = None  # optimizer step of the last scoring pass
        self.totals = SamplingTotals()

    @classmethod
    def from_config(cls, cfg: Any, tasks: Sequence[str | None]) -> SamplingState:
        """The state for a ``RadGRPOConfig`` and the training rows' tasks."""
        return cls(
            n_prompts=len(tasks),
            tasks=tasks,
            seed=cfg.seed,
            dynamic_sampling=cfg.dynamic_sampling,
            max_rounds=cfg.dynamic_sampling_max_rounds,
            min_std=cfg.dynamic_sampling_min_std,
            selection=cfg.prompt_selection,
            every=cfg.prompt_selection_every,
            samples=cfg.prompt_selection_samples,
            pool=cfg.prompt_selection_pool,
            unfiltered_share=cfg.prompt_selection_unfiltered_share,
            selection_min_std=cfg.prompt_selection_min_std,
            selection_tasks=cfg.prompt_selection_tasks,
        )

    def selection_due(self, step: int) -> bool:
        """Whether a scoring pass runs before the rollout batch of optimizer step ``step``."""
        if not self.selection:
            return False
        return self.scored_at is None or (self.every > 0 and step - self.scored_at >= self.every)

    def filtered(self, i: int) -> bool:
        """Whether prompt ``i`` is scored and filtered (its task is in ``selection_tasks``, or that is unset)."""
        return self.selection_tasks is None or self.tasks[i] in self.selection_tasks

    def state_dict(self) -> dict[str, Any]:
        return {"source": self.source.state_dict(), "scored_at": self.scored_at, "totals": self.totals.as_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.source.load_state_dict(state["source"])
        self.scored_at = None if state.get("scored_at") is None else int(state["scored_at"])
        self.totals.load(state.get("totals", {}))


class SamplingCallback(StatefulCallback):
    """Saves a :class:`SamplingState` with each checkpoint (restored on resume: the kept set, draws and totals)."""

    def __init__(self, state: SamplingState) -> None:
        self.sampling = state

    def state_dict(self) -> dict[str, Any]:
        return self.sampling.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampling.load_state_dict(state)


def rollout_prompts(rows: Sequence[dict[str, Any]]) -> list[Any]:
    """The prompts of dataset rows as TRL's ``_generate_and_score_completions`` hands them to ``_generate``: the
    images of the ``images`` (or ``image``) column moved into the conversation."""
    from trl.data_utils import prepare_multimodal_messages

    prompts = [x["prompt"] for x in rows]
    if "images" in rows[0]:
        images = [x.get("images") for x in rows]
    elif "image" in rows[0]:
        images = [[x["image"]] if x.get("image") is not None else None for x in rows]
    else:
        return prompts
    if all(not im for im in images):
        return prompts
    return [prepare_multimodal_messages(p, images=im) for p, im in zip(prompts, images)]


class SamplingTrainerMixin:
    """Mixed into ``RadGRPOTrainer`` in front of ``trl.GRPOTrainer``: dynamic sampling and prompt selection.

    Relies on ``_calculate_rewards`` (``RadGRPOTrainer``'s) storing the gathered rewards of its last call in
    ``_radgrpo_rewards`` and skipping the monitor while ``_radgrpo_scoring`` is set.
    """

    radgrpo_sampling: SamplingState | None = None
    _radgrpo_scoring: bool = False
    _radgrpo_rewards: Any = None

    # TRL attributes this mixin uses (declared for mypy; GRPOTrainer sets them)
    accelerator: Any
    args: Any
    model: Any
    state: Any
    train_dataset: Any
    num_generations: Any
    reward_weights: Any
    _metrics: Any
    _pending_extra_logs: Any
    _pending_metrics: Any
    _tokenizer: Any

    # ---- helpers ----
    def _gather_sum(self, values: Sequence[float]) -> list[float]:
        import torch

        t = torch.tensor([float(v) for v in values], device=self.accelerator.device)
        return self.accelerator.gather(t).view(-1, len(values)).sum(dim=0).tolist()

    def _gather_min(self, value: int) -> int:
        import torch

        t = torch.tensor([int(value)], device=self.accelerator.device)
        return int(self.accelerator.gather(t).min().item())

    def _local_rewards(self, n_local: int) -> list[float]:
        """This process's rows of the weighted rewards of the last ``_calculate_rewards`` call."""
        total = weighted_rewards(self._radgrpo_rewards, self.reward_weights)
        start = self.accelerator.process_index * n_local
        return total[start : start + n_local].tolist()

    def _rows(self, indices: Sequence[int], repeat: int) -> list[dict[str, Any]]:
        rows = []
        for i in indices:
            row = self.train_dataset[int(i)]
            rows += [dict(row) for _ in range(repeat)]
        return rows

    def _draw(self, n_local_prompts: int) -> tuple[list[dict[str, Any]], list[bool]]:
        """Rows for ``n_local_prompts`` prompts of this process (each ``num_generations`` times) from the state's
        prompt source, and whether each prompt came from the whole training set. All processes draw the same global
        list and take their slice."""
        assert self.radgrpo_sampling is not None
        rank, world = self.accelerator.process_index, self.accelerator.num_processes
        idx, from_all = self.radgrpo_sampling.source.draw(n_local_prompts * world)
        mine = slice(rank * n_local_prompts, (rank + 1) * n_local_prompts)
        return self._rows(idx[mine], self.num_generations), from_all[mine]

    @contextlib.contextmanager
    def _scoring(self, samples: int) -> Iterator[None]:
        """Generation and rewards for prompt selection without touching the training logs, token count or monitor."""
        saved = {mode: {k: list(v) for k, v in d.items()} for mode, d in self._metrics.items()}
        tokens, generations = self.state.num_input_tokens_seen, self.num_generations
        self._radgrpo_scoring, self.num_generations = True, samples
        try:
            yield
        finally:
            self._radgrpo_scoring, self.num_generations = False, generations
            self.state.num_input_tokens_seen = tokens
            for mode, d in self._metrics.items():
                d.clear()
                d.update(saved.get(mode, {}))
            self._pending_extra_logs.clear()
            self._pending_metrics.clear()

    # ---- prompt selection ----
    def _score_prompt_pool(self) -> None:
        """One scoring pass: score the pool with the current policy and replace the kept set (same on all ranks)."""
        st = self.radgrpo_sampling
        assert st is not None
        n_pass = st.totals.selection_passes
        pool = [i for i in pool_subset(st.n_prompts, st.pool, st.seed, n_pass) if st.filtered(i)]
        always = [i for i in range(st.n_prompts) if not st.filtered(i)]
        rank, world = self.accelerator.process_index, self.accelerator.num_processes
        per_call = max(1, self.args.per_device_train_batch_size * self.args.steps_per_generation // st.samples)
        calls = math.ceil(len(pool) / (per_call * world)) if pool else 0
        padded = pool + [pool[-1]] * (calls * per_call * world - len(pool)) if pool else []
        scores: dict[int, list[float]] = {}
        with self._scoring(st.samples):
            for c in range(calls):
                chunk = padded[c * per_call * world : (c + 1) * per_call * world]
                rows = self._rows(chunk[rank * per_call : (rank + 1) * per_call], st.samples)
                prompts = rollout_prompts(rows)
                _, completion_ids, _, completions, *_ = self._generate(prompts)  # type: ignore[attr-defined]
                rewards = self._calculate_rewards(rows, prompts, completions, completion_ids)  # type: ignore[attr-defined]
                total = weighted_rewards(rewards, self.reward_weights).tolist()
                for j, i in enumerate(chunk):
                    if c * per_call * world + j < len(pool):
                        scores[i] = total[j * st.samples : (j + 1) * st.samples]
        kept_scored = intermediate_prompts(scores, st.selection_min_std)
        kept = sorted(kept_scored + always)
        st.source.set_kept(kept)
        st.scored_at = int(self.state.global_step)
        completions_n = calls * per_call * world * st.samples
        t = st.totals
        t.selection_passes += 1
        t.selection_prompts_scored += len(pool)
        t.selection_completions += completions_n
        if not kept:
            logger.warning("prompt selection: no prompt has intermediate success; drawing from the whole training set")
        metrics = self._metrics["train"]
        metrics["prompt_selection/pool"].append(float(len(pool)))
        metrics["prompt_selection/kept"].append(float(len(kept_scored)))
        metrics["prompt_selection/kept_share"].append(len(kept_scored) / len(pool) if pool else math.nan)
        metrics["prompt_selection/completions"].append(float(completions_n))
        kept_set = set(kept_scored)
        for task in sorted({str(st.tasks[i]) for i in pool}):
            of_task = [i for i in pool if str(st.tasks[i]) == task]
            metrics[f"prompt_selection/{task}/pool"].append(float(len(of_task)))
            metrics[f"prompt_selection/{task}/kept"].append(float(sum(i in kept_set for i in of_task)))

    # ---- the rollout batch ----
    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        st = self.radgrpo_sampling
        if st is None or not self.model.training:
            return super()._generate_and_score_completions(inputs)  # type: ignore[misc]
        n_local, group = len(inputs), self.num_generations
        prompts_local = n_local // group
        from_all: list[bool] | None = None
        if st.selection:
            if st.selection_due(int(self.state.global_step)):
                self._score_prompt_pool()
            inputs, from_all = self._draw(prompts_local)
        if st.dynamic_sampling:
            return self._dynamic_sampling(inputs, from_all, prompts_local)
        out = super()._generate_and_score_completions(inputs)  # type: ignore[misc]
        self._count(rounds=1, prompts_local=prompts_local, trained=list(range(prompts_local)), from_all=from_all)
        return out

    def _dynamic_sampling(
        self, inputs: list[dict[str, Any]], from_all: list[bool] | None, target: int
    ) -> dict[str, Any]:
        """Generate rounds until every process holds ``target`` groups with signal (or the cap); the batch to train."""
        import torch

        from radgrpo.train.rollouts import concat_rollouts, loss_tokens, select_rows

        st = self.radgrpo_sampling
        assert st is not None
        group = self.num_generations
        n_local = target * group
        # the kept groups' rows (a piece per round) and, per kept group, whether its prompt came from the whole set
        pieces: list[dict[str, Any]] = []
        kept_flags: list[bool] = []
        have, rounds, dropped, with_signal = 0, 1, 0, 0

        def take(batch: dict[str, Any], sig: list[bool], flags: list[bool] | None) -> None:
            nonlocal have, dropped, with_signal
            groups = [g for g, s in enumerate(sig) if s]
            dropped += len(sig) - len(groups)
            with_signal += len(groups)
            groups = groups[: target - have]
            if groups:
                pieces.append(select_rows(batch, [g * group + k for g in groups for k in range(group)]))
                kept_flags.extend(flags[g] if flags is not None else True for g in groups)
                have += len(groups)

        unit = group_unit(group, self.args.steps_per_generation)
        fallback: dict[str, Any] | None = super()._generate_and_score_completions(inputs)  # type: ignore[misc]
        assert fallback is not None
        take(fallback, groups_with_signal(self._local_rewards(n_local), group, st.min_std), from_all)
        least = self._gather_min(have)  # the same on every process, so every process runs the same rounds
        while needs_refill(least, target, rounds, st.max_rounds):
            if least >= unit:
                fallback = None  # some groups will be trained: the zero-advantage batch is no longer needed
            rows, flags = self._draw(target)
            batch = super()._generate_and_score_completions(rows)  # type: ignore[misc]
            rounds += 1
            take(batch, groups_with_signal(self._local_rewards(n_local), group, st.min_std), flags)
            least = self._gather_min(have)
        n_train = trainable_groups(least, target, unit)
        if n_train == 0:  # nothing to learn from on some process: train on zero advantages (see the module docstring)
            assert fallback is not None
            out = dict(fallback)
            out["advantages"] = torch.zeros_like(fallback["advantages"])
            trained = list(range(target))
            trained_flags = from_all
        else:
            out = concat_rollouts(pieces, pad_token_id=self._tokenizer.pad_token_id)
            out = select_rows(out, list(range(n_train * group))) if n_train < have else out
            out["num_items_in_batch"] = self.accelerator.gather(loss_tokens(out)).sum()
            trained = list(range(n_train))
            trained_flags = kept_flags[:n_train] if from_all is not None else None
        kept_local = n_train
        sums = self._gather_sum([dropped, with_signal, kept_local])
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/refill_rounds"].append(float(rounds - 1))
        metrics["dynamic_sampling/groups_kept"].append(sums[2])
        metrics["dynamic_sampling/groups_dropped"].append(sums[0])
        metrics["dynamic_sampling/groups_surplus"].append(sums[1] - sums[2])
        metrics["dynamic_sampling/capped"].append(float(n_train < target))
        t = st.totals
        t.groups_dropped += int(sums[0])
        t.refill_rounds += rounds - 1
        t.capped_batches += int(n_train < target)
        t.no_signal_batches += int(n_train == 0)
        self._count(rounds=rounds, prompts_local=target, trained=trained, from_all=trained_flags, ds_log=True)
        return out

    def _count(
        self,
        rounds: int,
        prompts_local: int,
        trained: list[int],
        from_all: list[bool] | None,
        ds_log: bool = False,
    ) -> None:
        """Add one rollout batch to the totals and log its prompt counts (summed over processes).

        ``trained`` lists the local groups the step trains on; ``from_all`` (prompt selection) says for each of
        them whether its prompt came from the whole training set.
        """
        st = self.radgrpo_sampling
        assert st is not None
        unfiltered = sum(from_all[g] for g in trained) if from_all is not None else 0
        generated, n_trained, n_unfiltered = self._gather_sum([rounds * prompts_local, len(trained), unfiltered])
        t = st.totals
        t.rollout_batches += 1
        t.prompts_generated += int(generated)
        t.completions_generated += int(generated) * self.num_generations
        t.groups_trained += int(n_trained)
        metrics = self._metrics["train"]
        if ds_log:
            metrics["dynamic_sampling/prompts_generated"].append(generated)
        if from_all is not None:
            t.prompts_trained_unfiltered += int(n_unfiltered)
            t.prompts_trained_selected += int(n_trained - n_unfiltered)
            metrics["prompt_selection/unfiltered_share"].append(n_unfiltered / n_trained if n_trained else math.nan)
