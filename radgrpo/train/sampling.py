"""Which rollouts GRPO trains on: dynamic sampling's group filter and prompt selection by uncertainty (pure logic).

Two options of ``radgrpo grpo`` put the RL compute where the reward signal is; this module holds their decisions as
small functions on plain lists (no torch, no trainer), and :mod:`radgrpo.train.grpo_sampling` wires them into
``RadGRPOTrainer``.

- **Dynamic sampling** (DAPO, arXiv 2503.14476, section 3.3; verl's ``algorithm.filter_groups`` with
  ``max_num_gen_batches``; TRL 1.16 has no such option, trl#3708): a group (the ``num_generations`` completions of
  one prompt) whose reward std is at most ``min_std`` gives every completion a zero advantage, so it is dropped
  (:func:`groups_with_signal`) and more prompts are generated until the rollout batch is full again or the round cap
  is reached (:func:`trainable_groups`). ``min_std`` is a threshold, not ``std == 0``: rewards summed in float32 leave
  noise of 1e-8 on groups that are equal in exact arithmetic (NeMo-RL#4158).
- **Prompt selection** (balanced online difficulty filtering, arXiv 2504.03380): the policy samples a few rollouts
  per prompt; prompts it sometimes solves and sometimes fails (reward std above a threshold,
  :func:`intermediate_prompts`) form the kept set, and training prompts are drawn from it mixed with a share of
  prompts from the whole training set (:class:`PromptSource`).

Draws are seeded and replayable from a small JSON state (:meth:`PromptSource.state_dict`), so a resumed run draws
what the uninterrupted run would have drawn.

Example:
    >>> groups_with_signal([1, 1, 0, 1, 0.5, 0.5], num_generations=2, min_std=1e-6)
    [False, True, False]
    >>> trainable_groups(kept=3, target=4, unit=2)
    2
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

SELECTION_MODES = ("none", "uncertainty")


def group_stds(rewards: Sequence[float], num_generations: int) -> list[float]:
    """The Bessel-corrected std of each group's scored rewards (TRL's ``nanstd``), NaN rewards left out.

    Args:
        rewards: one reward per completion, groups of ``num_generations`` consecutive values; NaN = no reward scored it.
        num_generations: completions per prompt.
    Returns:
        one std per group; NaN when fewer than two of its rewards are scored.

    Example:
        >>> group_stds([0.0, 2.0, 1.0, float("nan")], 2)
        [1.4142135623730951, nan]
    """
    if num_generations < 1 or len(rewards) % num_generations:
        raise ValueError(f"{len(rewards)} rewards do not form groups of {num_generations}")
    out = []
    for g in range(0, len(rewards), num_generations):
        xs = [float(x) for x in rewards[g : g + num_generations] if not math.isnan(float(x))]
        if len(xs) < 2:
            out.append(math.nan)
            continue
        m = sum(xs) / len(xs)
        out.append(math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)))
    return out


def groups_with_signal(rewards: Sequence[float], num_generations: int, min_std: float) -> list[bool]:
    """Whether each group has a learning signal: its reward std is above ``min_std``.

    A group with fewer than two scored rewards has none (its std is NaN).

    Example:
        >>> rewards = [1, 1, 1, 1] + [0, 1, 0, 1] + [0.5, 0.5, 0.5, 0.5 + 1e-9]  # the last: float noise only
        >>> groups_with_signal(rewards, num_generations=4, min_std=1e-6)
        [False, True, False]
    """
    return [not math.isnan(s) and s > min_std for s in group_stds(rewards, num_generations)]


def group_unit(num_generations: int, steps_per_generation: int) -> int:
    """The smallest number of groups per process whose rows split evenly into ``steps_per_generation`` micro-batches.

    TRL cuts each process's rollout batch into ``steps_per_generation`` equal slices, so a batch of fewer groups
    must hold a multiple of this many.

    Example:
        >>> group_unit(8, 32), group_unit(8, 4), group_unit(2, 4)
        (4, 1, 2)
    """
    return steps_per_generation // math.gcd(num_generations, steps_per_generation)


def trainable_groups(kept: int, target: int, unit: int = 1) -> int:
    """Groups each process trains on: the kept groups (the smallest count over processes), at most ``target``,
    rounded down to a multiple of ``unit`` (:func:`group_unit`); 0 means no group can be trained.

    Example:
        >>> trainable_groups(kept=5, target=4), trainable_groups(kept=3, target=4, unit=2), trainable_groups(1, 4, 2)
        (4, 2, 0)
    """
    n = min(int(kept), int(target))
    return max(0, n - n % max(1, int(unit)))


def needs_refill(kept: int, target: int, rounds: int, max_rounds: int) -> bool:
    """Whether another generation round runs: fewer than ``target`` groups kept (the smallest count over processes,
    so every process decides the same) and fewer than ``max_rounds`` rounds done (the first included).

    Example:
        >>> needs_refill(kept=1, target=2, rounds=1, max_rounds=4), needs_refill(1, 2, 4, 4), needs_refill(2, 2, 1, 4)
        (True, False, False)
    """
    return kept < target and rounds < max_rounds


def intermediate_prompts(scores: Mapping[int, Sequence[float]], min_std: float) -> list[int]:
    """The prompts with intermediate success: their scored rewards' std is above ``min_std`` (the policy sometimes
    does well and sometimes not), sorted.

    Args:
        scores: prompt index -> the rewards of its scoring rollouts (NaN: no reward scored the rollout).
        min_std: threshold on the Bessel-corrected std.

    Example:
        >>> intermediate_prompts({0: [1, 1, 1, 1], 1: [0, 1, 0, 0], 2: [0, 0, 0, 0], 3: [0.2, 0.2 + 1e-9]}, 1e-6)
        [1]
    """
    return sorted(i for i, xs in scores.items() if groups_with_signal(list(xs), len(xs), min_std) == [True])


def pool_subset(n: int, size: int, seed: int, round_: int) -> list[int]:
    """The prompts one scoring pass scores: ``size`` of ``range(n)`` drawn without replacement (sorted), seeded by
    ``seed`` and the pass number; all of them when ``size`` is 0 or at least ``n``.

    Example:
        >>> pool_subset(10, 0, 0, 0) == list(range(10)), len(pool_subset(10, 4, 0, 0)), pool_subset(10, 4, 0, 1) == pool_subset(10, 4, 0, 1)
        (True, 4, True)
    """
    if size <= 0 or size >= n:
        return list(range(n))
    return sorted(random.Random(f"{seed}:pool:{round_}").sample(range(n), size))


class DrawStream:
    """An endless, seeded walk over ``pool``: a fresh permutation per pass, each element once per pass.

    The state is two integers (pass, position), so the stream resumes where it stopped.

    Example:
        >>> s = DrawStream([10, 11, 12], seed=0, tag="demo")
        >>> first = s.take(3)
        >>> sorted(first), len(s.take(4))
        ([10, 11, 12], 4)
    """

    def __init__(self, pool: Sequence[int], seed: int, tag: str) -> None:
        if not pool:
            raise ValueError("DrawStream needs a non-empty pool")
        self.pool = [int(i) for i in pool]
        self.seed, self.tag = int(seed), str(tag)
        self.epoch, self.pos = 0, 0
        self._order: list[int] | None = None

    def _permutation(self) -> list[int]:
        if self._order is None:
            self._order = list(self.pool)
            random.Random(f"{self.seed}:{self.tag}:{self.epoch}").shuffle(self._order)
        return self._order

    def take(self, k: int) -> list[int]:
        """The next ``k`` elements."""
        out: list[int] = []
        while len(out) < k:
            order = self._permutation()
            step = min(k - len(out), len(order) - self.pos)
            out += order[self.pos : self.pos + step]
            self.pos += step
            if self.pos == len(order):
                self.epoch, self.pos, self._order = self.epoch + 1, 0, None
        return out

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.epoch, self.pos, self._order = int(state["epoch"]), int(state["pos"]), None


class PromptSource:
    """Seeded prompt draws for rollouts: from a kept set, with a share drawn from all ``n`` training prompts.

    Each drawn prompt comes from the whole training set with probability ``unfiltered_share`` (or always, while
    no kept set is given or it is empty) and otherwise from the kept set; each of the two is walked as a
    :class:`DrawStream`, so no prompt repeats before its pool is used up. The kept set is replaced in place by
    :meth:`set_kept` (its stream starts over). The draws depend only on ``seed`` and the draws before, never on
    TRL's sampler, so every process draws the same prompts.

    Args:
        n: number of training prompts (indices ``0 .. n-1``).
        seed: the run's seed.
        unfiltered_share: probability that a draw ignores the kept set (0 <= x <= 1).
        tag: names the streams, so two sources with one seed draw differently.

    Example:
        >>> src = PromptSource(10, seed=0, unfiltered_share=0.0)
        >>> src.set_kept([2, 5])
        >>> idx, from_all = src.draw(4)
        >>> sorted(idx), from_all
        ([2, 2, 5, 5], [False, False, False, False])
    """

    def __init__(self, n: int, seed: int, unfiltered_share: float = 0.0, tag: str = "prompts") -> None:
        if n < 1:
            raise ValueError("PromptSource needs at least one prompt")
        if not 0.0 <= unfiltered_share <= 1.0:
            raise ValueError(f"unfiltered_share must be in [0, 1], got {unfiltered_share}")
        self.n, self.seed, self.tag = int(n), int(seed), tag
        self.unfiltered_share = float(unfiltered_share)
        self.all = DrawStream(range(self.n), self.seed, f"{tag}:all")
        self.kept: list[int] | None = None
        self.kept_version = 0
        self._kept_stream: DrawStream | None = None
        self.draws = 0  # draw() calls so far: seeds the choice between the two streams

    def set_kept(self, kept: Sequence[int] | None) -> None:
        """Draw from ``kept`` (indices into the training set) from now on; None: from the whole set only."""
        self.kept = None if kept is None else sorted({int(i) for i in kept})
        if self.kept is not None and any(not 0 <= i < self.n for i in self.kept):
            raise ValueError(f"kept indices must be in [0, {self.n})")
        self.kept_version += 1
        self._kept_stream = (
            DrawStream(self.kept, self.seed, f"{self.tag}:kept{self.kept_version}") if self.kept else None
        )

    def draw(self, k: int) -> tuple[list[int], list[bool]]:
        """``k`` prompt indices and, for each, whether it came from the whole training set (not the kept set)."""
        rng = random.Random(f"{self.seed}:{self.tag}:mix:{self.draws}")
        self.draws += 1
        from_all = [self._kept_stream is None or rng.random() < self.unfiltered_share for _ in range(k)]
        n_all = sum(from_all)
        picks_all = iter(self.all.take(n_all))
        picks_kept = iter(self._kept_stream.take(k - n_all) if self._kept_stream is not None else [])
        return [next(picks_all) if a else next(picks_kept) for a in from_all], from_all

    def state_dict(self) -> dict[str, Any]:
        return {
            "draws": self.draws,
            "all": self.all.state_dict(),
            "kept": self.kept,
            "kept_version": self.kept_version,
            "kept_stream": self._kept_stream.state_dict() if self._kept_stream is not None else None,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.draws = int(state["draws"])
        self.all.load_state_dict(state["all"])
        self.kept_version = int(state["kept_version"]) - 1
        self.set_kept(state["kept"])  # bumps kept_version back to the saved value
        if self._kept_stream is not None and state.get("kept_stream"):
            self._kept_stream.load_state_dict(state["kept_stream"])


@dataclass
class SamplingTotals:
    """Cumulative rollout counts of a GRPO run, summed over processes (written to ``output_dir/sampling.json``).

    ``prompts_generated`` counts every prompt GRPO generated training rollouts for, refills included, so a
    compute-matched SFT control can see as many prompts; ``selection_*`` count the prompt-selection scoring passes.

    Example:
        >>> t = SamplingTotals(prompts_generated=6, completions_generated=24, selection_completions=16)
        >>> t.as_dict()["completions_seen"]
        40
    """

    rollout_batches: int = 0
    prompts_generated: int = 0
    completions_generated: int = 0
    groups_trained: int = 0
    groups_dropped: int = 0
    refill_rounds: int = 0
    capped_batches: int = 0
    no_signal_batches: int = 0
    selection_passes: int = 0
    selection_prompts_scored: int = 0
    selection_completions: int = 0
    prompts_trained_unfiltered: int = 0
    prompts_trained_selected: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts plus ``prompts_seen`` and ``completions_seen`` (training rollouts + scoring)."""
        out = asdict(self)
        out["prompts_seen"] = self.prompts_generated + self.selection_prompts_scored
        out["completions_seen"] = self.completions_generated + self.selection_completions
        return out

    def load(self, state: Mapping[str, Any]) -> None:
        for f in fields(self):
            setattr(self, f.name, int(state.get(f.name, 0)))
