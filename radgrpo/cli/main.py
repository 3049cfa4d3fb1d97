"""The ``radgrpo`` command line: one subcommand per pipeline stage.

Each subcommand lives in its own module and takes its own flags (dataclass config = YAML keys = flags); this module
only dispatches, importing the heavy stacks (torch, transformers, TRL) lazily so ``radgrpo --help`` is instant.

Example:
    $ radgrpo demo --out demo_out
    $ radgrpo data synth --out data/synth --n_train 2000
    $ radgrpo sft --config configs/sft/demo.yaml
"""

from __future__ import annotations

import importlib
import sys

# command words -> (module, function, one-line help). Functions take argv (list[str]) and return an exit code.
COMMANDS: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("demo",): ("radgrpo.cli.demo", "main", "tiny model + synthetic data through SFT -> GRPO -> eval -> report"),
    ("data", "synth"): ("radgrpo.cli.data", "synth_main", "write a synthetic chest X-ray instruction dataset"),
    ("sft",): ("radgrpo.cli.train", "sft_main", "supervised fine-tuning with TRL (YAML/flags = RadSFTConfig)"),
    ("grpo",): ("radgrpo.cli.train", "grpo_main", "GRPO with TRL and radgrpo rewards (YAML/flags = RadGRPOConfig)"),
    ("eval",): ("radgrpo.cli.evaluate", "main", "generate on a test split, score, bootstrap CIs, HTML report"),
    ("data", "build"): ("radgrpo.cli.datasets", "build_main", "build the RadVLM instruction set from dataset roots"),
    ("data", "validate"): ("radgrpo.cli.datasets", "validate_main", "check dataset roots before building"),
    ("data", "filter-reports"): ("radgrpo.cli.llm_steps", "filter_reports_main",
                                 "LLM step: reports -> current findings (filtered_reports/, before data build)"),
    ("data", "conversations"): ("radgrpo.cli.llm_steps", "conversations_main",
                                "LLM step: MIMIC conversations (conversations/<split>/standard/)"),
    ("models", "build-tiny"): ("radgrpo.cli.models", "build_tiny_main", "build and save a tiny Qwen3-VL"),
    ("models", "download"): ("radgrpo.cli.models", "download_main", "download scoring models (needs internet)"),
    ("rewards", "list"): ("radgrpo.cli.rewards", "list_main", "list the registered reward names"),
}


def _usage() -> str:
    lines = ["usage: radgrpo <command> [flags]   (radgrpo <command> --help for its flags)", "", "commands:"]
    for words, (_, _, help_) in COMMANDS.items():
        lines.append(f"  {' '.join(words):<20} {help_}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``radgrpo`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("--version", "version"):
        from radgrpo import __version__

        print(__version__)
        return 0
    for n in (2, 1):
        key = tuple(argv[:n])
        if key in COMMANDS:
            module, func, _ = COMMANDS[key]
            fn = getattr(importlib.import_module(module), func)
            from radgrpo.config import ConfigError

            try:
                return int(fn(argv[n:]) or 0)
            except ConfigError as e:  # a bad flag or config value: one line, no traceback
                print(f"radgrpo {' '.join(key)}: {e}", file=sys.stderr)
                return 2
    print(f"radgrpo: unknown command {' '.join(argv[:2])!r}\n\n{_usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
