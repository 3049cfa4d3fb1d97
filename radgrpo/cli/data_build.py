"""``radgrpo data build``: real dataset roots -> RadVLM instruction set.

What it is: a thin command-line wrapper over :func:`radgrpo.data.build.build_dataset` (flags = YAML keys =
:class:`~radgrpo.data.build.DataConfig` fields), with a rich statistics table. What it is not: the check of the roots
(``radgrpo data validate``, :mod:`radgrpo.cli.data_validate`) or the synthetic data command (``radgrpo data synth``,
:mod:`radgrpo.cli.data_synth`).

Example:
    $ radgrpo configs cp data/radvlm radvlm.yaml      # then set the dataset roots in it
    $ radgrpo data validate --config radvlm.yaml
    $ radgrpo data build --config radvlm.yaml --out data/radvlm
"""

from __future__ import annotations

import sys
from typing import Any

from radgrpo.config import parse_config
from radgrpo.data.build import DataConfig, build_dataset


def print_stats(stats: dict[str, Any]) -> None:
    """Print records per source × task and dropped rows per block with reasons (rich tables)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    tasks = sorted({t for c in stats["table"].values() for t in c})
    t = Table(title="records per source × task (all splits)")
    t.add_column("source")
    for task in tasks:
        t.add_column(task, justify="right")
    t.add_column("total", justify="right")
    for src, c in stats["table"].items():
        t.add_row(src, *[str(c.get(task, 0)) for task in tasks], str(sum(c.values())))
    console.print(t)
    d = Table(title="dropped rows (reason: count) and repairs")
    d.add_column("block")
    d.add_column("dropped")
    d.add_column("repaired (kept)")
    for name, st in stats["blocks"].items():
        drops = st["drops"]
        d.add_row(
            name + (" (resumed)" if st.get("resumed") else ""),
            ", ".join(f"{k}: {v}" for k, v in drops["counts"].items()) or "-",
            ", ".join(f"{k}: {v}" for k, v in drops.get("notes", {}).items()) or "-",
        )
    console.print(d)
    leaks = stats["patients_in_several_splits"]["count"]
    console.print(
        f"splits: {stats['splits']}; patients in several splits: {leaks}; exports: "
        f"{dict(stats['exports'])}; {stats['seconds']} s"
    )


def main(argv: list[str] | None = None) -> int:
    """``radgrpo data build``: returns 0 on success, 2 when the roots are not ready (problems printed)."""
    cfg = parse_config(DataConfig, argv, prog="radgrpo data build")
    try:
        stats = build_dataset(cfg)
    except ValueError as e:
        print(f"radgrpo data build: {e}", file=sys.stderr)
        return 2
    print_stats(stats)
    print(f"wrote {cfg.out}/records, stats.json", flush=True)
    return 0
