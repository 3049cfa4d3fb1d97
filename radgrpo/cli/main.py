"""The ``radgrpo`` command line: one subcommand per pipeline stage.

Each subcommand lives in its own module and takes its own flags (dataclass config = YAML keys = flags); this module
only dispatches, importing the heavy stacks (torch, transformers, TRL) lazily so ``radgrpo --help`` is instant.
User errors (unknown command or flag, bad value, missing file or scoring model) print one line,
``radgrpo <command>: <message>``, and exit 2 (:func:`user_error_message`); bugs keep their traceback.

Example:
    $ radgrpo demo --out demo_out
    $ radgrpo data synth --out data/synth --n_train 2000
    $ radgrpo sft --config sft/demo_cpu --model_name_or_path M --train_file T --output_dir O
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

# command words -> (module, function, one-line help). Functions take argv (list[str]) and return an exit code.
COMMANDS: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("demo",): ("radgrpo.cli.demo", "main", "tiny model + synthetic data through SFT -> GRPO -> eval -> report"),
    ("data", "synth"): ("radgrpo.cli.data", "synth_main", "write a synthetic chest X-ray instruction dataset"),
    ("sft",): ("radgrpo.cli.train", "sft_main", "supervised fine-tuning with TRL (YAML/flags = RadSFTConfig)"),
    ("grpo",): ("radgrpo.cli.train", "grpo_main", "GRPO with TRL and radgrpo rewards (YAML/flags = RadGRPOConfig)"),
    ("eval",): ("radgrpo.cli.evaluate", "main", "generate on a test split, score, bootstrap CIs, HTML report"),
    ("compare",): ("radgrpo.cli.compare", "main", "paired differences of evaluated runs (bootstrap CI, p-value)"),
    ("report",): ("radgrpo.cli.report", "main", "one HTML report of evaluated runs: paper tables, curves, samples"),
    ("predict",): ("radgrpo.cli.predict", "main", "answer for one image of your own (PNG/JPEG/DICOM), boxes drawn"),
    ("data", "build"): ("radgrpo.cli.datasets", "build_main", "build the RadVLM instruction set from dataset roots"),
    ("data", "validate"): ("radgrpo.cli.datasets", "validate_main", "check dataset roots before building"),
    ("data", "filter-reports"): (
        "radgrpo.cli.llm_steps",
        "filter_reports_main",
        "LLM step: reports -> current findings (filtered_reports/, before data build)",
    ),
    ("data", "conversations"): (
        "radgrpo.cli.llm_steps",
        "conversations_main",
        "LLM step: MIMIC conversations (conversations/<split>/standard/)",
    ),
    ("thinking", "generate"): (
        "radgrpo.cli.thinking",
        "generate_main",
        "cold-start thinking traces from a teacher endpoint, validated (thinking.jsonl)",
    ),
    ("models", "build-tiny"): ("radgrpo.cli.models", "build_tiny_main", "build and save a tiny Qwen3-VL"),
    ("models", "download"): ("radgrpo.cli.models", "download_main", "download scoring models (needs internet)"),
    ("rewards", "list"): ("radgrpo.cli.rewards", "list_main", "list the registered reward names"),
    ("serve", "rewards"): ("radgrpo.cli.serve", "rewards_main", "serve rewards over HTTP with Ray Serve (batched)"),
    ("configs",): ("radgrpo.cli.configs", "main", "shipped configs: `configs list`, `configs cp NAME DEST`"),
}


def _usage() -> str:
    lines = ["usage: radgrpo <command> [flags]   (radgrpo <command> --help for its flags)", "", "commands:"]
    for words, (_, _, help_) in COMMANDS.items():
        lines.append(f"  {' '.join(words):<20} {help_}")
    return "\n".join(lines)


# project exceptions that mean "the input or the setup is wrong", not "radgrpo has a bug": (module, class). They are
# looked up in sys.modules, so classifying an error imports nothing (an exception's module is always loaded).
USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("radgrpo.config", "ConfigError"),
    ("radgrpo.metrics.loaders", "ModelNotFoundError"),
    ("radgrpo.metrics.text.chexbert_model", "CheXbertCheckpointError"),
    ("radgrpo.data.dicom", "DicomError"),
    ("radgrpo.records", "RecordsFileError"),
    ("radgrpo.train.monitors", "RewardFailureError"),
)
_PATH_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def _groups() -> dict[str, list[str]]:
    """First word -> second words of the two-word commands (``data`` -> ``synth``, ``build``, ...)."""
    groups: dict[str, list[str]] = {}
    for words in COMMANDS:
        if len(words) == 2:
            groups.setdefault(words[0], []).append(words[1])
    return groups


def _unknown_command(argv: list[str]) -> int:
    """Print the one-line answer to ``argv`` naming no command (nearest command suggested); the exit code."""
    from radgrpo.config import closest

    groups = _groups()
    second = argv[1] if len(argv) > 1 and not argv[1].startswith("-") else None
    hint = "(radgrpo --help lists commands)"
    if argv[0] in groups:
        subs = groups[argv[0]]
        if second is None:
            if argv[1:2] in (["-h"], ["--help"]):
                print(f"usage: radgrpo {argv[0]} <subcommand> [flags]   (radgrpo {argv[0]} <subcommand> --help)\n")
                for sub in subs:
                    print(f"  {sub:<20} {COMMANDS[(argv[0], sub)][2]}")
                return 0
            print(
                f"radgrpo {argv[0]}: missing subcommand, one of: {', '.join(subs)} "
                f"(radgrpo {argv[0]} <subcommand> --help for its flags)",
                file=sys.stderr,
            )
            return 2
        typed = f"{argv[0]} {second}"
        near = closest(second, subs)
        guess = f"{argv[0]} {near}" if near else None
    elif second is not None and any(second in subs for subs in groups.values()):
        typed = f"{argv[0]} {second}"  # a mistyped group word: ``modles download``
        guess = closest(typed, [" ".join(w) for w in COMMANDS if len(w) == 2])
    else:
        typed = argv[0]
        guess = closest(typed, [w[0] for w in COMMANDS if len(w) == 1] + list(groups))
    did_you_mean = f"; did you mean {guess!r}?" if guess else ""
    print(f"radgrpo: unknown command {typed!r}{did_you_mean} {hint}", file=sys.stderr)
    return 2


def _paths_given(argv: list[str]) -> list[str]:
    """Every word of ``argv`` that is not a flag, plus the string values of its ``--config`` YAML (paths the user
    named, directly or in the config)."""
    words = [a.split("=", 1)[1] if a.startswith("-") else a for a in argv if not a.startswith("-") or "=" in a]
    cfg = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--config"), None)
    cfg = cfg or next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
    if cfg:
        from radgrpo.config import load_yaml

        def strings(v: Any) -> list[str]:
            if isinstance(v, dict):
                return [s for x in v.values() for s in strings(x)]
            if isinstance(v, list):
                return [s for x in v for s in strings(x)]
            return [v] if isinstance(v, str) else []

        try:
            from radgrpo.config import resolve_config  # a file or a shipped config name

            words += strings(load_yaml(resolve_config(cfg)))
        except Exception:
            pass
    return words


def _under(path: str, roots: list[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or inside one of them."""
    p = os.path.abspath(path)
    return any(p == r or p.startswith(r.rstrip(os.sep) + os.sep) for r in map(os.path.abspath, roots))


def _raised_by_radgrpo(e: BaseException) -> bool:
    """Whether the innermost frame that raised ``e`` is radgrpo code (a message written for the user)."""
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(tb.tb_frame.f_globals.get("__name__", "")).startswith("radgrpo.")


def one_line(message: str) -> str:
    r"""A (possibly multi-line) message as one line, its lines joined with ``"; "``.

    >>> one_line("model 'x' is not available offline.\n  files needed: config.json")
    "model 'x' is not available offline; files needed: config.json"
    """
    parts = [line.strip() for line in message.splitlines() if line.strip()]
    return "; ".join([p.rstrip(".") for p in parts[:-1]] + parts[-1:])


def user_error_message(e: BaseException, argv: list[str]) -> str | None:
    """The message to print for a user error, None for anything else (a bug, which keeps its traceback).

    User errors: the classes in :data:`USER_ERRORS` (``ConfigError``: flags and configs; a missing scoring model;
    a bad CheXbert checkpoint; an unreadable DICOM); missing/unreadable files that are paths the user gave
    (``argv`` words or ``--config`` values); and ``OSError`` s radgrpo raised with its own message (a missing
    ``--train_file``, a model folder that cannot be loaded).
    """
    for module, name in USER_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and isinstance(e, cls):
            return str(e)
    if isinstance(e, _PATH_ERRORS) and e.filename is not None:
        if _under(str(e.filename), _paths_given(argv)):
            return f"{(e.strerror or type(e).__name__).lower()}: {e.filename}"
    elif isinstance(e, OSError) and e.filename is None and _raised_by_radgrpo(e):
        return str(e)  # radgrpo's own message: "--train_file x does not exist", "cannot load the model from ..."
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``radgrpo`` console script.

    Every user error (unknown command or flag, bad value, missing file or model) is one line on stderr,
    ``radgrpo <command>: <message>``, and exit code 2; unexpected exceptions keep their traceback.
    """
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
            try:
                return int(fn(argv[n:]) or 0)
            except Exception as e:
                message = user_error_message(e, argv[n:])
                if message is None:
                    raise
                print(f"radgrpo {' '.join(key)}: {one_line(message)}", file=sys.stderr)
                return 2
    return _unknown_command(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
