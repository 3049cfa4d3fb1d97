"""Two GRPO optimizer steps under ``accelerate launch`` with 2 CPU processes (gloo), on the tiny Qwen3-VL.

The shipped ``accelerate/ddp`` config is launched with ``--cpu --num_processes 2``; the run goes through the same
flag parsing and training as a cluster run of ``radgrpo grpo`` (:func:`~radgrpo.train.parse.parse_train_config`,
then :func:`~radgrpo.train.grpo.run_grpo`). A probe reward, registered in the launched script,
writes each rank's completions and scores to disk and gives rank r the scores ``r + (len(text) % 8) / 8``, so a mean
over one rank alone cannot equal the mean over both. The test checks that each logged ``rewards/probe/mean`` (and
``std``) is the statistic of both ranks' scores of that step, that the ranks split one prompt's group between them,
and that exactly one checkpoint was written.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/train/test_multiprocess.py
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.distributed
from safetensors.torch import load_file

from radgrpo.configs import config_path

PROBE = '''
"""Probe reward of tests/train/test_multiprocess.py: scores rank + (len(text) % 8) / 8 and writes them to disk."""
import json
import os
from pathlib import Path


class ProbeReward:
    __name__ = "probe"

    def __call__(self, completions, trainer_state=None, id=None, **kwargs):
        rank = int(os.environ["RANK"])
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        texts = [t if isinstance(t, str) else json.dumps(t) for t in texts]
        scores = [rank + (len(t) % 8) / 8 for t in texts]  # multiples of 1/8: exact in float32
        if trainer_state is None:  # radgrpo's preflight check before training: not a training step
            return scores
        row = {
            "rank": rank,
            "world_size": int(os.environ["WORLD_SIZE"]),
            "step": trainer_state.global_step,
            "ids": list(id),
            "completions": texts,
            "scores": scores,
        }
        with open(Path(os.environ["PROBE_OUT"]) / f"rank{rank}.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\\n")
        return scores


def make_probe_reward():
    return ProbeReward()
'''

LAUNCHER = """
import sys

from radgrpo.rewards.registry import register_reward
from radgrpo.train.configs import RadGRPOConfig
from radgrpo.train.grpo import run_grpo
from radgrpo.train.parse import parse_train_config

register_reward("probe", "probe_reward:make_probe_reward", "test probe: rank + (len(text) % 8) / 8")
print(run_grpo(parse_train_config(RadGRPOConfig, sys.argv[1:], "radgrpo grpo")))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rows(path: Path) -> dict[int, dict]:
    return {r["step"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="torch was built without the gloo backend")
def test_two_cpu_ranks_gather_rewards_and_write_one_checkpoint(tiny_model_dir, tiny_records, tmp_path):
    (tmp_path / "probe_reward.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    launcher = tmp_path / "launch_grpo.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    probe_out, out = tmp_path / "probe", tmp_path / "grpo"
    probe_out.mkdir()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PROBE_OUT=str(probe_out),
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    eval_yaml = tmp_path / "eval.yaml"
    eval_yaml.write_text("metrics: [soft_f1, bleu4]\nmax_new_tokens: 8\nbatch_size: 4\n")
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config_path("accelerate/ddp")),  # the shipped file: torchrun starts 2 processes, gloo without CUDA
        "--num_processes",
        "2",
        "--mixed_precision",
        "no",
        "--main_process_port",
        str(_free_port()),
        str(launcher),
        "--model_name_or_path",
        str(tiny_model_dir),
        "--train_file",
        str(tiny_records[1]),
        "--output_dir",
        str(out),
        "--reward_funcs",
        "probe",
        "--max_steps",
        "2",
        "--per_device_train_batch_size",
        "2",
        "--num_generations",
        "4",  # one prompt's group of 4 completions per step, 2 on each rank
        "--max_completion_length",
        "8",
        "--learning_rate",
        "1e-3",
        "--logging_steps",
        "1",
        "--save_strategy",
        "steps",
        "--save_steps",
        "2",
        "--report_to",
        "none",
        "--seed",
        "0",
        # held-out evaluation on both ranks (the main process scores, every rank takes its values)
        "--eval_file",
        str(tiny_records[1]),
        "--eval_config",
        str(eval_yaml),
        "--eval_max_samples",
        "1",
        "--eval_steps",
        "1",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    tasks = {r.id: r.task.value for r in tiny_records[0]}
    ranks = [_rows(probe_out / f"rank{r}.jsonl") for r in (0, 1)]  # both ranks scored their own completions
    assert [sorted(rows) for rows in ranks] == [[0, 1], [0, 1]]  # generation at global steps 0 and 1
    logs = json.loads((out / "log_history.json").read_text())
    logged = {r["step"]: r for r in logs if "rewards/probe/mean" in r}
    assert sorted(logged) == [1, 2]
    for step in (0, 1):
        r0, r1 = ranks[0][step], ranks[1][step]
        assert r0["world_size"] == r1["world_size"] == 2
        assert len(r0["scores"]) == len(r1["scores"]) == 2
        assert len(set(r0["ids"] + r1["ids"])) == 1  # the group of one prompt, split over the two ranks
        assert all(0 <= s < 1 for s in r0["scores"]) and all(1 <= s < 2 for s in r1["scores"])
        both = r0["scores"] + r1["scores"]
        assert logged[step + 1]["rewards/probe/mean"] == pytest.approx(statistics.fmean(both), abs=1e-6)
        assert logged[step + 1]["rewards/probe/std"] == pytest.approx(statistics.stdev(both), abs=1e-6)
        task = tasks[r0["ids"][0]]  # radgrpo's per-task monitor gathers both ranks too
        assert logged[step + 1][f"tasks/{task}/reward_mean"] == pytest.approx(statistics.fmean(both), abs=1e-6)
    heldout = json.loads((out / "heldout.json").read_text())
    assert [e["step"] for e in heldout["history"]] == [0, 1, 2]
    assert sorted(r["step"] for r in logs if any(k.startswith("eval_") for k in r)) == [0, 1, 2]
    ckpt = out / "checkpoint-2"
    assert sorted(p.name for p in out.glob("checkpoint-*")) == [ckpt.name]
    assert json.loads((ckpt / "trainer_state.json").read_text())["global_step"] == 2
    assert sorted(p.name for p in ckpt.glob("rng_state*.pth")) == ["rng_state_0.pth", "rng_state_1.pth"]
    # the final model in output_dir is the model of the checkpoint (both ranks finished with the same weights)
    final, saved = load_file(out / "model.safetensors"), load_file(ckpt / "model.safetensors")
    assert final.keys() == saved.keys() and all(torch.equal(final[k], saved[k]) for k in final)
