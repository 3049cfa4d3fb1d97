"""``radgrpo models build-tiny``: build and save the embedded tiny Qwen3-VL, or a paper-shaped one (``--shape``).

Flags are :class:`radgrpo.models.build.BuildTinyConfig`; the work is :func:`radgrpo.models.build.run_build_tiny`.
It prints the folder and the parameter count.

Example:
    $ radgrpo models build-tiny --out tiny --corpus_file data/synth/train.jsonl
    $ radgrpo models build-tiny --shape qwen3-vl-8b --layers 2 --out shaped_8b   # published widths, 2 layers
"""

from __future__ import annotations

from radgrpo.config import parse_config
from radgrpo.models.build import BuildTinyConfig, run_build_tiny

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Build and save the model; prints its folder and parameter count."""
    cfg = parse_config(BuildTinyConfig, argv, prog="radgrpo models build-tiny")
    out, n_params = run_build_tiny(cfg)
    if cfg.shape:
        print(f"{out}  ({n_params:,} parameters; {cfg.shape} widths, {cfg.layers} layers, random weights)")
    else:
        print(f"{out}  ({n_params:,} parameters)")
    return 0
