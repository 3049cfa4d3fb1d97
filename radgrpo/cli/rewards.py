"""``radgrpo rewards list``: the reward names GRPO configs accept in ``reward_funcs``, with one line each.

Example:
    >>> list_main(["--names"]) == 0  # doctest: +ELLIPSIS
    bertscore
    bleu4
    ...
    True
"""

from __future__ import annotations

from radgrpo.config import FlagParser


def list_main(argv: list[str] | None = None) -> int:
    """Print every registered reward name and its description (``--names`` prints names only).

    Args:
        argv: command-line flags after ``radgrpo rewards list``.
    Returns:
        exit code 0.
    Raises:
        ConfigError: an unknown flag (printed in one line by ``radgrpo.cli.main``).
    """
    p = FlagParser(prog="radgrpo rewards list", description="List the registered reward names.")
    p.add_argument("--names", action="store_true", help="print only the names, one per line")
    args = p.parse_args(argv or [])
    from radgrpo.rewards.registry import REWARDS, list_rewards

    for name in list_rewards():
        print(name if args.names else f"{name:<24} {REWARDS[name][1]}")
    return 0
