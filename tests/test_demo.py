"""`radgrpo demo --fast` end to end, twice with one seed: the same numbers (stages are budgeted in steps).
Run: pytest tests/test_demo.py   (about two minutes on 2 cores)"""

import json

import pytest

from radgrpo.cli.demo import COMPARISONS, HEADLINE, STAGES, DemoConfig


def _numbers(results):
    """Every metric value of every stage and every paired difference (what must reproduce)."""
    out = {}
    for s in STAGES:
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
        "cardiomegaly", "pleural effusion", "consolidation", "pneumothorax"}
    cfg = DemoConfig(fast=True)
    tr = a["training"]
    assert tr["sft"]["steps_done"] == cfg.sft_steps and tr["grpo"]["steps_done"] == cfg.grpo_steps
    assert tr["sft_control"]["samples"] >= tr["grpo"]["samples"] == cfg.grpo_prompts
    assert all(t["time_guard_hit"] is None for t in tr.values())
    assert set(a["paired"]) == {f"{x}_vs_{y}" for x, y in COMPARISONS}
    for comp in a["paired"].values():
        assert set(comp) == set(HEADLINE)
        for r in comp.values():
            assert r["ci95"][0] <= r["diff"] <= r["ci95"][1] and 0.0 < r["p_value"] <= 1.0
    sft_log = json.loads((tmp_path / "a" / "sft" / "log_history.json").read_text())
    heldout = [e for e in sft_log if "heldout/rule_finding_f1" in e]
    assert [e["step"] for e in heldout] == list(range(0, cfg.sft_steps + 1, cfg.sft_eval_every))
    grpo_log = json.loads((tmp_path / "a" / "grpo" / "log_history.json").read_text())
    assert any("rewards/rule_finding_errors/mean" in r for r in grpo_log)
    html = (tmp_path / "a" / "report.html").read_text()
    assert "Paired differences" in html and "grpo_vs_sft_control" in html and "prior" in html
    assert html.count("data:image/png;base64") >= 3
    for d in ("data/train.jsonl", "data/val.jsonl", "data/test.jsonl", "model_init/config.json",
              "sft/config.yaml", "grpo/config.yaml", "sft_control/config.yaml", "eval_prior/scores.jsonl",
              "eval_grpo/scores.jsonl", "config.yaml"):
        assert (tmp_path / "a" / d).exists(), d
    printed = capsys.readouterr().out
    assert "rule_finding_f1" in printed and "grpo_vs_sft" in printed


def test_demo_defaults_match_the_shipped_stage_configs():
    """configs/sft|grpo/demo_cpu.yaml document what the demo runs: they must not drift from DemoConfig."""
    from pathlib import Path

    import yaml

    from radgrpo.cli.demo import REWARDS

    root = Path(__file__).resolve().parents[1] / "configs"
    sft = yaml.safe_load((root / "sft" / "demo_cpu.yaml").read_text())
    grpo = yaml.safe_load((root / "grpo" / "demo_cpu.yaml").read_text())
    cfg = DemoConfig()
    assert (sft["max_steps"], sft["learning_rate"], sft["warmup_steps"], sft["per_device_train_batch_size"]) == (
        cfg.sft_steps, cfg.sft_learning_rate, cfg.sft_warmup_steps, cfg.sft_batch_size)
    assert (grpo["max_steps"], grpo["learning_rate"], grpo["beta"], grpo["num_generations"],
            grpo["per_device_train_batch_size"], grpo["temperature"], grpo["reward_funcs"]) == (
        cfg.grpo_steps, cfg.grpo_learning_rate, cfg.grpo_beta, cfg.grpo_num_generations, cfg.grpo_batch_size,
        cfg.grpo_temperature, list(REWARDS))


def test_control_is_compute_matched():
    cfg = DemoConfig(grpo_steps=60, grpo_batch_size=64, grpo_num_generations=8, sft_batch_size=16)
    assert cfg.grpo_prompts == 480 and cfg.control_steps == 30
    with pytest.raises(ValueError, match="multiple of"):
        DemoConfig(grpo_batch_size=20, grpo_num_generations=8)
