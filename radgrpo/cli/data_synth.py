"""``radgrpo data synth``: write a synthetic chest X-ray instruction dataset.

What it is: a thin wrapper over :func:`radgrpo.data.synth.synthesize` (flags = YAML keys =
:class:`~radgrpo.data.sources.synthetic.SynthConfig` fields) that prints a rich table of record counts. What it is
not: the real-dataset build (``radgrpo data build``, :mod:`radgrpo.cli.data_build`).

Example:
    $ radgrpo data synth --config data/synth_demo
    $ radgrpo data synth --out data/synth --n_train 2000 --findings cardiomegaly "pleural effusion"
"""

from __future__ import annotations

import sys
import time

from radgrpo.config import parse_config
from radgrpo.data.sources.synthetic import SynthConfig
from radgrpo.data.synth import synthesize


def print_counts(counts: dict[str, dict[str, int]], title: str = "synthetic records per split × task") -> None:
    """Print ``{split: {task: n}}`` as a rich table with row and column totals."""
    from rich.console import Console
    from rich.table import Table

    tasks = list(dict.fromkeys(t for c in counts.values() for t in c))
    table = Table(title=title)
    table.add_column("split")
    for task in tasks:
        table.add_column(task, justify="right")
    table.add_column("total", justify="right")
    for split, c in counts.items():
        table.add_row(split, *[str(c.get(t, 0)) for t in tasks], str(sum(c.values())))
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    """``radgrpo data synth``: returns 0 on success, 2 on a bad config (message on stderr)."""
    try:
        cfg = parse_config(SynthConfig, argv, prog="radgrpo data synth")
    except ValueError as e:
        print(f"radgrpo data synth: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    counts = synthesize(cfg, progress=True)
    print_counts(counts)
    print(f"wrote {cfg.out}/images, train.jsonl, test.jsonl, config.yaml in {time.time() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
