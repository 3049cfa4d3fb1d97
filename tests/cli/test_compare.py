"""`radgrpo compare RUN_A RUN_B [...]` on hand-made eval folders: the numbers are compare_runs', errors are one line.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_compare.py
"""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from radgrpo.cli.main import main
from radgrpo.eval.compare import compare_runs, paired_values
from radgrpo.eval.score import write_scores
from radgrpo.metrics.paired import holm


def _rows(seed, ids):
    rng = np.random.default_rng(seed)
    out = []
    for i in ids:
        if i.startswith("r"):
            out.append(
                {
                    "id": i,
                    "task": "report_generation",
                    "source": "mimic_cxr",
                    "rougeL": float(rng.uniform()),
                    "radcliq": float(rng.uniform(0.5, 1.5)),
                    "answer_chars": int(rng.integers(50, 300)),
                }
            )
        else:
            out.append({"id": i, "task": "phrase_grounding", "source": "ms_cxr", "ap_50": float(rng.uniform() > 0.5)})
    return out


def _run_folder(path, rows, run_name=None):
    path.mkdir(parents=True)
    write_scores(rows, path / "scores.jsonl")
    if run_name:
        (path / "results.json").write_text(json.dumps({"n": len(rows), "detail": {"meta": {"run_name": run_name}}}))
    return path


@pytest.fixture()
def runs(tmp_path):
    ids = [f"r{i}" for i in range(10)] + [f"g{i}" for i in range(10)]
    a = _run_folder(tmp_path / "eval_sft", _rows(0, ids), run_name="sft")
    b = _run_folder(tmp_path / "eval_grpo", _rows(1, ids[1:] + ["r99"]), run_name="grpo")  # r0 dropped, r99 new
    c = _run_folder(tmp_path / "eval_c", _rows(2, ids))  # no results.json: named after its folder
    return a, b, c


def _nan_to_none(r):
    return {**r, "ci95": [None if math.isnan(v) else v for v in r["ci95"]]}


def test_compare_writes_compare_runs_numbers(runs, tmp_path, capsys):
    a, b, c = runs
    out = tmp_path / "cmp" / "compare.json"
    assert main(["compare", str(a), str(b), str(c), "--n_resamples", "300", "--seed", "4", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert [r["name"] for r in data["runs"]] == ["sft", "grpo", "eval_c"] and data["reference"] == "sft"
    assert data["settings"] == {
        "n_resamples": 300,
        "n_permutations": 300,
        "seed": 4,
        "metrics": None,
        "confidence": 0.95,
    }
    rows = {p: [json.loads(line) for line in (p / "scores.jsonl").read_text().splitlines()] for p in runs}
    for comp, p in zip(data["comparisons"], (b, c)):
        expected = compare_runs(rows[p], rows[a], n_resamples=300, n_permutations=300, seed=4)
        values = paired_values(rows[p], rows[a])
        assert list(comp["metrics"]) == ["map_50", "rougeL", "radcliq", "anc"]
        for m, r in comp["metrics"].items():
            assert {k: r[k] for k in ("diff", "ci95", "p_value", "n")} == _nan_to_none(expected[m])
            assert (r["run"], r["reference"]) == (values[m]["new"], values[m]["old"])
        assert [r["p_holm"] for r in comp["metrics"].values()] == holm([r["p_value"] for r in expected.values()])
        assert (
            comp["metrics"]["radcliq"]["higher_is_better"] is False
            and comp["metrics"]["anc"]["higher_is_better"] is None
        )
    grpo = data["comparisons"][0]
    assert (grpo["run"], grpo["n_shared"], grpo["n_only_reference"], grpo["n_only_run"]) == ("grpo", 19, 1, 1)
    assert grpo["metrics"]["rougeL"]["n"] == 9  # r1..r9 in both
    printed = capsys.readouterr().out
    assert "B = grpo, A = sft: 19 shared ids; dropped: 1 only in A, 1 only in B" in " ".join(printed.split())
    assert "B = eval_c, A = sft" in printed and "radcliq" in printed and f"wrote {out}" in printed


def test_metric_selection_and_one_line_errors(runs, tmp_path, capsys):
    a, b, _ = runs
    out = tmp_path / "sel.json"
    assert (
        main(["compare", str(a), str(b), "--metrics", "rougeL", "bleu4", "--n_resamples", "50", "--out", str(out)]) == 0
    )
    comp = json.loads(out.read_text())["comparisons"][0]
    assert list(comp["metrics"]) == ["rougeL"] and comp["not_compared"] == ["bleu4"]
    capsys.readouterr()
    empty = tmp_path / "empty"
    empty.mkdir()
    other = _run_folder(tmp_path / "other", _rows(5, ["x1", "x2"]))
    cases = [
        ([str(a), str(empty)], "has no scores.jsonl: not a radgrpo eval output folder"),
        ([str(a), str(tmp_path / "missing")], "does not exist"),
        ([str(a), str(other)], "share no test id"),
        ([str(a), str(b), "--metrics", "rougel"], "unknown metric(s) ['rougel']; did you mean rougeL?"),
        ([str(a)], "give at least two run folders"),
        ([str(a), str(b), "--metrics", "bleu4"], "none of ['bleu4'] is scored in both"),
    ]
    for argv, message in cases:
        assert main(["compare", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("radgrpo compare: ") and message in err and err.count("\n") == 1, (argv, err)


def test_console_script_error_has_no_traceback(runs, tmp_path):
    a, _, _ = runs
    proc = subprocess.run(
        [sys.executable, "-m", "radgrpo.cli.main", "compare", str(a), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"radgrpo compare: {tmp_path} has no scores.jsonl: not a radgrpo eval output folder"
