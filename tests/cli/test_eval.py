"""``radgrpo eval`` end to end on the tiny Qwen3-VL, and the library ``evaluate`` the demo calls per model.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_eval.py
"""

import json
import sys
from pathlib import Path

import pytest
import yaml

from radgrpo.cli.main import main as radgrpo_main
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.pipeline import evaluate, select_records
from radgrpo.eval.report.html import load_run_dir, write_report_from_dirs
from radgrpo.eval.run import run_eval
from radgrpo.eval.score import score_predictions
from radgrpo.eval.summarize import summarize

sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))

import eval_fixtures  # the fixtures of tests/eval

eval_data = eval_fixtures.eval_data
varied_model = eval_fixtures.varied_model

FLAT_KEYS = {"map_50", "soft_f1", "soft_f1_dice", "matched_iou", "format_valid_rate", "bleu4", "rougeL", "n", "ci"}


def test_cli_end_to_end(tiny_model_dir, eval_data, tmp_path, capsys):
    records, _, test_file = eval_data
    out = tmp_path / "eval"
    argv = [
        "eval",
        "--model",
        str(tiny_model_dir),
        "--test_file",
        str(test_file),
        "--out",
        str(out),
        "--max_new_tokens",
        "4",
        "--batch_size",
        "4",
        "--n_resamples",
        "200",
        "--no-progress",
    ]
    assert radgrpo_main(argv) == 0
    for name in ("predictions.jsonl", "scores.jsonl", "results.json", "report.html", "config.yaml"):
        assert (out / name).is_file(), name
    res = json.loads((out / "results.json").read_text())
    assert set(res) >= FLAT_KEYS and res["n"] == len(records) == 4
    assert res["n_by_metric"]["map_50"] == 2 and res["n_by_metric"]["bleu4"] == 2
    assert set(res["per_target"]) == {"nodule", "heart"}
    # results.json is exactly the summary of scores.jsonl (seed 0, 200 resamples)
    run, preds, rows = load_run_dir(out)
    assert len(rows) == 4 and all(p.n_tokens <= 4 for p in preds)
    assert summarize(rows, n_resamples=200).overall == run.overall
    assert sorted(score_predictions(preds, records), key=lambda r: r["id"]) == sorted(rows, key=lambda r: r["id"])
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["model"] == str(tiny_model_dir) and cfg["max_new_tokens"] == 4
    html = (out / "report.html").read_text()
    assert f"bleu4 = {res['bleu4'] * 100:.2f} (×100)" in html  # the paper's tables show values x100
    assert html.count("data:image/jpeg;base64,") == len(records) and "data:image/png;base64," in html  # thumbs, chart
    printed = capsys.readouterr().out
    assert "map_50" in printed and "results.json" in printed


def test_cli_filters_and_config_errors(tiny_model_dir, eval_data, tmp_path):
    _, _, test_file = eval_data
    out = tmp_path / "eval"
    assert (
        radgrpo_main(
            [
                "eval",
                "--model",
                str(tiny_model_dir),
                "--test_file",
                str(test_file),
                "--out",
                str(out),
                "--tasks",
                "report_generation",
                "--max_samples",
                "1",
                "--max_new_tokens",
                "2",
                "--metrics",
                "rougeL",
                "--no-html",
                "--no-progress",
                "--n_resamples",
                "50",
            ]
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    assert res["n"] == 1 and set(res["ci"]) == {"rougeL", "anc"} and not (out / "report.html").exists()
    with pytest.raises(ValueError, match=r"unknown metric\(s\) \['map'\]"):
        EvalConfig(model="m", test_file="t.jsonl", metrics=["map"])
    with pytest.raises(ValueError, match="--model is required"):
        run_eval(EvalConfig(test_file="t.jsonl"))  # the library config needs no model; the command does
    assert radgrpo_main(["eval", "--model", str(tiny_model_dir), "--out", str(out)]) == 2  # no --test_file
    with pytest.raises(ValueError, match=r"max_new_tokens_per_task: bad entries \{'report': 5\}"):
        EvalConfig(max_new_tokens_per_task={"report": 5})
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['report'\]"):
        select_records([], tasks=["report"])


def test_library_evaluate_twice_and_compare(varied_model, tiny_model_dir, eval_data, tmp_path):
    """The demo's use: evaluate two models with the loaded code, then one report with a column per run."""
    from radgrpo.models.qwen3_vl import load_model_and_processor

    records, base, _ = eval_data
    untrained = load_model_and_processor(str(tiny_model_dir))
    dirs = {"untrained": tmp_path / "untrained", "varied": tmp_path / "varied"}
    results = {}
    for name, (model, processor) in {"untrained": untrained, "varied": varied_model}.items():
        config = EvalConfig(
            out=str(dirs[name]),
            batch_size=4,
            max_new_tokens=3,
            n_resamples=100,
            run_name=name,
            progress=False,
            html=False,
        )
        results[name] = evaluate(model, processor, records, config, base_dir=base)
        assert results[name]["detail"]["meta"]["run_name"] == name
        assert results[name]["detail"]["meta"]["generate_seconds"] > 0
    path = write_report_from_dirs(tmp_path / "compare.html", dirs, records=records, base_dir=base, title="cmp")
    html = path.read_text()
    head = html.split('id="overall"')[1].split("</tr>")[0]
    assert "untrained</th>" in head and "varied</th>" in head
    assert html.count("data:image/jpeg;base64,") == len(records)  # one thumbnail per test image, shared by the runs


@pytest.mark.parametrize("name", ["demo_cpu", "paper_grounding", "paper_report"])
def test_shipped_configs_parse(name):
    from radgrpo.config import parse_config
    from radgrpo.configs import config_path

    cfg = parse_config(EvalConfig, ["--config", f"eval/{name}"])  # a shipped name, as `radgrpo eval --config` takes
    assert cfg == parse_config(EvalConfig, ["--config", str(config_path(f"eval/{name}"))])
    assert cfg.n_resamples == 2000 and cfg.seed == 0 and cfg.thinking == "off"
    if name.startswith("paper"):
        # the paper's protocol (docs/evaluation.md#command)
        assert (cfg.max_new_tokens, cfg.min_pixels, cfg.max_pixels) == (1024, 1024, 451584)


def test_metrics_help_lists_every_available_metric():
    import dataclasses

    from radgrpo.eval.score import available_metrics

    text = next(f for f in dataclasses.fields(EvalConfig) if f.name == "metrics").metadata["help"]
    assert all(m in text.split() for m in available_metrics()), text


def test_adapter_help_lists_every_registered_adapter():
    import dataclasses

    from radgrpo.models.adapters import ADAPTERS

    text = next(f for f in dataclasses.fields(EvalConfig) if f.name == "adapter").metadata["help"]
    assert f"box frame): {', '.join(ADAPTERS)}; auto:" in text and "medgemma_pt" in text, text


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--radgraph_level", "full"], "--radgraph_level must be simple, partial or complete, got 'full'"),
        (["--regenerate", "4"], "--regenerate needs --do_sample (greedy decoding gives the same output again)"),
        (["--adapter", "medgema"], "--adapter: unknown model adapter 'medgema'; did you mean 'medgemma'?"),
    ],
)
def test_new_eval_options_are_checked_before_anything_loads(flags, message, tmp_path, capsys):
    code = radgrpo_main(["eval", "--model", "m", "--test_file", "t.jsonl", "--out", str(tmp_path / "e"), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"radgrpo eval: {message}") and len(err.splitlines()) == 1
    assert not (tmp_path / "e").exists()


def test_help_adapters_lists_every_adapter(capsys):
    from radgrpo.models.adapters import ADAPTERS

    assert radgrpo_main(["eval", "--help-adapters"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(ADAPTERS) and len(ADAPTERS) >= 2
