"""Configs: unknown keys and rejected values are ``ConfigError`` (a ``ValueError``), and every command turns them into
one line on stderr with exit code 2 instead of a traceback.

Run: pytest tests/test_config.py
"""

from dataclasses import dataclass

import pytest

from radgrpo.cli.main import main
from radgrpo.config import ConfigError, from_dict


@dataclass
class _Cfg:
    n: int = 1

    def __post_init__(self):
        if self.n < 1:
            raise ValueError("--n must be >= 1")


def test_from_dict_errors_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['m'\] for _Cfg; valid keys: \['n'\]"):
        from_dict(_Cfg, {"m": 2}, source="run.yaml")
    with pytest.raises(ValueError, match="--n must be >= 1"):  # still a ValueError for library callers
        from_dict(_Cfg, {"n": 0})
    assert from_dict(_Cfg, {"n": 3}).n == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["eval"], "radgrpo eval: --model is required"),
        (
            ["eval", "--model", "m", "--test_file", "t.jsonl", "--metrics", "map"],
            "radgrpo eval: unknown metric(s) ['map']",
        ),
        (["demo", "--n_train", "0"], "radgrpo demo: --n_train, --n_val and --n_test must be >= 1"),
        (["data", "filter-reports", "--root", "."], "radgrpo data filter-reports: --base_url and --model are required"),
    ],
)
def test_bad_flags_exit_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "Traceback" not in err and len(err.splitlines()) == 1


def test_demo_help_prints_and_prefixes_of_flags_are_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--sft_steps" in out and "cosine to 5 %" in out
    # a typo that is a prefix of a real flag must not silently set it (it would start a full run)
    assert main(["demo", "--sft_step", "10", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert err == "radgrpo demo: unknown flag --sft_step; did you mean --sft_steps?\n"
