"""The demo's settings and stage configs (:mod:`radgrpo.recipes.demo.config`): the shipped files plus the demo's
overrides, and the compute-matched control. The demo end to end: tests/cli/test_demo.py.

Run: pytest tests/recipes/demo/test_config.py
"""

import pytest

from radgrpo.recipes.demo.config import DemoConfig


def _value(v):
    return v.value if hasattr(v, "value") else v  # TRL stores lr_scheduler_type / save_strategy as str enums


def _assert_shipped_plus(cfg, shipped: dict, overrides: dict):
    """Every key of the shipped file has its value in ``cfg`` unless the demo overrides it, then the override's."""
    for key, value in {**shipped, **overrides}.items():
        want = overrides.get(key, value)
        got = _value(getattr(cfg, key))
        if key == "report_to":  # TrainingArguments turns "none" into []
            got = got or "none"
        assert got == want, (key, got, want)


def test_demo_stage_configs_are_the_shipped_files_plus_its_overrides(tmp_path):
    """The demo reads data/synth_demo, sft/demo_cpu, grpo/demo_cpu and eval/demo_cpu; its flags override named keys."""
    from radgrpo.configs import load_config
    from radgrpo.recipes.demo.config import eval_config, grpo_config, sft_config, synth_config

    out = tmp_path / "d"
    cfg = DemoConfig(out=str(out), seed=7, sft_steps=11, grpo_beta=0.02, eval_batch_size=5, n_test=9, time_limit_s=30.0)
    # defaults are the shipped values
    default = DemoConfig()
    assert (default.world, default.n_train, default.n_val, default.n_test, default.image_size) == (
        "readers",
        4000,
        500,
        1000,
        128,
    )
    assert (default.sft_steps, default.sft_learning_rate, default.sft_warmup_steps, default.sft_batch_size) == (
        2000,
        1e-3,
        30,
        16,
    )
    assert (
        default.grpo_steps,
        default.grpo_learning_rate,
        default.grpo_beta,
        default.grpo_num_generations,
        default.grpo_batch_size,
        default.grpo_temperature,
        default.eval_batch_size,
    ) == (120, 5e-5, 0.0, 8, 64, 1.0, 50)

    synth = synth_config(cfg)
    _assert_shipped_plus(synth, load_config("data/synth_demo"), {"out": str(out / "data"), "seed": 7, "n_test": 9})

    train = {"train_file": str(out / "data" / "train.jsonl"), "seed": 7, "disable_tqdm": False, "time_limit_s": 30.0}
    sft_shipped = load_config("sft/demo_cpu")
    # SFT and GRPO evaluate the same held-out records with the same callback (eval_<task>/<metric> keys)
    heldout = {"eval_file": str(out / "data" / "val.jsonl"), "eval_config": "eval/demo_cpu", "eval_max_samples": 100}
    _assert_shipped_plus(
        sft_config(cfg),
        sft_shipped,
        {
            **train,
            **heldout,
            "max_steps": 11,
            "eval_steps": 250,
            "output_dir": str(out / "sft"),
            "model_name_or_path": str(out / "model_init"),
        },
    )
    # the compute-matched control: as many samples as GRPO's prompts, constant 5 % of the peak LR, no warm-up
    assert cfg.control_steps() == 120 * 64 // 8 // 16 == 60 and cfg.control_steps(961) == 61
    _assert_shipped_plus(
        sft_config(cfg, control=True),
        sft_shipped,
        {
            **train,
            "max_steps": 60,
            "learning_rate": 1e-3 * 0.05,
            "lr_scheduler_type": "constant",
            "lr_scheduler_kwargs": {},
            "warmup_steps": 0,
            "logging_steps": 10,
            "output_dir": str(out / "sft_control"),
            "model_name_or_path": str(out / "sft"),
            "eval_file": None,  # the control has no held-out curve
        },
    )
    _assert_shipped_plus(
        grpo_config(cfg),
        load_config("grpo/demo_cpu"),
        {
            **train,
            "beta": 0.02,
            "output_dir": str(out / "grpo"),
            "model_name_or_path": str(out / "sft"),
            **heldout,
            "eval_steps": 30,
        },
    )
    for name, model in (("untrained", "model_init"), ("sft", "sft"), ("grpo", "grpo"), ("prior", None)):
        _assert_shipped_plus(
            eval_config(cfg, name),
            load_config("eval/demo_cpu"),
            {
                "model": str(out / model) if model else "",
                "test_file": str(out / "data" / "test.jsonl"),
                "out": str(out / f"eval_{name}"),
                "run_name": name,
                "seed": 7,
                "batch_size": 5,
                "html": False,
            },
        )
    # --fast logs more often
    fast = DemoConfig(out=str(out), fast=True)
    assert (sft_config(fast).logging_steps, grpo_config(fast).logging_steps) == (10, 1)
    assert (sft_config(fast).max_steps, grpo_config(fast).max_steps, synth_config(fast).n_train) == (60, 3, 200)


def test_grpo_rollouts_get_the_longest_evaluation_limit():
    from radgrpo.configs import load_config

    limits = load_config("eval/demo_cpu")["max_new_tokens_per_task"]
    assert load_config("grpo/demo_cpu")["max_completion_length"] == max(limits.values()) == limits["detection"] == 160


def test_control_is_compute_matched():
    cfg = DemoConfig(grpo_steps=60, grpo_batch_size=64, grpo_num_generations=8, sft_batch_size=16)
    assert cfg.grpo_prompts == 480 and cfg.control_steps() == 30 and cfg.control_steps(4000) == 250
    with pytest.raises(ValueError, match="multiple of"):
        DemoConfig(grpo_batch_size=20, grpo_num_generations=8)
