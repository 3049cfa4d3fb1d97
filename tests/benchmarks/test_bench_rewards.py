"""Smoke test of benchmarks/bench_rewards.py on tiny random models: both designs run, batching does not change scores.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/benchmarks/test_bench_rewards.py
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))
from bench_loader import load_benchmark


def _load():
    return load_benchmark("bench_rewards")


def test_workload_is_grpo_shaped():
    mod = _load()
    refs, hyps = mod.make_workload(3)
    assert len(refs) == len(hyps) == 3 * mod.ROLLOUTS
    for g in range(3):
        group = slice(g * mod.ROLLOUTS, (g + 1) * mod.ROLLOUTS)
        assert len(set(refs[group])) == 1  # one reference per prompt
        assert len(set(hyps[group])) == mod.ROLLOUTS and refs[group][0] not in hyps[group]  # distinct rollouts
    words = [len(t.split()) for t in hyps + refs]
    assert min(words) >= 30 and max(words) <= 95 and 45 <= sum(words) / len(words) <= 75
    assert mod.make_workload(3) == (refs, hyps)  # fixed seed


def test_bench_rewards_tiny_run_and_results_entry(tmp_path):
    mod = _load()
    out = tmp_path / "out.json"
    argv = [
        "--tiny",
        "--device",
        "cpu",
        "--n-prompts",
        "2",
        "--n-per-pair",
        "4",
        "--bf16",
        "--threads",
        "1",
        "--json",
        str(out),
        "--models-dir",
        str(tmp_path / "models"),
    ]
    assert mod.main(argv) == 0
    res = json.loads(out.read_text())
    assert res["workload"]["pairs"] == 16 and res["per_pair"]["pairs"] == 4
    assert res["per_pair"]["pairs_per_s"] > 0 and res["batched"]["pairs_per_s"] > 0
    assert res["speedup"] > 0
    # batching (and the reference cache) must not change a score
    assert res["agreement"]["pairs"] == 4
    assert res["agreement"]["max_abs_diff"] < 1e-5, res["agreement"]
    assert all(v < 1e-5 for v in res["agreement"]["features_max_abs_diff"].values())
    # each group's reference parsed once: 2 references + 16 rollouts
    assert res["batched"]["radgraph_reports_parsed"] == 2 + 16
    assert set(res["batched"]["component_s"]) == {"radgraph", "bertscore", "semb", "bleu"}
    assert res["batched_bf16"]["pairs_per_s"] > 0 and res["bf16_vs_fp32"]["max_abs_diff"] >= 0

    # RESULTS.md entries: the section is created once, later entries go to its end (before the next section)
    md = tmp_path / "RESULTS.md"
    md.write_text("# Benchmark results\n\n## other (x)\n\ntext\n", encoding="utf-8")
    mod.append_results(res, argv, md)
    md.write_text(md.read_text(encoding="utf-8") + "\n## later (y)\n\nmore\n", encoding="utf-8")
    mod.append_results(res, argv, md)
    text = md.read_text(encoding="utf-8")
    assert text.count(mod.SECTION) == 1 and text.count("### ") == 2
    assert text.index("## other") < text.index(mod.SECTION) < text.rindex("### ") < text.index("## later")
    assert "one pair per call (paper), fp32" in text and "pairs/s" in text


def test_bench_demo_markdown_tables():
    mod = load_benchmark("bench_demo")
    stage = {"map_50": 0.5, "soft_f1": 0.25, "distinct_reports": 7}
    paired = {"diff": 0.02, "ci95": [0.01, 0.03], "p_value": 0.004, "n": 300}
    run = {
        "seed": 1,
        "wall_s": 300.0,
        "peak_rss_mb": 900,
        "results": {
            "sft": stage,
            "grpo": stage,
            "paired": {"grpo_vs_sft": {"soft_f1": paired}},
            "timings_s": {"sft": 200.0},
        },
    }
    md = mod.markdown(run).splitlines()
    assert md[0] == "### seed 1"
    assert "| map_50 | – | – | 0.500 | – | – | 0.500 |" in md and "| distinct_reports | – | – | 7 | – | – | 7 |" in md
    assert "| grpo_vs_sft | soft_f1 | +0.020 | [+0.010, +0.030] | 0.0040 | 300 |" in md
    assert md[-1] == "Wall 300 s, peak RSS 900 MB; stages (s): sft 200.0."


def test_bench_cli_help_timing_and_results_entry(tmp_path):
    mod = load_benchmark("bench_cli_help")
    d = mod.time_command([sys.executable, "-c", "print('a'); print('b')"], runs=2)
    assert len(d["runs_s"]) == 2 and d["lines"] == 2 and 0 < d["min_s"] <= d["median_s"] <= d["max_s"]
    res = {
        "launcher": ["radgrpo"],
        "runs": 2,
        "machine": {"cpu": "x", "cores": 2, "python": "3.11"},
        "commands": {"grpo --help": d},
    }
    md = tmp_path / "RESULTS.md"
    md.write_text("# Benchmark results\n\n## other (x)\n\ntext\n", encoding="utf-8")
    mod.append_results(res, md)
    md.write_text(md.read_text(encoding="utf-8") + "\n## later (y)\n\nmore\n", encoding="utf-8")
    mod.append_results(res, md)
    text = md.read_text(encoding="utf-8")
    assert text.count(mod.SECTION) == 1 and text.count("### ") == 2
    assert text.index("## other") < text.index(mod.SECTION) < text.rindex("### ") < text.index("## later")
    assert f"| `radgrpo grpo --help` | {d['median_s']:.2f} |" in text
