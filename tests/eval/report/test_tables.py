"""The report's table builders: Holm adjustment, significance marks, Table 1/2/3 values, training-curve series.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/report/test_tables.py
"""

import json
import math

import numpy as np
import pytest

from radgrpo.eval.report import tables as T
from radgrpo.eval.report.plots import curve_series, curves_figure, metric_bar_figure, training_curves
from radgrpo.eval.report.runs import load_training_run, read_log_history, rewards_from_model_card
from radgrpo.eval.summarize import summarize
from radgrpo.metrics.paired import holm

# ---------------------------------------------------------------- Holm


def test_holm_hand_computation():
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> running max 0.06)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # capped at 1 and monotone in the sorted order: 0.2 x3 = 0.6, 0.5 x2 = 1.0, 0.9 x1 = 0.9 -> 1.0
    assert holm([0.5, 0.2, 0.9]) == pytest.approx([1.0, 0.6, 1.0])
    assert holm([0.04]) == [0.04] and holm([]) == []
    out = holm([0.01, math.nan, 0.02])  # NaN stays NaN and does not count in m (m = 2)
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        holm([0.5, 1.5])


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests  # a test peer (the test extra)

    p = np.random.default_rng(3).uniform(0, 0.2, 12)
    assert holm(p.tolist()) == pytest.approx(multipletests(p, method="holm")[1].tolist())


# ---------------------------------------------------------------- significance marks


def test_holm_marks_need_ci_and_adjusted_p():
    tests = {
        "a": {"diff": 0.2, "ci95": [0.1, 0.3], "p_value": 0.01},
        "b": {"diff": -0.1, "ci95": [-0.2, -0.01], "p_value": 0.03},
    }
    m = T.holm_marks(tests)  # Holm: 0.02, 0.03 -> both significant
    assert (m["a"]["p_holm"], m["b"]["p_holm"]) == pytest.approx((0.02, 0.03))
    assert m["a"]["significant"] and m["b"]["significant"]
    tests["a"]["p_value"], tests["b"]["p_value"] = 0.03, 0.04  # raw p < 0.05 but Holm 0.06, 0.06
    m = T.holm_marks(tests)
    assert m["a"]["p_holm"] == pytest.approx(0.06) and not m["a"]["significant"] and not m["b"]["significant"]
    m = T.holm_marks({"a": {"diff": 0.2, "ci95": [-0.1, 0.3], "p_value": 0.001}})  # the CI includes 0
    assert not m["a"]["significant"]
    # direction: lower is better for RadCliQ; ANC has none (+ longer / − shorter)
    assert T.mark({"diff": -0.2, "significant": True}, "radcliq", higher_is_better=False) == "▲"
    assert T.mark({"diff": 0.2, "significant": True}, "radcliq", higher_is_better=False) == "▼"
    assert T.mark({"diff": -0.2, "significant": True}, "bleu4", higher_is_better=True) == "▼"
    assert T.mark({"diff": -30.0, "significant": True}, "anc", higher_is_better=True) == "−"
    assert T.mark({"diff": 0.2, "significant": False}, "bleu4", higher_is_better=True) == ""


def _report_rows(n, rouge, radcliq, chars, seed):
    rng = np.random.default_rng(seed)
    return [
        {
            "id": f"r{i}",
            "task": "report_generation",
            "source": "mimic_cxr",
            "rougeL": float(np.clip(rouge + rng.normal(0, 0.05), 0, 1)),
            "radcliq": float(radcliq + rng.normal(0, 0.05)),
            "answer_chars": int(chars + rng.integers(-5, 6)),
        }
        for i in range(n)
    ]


def test_table1_values_and_marks_against_baseline():
    rows = {
        "base": _report_rows(40, 0.30, 1.2, 200, 0),
        "better": _report_rows(40, 0.45, 0.9, 150, 1),  # higher R-L, lower (better) RCQ, shorter
        "same": [dict(r) for r in _report_rows(40, 0.30, 1.2, 200, 0)],  # identical to the baseline
    }
    runs = {k: summarize(v, n_resamples=50) for k, v in rows.items()}
    t = T.table1(runs, rows, baseline="base", n_resamples=300)
    assert t.columns == ["R-L", "RCQ↓", "ANC"] and t.baseline == "base"
    text = {r[0]: r[1:] for r in T.value_table_text(t)[1:]}
    mean = {
        k: (
            np.mean([r["rougeL"] for r in v]),
            np.mean([r["radcliq"] for r in v]),
            np.mean([r["answer_chars"] for r in v]),
        )
        for k, v in rows.items()
    }
    b = mean["better"]
    # x100 with one decimal, RCQ two decimals, ANC integer; ▲ better (RCQ lower), − for the shorter ANC
    assert text["better"] == [f"{100 * b[0]:.1f}▲", f"{b[1]:.2f}▲", f"{b[2]:.0f}−"]
    assert text["base"] == [f"{100 * mean['base'][0]:.1f}", f"{mean['base'][1]:.2f}", f"{mean['base'][2]:.0f}"]
    assert text["same"] == text["base"]  # no mark without a difference
    best = {row["run"]: [c["best"] for c in row["cells"]] for row in t.rows}
    assert best["better"] == [True, True, False]  # ANC has no best
    assert t.tests["better"]["rougeL"]["p_holm"] >= t.tests["better"]["rougeL"]["p_value"]


def test_table1_computes_anc_from_rows_when_results_lack_it():
    rows = {
        "a": [
            {"id": "x", "task": "report_generation", "bleu4": 0.5, "answer_chars": 10},
            {"id": "y", "task": "report_generation", "bleu4": 0.5, "answer_chars": 30},
            {"id": "g", "task": "phrase_grounding", "ap_50": 1.0, "answer_chars": 999},
        ]
    }
    run = summarize(rows["a"], n_resamples=10)
    run.overall.pop("anc", None)
    run.per_task.get("report_generation", {}).pop("anc", None)
    t = T.table1({"a": run}, rows)
    assert T.value_table_text(t) == [["run", "BLEU-4", "ANC"], ["a", "50.0", "20"]]  # grounding rows left out
    assert T.table1({"a": summarize([{"id": "g", "task": "phrase_grounding", "ap_50": 1.0}], n_resamples=5)}) is None


# ---------------------------------------------------------------- Table 2


GROUNDING_ROWS = [
    {"id": "a1", "task": "anatomical_grounding", "source": "chest_imagenome", "ap_50": 1.0},
    {"id": "a2", "task": "anatomical_grounding", "source": "chest_imagenome", "ap_50": 0.5},
    {"id": "p1", "task": "phrase_grounding", "source": "ms_cxr", "ap_50": 0.25},
    {"id": "p2", "task": "phrase_grounding", "source": "padchest_gr", "ap_50": 0.0},
    {"id": "p3", "task": "phrase_grounding", "source": "padchest_gr", "ap_50": 1.0},
    {"id": "r1", "task": "report_generation", "source": "mimic_cxr", "bleu4": 0.3},
]


def test_table2_per_dataset_from_rows_and_from_results():
    # from rows (results without a per_task_source block): mean ap_50 per task/source
    d = T.dataset_results(None, GROUNDING_ROWS, n_resamples=20)
    assert {k: v.value for k, v in d.items()} == {
        "anatomical_grounding/chest_imagenome": 0.75,
        "phrase_grounding/ms_cxr": 0.25,
        "phrase_grounding/padchest_gr": 0.5,
    }
    assert [v.n for v in d.values()] == [2, 1, 2]
    run = summarize(GROUNDING_ROWS, n_resamples=20)  # the same values from the results' per_task_source block
    assert {k: v.value for k, v in T.dataset_results(run).items()} == {k: v.value for k, v in d.items()}
    other = [dict(r, ap_50=1.0) if "ap_50" in r else dict(r) for r in GROUNDING_ROWS]
    runs = {"base": run, "new": summarize(other, n_resamples=20)}
    t = T.table2(runs, {"base": GROUNDING_ROWS, "new": other}, baseline="base", n_resamples=50)
    assert t.columns == ["Anatomy · chest_imagenome", "Phrase · ms_cxr", "Phrase · padchest_gr", "all grounding"]
    text = {r[0]: r[1:] for r in T.value_table_text(t)[1:]}
    assert text["base"] == ["75.0", "25.0", "50.0", "55.0"]  # all: mean(1, .5, .25, 0, 1) = 0.55
    assert text["new"] == ["100.0", "100.0", "100.0", "100.0"]  # 2-item datasets: no significance possible
    assert T.table2({"r": summarize(GROUNDING_ROWS[-1:], n_resamples=5)}) is None


# ---------------------------------------------------------------- Table 3 and the training runs


def test_table3_reads_rewards_and_stars_the_trained_metric(tmp_path):
    grpo = tmp_path / "grpo"
    grpo.mkdir()
    (grpo / "config.yaml").write_text(
        "reward_funcs: [radcliq, bertscore]\nreward_weights: [1.0, 0.5]\n"
        "reward_kwargs: {bertscore: {batch_size: 8}}\nmodel_name_or_path: runs/sft\noutput_dir: runs/grpo\n"
    )
    (grpo / "monitors.json").write_text(json.dumps({"alarms": [{"step": 3, "alarm": "short", "message": "m"}]}))
    t_run = load_training_run(grpo)
    assert t_run.method == "grpo" and t_run.init_model == "runs/sft" and t_run.alarms[0]["step"] == 3
    assert t_run.rewards == [
        {"name": "radcliq", "weight": 1.0, "options": {}},
        {"name": "bertscore", "weight": 0.5, "options": {"batch_size": 8}},
    ]
    rows = {"sft": _report_rows(20, 0.3, 1.2, 200, 0), "grpo": _report_rows(20, 0.3, 1.0, 170, 1)}
    runs = {k: summarize(v, n_resamples=20) for k, v in rows.items()}
    t = T.table3(runs, {"grpo": t_run.rewards}, rows, baseline="sft", n_resamples=100, init_run="sft")
    labels = [r[0] for r in T.value_table_text(t)]
    assert labels == ["run", "sft (no RL)", "grpo: + RCQ + 0.5×B-S (batch_size=8)"]
    t_other = T.table3(runs, {"grpo": t_run.rewards}, rows, baseline="sft", n_resamples=10)  # init unknown
    assert [r[0] for r in T.value_table_text(t_other)][1] == "sft"
    stars = {row["run"]: [c["star"] for c in row["cells"]] for row in t.rows}
    assert t.columns == ["R-L", "RCQ↓", "ANC"] and stars == {"sft": [False] * 3, "grpo": [False, True, False]}
    assert T.table3(runs, {}, rows) is None


def test_rewards_from_the_model_card_and_log_history_from_a_checkpoint(tmp_path):
    run = tmp_path / "grpo"
    ckpt = run / "checkpoint-20"
    ckpt.mkdir(parents=True)
    (run / "README.md").write_text(
        "---\nlibrary_name: transformers\ntags:\n- radgrpo\n- grpo\n---\n# grpo\n\n| reward | weight | options |\n"
        '|---|---|---|\n| radgraph_f1 | 1.0 | {"reward_level": "complete"} |\n\n## Hyperparameters\n'
    )
    (ckpt / "trainer_state.json").write_text(json.dumps({"log_history": [{"step": 10, "loss": 1.0}]}))
    t = load_training_run(ckpt)  # a checkpoint folder: the run is its parent
    assert t.folder == run and t.method == "grpo"
    assert t.rewards == [{"name": "radgraph_f1", "weight": 1.0, "options": {"reward_level": "complete"}}]
    assert T.reward_label(t.rewards) == "+ RGF1 (reward_level=complete)"
    assert T.reward_stars(t.rewards) == {"radgraph"}  # the reward registry: radgraph_f1 scores the radgraph metric
    assert read_log_history(run) == [{"step": 10, "loss": 1.0}] and t.log_history == read_log_history(run)
    assert rewards_from_model_card("no table") == [] and load_training_run(tmp_path / "nope") is None


# ---------------------------------------------------------------- training curves

SFT_LOG = [{"step": s, "loss": 3.0 - 0.1 * s, "eval_abnormality_grounding/soft_f1": 0.1 * s} for s in range(1, 21)] + [
    {"step": 20, "train_runtime": 60.0, "train_loss": 2.5, "train_samples_per_second": 1.0, "total_flos": 0.0}
]
GRPO_LOG = [
    {
        "step": s,
        "loss": 0.01,
        "reward": -1 + 0.1 * s,
        "kl": 0.02 * s,
        "completions/mean_length": 80.0 - s,
        "rewards/radcliq/mean": -1 + 0.1 * s,
        "eval_report_generation/bleu4": 0.2,
        "eval_report_generation/rule_finding_f1/Cardiomegaly": 0.5,
    }
    for s in range(1, 9)
] + [{"step": 8, "train_runtime": 9.0, "train_loss": 0.01, "kl": 0.0, "entropy": 4.0}]


def test_curves_drop_the_summary_row():
    grpo = curve_series(GRPO_LOG)
    # the summary entry's kl 0.0 at step 8 would be a fake KL drop at the end: dropped
    assert grpo["KL"] == {"kl": [(s, pytest.approx(0.02 * s)) for s in range(1, 9)]}
    assert list(grpo) == ["loss", "reward", "KL", "completion length", "held-out: report_generation"]
    assert set(grpo["reward"]) == {"total", "radcliq"}
    assert set(grpo["held-out: report_generation"]) == {"bleu4"}  # per-label values left out
    sft = curve_series(SFT_LOG)
    assert [p[0] for p in sft["loss"]["loss"]] == list(range(1, 21)) and "train_loss" not in str(sft)
    assert list(sft) == ["loss", "held-out: abnormality_grounding"]  # SFT's held-out keys are GRPO's
    assert curve_series([SFT_LOG[-1]]) == {}  # a run that logged only its summary has no curve
    with pytest.raises(ValueError, match="no plottable key"):
        training_curves({"sft": [SFT_LOG[-1]]})


def _overlaps(boxes):
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_curves_own_step_axes_labelled_without_overlapping_ticks():
    import matplotlib.pyplot as plt

    fig = curves_figure({"sft": SFT_LOG, "grpo": GRPO_LOG})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    sub_sft, sub_grpo = fig.subfigs
    axes = {name: [a for a in sub.axes if a.get_visible()] for name, sub in (("sft", sub_sft), ("grpo", sub_grpo))}
    assert [a.get_title() for a in axes["sft"]] == ["loss", "held-out: abnormality_grounding"]
    assert len(axes["grpo"]) == 5
    # each run on its own step axis: SFT's goes to step 20, GRPO's to 8 (not SFT's)
    assert max(axes["sft"][0].get_xlim()) >= 20 and max(axes["grpo"][0].get_xlim()) < 10
    for ax in axes["sft"] + axes["grpo"]:
        assert ax.get_xlabel() == "optimizer step" and ax.get_ylabel()
        ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert len(ticks) >= 2 and not _overlaps(ticks), ax.get_title()
    plt.close(fig)


def test_single_run_bar_chart_labels_do_not_overlap():
    import matplotlib.pyplot as plt

    names = ["map_50", "soft_f1", "matched_iou", "rule_finding_f1", "rule_finding_f1_side", "bleu4", "rougeL"]
    fig = metric_bar_figure({"sft": dict.fromkeys(names, (0.5, 0.4, 0.6))})
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert [t.get_text().replace("\n", "") for t in labels] == names
    assert not _overlaps([t.get_window_extent(r) for t in labels])
    assert fig.axes[0].get_ylabel() == "score (95% bootstrap CI)"
    plt.close(fig)
