"""`radgrpo demo --fast` end to end: synthetic data -> tiny model -> eval -> SFT -> eval -> GRPO -> eval -> report.
Run: pytest tests/test_demo.py   (about a minute on 2 cores)"""

import json

import pytest


@pytest.mark.slow
def test_fast_demo_end_to_end(tmp_path, capsys):
    from radgrpo.cli.main import main

    out = tmp_path / "demo"
    assert main(["demo", "--fast", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert set(results) >= {"untrained", "sft", "grpo", "notes", "timings_s"}
    for stage in ("untrained", "sft", "grpo"):
        r = results[stage]
        for k in ("map_50", "soft_f1", "format_valid_rate", "bleu4", "rougeL"):
            assert 0.0 <= r[k] <= 1.0, (stage, k, r[k])
        assert r["n"] > 0
    # the random-init model writes neither boxes nor report words; 20 s of SFT already learns report wording
    # (boxes need minutes: the full demo's numbers are in benchmarks/RESULTS.md)
    assert results["untrained"]["format_valid_rate"] == 0.0 and results["untrained"]["rougeL"] < 0.05
    assert results["sft"]["rougeL"] > results["untrained"]["rougeL"] + 0.2
    sft_log = json.loads((out / "sft" / "log_history.json").read_text())
    assert any("loss" in r for r in sft_log) and results["timings_s"]["sft"] < 60
    grpo_log = json.loads((out / "grpo" / "log_history.json").read_text())
    assert any("rewards/grounding_soft_f1/mean" in r or "rewards/bleu4/mean" in r for r in grpo_log)
    html = (out / "report.html").read_text()
    assert "untrained" in html and "grpo" in html and html.count("data:image/png;base64") >= 3
    for d in ("data/train.jsonl", "data/test.jsonl", "model_init/config.json", "sft/config.yaml",
              "grpo/config.yaml", "eval_sft/predictions.jsonl", "eval_grpo/scores.jsonl", "config.yaml"):
        assert (out / d).exists(), d
    printed = capsys.readouterr().out
    assert "map_50" in printed and "soft_f1" in printed
