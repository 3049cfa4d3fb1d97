"""``radgrpo serve rewards`` on the command line, without starting Ray: ``--help`` exits 0 and lists the flags; a
bad flag, an unknown reward, bad reward options or an unset token variable are one line on stderr and exit 2 (all
checked before Ray starts).

Run: pytest tests/cli/test_serve_rewards.py
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from radgrpo.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's --help
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_exits_0_and_lists_the_flags(capsys):
    code, out, err = run(["serve", "rewards", "--help"], capsys)
    assert code == 0 and err == ""
    for flag in (
        "--rewards",
        "--host",
        "--port",
        "--replicas",
        "--num_gpus_per_replica",
        "--max_batch_size",
        "--batch_wait_timeout_s",
        "--max_items",
        "--max_body_bytes",
        "--api_key_env",
        "--address",
        "--reward_options",
        "--min_replicas",
        "--max_replicas",
        "--target_ongoing_requests",
    ):
        assert flag in out, flag


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--replica", "2"], "radgrpo serve rewards: unknown flag --replica; did you mean --replicas?"),
        (["--rewards", "bleu4", "--port", "http"], "radgrpo serve rewards: --port: expected int, got 'http'"),
        (["--rewards", "bleu5"], "radgrpo serve rewards: --rewards: unknown reward 'bleu5'; did you mean 'bleu4'?"),
        ([], "radgrpo serve rewards: --rewards is required"),
        (
            ["--rewards", "bleu4", "--reward_options", '{"bleu4": {"nope": 1}}'],
            "radgrpo serve rewards: --reward_options for 'bleu4': reward 'bleu4' has no option 'nope'; its options: thinking",
        ),
        (
            ["--rewards", "bleu4", "--api_key_env", "RADGRPO_TEST_UNSET_VARIABLE"],
            "radgrpo serve rewards: --api_key_env RADGRPO_TEST_UNSET_VARIABLE: the environment variable is not set",
        ),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("RADGRPO_TEST_UNSET_VARIABLE", raising=False)
    code, out, err = run(["serve", "rewards", *argv], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.strip().startswith(message), err


def test_the_console_script_answers_a_bad_flag_in_one_line_without_importing_ray():
    probe = (
        "import sys; from radgrpo.cli.main import main; code = main(['serve', 'rewards', '--replica', '2']); "
        "print('ray' in sys.modules); sys.exit(code)"
    )
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stdout.strip() == "False"  # flags are checked before Ray is imported
    assert p.stderr.strip() == "radgrpo serve rewards: unknown flag --replica; did you mean --replicas?"


def test_a_port_in_use_is_one_line_before_ray_starts(capsys):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code, out, err = run(["serve", "rewards", "--rewards", "bleu4", "--port", str(port)], capsys)
    assert code == 2 and out == ""
    assert (
        err.strip()
        == f"radgrpo serve rewards: --host 127.0.0.1 --port {port}: cannot listen there (Address already in use)"
    )
