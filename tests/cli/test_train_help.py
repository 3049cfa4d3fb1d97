"""``radgrpo sft/grpo --help``: radgrpo's own options by group, ``--config`` and the common TRL options, printed
without importing torch/TRL; the curated TRL table cannot drift from the real configs; ``--help-all`` is the full
TRL/transformers parser help.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_train_help.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from radgrpo.cli.main import main
from radgrpo.cli.train_help import TRL_OPTIONS, _type_label, short_help
from radgrpo.train.fields import GROUPS, GRPOFields, RadFields, SFTFields

REPO = Path(__file__).resolve().parents[2]
OWN = {"sft": (RadFields, SFTFields), "grpo": (RadFields, GRPOFields)}


def _default(f):
    return f.default_factory() if f.default_factory is not MISSING else f.default


def _config_class(command: str):
    from radgrpo.train.configs import RadGRPOConfig, RadSFTConfig

    return RadGRPOConfig if command == "grpo" else RadSFTConfig


def _parser_label(action) -> str | None:
    """The placeholder the short help should print for an argparse action of the real parser (None: not decidable)."""
    names = {"int": "INT", "float": "FLOAT", "str": "STR", "string_to_bool": "BOOL"}  # TRL's None-wrappers keep names
    base = "STR" if action.choices else names.get(getattr(action.type, "__name__", ""))
    if base is None:
        return None
    return {"+": f"{base} [{base} ...]", "?": f"[{base}]"}.get(action.nargs, base)


@pytest.mark.parametrize("command", ["sft", "grpo"])
def test_curated_trl_options_are_real_fields_with_the_real_defaults_and_flag_shapes(command):
    from radgrpo.train.parse import trl_parser

    cls = _config_class(command)
    real = {f.name: f for f in fields(cls)}
    actions: dict = {}
    for a in trl_parser(cls, "x")._actions:
        actions.setdefault(a.dest, a)  # the field's own flag, not its ``--no_<name>`` twin
    curated = TRL_OPTIONS[command]
    assert 15 <= len(curated) <= 25 and len({o.name for o in curated}) == len(curated)
    own = {f.name for c in OWN[command] for f in fields(c)}
    for o in curated:
        assert o.name in real and o.name not in own, o.name
        assert _default(real[o.name]) == o.default, (o.name, _default(real[o.name]), o.default)
        assert o.type == _parser_label(actions[o.name]), (o.name, o.type, _parser_label(actions[o.name]))
    # radgrpo's own options: the defaults and placeholders the short help prints are the real config's
    for c in OWN[command]:
        for f in fields(c):
            assert _default(real[f.name]) == _default(f), f.name
            label = _parser_label(actions[f.name])
            own_label = _type_label(c.__annotations__[f.name])
            own_label = f"[{own_label}]" if f.metadata.get("nargs") == "?" else own_label
            assert own_label in (label, "JSON" if label == "STR" else label), (
                f.name,
                label,
            )


@pytest.mark.parametrize("command", ["sft", "grpo"])
def test_short_help_lists_every_own_option_under_its_group_then_the_trl_ones(command):
    text = short_help(command)
    lines = text.splitlines()
    assert lines[0] == f"usage: radgrpo {command} [--config FILE_OR_NAME ...] [--OPTION VALUE ...]"
    assert len(lines) < 175 and max(map(len, lines)) <= 100
    assert (
        lines[-1]
        == f"radgrpo {command} --help-all lists every TRL/transformers option (it imports TRL: a few seconds)."
    )
    own = [f for c in OWN[command] for f in fields(c)]
    headings = ["config", *dict.fromkeys(GROUPS[f.name] for f in own), "common TRL options"]
    at = [lines.index(f"{h}:") for h in headings]
    assert at == sorted(at)  # config first, radgrpo's groups in field order, the TRL options last
    assert "  --config FILE_OR_NAME (repeatable)" in lines
    assert f"{command}/paper" in text.replace("\n      ", " ")  # the shipped configs are named
    flag_lines = [i for i, line in enumerate(lines) if line.startswith("  --")]
    assert len(flag_lines) == 1 + len(own) + len(TRL_OPTIONS[command])
    for f in own:  # each under its own group's heading, followed by its help text
        (i,) = [i for i in flag_lines if lines[i].startswith(f"  --{f.name} ")]
        heading = max(j for j in at if j < i)
        assert lines[heading] == f"{GROUPS[f.name]}:" and lines[i + 1].startswith("      "), f.name
        assert lines[i + 1].split()[0] in f.metadata["help"]
    trl_heading = at[-1]
    for o in TRL_OPTIONS[command]:
        assert any(lines[i].startswith(f"  --{o.name} ") for i in flag_lines if i > trl_heading), o.name
    assert "  --lora_r INT (default: 16)" in lines
    assert "  --model_name_or_path STR (required)" in lines and "  --train_file STR (required)" in lines
    assert "  --max_steps INT (default: -1)" in lines
    if command == "grpo":
        assert "  --reward_funcs STR [STR ...] (default: grounding_soft_f1)" in lines
        assert "  --reward_failure_threshold FLOAT (default: 0.05)" in lines
        assert "  --num_generations INT (default: 8)" in lines
        assert "  --learning_rate FLOAT (default: 1e-06)" in lines
    else:
        assert "--reward_funcs" not in text and "--num_generations" not in text
        assert "  --learning_rate FLOAT (default: 2e-05)" in lines


def test_help_path_imports_no_torch_trl_or_transformers():
    """The whole console path (radgrpo.cli.main -> radgrpo.cli.grpo or sft -> radgrpo.cli.train_help) in a fresh
    interpreter. Its text equals this process's, where the tests above built TRL parsers (which rewrite the fields'
    types in place)."""
    script = (
        "import contextlib, io, json, sys\n"
        "from radgrpo.cli.main import main\n"
        "res = {}\n"
        "for argv in (['grpo', '--help'], ['sft', '-h'], ['grpo', '--help', '--config', 'no/such.yaml']):\n"
        "    buf = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buf):\n"
        "        rc = main(argv)\n"
        "    res[' '.join(argv)] = [rc, buf.getvalue()]\n"
        "res['heavy'] = sorted(m for m in ('torch', 'trl', 'transformers', 'accelerate', 'datasets') "
        "if m in sys.modules)\n"
        "print('RESULT ' + json.dumps(res))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert res.pop("heavy") == []
    assert res["grpo --help"] == [0, short_help("grpo") + "\n"]
    assert res["sft -h"] == [0, short_help("sft") + "\n"]
    assert res["grpo --help --config no/such.yaml"] == res["grpo --help"]  # help wins over a missing config


def test_help_all_prints_the_full_parser_help(capsys):
    assert main(["grpo", "--help-all", "--config", "no/such.yaml"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: radgrpo grpo")
    for flag in ("--vllm_gpu_memory_utilization", "--reward_failure_window", "--hacking_patience", "--adam_beta1"):
        assert flag in out, flag
    assert len(out.splitlines()) > 500  # every TRL/transformers option
    assert main(["sft", "--help-all"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: radgrpo sft") and "--dataset_text_field" in out and "--reward_funcs" not in out
