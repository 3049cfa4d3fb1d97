"""Rewards in TRL's signature ``fn(completions, **columns) -> list[float | None]``, built on ``radgrpo.metrics``.

Choose them by name (:func:`radgrpo.rewards.registry.get_reward`); ``None`` marks samples a reward does not apply to
or failed on (counted and logged), never a silent 0.
"""

from radgrpo.rewards.registry import get_reward, list_rewards, register_reward

__all__ = ["get_reward", "list_rewards", "register_reward"]
