"""`radgrpo demo --fast` end to end, twice with one seed: the same numbers (stages are budgeted in steps).
Run: pytest tests/cli/test_demo.py   (about two minutes on 2 cores)"""

import json

import pytest

from radgrpo.recipes.demo.config import CLAIM, COMPARISONS, HEADLINE, STAGES, DemoConfig


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
    heldout = [e for e in sft_log if "eval_report_generation/rule_finding_f1" in e]  # GRPO's held-out keys
    assert [e["step"] for e in heldout] == list(range(0, cfg.sft_steps + 1, cfg.sft_eval_every))
    assert json.loads((tmp_path / "a" / "sft" / "heldout.json").read_text())["records"]["report_generation"] == 8
    from radgrpo.eval.report.plots import curve_series

    assert "held-out: report_generation" in curve_series(sft_log)  # the report draws SFT's held-out curve
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
