"""``radgrpo``'s dispatch (:mod:`radgrpo.cli.main`): a config error of any command is one line on stderr with exit
code 2 instead of a traceback; ``--help`` prints; a prefix of a flag is refused.

Run: pytest tests/cli/test_main.py
"""

import pytest

from radgrpo.cli.main import main


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
