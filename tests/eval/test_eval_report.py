"""The HTML report and its pictures: table values with CIs, inlined PNGs, boxes drawn in the right colours.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/eval/test_eval_report.py
"""

import base64
import io
import re

import pytest
from PIL import Image

from radgrpo.eval.generate import Prediction
from radgrpo.eval.report.html import write_report
from radgrpo.eval.report.plots import REFERENCE_COLOUR, draw_boxes, metric_bar_chart, run_colours, training_curves
from radgrpo.eval.summarize import summarize

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


@pytest.fixture(scope="module")
def report_html(eval_data, tmp_path_factory):
    records, base, _ = eval_data
    runs = {"untrained": summarize(ROWS_A, n_resamples=200), "sft": summarize(ROWS_B, n_resamples=200)}
    preds = {
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
    path = write_report(
        tmp_path_factory.mktemp("rep") / "report.html",
        runs,
        predictions=preds,
        records=records,
        base_dir=base,
        scores={"untrained": ROWS_A, "sft": ROWS_B},
        title="Demo <report>",
        notes="GRPO <b>held</b> the SFT level.",
        logs={"sft": [{"step": 1, "loss": 1.0}]},
        n_images=4,
        n_texts=3,
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
    # one row per target: n, then map_50 per run, then soft_f1 per run (nodule: A 0.0 / B 1.0, A 0.0 / B 0.8)
    assert re.search(
        r"<td>nodule</td><td>1</td><td><span class=\"v\">0\.000</span>.*?<td class=\"best\">"
        r"<span class=\"v\">1\.000</span>.*?0\.000.*?<td class=\"best\"><span class=\"v\">0\.800",
        per_target,
    )
    assert "<td>heart</td>" in per_target
    assert "<h3>report_generation</h3>" in report_html  # per-task tables


def test_report_is_self_contained_with_inlined_images(report_html):
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report_html)
    # 2 grounding samples (only two grounding records) + the bar chart + the training curves
    assert len(uris) == 4
    for u in uris:
        assert Image.open(io.BytesIO(base64.b64decode(u))).format == "PNG"
    assert "http://" not in report_html and "https://" not in report_html  # nothing to fetch


def test_report_sample_images_show_reference_and_run_boxes(report_html):
    img = Image.open(
        io.BytesIO(
            base64.b64decode(re.findall(r'<img alt="g1" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report_html)[0])
        )
    ).convert("RGB")
    w, h = img.size  # 96x80 image drawn at 320 px: 320x267
    colours = {img.getpixel((x, y)) for x in range(w) for y in range(h)}
    # g1: reference [0.3,0.4,0.7,0.8] (sft predicted the same box, drawn under it), untrained [0,0,0.2,0.2]
    assert RGB[REFERENCE_COLOUR] in colours and RGB[run_colours(["untrained"])["untrained"]] in colours
    assert img.getpixel((round(0.3 * (w - 1)), round(0.6 * (h - 1)))) == RGB[REFERENCE_COLOUR]


def test_report_texts_and_escaping(report_html):
    assert "The heart is enlarged. No pleural effusion." in report_html  # reference report
    assert "Heart &lt;b&gt;big&lt;/b&gt;." in report_html  # model text is escaped
    assert "GRPO &lt;b&gt;held&lt;/b&gt; the SFT level." in report_html  # notes are escaped
    assert "<title>Demo &lt;report&gt;</title>" in report_html
    assert "(bleu4 0.12 · rougeL 0.25)" in report_html  # per-sample scores next to the answer
    assert "(ap_50 1.00 · soft_f1 0.80)" in report_html


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
