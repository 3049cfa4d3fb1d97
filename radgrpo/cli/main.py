"""The ``radgrpo`` command line: one subcommand per pipeline stage.

Each subcommand lives in its own module and takes its own flags (dataclass config = YAML keys = flags); this module
only dispatches, importing the heavy stacks (torch, transformers, TRL) lazily so ``radgrpo --help`` is instant.
User errors (unknown command or flag, bad value, missing file or scoring model: a
:class:`~radgrpo.errors.RadgrpoUserError`) print one line, ``radgrpo <command>: <message>``, and exit 2
(:func:`user_error_message`); bugs keep their traceback.

Example:
    $ radgrpo demo --out demo_out
    $ radgrpo data synth --out data/synth --n_train 2000
    $ radgrpo sft --config sft/demo_cpu --model_name_or_path M --train_file T --output_dir O
"""

from __future__ import annotations

import importlib
import os
import sys

from radgrpo.errors import RadgrpoUserError

# command words -> (module, function, one-line help). Functions take argv (list[str]) and return an exit code.
COMMANDS: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("demo",): ("radgrpo.cli.demo", "main", "tiny model + synthetic data through SFT -> GRPO -> eval -> report"),
    ("data", "synth"): ("radgrpo.cli.data_synth", "main", "write a synthetic chest X-ray instruction dataset"),
    ("sft",): ("radgrpo.cli.sft", "main", "supervised fine-tuning with TRL (YAML/flags = RadSFTConfig)"),
    ("grpo",): ("radgrpo.cli.grpo", "main", "GRPO with TRL and radgrpo rewards (YAML/flags = RadGRPOConfig)"),
    ("eval",): ("radgrpo.cli.eval", "main", "generate on a test split, score, bootstrap CIs, HTML report"),
    ("compare",): ("radgrpo.cli.compare", "main", "paired differences of evaluated runs (bootstrap CI, p-value)"),
    ("report",): ("radgrpo.cli.report", "main", "one HTML report of evaluated runs: paper tables, curves, samples"),
    ("predict",): ("radgrpo.cli.predict", "main", "answer for one image of your own (PNG/JPEG/DICOM), boxes drawn"),
    ("data", "build"): ("radgrpo.cli.data_build", "main", "build the RadVLM instruction set from dataset roots"),
    ("data", "validate"): ("radgrpo.cli.data_validate", "main", "check dataset roots before building"),
    ("data", "filter-reports"): (
        "radgrpo.cli.data_filter_reports",
        "main",
        "LLM step: reports -> current findings (filtered_reports/, before data build)",
    ),
    ("data", "conversations"): (
        "radgrpo.cli.data_conversations",
        "main",
        "LLM step: MIMIC conversations (conversations/<split>/standard/)",
    ),
    ("thinking", "generate"): (
        "radgrpo.cli.thinking_generate",
        "main",
        "cold-start thinking traces from a teacher endpoint, validated (thinking.jsonl)",
    ),
    ("models", "build-tiny"): ("radgrpo.cli.models_build_tiny", "main", "build and save a tiny Qwen3-VL"),
    ("models", "download"): ("radgrpo.cli.models_download", "main", "download scoring models (needs internet)"),
    ("rewards", "list"): ("radgrpo.cli.rewards_list", "main", "list the registered reward names"),
    ("serve", "rewards"): ("radgrpo.cli.serve_rewards", "main", "serve rewards over HTTP with Ray Serve (batched)"),
    ("configs",): ("radgrpo.cli.configs", "main", "shipped configs: `configs list`, `configs cp NAME DEST`"),
}


def _usage() -> str:
    lines = ["usage: radgrpo <command> [flags]   (radgrpo <command> --help for its flags)", "", "commands:"]
    for words, (_, _, help_) in COMMANDS.items():
        lines.append(f"  {' '.join(words):<20} {help_}")
    return "\n".join(lines)


# missing/unreadable-file errors that are user errors when their path is one the user typed (:func:`_typed`)
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


def _typed(path: str, argv: list[str]) -> bool:
    """Whether ``path`` is a word of ``argv`` (a flag's value) or inside one: a path the user typed."""
    words = [a.split("=", 1)[1] if a.startswith("-") else a for a in argv if not a.startswith("-") or "=" in a]
    p = os.path.abspath(path)
    return any(p == w or p.startswith(w.rstrip(os.sep) + os.sep) for w in map(os.path.abspath, words))


def one_line(message: str) -> str:
    r"""A (possibly multi-line) message as one line, its lines joined with ``"; "``.

    >>> one_line("model 'x' is not available offline.\n  files needed: config.json")
    "model 'x' is not available offline; files needed: config.json"
    """
    parts = [line.strip() for line in message.splitlines() if line.strip()]
    return "; ".join([p.rstrip(".") for p in parts[:-1]] + parts[-1:])


def user_error_message(e: BaseException, argv: list[str]) -> str | None:
    """The message to print for a user error, None for anything else (a bug, which keeps its traceback).

    User errors are every :class:`~radgrpo.errors.RadgrpoUserError` (a bad flag, config, file or folder, a missing
    scoring model, an unreadable DICOM, an endpoint that fails, ...: the commands check the paths they are given up
    front and raise these), and a missing or unreadable file whose path the user typed in ``argv`` (or a file inside
    it). Any other exception, a ``FileNotFoundError`` from deep inside included, is a bug.

    >>> from radgrpo.config import ConfigError
    >>> user_error_message(ConfigError("--n must be >= 1"), []), user_error_message(KeyError("n"), [])
    ('--n must be >= 1', None)
    """
    if isinstance(e, RadgrpoUserError):
        return str(e)
    if isinstance(e, _PATH_ERRORS) and e.filename is not None and _typed(str(e.filename), argv):
        return f"{(e.strerror or type(e).__name__).lower()}: {e.filename}"
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
