"""Every ``radgrpo`` command answers a user error (unknown command or flag, bad value, unknown YAML key, missing file)
with ONE line on stderr naming the nearest valid choice and exit code 2: no usage block, no traceback. Errors are
caught before any model loads, so these tests train nothing; ``--help`` still exits 0 everywhere.

Run: pytest tests/test_cli_errors.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from radgrpo.cli.main import COMMANDS, main, one_line, user_error_message

REPO = Path(__file__).resolve().parents[1]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``radgrpo argv`` run in-process (``--help`` exits through SystemExit)."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's --help
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line_error(code: int, err: str, expected_start: str) -> str:
    assert code == 2
    assert "Traceback" not in err and "usage:" not in err
    line = err.strip()
    assert len(line.splitlines()) == 1, err
    assert line.startswith(expected_start), line
    return line


# (command words, mistyped flag, the flag it should suggest)
NEAR_MISSES = [
    (["demo"], "--sft_step", "--sft_steps"),
    (["data", "synth"], "--n_trian", "--n_train"),
    (["data", "build"], "--blokcs", "--blocks"),
    (["data", "validate"], "--vindr_convrt", "--vindr_convert"),
    (["data", "filter-reports"], "--bas_url", "--base_url"),
    (["data", "conversations"], "--splt", "--split"),
    (["eval"], "--test_fil", "--test_file"),
    (["sft"], "--lerning_rate", "--learning_rate"),
    (["grpo"], "--reward_func", "--reward_funcs"),
    (["models", "build-tiny"], "--imagesize", "--image_size"),
    (["models", "download"], "--dst", "--dest"),
    (["rewards", "list"], "--name", "--names"),
    (["serve", "rewards"], "--replica", "--replicas"),
    (["compare"], "--metrc", "--metrics"),
    (["report"], "--thumb_siz", "--thumb_size"),
    (["predict"], "--imag", "--image"),
    (["thinking", "generate"], "--recrds", "--records"),
]


@pytest.mark.parametrize("words, bad, good", NEAR_MISSES, ids=[" ".join(w) for w, _, _ in NEAR_MISSES])
def test_unknown_flag_names_the_nearest_flag(words, bad, good, capsys):
    code, out, err = run([*words, bad, "1"], capsys)
    assert_one_line_error(code, err, f"radgrpo {' '.join(words)}: unknown flag {bad}; did you mean {good}?")
    assert out == ""


def test_every_command_has_a_near_miss_case():
    covered = {tuple(w) for w, _, _ in NEAR_MISSES}
    assert covered >= {k for k in COMMANDS if k[0] != "configs"}  # configs: see test_configs_errors_are_one_line


def test_a_flag_with_no_near_match_points_to_help_and_several_are_named(capsys):
    code, _, err = run(["demo", "--zzzzzz"], capsys)
    assert_one_line_error(code, err, "radgrpo demo: unknown flag --zzzzzz (--help lists the flags)")
    code, _, err = run(["demo", "--sft_step", "2", "--grpo_step=3"], capsys)
    line = assert_one_line_error(code, err, "radgrpo demo: unknown flags --sft_step, --grpo_step; did you mean")
    assert "--sft_steps (for --sft_step)" in line and "--grpo_steps (for --grpo_step)" in line
    code, _, err = run(["demo", "stray"], capsys)
    assert_one_line_error(code, err, "radgrpo demo: unexpected argument 'stray'")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--n_train", "abc"], "radgrpo demo: --n_train: expected int, got 'abc'"),
        (["data", "synth", "--n_train", "1.5"], "radgrpo data synth: --n_train: expected int, got '1.5'"),
        (["demo", "--fast", "maybe"], "radgrpo demo: --fast: expected a boolean, got 'maybe'"),
        (["demo", "--out"], "radgrpo demo: --out: expected a value"),
        (["sft", "--learning_rate", "abc"], "radgrpo sft: --learning_rate: expected float, got 'abc'"),
        (["grpo", "--num_generations", "x"], "radgrpo grpo: --num_generations: expected int, got 'x'"),
    ],
)
def test_bad_values_are_one_line(argv, message, capsys):
    code, _, err = run(argv, capsys)
    assert_one_line_error(code, err, message)
    assert err.strip() == message


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["evaluate", "--model", "m"],
            "radgrpo: unknown command 'evaluate'; did you mean 'eval'? (radgrpo --help lists commands)",
        ),
        (["grop"], "radgrpo: unknown command 'grop'; did you mean 'grpo'?"),
        (["data", "synt"], "radgrpo: unknown command 'data synt'; did you mean 'data synth'?"),
        (["modles", "download"], "radgrpo: unknown command 'modles download'; did you mean 'models download'?"),
        (["xyzzy"], "radgrpo: unknown command 'xyzzy' (radgrpo --help lists commands)"),
    ],
)
def test_unknown_commands_suggest_the_nearest(argv, message, capsys):
    code, out, err = run(argv, capsys)
    assert_one_line_error(code, err, message)
    assert out == ""


def test_a_group_alone_lists_its_subcommands_in_one_line(capsys):
    code, _, err = run(["data"], capsys)
    line = assert_one_line_error(code, err, "radgrpo data: missing subcommand, one of: synth, build, validate")
    assert "filter-reports" in line and "conversations" in line
    code, out, err = run(["data", "--help"], capsys)
    assert code == 0 and err == "" and "synth" in out and "write a synthetic chest X-ray" in out


@pytest.mark.parametrize("words", [list(k) for k in COMMANDS], ids=[" ".join(k) for k in COMMANDS])
def test_help_exits_0(words, capsys):
    code, out, err = run([*words, "--help"], capsys)
    assert code == 0
    assert "Traceback" not in err
    assert "usage:" in out.lower()


def test_missing_config_file_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    for words in (["demo"], ["data", "synth"], ["sft"]):
        code, _, err = run([*words, "--config", str(missing)], capsys)
        line = assert_one_line_error(code, err, f"radgrpo {' '.join(words)}: ")
        assert str(missing) in line


def test_unknown_yaml_keys_and_bad_yaml_values_name_the_nearest_key(tmp_path, capsys):
    demo_yaml = tmp_path / "demo.yaml"
    demo_yaml.write_text("sft_step: 3\n")
    code, _, err = run(["demo", "--config", str(demo_yaml)], capsys)
    assert_one_line_error(
        code, err, f"radgrpo demo: {demo_yaml}: unknown key(s) ['sft_step'] for DemoConfig; did you mean sft_steps?"
    )
    demo_yaml.write_text("n_train: abc\n")
    code, _, err = run(["demo", "--config", str(demo_yaml)], capsys)
    assert_one_line_error(code, err, f"radgrpo demo: {demo_yaml}: n_train: expected int, got 'abc'")
    grpo_yaml = tmp_path / "grpo.yaml"
    grpo_yaml.write_text("learning_rate: 1.0e-6\nnum_generation: 4\n")
    code, _, err = run(["grpo", "--config", str(grpo_yaml)], capsys)
    assert_one_line_error(
        code,
        err,
        f"radgrpo grpo: {grpo_yaml}: unknown key(s) ['num_generation'] for "
        "RadGRPOConfig; did you mean num_generations?",
    )


def test_yaml_number_strings_are_converted_like_flags(tmp_path, capsys):
    from radgrpo.cli.demo import DemoConfig
    from radgrpo.config import parse_config

    cfg_file = tmp_path / "d.yaml"
    cfg_file.write_text("sft_learning_rate: 1e-4\nn_train: '12'\n")  # PyYAML reads 1e-4 as a string
    cfg = parse_config(DemoConfig, ["--config", str(cfg_file)])
    assert cfg.sft_learning_rate == 1e-4 and isinstance(cfg.sft_learning_rate, float) and cfg.n_train == 12


def test_missing_user_files_are_one_line(tmp_path, capsys):
    train = tmp_path / "missing_train.jsonl"
    code, _, err = run(
        ["sft", "--model_name_or_path", "m", "--train_file", str(train), "--output_dir", str(tmp_path / "o")], capsys
    )
    assert_one_line_error(code, err, f"radgrpo sft: --train_file {train} does not exist")
    root = tmp_path / "mimic"
    root.mkdir()
    genders = tmp_path / "genders.json"  # opened by open(): a FileNotFoundError with a filename the user gave
    code, _, err = run(
        [
            "data",
            "conversations",
            "--root",
            str(root),
            "--base_url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--genders_json",
            str(genders),
        ],
        capsys,
    )
    assert_one_line_error(code, err, f"radgrpo data conversations: no such file or directory: {genders}")
    cfg_file = tmp_path / "conv.yaml"  # the same path named in the --config YAML is the user's too
    cfg_file.write_text(f"root: {root}\nbase_url: http://127.0.0.1:9/v1\nmodel: m\ngenders_json: {genders}\n")
    code, _, err = run(["data", "conversations", "--config", str(cfg_file)], capsys)
    assert_one_line_error(code, err, f"radgrpo data conversations: no such file or directory: {genders}")


def test_only_user_errors_lose_their_traceback(tmp_path, monkeypatch):
    from radgrpo.config import ConfigError
    from radgrpo.metrics.loaders import ModelNotFoundError, all_model_specs, resolve_model

    assert user_error_message(ConfigError("--n must be >= 1"), []) == "--n must be >= 1"
    name = sorted(all_model_specs())[0]
    with pytest.raises(ModelNotFoundError) as missing:
        resolve_model(name, model_dir=tmp_path / "no_model")
    message = user_error_message(missing.value, [])
    assert message is not None and f"radgrpo models download {name}" in message and len(message.splitlines()) > 1
    assert len(one_line(message).splitlines()) == 1 and "no_model" in one_line(message)
    internal = FileNotFoundError(2, "No such file or directory", str(tmp_path / "internal.bin"))
    assert user_error_message(internal, ["--out", "elsewhere"]) is None  # not a path the user gave
    assert user_error_message(internal, ["--root", str(tmp_path)]) == f"no such file or directory: {internal.filename}"
    assert user_error_message(KeyError("x"), []) is None
    assert user_error_message(OSError("from a library"), []) is None  # not raised by radgrpo code
    from radgrpo.models.qwen3_vl import load_model

    with pytest.raises(OSError) as no_policy:  # radgrpo's own message for a policy model that is not there
        load_model(str(tmp_path / "no_policy"))
    assert str(user_error_message(no_policy.value, [])).startswith(f"cannot load the model from '{tmp_path}")
    # a bug inside a command keeps its traceback: read_jsonl given a list is a TypeError, not a user error
    monkeypatch.setitem(COMMANDS, ("boom",), ("radgrpo.records", "read_jsonl", "raises TypeError"))
    with pytest.raises(TypeError):
        main(["boom"])


def test_configs_errors_are_one_line(capsys):
    if ("configs",) not in COMMANDS:
        pytest.skip("no configs command")
    code, _, err = run(["configs", "lst"], capsys)
    assert_one_line_error(code, err, "radgrpo configs: ")
    assert "invalid choice: 'lst'" in err and "did you mean 'list'?" in err
    code, _, err = run(["configs", "list", "--zzzzzz"], capsys)
    assert_one_line_error(code, err, "radgrpo configs: unknown flag --zzzzzz")


def test_the_console_script_prints_one_line_and_exits_2(tmp_path):
    exe = shutil.which("radgrpo")
    if exe is None:
        pytest.skip("the radgrpo console script is not installed")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [exe, "evaluate", "--model", "m"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        proc.stderr.strip() == "radgrpo: unknown command 'evaluate'; did you mean 'eval'? "
        "(radgrpo --help lists commands)"
    )
    assert proc.stdout == ""


def test_a_mistyped_local_model_folder_fails_at_once_with_the_nearest_folder(tmp_path, capsys):
    # "runs/sftt" is a local path (its first part exists), never a hub id to retry for a minute
    (tmp_path / "runs" / "sft").mkdir(parents=True)
    from radgrpo.records import Record, Task, write_jsonl

    test_file = tmp_path / "test.jsonl"
    write_jsonl([Record("r/1", "a.png", Task.REPORT_GENERATION, "Describe.", "No findings.")], test_file)
    model = str(tmp_path / "runs" / "sftt")
    code, _, err = run(["eval", "--model", model, "--test_file", str(test_file), "--out", str(tmp_path / "e")], capsys)
    assert_one_line_error(
        code,
        err,
        f"radgrpo eval: cannot load the model from {model!r}: no such folder; did you mean {tmp_path}/runs/sft?",
    )


def test_hub_ids_are_not_taken_for_local_folders(tmp_path, monkeypatch):
    from radgrpo.models.qwen3_vl import check_local_folder, looks_local

    monkeypatch.chdir(tmp_path)
    assert not looks_local("Qwen/Qwen3-VL-8B-Instruct")
    check_local_folder("Qwen/Qwen3-VL-8B-Instruct")  # a hub id passes through to transformers
    (tmp_path / "Qwen").mkdir()  # ... unless its first part is a folder here: then it is a local path
    assert looks_local("Qwen/Qwen3-VL-8B-Instruct")
    with pytest.raises(OSError, match="no such folder"):
        check_local_folder("Qwen/Qwen3-VL-8B-Instruct")


@pytest.mark.parametrize(
    "content, expected",
    [
        ('[{"id": "a"}]\n', ":1: a JSON list, not an object (a records file is JSONL: one JSON object per line"),
        ("id,image\n1,a.png\n", ":1: not JSON (a records file is JSONL: one JSON object per line"),
        ('{"id": "a"}\n', ":1: not a record (TypeError: "),
        ('[\n  {"id": "a"}\n]\n', ":1: not valid JSON on one line (a records file is JSONL"),
        (
            b"\x89PNG\r\n\x1a\n\x00\xff",
            ":1: not UTF-8 text (a records file is JSONL: one JSON object per line; is this an",
        ),
        ("", " holds no records (an empty file)"),
    ],
)
def test_a_test_file_that_is_not_jsonl_names_the_line(tmp_path, capsys, content, expected):
    test_file = tmp_path / "test.json"
    test_file.write_bytes(content) if isinstance(content, bytes) else test_file.write_text(content)
    code, _, err = run(["eval", "--model", str(tmp_path), "--test_file", str(test_file)], capsys)
    prefix = "--test_file " if content == "" else ""
    assert_one_line_error(code, err, f"radgrpo eval: {prefix}{test_file}{expected}")


def test_eval_test_file_checks_before_the_model_loads(tmp_path, capsys):
    from radgrpo.records import Record, Task, read_jsonl, write_jsonl

    rec = Record("r/1", "a.png", Task.REPORT_GENERATION, "Describe.", "No findings.")
    test_file = tmp_path / "test.jsonl"
    write_jsonl([rec], test_file)
    bom = tmp_path / "bom.jsonl"  # a byte-order mark from a Windows editor is fine
    bom.write_bytes(b"\xef\xbb\xbf" + test_file.read_bytes())
    assert read_jsonl(bom) == [rec]
    base = ["eval", "--model", str(tmp_path), "--out", str(tmp_path / "e"), "--metrics", "bleu4"]
    code, _, err = run([*base, "--test_file", str(tmp_path)], capsys)
    assert_one_line_error(code, err, f"radgrpo eval: --test_file {tmp_path} is a folder; pass the records JSONL in it")
    code, _, err = run([*base, "--test_file", str(test_file), "--tasks", "detection"], capsys)
    assert_one_line_error(
        code, err, f"radgrpo eval: no records of --tasks ['detection'] in {test_file} (it holds report_generation)"
    )
    code, _, err = run([*base, "--test_file", str(test_file)], capsys)
    assert_one_line_error(
        code,
        err,
        f"radgrpo eval: 1 of 1 test records name an image that does not exist, e.g. record 'r/1': {tmp_path / 'a.png'}",
    )
    assert not (tmp_path / "e").exists()


def test_eval_lists_every_missing_scoring_model_before_loading_anything(tmp_path, capsys, monkeypatch):
    import huggingface_hub.constants

    from radgrpo.records import Record, Task, write_jsonl

    monkeypatch.setenv("RADGRPO_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # an empty HF cache
    test_file = tmp_path / "test.jsonl"
    write_jsonl([Record("r/1", "a.png", Task.REPORT_GENERATION, "Describe.", "No findings.")], test_file)
    model = str(tmp_path / "no_model_here")  # never reached: the models are checked first
    argv = ["eval", "--model", model, "--test_file", str(test_file), "--metrics", "bleu4", "bertscore", "radgraph"]
    code, _, err = run(argv + ["--out", str(tmp_path / "e")], capsys)
    assert_one_line_error(code, err, "radgrpo eval: 3 scoring model(s) missing, nothing was generated: ")
    assert "distilbert-base-uncased (for bertscore): config.json, vocab.txt and the weights" in err
    assert "radgraph-xl (for radgraph): radgraph-xl.tar.gz in " + str(tmp_path / "models" / "radgraph-xl") in err
    assert "radgrpo models download distilbert-base-uncased radgraph-xl radgraph-xl-backbone" in err
    assert not (tmp_path / "e").exists()  # nothing written


def test_eval_without_a_test_file_or_with_a_missing_config_is_one_line(tmp_path, capsys):
    code, _, err = run(["eval", "--model", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "radgrpo eval: --test_file is required (a records JSONL)")
    code, _, err = run(["eval", "--test_file", "t.jsonl"], capsys)
    assert_one_line_error(code, err, "radgrpo eval: --model is required")
    code, _, err = run(["eval", "--config", str(tmp_path / "nope.yaml")], capsys)
    line = assert_one_line_error(code, err, f"radgrpo eval: --config '{tmp_path / 'nope.yaml'}' is neither a file")
    assert "radgrpo configs list" in line
    code, _, err = run(["eval", "--model", str(tmp_path), "--test_file", str(tmp_path / "t.jsonl")], capsys)
    assert_one_line_error(code, err, f"radgrpo eval: --test_file {tmp_path / 't.jsonl'} does not exist")


def _grounding_test_file(folder: Path) -> Path:
    from radgrpo.records import Record, Task, write_jsonl

    test_file = folder / "test.jsonl"
    box = (0.1, 0.2, 0.4, 0.5)
    write_jsonl(
        [Record("g/1", "a.png", Task.ABNORMALITY_GROUNDING, "Where?", "[0.1, 0.2, 0.4, 0.5]", [box])], test_file
    )
    return test_file


def test_a_relative_model_path_with_no_such_folder_fails_at_once_offline(tmp_path, capsys, monkeypatch):
    # "runs/sftt" where no runs/ exists here looks like a hub id; offline and not in the HF cache it cannot load
    import time

    import huggingface_hub.constants

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    test_file = _grounding_test_file(tmp_path)
    t0 = time.perf_counter()
    code, _, err = run(["eval", "--model", "runs/sftt", "--test_file", str(test_file), "--out", "e"], capsys)
    assert time.perf_counter() - t0 < 5
    assert_one_line_error(
        code,
        err,
        "radgrpo eval: cannot load the model from 'runs/sftt': no such folder here, and no hub model of that name in "
        "the HF cache (HF_HUB_OFFLINE=1: the hub is not asked)",
    )
    (tmp_path / "sft").mkdir()  # a one-word name near a folder here gets the folder suggested
    code, _, err = run(["eval", "--model", "sftt", "--test_file", str(test_file), "--out", "e"], capsys)
    assert_one_line_error(code, err, "radgrpo eval: cannot load the model from 'sftt': no such folder here")
    assert err.strip().endswith("; did you mean sft?")
    assert not (tmp_path / "e").exists()  # nothing written


def test_a_relative_model_path_fails_at_once_when_the_hub_cannot_be_reached(tmp_path):
    # online but the hub unreachable (here: a closed local port): one request, no minute of retries (it was 49 s)
    import time

    test_file = _grounding_test_file(tmp_path)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    argv = ["-m", "radgrpo.cli.main", "eval", "--model", "runs/sftt", "--test_file", str(test_file), "--out", "e"]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(
        proc.returncode,
        proc.stderr,
        "radgrpo eval: cannot load the model from 'runs/sftt': no such folder here, not in the HF cache, and the hub "
        "(http://127.0.0.1:9) cannot be reached to look for it (",
    )
    assert elapsed < 20, elapsed  # interpreter start and imports; from_pretrained's retries took 49 s


def test_eval_adapter_errors_are_one_line(tmp_path, capsys, monkeypatch):
    from radgrpo.models.adapters import ADAPTERS, ModelAdapter

    test_file = _grounding_test_file(tmp_path)
    argv = ["eval", "--model", str(tmp_path), "--test_file", str(test_file), "--out", str(tmp_path / "e")]
    code, _, err = run([*argv, "--adapter", "radgrp"], capsys)
    assert_one_line_error(code, err, "radgrpo eval: --adapter: unknown model adapter 'radgrp'; did you mean 'radgrpo'?")
    monkeypatch.setitem(ADAPTERS, "needs_code", ModelAdapter(name="needs_code", trust_remote_code=True))
    code, _, err = run([*argv, "--adapter", "needs_code"], capsys)
    assert_one_line_error(
        code,
        err,
        "radgrpo eval: model adapter 'needs_code': its models run their own code from the hub; review it and pass "
        "--trust_remote_code to allow it",
    )
    code, _, err = run([*argv, "--adapter", "llava_rad"], capsys)  # a task the family has no prompt for
    assert_one_line_error(
        code, err, "radgrpo eval: model adapter 'llava_rad': no prompt for task(s) abnormality_grounding"
    )
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--world", "noisy"], "radgrpo demo: --world must be one of clean, readers, got 'noisy'"),
        (
            ["--grpo_scale_rewards", "bogus"],
            "radgrpo demo: --grpo_scale_rewards must be one of group, batch, none, got 'bogus'",
        ),
        (
            ["--grpo_prompt_selection", "maybe"],
            "radgrpo demo: --grpo_prompt_selection must be one of none, uncertainty, got 'maybe'",
        ),
    ],
)
def test_demo_bad_settings_fail_before_any_work(tmp_path, capsys, flags, message):
    """A bad demo flag is one line, exit 2, and nothing is written (every stage's config is built first)."""
    out = tmp_path / "demo"
    code, _, err = run(["demo", *flags, "--out", str(out)], capsys)
    assert_one_line_error(code, err, message)
    assert not out.exists()
