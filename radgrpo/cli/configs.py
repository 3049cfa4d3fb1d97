"""``radgrpo configs list`` and ``radgrpo configs cp NAME DEST``: the YAML configs shipped inside the package.

Every ``--config`` flag also takes these names directly (``radgrpo sft --config sft/demo_cpu ...``); copy one to
change more than a few flags.

Example:
    $ radgrpo configs list
    $ radgrpo configs cp grpo/paper_report my_grpo.yaml
    $ radgrpo grpo --config my_grpo.yaml --model_name_or_path runs/sft --train_file data/train.jsonl
"""

from __future__ import annotations

import argparse
import sys

from radgrpo.config import ConfigError, FlagParser
from radgrpo.configs import config_path, copy_config, list_configs

__all__ = ["describe", "main"]


def describe(name: str) -> str:
    """The first comment line of shipped config ``name`` (its one-line description; "" when it has none).

    Example:
        >>> describe("sft/demo_cpu").startswith("SFT of the tiny demo model on a CPU")
        True
    """
    for line in config_path(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""


def _parser() -> argparse.ArgumentParser:
    parser = FlagParser(prog="radgrpo configs", description="the YAML configs shipped with radgrpo")
    sub = parser.add_subparsers(dest="action", required=True, metavar="{list,cp}")
    sub.add_parser("list", help="print the shipped config names (what --config NAME accepts)")
    cp = sub.add_parser("cp", help="copy a shipped config to a file or folder to edit it")
    cp.add_argument("name", help="a shipped config name, e.g. sft/demo_cpu")
    cp.add_argument("dest", help="destination file, or an existing folder (keeps the file name)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``radgrpo configs`` entry point: 0 on success, 2 on an unknown name or an existing destination."""
    args = _parser().parse_args(argv)
    if args.action == "list":
        names = list_configs()
        width = max(len(n) for n in names)
        for name in names:
            print(f"{name:<{width}}  {describe(name)}".rstrip())
        return 0
    try:
        path = copy_config(args.name, args.dest)
    except (ConfigError, FileExistsError) as e:
        print(f"radgrpo configs cp: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
