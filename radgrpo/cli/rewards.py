"""``radgrpo rewards list``: the reward names GRPO configs accept."""

from __future__ import annotations


def list_main(argv: list[str] | None = None) -> int:
    """Print every registered reward name with its description."""
    from radgrpo.rewards.registry import REWARDS

    for name in sorted(REWARDS):
        print(f"{name:<24} {REWARDS[name][1]}")
    return 0
