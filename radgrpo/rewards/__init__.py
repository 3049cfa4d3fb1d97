"""Rewards in TRL's signature ``fn(completions, **columns) -> list[float | None]``, built on ``radgrpo.metrics``.

Choose them by name (:func:`radgrpo.rewards.registry.get_reward`, ``radgrpo rewards list``); ``None`` marks samples
a reward does not apply to or failed on (failures counted and logged), never a silent 0. Modules: ``base`` (the
contract, :class:`~radgrpo.rewards.base.Reward`), ``grounding`` (soft-F1), ``report`` (BLEU-4, GLEU), ``format``
(think format), ``composite`` (``RewardBreakdown``, weighted sums), ``registry``. Importing this package imports no
model code and no TRL.
"""

from radgrpo.rewards.registry import get_reward, list_rewards, register_reward

__all__ = ["get_reward", "list_rewards", "register_reward"]
