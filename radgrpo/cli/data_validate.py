"""``radgrpo data validate``: check that the dataset roots every block of a RadVLM build needs are in place.

What it is: a thin wrapper over :func:`radgrpo.data.build.validate_roots` (flags = YAML keys =
:class:`~radgrpo.data.build.DataConfig` fields, the same as ``radgrpo data build``); it prints each missing root.

Example:
    $ radgrpo configs cp data/radvlm radvlm.yaml      # then set the dataset roots in it
    $ radgrpo data validate --config radvlm.yaml
"""

from __future__ import annotations

from radgrpo.config import parse_config
from radgrpo.data.build import DataConfig, validate_roots

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """``radgrpo data validate``: 0 when every root needed by the blocks is in place, 1 otherwise."""
    cfg = parse_config(DataConfig, argv, prog="radgrpo data validate")
    problems = validate_roots(cfg)
    for p in problems:
        print(f"missing: {p}")
    if not problems:
        print(f"ok: all roots for {len(cfg.resolved_blocks())} blocks are in place")
    return 1 if problems else 0
