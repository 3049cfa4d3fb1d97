"""The model card of a training run: ``output_dir/README.md`` with Hugging Face front matter, read from the run.

Everything on the card comes from the run's config (``RadSFTConfig`` or ``RadGRPOConfig``), the training records
when given, and the held-out summary (``heldout.json``, :mod:`radgrpo.train.heldout`); nothing is claimed that the
run did not record. Front matter: ``base_model`` (when ``model_name_or_path`` is a hub id, not a local folder),
``library_name: transformers``, ``pipeline_tag: image-text-to-text`` and ``tags`` (``radgrpo``, ``grpo`` or ``sft``,
``chest-x-ray``, and ``radiology-report-generation`` / ``visual-grounding`` by the tasks trained on).

TRL's trainers write their own ``README.md`` on every checkpoint and again in ``Trainer.push_to_hub``;
:func:`keep_model_card` stops that for one trainer, so ``trainer.push_to_hub()`` after :func:`write_model_card`
uploads this card.

Example:
    >>> looks_like_hub_id("Qwen/Qwen3-VL-2B-Instruct"), looks_like_hub_id("runs/sft/"), looks_like_hub_id("/abs/x")
    (True, False, False)
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from radgrpo.records import Record, Task
from radgrpo.thinking import thinking_mode

#: marks a card written here (``keep_model_card`` leaves such a README alone)
CARD_MARKER = "<!-- written by radgrpo.train.model_card -->"
#: the settings listed in the hyperparameter table when the config has them (the rest: "other settings")
KEY_SETTINGS: tuple[str, ...] = (
    "learning_rate",
    "lr_scheduler_type",
    "warmup_steps",
    "warmup_ratio",
    "max_steps",
    "num_train_epochs",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_generations",
    "generation_batch_size",
    "steps_per_generation",
    "max_completion_length",
    "max_length",
    "temperature",
    "top_p",
    "beta",
    "epsilon",
    "epsilon_high",
    "loss_type",
    "scale_rewards",
    "num_iterations",
    "assistant_only_loss",
    "optim",
    "weight_decay",
    "max_grad_norm",
    "bf16",
    "use_vllm",
    "seed",
)
#: never written to a card (secrets), nor shown as settings (paths and bookkeeping the card states elsewhere)
_SECRET = re.compile(r"(^|_)(hub_token|push_to_hub_token|api_key|secret|password)($|_)")
_SHOWN_ELSEWHERE = frozenset(
    {
        "model_name_or_path",
        "train_file",
        "tasks",
        "max_train_samples",
        "thinking",
        "use_lora",
        "lora_r",
        "lora_alpha",
        "lora_dropout",
        "reward_funcs",
        "reward_kwargs",
        "reward_weights",
        "eval_file",
        "eval_config",
        "eval_max_samples",
        "best_metric",
        "output_dir",
        "logging_dir",
        "run_name",
    }
)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def looks_like_hub_id(name: str | None) -> bool:
    """True for ``owner/name`` that is not an existing local path (a base model the Hub can link to)."""
    return bool(name) and bool(_HUB_ID.match(str(name))) and not Path(str(name)).exists()


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def _defaults(cfg: Any) -> dict[str, Any]:
    """Field name -> default value as the config class resolves it on this machine (a config built from the
    required fields only); the fields' class defaults where that fails."""
    import warnings

    out: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
        else:
            out[f.name] = None
    required = {k: getattr(cfg, k, None) for k in ("model_name_or_path", "train_file", "output_dir")}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            resolved = type(cfg)(**{k: v for k, v in required.items() if k in out})
    except Exception:  # a config class that needs more than these: fall back to the class defaults
        return out
    return {name: getattr(resolved, name, value) for name, value in out.items()}


def settings(cfg: Any) -> list[tuple[str, Any, Any]]:
    """``(name, value, default)`` of every config field, in field order, secrets left out.

    The default is what the config class gives that field on this machine when only the required fields are set
    (TRL's defaults after its ``__post_init__``, e.g. ``report_to: "none"`` -> ``[]``, CPU settings without CUDA),
    so the settings that differ are the ones the run chose.
    """
    defaults = _defaults(cfg)
    out = []
    for f in dataclasses.fields(cfg):
        if _SECRET.search(f.name) or not f.init:
            continue
        out.append((f.name, _plain(getattr(cfg, f.name, None)), _plain(defaults.get(f.name))))
    return out


def _cell(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else ("–" if value is None else str(value))
    return text.replace("|", "\\|")


def _num(value: Any) -> str:
    return "–" if value is None else f"{float(value):.4f}"


def _tasks(cfg: Any, records: Sequence[Record] | None, heldout: dict[str, Any] | None) -> list[str]:
    if records:
        return list(dict.fromkeys(r.task.value for r in records))
    if getattr(cfg, "tasks", None):
        return list(cfg.tasks)
    return list((heldout or {}).get("records") or {})


def front_matter(cfg: Any, tasks: Sequence[str]) -> dict[str, Any]:
    """The card's YAML header.

    Example:
        >>> from types import SimpleNamespace
        >>> fm = front_matter(SimpleNamespace(model_name_or_path="Qwen/Qwen3-VL-2B-Instruct", reward_funcs=["bleu4"]),
        ...                   ["report_generation"])
        >>> fm["base_model"], fm["tags"]
        ('Qwen/Qwen3-VL-2B-Instruct', ['radgrpo', 'grpo', 'chest-x-ray', 'radiology-report-generation'])
    """
    method = "grpo" if getattr(cfg, "reward_funcs", None) is not None else "sft"
    tags = ["radgrpo", method, "chest-x-ray"]
    valid = {t.value: t for t in Task}
    if Task.REPORT_GENERATION.value in tasks:
        tags.append("radiology-report-generation")
    if any(t in valid and valid[t].is_grounding for t in tasks):
        tags.append("visual-grounding")
    fm: dict[str, Any] = {}
    if looks_like_hub_id(getattr(cfg, "model_name_or_path", None)):
        fm["base_model"] = str(cfg.model_name_or_path)
    fm.update({"library_name": "transformers", "pipeline_tag": "image-text-to-text", "tags": tags})
    return fm


def _heldout_section(heldout: dict[str, Any]) -> list[str]:
    history = heldout.get("history") or []
    if not history:
        return []
    metric, best = heldout.get("metric"), heldout.get("best")
    keys = heldout.get("keys") or list(dict.fromkeys(k for e in history for k in e["values"]))
    first, last = history[0], history[-1]
    counts = heldout.get("records") or {}
    lines = [
        "## Held-out evaluation",
        "",
        f"Greedy decoding on `{heldout.get('eval_file', '?')}` "
        f"({', '.join(f'{t}: {n}' for t, n in counts.items()) or 'records'}), {len(history)} evaluations "
        f"(steps {', '.join(str(e['step']) for e in history)}). `best` is the best value over the evaluations "
        "(lower is better for radcliq only).",
        "",
        f"| task/metric | first (step {first['step']}) | best | last (step {last['step']}) |",
        "|---|---|---|---|",
    ]
    from radgrpo.train.heldout import higher_is_better

    for key in keys:
        seen = [(e["step"], e["values"][key]) for e in history if e["values"].get(key) is not None]
        pick = max if higher_is_better(key) else min
        b_step, b_val = pick(seen, key=lambda sv: sv[1]) if seen else (None, None)
        best_cell = "–" if b_val is None else f"{_num(b_val)} (step {b_step})"
        lines.append(f"| {key} | {_num(first['values'].get(key))} | {best_cell} | {_num(last['values'].get(key))} |")
    lines.append("")
    if best:
        lines.append(
            f"Best checkpoint by `{metric}`: step {best['step']} ({_num(best['value'])}), `{best['checkpoint']}`."
        )
    elif metric:
        lines.append(f"No checkpointed evaluation gave `{metric}`; no best checkpoint was named.")
    lines.append("")
    return lines


def model_card(
    cfg: Any,
    heldout: dict[str, Any] | None = None,
    records: Sequence[Record] | None = None,
    name: str = "",
    alarms: Sequence[dict[str, Any]] | None = None,
) -> str:
    """The card's text (see :func:`write_model_card`); ``alarms``: the run's reward-hacking alarms (monitors.json)."""
    grpo = getattr(cfg, "reward_funcs", None) is not None
    tasks = _tasks(cfg, records, heldout)
    fm = front_matter(cfg, tasks)
    base = getattr(cfg, "model_name_or_path", None)
    repo = getattr(cfg, "hub_model_id", None) or str(getattr(cfg, "output_dir", "") or name or ".")
    method = "GRPO (TRL `GRPOTrainer`)" if grpo else "supervised fine-tuning (TRL `SFTTrainer`)"
    lines = [
        "---",
        yaml.safe_dump(fm, sort_keys=False).rstrip(),
        "---",
        CARD_MARKER,
        "",
        f"# {name or Path(str(getattr(cfg, 'output_dir', 'model'))).name}",
        "",
        f"A chest X-ray vision-language model trained with {method} by radgrpo from `{base}`.",
        "",
        "## Base model",
        "",
        f"`{base}`" + (f" ([hub](https://huggingface.co/{base}))" if "base_model" in fm else " (a local folder)"),
        "",
        "## Training data",
        "",
        f"- records: `{getattr(cfg, 'train_file', None)}`",
        f"- tasks: {', '.join(f'`{t}`' for t in cfg.tasks) if getattr(cfg, 'tasks', None) else 'every task in the file'}",
    ]
    if getattr(cfg, "max_train_samples", 0):
        lines.append(f"- at most {cfg.max_train_samples} records (`max_train_samples`)")
    if records:
        counts: dict[str, int] = {}
        for r in records:
            counts[r.task.value] = counts.get(r.task.value, 0) + 1
        lines.append(f"- {len(records)} records trained on: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    lines.append(f"- thinking mode: {thinking_mode(getattr(cfg, 'thinking', False))}")
    lines += ["", "## Method", ""]
    if grpo:
        weights = getattr(cfg, "reward_weights", None)
        options = getattr(cfg, "reward_kwargs", None) or {}
        lines += [
            "GRPO with these rewards" + ("" if weights else " (no `reward_weights`: TRL weighs each reward 1.0)") + ":",
            "",
            "| reward | weight | options |",
            "|---|---|---|",
        ]
        for i, r in enumerate(cfg.reward_funcs):
            w = weights[i] if weights else 1.0
            lines.append(f"| {r} | {w} | {_cell(options.get(r)) if options.get(r) else '–'} |")
    else:
        lines.append("Supervised fine-tuning on the records' answers.")
    if getattr(cfg, "use_lora", False):
        lines += [
            "",
            f"LoRA adapters: r={cfg.lora_r}, alpha={cfg.lora_alpha}, dropout={cfg.lora_dropout}.",
        ]
    rows = settings(cfg)
    by_name = {n: (v, d) for n, v, d in rows}
    lines += ["", "## Hyperparameters", "", "| setting | value | default |", "|---|---|---|"]
    for n in KEY_SETTINGS:
        if n in by_name:
            v, d = by_name[n]
            lines.append(f"| {n} | {_cell(v)} | {_cell(d)} |")
    other = [(n, v, d) for n, v, d in rows if n not in KEY_SETTINGS and n not in _SHOWN_ELSEWHERE and v != d]
    if other:
        lines += ["", "Other settings that differ from their defaults:", ""]
        lines += [f"- `{n}`: {_cell(v)} (default {_cell(d)})" for n, v, d in other]
    lines.append("")
    if heldout:
        lines += _heldout_section(heldout)
    if grpo and alarms is not None:
        lines += ["## Reward-hacking alarms", ""]
        if alarms:
            lines += [f"- **step {a['step']}** ({a['alarm']}): {a['message']}" for a in alarms]
        else:
            lines.append("None raised (short reports vs the reference; training reward up while held-out metric down).")
        lines.append("")
    lines += [
        "## How to load",
        "",
        "```python",
        "from transformers import AutoModelForImageTextToText, AutoProcessor",
        "",
        f'model = AutoModelForImageTextToText.from_pretrained("{repo}")',
        f'processor = AutoProcessor.from_pretrained("{repo}")',
        "```",
        "",
        "Prompts are one user turn holding the image and the question "
        "(`radgrpo.data.prompts.prompt_messages`); `radgrpo eval --model "
        f"{repo}` evaluates it as during training.",
        "",
    ]
    return "\n".join(lines)


def write_model_card(
    output_dir: str | os.PathLike,
    cfg: Any,
    heldout: dict[str, Any] | str | os.PathLike | None = None,
    *,
    records: Sequence[Record] | None = None,
) -> Path:
    """Write ``output_dir/README.md`` for a finished run; returns its path.

    Args:
        output_dir: the run's folder (the final model).
        cfg: its ``RadGRPOConfig`` or ``RadSFTConfig``.
        heldout: the held-out summary (the dict of ``heldout.json``) or its path; None reads
            ``output_dir/heldout.json`` when it exists.
        records: the training records (their number and tasks go on the card), if at hand.
        ``output_dir/monitors.json`` (GRPO), when present, puts the reward-hacking alarms on the card.
    Returns:
        the README path.

    Example:
        >>> write_model_card("runs/grpo", cfg)  # doctest: +SKIP
        PosixPath('runs/grpo/README.md')
    """
    out = Path(output_dir)
    if heldout is None and (out / "heldout.json").is_file():
        heldout = out / "heldout.json"
    summary = heldout if isinstance(heldout, dict) or heldout is None else json.loads(Path(heldout).read_text())
    alarms = None
    if (out / "monitors.json").is_file():
        alarms = json.loads((out / "monitors.json").read_text()).get("alarms", [])
    out.mkdir(parents=True, exist_ok=True)
    path = out / "README.md"
    path.write_text(model_card(cfg, summary, records, name=out.name, alarms=alarms), encoding="utf-8")
    return path


def keep_model_card(trainer: Any) -> None:
    """Make ``trainer.create_model_card`` leave a README written here in place (TRL and ``Trainer.push_to_hub``
    call it), so ``trainer.push_to_hub()`` uploads radgrpo's card; without such a README it writes TRL's as before."""
    original = trainer.create_model_card

    def create_model_card(*args: Any, **kwargs: Any) -> None:
        readme = Path(trainer.args.output_dir) / "README.md"
        if readme.is_file() and CARD_MARKER in readme.read_text(encoding="utf-8"):
            return
        original(*args, **kwargs)

    trainer.create_model_card = create_model_card
