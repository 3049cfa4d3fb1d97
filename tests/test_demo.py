"""`radgrpo demo --fast` end to end, twice with one seed: the same numbers (stages are budgeted in steps).
Run: pytest tests/test_demo.py   (about two minutes on 2 cores)"""

import json

import pytest

from radgrpo.cli.demo import CLAIM, COMPARISONS, HEADLINE, STAGES, DemoConfig


def _numbers(results, stages=STAGES):
    """Every metric value of every stage and every paired difference (what must reproduce)."""
    out = {}
    for s in stages:
        out.update({(s, k): v for k, v in results[s].items() if isinstance(v, (int, float))})
    for comp, metrics in results["paired"].items():
        for m, r in metrics.items():
            out[(comp, m)] = (r["diff"], tuple(r["ci95"]), r["p_value"], r["n"])
    return out


@pytest.mark.slow
def test_fast_demo_end_to_end_and_reproducible(tmp_path, capsys):
    from radgrpo.cli.main import main

    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["demo", "--fast", "--seed", "3", "--out", str(out)]) == 0
        runs.append(json.loads((out / "results.json").read_text()))
    a, b = runs
    assert _numbers(a) == _numbers(b)  # same seed, same steps -> identical metrics and paired tests
    assert set(a) >= set(STAGES) | {"paired", "baselines", "training", "notes", "timings_s"}
    for stage in STAGES:
        for k in ("map_50", "soft_f1", "rule_finding_f1", "rule_finding_f1_side", "bleu4", "rougeL"):
            assert 0.0 <= a[stage][k] <= 1.0, (stage, k, a[stage][k])
    assert a["untrained"]["format_valid_rate"] == 0.0 and a["untrained"]["rougeL"] < 0.05
    assert a["sft"]["rougeL"] > a["untrained"]["rougeL"] + 0.2
    # the prior writes one report for every image and one box per finding
    assert a["prior"]["distinct_reports"] == 1 and a["prior"]["format_valid_rate"] == 1.0
    assert a["baselines"]["constant_report"] and set(a["baselines"]["box_prior"]) <= {
        "cardiomegaly",
        "pleural effusion",
        "consolidation",
        "pneumothorax",
    }
    cfg = DemoConfig(fast=True)
    tr = a["training"]
    assert tr["sft"]["steps_done"] == cfg.sft_steps and tr["grpo"]["steps_done"] == cfg.grpo_steps
    # the control saw at least as many samples as GRPO saw prompts (refills and prompt-selection scoring included)
    assert tr["sft_control"]["samples"] >= tr["grpo"]["prompts_seen"] > tr["grpo"]["samples"] == cfg.grpo_prompts
    sampling = a["grpo_sampling"]
    assert tr["grpo"]["prompts_seen"] == sampling["prompts_seen"] > 0
    assert all(t["time_guard_hit"] is None for t in tr.values())
    assert set(a["paired"]) == {f"{x}_vs_{y}" for x, y in COMPARISONS}
    for comp in a["paired"].values():
        assert set(comp) == set(HEADLINE)
        for r in comp.values():
            assert r["ci95"][0] <= r["diff"] <= r["ci95"][1] and 0.0 < r["p_value"] <= 1.0
    # the claim's verdict is read from the paired CIs (8 of them: 2 comparisons x 4 metrics) and printed in the notes
    lows = [a["paired"][c][m]["ci95"][0] for c in ("grpo_vs_sft", "grpo_vs_sft_control") for m in CLAIM]
    assert a["claim"]["required"] == 8 and a["claim"]["cleared"] == sum(lo > 0 for lo in lows)
    assert a["claim"]["holds"] == all(lo > 0 for lo in lows) and a["claim"]["missing"] == []
    assert a["claim"]["reading"] in a["notes"] and "benchmarks/rl_gain.py" in a["claim"]["reading"]
    sft_log = json.loads((tmp_path / "a" / "sft" / "log_history.json").read_text())
    heldout = [e for e in sft_log if "heldout/rule_finding_f1" in e]
    assert [e["step"] for e in heldout] == list(range(0, cfg.sft_steps + 1, cfg.sft_eval_every))
    grpo_log = json.loads((tmp_path / "a" / "grpo" / "log_history.json").read_text())
    assert any("rewards/clinical_utility/mean" in r for r in grpo_log)
    assert any("dynamic_sampling/groups_kept" in r for r in grpo_log)
    assert any("prompt_selection/kept" in r for r in grpo_log)
    # the readers world: the pre-RL diagnostic and gate on the validation split, the decoding-only baseline, and
    # every headline metric against the reference and against the truth
    assert a["world"] == "readers"
    diag = json.loads((tmp_path / "a" / "diagnostic.json").read_text())
    assert diag == json.loads(json.dumps(a["diagnostic"])) and diag["split"] == "val"
    assert [c["name"] for c in diag["conditions"]] == ["learned", "room", "under_called"]
    assert diag["samples_per_study"] == cfg.samples and diag["n_studies"] == cfg.n_val
    assert diag["passed"] == all(c["passed"] for c in diag["conditions"])
    for label, r in diag["rates"].items():
        assert r["n_pos"] + r["n_neg"] == cfg.n_val and 0.0 <= r["sampled_pos"] <= 1.0, label
    for stage in STAGES:
        for k in ("clinical_utility", "clinical_utility_truth", "rule_finding_f1_side_truth", "soft_f1_truth"):
            assert k in a[stage], (stage, k)
        assert a[stage]["clinical_utility"] <= 0.0
    dec = [json.loads(x) for x in (tmp_path / "a" / "eval_sft_decoding" / "predictions.jsonl").read_text().splitlines()]
    sft = [json.loads(x) for x in (tmp_path / "a" / "eval_sft" / "predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in dec] == [p["id"] for p in sft]
    assert all(d["answer"] == s["answer"] for d, s in zip(dec, sft) if s["task"] != "report_generation")
    html = (tmp_path / "a" / "report.html").read_text()
    assert "Paired differences" in html and "grpo_vs_sft_control" in html and "prior" in html
    assert html.count("data:image/png;base64") >= 3
    for d in (
        "data/train.jsonl",
        "data/val.jsonl",
        "data/test.jsonl",
        "model_init/config.json",
        "sft/config.yaml",
        "grpo/config.yaml",
        "sft_control/config.yaml",
        "eval_prior/scores.jsonl",
        "eval_grpo/scores.jsonl",
        "config.yaml",
    ):
        assert (tmp_path / "a" / d).exists(), d
    printed = capsys.readouterr().out
    assert "rule_finding_f1" in printed and "grpo_vs_sft" in printed
    assert "Claim (GRPO above SFT and above the SFT control" in printed and "benchmarks/rl_gain.py" in printed

    # the thinking path on top of run a: its plain demo is reused (not run again), then cold start -> thinking SFT ->
    # thinking GRPO -> evaluation with " /think" -> paired tests against the plain models
    plain_sft = (tmp_path / "a" / "sft" / "model.safetensors").stat().st_mtime_ns
    assert main(["demo", "--fast", "--seed", "3", "--out", str(tmp_path / "a"), "--thinking"]) == 0
    assert (tmp_path / "a" / "sft" / "model.safetensors").stat().st_mtime_ns == plain_sft
    t = json.loads((tmp_path / "a" / "thinking" / "results.json").read_text())
    cs = t["cold_start"]
    assert cs["n_accepted"] + cs["n_rejected"] == cs["n_records"] > 0 and "stand-in" in cs["teacher"]
    assert set(cs["rejected"]) <= {"duplicate_trace"} and cs["n_accepted"] > 0.9 * cs["n_records"]
    assert t["training"]["sft_thinking"]["steps_done"] == cfg.thinking_sft_steps
    assert t["training"]["grpo_thinking"]["steps_done"] == cfg.thinking_grpo_steps
    assert set(t["paired"]) == {"sft_thinking_vs_sft", "grpo_thinking_vs_grpo", "grpo_thinking_vs_sft_thinking"}
    for s in ("sft_thinking", "grpo_thinking"):
        assert 0.0 <= t[s]["think_closed_rate"] <= 1.0 and t[s]["mean_thought_words"] >= 0.0
        preds = [json.loads(x) for x in (tmp_path / "a" / f"eval_{s}" / "predictions.jsonl").read_text().splitlines()]
        assert preds and all(p["prompt"].endswith(" /think") and p["thinking"] for p in preds)
        assert all(p["answer"] == "" or p["think_closed"] for p in preds)  # the answer is only after </think>
    thoughts = [
        json.loads(x)["thought"]
        for x in (tmp_path / "a" / "eval_sft_thinking" / "predictions.jsonl").read_text().splitlines()
    ]
    assert sum(bool(x) for x in thoughts) > 0.5 * len(thoughts)  # 30 SFT steps already write thoughts
    assert (tmp_path / "a" / "thinking" / "report.html").stat().st_size > 0
    # the demo's eval folders are `radgrpo report` and `radgrpo compare` inputs as they are (config.yaml names the
    # test file and the model)
    d = tmp_path / "a"
    rep = d / "again.html"
    assert main(["report", str(d / "eval_sft"), str(d / "eval_grpo_thinking"), "--out", str(rep)]) == 0
    assert rep.read_text().count("data:image/jpeg;base64") == len({r["image"] for r in _test_records(d)})
    assert (
        main(["compare", str(d / "eval_sft"), str(d / "eval_grpo"), "--metrics", "map_50", "--n_resamples", "200"]) == 0
    )
    # another demo's settings in the same folder are refused, in one line
    assert main(["demo", "--fast", "--seed", "4", "--out", str(tmp_path / "a"), "--thinking"]) == 2
    assert "holds a demo run with other settings (seed=3)" in capsys.readouterr().err


@pytest.mark.slow
def test_fast_demo_clean_world_reproducible(tmp_path):
    """Today's world stays available (``--world clean``) and reproduces; it has no truth, so no truth metrics, no
    diagnostic and no decoding-only baseline."""
    from radgrpo.cli.main import main

    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["demo", "--fast", "--seed", "2", "--world", "clean", "--out", str(out)]) == 0
        runs.append(json.loads((out / "results.json").read_text()))
    a, b = runs
    assert _numbers(a, stages=[s for s in STAGES if s != "sft_decoding"]) == _numbers(
        b, stages=[s for s in STAGES if s != "sft_decoding"]
    )
    assert a["world"] == "clean" and "sft_decoding" not in a and "diagnostic" not in a
    assert not (tmp_path / "a" / "diagnostic.json").exists()
    assert "clinical_utility" in a["grpo"] and "clinical_utility_truth" not in a["grpo"]
    assert set(a["paired"]) == {f"{x}_vs_{y}" for x, y in COMPARISONS if "sft_decoding" not in (x, y)}
    # no truth, so the claim cannot hold here, and the verdict names what was not measured
    assert a["claim"]["holds"] is False and sorted(a["claim"]["missing"]) == [
        "grpo_vs_sft/clinical_utility_truth",
        "grpo_vs_sft/rule_finding_f1_side_truth",
        "grpo_vs_sft_control/clinical_utility_truth",
        "grpo_vs_sft_control/rule_finding_f1_side_truth",
    ]


def _test_records(d):
    return [json.loads(line) for line in (d / "data" / "test.jsonl").read_text().splitlines()]


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
    from radgrpo.cli.demo import eval_config, grpo_config, sft_config, synth_config
    from radgrpo.configs import load_config

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
    _assert_shipped_plus(
        sft_config(cfg),
        sft_shipped,
        {**train, "max_steps": 11, "output_dir": str(out / "sft"), "model_name_or_path": str(out / "model_init")},
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
            "eval_file": str(out / "data" / "val.jsonl"),
            "eval_config": "eval/demo_cpu",
            "eval_max_samples": 100,
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
