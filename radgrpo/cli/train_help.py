"""The help of ``radgrpo sft`` and ``radgrpo grpo``, shared by both commands.

``--help`` (``-h``) lists radgrpo's own options by group, ``--config`` and the common TRL options, without importing
TRL or torch (:func:`short_help`); ``--help-all`` prints the full TRL/transformers parser help
(:func:`radgrpo.train.parse.trl_parser`).

Example:
    $ radgrpo grpo --help
    $ radgrpo sft --help-all
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["TRL_OPTIONS", "TrlOption", "help_requested", "short_help"]


# ---------------------------------------------------------------------------------------------------------- --help
# The short help is built from radgrpo's TRL-free option dataclasses (radgrpo.train.fields) and the static table
# below, so it prints without importing TRL or torch; --help-all builds the real parser.


@dataclass(frozen=True)
class TrlOption:
    """A TRL/transformers option the short ``--help`` lists: flag name, value placeholder, default, help text.

    The defaults are written out so that ``--help`` needs no TRL import; tests/cli/test_train_help.py checks each one
    against the real dataclass default of ``RadSFTConfig``/``RadGRPOConfig``, so they cannot drift.
    """

    name: str
    type: str
    default: Any
    help: str


_EVERY = "optimizer steps (< 1: a share of all steps)"
_LENGTH = (
    TrlOption(
        "output_dir", "STR", None, "folder for checkpoints, the final model and config.yaml (None: trainer_output)"
    ),
    TrlOption("max_steps", "INT", -1, "optimizer steps to train; > 0 overrides --num_train_epochs"),
    TrlOption("num_train_epochs", "FLOAT", 3.0, "passes over the training records (used when --max_steps <= 0)"),
)
_SCHEDULER = TrlOption("lr_scheduler_type", "STR", "linear", "learning-rate schedule: linear, cosine, constant, ...")
_ACCUMULATION = TrlOption("gradient_accumulation_steps", "INT", 1, "micro-batches per optimizer step")
_SAVE = TrlOption("save_steps", "FLOAT", 500, f"save a checkpoint every N {_EVERY}")
_EVAL_STEPS = TrlOption(
    "eval_steps", "FLOAT", None, "held-out evaluation (--eval_file) every N optimizer steps (None: --save_steps)"
)
_LOGGING = (
    TrlOption("logging_steps", "FLOAT", 10, f"log every N {_EVERY}"),
    TrlOption("report_to", "STR", "none", "where to log: none, tensorboard, wandb, trackio, ..."),
    TrlOption("seed", "INT", 42, "random seed set at the start of training"),
    TrlOption("bf16", "BOOL", None, "bf16 mixed precision (None: on unless --fp16; always off without CUDA)"),
    TrlOption("push_to_hub", "[BOOL]", False, "push the model to the Hugging Face Hub at every save"),
)

#: command -> the TRL/transformers options its short ``--help`` lists under "common TRL options", in that order
TRL_OPTIONS: dict[str, tuple[TrlOption, ...]] = {
    "sft": (
        *_LENGTH,
        TrlOption("learning_rate", "FLOAT", 2e-05, "peak learning rate (AdamW)"),
        _SCHEDULER,
        TrlOption("warmup_steps", "FLOAT", 0, "linear warmup from 0: steps (>= 1) or a share of all steps (< 1)"),
        TrlOption("weight_decay", "FLOAT", 0.0, "AdamW weight decay (biases and norms excluded)"),
        TrlOption("per_device_train_batch_size", "INT", 8, "training rows per device per micro-batch"),
        _ACCUMULATION,
        TrlOption(
            "max_length",
            "INT",
            1024,
            "truncate tokenized rows to this many tokens (None: never; the shipped sft configs set null so that no "
            "VLM row loses image or answer tokens)",
        ),
        TrlOption(
            "assistant_only_loss",
            "[BOOL]",
            False,
            "loss on the assistant (answer) tokens only (the shipped sft configs set true)",
        ),
        TrlOption("packing", "[BOOL]", False, "pack several rows into one --max_length block"),
        TrlOption("loss_type", "STR", "nll", "nll (cross-entropy) or dft (Dynamic Fine-Tuning)"),
        TrlOption("gradient_checkpointing", "[BOOL]", True, "recompute activations in the backward pass (less memory)"),
        _SAVE,
        TrlOption("save_total_limit", "INT", None, "keep at most this many checkpoints (None: all)"),
        _EVAL_STEPS,
        *_LOGGING,
    ),
    "grpo": (
        *_LENGTH,
        TrlOption("learning_rate", "FLOAT", 1e-06, "peak learning rate (AdamW)"),
        _SCHEDULER,
        TrlOption(
            "per_device_train_batch_size",
            "INT",
            8,
            "completions per device per micro-batch (each group of --num_generations completions shares a prompt)",
        ),
        _ACCUMULATION,
        TrlOption("num_generations", "INT", 8, "completions sampled per prompt (the group advantages are taken over)"),
        TrlOption(
            "steps_per_generation",
            "INT",
            None,
            "micro-batches served by one generation batch (None: --gradient_accumulation_steps)",
        ),
        TrlOption("beta", "FLOAT", 0.0, "KL coefficient against the reference model (0: no reference model is loaded)"),
        TrlOption("epsilon", "FLOAT", 0.2, "lower clipping bound of the policy ratio"),
        TrlOption("epsilon_high", "FLOAT", None, "upper clipping bound (None: --epsilon; DAPO's clip-higher: 0.28)"),
        TrlOption("loss_type", "STR", "dapo", "loss aggregation: grpo, dr_grpo, dapo, bnpo, cispo, sapo, ..."),
        TrlOption("max_completion_length", "INT", 512, "generated tokens per completion, at most"),
        TrlOption("temperature", "FLOAT", 1.0, "sampling temperature of the completions"),
        TrlOption("reward_weights", "FLOAT [FLOAT ...]", None, "one weight per --reward_funcs name (None: all 1.0)"),
        TrlOption("use_vllm", "[BOOL]", False, "generate the completions with vLLM (needs vllm installed)"),
        TrlOption(
            "vllm_mode",
            "STR",
            "colocate",
            "with --use_vllm: colocate (on the training GPUs) or server (trl vllm-serve)",
        ),
        _SAVE,
        _EVAL_STEPS,
        *_LOGGING,
    ),
}
_INTRO = {
    "sft": "Supervised fine-tuning with TRL's SFTTrainer.",
    "grpo": "GRPO with TRL's GRPOTrainer and radgrpo's rewards (radgrpo rewards list).",
}
_WIDTH = 100  # the longest line the short help prints


def _type_label(annotation: Any) -> str:
    """The value placeholder of a field annotation (a string: fields.py uses ``from __future__ import annotations``).

    >>> [_type_label(a) for a in ("int", "str | None", "list[str] | None", "bool", "bool | None", "dict | str")]
    ['INT', 'STR', 'STR [STR ...]', '[BOOL]', 'BOOL', 'JSON']
    """
    parts = [p.strip() for p in str(annotation).split("|") if p.strip() != "None"]
    kind = parts[0] if parts else "str"
    if "dict" in parts:
        return "JSON"
    if kind.startswith("list[") and kind.endswith("]"):
        inner = _type_label(kind[5:-1])
        return f"{inner} [{inner} ...]"
    if kind == "bool":  # a plain bool flag may stand alone (``--use_lora``); ``bool | None`` needs its value
        return "BOOL" if "None" in str(annotation) else "[BOOL]"
    return kind.upper()


def _show(value: Any) -> str:
    """A default as ``--help`` prints it: a list space-separated (as typed after its flag), anything else as ``str``.

    >>> _show(["grounding_soft_f1", "format"]), _show(1e-06), _show(None)
    ('grounding_soft_f1 format', '1e-06', 'None')
    """
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _entry(name: str, type_: str, default: Any, help_: str) -> list[str]:
    """One option's lines: ``  --name TYPE (default: X)`` (``(required)`` when its help ends so), then the help
    wrapped at :data:`_WIDTH` characters, indented by 6.

    >>> _entry("lora_r", "INT", 16, "LoRA rank")
    ['  --lora_r INT (default: 16)', '      LoRA rank']
    """
    import textwrap

    required = help_.endswith("(required)")
    tail = "(required)" if required else f"(default: {_show(default)})"
    text = help_.removesuffix("(required)").rstrip() if required else help_
    return [
        f"  --{name} {type_} {tail}",
        *textwrap.wrap(text, _WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 6),
    ]


def short_help(command: str) -> str:
    """The text of ``radgrpo <command> --help`` (``command`` is ``"sft"`` or ``"grpo"``): ``--config``, radgrpo's own
    options under their :data:`~radgrpo.train.fields.GROUPS` headings, then :data:`TRL_OPTIONS`; no line is longer than
    100 characters. Imports neither TRL nor torch.

    >>> text = short_help("grpo")
    >>> "  --config FILE_OR_NAME (repeatable)" in text and "  --lora_r INT (default: 16)" in text
    True
    >>> text.splitlines()[-1]
    'radgrpo grpo --help-all lists every TRL/transformers option (it imports TRL: a few seconds).'
    """
    import textwrap
    from dataclasses import MISSING, fields

    from radgrpo.config import list_configs
    from radgrpo.train.fields import GROUPS, GRPOFields, RadFields, SFTFields

    prog = f"radgrpo {command}"
    shipped = ", ".join(n for n in list_configs() if n.startswith(f"{command}/"))
    config = _entry(
        "config",
        "FILE_OR_NAME",
        None,
        f"a YAML file or a shipped config name ({shipped}; radgrpo configs list). Several --config files "
        "layer: later ones override earlier ones key by key, and flags override them all",
    )
    groups: dict[str, list[str]] = {"config": ["  --config FILE_OR_NAME (repeatable)", *config[1:]]}
    for cls in (RadFields, GRPOFields) if command == "grpo" else (RadFields, SFTFields):
        for f in fields(cls):
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            # the annotation as written: building a TRL parser rewrites f.type in place (``str | None`` -> str)
            annotation = cls.__annotations__.get(f.name, f.type)
            label = _type_label(annotation)
            label = f"[{label}]" if f.metadata.get("nargs") == "?" else label  # the value may be left out
            entry = _entry(f.name, label, default, f.metadata.get("help", ""))
            groups.setdefault(GROUPS.get(f.name, "other"), []).extend(entry)
    trl = TRL_OPTIONS[command]
    groups["common TRL options"] = [line for o in trl for line in _entry(o.name, o.type, o.default, o.help)]
    lines = [
        f"usage: {prog} [--config FILE_OR_NAME ...] [--OPTION VALUE ...]",
        "",
        *textwrap.wrap(f"{_INTRO[command]} Every option is also a YAML key of the same name.", _WIDTH),
    ]
    for heading, entries in groups.items():
        lines += ["", f"{heading}:", *entries]
    lines += ["", f"{prog} --help-all lists every TRL/transformers option (it imports TRL: a few seconds)."]
    return "\n".join(lines)


def help_requested(command: str, argv: list[str] | None) -> int | None:
    """Print the help ``argv`` asks for and return 0, or None when it asks for none.

    ``--help-all`` (anywhere) prints the real parser's full help; ``-h``/``--help`` (anywhere, whatever else is
    given, like argparse) the short one.
    """
    args = list(argv or [])
    if "--help-all" in args:
        from radgrpo.train.configs import RadGRPOConfig, RadSFTConfig
        from radgrpo.train.parse import trl_parser

        trl_parser(RadGRPOConfig if command == "grpo" else RadSFTConfig, f"radgrpo {command}").print_help()
        return 0
    if "-h" in args or "--help" in args:
        print(short_help(command))
        return 0
    return None
