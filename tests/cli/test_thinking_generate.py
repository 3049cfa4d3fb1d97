"""``radgrpo thinking generate``: a missing endpoint or records file is one line on stderr, exit code 2. (The traces
themselves: tests/data/test_cold_start.py.)

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_thinking_generate.py
"""

from radgrpo.cli.main import main


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["thinking", "generate", "--records", "x.jsonl", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--teacher openai needs --base_url and --model" in err and "Traceback" not in err
    assert main(["thinking", "generate", "--teacher", "synthetic", "--records", str(tmp_path / "no.jsonl"),
                 "--out", str(tmp_path)]) == 2  # fmt: skip
    assert "does not exist" in capsys.readouterr().err
