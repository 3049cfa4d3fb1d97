"""``radgrpo rewards list``: the reward names GRPO configs accept in ``reward_funcs``, with one line each and the
options each takes (``reward_kwargs``, read from the reward's signature).

Example:
    >>> main(["--names"]) == 0  # doctest: +ELLIPSIS
    bertscore
    bleu4
    ...
    True
"""

from __future__ import annotations

from radgrpo.config import FlagParser


def main(argv: list[str] | None = None) -> int:
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
    from radgrpo.rewards.registry import REWARDS, list_rewards, reward_options

    for name in list_rewards():
        if args.names:
            print(name)
            continue
        print(f"{name:<24} {REWARDS[name][1]}")
        opts = reward_options(name)
        if opts:
            print(f"{'':<24} options (reward_kwargs): " + ", ".join(f"{k}={v!r}" for k, v in opts.items()))
    if args.names:
        return 0
    print("\nSet options per reward in a GRPO config: reward_kwargs: {radgraph_f1: {level: partial}} or")
    print("""--reward_kwargs '{"radgraph_f1": {"level": "partial"}}'""")
    return 0
