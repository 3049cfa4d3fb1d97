"""Exact resume after a real SIGKILL: SFT and GRPO runs killed after a checkpoint and started again with the same
command log, step for step, the loss, rewards and grad-norm of an uninterrupted run, and the wall-clock guard keeps
counting from its saved state. Everything runs through ``python -m radgrpo.cli.main`` subprocesses on the tiny model.
Run: pytest tests/train/test_resume_kill.py"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SFT_STEPS, SFT_SAVE = 20, 10  # 20 steps at lr 5e-3: the result also makes the GRPO base (samples with some words)
GRPO_STEPS, GRPO_SAVE = 6, 3  # killed after step 4 is logged: two steps before checkpoint-6
GUARD = "TimeGuardCallback.json"
# GLEU counts unigram overlaps, so even this barely trained model's samples differ in reward within a group
REWARDS = ["grounding_soft_f1", "gleu"]
TOL = 1e-5


def _env():
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    return env


_STARTED: list[subprocess.Popen] = []  # killed at the end of the module if a failure left any running


def _start(argv, log: Path) -> subprocess.Popen:
    """``python -m radgrpo.cli.main ARGV`` in its own process group, stdout+stderr into ``log``."""
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radgrpo.cli.main", *argv],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=_env(),
            start_new_session=True,
        )
    _STARTED.append(proc)
    return proc


def _finish(proc: subprocess.Popen, log: Path, timeout=300) -> None:
    rc = proc.wait(timeout=timeout)
    assert rc == 0, log.read_text()[-4000:]


def _kill_after_checkpoint(proc: subprocess.Popen, out: Path, log: Path, step: int, timeout=300) -> list[str]:
    """SIGKILL ``proc`` once ``checkpoint-<step>`` is complete; the callback-state files it holds.

    Complete means its ``trainer_state.json`` and the guard's state are written, and the run has logged step
    ``step + 1`` (every ``on_save`` of ``step`` ran before that log line, whatever StatefulCallbacks the run has).
    """
    ckpt = out / f"checkpoint-{step}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = (ckpt / "trainer_state.json").is_file() and (ckpt / "callback_state" / GUARD).is_file()
        if done and log.read_text(errors="replace").count("{'loss'") >= step + 1:
            break
        assert proc.poll() is None, f"the run ended before it could be killed:\n{log.read_text()[-4000:]}"
        time.sleep(0.05)
    else:
        raise AssertionError(f"no {ckpt} within {timeout} s")
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL  # killed, not finished
    assert sorted(p.name for p in out.glob("checkpoint-*")) == [ckpt.name]  # the kill came before the next one
    assert not (out / "log_history.json").exists()
    return sorted(p.name for p in (ckpt / "callback_state").iterdir())


def _mark_guard(ckpt: Path, offset_s: float) -> float:
    """Add ``offset_s`` to the guard's saved training time, so the rerun shows it continued from it; the new value."""
    path = ckpt / "callback_state" / GUARD
    state = json.loads(path.read_text())
    state["elapsed_s"] += offset_s
    path.write_text(json.dumps(state))
    return state["elapsed_s"]


def _common(out):
    return ["--output_dir", str(out), "--seed", "0", "--logging_steps", "1", "--save_strategy", "steps"] + [
        "--report_to", "none", "--gradient_checkpointing", "false", "--per_device_train_batch_size", "4",
        "--time_limit_s", "3600",  # the guard is active (never hit), so its state is saved and restored
    ]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tiny_records, tmp_path_factory):
    """SFT then GRPO, each uninterrupted (``a``) and killed + rerun (``b``); concurrent where nothing depends."""
    try:
        yield _run_all(tiny_model_dir, tiny_records, tmp_path_factory)
    finally:
        for proc in _STARTED:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _run_all(tiny_model_dir, tiny_records, tmp_path_factory):
    root = tmp_path_factory.mktemp("resume_kill")
    train = str(tiny_records[1])

    def sft(out):
        return ["sft", "--model_name_or_path", str(tiny_model_dir), "--train_file", train] + _common(out) + [
            "--max_steps", str(SFT_STEPS), "--save_steps", str(SFT_SAVE), "--learning_rate", "5e-3",
            "--max_length", "None", "--assistant_only_loss", "true",
        ]  # fmt: skip

    def grpo(out, base):
        # steps_per_generation defaults to gradient_accumulation_steps (1): every step generates its own batch, so
        # a checkpoint never falls inside a generation batch (a resume there would regenerate the rest of it).
        return ["grpo", "--model_name_or_path", str(base), "--train_file", train] + _common(out) + [
            "--max_steps", str(GRPO_STEPS), "--save_steps", str(GRPO_SAVE), "--learning_rate", "1e-3",
            "--reward_funcs", *REWARDS, "--num_generations", "2",
            "--max_completion_length", "16", "--beta", "0.02",
        ]  # fmt: skip

    res = {}
    sa, sb = root / "sft_a", root / "sft_b"
    p_a, p_b = _start(sft(sa), root / "sft_a.log"), _start(sft(sb), root / "sft_b.log")
    res["sft_killed_states"] = _kill_after_checkpoint(p_b, sb, root / "sft_b.log", SFT_SAVE)
    res["sft_marked"] = _mark_guard(sb / f"checkpoint-{SFT_SAVE}", 1000.0)
    _finish(p_a, root / "sft_a.log")
    # the same command again: resumes from checkpoint-10; meanwhile both GRPO runs start from SFT a's model
    ga, gb = root / "grpo_a", root / "grpo_b"
    p_sb = _start(sft(sb), root / "sft_b2.log")
    p_ga, p_gb = _start(grpo(ga, sa), root / "grpo_a.log"), _start(grpo(gb, sa), root / "grpo_b.log")
    res["grpo_killed_states"] = _kill_after_checkpoint(p_gb, gb, root / "grpo_b.log", GRPO_SAVE)
    res["grpo_marked"] = _mark_guard(gb / f"checkpoint-{GRPO_SAVE}", 1000.0)
    t0 = time.monotonic()
    p_gb2 = _start(grpo(gb, sa), root / "grpo_b2.log")
    _finish(p_sb, root / "sft_b2.log")
    _finish(p_ga, root / "grpo_a.log")
    _finish(p_gb2, root / "grpo_b2.log")
    res["grpo_rerun_s"] = time.monotonic() - t0
    res.update(sft_a=sa, sft_b=sb, grpo_a=ga, grpo_b=gb, sft_rerun_log=root / "sft_b2.log")
    res["grpo_rerun_log"] = root / "grpo_b2.log"
    return res


def _logged_steps(out: Path, after: int) -> dict[int, dict]:
    """The training-step log rows (they carry ``loss``) after step ``after``, by step."""
    rows = [r for r in json.loads((out / "log_history.json").read_text()) if "loss" in r and r["step"] > after]
    by_step = {r["step"]: r for r in rows}
    assert len(by_step) == len(rows)  # each step logged once: the killed process's rows are gone
    return by_step


def _assert_same(a: dict[int, dict], b: dict[int, dict], keys: list[str]) -> None:
    assert sorted(a) == sorted(b)
    for step in a:
        for key in keys:
            va, vb = a[step].get(key), b[step].get(key)
            assert (va is None) == (vb is None), (step, key, va, vb)
            if va is not None:
                assert abs(va - vb) <= TOL, (step, key, va, vb)


def _guard(ckpt: Path) -> dict:
    return json.loads((ckpt / "callback_state" / GUARD).read_text())


def test_sft_killed_and_rerun_logs_what_an_uninterrupted_run_logs(runs):
    a, b = _logged_steps(runs["sft_a"], SFT_SAVE), _logged_steps(runs["sft_b"], SFT_SAVE)
    assert sorted(a) == list(range(SFT_SAVE + 1, SFT_STEPS + 1))
    _assert_same(a, b, ["loss", "grad_norm", "learning_rate"])
    assert all(a[s]["loss"] > 0 and a[s]["grad_norm"] > 0 for s in a)  # real values, not zeros compared
    assert len({round(a[s]["loss"], 4) for s in a}) > 5
    assert runs["sft_killed_states"] == sorted(
        p.name for p in (runs["sft_a"] / f"checkpoint-{SFT_SAVE}" / "callback_state").iterdir()
    )
    assert "no saved state" not in runs["sft_rerun_log"].read_text()  # every StatefulCallback found its state
    # the rerun's guard went on from the saved state: 1000 s marked into checkpoint-10 are still in checkpoint-20
    end = _guard(runs["sft_b"] / f"checkpoint-{SFT_STEPS}")
    assert runs["sft_marked"] < end["elapsed_s"] < runs["sft_marked"] + 300 and end["hit_step"] is None


def test_grpo_killed_and_rerun_logs_what_an_uninterrupted_run_logs(runs):
    a, b = _logged_steps(runs["grpo_a"], GRPO_SAVE), _logged_steps(runs["grpo_b"], GRPO_SAVE)
    assert sorted(a) == list(range(GRPO_SAVE + 1, GRPO_STEPS + 1))
    keys = ["loss", "grad_norm", "reward", "reward_std", "kl"] + [f"rewards/{n}/mean" for n in REWARDS]
    _assert_same(a, b, keys)
    # the compared values carry signal: gradients flow, the policy moved from the reference, rewards vary; and the
    # checkpoint holds a model that moved and non-zero optimizer moments (a gradient at or before the checkpoint)
    assert all(a[s]["grad_norm"] > 1e-3 and a[s]["kl"] > 1e-4 for s in a)
    assert len({a[s]["reward"] for s in a}) > 1 and any(a[s]["reward_std"] > 0 for s in a)
    before = [r for r in json.loads((runs["grpo_a"] / "log_history.json").read_text()) if r.get("step", 0) <= GRPO_SAVE]
    assert any(r.get("grad_norm", 0) > 1e-3 for r in before)
    killed = runs["grpo_killed_states"]
    assert GUARD in killed and killed == sorted(
        p.name for p in (runs["grpo_a"] / f"checkpoint-{GRPO_SAVE}" / "callback_state").iterdir()
    )
    assert "no saved state" not in runs["grpo_rerun_log"].read_text()
    end = _guard(runs["grpo_b"] / f"checkpoint-{GRPO_STEPS}")
    assert runs["grpo_marked"] < end["elapsed_s"] < runs["grpo_marked"] + runs["grpo_rerun_s"]
