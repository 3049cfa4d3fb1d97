"""GREEN in evaluation, end to end through the OpenAI-compatible backend: a local HTTP judge answers with GREEN's
recorded completions (Stanford-AIMI/GREEN tests, see tests/metrics/fixtures/green_completions.json); an unparseable
judgement is left out of the mean and counted, never scored 0.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_score_green.py
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "helpers"))

from chat_endpoint import serve_chat

from radgrpo.eval.config import EvalConfig
from radgrpo.eval.generate import Prediction
from radgrpo.eval.score import score_predictions
from radgrpo.eval.summarize import summarize
from radgrpo.records import Record

FIX = json.loads((Path(__file__).resolve().parents[1] / "metrics" / "fixtures" / "green_completions.json").read_text())


@pytest.fixture()
def judge():
    by_candidate = {" ".join(h.split()): c for h, c in zip(FIX["candidates"], FIX["completions"])}

    def respond(body, headers):
        user = body["messages"][-1]["content"]
        cand = user.split("3. Candidate Report:\n    ", 1)[1].split("\n\n    4. Reporting", 1)[0]
        return by_candidate.get(cand, "I cannot assess these reports.")

    with serve_chat(respond) as (url, requests):
        yield url, requests


def test_green_scores_rows_and_counts_unparseable(judge):
    url, requests = judge
    refs = list(FIX["references"]) + ["Normal chest radiograph."]
    hyps = list(FIX["candidates"]) + ["Something the judge cannot parse."]
    recs = [
        Record(id=f"r{i}", image=f"{i}.png", task="report_generation", question="q", answer=r, reference_report=r)
        for i, r in enumerate(refs)
    ]
    preds = [Prediction(f"r{i}", "report_generation", "q", h, h, 5, True) for i, h in enumerate(hyps)]
    cfg = EvalConfig(
        model="m",
        test_file="t.jsonl",
        metrics=["green"],
        green_backend="openai",
        green_base_url=url,
        green_model="green-judge",
    )
    rows = score_predictions(preds, recs, ["green"], metric_options=cfg.metric_options())
    want = [0.0, 1 / 6, 1 / 3, 1 / 2, 1 / 4]
    assert [r["green"] for r in rows[:5]] == pytest.approx(want, abs=1e-12) and rows[5]["green"] is None
    assert {b["model"] for _, b in requests} == {"green-judge"} and len(requests) == 6
    run = summarize(rows, n_resamples=200)
    assert run.overall["green"].value == pytest.approx(0.25, abs=1e-12) and run.overall["green"].n == 5
    assert run.diagnostics["n_unscored_green"] == 1.0


def test_green_openai_backend_needs_a_url():
    with pytest.raises(ValueError, match="--green_base_url"):
        EvalConfig(model="m", test_file="t.jsonl", metrics=["green"], green_backend="openai")
