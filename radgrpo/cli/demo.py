"""``radgrpo demo``: the whole RadVLM-GRPO pipeline on an embedded tiny Qwen3-VL and synthetic chest X-rays.

Flags are :class:`radgrpo.recipes.demo.DemoConfig`; the work is :func:`radgrpo.recipes.demo.run_demo` (or
:func:`~radgrpo.recipes.demo.run_thinking_demo` with ``--thinking``), which writes ``OUT/results.json`` and
``OUT/report.html``. This module prints the results table.

Example:
    $ radgrpo demo --out demo_out
    $ radgrpo demo --out /tmp/d --fast --seed 1
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from radgrpo.config import parse_config
from radgrpo.recipes.demo import DemoConfig, run_demo, run_thinking_demo
from radgrpo.recipes.demo.notes import console, print_table, print_thinking_table

__all__ = ["DemoConfig", "main"]


def main(argv: list[str] | None = None) -> int:
    """``radgrpo demo`` entry point; returns the exit code."""
    cfg = parse_config(DemoConfig, argv, prog="radgrpo demo")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.time()
    if cfg.thinking:
        dest = Path(cfg.out) / "thinking"
        print_thinking_table(run_thinking_demo(cfg))
    else:
        dest = Path(cfg.out)
        print_table(run_demo(cfg))
    console.print(f"[bold]done in {time.time() - t0:.0f} s[/] -> {dest / 'results.json'}, {dest / 'report.html'}")
    return 0
