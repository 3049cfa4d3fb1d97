"""Aggregation of per-sample scores: exact means, bootstrap CIs, per-task / per-target splits, results.json.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_summarize.py
"""

import json

import numpy as np
import pytest

from radgrpo.eval.summarize import (
    RunResults,
    diagnostics,
    flatten_results,
    read_results,
    summarize,
    summarize_rows,
    write_results,
)
from radgrpo.metrics.bootstrap import bootstrap_ci

# 3 grounding rows (2 nodule, 1 effusion) + 2 report rows; values chosen so the means are exact fractions
ROWS = [
    {
        "id": "g1",
        "task": "abnormality_grounding",
        "target": "nodule",
        "ap_50": 1.0,
        "soft_f1": 0.2,
        "parseable": True,
        "n_pred_boxes": 1,
        "n_tokens": 10,
        "finished": True,
        "think_closed": True,
    },
    {
        "id": "g2",
        "task": "abnormality_grounding",
        "target": "nodule",
        "ap_50": 0.0,
        "soft_f1": 0.4,
        "parseable": False,
        "n_pred_boxes": 0,
        "n_tokens": 30,
        "finished": False,
        "think_closed": True,
    },
    {
        "id": "g3",
        "task": "abnormality_grounding",
        "target": "effusion",
        "ap_50": 1.0,
        "soft_f1": 0.9,
        "parseable": True,
        "n_pred_boxes": 2,
        "n_tokens": 20,
        "finished": True,
        "think_closed": True,
    },
    {
        "id": "r1",
        "task": "report_generation",
        "target": None,
        "bleu4": 0.1,
        "rougeL": 0.5,
        "n_tokens": 40,
        "finished": True,
        "think_closed": True,
    },
    {
        "id": "r2",
        "task": "report_generation",
        "target": None,
        "bleu4": 0.3,
        "rougeL": 0.7,
        "n_tokens": 50,
        "finished": True,
        "think_closed": True,
    },
]


@pytest.fixture(scope="module")
def run():
    return summarize(ROWS)


def test_exact_means_and_names(run):
    o = run.overall
    assert o["map_50"].value == pytest.approx(2 / 3)  # mean of ap_50 (1, 0, 1)
    assert o["soft_f1"].value == pytest.approx(0.5)  # (0.2 + 0.4 + 0.9) / 3
    assert o["format_valid_rate"].value == pytest.approx(2 / 3)  # parseable True, False, True
    assert o["bleu4"].value == pytest.approx(0.2) and o["rougeL"].value == pytest.approx(0.6)
    assert (o["map_50"].n, o["bleu4"].n, run.n) == (3, 2, 5)
    # score keys are renamed, bookkeeping fields are not metrics
    assert "ap_50" not in o and "parseable" not in o
    assert not {"n_tokens", "n_pred_boxes", "finished", "think_closed"} & set(o)
    assert all(r.higher_is_better for r in o.values())


def test_ci_is_the_peer_bootstrap_and_brackets_the_value(run):
    vals = [0.2, 0.4, 0.9]
    assert (
        run.overall["soft_f1"].value,
        run.overall["soft_f1"].ci_low,
        run.overall["soft_f1"].ci_high,
    ) == pytest.approx(bootstrap_ci(vals, n_resamples=2000, seed=0))
    for r in run.overall.values():
        assert r.ci_low <= r.value <= r.ci_high


def test_ci_hand_computed_two_samples():
    # two samples {0, 1}: resample means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4, so with 2000 resamples
    # the 2.5th percentile is 0 and the 97.5th is 1 (each extreme has ~500 draws, far above 50)
    res = summarize_rows([{"soft_f1": 0.0}, {"soft_f1": 1.0}])
    assert (res["soft_f1"].value, res["soft_f1"].ci_low, res["soft_f1"].ci_high) == (0.5, 0.0, 1.0)
    # constant values: the CI collapses onto the value
    res = summarize_rows([{"bleu4": 0.25}] * 7)
    assert (res["bleu4"].ci_low, res["bleu4"].ci_high) == (0.25, 0.25)


def test_seed_changes_resamples_not_value():
    vals = [{"soft_f1": v} for v in np.linspace(0, 1, 11)]
    a, b = summarize_rows(vals, seed=0)["soft_f1"], summarize_rows(vals, seed=1)["soft_f1"]
    assert a.value == b.value == pytest.approx(0.5)
    assert (a.ci_low, a.ci_high) != (b.ci_low, b.ci_high)
    assert summarize_rows(vals, seed=0)["soft_f1"] == a  # deterministic


def test_per_task_and_per_target(run):
    g = run.per_task["abnormality_grounding"]
    assert set(run.per_task) == {"abnormality_grounding", "report_generation"}
    assert "bleu4" not in g and "map_50" not in run.per_task["report_generation"]
    assert run.per_task["report_generation"]["bleu4"].value == pytest.approx(0.2)
    assert run.per_target["nodule"]["map_50"].value == pytest.approx(0.5)
    assert run.per_target["nodule"]["format_valid_rate"].value == pytest.approx(0.5)
    assert run.per_target["effusion"]["soft_f1"].value == pytest.approx(0.9)
    assert run.per_target["effusion"]["map_50"].n == 1
    assert set(run.per_target) == {"nodule", "effusion"}  # report rows have no grounding target


def test_diagnostics():
    d = diagnostics(ROWS)
    assert d["finished_rate"] == pytest.approx(0.8)
    assert d["mean_n_tokens"] == pytest.approx(30.0)
    assert d["mean_pred_boxes"] == pytest.approx(1.0)  # grounding rows only: (1 + 0 + 2) / 3
    assert d["think_closed_rate"] == 1.0
    assert "n_grounding_without_reference" not in d  # ROWS carry no n_ref_boxes
    rows = [{"ap_50": 0.0, "n_ref_boxes": 0, "n_pred_boxes": 1}, {"ap_50": 1.0, "n_ref_boxes": 2, "n_pred_boxes": 2}]
    assert diagnostics(rows)["n_grounding_without_reference"] == 1.0


def test_lower_is_better_metric():
    res = summarize_rows([{"radcliq": 1.0}, {"radcliq": 2.0}], n_resamples=50)
    assert res["radcliq"].higher_is_better is False and res["radcliq"].value == 1.5


def test_flatten_and_results_json_round_trip(run, tmp_path):
    flat = flatten_results(run)
    assert flat["map_50"] == pytest.approx(2 / 3) and flat["n"] == 5
    assert flat["ci"]["bleu4"] == [run.overall["bleu4"].ci_low, run.overall["bleu4"].ci_high]
    assert flat["per_task"]["report_generation"]["n"] == 2
    assert flat["per_target"]["nodule"] == {
        "map_50": 0.5,
        "soft_f1": pytest.approx(0.3),
        "format_valid_rate": 0.5,
        "n": 2,
    }
    data = write_results(run, tmp_path / "results.json")
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["map_50"] == pytest.approx(2 / 3) and on_disk == json.loads(json.dumps(data))
    back = read_results(tmp_path / "results.json")
    assert isinstance(back, RunResults) and back.overall == run.overall and back.per_target == run.per_target


def test_empty_rows_raise():
    with pytest.raises(ValueError, match="no score rows"):
        summarize([])


# Table 2's layout: one phrase-grounding task from two datasets, plus reports from one dataset (answer lengths in
# characters: ANC = their mean); grounding answers' lengths never count in ANC
SOURCE_ROWS = [
    {"id": "m1", "task": "phrase_grounding", "source": "ms_cxr", "ap_50": 1.0, "parseable": True, "answer_chars": 30},
    {"id": "m2", "task": "phrase_grounding", "source": "ms_cxr", "ap_50": 1.0, "parseable": True, "answer_chars": 30},
    {
        "id": "p1",
        "task": "phrase_grounding",
        "source": "padchest_gr",
        "ap_50": 0.0,
        "parseable": True,
        "answer_chars": 9,
    },
    {"id": "a1", "task": "anatomical_grounding", "source": "chest_imagenome", "ap_50": 0.5, "answer_chars": 500},
    {"id": "r1", "task": "report_generation", "source": "mimic_cxr", "bleu4": 0.2, "answer_chars": 100},
    {"id": "r2", "task": "report_generation", "source": "mimic_cxr", "bleu4": 0.4, "answer_chars": 300},
    {"id": "r3", "task": "report_generation", "source": "mimic_cxr", "bleu4": 0.6, "answer_chars": 200},
]


def test_per_source_and_per_task_source_keep_ms_cxr_and_padchest_apart():
    run = summarize(SOURCE_ROWS, n_resamples=200)
    assert run.per_task["phrase_grounding"]["map_50"].value == pytest.approx(2 / 3)  # merged: (1 + 1 + 0) / 3
    pts = run.per_task_source
    assert set(pts) == {
        "phrase_grounding/ms_cxr",
        "phrase_grounding/padchest_gr",
        "anatomical_grounding/chest_imagenome",
        "report_generation/mimic_cxr",
    }
    assert (pts["phrase_grounding/ms_cxr"]["map_50"].value, pts["phrase_grounding/ms_cxr"]["map_50"].n) == (1.0, 2)
    assert pts["phrase_grounding/padchest_gr"]["map_50"].value == 0.0
    assert set(run.per_source) == {"ms_cxr", "padchest_gr", "chest_imagenome", "mimic_cxr"}
    assert run.per_source["chest_imagenome"]["map_50"].value == 0.5
    assert (
        run.per_source["mimic_cxr"]["bleu4"].value == pytest.approx(0.4) and "map_50" not in run.per_source["mimic_cxr"]
    )
    # a row without a source is grouped as "unknown" (the Record default)
    assert set(summarize([{"task": "report_generation", "bleu4": 0.1}], n_resamples=10).per_source) == {"unknown"}


def test_anc_is_the_mean_answer_length_of_report_rows_with_a_bootstrap_ci():
    run = summarize(SOURCE_ROWS, n_resamples=500)
    anc = run.overall["anc"]
    assert (anc.value, anc.n) == (200.0, 3)  # (100 + 300 + 200) / 3; the 4 grounding rows are left out
    assert (anc.value, anc.ci_low, anc.ci_high) == pytest.approx(
        bootstrap_ci([100.0, 300.0, 200.0], n_resamples=500, seed=0)
    )
    assert 100.0 <= anc.ci_low < anc.value < anc.ci_high <= 300.0
    assert run.per_task["report_generation"]["anc"].value == 200.0 and "anc" not in run.per_task["phrase_grounding"]
    assert run.per_task_source["report_generation/mimic_cxr"]["anc"].n == 3
    assert "answer_chars" not in run.overall and "anc" not in run.per_target.get("(none)", {})
    assert summarize_rows(SOURCE_ROWS, n_resamples=10, only=["map_50"]).keys() == {"map_50"}


def test_new_blocks_in_results_json_and_old_files_still_read(tmp_path):
    run = summarize(SOURCE_ROWS, n_resamples=100)
    data = write_results(run, tmp_path / "results.json", manifest={"seed": 0})
    assert data["per_task_source"]["phrase_grounding/padchest_gr"] == {"map_50": 0.0, "format_valid_rate": 1.0, "n": 1}
    assert data["per_source"]["mimic_cxr"]["anc"] == 200.0 and data["anc"] == 200.0 and data["manifest"] == {"seed": 0}
    back = read_results(tmp_path / "results.json")
    assert back == run and back.per_task_source == run.per_task_source
    # a results.json written before per-dataset blocks and manifests existed
    old = json.loads((tmp_path / "results.json").read_text())
    for k in ("per_source", "per_task_source"):
        del old["detail"][k]
    del old["manifest"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    back = read_results(tmp_path / "old.json")
    assert back.per_source == {} and back.per_task_source == {} and back.overall == run.overall
    from radgrpo.eval.summarize import read_manifest

    assert read_manifest(tmp_path / "old.json") is None and read_manifest(tmp_path / "results.json") == {"seed": 0}


def test_thinking_diagnostics():
    from radgrpo.eval.summarize import diagnostics

    rows = [
        {"task": "report_generation", "thinking": True, "think_closed": True, "answer_chars": 12, "thought_words": 10,
         "thought_tokens": 30, "n_tokens": 40, "finished": True},
        {"task": "report_generation", "thinking": True, "think_closed": False, "answer_chars": 0, "thought_words": 20,
         "thought_tokens": 50, "n_tokens": 60, "finished": False},
        {"task": "report_generation", "thinking": True, "think_closed": True, "answer_chars": 0, "thought_words": 0,
         "thought_tokens": 1, "n_tokens": 3, "finished": True},
    ]  # fmt: skip
    d = diagnostics(rows)
    assert (d["mean_thought_words"], d["mean_thought_tokens"]) == (10.0, 27.0)
    assert d["well_formed_rate"] == pytest.approx(1 / 3)  # closed AND a non-empty answer
    assert "well_formed_rate" not in diagnostics([{"task": "report_generation", "n_tokens": 3, "finished": True}])
