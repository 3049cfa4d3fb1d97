"""``radgrpo demo``'s recipe: the whole RadVLM-GRPO pipeline on an embedded tiny Qwen3-VL and synthetic chest X-rays.

:func:`run_demo` runs the plain demo (:mod:`.stages`), :func:`run_thinking_demo` the thinking path after it
(:mod:`.thinking`); both take one :class:`DemoConfig` (:mod:`.config`, which also builds every stage's config from the
shipped files) and return the dict they write to ``results.json``. :mod:`.notes` writes the report's notes and the
console tables. The command ``radgrpo demo`` only parses the flags, calls one of the two and prints the table.

Example:
    >>> from radgrpo.recipes.demo import DemoConfig, run_demo
    >>> results = run_demo(DemoConfig(out="demo_out", fast=True, seed=1))  # doctest: +SKIP
    >>> DemoConfig(fast=True).sft_steps
    60
"""

from radgrpo.recipes.demo.config import DemoConfig
from radgrpo.recipes.demo.stages import run_demo
from radgrpo.recipes.demo.thinking import run_thinking_demo

__all__ = ["DemoConfig", "run_demo", "run_thinking_demo"]
