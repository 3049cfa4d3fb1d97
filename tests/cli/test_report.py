"""``radgrpo report``: a missing folder, a folder that is no eval output, an unknown baseline, a missing test file and
a bad thumbnail size are each one line on stderr, exit code 2. (The report itself: tests/eval/report/test_html.py.)

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_report.py
"""

import sys
from pathlib import Path

import pytest

from radgrpo.cli.main import main
from radgrpo.config import save_config
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.generate import Prediction, write_predictions
from radgrpo.eval.score import score_predictions, write_scores
from radgrpo.eval.summarize import summarize, write_results

sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))

import eval_fixtures  # the fixtures of tests/eval

eval_data = eval_fixtures.eval_data


@pytest.fixture(scope="module")
def run_folders(eval_data, tmp_path_factory):
    """``{"base": an eval output folder as `radgrpo eval` writes it, "root": the folder that holds it}``."""
    records, _, test_file = eval_data
    root = tmp_path_factory.mktemp("runs")
    out = root / "eval_base"
    out.mkdir()
    preds = [
        Prediction(id=r.id, task=r.task.value, prompt="q", completion="", answer="", n_tokens=3, finished=True)
        for r in records
    ]
    write_predictions(preds, out / "predictions.jsonl")
    rows = score_predictions(preds, records, None)
    write_scores(rows, out / "scores.jsonl")
    write_results(summarize(rows, n_resamples=50, meta={"run_name": out.name}), out / "results.json")
    save_config(EvalConfig(model="", test_file=str(test_file), out=str(out)), out)
    return {"base": out, "root": root}


def test_radgrpo_report_one_line_errors(run_folders, tmp_path, capsys):
    base = str(run_folders["base"])
    cases = [
        (["report", str(tmp_path / "nope")], "does not exist"),
        (["report", str(run_folders["root"])], "missing results.json"),
        (["report", base, "--baseline", "x", "--out", str(tmp_path / "r.html")], "--baseline 'x' is not one of"),
        (["report", base, "--test_file", str(tmp_path / "t.jsonl")], "test file"),
        (["report", base, "--thumb_size", "999"], "--thumb_size"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("radgrpo report:") and message in err and "\n" not in err, err
