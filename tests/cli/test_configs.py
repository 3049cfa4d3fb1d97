"""The configs shipped inside the package: ``radgrpo configs list`` / ``cp`` and ``--config NAME`` on every command.

Run: pytest tests/cli/test_configs.py
"""

import glob
import tomllib
from pathlib import Path

import pytest
import yaml

from radgrpo.cli.main import main as radgrpo_main
from radgrpo.config import ConfigError
from radgrpo.configs import CONFIG_DIR, config_path, copy_config, list_configs, load_config, resolve_config

SHIPPED = [
    "accelerate/ddp",
    "accelerate/fsdp2",
    "accelerate/zero2",
    "accelerate/zero3",
    "data/radvlm",
    "data/synth_clean",
    "data/synth_demo",
    "eval/demo_cpu",
    "eval/demo_thinking",
    "eval/paper_grounding",
    "eval/paper_report",
    "grpo/demo_cpu",
    "grpo/demo_thinking",
    "grpo/paper_grounding",
    "grpo/paper_joint",
    "grpo/paper_report",
    "grpo/thinking_native",
    "grpo/thinking_suffix",
    "grpo/vllm_colocate",
    "grpo/vllm_server",
    "sft/demo_cpu",
    "sft/demo_thinking",
    "sft/paper",
    "sft/thinking",
]
ROOT = Path(__file__).resolve().parents[2]


def test_list_names_every_shipped_file_and_the_package_data_ships_them():
    assert list_configs() == SHIPPED
    assert CONFIG_DIR == ROOT / "radgrpo" / "configs" and not (ROOT / "configs").exists()
    # what pyproject's package-data globs pick up (relative to each package folder) covers every shipped file
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    found = set()
    for pkg, globs in data.items():
        base = ROOT / Path(*pkg.split("."))
        for g in globs:
            found |= {(base / p).resolve() for p in glob.glob(g, root_dir=base, recursive=True)}
    assert {config_path(n).resolve() for n in SHIPPED} <= found


def test_cli_list_prints_each_name_with_its_description(capsys):
    assert radgrpo_main(["configs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == SHIPPED
    sft = next(line for line in lines if line.startswith("sft/demo_cpu "))
    assert "SFT of the tiny demo model on a CPU" in sft


def test_cli_cp_writes_an_identical_file_and_never_overwrites(tmp_path, capsys):
    dest = tmp_path / "mine" / "grpo.yaml"
    assert radgrpo_main(["configs", "cp", "grpo/paper_report", str(dest)]) == 0
    assert dest.read_bytes() == config_path("grpo/paper_report").read_bytes()
    assert f"wrote {dest}" in capsys.readouterr().out
    # into an existing folder: keeps the shipped file name
    assert radgrpo_main(["configs", "cp", "sft/demo_cpu.yaml", str(tmp_path)]) == 0
    assert (tmp_path / "demo_cpu.yaml").read_bytes() == config_path("sft/demo_cpu").read_bytes()
    # the destination exists: exit 2, a one-line reason, the file untouched
    dest.write_text("mine: true\n")
    assert radgrpo_main(["configs", "cp", "grpo/paper_report", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"radgrpo configs cp: {dest} already exists; remove it or pick another destination"
    assert dest.read_text() == "mine: true\n"


def test_cli_cp_unknown_name_exits_2_with_the_nearest_names(tmp_path, capsys):
    assert radgrpo_main(["configs", "cp", "sft/demo", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err
    assert (
        "unknown config 'sft/demo'; did you mean sft/demo_cpu or sft/demo_thinking?" in err
        and "radgrpo configs list" in err
    )
    assert not (tmp_path / "x.yaml").exists()
    with pytest.raises(ConfigError, match="did you mean grpo/paper_joint or grpo/paper_report or grpo/paper_grounding"):
        copy_config("grpo/paper", tmp_path)
    assert radgrpo_main(["configs"]) == 2  # no action: argparse usage error


def test_resolve_config_prefers_an_existing_file(tmp_path, monkeypatch):
    assert resolve_config("sft/demo_cpu") == config_path("sft/demo_cpu")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sft").mkdir()
    (tmp_path / "sft" / "demo_cpu").write_text("max_steps: 3\n")
    assert resolve_config("sft/demo_cpu") == Path("sft/demo_cpu")  # a local file of that name wins
    with pytest.raises(
        ConfigError,
        match=r"--config 'sft/demo_cp' is neither a file nor a shipped config name; "
        r"did you mean sft/demo_cpu or grpo/demo_cpu or eval/demo_cpu\?",
    ):
        resolve_config("sft/demo_cp")
    assert load_config("sft/demo_cpu")["max_steps"] == 2000  # load_config always reads the shipped file


def test_config_flag_takes_a_shipped_name_on_dataclass_commands(tmp_path):
    out = tmp_path / "synth"
    argv = [
        "data",
        "synth",
        "--config",
        "data/synth_demo",
        "--out",
        str(out),
        "--n_train",
        "2",
        "--n_val",
        "0",
        "--n_test",
        "1",
        "--image_size",
        "32",
    ]
    assert radgrpo_main(argv) == 0
    written = yaml.safe_load((out / "config.yaml").read_text())
    shipped = load_config("data/synth_demo")
    assert written["image_size"] == 32 and written["n_train"] == 2
    assert {k: written[k] for k in ("findings", "tasks", "normal_fraction", "second_finding_prob")} == {
        k: shipped[k] for k in ("findings", "tasks", "normal_fraction", "second_finding_prob")
    }
    assert len((out / "train.jsonl").read_text().splitlines()) >= 2


def test_config_flag_takes_a_shipped_name_on_training_commands(capsys):
    # the name resolves (the error is the config's own check, not a missing file) ...
    assert radgrpo_main(["sft", "--config", "sft/demo_cpu", "--train_file", "t.jsonl", "--output_dir", "o"]) == 2
    assert "--model_name_or_path is required" in capsys.readouterr().err
    # ... and an unknown one names the nearest shipped ones
    assert radgrpo_main(["grpo", "--config", "grpo/demo", "--model_name_or_path", "m", "--train_file", "t"]) == 2
    assert "did you mean grpo/demo_cpu or grpo/demo_thinking?" in capsys.readouterr().err
