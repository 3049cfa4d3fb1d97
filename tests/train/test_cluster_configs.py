"""The shipped launch configs: accelerate files (DDP, DeepSpeed ZeRO-2/3, FSDP2) and the vLLM overlays of GRPO.

Each accelerate file is read by accelerate's own loader, turned into a launch the way ``accelerate launch`` does on
the second of two 8-GPU nodes (nothing is started), and its DeepSpeed / FSDP section is built into accelerate's
plugin, which is what the training processes read; DeepSpeed itself is not needed. The vLLM overlays are layered
over the paper preset with the ``radgrpo grpo`` parser. The world-size table of docs/cluster.md is recomputed.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/train/test_cluster_configs.py
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DeepSpeedPlugin, DistributedType, FullyShardedDataParallelPlugin
from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

from radgrpo.configs import config_path, copy_config, list_configs

ROOT = Path(__file__).resolve().parents[2]

#: name -> (distributed_type, DeepSpeed zero_stage, fsdp_version)
EXPECTED = {
    "accelerate/ddp": (DistributedType.MULTI_GPU, None, None),
    "accelerate/zero2": (DistributedType.DEEPSPEED, 2, None),
    "accelerate/zero3": (DistributedType.DEEPSPEED, 3, None),
    "accelerate/fsdp2": (DistributedType.FSDP, None, 2),
}


def _launch_args(name: str, *flags: str):
    """``accelerate launch --config_file <shipped name> FLAGS train.py`` as accelerate resolves it (nothing runs)."""
    argv = ["--config_file", str(config_path(name)), *flags, "train.py", "--output_dir", "o"]
    args, defaults, mp_from_config = _validate_launch_command(launch_command_parser().parse_args(argv))
    return args, defaults


def _env(name: str, args, defaults) -> tuple[list[str] | None, dict[str, str]]:
    """The command (None: torchrun) and the environment the launcher gives every training process."""
    if args.use_deepspeed:
        args.deepspeed_fields_from_accelerate_config = ",".join(defaults.deepspeed_config)
        return prepare_deepspeed_cmd_env(args)
    return None, prepare_multi_gpu_env(args)


def test_every_shipped_accelerate_file_is_listed_here():
    assert sorted(n for n in list_configs() if n.startswith("accelerate/")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accelerate_file_loads_with_the_expected_backend(name, tmp_path):
    dist, stage, fsdp_version = EXPECTED[name]
    cfg = load_config_from_file(str(config_path(name)))
    assert isinstance(cfg, ClusterConfig)
    assert (cfg.distributed_type, cfg.num_machines, cfg.num_processes) == (dist, 1, 8)
    assert (cfg.mixed_precision, cfg.use_cpu, cfg.machine_rank) == ("bf16", False, 0)
    assert cfg.deepspeed_config.get("zero_stage") == stage
    assert cfg.fsdp_config.get("fsdp_version") == fsdp_version
    # every DeepSpeed / FSDP key is an `accelerate launch` option (a misspelt key would be dropped silently)
    options = {a.dest for a in launch_command_parser()._actions}
    assert set(cfg.deepspeed_config) | set(cfg.fsdp_config) <= options
    # `radgrpo configs cp accelerate/NAME .` gives a file accelerate reads the same way
    copy = copy_config(name, tmp_path)
    assert copy.name == f"{name.split('/')[1]}.yaml"
    assert load_config_from_file(str(copy)).to_dict() == cfg.to_dict()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_multi_node_launch_runs_torchrun_with_8_processes_per_node(name):
    flags = ["--num_machines", "2", "--num_processes", "16", "--machine_rank", "1"]
    args, defaults = _launch_args(name, *flags, "--main_process_ip", "10.0.0.1", "--main_process_port", "29500")
    cmd, env = _env(name, args, defaults)
    assert cmd is None  # DeepSpeed's "standard" launcher is torchrun on each node, not pdsh with a hostfile
    assert (args.nproc_per_node, args.nnodes, args.node_rank) == ("8", "2", 1)
    endpoint = getattr(args, "rdzv_endpoint", None) or f"{args.master_addr}:{args.master_port}"
    assert endpoint == "10.0.0.1:29500"  # node 0's address, as torchrun's rendezvous
    assert env["ACCELERATE_MIXED_PRECISION"] == "bf16"


@pytest.mark.parametrize("name, stage", [("accelerate/zero2", 2), ("accelerate/zero3", 3)])
def test_deepspeed_section_builds_a_well_formed_deepspeed_config(name, stage, monkeypatch):
    args, defaults = _launch_args(name)
    _, env = _env(name, args, defaults)
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true" and env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == str(stage)
    for key, value in env.items():
        if key.startswith("ACCELERATE_"):
            monkeypatch.setenv(key, value)
    ds = DeepSpeedPlugin().deepspeed_config  # what the training processes hand to DeepSpeed
    zero = ds["zero_optimization"]
    assert zero["stage"] == stage
    assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == "none"
    assert zero["stage3_gather_16bit_weights_on_model_save"] is (stage == 3)  # ZeRO-3 saves full bf16 weights
    # batch size, accumulation and clipping are left to the training config (the Trainer fills "auto")
    assert {k: ds[k] for k in ("train_batch_size", "train_micro_batch_size_per_gpu")} == dict.fromkeys(
        ("train_batch_size", "train_micro_batch_size_per_gpu"), "auto"
    )
    assert ds["gradient_accumulation_steps"] == ds["gradient_clipping"] == "auto"
    assert DeepSpeedPlugin().zero3_init_flag is (stage == 3)


def test_fsdp2_section_builds_the_plugin_the_trainer_uses(monkeypatch, tiny_model_dir):
    from radgrpo.models.qwen3_vl import load_model

    args, defaults = _launch_args("accelerate/fsdp2")
    _, env = _env("accelerate/fsdp2", args, defaults)
    for key, value in env.items():
        if key.startswith(("ACCELERATE_", "FSDP_")):
            monkeypatch.setenv(key, value)
    plugin = FullyShardedDataParallelPlugin()
    assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
    assert plugin.state_dict_type.name == "FULL_STATE_DICT" and plugin.cpu_ram_efficient_loading is True
    # off, so that the presets' gradient_checkpointing: true is allowed (both on is an error of the Trainer)
    assert plugin.activation_checkpointing is False
    # the transformer wrap policy shards Qwen3-VL's own blocks: one shard per decoder layer and per vision block
    model = load_model(tiny_model_dir)
    plugin.set_auto_wrap_policy(model)
    # a set inside transformers: the order changes with string hashing, so compare as a set
    assert sorted(plugin.transformer_cls_names_to_wrap) == ["Qwen3VLTextDecoderLayer", "Qwen3VLVisionBlock"]
    wrapped = [m for m in model.modules() if plugin.auto_wrap_policy(m, recurse=False, nonwrapped_numel=0)]
    n_text, n_vision = model.config.text_config.num_hidden_layers, model.config.vision_config.depth
    assert len(wrapped) == n_text + n_vision and n_text >= 1 and n_vision >= 1


def _paper_with(overlay: str, *flags: str):
    from radgrpo.train.configs import RadGRPOConfig
    from radgrpo.train.parse import parse_train_config

    argv = ["--config", "grpo/paper_report", "--config", overlay, "--model_name_or_path", "x"]
    return parse_train_config(
        RadGRPOConfig, [*argv, "--train_file", "t.jsonl", "--output_dir", "tmp", *flags], "radgrpo grpo"
    )


def test_vllm_colocate_overlay_keeps_the_paper_preset_and_adds_the_rollout_engine():
    cfg = _paper_with("grpo/vllm_colocate")
    assert (cfg.use_vllm, cfg.vllm_mode, cfg.vllm_tensor_parallel_size) == (True, "colocate", 1)
    assert cfg.vllm_gpu_memory_utilization == 0.6 and cfg.vllm_enable_sleep_mode is True
    assert cfg.vllm_max_model_length == 8192 and cfg.vllm_importance_sampling_correction is False
    # the preset's keys are untouched
    assert (cfg.reward_funcs, cfg.num_generations, cfg.max_completion_length) == (["radcliq"], 8, 1024)
    assert (cfg.per_device_train_batch_size, cfg.gradient_accumulation_steps, cfg.steps_per_generation) == (4, 8, 32)
    assert (cfg.learning_rate, cfg.beta, cfg.epsilon_high, cfg.loss_type) == (1e-6, 0.01, 0.28, "bnpo")


def test_vllm_server_overlay_and_flags_override_it():
    cfg = _paper_with("grpo/vllm_server")
    assert (cfg.use_vllm, cfg.vllm_mode, cfg.vllm_server_host, cfg.vllm_server_port) == (
        True,
        "server",
        "127.0.0.1",
        8000,
    )
    assert cfg.vllm_server_timeout == 600.0 and cfg.vllm_importance_sampling_correction is False
    assert (cfg.reward_funcs, cfg.max_steps, cfg.save_steps) == (["radcliq"], 1200, 80)
    # one 8-GPU node, 4 training ranks: the flags of docs/cluster.md win over both files
    cfg = _paper_with("grpo/vllm_server", "--vllm_server_host", "node7", "--gradient_accumulation_steps", "64")
    assert (cfg.vllm_server_host, cfg.gradient_accumulation_steps, cfg.vllm_mode) == ("node7", 64, "server")


def test_docs_world_size_table_matches_verl_to_trl():
    from radgrpo.train.verl import PAPER_REPORT_VERL, verl_to_trl

    grounding = {**PAPER_REPORT_VERL, "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": 8}
    text = (ROOT / "docs" / "cluster.md").read_text(encoding="utf-8")
    for w in (4, 8, 16, 32):
        r, g = verl_to_trl(PAPER_REPORT_VERL, n_gpus=w), verl_to_trl(grounding, n_gpus=w)
        row = (
            rf"\|\s*{w}\s*\|\s*{r['gradient_accumulation_steps']}\s*\|\s*{r['steps_per_generation']}\s*\|"
            rf"\s*{g['gradient_accumulation_steps']}\s*\|\s*{g['steps_per_generation']}\s*\|"
        )
        assert re.search(row, text), f"docs/cluster.md: no world-size row for W={w}: {row}"


def test_cli_runs_as_a_module_as_accelerate_launch_m_needs():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "radgrpo.cli.main", "configs", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    names = [line.split()[0] for line in out.stdout.splitlines()]
    assert {"accelerate/zero3", "accelerate/fsdp2", "grpo/vllm_server", "grpo/vllm_colocate"} <= set(names)
