"""Dynamic sampling and prompt selection under ``accelerate launch`` with 2 CPU processes (gloo), on the tiny Qwen3-VL.

The shipped ``accelerate/ddp`` config starts 2 processes that run what ``radgrpo grpo`` runs
(:func:`~radgrpo.train.parse.parse_train_config`, then :func:`~radgrpo.train.grpo.run_grpo`). The probe reward
(``sampling_probe.py``) gives each rank its own reward plan per generation round, so the ranks find groups with
signal at different rounds; a spy on TRL's loss records how many rows each rank trained on. The test checks that
both ranks ran the same rounds, trained on the same number of groups (the smallest count), that the logged
refills and prompt counts are the sums over both ranks, and that prompt selection scored disjoint shards and gave
both ranks the same kept set.
Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/train/test_grpo_sampling_multiprocess.py
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed

from radgrpo.configs import config_path

LAUNCHER = """
import json
import os
import sys

from trl import GRPOTrainer

from radgrpo.rewards.registry import register_reward
from radgrpo.train.configs import RadGRPOConfig
from radgrpo.train.grpo import run_grpo
from radgrpo.train.parse import parse_train_config

register_reward("sampling_probe", "sampling_probe:make_probe_reward", "test probe")
original = GRPOTrainer._compute_loss


def spy(self, model, inputs):
    with open(os.path.join(os.environ["PROBE_OUT"], f"loss{os.environ['RANK']}.jsonl"), "a") as f:
        f.write(json.dumps({"step": self.state.global_step, "rows": int(inputs["completion_ids"].size(0))}) + "\\n")
    return original(self, model, inputs)


GRPOTrainer._compute_loss = spy
print(run_grpo(parse_train_config(RadGRPOConfig, sys.argv[1:], "radgrpo grpo")))
"""

# per rank and optimizer step, one reward mode per generation round (2 groups of 2 completions per rank and round)
PLAN = {
    "0:0": ["vary"],  # rank 0 is full at once ...
    "1:0": ["zero", "half", "half"],  # ... rank 1 after 3 rounds: both ranks run 3 rounds
    "0:1": ["half", "zero", "zero"],  # rank 0 finds 1 group in 3 rounds (cap) ...
    "1:1": ["vary"],  # ... so rank 1, full at once, trains on 1 group too
}
KEPT = ["g0", "r1", "g2", "r3"]  # intermediate when prompt selection scores them


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_gloo_available(), reason="torch was built without the gloo backend")
def test_two_ranks_refill_in_step_and_train_on_the_same_number_of_groups(tiny_model_dir, tiny_records, tmp_path):
    launcher = tmp_path / "launch_grpo.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    probe_out, out = tmp_path / "probe", tmp_path / "grpo"
    probe_out.mkdir()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PROBE_OUT=str(probe_out),
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    probe = {"out": str(probe_out), "group": 2, "plan": PLAN, "vary": {i: [0, 9] for i in KEPT}}
    cmd = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config_path("accelerate/ddp")),
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
        "sampling_probe",
        "--reward_kwargs",
        json.dumps({"sampling_probe": probe}),
        "--max_steps",
        "2",
        "--per_device_train_batch_size",
        "4",
        "--num_generations",
        "2",  # 2 whole groups on each rank
        "--max_completion_length",
        "4",
        "--learning_rate",
        "1e-3",
        "--logging_steps",
        "1",
        "--save_strategy",
        "no",
        "--report_to",
        "none",
        "--seed",
        "0",
        "--dynamic_sampling",
        "true",
        "--dynamic_sampling_max_rounds",
        "3",
        "--prompt_selection",
        "uncertainty",
        "--prompt_selection_samples",
        "2",
        "--prompt_selection_unfiltered_share",
        "0",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]

    calls = [[json.loads(x) for x in (probe_out / f"rank{r}.jsonl").read_text().splitlines()] for r in (0, 1)]
    losses = [[json.loads(x) for x in (probe_out / f"loss{r}.jsonl").read_text().splitlines()] for r in (0, 1)]
    # prompt selection: one pass, each rank scored its own shard, both ranks train only on the kept prompts
    shards = [{i for c in calls[r] if c["scoring"] for i in c["ids"]} for r in (0, 1)]
    assert not shards[0] & shards[1] and len(shards[0] | shards[1]) == 8
    training = [[c for c in calls[r] if not c["scoring"]] for r in (0, 1)]
    assert all(set(c["ids"]) <= set(KEPT) for r in (0, 1) for c in training[r])
    logs = {r["step"]: r for r in json.loads((out / "log_history.json").read_text()) if "loss" in r}
    assert logs[1]["prompt_selection/kept"] == 4 and logs[1]["prompt_selection/pool"] == 8
    for step, kept_per_rank, capped in [(0, 2, 0.0), (1, 1, 1.0)]:
        rounds = [len([c for c in training[r] if c["step"] == step]) for r in (0, 1)]
        assert rounds == [3, 3]  # every rank ran the same rounds (no hang)
        assert [[x["rows"] for x in losses[r] if x["step"] == step] for r in (0, 1)] == [[kept_per_rank * 2]] * 2
        row = logs[step + 1]
        prompts = sum(len(c["ids"]) // 2 for r in (0, 1) for c in training[r] if c["step"] == step)
        assert row["dynamic_sampling/prompts_generated"] == prompts == 12  # summed over both ranks
        assert row["dynamic_sampling/refill_rounds"] == 2
        assert row["dynamic_sampling/groups_kept"] == 2 * kept_per_rank
        assert row["dynamic_sampling/capped"] == capped
    assert logs[1]["dynamic_sampling/groups_dropped"] == 4 and logs[2]["dynamic_sampling/groups_dropped"] == 5
    totals = json.loads((out / "sampling.json").read_text())
    assert totals == totals | {
        "prompts_generated": 24,
        "completions_generated": 48,
        "groups_trained": 6,
        "refill_rounds": 4,
        "capped_batches": 1,
        "selection_passes": 1,
        "selection_prompts_scored": 8,
        "selection_completions": 16,
        "prompts_trained_selected": 6,
    }
