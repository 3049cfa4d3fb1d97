"""The HTML report: table values with CIs, inlined pictures, the sample browser's data (every sample, boxes, texts
escaped), think_closed_rate for thinking runs only, ``radgrpo report``'s work end to end (its one-line errors:
tests/cli/test_report.py).

The page itself is opened in Chromium by tests/eval/report/test_browser.py.

Run: OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/report/test_html.py
"""

import base64
import io
import json
import re

import pytest
from PIL import Image

from radgrpo.config import save_config
from radgrpo.eval.config import EvalConfig
from radgrpo.eval.generate import Prediction, write_predictions
from radgrpo.eval.report.html import write_report, write_report_from_dirs, write_report_from_runs
from radgrpo.eval.report.plots import REFERENCE_COLOUR, draw_boxes, metric_bar_chart, run_colours, training_curves
from radgrpo.eval.score import score_predictions, write_scores
from radgrpo.eval.summarize import summarize, write_results

RGB = {
    c: tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in (REFERENCE_COLOUR, *run_colours(["a", "b"]).values())
}


def test_draw_boxes_colours_and_geometry():
    im = draw_boxes(
        Image.new("L", (200, 100)),
        [(0.0, 0.0, 0.5, 1.0)],
        {"a": [(0.75, 0.5, 0.55, 0.2)], "b": [(0.9, 0.1, 1.5, 0.9)]},
        size=101,
        width=1,
    )
    w, h = im.size
    assert (w, h) == (101, 50)  # longer side = size, aspect ratio kept (200x100 -> 101x50.5, rounded half-even)
    ref, ca, cb = RGB[REFERENCE_COLOUR], RGB[run_colours(["a"])["a"]], RGB[run_colours(["a", "b"])["b"]]
    assert im.getpixel((0, 25)) == ref and im.getpixel((50, 25)) == ref  # left and right edges of x in [0, 0.5]
    assert im.getpixel((25, 25)) == (0, 0, 0)  # inside: not filled
    # run a's box is inverted (x1 > x2, y1 > y2): drawn with sorted corners, x 0.55..0.75 -> px 55..75
    assert im.getpixel((55, 20)) == ca and im.getpixel((75, 20)) == ca
    # run b's box runs past the right border: clipped to x = 1 -> px 100
    assert im.getpixel((100, 25)) == cb and im.getpixel((90, 25)) == cb


def test_charts_are_pngs():
    png = metric_bar_chart(
        {"a": {"map_50": (0.5, 0.4, 0.6), "bleu4": (0.1, 0.05, 0.2)}, "b": {"map_50": (0.7, 0.6, 0.8)}}
    )
    assert Image.open(io.BytesIO(png)).format == "PNG"
    curves = training_curves(
        {"sft": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0}], "grpo": [{"step": 1, "reward": 0.3, "kl": 0.01}]}
    )
    assert Image.open(io.BytesIO(curves)).size[0] > Image.open(io.BytesIO(png)).size[0] / 2
    with pytest.raises(ValueError, match="no plottable key"):
        training_curves({"sft": [{"step": 1, "epoch": "x"}]}, keys=["loss"])


ROWS_A = [
    {"id": "g0", "task": "abnormality_grounding", "target": "nodule", "ap_50": 0.0, "soft_f1": 0.0, "parseable": False},
    {"id": "g1", "task": "anatomical_grounding", "target": "heart", "ap_50": 0.0, "soft_f1": 0.1, "parseable": True},
    {"id": "r0", "task": "report_generation", "bleu4": 0.125, "rougeL": 0.25},
]
ROWS_B = [
    {"id": "g0", "task": "abnormality_grounding", "target": "nodule", "ap_50": 1.0, "soft_f1": 0.8, "parseable": True},
    {"id": "g1", "task": "anatomical_grounding", "target": "heart", "ap_50": 1.0, "soft_f1": 0.6, "parseable": True},
    {"id": "r0", "task": "report_generation", "bleu4": 0.375, "rougeL": 0.75},
]


def _pred(rid, task, answer):
    return Prediction(id=rid, task=task, prompt="q", completion=answer, answer=answer, n_tokens=3, finished=True)


def _pred(rid, task, answer, **kw):
    return Prediction(id=rid, task=task, prompt="q", completion=answer, answer=answer, n_tokens=3, finished=True, **kw)


def browser_json(html):
    """The sample browser's JSON document embedded in a report."""
    return json.loads(re.search(r'<script id="browser-data" type="application/json">(.*?)</script>', html, re.S)[1])


PREDS = {
    "untrained": [
        _pred("g0", "abnormality_grounding", "no box"),
        _pred("g1", "anatomical_grounding", "[0.0, 0.0, 0.2, 0.2]"),
        _pred("r0", "report_generation", "Heart <b>big</b>."),
    ],
    "sft": [
        _pred("g0", "abnormality_grounding", "The nodule is at [0.1, 0.2, 0.4, 0.5]."),
        _pred("g1", "anatomical_grounding", "[0.3, 0.4, 0.7, 0.8]"),
        _pred("r0", "report_generation", "The heart is enlarged."),
    ],
}


@pytest.fixture(scope="module")
def report_html(eval_data, tmp_path_factory):
    records, base, _ = eval_data
    runs = {"untrained": summarize(ROWS_A, n_resamples=200), "sft": summarize(ROWS_B, n_resamples=200)}
    path = write_report(
        tmp_path_factory.mktemp("rep") / "report.html",
        runs,
        predictions=PREDS,
        records=records,
        base_dir=base,
        scores={"untrained": ROWS_A, "sft": ROWS_B},
        title="Demo <report>",
        notes="GRPO <b>held</b> the SFT level.",
        logs={"sft": [{"step": 1, "loss": 1.0}, {"step": 1, "train_runtime": 2.0, "train_loss": 1.0}]},
        n_resamples=100,
    )
    return path.read_text(encoding="utf-8")


def test_report_tables(report_html):
    overall = report_html.split('id="overall"')[1].split("</table>")[0]
    # map_50: untrained mean(0, 0) = 0.000, sft mean(1, 1) = 1.000 (bold: best); bleu4 0.125 vs 0.375
    assert re.search(
        r"<td>map_50</td><td><span class=\"v\">0\.000</span> <span class=\"ci\">\[0\.000, 0\.000\]", overall
    )
    assert '<td class="best"><span class="v">1.000</span>' in overall
    assert "0.125" in overall and "0.375" in overall and "0.500" in overall  # format_valid_rate of run A
    for run in ("untrained", "sft"):
        assert f"{run}</th>" in overall
    assert overall.index("map_50") < overall.index("bleu4")  # grounding metrics first
    per_target = report_html.split('id="per-target"')[1].split("</table>")[0]
    # one row per target: n, then per metric in the metric table's order one cell per run: soft_f1, then map_50
    # (nodule: A 0.0 / B 0.8, A 0.0 / B 1.0)
    assert re.search(
        r"<td>nodule</td><td>1</td><td><span class=\"v\">0\.000</span>.*?<td class=\"best\">"
        r"<span class=\"v\">0\.800</span>.*?0\.000.*?<td class=\"best\"><span class=\"v\">1\.000",
        per_target,
    )
    assert "<td>heart</td>" in per_target
    assert "<h3>report_generation</h3>" in report_html  # per-task tables
    # paper tables, rows = runs: Table 1 R-L x100 (25.0 vs 75.0), ANC from the predictions (17 and 22 characters)
    t1 = report_html.split('id="table1"')[1].split("</table>")[0]
    cells = re.findall(r'<tr data-run="(\w+)".*?</tr>', t1, re.S)
    assert cells == ["untrained", "sft"]
    assert re.search(r'data-run="sft".*?<span class="v">75\.0</span>', t1, re.S)
    assert re.findall(r'<span class="v">(\d+)</span>', t1) == ["17", "22"]
    assert 'id="table2"' in report_html and 'id="table3"' not in report_html  # no GRPO run: no reward ablation


def test_report_is_self_contained_with_inlined_images(report_html):
    pngs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report_html)
    assert len(pngs) == 2  # the bar chart and sft's training curves
    for u in pngs:
        assert Image.open(io.BytesIO(base64.b64decode(u))).format == "PNG"
    data = browser_json(report_html)
    assert len(data["images"]) == 3  # one thumbnail per image file of a predicted sample (g0, r0, g1)
    for uri in data["images"]:
        im = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert im.format == "JPEG" and max(im.size) == 96  # 96x80 images: not enlarged (<= 256 px)
    assert "http://" not in report_html and "https://" not in report_html  # nothing to fetch
    assert "<script src" not in report_html and '<link rel="stylesheet"' not in report_html


def test_report_browser_data_has_every_sample_with_boxes(report_html):
    data = browser_json(report_html)
    assert [r["name"] for r in data["runs"]] == ["untrained", "sft"]
    assert [s["id"] for s in data["samples"]] == ["g0", "r0", "g1"]  # file order; r1 was not predicted
    g1 = data["samples"][2]
    assert g1["rb"] == [[0.3, 0.4, 0.7, 0.8]] and g1["target"] == "heart"
    assert [r["b"] for r in g1["r"]] == [[[0.0, 0.0, 0.2, 0.2]], [[0.3, 0.4, 0.7, 0.8]]]
    # scores as in the rows, plus answer_chars (from the answer when the rows lack it); booleans as 0/1
    assert g1["r"][1]["s"] == {"ap_50": 1.0, "soft_f1": 0.6, "parseable": 1.0, "answer_chars": 20}
    assert data["reference_colour"] == REFERENCE_COLOUR and data["runs"][0]["colour"] == run_colours(["u"])["u"]
    # sort keys in the metric table's order (radgrpo.metrics.registry), derived ones after the metrics
    assert data["scores"][:3] == ["soft_f1", "ap_50", "bleu4"] and data["scores"][-2:] == ["parseable", "answer_chars"]
    assert data["tasks"] == ["abnormality_grounding", "anatomical_grounding", "report_generation"]
    assert data["findings"] == ["heart", "nodule"] and data["sources"] == ["unknown"]


def test_report_texts_and_escaping(report_html):
    data = browser_json(report_html)
    r0 = data["samples"][1]
    assert r0["rt"] == "The heart is enlarged. No pleural effusion."  # reference report
    assert r0["r"][0]["a"] == "Heart <b>big</b>."  # kept as text in the data ...
    assert "Heart <b>big</b>" not in report_html and "\\u003cb\\u003ebig" in report_html  # ... escaped in the page
    assert "GRPO &lt;b&gt;held&lt;/b&gt; the SFT level." in report_html  # notes are escaped
    assert "<title>Demo &lt;report&gt;</title>" in report_html
    assert r0["r"][0]["s"] == {"bleu4": 0.125, "rougeL": 0.25, "answer_chars": 17}  # for the sort and the cards


def test_think_closed_rate_only_for_thinking_runs(eval_data, tmp_path):
    records, base, _ = eval_data
    rows = [{"id": "r0", "task": "report_generation", "think_closed": False, "bleu4": 0.1, "n_tokens": 4}]
    plain = summarize([dict(rows[0], think_closed=True)], n_resamples=5, meta={"thinking": False})
    thinker = summarize(rows, n_resamples=5, meta={"thinking": True})
    preds = {
        "plain": [_pred("r0", "report_generation", "\n\n")],
        "thinker": [
            Prediction(
                "r0",
                "report_generation",
                "q /think",
                "<think>the heart</think>",
                "",
                4,
                True,
                thinking=True,
                think_closed=False,
            )
        ],
    }
    html = write_report(
        tmp_path / "a.html", {"plain": plain}, predictions={"plain": preds["plain"]}, records=records, base_dir=base
    ).read_text()
    assert "think_closed_rate" not in html.split('id="diagnostics"')[1].split("</table>")[0]
    assert "tc" not in browser_json(html)["samples"][0]["r"][0]  # no "think closed" for a non-thinking run
    assert browser_json(html)["samples"][0]["r"][0]["a"] == "\n\n"  # whitespace-only answer kept as is
    both = write_report(
        tmp_path / "b.html", {"plain": plain, "thinker": thinker}, predictions=preds, records=records, base_dir=base
    ).read_text()
    diag = both.split('id="diagnostics"')[1].split("</table>")[0]
    assert re.search(r"<td>think_closed_rate</td><td>–</td><td>0\.000</td>", diag)
    r = browser_json(both)["samples"][0]["r"]
    assert "tc" not in r[0] and r[1]["tc"] is False and r[1]["th"] == "the heart"
    assert browser_json(both)["runs"][1]["thinking"] is True


def test_report_errors(eval_data, tmp_path):
    records, _, _ = eval_data
    run = summarize(ROWS_A, n_resamples=10)
    with pytest.raises(ValueError, match="at least one run"):
        write_report(tmp_path / "r.html", {})
    with pytest.raises(FileNotFoundError, match="image of record 'g0' not found"):
        write_report(
            tmp_path / "r.html",
            {"a": run},
            predictions={"a": [_pred("g0", "abnormality_grounding", "")]},
            records=records,
            base_dir=tmp_path,
        )
    with pytest.raises(ValueError, match="unknown run"):
        write_report(tmp_path / "r.html", {"a": run}, predictions={"b": []}, records=records)
    with pytest.raises(ValueError, match="baseline 'x' is not a run"):
        write_report(tmp_path / "r.html", {"a": run}, baseline="x")


# ---------------------------------------------------------------- eval folders and `radgrpo report`


def _eval_folder(out, records, test_file, preds, model="", thinking=False):
    """An eval output folder as `radgrpo eval` writes it (real scoring of the given predictions)."""
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(preds, out / "predictions.jsonl")
    rows = score_predictions(preds, records, None)
    write_scores(rows, out / "scores.jsonl")
    write_results(
        summarize(rows, n_resamples=50, meta={"run_name": out.name, "thinking": thinking}), out / "results.json"
    )
    save_config(EvalConfig(model=str(model), test_file=str(test_file), out=str(out), thinking=thinking), out)
    return out


@pytest.fixture(scope="module")
def run_folders(eval_data, tmp_path_factory):
    records, _, test_file = eval_data
    root = tmp_path_factory.mktemp("runs")
    grpo = root / "train_grpo"
    grpo.mkdir()
    (grpo / "config.yaml").write_text("reward_funcs: [bleu4]\nreward_weights: [1.0]\noutput_dir: x\n")
    log = [{"step": s, "reward": 0.1 * s, "kl": 0.01 * s} for s in range(1, 6)]
    (grpo / "log_history.json").write_text(json.dumps([*log, {"step": 5, "train_runtime": 1.0, "train_loss": 0.1}]))
    (grpo / "monitors.json").write_text(json.dumps({"alarms": [{"step": 4, "alarm": "short", "message": "short!"}]}))
    ref = "The heart is enlarged. No pleural effusion."
    good = [
        _pred("g0", "abnormality_grounding", "[0.1, 0.2, 0.4, 0.5]"),
        _pred("r0", "report_generation", ref),
        _pred("g1", "anatomical_grounding", "[0.3, 0.4, 0.7, 0.8]"),
        _pred("r1", "report_generation", ref),
    ]
    bad = [_pred(p.id, p.task, "\n\n") for p in good]
    return {
        "base": _eval_folder(root / "eval_base", records, test_file, bad),
        "grpo": _eval_folder(root / "eval_grpo", records, test_file, good, model=grpo),
        "root": root,
        "grpo_train": grpo,
    }


def test_radgrpo_report_end_to_end(run_folders, tmp_path):
    out = tmp_path / "report.html"
    # what `radgrpo report base=FOLDER FOLDER --out OUT --title T --n_resamples 64` runs
    runs = [f"base={run_folders['base']}", str(run_folders["grpo"])]
    assert write_report_from_runs(out, runs, title="T", n_resamples=64) == out
    html = out.read_text()
    data = browser_json(html)
    assert [r["name"] for r in data["runs"]] == ["base", "eval_grpo"]  # NAME=FOLDER, else the run name
    assert [s["id"] for s in data["samples"]] == ["g0", "r0", "g1", "r1"] and len(data["images"]) == 4
    t3 = html.split('id="table3"')[1].split("</table>")[0]
    # base is the baseline but not the GRPO run's initial model: not called "no RL"
    assert "eval_grpo: + BLEU-4" in t3 and "<td>base <span" in t3 and "no RL" not in t3
    assert re.search(r'<span class="v">100\.0</span><span class="star">\*</span>', t3)  # BLEU-4 was the reward
    t1 = html.split('id="table1"')[1].split("</table>")[0]
    assert re.search(r'data-run="eval_grpo".*?<span class="v">100\.0</span>', t1, re.S)
    curves = html.split("<h2>Training curves</h2>")[1].split("<h2>")[0]
    assert 'data-run="eval_grpo"' in curves and "step 4 (short): short!" in curves
    assert 'class="curve"' in curves


def test_write_report_from_dirs_takes_training_folders(run_folders, eval_data, tmp_path):
    records, base, _ = eval_data
    path = write_report_from_dirs(
        tmp_path / "r.html",
        {"base": run_folders["base"], "grpo": run_folders["grpo"]},
        records=records,
        base_dir=base,
        training={"base": None, "grpo": run_folders["grpo_train"]},
        n_resamples=32,
    )
    html = path.read_text()
    assert "grpo: + BLEU-4" in html.split('id="table3"')[1]
    assert len(browser_json(html)["samples"]) == 4
